"""One training run inside its run directory: check → lock → compare → build → record → train.

The run directory is the contract with analysis (spaced_kd/rundir.py, docs/design.md). Its rules:

- one writer: the run holds RUN/.lock for its whole life; a second process is refused;
- a refusal changes nothing: a bad value, a run of another configuration already there, or a
  busy lock are all found before the first byte is written (the caller writes .hydra/ through
  `record` only once the run is accepted);
- the record survives: the checkpoint stores the resolved config, metrics.jsonl is rebuilt from
  the checkpoint on resume, and a completed run that is run again is returned as it is.
"""
from __future__ import annotations

import errno
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import torch
from omegaconf import DictConfig, OmegaConf

from . import checkpoint, rundir
from .build import Setup, build
from .config import Config, differences, load_config
from .data import Data
from .engine import Engine, EngineState, NonFiniteLoss, Preempted
from .errors import UserError
from .preemption import PreemptionGuard
from .tracking import Progress, Tracker


def resolved(cfg: Config) -> dict:
    """The config as plain JSON data: what summary.json and the checkpoint store."""
    return json.loads(json.dumps(asdict(cfg), default=str))


def check_writable(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / f".write-test-{run_dir.stat().st_ino}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"output directory {run_dir} is not writable ({exc.strerror or exc}); "
                        f"choose another with hydra.run.dir=PATH") from None


def recorded_config(state: Optional[dict], summary: Optional[dict]) -> Optional[dict]:
    """The config of the run already in a directory: its checkpoint's, or a completed summary's."""
    if state is not None:
        return state.get("config")
    if summary is not None and summary.get("status") == "completed":
        return summary.get("config")
    return None


def run(raw_cfg: DictConfig | dict | Config, run_dir: Path, log=print,
        record: Optional[Callable[[], None]] = None) -> dict:
    """Train one run; returns its summary. Raises UserError (bad input, refusal) or the training error.

    `record` writes the caller's own files (train.py: .hydra/) once the run is accepted.
    """
    cfg = raw_cfg if isinstance(raw_cfg, Config) else load_config(raw_cfg)
    check_writable(run_dir)
    with rundir.RunLock(run_dir):
        done = completed_run(cfg, run_dir)
        if done is not None:
            log(f"{run_dir} is a completed run of this configuration; not retrained")
            return done
        try:
            return _train(cfg, run_dir, log, record)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise UserError(f"no space left on device writing {exc.filename or run_dir}") from None
            raise


def completed_run(cfg: Config, run_dir: Path) -> Optional[dict]:
    """The summary of a completed run of this config in run_dir; refuses a run of another config."""
    if not cfg.trainer.resume:
        return None
    state = checkpoint.load(run_dir / rundir.CHECKPOINT)
    if state is not None and not isinstance(state.get("config"), dict):
        raise UserError(f"{run_dir / rundir.CHECKPOINT} was written by an older spaced-kd and cannot be resumed; "
                        f"set trainer.resume=false to train this run again, or choose another hydra.run.dir")
    summary = rundir.read_summary(run_dir)
    old = recorded_config(state, summary)
    if old is not None:
        diff = differences(old, resolved(cfg))
        if diff:
            shown = "; ".join(diff[:3]) + (f"; … {len(diff) - 3} more" if len(diff) > 3 else "")
            raise UserError(f"{run_dir} holds a run of another configuration ({shown}); choose another "
                            f"hydra.run.dir, or set trainer.resume=false to replace it")
    if state is not None and summary is not None and summary.get("status") == "completed" \
            and summary.get("events_done") == summary.get("events"):
        return summary
    return None


@dataclass
class Session:
    """An accepted run, built and restored from its checkpoint, ready for its engine: what `_train`
    drives alone and spaced_kd.cohort drives beside the other runs of a cohort."""

    cfg: Config
    run_dir: Path
    setup: Setup
    config: dict  # resolved: what summary.json and the checkpoint store
    tracker: Tracker
    state: EngineState
    resumed_from: Optional[int]
    engine: Optional[Engine] = None
    world_size: int = 1  # processes training it (spaced_kd/distributed.py)

    def summary(self, status: str, error: Optional[str] = None) -> dict:
        cfg, setup, state = self.cfg, self.setup, self.state
        return self.tracker.summary(
            status=status, error=error, seed=cfg.seed, config=self.config,
            steps=state.done["student"], teacher_steps=state.done["teacher"],
            steps_per_epoch=setup.steps_per_epoch, total_steps=setup.plan.total_steps,
            interval_steps=setup.plan.interval if cfg.kd.name in ("spaced", "ahead") else None,
            events=setup.n_events, events_done=state.event_index,
            resumed_from_step=self.resumed_from, wall_s=round(state.wall_s, 3), device=str(setup.device),
            world_size=self.world_size,
        )

    def save(self, st: EngineState) -> None:
        device = self.setup.device
        rng = {"torch": torch.get_rng_state(),
               "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}
        checkpoint.save(self.run_dir / rundir.CHECKPOINT, {
            "config": self.config, "learner": self.setup.learner.state_dict(), "tracker": self.tracker.state_dict(),
            "engine": st.to_dict(), "rng": rng, "world_size": self.world_size})

    def complete(self, log) -> dict:
        """The trained run's record made whole: metrics.jsonl as the run logged it, the final summary."""
        if self.tracker.repair_metrics():
            log(f"warning: {self.run_dir / rundir.METRICS} had changed during the run; rewritten from the run's record")
        final = self.summary("completed")
        self.tracker.write_summary(final)
        return final


def open_session(cfg: Config, run_dir: Path, log, record: Optional[Callable[[], None]],
                 data: Optional[Data] = None, engine_cls: type[Engine] = Engine,
                 world_size: int = 1, tracker_cls: type[Tracker] = Tracker) -> Session:
    """Build the run (on `data` when given: runs that differ only in student-side settings share
    one), write the caller's record, restore the checkpoint; the caller holds the run's lock.
    `world_size`, `tracker_cls`: a multi-process run's (spaced_kd/ddp_run.py)."""
    resumed = checkpoint.load(run_dir / rundir.CHECKPOINT) if cfg.trainer.resume else None
    setup = build(cfg, data=data)  # the last place bad input can be found: nothing is written before it
    if resumed is not None:
        check_world_size(run_dir, resumed, setup, world_size)
    config = resolved(cfg)
    if record is not None:
        record()
    tracker = tracker_cls(run_dir, cfg.logger, config, run_name=run_dir.name)
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
    session = Session(cfg, run_dir, setup, config, tracker, state,
                      state.done["student"] if resumed is not None else None, world_size=world_size)
    session.engine = engine_cls(
        events=setup.events, learner=setup.learner, data=setup.data, tracker=tracker,
        progress=Progress(cfg.trainer.progress, math.ceil(setup.plan.total_steps / setup.steps_per_epoch),
                          max(1, round(setup.n_events * setup.steps_per_epoch / setup.plan.total_steps))),
        save_checkpoint=session.save, steps_per_epoch=setup.steps_per_epoch, total_steps=setup.plan.total_steps,
        eval_every=cfg.trainer.eval_every, eval_batch_size=cfg.trainer.eval_batch_size,
        eval_splits=tuple(s for s in setup.data.eval_splits if s != "train" or cfg.trainer.eval_train),
        checkpoint_every=cfg.trainer.checkpoint_every, log=log,
    )
    return session


def check_world_size(run_dir: Path, resumed: dict, setup: Setup, world_size: int) -> None:
    """A run trained with per-rank BatchNorm on N processes continues only on N: another count
    would change its BatchNorm statistics mid-run (docs/ddp.md). Synchronised or no BatchNorm:
    any count computes the same run."""
    from .sync_bn import has_batchnorm

    was = int(resumed.get("world_size", 1))
    if was == world_size or setup.cfg.trainer.sync_bn \
            or not any(has_batchnorm(m) for m in setup.learner.modules.values()):
        return
    raise UserError(f"{run_dir} was trained on {was} process{'es' if was > 1 else ''} with per-rank BatchNorm; "
                    f"resuming on {world_size} would change its BatchNorm statistics mid-run; resume it with "
                    f"{was} (torchrun --nproc_per_node={was}), or set trainer.resume=false to train it again")


def _train(cfg: Config, run_dir: Path, log, record: Optional[Callable[[], None]]) -> dict:
    session = open_session(cfg, run_dir, log, record)
    engine, tracker, summary = session.engine, session.tracker, session.summary
    tracker.write_summary(summary("running"))
    failed = True
    try:
        with PreemptionGuard() as guard:
            engine.guard = guard
            session.state = engine.run(session.state)
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
            best_effort(tracker.write_summary, summary("failed", error=describe_error(exc)))
        raise
    finally:
        tracker.close(failed=failed)
    return session.complete(log)


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"no space left on device writing {exc.filename or 'the run directory'}"
    return f"{type(exc).__name__}: {exc}"


def best_effort(fn, *args) -> None:
    try:
        fn(*args)
    except OSError:  # a full disk cannot take the failure report either
        pass


def record_failure(run_dir: Path, raw_cfg, error: str) -> bool:
    """A sweep job refused before training: say so in summary.json so the sweep and analysis see
    it — only in a directory that holds no run yet (a refusal never replaces a run's record).
    Returns whether it wrote."""
    if (run_dir / rundir.SUMMARY).exists() or (run_dir / rundir.CHECKPOINT).exists():
        return False
    try:
        with rundir.RunLock(run_dir):
            cfg = OmegaConf.to_container(raw_cfg, resolve=False) if isinstance(raw_cfg, DictConfig) else raw_cfg
            rundir.write_summary(run_dir, {
                "status": "failed", "error": error, "metrics": {}, "config": cfg, "run_dir": str(run_dir),
                "seed": cfg.get("seed") if isinstance(cfg, dict) else None, "wall_s": 0.0,
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            })
        return True
    except (OSError, UserError):
        return False
