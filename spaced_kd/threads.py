"""CPU threads that survive a busy machine.

torch's OpenMP threads spin while they wait for each other. On a quiet machine that is what makes
them fast; on one whose cores are taken by other work the spinning steals the time the work needs
(measured on a 2-core machine, `benchmarks/cpu_threads.py`: all threads spinning took 1.6–1.8× the
best setting beside one or two busy processes, while sleeping threads took 1.0–1.1× there but
1.3× on the quiet machine). So the wait policy is chosen from the load when a run starts: threads
spin on a quiet machine and sleep (OMP_WAIT_POLICY=PASSIVE) when other processes keep cores busy.
The thread count stays torch's (all cores, or `trainer.threads`): under contention more threads
get a larger share of the machine. Nothing is changed when the user set any of these variables.

OpenMP reads its variables when torch loads, so `choose_wait_policy` runs first thing in train.py
and evaluate.py.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Optional

USER_CHOICES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "OMP_NUM_THREADS")


def _cpu_times(stat: Path = Path("/proc/stat")) -> Optional[tuple[int, int]]:
    """(idle, total) jiffies of all CPUs together, or None where /proc/stat cannot be read."""
    try:
        fields = stat.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:] if v.isdigit()]
    if len(values) < 4:
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return idle, sum(values[:8])


def idle_cores(sample_s: float = 0.15, read: Callable[[], Optional[tuple[int, int]]] = _cpu_times,
               cores: Optional[int] = None) -> Optional[float]:
    """How many cores were idle over a short sample; None where it cannot be measured."""
    a = read()
    time.sleep(sample_s)
    b = read()
    if a is None or b is None or b[1] <= a[1]:
        return None
    return (cores or os.cpu_count() or 1) * (b[0] - a[0]) / (b[1] - a[1])


def choose_wait_policy(sample_s: float = 0.15, measure: Callable[[float], Optional[float]] = idle_cores) -> Optional[str]:
    """Before torch loads: OMP_WAIT_POLICY=PASSIVE when other work keeps a core busy. Returns the
    policy it set, or None (the user chose, the machine is quiet, or the load is unknown)."""
    if any(os.environ.get(k) for k in USER_CHOICES):
        return None
    idle = measure(sample_s)
    cores = os.cpu_count() or 1
    if idle is None or idle >= cores - 0.5:
        return None
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return "PASSIVE"
