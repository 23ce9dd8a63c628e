"""The learner every Tab. 4 method builds on: a chain of networks, each with its own optimiser.

Networks are named by role, first to last (`roles`); the first teaches, the last is the student
the tables report. An event (spaced_kd.chains) says which networks learn from the batch of step t
together. For one event the learner

1. takes the targets that come from outside the group (a network that is not learning now
   teaches as it is now, without changing: BatchNorm statistics frozen) or in eval mode,
2. runs the training forward of every learning network,
3. hands each the detached outputs it learns from (a network learning in the same event teaches
   with its pre-update output: online KD's joint step), and
4. updates each network on its own loss.

A method is the answer to two questions, asked per network: whom does it learn from
(`teachers_of`), and what is its loss (`loss`). Methods with per-step state (DLB's last batch,
PSKD's past predictions) keep it in `teacher_state`, which the checkpoint holds.
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Dict, List, NamedTuple, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.stream import mix_seed
from ..learners import Batches, Learner, frozen_bn_stats
from ..losses import KDLoss
from ..schedules import Event


class Out(NamedTuple):
    logits: Tensor  # on the event's batch x
    feat: Tensor


# Forward-seed domain tags (the data stream uses 0 and 1, PeerLearner 2 and 3 for its roles).
_ROLE_TAG = {"teacher": 2, "student": 3}


class MethodLearner(Learner):
    """Networks `roles[0] → … → roles[-1]`; by default each learns from the one before it with
    `kd_loss` (the first from the labels alone)."""

    def __init__(self, nets: Sequence[Tuple[str, nn.Module]], kd_loss: KDLoss, *, cfg=None, data=None, plan=None,
                 target_mode: str = "train", **kw):
        # optimisers come after construction (`trainable` may name modules a method adds)
        super().__init__(dict(nets), {}, **kw)
        self.cfg, self.data, self.plan = cfg, data, plan
        self.roles: List[str] = [role for role, _ in nets]
        self.nets: Dict[str, nn.Module] = self.modules  # one dict: a cohort swaps the teacher in both
        self.kd_loss, self.target_mode = kd_loss, target_mode
        self.eval_roles = tuple(self.roles)
        # What a cohort member needs of a two-network method (spaced_kd.cohort): the teacher, and the
        # state its own loss keeps (`teacher_state`, shared along with it).
        self.teacher = self.nets["teacher"] if len(self.roles) > 1 else None
        self.teacher_state: Dict[str, object] = {}

    # ------------------------------------------------------------------ what a method says
    def teachers_of(self, k: int) -> List[int]:
        """Indices of the networks whose outputs network k learns from."""
        return [k - 1] if k > 0 else []

    def loss(self, k: int, t: int, out: Out, y: Tensor, teachers: Dict[int, Out]) -> Dict[str, Tensor]:
        if k == 0:
            return {"ce": F.cross_entropy(out.logits.float(), y)}
        return self.kd_loss(out.logits, teachers[k - 1].logits, y)

    def forward(self, k: int, t: int, x: Tensor, y: Tensor) -> Out:
        """Network k's training forward on batch t (a method may add samples of its own)."""
        logits, feat = self.nets[self.roles[k]](x)[:2]
        return Out(logits, feat)

    def teach(self, j: int, t: int, x: Tensor) -> Out:
        """Network j's output on x as it is now, changing nothing in it."""
        net = self.nets[self.roles[j]]
        net.train(self.target_mode == "train")
        self._seed(j, t)
        frozen = frozen_bn_stats(net) if self.target_mode == "train" else nullcontext()
        with torch.no_grad(), frozen, self.autocast():
            logits, feat = net(x)[:2]
        return Out(logits.clone(), feat.clone())

    def trainable(self, role: str) -> List[nn.Module]:
        """The modules network `role`'s optimiser updates."""
        return [self.nets[role]]

    def extra_state(self) -> dict:
        return dict(self.teacher_state)

    def load_extra_state(self, state: dict) -> None:
        for key, value in state.items():
            current = self.teacher_state.get(key)
            if isinstance(current, Tensor) and isinstance(value, Tensor):
                current.copy_(value)  # in place: a cohort's members hold the same tensor
            else:
                self.teacher_state[key] = value

    # ------------------------------------------------------------------ one event
    def run_event(self, ev: Event, x: Tensor, y: Tensor) -> Dict[str, Tensor]:
        if not ev.roles:  # a two-network method on the plain schedule: PeerLearner's three steps
            return self.step(ev.kind, ev.step, x, y)
        ks = [self.roles.index(r) for r in ev.roles]
        return self.learn(ks, ev.step, x, y)

    # PeerLearner's interface, for the first network teaching the last one (two networks, or the
    # method's network alone under kd=none); spaced_kd.cohort drives members through it.
    def teacher_step(self, t: int, x: Tensor, y: Tensor) -> Dict[str, Tensor]:
        self._teacher_update(t, x, y)
        return {}

    def student_step(self, t: int, x: Tensor, y: Tensor) -> Dict[str, Tensor]:
        return self._student_update(t, x, y, self.target(t, x) if self.teacher is not None else None)

    def joint_step(self, t: int, x: Tensor, y: Tensor) -> Dict[str, Tensor]:
        if self.target_mode == "train":
            target = self._teacher_update(t, x, y)
        else:
            target = self.target(t, x)
            self._teacher_update(t, x, y)
        return self._student_update(t, x, y, target)

    def target(self, t: int, x: Tensor) -> Tuple[Tensor, Tensor]:
        return tuple(self.teach(0, t, x))

    def _teacher_update(self, t: int, x: Tensor, y: Tensor) -> Tuple[Tensor, Tensor]:
        out = self._own_update(0, t, x, y, {})[1]
        return out.logits.detach().clone(), out.feat.detach().clone()

    def _student_update(self, t: int, x: Tensor, y: Tensor, target) -> Dict[str, Tensor]:
        k = len(self.roles) - 1
        return self._own_update(k, t, x, y, {} if target is None else {k - 1: Out(*target)})[0]

    def _own_update(self, k: int, t: int, x: Tensor, y: Tensor, teachers: Dict[int, Out]):
        self.nets[self.roles[k]].train()
        self._seed(k, t)
        with self.autocast():
            out = self.forward(k, t, x, y)
            parts = self.loss(k, t, out, y, teachers)
        return self._update(self.roles[k], t, parts), out

    def adopt_teacher(self, host: "MethodLearner") -> None:
        """Learn from `host`'s teacher (a cohort's shared one), its state included."""
        self.teacher = self.nets["teacher"] = host.teacher
        self.optimizers["teacher"] = host.optimizers["teacher"]
        self.teacher_state = host.teacher_state

    def learn(self, ks: List[int], t: int, x: Tensor, y: Tensor) -> Dict[str, Tensor]:
        group = set(ks)
        teachers: Dict[int, Out] = {}
        for j in sorted({j for k in ks for j in self.teachers_of(k)}):
            if j not in group or self.target_mode == "eval":
                teachers[j] = self.teach(j, t, x)  # before any update in this event
        outs: Dict[int, Out] = {}
        for k in ks:
            self.nets[self.roles[k]].train()
            self._seed(k, t)
            with self.autocast():
                outs[k] = self.forward(k, t, x, y)
        for j in group:
            if j not in teachers:
                teachers[j] = Out(outs[j].logits.detach(), outs[j].feat.detach())
        result: Dict[str, Tensor] = {}
        for k in ks:
            with self.autocast():
                parts = self.loss(k, t, outs[k], y, {j: teachers[j] for j in self.teachers_of(k)})
            result = self._update(self.roles[k], t, parts)
        return result  # the last learning network's terms: the progress bar's

    def _seed(self, k: int, t: int) -> None:
        if self.random_forward:
            torch.manual_seed(mix_seed(self.seed, _ROLE_TAG.get(self.roles[k], 4 + k), t))

    # ------------------------------------------------------------------ evaluation, state
    def evaluate(self, role: str, batches: Batches) -> Dict[str, Tuple[float, float]]:
        net = self.nets[role]
        net.eval()
        return self._accuracy(lambda x: {role: net(x)[0]}, batches)

    def state_dict(self) -> dict:
        return super().state_dict() | {"method": self.extra_state()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.load_extra_state(state.get("method", {}))

