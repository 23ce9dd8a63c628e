"""Generalisation probes on a trained run directory: flatness, corruptions, BIM, Hessian trace.

    from spaced_kd.probes import run_probes
    run_probes("outputs/…/run", ["flatness", "bim"])        # → merged into RUN/probes.json

Each probe is one file that registers itself in `PROBES` (spaced_kd/probes/base.py) with a settings
check (run before any network is loaded) and a function (context, settings) → (result, info, console
line); runner.py imports them all, loads the run, runs the probes and merges each result into
probes.json through spaced_kd.rundir. The command line is `python evaluate.py run_dir=RUN probe=…`
(cli.py; every setting in config.py).

This package's own names are the light ones (settings, no torch), so that evaluate.py starts,
answers --help and checks its settings without loading torch; `run_probes` imports the runner
when it is called.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from .config import ALL_PROBES, EvalConfig, load_eval_config, probe_names

__all__ = ["ALL_PROBES", "EvalConfig", "load_eval_config", "probe_names", "run_probes"]


def run_probes(run_dir: str | Path, names: Iterable[str] | str | None = None, cfg: Any = None, *,
               echo: Optional[Callable[[str], None]] = print) -> dict:
    """spaced_kd.probes.runner.run_probes (see there), imported on the first call."""
    from .runner import run_probes as run

    return run(run_dir, names, cfg, echo=echo)
