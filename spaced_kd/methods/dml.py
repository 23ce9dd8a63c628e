"""DML (deep mutual learning): two peers, each learning from the labels and from the other.

Each peer minimises CE + w·T²·KL(p_peer ‖ p_self) at T = method.temperature (1), w = method.weight (1).
Online (the published method), both peers take one shared forward and update from each other's
pre-update outputs (the PyTorch re-implementations' order; the paper's Algorithm 1 recomputes
between the two updates). Spaced, the teacher peer runs `interval` ahead and learns from the
student peer as it is then; the student replays the batches against the teacher as it is now.
"""
from __future__ import annotations

from typing import Dict, List

import torch.nn.functional as F
from torch import Tensor

from ..config import Config
from ..losses import kl
from .base import MethodLearner, Out
from .registry import METHODS, MethodSpec, NetSpec, net, seeded


class MutualLearner(MethodLearner):
    def teachers_of(self, k: int) -> List[int]:
        return [1 - k]

    def loss(self, k: int, t: int, out: Out, y: Tensor, teachers: Dict[int, Out]) -> Dict[str, Tensor]:
        m = self.cfg.method
        T = m.temperature
        peer = teachers[1 - k].logits
        kd = kl(out.logits.float(), peer.float(), T)  # KL(p_peer ‖ p_self)
        return {"ce": F.cross_entropy(out.logits.float(), y), "kd": m.weight * T * T * kd}


def peers(cfg: Config) -> List[NetSpec]:
    teacher = net(cfg, "teacher", model=cfg.teacher.name or cfg.model.name, width=cfg.teacher.width)
    return seeded([teacher, net(cfg, "student")], cfg)


METHODS.register("dml")(MethodSpec(MutualLearner, peers, mutual=True))
