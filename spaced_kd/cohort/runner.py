"""Train a cohort: one teacher, every member's student on its own schedule beside it.

    from spaced_kd.cohort.member import MemberSpec
    from spaced_kd.cohort.runner import run_cohort
    members = run_cohort([MemberSpec(cfg_online, dir_a), MemberSpec(cfg_spaced, dir_b)])

The members' configs must differ only in student-side settings (spaced_kd.cohort.grouping). Each
member writes its own run directory exactly as a run of its own would; on CPU its weights,
metrics and summary are bit-identical to that run's (tests/test_cohort_identity.py).

Checkpoints. A member checkpoints at the events where a run of its own would, so each checkpoint
is one that run could have written (the shared teacher is, at that moment, where the member's own
teacher would be). After a crash each member resumes from its own checkpoint; the teacher
continues from the member that had seen fewest teacher updates and the others wait until it
reaches them (spaced_kd.cohort.walk), so nothing has to be written in step across members.
"""
from __future__ import annotations

import os
import signal
import time
from typing import Callable, List, Sequence, Tuple

from ..engine import Preempted
from ..errors import UserError
from ..preemption import PreemptionGuard
from ..run import resolved
from ..schedules import JOINT, STUDENT, TEACHER, Event
from .grouping import teacher_key, why_alone
from .member import Member, MemberSpec, RngState
from .stacked import StudentStacks
from .teacher import SharedTeacher, Target, eval_target
from .walk import Turn, turns

# Test hook: SIGKILL the process just before the cohort's teacher step t (crash-resume tests).
KILL_AT_ENV = "SPACED_KD_COHORT_KILL_AT_STEP"


def run_cohort(specs: Sequence[MemberSpec], log: Callable[[str], None] = print) -> List[Member]:
    """Train the members together; returns them with their outcome (status, error, summary).

    Raises Preempted after a preemption signal (every member checkpointed where it could be, its
    summary "running"), or an error outside the members' own events (every member still training
    has it in its summary); `Cohort(...).members` keeps the outcomes when it raises."""
    cohort = Cohort(specs, log)
    cohort.run()
    return cohort.members


class Cohort:
    """The members of one cohort: opened one by one as spaced_kd.run opens a run, then walked."""

    def __init__(self, specs: Sequence[MemberSpec], log: Callable[[str], None] = print):
        self.members = [Member(spec, log) for spec in specs]
        self.log = log

    def run(self) -> None:
        self._check()
        data = None
        for member in self.members:
            member.open(data)  # built on the first member's data: they all read the same stream
            if member.active:
                data = data or member.session.setup.data
                if member.session.state.event_index == member.session.setup.n_events:
                    member.start_clock(time.monotonic())  # stopped after its last event: only the end is left
                    member.finish()
        walking = [m for m in self.members if m.active]
        if walking:
            Walk(walking, self.log).run()

    def _check(self) -> None:
        """What the sweeper's grouping guarantees, checked for every caller before anything is written."""
        for m in self.members:
            reason = why_alone(m.spec.cfg)
            if reason is not None:
                raise UserError(f"{m.name} cannot share a teacher: {reason}")
        if len({teacher_key(resolved(m.spec.cfg)) for m in self.members}) > 1:
            raise UserError("the runs of a cohort must differ only in student-side settings "
                            "(kd, interval, interval_unit, spaced.*, loss.*)")


class Walk:
    """One pass over the teacher's steps with the members that are still training (walk.py says
    in which order); each member's own events go through Member.step, so a failure is its own."""

    def __init__(self, members: List[Member], log: Callable[[str], None]):
        self.members, self.log = members, log
        self.total_steps = members[0].session.setup.plan.total_steps
        self.data = members[0].session.setup.data
        self.device = members[0].session.setup.device
        teachers = [m for m in members if m.has_teacher]
        self.shared = None
        if teachers:
            host = min(teachers, key=lambda m: m.seen)  # the teacher continues from there
            self.shared = SharedTeacher(host.learner, [m.learner for m in teachers], host.seen)
            for m in teachers:
                m.session.engine.shared = self.shared
            log(f"cohort of {len(members)}: one teacher for {len(teachers)}, "
                f"from teacher step {host.seen} ({host.name})")
        self.guard = None
        stack = members[0].spec.cfg.trainer.stack_students
        self.stacks = StudentStacks(log) if stack else None

    def _plan(self):
        return turns([m.remaining() for m in self.members], [m.seen for m in self.members], self.total_steps)

    def run(self) -> None:
        kill_at = int(os.environ.get(KILL_AT_ENV, "-1"))
        now = time.monotonic()
        for m in self.members:
            m.start_clock(now)
        # Two passes over the (pure, lazy) plan, as in Engine.run: one hands the data its steps (a
        # folder dataset prefetches ahead), the other the turns.
        batches = self.data.train_batches(turn.step for turn in self._plan())
        with PreemptionGuard() as guard:
            self.guard = guard
            try:
                for turn, (t, x, y) in zip(self._plan(), batches):
                    assert t == turn.step, f"data stream out of step: turn {turn} got batch {t}"
                    if turn.teacher:
                        if t == kill_at:
                            os.kill(os.getpid(), signal.SIGKILL)
                        self._teacher_step(turn, x, y)
                    else:
                        self._student_step(turn, x, y)
                    if guard.requested:
                        self._preempt(turn)
            except Preempted:
                raise
            except BaseException as exc:
                requeued = f"preempted (signal {guard.received}); requeued" if guard.requested else None
                for m in self.members:
                    if m.active:
                        m.abort(exc, requeued)
                raise

    def _student_step(self, turn: Turn, x, y) -> None:
        t = turn.step
        targets = {}  # target mode → the teacher's output on batch t, as it is now
        replaying = []
        for i, _ in turn.members:
            member = self.members[i]
            if not member.active:
                continue
            learner = member.learner
            if not member.has_teacher:
                member.step(Event(STUDENT, t), lambda: learner.step(STUDENT, t, x, y))
                continue
            # PeerLearner.student_step, with the teacher's forward taken once for all members
            # replaying batch t now (the teacher is the same for them; the forward changes nothing)
            if learner.target_mode not in targets:
                targets[learner.target_mode] = learner.target(t, x)
            replaying.append((member, targets[learner.target_mode]))
        self._student_updates(Event(STUDENT, t), replaying, x, y)

    def _student_updates(self, ev: Event, members: List[Tuple[Member, Target]], x, y) -> None:
        """Each member's student update on batch ev.step against its target: stacked where
        trainer.stack_students allows it (spaced_kd.cohort.stacked), else one by one."""
        t = ev.step
        updates = {}
        if self.stacks is not None:
            together = [(m, tgt) for m, tgt in members if self.stacks.eligible(m.learner)]
            done = self.stacks.updates([m.learner for m, _ in together], t, x, y, [tgt for _, tgt in together])
            updates = {id(m): u for (m, _), u in zip(together, done or ())}
        for member, tgt in members:
            update = updates.get(id(member)) or (lambda m=member, tgt=tgt: m.learner._student_update(t, x, y, tgt))
            member.step(ev, update)

    def _teacher_step(self, turn: Turn, x, y) -> None:
        if not any(m.active and m.has_teacher for m in self.members):
            return  # nobody needs the teacher any more
        t = turn.step
        passing = [(self.members[i], kind) for i, kind in turn.members if self.members[i].active]
        joint = [m.learner for m, kind in passing if kind == JOINT]
        before = eval_target(joint, t, x)  # eval-mode targets are taken before the update
        target, finite = self.shared.update(t, x, y)
        # the random state a drawing teacher step leaves (the same for every member taking it)
        after = RngState.now(self.device) if any(m.learner.random_forward for m, _ in passing) else None
        joining = []
        for member, kind in passing:
            member.took_teacher_step(after)
            # the teacher's loss is part of each member's own record of finite losses, as when
            # its own learner takes the teacher's step
            member.learner.finite &= finite
            if kind == TEACHER:
                member.step(Event(TEACHER, t), dict)  # the teacher step returns no losses
            else:
                joining.append((member, before if member.learner.target_mode == "eval" else target))
        # PeerLearner.joint_step less the teacher update, which the cohort has just taken
        self._student_updates(Event(JOINT, t), joining, x, y)

    def _preempt(self, turn: Turn) -> None:
        """Checkpoint every member whose state matches the teacher's (all, but those waiting for the
        teacher to reach them after a resume: their own checkpoint is ahead and stays), then stop."""
        for m in self.members:
            if m.active and (not m.has_teacher or m.seen == self.shared.count):
                m.checkpoint()
        self.guard.release()  # submitit's handler requeues the job here (and may end the process)
        error = f"preempted after the cohort's step {turn.step}; checkpoint written"
        for m in self.members:
            if m.active:
                m.interrupt(error)
        raise Preempted(error)


