"""DLB and PSKD: a network trained by a self-distillation method teaches an identical student.

The first network ("teacher") learns by the method's own loss; the student learns from it by
plain KD (loss.*), online or spaced. Under kd=none the student alone learns by the method's
loss: that is the network the method trains, Tab. 4's w/o KD column.
"""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ..config import Config
from ..losses import kl
from .base import MethodLearner, Out
from .registry import METHODS, MethodSpec, NetSpec, net, seeded
from .views import require_second_view, second_view


class DLBLearner(MethodLearner):
    """Self-distillation from the last mini-batch (Shen et al., 2022).

    Step t trains on batch t and on batch t − 1 again (the network's previous step, whatever the
    schedule interleaves): CE on both, plus w·T²·KL(p_prev ‖ p) on batch t − 1, where p_prev
    is the network's own output on batch t − 1 one step ago (before that step's update). The
    first step has no previous batch and takes CE alone. Batch t − 1 comes back as a second
    augmented view of its images, as the release feeds it (`method.second_view`; false: the same
    augmented tensors), so the KL term compares two views, not only two moments. The images to
    re-feed, the labels and the outputs are kept (and checkpointed) as tensors.
    """

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.teacher_state["prev"] = None  # x (to re-feed), y, logits of the first network's last step
        self.views = self.cfg.method.second_view
        if self.views:
            require_second_view(self.data)

    @property
    def prev(self) -> Optional[Dict[str, Tensor]]:
        return self.teacher_state["prev"]

    def forward(self, k: int, t: int, x: Tensor, y: Tensor) -> Out:
        out = super().forward(k, t, x, y)
        if k == 0:
            # a step's batch is a fresh tensor (the stream never reuses one), and so is a second view
            self._batch = (second_view(self.data, t) if self.views else x, y)
            # the previous batch in a forward of its own (BatchNorm statistics apart), as published
            self._again = None if self.prev is None else super().forward(k, t, self.prev["x"], self.prev["y"]).logits
        return out

    def loss(self, k: int, t: int, out: Out, y: Tensor, teachers: Dict[int, Out]) -> Dict[str, Tensor]:
        if k != 0:
            return super().loss(k, t, out, y, teachers)
        m = self.cfg.method
        if self.prev is None:
            parts = {"ce": F.cross_entropy(out.logits.float(), y)}
        else:
            T = m.temperature
            parts = {"ce": F.cross_entropy(torch.cat([self._again, out.logits]).float(), torch.cat([self.prev["y"], y])),
                     "kd": m.weight * T * T * kl(self._again.float(), self.prev["logits"], T)}
        x_now, y_now = self._batch
        self.teacher_state["prev"] = {"x": x_now, "y": y_now, "logits": out.logits.detach().float()}
        self._batch = self._again = None
        return parts


class PSKDLearner(MethodLearner):
    """Progressive self-knowledge distillation (Kim et al., 2021).

    The target of sample i in epoch e is (1 − α_e)·onehot(y_i) + α_e·P_{e−1}(i), where P_{e−1}(i) is
    the network's softmax on sample i when it last saw it (the previous epoch), and
    α_e = α_T·(e + 1)/E; the loss is the soft-target cross-entropy. In epoch 0 the table holds the
    labels, so the target is one-hot. The table (N × C) is indexed by the stream's sample indices
    and kept in the checkpoint.
    """

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        n, c = self.data.n_train, self.data.num_classes
        self.teacher_state["past"] = torch.zeros(n, c, device=self.device)

    def loss(self, k: int, t: int, out: Out, y: Tensor, teachers: Dict[int, Out]) -> Dict[str, Tensor]:
        if k != 0:
            return super().loss(k, t, out, y, teachers)
        spe = self.data.steps_per_epoch
        epochs = -(-self.plan.total_steps // spe)
        epoch = t // spe
        alpha = self.cfg.method.alpha_T * (epoch + 1) / epochs
        idx = self.data.stream.indices(t).to(self.device)
        onehot = F.one_hot(y, out.logits.shape[1]).float()
        table = self.teacher_state["past"]
        past = onehot if epoch == 0 else table[idx]
        target = (1 - alpha) * onehot + alpha * past
        logits = out.logits.float()
        table[idx] = F.softmax(logits.detach(), dim=1)
        return {"ce": -(target * F.log_softmax(logits, dim=1)).sum(1).mean()}


def twins(cfg: Config) -> List[NetSpec]:
    return seeded([net(cfg, "teacher"), net(cfg, "student")], cfg)


METHODS.register("dlb")(MethodSpec(DLBLearner, twins, baseline="first"))
METHODS.register("pskd")(MethodSpec(PSKDLearner, twins, baseline="first"))
