"""The order in which a cohort executes its members' events beside one teacher. Pure Python.

Every schedule lets the teacher visit batches 0..T-1 in order, one update each, and a member's
student event at any point of its own order sees the teacher after exactly as many updates as
its own teacher(t) / joint(t) events before that point. So one walk over the teacher's steps
serves all members:

    for t in 0..T-1:
        each member's student events that need exactly t teacher updates, in its own order (and
                        in step order across members: members replaying the same batch against
                        the same teacher share the batch and the teacher's forward on it)
        teacher step t: the teacher learns from batch t; members whose next event is teacher(t)
                        pass it, then members whose next event is joint(t) learn from the same
                        batch with the teacher's pre-update forward as target
    each member's remaining student events (they need all T updates: offline, the last block)

A member without a teacher (kd=none) is paced by its own steps: student(s) before teacher step s.

A member resumed from its own checkpoint may have seen more teacher updates than another; the
teacher then starts from the member that saw fewest and the others wait until it reaches them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

from ..schedules import JOINT, STUDENT, TEACHER, Event


@dataclass(frozen=True)
class Turn:
    """One batch of the walk and who learns from it, in order."""

    step: int  # the batch
    teacher: bool  # a teacher step: the shared teacher learns from the batch first
    members: Tuple[Tuple[int, str], ...]  # (member, its event kind); teacher(t) before joint(t)


def teacher_start(seen: Sequence[Optional[int]], total_steps: int) -> int:
    """The teacher's first step: the fewest updates any member with a teacher has seen."""
    counts = [s for s in seen if s is not None]
    return min(counts) if counts else total_steps


def turns(events: Sequence[Iterator[Event]], seen: Sequence[Optional[int]], total_steps: int) -> Iterator[Turn]:
    """The turns that execute every member's remaining `events` (each member's own order).

    `seen[m]`: the teacher updates member m's state has seen (its done["teacher"]), None for a
    member without a teacher. Teacher steps are yielded from `teacher_start(seen)` on, even when no
    member passes an event there (a member further ahead still needs the teacher to get there).
    """
    seen = list(seen)
    heads: List[Optional[Event]] = [next(it, None) for it in events]

    def advance(m: int) -> None:
        heads[m] = next(events[m], None)

    def need(m: int, ev: Event) -> int:
        # teacher updates that must have happened before `ev` (a member without teacher: its step)
        return ev.step if seen[m] is None else seen[m]

    def students_up_to(t: int) -> Iterator[Turn]:
        # In step order across members (each member's own steps increase): members that replay
        # batch s against the same teacher learn from one batch and one teacher forward.
        while True:
            ready = [(ev.step, m) for m, ev in enumerate(heads)
                     if ev is not None and ev.kind == STUDENT and need(m, ev) <= t]
            if not ready:
                return
            step = min(ready)[0]
            together = [m for s, m in ready if s == step]
            yield Turn(step, False, tuple((m, STUDENT) for m in together))
            for m in together:
                advance(m)

    start = teacher_start(seen, total_steps)
    for t in range(total_steps):
        yield from students_up_to(t)
        if t < start:
            continue
        passing = {TEACHER: [], JOINT: []}
        for m, ev in enumerate(heads):
            if seen[m] != t:
                continue  # no teacher, or waiting for the teacher to reach it
            if ev is None or ev.kind == STUDENT or ev.step != t:
                raise ValueError(f"member {m}: after {t} teacher updates its next event is {ev!r}, "
                                 f"not teacher({t}) or joint({t}): the teacher must visit every batch in order")
            passing[ev.kind].append(m)
        for m in passing[TEACHER] + passing[JOINT]:
            seen[m] = t + 1
            advance(m)
        yield Turn(t, True, tuple((m, TEACHER) for m in passing[TEACHER]) + tuple((m, JOINT) for m in passing[JOINT]))
    yield from students_up_to(total_steps)
    for m, ev in enumerate(heads):
        if ev is not None:
            raise ValueError(f"member {m}: event {ev!r} is left after the teacher's last step")
