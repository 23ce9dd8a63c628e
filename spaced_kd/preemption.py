"""Preemption: turn SLURM's warning signal into "checkpoint at the next safe point, then go".

A signal may arrive in the middle of an optimiser step, where the state is not worth saving.
The handler only records it; the engine polls `requested` between two events, writes a
checkpoint, then calls `release()`, which hands the signal to whoever handled it before us
(submitit's handler requeues the job; the default handler ends the process).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
from types import FrameType
from typing import Any, Optional

SIGNALS = tuple(s for s in (getattr(signal, "SIGUSR2", None), signal.SIGTERM) if s is not None)


class PreemptionGuard:
    def __init__(self, signals: tuple[int, ...] = SIGNALS):
        self.signals = signals
        self.previous: dict[int, Any] = {}
        self.received: Optional[int] = None

    def __enter__(self) -> "PreemptionGuard":
        for sig in self.signals:
            try:
                self.previous[sig] = signal.signal(sig, self._record)
            except ValueError:  # not the main thread: leave signals to the caller
                pass
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous.clear()

    def _record(self, signum: int, frame: Optional[FrameType]) -> None:
        self.received = signum

    @property
    def requested(self) -> bool:
        return self.received is not None

    def release(self) -> None:
        """Restore the earlier handlers and deliver the recorded signal to them."""
        sig = self.received
        self.__exit__()
        if sig is not None:
            os.kill(os.getpid(), sig)


def slurm_requeued() -> bool:
    """True when SLURM has requeued this job (`scontrol requeue`, preemption with requeue).

    A requeue and a cancel both arrive as SIGTERM; only a requeue raises the job's restart count
    above the count this attempt started with ($SLURM_RESTART_COUNT, unset on the first run).
    """
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return False
    try:
        out = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    m = re.search(r"\bRestarts=(\d+)", out)
    return bool(m) and int(m.group(1)) > int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0)
