"""The probes runner: load a run, run the chosen probes, merge each result into probes.json."""
from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from . import bim, corruptions, flatness, hessian  # noqa: F401  (registers the probes)
from ..atomic import write_json_atomic
from .base import PROBES, Context
from .config import EvalConfig, load_eval_config, probe_names


def probes_file(run_dir: str | Path, role: str = "student") -> Path:
    """RUN/probes.json for the student (the file analysis reads); RUN/probes-<role>.json otherwise."""
    return Path(run_dir) / ("probes.json" if role == "student" else f"probes-{role}.json")


def read_probes(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        print(f"warning: {path} is unreadable; it is replaced", file=sys.stderr)
        return {}
    return data if isinstance(data, dict) else {}


@contextlib.contextmanager
def _locked(folder: Path):
    """An exclusive lock on the run directory itself (no lock file), where the OS offers flock."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats → null (strict JSON readers choke on NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def merge_probes(path: Path, results: dict, meta: Optional[dict] = None) -> dict:
    """Merge `results` (top-level keys replaced) and `meta` (into the file's "meta", per probe) into
    the JSON file at `path`, atomically and under a lock, so several evaluations of one run (a
    sweep over probes) never lose each other's results."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.parent):
        merged = read_probes(path)
        merged.update(_clean(results))
        if meta:
            old = merged.get("meta") if isinstance(merged.get("meta"), dict) else {}
            merged["meta"] = {**old, **_clean(meta)}
        write_json_atomic(path, merged, indent=1)
    return merged


def check_settings(names: list[str], cfg: EvalConfig) -> None:
    for name in names:
        PROBES.get(name).check(getattr(cfg, name))


def run_probes(run_dir: str | Path, names: Iterable[str] | str | None = None, cfg: Any = None, *,
               echo: Optional[Callable[[str], None]] = print) -> dict:
    """Run the probes `names` (default: cfg.probe, i.e. all four) on the run's trained network and
    merge each result into probes.json as soon as it is done (the result under the probe's name,
    how it was made under "meta"). Returns {probe name: result}.

    `cfg`: an EvalConfig, Hydra's composed evaluate config, a dict of overrides or None (defaults).
    Bad input (unknown probe, bad setting, no checkpoint) raises UserError before any probe runs.
    """
    from ..restore import load_run, network
    from .pixels import pixel_model

    conf = load_eval_config(cfg)
    chosen = probe_names(conf.probe if names is None else names)
    check_settings(chosen, conf)
    run_dir = Path(run_dir)
    t_load = time.perf_counter()
    setup = load_run(run_dir, device=conf.device)
    if conf.threads is not None:
        import torch

        torch.set_num_threads(conf.threads)
    model = pixel_model(setup, network(setup, conf.role))
    ctx = Context(run_dir, setup, model, setup.device, conf.batch_size)
    out_file = probes_file(run_dir, conf.role)
    say = echo or (lambda _line: None)
    say(f"probes on {run_dir} ({conf.role}, {setup.device}; loaded in {time.perf_counter() - t_load:.1f}s)")
    results: dict = {}
    for name in chosen:
        t0 = time.perf_counter()
        result, info, line = PROBES.get(name).run(ctx, getattr(conf, name))
        wall = time.perf_counter() - t0
        meta = {"role": conf.role, "device": str(setup.device), "wall_s": round(wall, 3),
                "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "settings": asdict(getattr(conf, name)), **info}
        merge_probes(out_file, {name: result}, {name: meta})
        results[name] = result
        say(f"{name:<12} {line}  [{wall:.1f}s]")
    say(f"probes written to {out_file}")
    return results
