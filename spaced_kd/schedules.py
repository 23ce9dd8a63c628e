"""When the teacher teaches: the paper's Algorithms 1-4 and Tab. 10 as lists of events.

Pure Python, no torch. A schedule maps a `Plan` (step counts, already converted from epochs) to
the ordered events the engine executes:

    teacher(t)   the teacher learns from batch t, task loss only
    student(t)   the student learns from batch t against the teacher as it is now
    joint(t)     both learn from batch t in the same step (online KD)

Every role visits the batches 0..T-1 in increasing order, at most once each; only the order in
which the two roles interleave differs between schedules.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional

from .registry import Registry

TEACHER, STUDENT, JOINT = "teacher", "student", "joint"


@dataclass(frozen=True)
class Event:
    kind: str  # teacher | student | joint
    step: int
    # The networks that learn, when a method has more than two (spaced_kd.chains); empty: the
    # roles `kind` names.
    roles: tuple[str, ...] = ()

    def __repr__(self) -> str:  # short form keeps schedule traces readable in test failures
        if self.roles:
            return f"{'+'.join(self.roles)}{self.step}"
        return f"{self.kind[0].upper()}{self.step}"


@dataclass(frozen=True)
class Plan:
    total_steps: int  # T
    interval: int = 1  # s, in steps
    window_start: int = 0  # spacing applies to steps in [window_start, window_end)
    window_end: Optional[int] = None  # None: till T
    drop_last_block: bool = False  # release behaviour: a block cut short by T is never replayed
    first_block: Optional[int] = None  # length of the first spaced block (release's self-KD off-by-one)
    # release's self KD: the step that triggers a replay trains its own batch in the replay only,
    # so a replayed block's last batch gets no teacher step
    replay_owns_last: bool = False
    teacher_pretrained: bool = False  # offline KD from a loaded teacher: no teacher steps


def steps_from_epochs(epochs: float, steps_per_epoch: int, floor: bool = False) -> int:
    """Epochs → steps; round half up by default (the release truncates: floor=True)."""
    x = epochs * steps_per_epoch
    return int(math.floor(x)) if floor else int(math.floor(x + 0.5))


Schedule = Callable[[Plan], Iterator[Event]]
SCHEDULES: Registry[Schedule] = Registry("kd schedule")


@SCHEDULES.register("none")
def no_kd(plan: Plan) -> Iterator[Event]:
    """Baseline: the student alone (the learner has no teacher, so this is plain CE training)."""
    for t in range(plan.total_steps):
        yield Event(STUDENT, t)


@SCHEDULES.register("online")
def online(plan: Plan) -> Iterator[Event]:
    """Alg. 1 / Alg. 3: one joint step per batch."""
    for t in range(plan.total_steps):
        yield Event(JOINT, t)


def _blocks(start: int, end: int, s: int, first: Optional[int]) -> Iterator[tuple[int, int]]:
    lo = start
    length = first if first is not None else s
    while lo < end:
        hi = min(lo + length, end)
        yield lo, hi
        lo, length = hi, s


@SCHEDULES.register("spaced")
def spaced(plan: Plan) -> Iterator[Event]:
    """Alg. 2 / Alg. 4: the teacher takes s steps, then the student replays those s batches.

    Outside the critical-period window the schedule is online KD. A block cut by the window's end
    is replayed there; one cut by the end of training is replayed unless `drop_last_block`. With
    `replay_owns_last`, a replayed block's last batch is learnt in the replay alone.
    """
    T = plan.total_steps
    lo_w = min(plan.window_start, T)
    hi_w = T if plan.window_end is None else min(plan.window_end, T)
    for t in range(lo_w):
        yield Event(JOINT, t)
    for lo, hi in _blocks(lo_w, hi_w, plan.interval, plan.first_block):
        full = (hi - lo) == (plan.interval if lo > lo_w or plan.first_block is None else plan.first_block)
        replayed = full or hi < T or not plan.drop_last_block
        for t in range(lo, hi - 1 if replayed and plan.replay_owns_last else hi):
            yield Event(TEACHER, t)
        if replayed:
            for t in range(lo, hi):
                yield Event(STUDENT, t)
    for t in range(hi_w, T):
        yield Event(JOINT, t)


@SCHEDULES.register("ahead")
def ahead(plan: Plan) -> Iterator[Event]:
    """Tab. 10: the teacher trains s steps first, then stays s steps ahead in lockstep."""
    T, s = plan.total_steps, plan.interval
    for t in range(min(s, T)):
        yield Event(TEACHER, t)
    for t in range(T):
        yield Event(STUDENT, t)
        if t + s < T:
            yield Event(TEACHER, t + s)


@SCHEDULES.register("offline")
def offline(plan: Plan) -> Iterator[Event]:
    """The teacher trains to the end first (unless loaded from a checkpoint), then the student."""
    if not plan.teacher_pretrained:
        for t in range(plan.total_steps):
            yield Event(TEACHER, t)
    for t in range(plan.total_steps):
        yield Event(STUDENT, t)


def expand(name: str, plan: Plan) -> List[Event]:
    return list(SCHEDULES.get(name)(plan))
