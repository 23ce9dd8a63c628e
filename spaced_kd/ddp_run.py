"""One run over N processes: the run directory's rules (spaced_kd/run.py) kept by rank 0 alone.

- Rank 0 takes the run's lock, decides whether the directory holds a run to resume, a completed
  run or another run's record, and tells the others (one broadcast); a refusal refuses on every rank.
- Every rank builds the run and loads the same checkpoint; rank 0 alone writes .hydra/,
  metrics.jsonl, summary.json and the checkpoint. The others log nothing and write nothing.
- Each rank builds only its part of every global batch and evaluation split (Data.set_shard);
  the networks train under DistributedDataParallel (spaced_kd/ddp_learner.py).
- A preemption signal stops every rank after the same event: the ranks agree on it every
  `GUARD_EVERY` events (a small all-reduce over the CPU control group).
- A rank that fails tells the others through the process group's store; a rank that dies
  (SIGKILL, a lost node) makes its peers' next collective fail at once. Rank 0 then writes a
  failed summary that names the rank, and every rank exits.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable, Optional

import torch
import torch.distributed as dist

from . import distributed, recipe, rundir
from .config import Config
from .data import build_data
from .ddp_learner import DistributedLearner, needs_unused_search
from .engine import KILL_AT_ENV, NonFiniteLoss, Preempted
from .errors import UserError
from .preemption import PreemptionGuard
from .run import best_effort, check_writable, completed_run, describe_error, open_session
from .tracking import Progress, Tracker

GUARD_EVERY = 8  # events between two agreements on a preemption signal
# Test hook: with SPACED_KD_KILL_AT_EVENT, only this rank kills itself (others ignore the event).
KILL_RANK_ENV = "SPACED_KD_KILL_RANK"
REPORT_WAIT_S = 3.0  # how long rank 0 waits for the other ranks' word after a failure
_FAILED_KEY = "spaced_kd/failed/{}"


class QuietTracker(Tracker):
    """A non-zero rank's tracker: keeps rows and summaries in memory, writes nothing, no wandb."""

    def __init__(self, run_dir: Path, logger, config: dict, run_name: str):
        self.run_dir, self.rows, self.last, self.best, self.wandb = run_dir, [], {}, {}, None

    def load_state_dict(self, state: dict) -> None:
        self.last, self.best, self.rows = dict(state["last"]), dict(state["best"]), list(state["rows"])

    def reset(self) -> None:
        pass

    def log_eval(self, **row) -> None:
        self.rows.append(row)

    def repair_metrics(self) -> bool:
        return False

    def write_summary(self, summary: dict) -> None:
        pass


class AgreedGuard:
    """The engine's preemption guard, agreed by all ranks: `requested` is true on every rank after
    the same event once any rank has received the signal."""

    def __init__(self, local: PreemptionGuard, control, every: int = GUARD_EVERY):
        self.local, self.control, self.every = local, control, every
        self.calls, self.agreed = 0, False

    @property
    def requested(self) -> bool:
        self.calls += 1
        if not self.agreed and self.calls % self.every == 0:
            flag = torch.tensor([1 if self.local.requested else 0], dtype=torch.int32)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self.control)
            self.agreed = bool(flag.item())
        return self.agreed

    @property
    def received(self) -> Optional[int]:
        return self.local.received

    def release(self) -> None:
        self.local.release()


def run(cfg: Config, run_dir: Path, world: distributed.World, log=print,
        record: Optional[Callable[[], None]] = None) -> dict:
    """Train one run as rank `world.rank` of `world.size`; returns its summary (every rank)."""
    device = torch.device(distributed.device_for(cfg.trainer.device, world))
    distributed.init(world, device)
    control = distributed.control_group(device)
    return _run(cfg, run_dir, world, device, control, log if world.main else _quiet, record)


def _quiet(*_args, **_kw) -> None:
    pass


def _broadcast(value, control):
    box = [value]
    dist.broadcast_object_list(box, src=0, group=control)
    return box[0]


def _agree_ok(error: Optional[str], world: distributed.World, control) -> None:
    """Raise on every rank the first rank's error, if any rank had one."""
    errors = [None] * world.size
    dist.all_gather_object(errors, error, group=control)
    for rank, err in enumerate(errors):
        if err is not None:
            raise UserError(err if rank == world.rank or world.size == 1 else f"rank {rank}: {err}")


def _decide(cfg: Config, run_dir: Path, world: distributed.World, control):
    """Rank 0 takes the lock and reads the directory; every rank learns what to do."""
    lock, decision = None, None
    if world.main:
        try:
            check_writable(run_dir)
            lock = rundir.RunLock(run_dir).__enter__()
            done = completed_run(cfg, run_dir)
            decision = ("done", done) if done is not None else ("train", None)
        except UserError as exc:
            decision = ("refused", str(exc))
        except BaseException as exc:
            _broadcast(("refused", describe_error(exc)), control)
            raise
    decision = _broadcast(decision, control)
    if decision[0] == "refused":
        raise UserError(decision[1])
    return lock, decision


def _run(cfg: Config, run_dir: Path, world: distributed.World, device: torch.device, control, log,
         record: Optional[Callable[[], None]]) -> dict:
    lock, (what, done) = _decide(cfg, run_dir, world, control)
    try:
        if what == "done":
            log(f"{run_dir} is a completed run of this configuration; not retrained")
            return done
        return _train(cfg, run_dir, world, device, control, log, record)
    finally:
        if lock is not None:
            lock.__exit__(None, None, None)


# Loss terms that are not a mean over the batch's samples: a rank's part of them is not its share
# of the whole, so their gradient under DDP would not be the single-process one.
NOT_PER_SAMPLE = {"loss.logit": ("mse_sum",), "loss.feature": ("mse_sum", "l2_dist")}


def _check_losses(cfg: Config) -> Optional[str]:
    if cfg.method.name != "none":
        # DLB feeds one network twice before a backward and PSKD keeps a table of whole-batch
        # predictions: neither has a rank's-part form yet
        return (f"method={cfg.method.name} runs in one process; a multi-process run trains the paper's own "
                f"online, spaced and self KD (method=none)")
    for key, names in NOT_PER_SAMPLE.items():
        value = getattr(cfg.loss, key.split(".")[1])
        if value in names:
            return (f"{key}={value} is summed over the whole batch, which a multi-process run cannot split "
                    f"into its ranks' parts; use a per-sample mean (e.g. {key}=mse_mean) or one process")
    return None


def _check_shards(cfg: Config, data, world: distributed.World) -> Optional[str]:
    """Every step and every evaluation split must give each rank at least one sample."""
    spe, s = data.steps_per_epoch, data.stream
    smallest = min(s.batch_size, data.step_size(spe - 1))
    if smallest < world.size:
        return (f"a global batch of {smallest} sample{'s' if smallest != 1 else ''} (trainer.batch_size="
                f"{cfg.trainer.batch_size}, {s.n} training samples) cannot be split over {world.size} ranks; "
                f"choose a batch size whose every step holds at least one sample a rank")
    for split in data.eval_splits:
        if data.eval_size(split) < world.size:
            return f"the {split} split ({data.eval_size(split)} samples) cannot be split over {world.size} ranks"
    return None


def _train(cfg: Config, run_dir: Path, world: distributed.World, device: torch.device, control, log,
           record: Optional[Callable[[], None]]) -> dict:
    session, error = None, None
    try:
        data = build_data(recipe.data_config(cfg), batch_size=cfg.trainer.batch_size, seed=cfg.seed, device=device)
        error = _check_losses(cfg) or _check_shards(cfg, data, world)
        if error is None:
            data.set_shard(world.rank, world.size)
    except UserError as exc:
        error = str(exc)
    _agree_ok(error, world, control)
    try:
        session = open_session(cfg, run_dir, log, record if world.main else None, data=data,
                               world_size=world.size, tracker_cls=Tracker if world.main else QuietTracker)
    except UserError as exc:
        error = str(exc)
    _agree_ok(error, world, control)

    setup, engine, tracker = session.setup, session.engine, session.tracker
    names = [cfg.model.name, cfg.teacher.name]
    learner = DistributedLearner(setup.learner, setup.data, setup.device, sync_bn=cfg.trainer.sync_bn,
                                 find_unused=needs_unused_search(cfg.kd_mode.name, names), control=control)
    engine.learner = learner
    if not world.main:
        engine.log = _quiet
        engine.progress = Progress(False, 1, 1)
        engine.save_checkpoint = lambda state: None
    kill_rank = os.environ.get(KILL_RANK_ENV)
    if kill_rank is not None and int(kill_rank) != world.rank:
        os.environ.pop(KILL_AT_ENV, None)
    if world.main:
        log(f"{run_dir}: {world.size} ranks ({world.launcher}, {dist.get_backend()}), "
            f"{'synchronised' if cfg.trainer.sync_bn else 'per-rank'} BatchNorm")
    tracker.write_summary(session.summary("running"))
    failed = True
    try:
        with PreemptionGuard() as guard:
            engine.guard = AgreedGuard(guard, control)
            try:
                session.state = engine.run(session.state)
            except Preempted as exc:
                tracker.write_summary(session.summary("running", error=str(exc)))
                raise
            except NonFiniteLoss as exc:  # agreed by every rank (DistributedLearner.all_finite)
                tracker.write_summary(session.summary("failed", error=str(exc)))
                raise UserError(str(exc)) from None
            except BaseException as exc:
                _report_failure(session, world, exc, guard)
                raise
        failed = False
    finally:
        tracker.close(failed=failed)
    if world.main:
        return session.complete(log)
    return session.summary("completed")


def is_comm_error(exc: BaseException) -> bool:
    """A collective that failed because a peer went away (or timed out), not this rank's own fault."""
    if isinstance(exc, getattr(dist, "DistError", ())):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(
        k in text for k in ("gloo", "Gloo", "NCCL", "Connection closed", "Connection reset", "Broken pipe",
                            "timed out", "Timed out"))


def _report_failure(session, world: distributed.World, exc: BaseException, guard: PreemptionGuard) -> None:
    """Tell the other ranks why this one stops; rank 0 writes the summary naming the failed rank."""
    comm = is_comm_error(exc)
    own = describe_error(exc)
    store = _store()
    if store is not None:
        try:
            store.set(_FAILED_KEY.format(world.rank), json.dumps({"comm": comm, "error": own}))
        except Exception:
            pass
    if not world.main:
        if comm and world.rank == 1:
            _speak_for_a_silent_rank0(session.run_dir, own)
        return
    tracker = session.tracker
    if not comm:
        best_effort(tracker.write_summary, session.summary("failed", error=f"rank 0 failed: {own}"))
        return
    # a peer failed or died: write what rank 0 knows now, then wait briefly for the others' word
    # (the guard keeps a launcher's SIGTERM from ending this process meanwhile)
    best_effort(tracker.write_summary, session.summary("failed", error=f"a rank failed or died; rank 0 saw: {own}"))
    reports = _collect_reports(store, world) if store is not None else {}
    best_effort(tracker.write_summary, session.summary("failed", error=attribute(reports, world.size, own)))


def _speak_for_a_silent_rank0(run_dir: Path, seen: str) -> None:
    """Rank 0 died (its lock is free and its last summary still says "running"): rank 1 writes the
    failure into that summary, so the run directory never claims a dead run is running. A living
    rank 0 holds the lock until it has written its own report, which this then leaves alone."""
    try:
        with rundir.RunLock(run_dir, timeout=REPORT_WAIT_S + 30):
            last = rundir.read_summary(run_dir)
            if last is None or last.get("status") != "running":
                return
            last.update(status="failed", error=f"rank 0 stopped without a word (killed, out of memory or its "
                                                f"node lost); the run stopped with it (rank 1 saw: {seen})")
            rundir.write_summary(run_dir, last)
    except (UserError, OSError):
        pass


def _store():
    try:
        from torch.distributed.distributed_c10d import _get_default_store

        return _get_default_store()
    except Exception:
        return None


def _collect_reports(store, world: distributed.World, wait_s: float = REPORT_WAIT_S) -> dict[int, dict]:
    reports: dict[int, dict] = {}
    deadline = time.monotonic() + wait_s
    while True:
        for rank in range(1, world.size):
            key = _FAILED_KEY.format(rank)
            if rank not in reports:
                try:
                    if store.check([key]):
                        reports[rank] = json.loads(store.get(key))
                except Exception:
                    return reports
        if any(not r["comm"] for r in reports.values()) or len(reports) == world.size - 1 \
                or time.monotonic() > deadline:
            return reports
        time.sleep(0.1)


def attribute(reports: dict[int, dict], size: int, seen: str) -> str:
    """The failure in words: the rank that raised an error of its own, else the ranks that went
    silent (killed, out of memory, node lost), else what rank 0 saw."""
    own = sorted(r for r, rep in reports.items() if not rep["comm"])
    if own:
        return f"rank {own[0]} failed: {reports[own[0]]['error']}"
    silent = [r for r in range(1, size) if r not in reports]
    if silent:
        ranks = ", ".join(str(r) for r in silent)
        return (f"rank {ranks} stopped without a word (killed, out of memory or its node lost); "
                f"the run stopped with it (rank 0 saw: {seen})")
    return f"the ranks lost each other: {seen}"

