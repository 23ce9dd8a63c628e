"""Students of a cohort that learn from the same batch at the same moment, as one stacked network
(`trainer.stack_students=true`): one forward and one backward for all of them, each with its own
loss and optimiser step (spaced_kd.models.stacked says how, and why it is exact on the CPU).

Who learns together is the walk's business (spaced_kd.cohort.walk): every member of a student turn
replays the same batch against the same teacher, and every joint(t) member of a teacher turn
learns from the teacher's batch t. Members whose students cannot be stacked (a method's learner,
a forward that draws random numbers, a model the stack refuses) learn one by one as without the
option; the reason is logged once.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

from torch import Tensor

from ..learners import PeerLearner
from ..models.stacked import StackedNets, StackRefused

Update = Callable[[], Dict[str, Tensor]]


class StudentStacks:
    """The stacks of one cohort, one per set of members that learn together (built on first use)."""

    def __init__(self, log: Callable[[str], None]):
        self.log = log
        self._stacks: Dict[Tuple[int, ...], Optional[StackedNets]] = {}
        self._said: set = set()

    def eligible(self, learner) -> bool:
        """A plain peer learner with a teacher and a forward that draws nothing."""
        return type(learner) is PeerLearner and learner.teacher is not None and not learner.random_forward

    def updates(self, learners: Sequence[PeerLearner], t: int, x: Tensor, y: Tensor,
                targets: Sequence[Tuple[Tensor, Tensor]]) -> Optional[List[Update]]:
        """Each learner's student update on batch t against its target, computed now as one stack,
        as what Member.step executes; None when the students cannot be stacked."""
        stack = self._stack(learners) if len(learners) > 1 else None
        if stack is None:
            return None
        try:
            results = stacked_update(stack, learners, t, x, y, targets)
        except Exception as exc:  # each member fails with it, as when its own update raises
            def fail(exc=exc):
                raise exc
            return [fail] * len(learners)
        return [lambda r=r: r for r in results]

    def _stack(self, learners: Sequence[PeerLearner]) -> Optional[StackedNets]:
        key = tuple(id(l) for l in learners)
        if key not in self._stacks:
            try:
                self._stacks[key] = StackedNets([l.student for l in learners])
            except StackRefused as exc:
                self._stacks[key] = None
                if str(exc) not in self._said:
                    self._said.add(str(exc))
                    self.log(f"trainer.stack_students: students learn one by one: {exc}")
        return self._stacks[key]


def stacked_update(stack: StackedNets, learners: Sequence[PeerLearner], t: int, x: Tensor, y: Tensor,
                    targets: Sequence[Tuple[Tensor, Tensor]]) -> List[Dict[str, Tensor]]:
    """PeerLearner._student_update for every learner, with one forward and one backward. The
    backward of the sum of the members' losses gives each member exactly its own gradients: a
    member's loss reaches only its own block of every layer."""
    for learner in learners:
        learner.student.train()
    with learners[0].autocast():
        outs = stack(x)
        parts = [l.student_loss(out, y, tg) for l, out, tg in zip(learners, outs, targets)]
    totals = [sum(p.values()) for p in parts]
    for learner in learners:
        learner.zero_grad("student", t)
    sum(totals).backward()
    return [l.apply_grad("student", p, total) for l, p, total in zip(learners, parts, totals)]
