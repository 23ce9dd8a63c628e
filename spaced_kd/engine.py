"""Executes a schedule's events with a learner; knows nothing about which schedule it runs.

Around the events it evaluates each role when that role finishes an epoch, checkpoints every
`checkpoint_every` events and at each evaluation, stops cleanly on a preemption signal and
refuses to save weights once any loss has been non-finite.
"""
from __future__ import annotations

import itertools
import math
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, Optional, Tuple


from .data import Data
from .learners import Learner
from .preemption import PreemptionGuard
from .schedules import JOINT, STUDENT, TEACHER, Event
from .tracking import Progress, Tracker

# Test hook: SIGKILL ourselves just before executing this event index (crash-resume tests).
KILL_AT_ENV = "SPACED_KD_KILL_AT_EVENT"


class NonFiniteLoss(RuntimeError):
    pass


class Preempted(RuntimeError):
    pass


@dataclass
class EngineState:
    event_index: int = 0  # events executed so far
    done: Dict[str, int] = field(default_factory=lambda: {TEACHER: 0, STUDENT: 0})  # steps per role
    evaluated: Dict[str, int] = field(default_factory=dict)  # role → step count at its last evaluation
    wall_s: float = 0.0

    def to_dict(self) -> dict:
        return {"event_index": self.event_index, "done": dict(self.done),
                "evaluated": dict(self.evaluated), "wall_s": self.wall_s}

    @classmethod
    def from_dict(cls, d: dict) -> "EngineState":
        return cls(int(d["event_index"]), dict(d["done"]), dict(d["evaluated"]), float(d["wall_s"]))


ROLES_OF = {TEACHER: (TEACHER,), STUDENT: (STUDENT,), JOINT: (TEACHER, STUDENT)}


@dataclass
class Engine:
    events: Callable[[], Iterator[Event]]  # a fresh pass over the schedule (generators are lazy:
    # replay holds two integers per block, not the block)
    learner: Learner
    data: Data
    tracker: Tracker
    progress: Progress
    save_checkpoint: Callable[[EngineState], None]
    steps_per_epoch: int
    total_steps: int
    eval_every: int = 1
    eval_batch_size: int = 512
    eval_splits: tuple[str, ...] = ("test",)
    checkpoint_every: int = 200
    guard: Optional[PreemptionGuard] = None
    log: Callable[[str], None] = print

    def run(self, state: EngineState) -> EngineState:
        started = time.monotonic() - state.wall_s
        kill_at = int(os.environ.get(KILL_AT_ENV, "-1"))
        self.progress.start_epoch(state.done[STUDENT] // self.steps_per_epoch + 1)
        skip = state.event_index
        # Two passes over the (lazy, cheap) schedule: one hands the data its steps, the other the
        # events. A folder dataset's DataLoader prefetches batches ahead of the event being run, so
        # it must draw its steps from its own iterator; zip keeps the two in lockstep.
        pending = itertools.islice(self.events(), skip, None)
        batches = self.data.train_batches(ev.step for ev in itertools.islice(self.events(), skip, None))
        for ev, (t, x, y) in zip(pending, batches):
            assert t == ev.step, f"data stream out of step: event {ev} got batch {t}"
            if state.event_index == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            losses = self.learner.run_event(ev, x, y)
            self.after_event(ev, losses, state, started)
            if self.guard is not None and self.guard.requested:
                self._checkpoint(state)
                self.progress.close()
                self.guard.release()
                raise Preempted(f"preempted after step {ev.step}; checkpoint written")
        return self.finish(state, started)

    def after_event(self, ev: Event, losses: Dict, state: EngineState, started: float) -> None:
        """Everything around one executed event: counts, each role's evaluation at the end of its
        epoch, checkpoints. `started` is the monotonic time the run's wall clock counts from.
        (spaced_kd.cohort executes the events of several runs itself and calls this for each.)"""
        state.event_index += 1
        self.progress.advance(losses)
        epoch_ends = []
        for role in ev.roles or ROLES_OF[ev.kind]:
            state.done[role] = ev.step + 1
            if role in self.learner.eval_roles and self._epoch_end(ev.step):
                epoch_ends.append(role)
        state.wall_s = time.monotonic() - started
        if epoch_ends:
            for role in epoch_ends:
                self._evaluate(role, state)
            if STUDENT in epoch_ends:
                total_epochs = math.ceil(self.total_steps / self.steps_per_epoch)
                self.progress.start_epoch(min(total_epochs, state.done[STUDENT] // self.steps_per_epoch + 1))
            self._checkpoint(state)
        elif state.event_index % self.checkpoint_every == 0:
            self._checkpoint(state)

    def finish(self, state: EngineState, started: float) -> EngineState:
        """After the last event: the final evaluations and checkpoint."""
        self.progress.close()
        # Roles whose last update came after their last evaluation (a dropped final block, a
        # fractional last epoch) are evaluated once more so the summary reflects final weights.
        final = [r for r in self.learner.eval_roles if state.evaluated.get(r, -1) < state.done.get(r, 0)]
        state.wall_s = time.monotonic() - started
        for role in final:
            self._evaluate(role, state, force=True)
        self._checkpoint(state)
        return state

    def _epoch_end(self, t: int) -> bool:
        return (t + 1) % self.steps_per_epoch == 0 or t + 1 == self.total_steps

    def _evaluate(self, role: str, state: EngineState, force: bool = False) -> None:
        done = state.done[role]
        epoch = math.ceil(done / self.steps_per_epoch)
        last = done == self.total_steps
        if not (force or last or epoch % self.eval_every == 0):
            return
        self._check_finite(state)
        shown = {}
        for split in self.eval_splits:
            results = self.evaluate_split(role, split)
            for name, (acc, loss) in results.items():
                self.tracker.log_eval(epoch=epoch, step=done, role=name, split=split, acc=acc, loss=loss,
                                      wall_s=state.wall_s)
                if split == "test":
                    shown[name] = acc
        state.evaluated[role] = done
        self.progress.note(**{f"{k}_acc": v for k, v in shown.items()})
        text = "  ".join(f"{k} {v:.2f}%" for k, v in shown.items())
        self.log(f"epoch {epoch} [{role}, step {done}] test acc: {text}")

    def evaluate_split(self, role: str, split: str) -> Dict[str, Tuple[float, float]]:
        """One role's (accuracy, loss) per reported name on one split (a cohort's members answer
        the shared teacher's from one evaluation)."""
        return self.learner.evaluate(role, self.data.eval_batches(split, self.eval_batch_size))

    def _check_finite(self, state: EngineState) -> None:
        if not self.learner.all_finite():
            raise NonFiniteLoss(
                f"loss or weights became non-finite before event {state.event_index}; training stopped, "
                f"the last checkpoint (written before it) is kept"
            )

    def _checkpoint(self, state: EngineState) -> None:
        self._check_finite(state)
        self.save_checkpoint(state)
