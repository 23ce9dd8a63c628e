"""The Hydra task behind evaluate.py: probes on run directories, errors reported as one line."""
from __future__ import annotations

import sys
import traceback
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from .. import rundir
from ..errors import UserError

# Run directories of this process whose probes failed (in a sweep or under a root): {run_dir: reason}.
FAILED: dict[str, str] = {}


def list_overrides(argv: list[str]) -> list[str]:
    """`probe=a,b` means the list [a,b], not a sweep over probes (even with -m): a sweep would run
    each probe in its own process and load the run once per probe. Applied before Hydra parses
    the overrides; values already bracketed, quoted or written as Hydra functions are left alone."""
    out = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        plain = sep and value and not value.startswith(("[", "'", '"')) and "(" not in value
        if plain and key in ("probe", "+probe", "++probe") and "," in value:
            arg = f"{key}=[{value}]"
        out.append(arg)
    return out


def run_dirs(path: str | Path) -> list[Path]:
    """The runs `path` stands for: itself if it is a run directory, else every run beneath it
    that has a checkpoint (an untrained or failed-at-start run has nothing to probe)."""
    try:
        found = [run for _, run in rundir.find_runs([path])]
    except FileNotFoundError:
        raise UserError(f"{path} does not exist (give a run directory or a folder of runs)") from None
    if found == [Path(path).resolve()]:
        return found  # a run itself: restore says what it lacks, if anything
    runs = [run for run in found if (run / rundir.CHECKPOINT).is_file()]
    if not runs:
        raise UserError(f"no trained run under {path} (no run directory with {rundir.CHECKPOINT})")
    return runs


def evaluate_task(cfg: DictConfig) -> None:
    from .config import load_eval_config, probe_names
    from .runner import check_settings, run_probes  # torch: only once a run is to be probed

    in_sweep = HydraConfig.get().mode == RunMode.MULTIRUN
    run_dir = None if OmegaConf.is_missing(cfg, "run_dir") else cfg.run_dir
    try:
        if run_dir is None:
            raise UserError("run_dir is required: python evaluate.py run_dir=PATH [probe=flatness,corruptions,bim,hessian]")
        conf = load_eval_config(cfg)
        check_settings(probe_names(conf.probe), conf)  # bad settings: one line, before any run is loaded
        runs = run_dirs(run_dir)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        if not in_sweep:
            sys.exit(2)
        FAILED[str(run_dir)] = str(exc)
        return
    alone = len(runs) == 1 and not in_sweep
    if len(runs) > 1:
        print(f"{len(runs)} runs under {run_dir}", flush=True)
    for run in runs:
        try:
            run_probes(run, None, conf)
        except UserError as exc:
            said = str(exc) if alone or str(run) in str(exc) else f"{run}: {exc}"
            print(f"error: {said}", file=sys.stderr, flush=True)
            if alone:
                sys.exit(2)
            FAILED[str(run)] = str(exc)
        except Exception as exc:
            if alone:
                raise
            traceback.print_exc()
            FAILED[str(run)] = f"{type(exc).__name__}: {exc}"
