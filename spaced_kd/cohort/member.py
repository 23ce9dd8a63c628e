"""One member of a cohort: a run directory with its own lock, record, engine and summary.

A member goes through what spaced_kd.run does for a run of its own (check, lock, completed-run
check, build, record, restore, "running" summary, events, final summary) through the same
functions, except that the cohort hands it its events one at a time. It fails alone: an error in
one of its own events is written into its own summary and the other members go on.
"""
from __future__ import annotations

import errno
import itertools
import traceback
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional

import torch

from .. import rundir
from ..config import Config
from ..engine import Engine, NonFiniteLoss
from ..errors import UserError
from ..learners import PeerLearner
from ..run import Session, completed_run, best_effort, describe_error, check_writable, open_session
from ..schedules import TEACHER, Event
from ..tracking import Progress
from .teacher import SharedTeacher

PENDING, RUNNING, COMPLETED, FAILED, REFUSED, UNFINISHED = \
    "pending", "running", "completed", "failed", "refused", "unfinished"


@dataclass
class MemberSpec:
    cfg: Config
    run_dir: Path
    record: Optional[Callable[[], None]] = None  # writes the caller's own files once accepted (.hydra/)
    name: str = ""  # how log lines name the member (default: its run directory)


class RngState:
    """A member's random state (what its checkpoint records): made current for the member's own
    work (`with state:`) and kept, as it is afterwards, for the next time. The members of a cohort
    are built one after another in one process, so without it every member would record the state
    the last one built left."""

    def __init__(self, device: torch.device, cpu: torch.Tensor, cuda: Optional[torch.Tensor]):
        self.device, self.cpu, self.cuda = device, cpu, cuda

    @classmethod
    def now(cls, device: torch.device) -> "RngState":
        return cls(device, torch.get_rng_state(), torch.cuda.get_rng_state(device) if device.type == "cuda" else None)

    def __enter__(self) -> None:
        torch.set_rng_state(self.cpu)
        if self.cuda is not None:
            torch.cuda.set_rng_state(self.cuda, self.device)

    def __exit__(self, *exc) -> None:
        after = RngState.now(self.device)
        self.cpu, self.cuda = after.cpu, after.cuda


class MemberEngine(Engine):
    """A member's engine: evaluations of the shared teacher are computed once for the cohort."""

    shared: Optional[SharedTeacher] = None

    def evaluate_split(self, role: str, split: str) -> Dict:
        if role == TEACHER and self.shared is not None:
            return self.shared.evaluation(split, lambda: super(MemberEngine, self).evaluate_split(role, split))
        return super().evaluate_split(role, split)


class Member:
    def __init__(self, spec: MemberSpec, log: Callable[[str], None] = print):
        self.spec, self.name = spec, spec.name or str(spec.run_dir)
        self.log = lambda line: log(f"[{self.name}] {line}")
        self.status = PENDING
        self.error: Optional[str] = None  # why it failed or was refused, one line
        self.summary: Optional[dict] = None
        self.session: Optional[Session] = None
        self._lock = ExitStack()
        self.rng: Optional[RngState] = None  # its own random state, kept apart from the other members'
        self._started = 0.0

    # ---------------------------------------------------------------- what the walk reads
    @property
    def active(self) -> bool:
        return self.status == RUNNING

    @property
    def learner(self) -> PeerLearner:
        return self.session.setup.learner

    @property
    def has_teacher(self) -> bool:
        return getattr(self.learner, "teacher", None) is not None

    @property
    def seen(self) -> Optional[int]:
        """Teacher updates its state has seen; None without a teacher."""
        return self.session.state.done[TEACHER] if self.has_teacher else None

    def remaining(self) -> Iterator[Event]:
        return itertools.islice(self.session.setup.events(), self.session.state.event_index, None)

    # ---------------------------------------------------------------- life cycle
    def open(self, data=None) -> None:
        """Check, lock and build the run as spaced_kd.run.run does; a refusal is this member's alone."""
        cfg, run_dir = self.spec.cfg, Path(self.spec.run_dir)
        try:
            check_writable(run_dir)
            self._lock.enter_context(rundir.RunLock(run_dir))
            done = completed_run(cfg, run_dir)
            if done is not None:
                self.log(f"{run_dir} is a completed run of this configuration; not retrained")
                self.status, self.summary = COMPLETED, done
                self._lock.close()
                return
            self.session = open_session(cfg, run_dir, self.log, self.spec.record, data=data, engine_cls=MemberEngine)
            self.rng = RngState.now(self.session.setup.device)  # as its run alone has it after building
            # one progress bar per member would draw over the others; the evaluation lines stay
            self.session.engine.progress = Progress(False, 1, 1)
            self.session.tracker.write_summary(self.session.summary("running"))
        except UserError as exc:
            self._lock.close()
            self.status, self.error = REFUSED, str(exc)
            return
        except OSError as exc:
            self._lock.close()
            self.status, self.error = (REFUSED, f"no space left on device writing {exc.filename or run_dir}") \
                if exc.errno == errno.ENOSPC else (FAILED, f"{type(exc).__name__}: {exc}")
            return
        except Exception as exc:
            traceback.print_exc()
            self._lock.close()
            self.status, self.error = FAILED, f"{type(exc).__name__}: {exc}"
            return
        self.status = RUNNING

    def start_clock(self, now: float) -> None:
        self._started = now - self.session.state.wall_s

    def step(self, ev: Event, execute: Callable[[], dict]) -> None:
        """Execute one of its events (`execute` returns the losses), then the engine's bookkeeping
        around it; after its last event, its final evaluations and summary."""
        session = self.session
        try:
            with self.rng:
                losses = execute()
                session.engine.after_event(ev, losses, session.state, self._started)
        except Exception as exc:
            self._failed(exc)
            return
        if session.state.event_index == session.setup.n_events:
            self.finish()

    def took_teacher_step(self, after: Optional["RngState"]) -> None:
        """The shared teacher has just taken a step that is this member's own (teacher(t), joint(t)).
        A forward that draws reseeds itself, so the random state after it is the same for every
        member (`after`); a forward that draws nothing leaves the member's own as it was."""
        if self.learner.random_forward:
            self.rng = after

    def finish(self) -> None:
        session = self.session
        try:
            with self.rng:
                session.engine.finish(session.state, self._started)
            session.tracker.close(failed=False)
            self.summary = session.complete(self.log)
        except Exception as exc:
            self._failed(exc)
            return
        self.status = COMPLETED
        self._lock.close()

    def _failed(self, exc: Exception) -> None:
        """An error in its own step: written into its own summary, as spaced_kd.run._train writes it."""
        if isinstance(exc, NonFiniteLoss):
            self._stop(FAILED, str(exc))
        else:
            traceback.print_exc()
            self._stop(FAILED, describe_error(exc), report=f"{type(exc).__name__}: {exc}")

    def checkpoint(self) -> None:
        """A checkpoint now (the engine's: refused for non-finite weights, which fails the member)."""
        try:
            with self.rng:
                self.session.engine._checkpoint(self.session.state)
        except Exception as exc:
            self._failed(exc)

    def interrupt(self, error: str) -> None:
        """Stopped from outside (preemption): the summary stays "running" and says why."""
        self._stop(UNFINISHED, error, status="running")

    def abort(self, exc: BaseException, requeued: Optional[str]) -> None:
        """The cohort stopped on an error outside this member's own events."""
        if requeued is not None:
            self._stop(UNFINISHED, requeued, status="running")
        else:
            self._stop(FAILED, describe_error(exc), report=f"{type(exc).__name__}: {exc}")

    def _stop(self, outcome: str, error: str, status: Optional[str] = None, report: Optional[str] = None) -> None:
        # what spaced_kd.run._train writes when a run of its own stops the same way
        self.summary = self.session.summary(status or outcome, error=error)
        best_effort(self.session.tracker.write_summary, self.summary)
        self.session.tracker.close(failed=True)
        self.status, self.error = outcome, report or error
        self._lock.close()
