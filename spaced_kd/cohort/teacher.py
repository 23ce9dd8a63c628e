"""The one teacher of a cohort: its members' learners point at it, it learns once per step.

Each member's PeerLearner keeps its own student, projector and student optimiser; its `teacher`,
`modules["teacher"]` and `optimizers["teacher"]` are this teacher's, so the member's state_dict
(its checkpoint) is exactly what a run of its own writes.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ..learners import PeerLearner

Target = Tuple[Tensor, Tensor]


class SharedTeacher:
    """The teacher of `host` (a member's learner whose teacher state is the one to continue from),
    shared by `learners`; `count` is the number of updates it has had."""

    def __init__(self, host: PeerLearner, learners: Sequence[PeerLearner], count: int):
        self.host, self.count = host, count
        for learner in learners:
            if learner is host:
                continue
            if hasattr(learner, "adopt_teacher"):  # a method's learner: its teacher's own state too
                learner.adopt_teacher(host)
            else:
                learner.teacher = learner.modules["teacher"] = host.teacher
                learner.optimizers["teacher"] = host.optimizers["teacher"]
        self._evals: Dict[str, dict] = {}
        self._evals_at = -1

    def update(self, t: int, x: Tensor, y: Tensor) -> Tuple[Target, Tensor]:
        """One teacher update on batch t: (its pre-update training forward, whether its loss was
        finite). The flag is kept apart from the host's own (which also covers its student's
        losses): each member passing teacher(t) or joint(t) takes it into its own."""
        kept, self.host.finite = self.host.finite, torch.ones_like(self.host.finite)
        try:
            target = self.host._teacher_update(t, x, y)
            finite = self.host.finite
        finally:
            self.host.finite = kept
        self.count += 1
        return target, finite

    def evaluation(self, split: str, compute) -> dict:
        """The teacher's results on `split` now: computed by the first member that asks (`compute`),
        then given to every other member at the same teacher step."""
        if self._evals_at != self.count:
            self._evals, self._evals_at = {}, self.count
        if split not in self._evals:
            self._evals[split] = compute()
        return self._evals[split]


def eval_target(joint: Sequence[PeerLearner], t: int, x: Tensor) -> Optional[Target]:
    """The teacher's pre-update eval-mode forward on batch t, for joint(t) members whose target
    mode is "eval" (as PeerLearner.joint_step computes it before the update); None when none is."""
    for learner in joint:
        if learner.target_mode == "eval":
            return learner.target(t, x)
    return None
