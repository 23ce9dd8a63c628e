"""BAN and TAKD: offline KD along a chain of networks, each learning from the one before it.

BAN (born-again networks): generations of the student's own architecture; generation k learns
from the labels and from generation k − 1 (loss.*, conf/method/ban.yaml). TAKD (teacher-assistant
KD): teacher → assistant(s) → student, architectures shrinking along the chain, each link Hinton's
KD; with method.from_best a network hands on its best epoch's weights (TAKDLearner). Published,
each network waits for the one before it to converge (kd=offline, `method.kd`); under kd=spaced
each trains `interval` behind it (spaced_kd.chains).
"""
from __future__ import annotations

from typing import Dict, List

from torch import Tensor

from ..config import Config
from ..errors import UserError
from .base import MethodLearner
from .registry import METHODS, MethodSpec, NetSpec, net, seeded


class TAKDLearner(MethodLearner):
    """TAKD's chain; with `method.from_best` (kd=offline) each network teaches with the weights of
    its best epoch on that split, as the release hands on its `*_best` checkpoints.

    At the end of each of its epochs a network that will teach is evaluated on the split, and its
    weights are kept when the accuracy beats the best so far (ties keep the earlier). When the next
    network first learns from it, it has finished training: the kept weights replace its own. The
    kept weights are method state, so a checkpoint holds them and a resumed run hands on the same.
    """

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.split = self.cfg.method.from_best
        if self.split:
            self.teacher_state["best"] = {}  # role → {"acc": float, "weights": state dict, None once handed on}

    def learn(self, ks: List[int], t: int, x: Tensor, y: Tensor) -> Dict[str, Tensor]:
        if not self.split:
            return super().learn(ks, t, x, y)
        for j in {j for k in ks for j in self.teachers_of(k)} - set(ks):
            self._hand_on(self.roles[j])
        result = super().learn(ks, t, x, y)
        if self._epoch_end(t):
            for k in ks:
                if k < len(self.roles) - 1:  # the student teaches nobody
                    self._keep_if_best(self.roles[k])
        return result

    def _epoch_end(self, t: int) -> bool:
        return (t + 1) % self.data.steps_per_epoch == 0 or t + 1 == self.plan.total_steps

    def _keep_if_best(self, role: str) -> None:
        batches = self.data.eval_batches(self.split, self.cfg.trainer.eval_batch_size)
        acc = self.evaluate(role, batches)[role][0]
        best = self.teacher_state["best"]
        if role not in best or acc > best[role]["acc"]:
            weights = {k: v.detach().clone() for k, v in self.nets[role].state_dict().items()}
            best[role] = {"acc": acc, "weights": weights}

    def _hand_on(self, role: str) -> None:
        kept = self.teacher_state["best"].get(role)
        if kept is not None and kept["weights"] is not None:  # a loaded teacher (teacher.checkpoint) has none
            self.nets[role].load_state_dict(kept["weights"])
            kept["weights"] = None


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
METHODS.register("takd")(MethodSpec(TAKDLearner, takd_networks))
