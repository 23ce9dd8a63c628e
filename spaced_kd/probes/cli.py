"""The Hydra task behind evaluate.py: probes on one run directory, errors reported as one line."""
from __future__ import annotations

import sys
import traceback

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from ..errors import UserError

# Run directories of the last sweep in this process whose probes failed: {run_dir: reason}.
FAILED: dict[str, str] = {}


def list_overrides(argv: list[str]) -> list[str]:
    """`probe=a,b` on the command line means the list [a,b] (not a sweep over probes, even with -m):
    rewritten before Hydra parses it. Quoted, bracketed or function values are left alone."""
    out = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key in ("probe", "+probe", "++probe") and "," in value and not value.startswith(("[", "'", '"')) \
                and "(" not in value:
            arg = f"{key}=[{value}]"
        out.append(arg)
    return out


def evaluate_task(cfg: DictConfig) -> None:
    from . import run_probes

    in_sweep = HydraConfig.get().mode == RunMode.MULTIRUN
    run_dir = None if OmegaConf.is_missing(cfg, "run_dir") else cfg.run_dir
    try:
        if run_dir is None:
            raise UserError("run_dir is required: python evaluate.py run_dir=PATH [probe=flatness,corruptions,bim,hessian]")
        run_probes(run_dir, None, cfg)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        if not in_sweep:
            sys.exit(2)
        FAILED[str(run_dir)] = str(exc)
    except Exception as exc:
        if not in_sweep:
            raise
        traceback.print_exc()
        FAILED[str(run_dir)] = f"{type(exc).__name__}: {exc}"
