"""DML (deep mutual learning): two peers, each learning from the labels and from the other.

Each peer minimises CE + w·T²·KL(p_peer ‖ p_self) at T = method.temperature (1), w = method.weight (1).
Online (the published method), the peers update one after the other on each batch
(`method.order=sequential`, the paper's Algorithm 1 and the official code): the teacher peer
learns from the student peer's fresh output, then the student peer from the teacher peer's fresh,
updated output. That is the event trace of kd=spaced with interval_unit=steps and interval=1,
step for step. `method.order=joint` takes the PyTorch re-implementations' order instead: one
shared forward, each peer learning from the other's pre-update output. Spaced, the teacher peer
runs `interval` ahead and learns from the student peer as it is then; the student replays the
batches against the teacher as it is now.
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

    def learn(self, ks: List[int], t: int, x: Tensor, y: Tensor) -> Dict[str, Tensor]:
        if len(ks) < 2 or self.cfg.method.order == "joint":
            return super().learn(ks, t, x, y)
        result: Dict[str, Tensor] = {}
        for k in ks:  # each alone: the peer it learns from teaches as it is now, after any update before
            result = super().learn([k], t, x, y)
        return result

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
