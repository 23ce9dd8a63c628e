"""One training run inside its run directory: check → build → resume → train → summarise.

The run directory is the contract with analysis (DESIGN.md): metrics.jsonl, summary.json
(written last, atomically) and checkpoints/last.pt. Bad input is detected before anything in
the directory is written, and a completed summary is never overwritten by a failure.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import torch
from omegaconf import DictConfig, OmegaConf

from . import checkpoint
from .build import build
from .config import Config, load_config
from .engine import Engine, EngineState, NonFiniteLoss, Preempted
from .errors import UserError
from .preemption import PreemptionGuard
from .atomic import write_json_atomic
from .tracking import Progress, Tracker, read_summary

CHECKPOINT = Path("checkpoints") / "last.pt"

# Settings that change how a run is watched, not what it computes: a resume may change them.
_NOT_IDENTITY = {("trainer", "progress"), ("trainer", "checkpoint_every"), ("trainer", "resume"),
                 ("trainer", "eval_batch_size"), ("trainer", "compile"), ("trainer", "threads"), ("logger",), ("probes",), ("tags",)}


def fingerprint(cfg: Config) -> str:
    d = asdict(cfg)
    for path in _NOT_IDENTITY:
        node = d
        for key in path[:-1]:
            node = node[key]
        node.pop(path[-1], None)
    return hashlib.sha1(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def check_writable(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"output directory {run_dir} is not writable ({exc.strerror or exc}); "
                        f"choose another with hydra.run.dir=PATH") from None


def run(raw_cfg: DictConfig | dict, run_dir: Path, log=print) -> dict:
    """Train one run; returns its summary. Raises UserError (bad input) or the training error."""
    cfg = load_config(raw_cfg)
    check_writable(run_dir)
    ckpt_path = run_dir / CHECKPOINT
    resumed = checkpoint.load(ckpt_path) if cfg.trainer.resume else None
    if resumed is not None and resumed.get("fingerprint") != fingerprint(cfg):
        raise UserError(f"{run_dir} holds a checkpoint of a different configuration; use another "
                        f"output directory or set trainer.resume=false to start over")
    setup = build(cfg)
    resolved = json.loads(json.dumps(asdict(cfg), default=str))
    tracker = Tracker(run_dir, cfg.logger, resolved, run_name=run_dir.name)
    state = EngineState()
    if resumed is not None:
        setup.learner.load_state_dict(resumed["learner"])
        tracker.load_state_dict(resumed["tracker"])
        state = EngineState.from_dict(resumed["engine"])
        torch.set_rng_state(resumed["rng"]["torch"])
        if setup.device.type == "cuda" and resumed["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state(resumed["rng"]["cuda"], setup.device)
        log(f"resuming {run_dir} from event {state.event_index}/{setup.n_events} "
            f"(student step {state.done['student']})")
    else:
        tracker.reset()
    resumed_from = state.done["student"] if resumed is not None else None

    def summary(status: str, error: Optional[str] = None) -> dict:
        s = tracker.summary(
            status=status, error=error, seed=cfg.seed, config=resolved,
            steps=state.done["student"], teacher_steps=state.done["teacher"],
            steps_per_epoch=setup.steps_per_epoch, total_steps=setup.plan.total_steps,
            interval_steps=setup.plan.interval if cfg.kd.name in ("spaced", "ahead") else None,
            events=setup.n_events, events_done=state.event_index,
            resumed_from_step=resumed_from, wall_s=round(state.wall_s, 3), device=str(setup.device),
        )
        _alias_self_metrics(s["metrics"])
        return s

    def save(st: EngineState) -> None:
        rng = {"torch": torch.get_rng_state(),
               "cuda": torch.cuda.get_rng_state(setup.device) if setup.device.type == "cuda" else None}
        checkpoint.save(ckpt_path, {"fingerprint": fingerprint(cfg), "learner": setup.learner.state_dict(),
                                    "tracker": tracker.state_dict(), "engine": st.to_dict(), "rng": rng})

    engine = Engine(
        events=setup.events, learner=setup.learner, data=setup.data, tracker=tracker,
        progress=Progress(cfg.trainer.progress, math.ceil(setup.plan.total_steps / setup.steps_per_epoch),
                          max(1, round(setup.n_events * setup.steps_per_epoch / setup.plan.total_steps))),
        save_checkpoint=save, steps_per_epoch=setup.steps_per_epoch, total_steps=setup.plan.total_steps,
        eval_every=cfg.trainer.eval_every, eval_batch_size=cfg.trainer.eval_batch_size,
        eval_splits=tuple(s for s in setup.data.eval_splits if s != "train" or cfg.trainer.eval_train),
        checkpoint_every=cfg.trainer.checkpoint_every, log=log,
    )
    tracker.write_summary(summary("running"))
    failed = True
    try:
        with PreemptionGuard() as guard:
            engine.guard = guard
            state = engine.run(state)
        failed = False
    except Preempted as exc:
        tracker.write_summary(summary("running", error=str(exc)))
        raise
    except NonFiniteLoss as exc:
        tracker.write_summary(summary("failed", error=str(exc)))
        raise UserError(str(exc)) from None
    except BaseException as exc:
        if engine.guard is not None and engine.guard.requested:
            # submitit's handler requeued the job and exits: the next attempt resumes from here
            tracker.write_summary(summary("running", error=f"preempted (signal {engine.guard.received}); requeued"))
        else:
            tracker.write_summary(summary("failed", error=f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        tracker.close(failed=failed)
    final = summary("completed")
    tracker.write_summary(final)
    return final


def _alias_self_metrics(metrics: dict) -> None:
    """Self KD: the network's own (deepest) head is the student the paper reports."""
    heads = sorted((k for k in metrics if k.startswith("head") and k.endswith("_acc") and "best" not in k
                    and "_val" not in k), key=lambda k: int(k[4:-4]))
    if heads and "student_acc" not in metrics:
        deepest = heads[-1][:-4]
        metrics["student_acc"] = metrics[f"{deepest}_acc"]
        metrics["student_best_acc"] = metrics[f"{deepest}_best_acc"]


def record_failure(run_dir: Path, raw_cfg, error: str) -> None:
    """A run that failed before training: say so in summary.json, unless a finished run is there."""
    old = read_summary(run_dir)
    if old is not None and old.get("status") == "completed":
        return
    try:
        cfg_dict = OmegaConf.to_container(raw_cfg, resolve=False) if isinstance(raw_cfg, DictConfig) else raw_cfg
        write_json_atomic(run_dir / "summary.json", {
            "status": "failed", "error": error, "metrics": {}, "config": cfg_dict, "run_dir": str(run_dir),
            "seed": cfg_dict.get("seed") if isinstance(cfg_dict, dict) else None, "wall_s": 0.0,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        })
    except OSError:
        pass
