"""The probes runner: load a run, run the chosen probes, merge each result into probes.json.

A result is only as good as the checkpoint it was measured on, so each probe's entry under
probes.json["meta"] says which one: `run` = {checkpoint (a hash of the file), step, teacher_steps,
events_done, events, status}. A run whose training has not completed is refused unless
`allow_unfinished=true`; results in probes.json measured on another checkpoint are named as stale.
"""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from .. import rundir
from ..errors import UserError
from . import bim, corruptions, flatness, hessian  # noqa: F401  (registers the probes)
from .base import PROBES, Context
from .config import EvalConfig, load_eval_config, probe_names

HOW_ANYWAY = "set allow_unfinished=true to probe its last checkpoint anyway"


def check_settings(names: list[str], cfg: EvalConfig) -> None:
    for name in names:
        PROBES.get(name).check(getattr(cfg, name))


def _refuse_unfinished_status(run_dir: Path, status: Optional[str]) -> None:
    if status == "completed":
        return
    said = f"its summary says {status!r}" if status else f"it has no {rundir.SUMMARY}"
    raise UserError(f"{run_dir} has not finished training ({said}); {HOW_ANYWAY}")


def _progress(snap, n_events: int) -> dict:
    """Where the checkpoint is in the run: what probes.json records with each result."""
    engine = snap.engine or {}
    done = engine.get("done") if isinstance(engine.get("done"), dict) else {}
    return {"checkpoint": snap.checkpoint_id, "step": done.get("student"), "teacher_steps": done.get("teacher"),
            "events_done": engine.get("event_index"), "events": n_events, "status": snap.status}


def stale(probes: dict, checkpoint_id: str) -> list[str]:
    """Probes in a probes.json dict whose result was not measured on the checkpoint `checkpoint_id`."""
    meta = probes.get("meta") if isinstance(probes.get("meta"), dict) else {}
    out = []
    for name in probes:
        if name == "meta":
            continue
        info = meta.get(name) if isinstance(meta.get(name), dict) else {}
        run = info.get("run") if isinstance(info.get("run"), dict) else {}
        if run.get("checkpoint") != checkpoint_id:
            out.append(name)
    return out


def run_probes(run_dir: str | Path, names: Iterable[str] | str | None = None, cfg: Any = None, *,
               echo: Optional[Callable[[str], None]] = print) -> dict:
    """Run the probes `names` (default: cfg.probe, i.e. all four) on the run's trained network and
    merge each result into probes.json as soon as it is done (the result under the probe's name,
    how it was made under "meta"). Returns {probe name: result}.

    `cfg`: an EvalConfig, Hydra's composed evaluate config, a dict of overrides or None (defaults).
    Bad input (unknown probe, bad setting, no checkpoint, an unfinished run) raises UserError before
    any probe runs.
    """
    from ..restore import load_run, network, snapshot
    from .pixels import pixel_model

    conf = load_eval_config(cfg)
    chosen = probe_names(conf.probe if names is None else names)
    check_settings(chosen, conf)
    run_dir = Path(run_dir)
    t_load = time.perf_counter()
    snap = snapshot(run_dir)
    if not conf.allow_unfinished:
        _refuse_unfinished_status(run_dir, snap.status)
    setup = load_run(run_dir, device=conf.device, snap=snap)
    progress = _progress(snap, setup.n_events)
    if not conf.allow_unfinished and progress["events_done"] != setup.n_events:
        at = "records no progress" if progress["events_done"] is None else \
            f"is at event {progress['events_done']} of {setup.n_events}"
        raise UserError(f"{run_dir} has not finished training (its checkpoint {at}); {HOW_ANYWAY}")
    if conf.threads is not None:
        import torch

        torch.set_num_threads(conf.threads)
    model = pixel_model(setup, network(setup, conf.role))
    ctx = Context(run_dir, setup, model, setup.device, conf.batch_size)
    out_file = rundir.probes_path(run_dir, conf.role)
    say = echo or (lambda _line: None)
    say(f"probes on {run_dir} ({conf.role}, {setup.device}, student step {progress['step']}, "
        f"{progress['status'] or 'no summary'}; loaded in {time.perf_counter() - t_load:.1f}s)")
    results: dict = {}
    merged: dict = {}
    for name in chosen:
        t0 = time.perf_counter()
        result, info, line = PROBES.get(name).run(ctx, getattr(conf, name))
        wall = time.perf_counter() - t0
        meta = {"role": conf.role, "device": str(setup.device), "wall_s": round(wall, 3),
                "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "settings": asdict(getattr(conf, name)),
                "run": progress, **info}
        merged = rundir.merge_probes(run_dir, {name: result}, {name: meta}, role=conf.role)
        results[name] = result
        say(f"{name:<12} {line}  [{wall:.1f}s]")
    say(f"probes written to {out_file}")
    old = stale(merged, snap.checkpoint_id)
    if old:
        say(f"note: {', '.join(old)} in {out_file.name} were measured on another checkpoint; "
            f"rerun probe={','.join(old)} to bring them up to date")
    return results
