"""Who the teacher is: a learner turns schedule events into parameter updates.

`PeerLearner` (online KD): separate teacher and student networks with their own optimisers.
`SelfLearner` (self KD, BYOT): one network whose deepest head teaches its shallow heads.

Every step returns its named loss terms as detached tensors (no host sync on the hot path);
`finite` accumulates on the device whether every loss so far was finite.

Randomness inside a forward (dropout, drop-path) is drawn from a seed that is a pure function of
(run seed, role, step), like the data. A role's forward at step t therefore sees the same draws
whatever the schedule interleaves around it: the teacher's trajectory does not depend on which
student watches it, and a replayed teacher forward at step t uses the masks of the teacher's own
training forward at t.
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Callable, Dict, Iterable, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .data.stream import mix_seed
from .losses import KDLoss
from .models.randomness import draws
from .optim import set_lr
from .schedules import JOINT, STUDENT, TEACHER, Event

# Domain tags of the forward seeds (the data stream uses 0 and 1).
_FORWARD_SEED = {TEACHER: 2, STUDENT: 3}
TARGET_MODES = ("train", "eval")

Batches = Iterable[Tuple[Tensor, Tensor]]


class Learner:
    """Base: step dispatch, precision, checkpoint state, evaluation plumbing."""

    eval_roles: tuple[str, ...] = ("student",)

    def __init__(self, modules: Dict[str, nn.Module], optimizers: Dict[str, torch.optim.Optimizer],
                 lr_at: Callable[[int], float], autocast: Callable[[], object], device: torch.device,
                 seed: int = 0, lr_of: Optional[Dict[str, Callable[[int], float]]] = None):
        self.modules, self.optimizers = modules, optimizers
        self.lr_at, self.autocast, self.device, self.seed = lr_at, autocast, device, seed
        self.lr_of = lr_of or {}  # optimisers with a schedule of their own (teacher.optim); the rest: lr_at
        self.finite = torch.ones((), dtype=torch.bool, device=device)
        # Networks without dropout or drop-path draw nothing: reseeding them would be pure overhead
        # (torch.manual_seed costs ~80 µs, twice a step).
        self.random_forward = any(draws(m) for net in modules.values() for m in net.modules())

    def _seed_forward(self, role: str, t: int) -> None:
        if self.random_forward:
            torch.manual_seed(mix_seed(self.seed, _FORWARD_SEED[role], t))

    def run_event(self, ev: Event, x: Tensor, y: Tensor) -> Dict[str, Tensor]:
        return self.step(ev.kind, ev.step, x, y)

    def step(self, kind: str, t: int, x: Tensor, y: Tensor) -> Dict[str, Tensor]:
        return {TEACHER: self.teacher_step, STUDENT: self.student_step, JOINT: self.joint_step}[kind](t, x, y)

    def _update(self, opt_name: str, t: int, parts: Dict[str, Tensor]) -> Dict[str, Tensor]:
        total = sum(parts.values())
        self.zero_grad(opt_name, t)
        total.backward()
        return self.apply_grad(opt_name, parts, total)

    # _update in two halves, so that several learners can share one backward (cohort stacks)
    def zero_grad(self, opt_name: str, t: int) -> None:
        opt = self.optimizers[opt_name]
        set_lr(opt, self.lr_of.get(opt_name, self.lr_at)(t))
        opt.zero_grad(set_to_none=True)

    def apply_grad(self, opt_name: str, parts: Dict[str, Tensor], total: Tensor) -> Dict[str, Tensor]:
        self.optimizers[opt_name].step()
        self.finite &= torch.isfinite(total.detach())
        return {k: v.detach() for k, v in parts.items()} | {"loss": total.detach()}

    def all_finite(self) -> bool:
        """Every loss so far and every weight and buffer now are finite (one host sync)."""
        ok = self.finite.clone()
        for m in self.modules.values():
            for t in list(m.parameters()) + list(m.buffers()):
                if t.is_floating_point():
                    ok &= torch.isfinite(t).all()
        return bool(ok)

    def state_dict(self) -> dict:
        return {
            "models": {k: m.state_dict() for k, m in self.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        for k, m in self.modules.items():
            m.load_state_dict(state["models"][k])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])

    @torch.no_grad()
    def _accuracy(self, forward: Callable[[Tensor], Dict[str, Tensor]], batches: Batches) -> Dict[str, Tuple[float, float]]:
        correct: Dict[str, Tensor] = {}
        loss: Dict[str, Tensor] = {}
        n = 0
        for x, y in batches:
            with self.autocast():
                outs = forward(x)
            for name, logits in outs.items():
                logits = logits.float()
                correct[name] = correct.get(name, 0) + (logits.argmax(1) == y).sum()
                loss[name] = loss.get(name, 0) + F.cross_entropy(logits, y, reduction="sum")
            n += y.numel()
        return {k: (100.0 * float(correct[k]) / n, float(loss[k]) / n) for k in correct}


class PeerLearner(Learner):
    """Online KD with a peer teacher (Alg. 1 / 2); `teacher=None` is the no-KD baseline.

    `target_mode` says what kind of output the teacher teaches with, the same for every schedule:
    "train" — a train-mode forward (BatchNorm batch statistics, drop-path on), which is what an
    online student gets for free from the teacher's own update; "eval" — an eval-mode forward
    (running statistics), which costs online KD one extra teacher forward per step. A replayed
    train-mode forward leaves the teacher's running statistics alone unless `replay_moves_bn`
    (the release's behaviour, `recipe=official`).
    """

    def __init__(self, student: nn.Module, teacher: Optional[nn.Module], projector: Optional[nn.Module],
                 optimizers: Dict[str, torch.optim.Optimizer], loss: KDLoss, *,
                 target_mode: str = "train", replay_moves_bn: bool = False, **kw):
        modules = {"student": student}
        if teacher is not None:
            modules["teacher"] = teacher
        if projector is not None:
            modules["projector"] = projector
        super().__init__(modules, optimizers, **kw)
        assert target_mode in TARGET_MODES, target_mode
        self.student, self.teacher, self.projector, self.loss = student, teacher, projector, loss
        self.target_mode, self.replay_moves_bn = target_mode, replay_moves_bn
        self.eval_roles = ("teacher", "student") if teacher is not None else ("student",)

    def teacher_step(self, t: int, x: Tensor, y: Tensor) -> Dict[str, Tensor]:
        self._teacher_update(t, x, y)
        return {}

    def _teacher_update(self, t: int, x: Tensor, y: Tensor) -> Tuple[Tensor, Tensor]:
        assert self.teacher is not None, "a teacher step needs a teacher"
        self.teacher.train()
        self._seed_forward(TEACHER, t)
        with self.autocast():
            logits, feat = self.teacher(x)[:2]  # a distilled DeiT's class head teaches
        self._update("teacher", t, {"ce": F.cross_entropy(logits.float(), y)})
        return logits.detach().clone(), feat.detach().clone()  # (see `target`)

    @torch.no_grad()
    def target(self, t: int, x: Tensor) -> Tuple[Tensor, Tensor]:
        """The teacher's output on batch t as it is now, in `target_mode`; changes nothing in it
        (but the running statistics, when `replay_moves_bn`)."""
        assert self.teacher is not None
        self.teacher.train(self.target_mode == "train")
        self._seed_forward(TEACHER, t)
        frozen = self.target_mode == "train" and not self.replay_moves_bn
        with (frozen_bn_stats(self.teacher) if frozen else nullcontext()), self.autocast():
            logits, feat = self.teacher(x)[:2]
        return logits.clone(), feat.clone()  # a CUDA-graph replay (compile_mode=reduce-overhead) reuses output memory

    def student_step(self, t: int, x: Tensor, y: Tensor) -> Dict[str, Tensor]:
        if self.teacher is None:
            return self._student_update(t, x, y, None)
        return self._student_update(t, x, y, self.target(t, x))

    def joint_step(self, t: int, x: Tensor, y: Tensor) -> Dict[str, Tensor]:
        if self.target_mode == "train":
            # The teacher's own pre-update training forward is the target: no extra forward.
            target = self._teacher_update(t, x, y)
        else:
            target = self.target(t, x)  # pre-update, eval mode
            self._teacher_update(t, x, y)
        return self._student_update(t, x, y, target)

    def _student_update(self, t: int, x: Tensor, y: Tensor, target: Optional[Tuple[Tensor, Tensor]]) -> Dict[str, Tensor]:
        self.student.train()
        self._seed_forward(STUDENT, t)
        with self.autocast():
            parts = self.student_loss(self.student(x), y, target)
        return self._update("student", t, parts)

    def student_loss(self, out: tuple, y: Tensor, target: Optional[Tuple[Tensor, Tensor]]) -> Dict[str, Tensor]:
        """The student's loss terms, from its forward's output `out` (inside autocast)."""
        logits, feat = out[0], out[1]
        if target is None:
            return {"ce": F.cross_entropy(logits.float(), y)}
        t_logits, t_feat = target
        s_feat = self.projector(feat) if (self.projector is not None and self.loss.uses_features) else None
        # a distilled DeiT learns the labels on its class head, the teacher on its distillation head
        kd_logits = out[2] if len(out) > 2 else None
        return self.loss(logits, t_logits, y, s_feat, t_feat, kd_logits=kd_logits)

    def evaluate(self, role: str, batches: Batches) -> Dict[str, Tuple[float, float]]:
        net = self.teacher if role == "teacher" else self.student
        net.eval()
        return self._accuracy(lambda x: {role: net(x)[0]}, batches)


class frozen_bn_stats:
    """BatchNorm layers use batch statistics but leave their running statistics (and counters)
    as they are: a train-mode forward that only teaches."""

    def __init__(self, net: nn.Module):
        self.layers = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

    def __enter__(self) -> None:
        self.saved = [m.track_running_stats for m in self.layers]
        for m in self.layers:
            m.track_running_stats = False

    def __exit__(self, *exc) -> None:
        for m, tracked in zip(self.layers, self.saved):
            m.track_running_stats = tracked


class SelfLearner(Learner):
    """Self KD with BYOT heads (Alg. 3 / 4): one network, one optimiser.

    teacher(t): CE on the deepest head only (Alg. 4, lines 5–6).
    student(t): the full self-KD loss L' with the deepest head's output as detached target.
    joint(t):   Alg. 3's single update on the same summed loss.
    """

    def __init__(self, net: nn.Module, optimizer: torch.optim.Optimizer, loss: KDLoss,
                 feature_heads: Optional[int] = None, **kw):
        super().__init__({"network": net}, {"network": optimizer}, **kw)
        self.net, self.loss, self.feature_heads = net, loss, feature_heads

    def teacher_step(self, t: int, x: Tensor, y: Tensor) -> Dict[str, Tensor]:
        self.net.train()
        self._seed_forward(TEACHER, t)
        with self.autocast():
            logits, _ = self.net(x)
        return self._update("network", t, {"ce": F.cross_entropy(logits[0].float(), y)})

    def student_step(self, t: int, x: Tensor, y: Tensor) -> Dict[str, Tensor]:
        self.net.train()
        self._seed_forward(STUDENT, t)
        with self.autocast():
            logits, feats = self.net(x)
            parts = self.self_kd_loss(logits, feats, y)
        return self._update("network", t, parts)

    joint_step = student_step

    def self_kd_loss(self, logits: list, feats: list, y: Tensor) -> Dict[str, Tensor]:
        deep_logits, deep_feat = logits[0].detach(), feats[0].detach()
        shallow = list(range(1, len(logits)))
        with_feat = shallow[-self.feature_heads:] if self.feature_heads else shallow
        ce = F.cross_entropy(logits[0].float(), y)
        kd = ce.new_zeros(())
        feat = ce.new_zeros(())
        for k in shallow:
            p = self.loss(logits[k], deep_logits, y)
            ce = ce + p["ce"]
            kd = kd + p["kd"]
            if self.loss.uses_features and k in with_feat:
                feat = feat + self.loss.beta * self.loss.feature(feats[k].float(), deep_feat.float())
        return {"ce": ce, "kd": kd, "feat": feat}

    def evaluate(self, role: str, batches: Batches) -> Dict[str, Tuple[float, float]]:
        self.net.eval()

        def heads(x: Tensor) -> Dict[str, Tensor]:
            logits, _ = self.net(x)
            n = len(logits)
            # head1 = shallowest … headN = deepest (the network's own classifier)
            out = {f"head{n - i}": lg for i, lg in enumerate(logits)}
            out["ensemble"] = torch.stack([lg.float() for lg in logits]).mean(0)
            # The paper reports the deepest head as the self-KD student: said here, once, so every
            # reader of metrics.jsonl and summary.json finds a "student" like in peer mode.
            out["student"] = logits[0]
            return out

        return self._accuracy(heads, batches)


def autocast_factory(device: torch.device, precision: str) -> Callable[[], object]:
    if precision == "bf16":
        return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext
