"""BAN and TAKD: offline KD along a chain of networks, each learning from the one before it.

BAN (born-again networks): generations of the student's own architecture; generation k learns
from generation k − 1 by the teacher's outputs alone (loss.alpha = 1, T = 1, conf/method/ban.yaml).
TAKD (teacher-assistant KD): teacher → assistant(s) → student, architectures shrinking along the
chain, each link Hinton's KD. Published, each network waits for the one before it to converge
(kd=offline, `method.kd`); under kd=spaced each trains `interval` behind it (spaced_kd.chains).
"""
from __future__ import annotations

from typing import List

from ..config import Config
from ..errors import UserError
from .base import MethodLearner
from .registry import METHODS, MethodSpec, NetSpec, net, seeded


def ban_networks(cfg: Config) -> List[NetSpec]:
    g = cfg.method.generations
    roles = ["teacher"] + [f"gen{k}" for k in range(1, g)] + ["student"]
    return seeded([net(cfg, role) for role in roles], cfg)


def takd_networks(cfg: Config) -> List[NetSpec]:
    assistants = list(cfg.method.assistants)
    if not assistants:
        raise UserError("method=takd needs at least one assistant architecture: method.assistants=[resnet34]")
    names = ["assistant"] if len(assistants) == 1 else [f"assistant{i}" for i in range(1, len(assistants) + 1)]
    teacher = net(cfg, "teacher", model=cfg.teacher.name or cfg.model.name, width=cfg.teacher.width)
    middle = [net(cfg, role, model=a, width=1.0) for role, a in zip(names, assistants)]
    return seeded([teacher, *middle, net(cfg, "student")], cfg)


METHODS.register("ban")(MethodSpec(MethodLearner, ban_networks))
METHODS.register("takd")(MethodSpec(MethodLearner, takd_networks))
