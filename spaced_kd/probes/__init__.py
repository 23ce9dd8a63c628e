"""Generalisation probes on a trained run directory: flatness, corruptions, BIM, Hessian trace.

    from spaced_kd.probes import run_probes
    run_probes("outputs/…/run", ["flatness", "bim"])        # → merged into RUN/probes.json

Each probe is one file that registers itself in `PROBES` (spaced_kd/probes/base.py) with a settings
check (run before any network is loaded) and a function (context, settings) → (result, info, console
line); `run_probes` (runner.py) loads the run, runs the probes and merges each result into
probes.json. The command line is `python evaluate.py run_dir=RUN probe=…` (conf/evaluate.yaml).

Names are imported on first use, so `evaluate.py --help` and `--cfg` don't pay for torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "PROBES": "base", "CORRUPTIONS": "base", "Context": "base", "Probe": "base", "evaluate": "base",
    "ALL_PROBES": "config", "EvalConfig": "config", "load_eval_config": "config", "probe_names": "config",
    "run_probes": "runner", "check_settings": "runner", "merge_probes": "runner", "probes_file": "runner",
    "read_probes": "runner",
}
__all__ = ["ALL_PROBES", "CORRUPTIONS", "Context", "EvalConfig", "PROBES", "Probe", "check_settings", "evaluate",
           "load_eval_config", "merge_probes", "probe_names", "probes_file", "read_probes", "run_probes"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    importlib.import_module(f"{__name__}.runner")  # registers every probe
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
