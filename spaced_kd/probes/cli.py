"""The Hydra task behind evaluate.py: probes on run directories, errors reported as one line."""
from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from ..errors import UserError

# Run directories of this process whose probes failed (in a sweep or under a root): {run_dir: reason}.
FAILED: dict[str, str] = {}


def _quote(path: str) -> str:
    return f'"{path}"' if "'" in path else f"'{path}'"


def list_overrides(argv: list[str]) -> list[str]:
    """Command-line conveniences, applied before Hydra parses the overrides:

    - `probe=a,b` means the list [a,b] (not a sweep over probes, even with -m);
    - `run_dir=…` values are quoted, so paths from train.py sweeps (`kd=spaced/seed=0`, with '=')
      parse: an existing path is taken whole (commas included), otherwise the value is split at
      commas into a sweep (`-m run_dir=A,B`).
    Values already quoted, bracketed or written as Hydra functions are left alone."""
    out = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        plain = sep and value and not value.startswith(("[", "'", '"')) and "(" not in value
        if plain and key in ("probe", "+probe", "++probe") and "," in value:
            arg = f"{key}=[{value}]"
        elif plain and key in ("run_dir", "+run_dir", "++run_dir"):
            parts = [value] if os.path.exists(value) else value.split(",")
            arg = f"{key}={','.join(_quote(p) for p in parts)}"
        out.append(arg)
    return out


def run_dirs(path: str | Path) -> list[Path]:
    """A run directory → [it]; a folder holding runs (a sweep root) → every run beneath it, sorted."""
    path = Path(path)
    if (path / ".hydra" / "config.yaml").exists() or not path.is_dir():
        return [path]
    runs = sorted(p.parent.parent for p in path.rglob(".hydra/config.yaml") if (p.parent.parent / "checkpoints").is_dir())
    return runs or [path]


def evaluate_task(cfg: DictConfig) -> None:
    from . import check_settings, load_eval_config, probe_names, run_probes

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
