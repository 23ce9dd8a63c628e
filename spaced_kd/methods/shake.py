"""SHAKE (shadow knowledge distillation, Li & Jin 2022): a shadow head on the frozen teacher
learns beside the student and teaches it.

Networks: the teacher (trained first, offline, or loaded by teacher.checkpoint), the shadow head,
and the student. The shadow head fuses the teacher's last three stage maps and reads them out
with the teacher's own classifier (frozen):

    h = fc_t(pool(fuse5(fuse3(fuse1(f_a) + fuse2(f_b)) + fuse4(f_c))))

Losses, as the release has them, on logits normalised as LayerNorm(z)·π (spaced_kd docs/methods.md):
    student: CE(s, y) + w·T²·KL(h ‖ s)
    shadow:  T²·KL(s ‖ h) + CE(h, y) + MSE(h, t)
with T = method.temperature (4), w = method.weight (1). Online, the shadow head and the student
learn together; spaced, the shadow head runs `interval` ahead (learning from the student as it
is then) and the student replays the batches against it.
"""
from __future__ import annotations

import math
from typing import Dict, List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import Config
from ..errors import UserError
from ..losses import kl
from .base import MethodLearner, Out
from .registry import METHODS, MethodSpec, NetSpec, net, seeded

TEACHER, SHADOW, STUDENT = 0, 1, 2


def _fuse(c_in: int, c_out: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class ShadowHead(nn.Module):
    """The shadow head on a teacher; the teacher is held, not owned (its weights are not the head's)."""

    def __init__(self, teacher: nn.Module, probe: Tensor):
        super().__init__()
        if not hasattr(teacher, "forward_stages") or not isinstance(getattr(teacher, "fc", None), nn.Linear):
            raise UserError("method=shake reads the teacher's stage maps and classifier: choose a ResNet teacher")
        self._teacher = (teacher,)  # a tuple keeps it out of this module's parameters and state
        maps = self._maps(probe)
        if len(maps) < 3:
            raise UserError("method=shake needs a teacher with at least three stages")
        (ca, ha), (cb, hb), (cc, hc) = [(m.shape[1], m.shape[2]) for m in maps]
        self.fuse1 = _fuse(ca, cb, 3, max(1, ha // hb))
        self.fuse2 = _fuse(cb, cb, 1, 1)
        self.fuse3 = _fuse(cb, cc, 3, max(1, hb // hc))
        self.fuse4 = _fuse(cc, cc, 1, 1)
        self.fuse5 = _fuse(cc, cc, 3, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _maps(self, x: Tensor) -> List[Tensor]:
        teacher = self._teacher[0]
        mode = teacher.training
        teacher.eval()
        with torch.no_grad():
            maps = teacher.forward_stages(x)[-3:]
        teacher.train(mode)
        return maps

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        f_a, f_b, f_c = self._maps(x)
        h = self.fuse5(self.fuse3(self.fuse1(f_a) + self.fuse2(f_b)) + self.fuse4(f_c))
        feat = torch.flatten(F.adaptive_avg_pool2d(h, 1), 1)
        fc = self._teacher[0].fc
        return F.linear(feat, fc.weight.detach(), fc.bias.detach() if fc.bias is not None else None), feat


def normalised(z: Tensor) -> Tensor:
    return F.layer_norm(z.float(), z.shape[1:], eps=1e-7) * math.pi


class ShakeLearner(MethodLearner):
    def __init__(self, nets, *a, **kw):
        teacher = dict(nets)["teacher"]
        data = kw["data"]
        torch.manual_seed(kw["seed"] + 2)  # the head's initial weights: a function of the seed alone
        probe = torch.zeros(2, data.in_channels, data.image_size, data.image_size, device=next(teacher.parameters()).device)
        head = ShadowHead(teacher, probe).to(probe.device)
        nets = [nets[0], ("shadow", head), nets[-1]]
        super().__init__(nets, *a, **kw)

    def teachers_of(self, k: int) -> List[int]:
        return {TEACHER: [], SHADOW: [TEACHER, STUDENT], STUDENT: [SHADOW]}[k]

    def teach(self, j: int, t: int, x: Tensor) -> Out:
        if j != TEACHER:
            return super().teach(j, t, x)
        teacher = self.nets["teacher"]
        teacher.eval()  # the frozen teacher teaches in eval mode, as in the release
        with torch.no_grad(), self.autocast():
            logits, feat = teacher(x)[:2]
        return Out(logits, feat)

    def loss(self, k: int, t: int, out: Out, y: Tensor, teachers: Dict[int, Out]) -> Dict[str, Tensor]:
        if k == TEACHER:
            return super().loss(k, t, out, y, teachers)
        T, w = self.cfg.method.temperature, self.cfg.method.weight
        z = normalised(out.logits)
        if k == STUDENT:
            h = normalised(teachers[SHADOW].logits)
            return {"ce": F.cross_entropy(z, y), "kd": w * T * T * kl(z, h, T)}
        s, t_logits = normalised(teachers[STUDENT].logits), normalised(teachers[TEACHER].logits)
        return {"ce": F.cross_entropy(z, y), "kd": T * T * kl(z, s, T), "mse": F.mse_loss(z, t_logits)}


def shake_networks(cfg: Config) -> List[NetSpec]:
    teacher = net(cfg, "teacher", model=cfg.teacher.name or cfg.model.name, width=cfg.teacher.width)
    shadow = NetSpec("shadow", "", 0.0, 0.0, cfg.seed)  # built by the learner, on the teacher
    return seeded([teacher, shadow, net(cfg, "student")], cfg)


def shake_links(cfg: Config, n: int) -> List[str]:
    return ["offline", cfg.kd.name]  # the teacher is trained (or loaded) before the shadow head starts


METHODS.register("shake")(MethodSpec(ShakeLearner, shake_networks, mutual=True, links=shake_links))
