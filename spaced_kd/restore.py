"""A finished (or interrupted) run directory → its config, data and trained networks.

`snapshot` reads what a run is at one moment — its checkpoint, its summary and the checkpoint
file's identity — under the run's lock, so a training process cannot replace the checkpoint
between the hash and the load; `load_run` rebuilds the run's setup from it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from omegaconf import DictConfig, OmegaConf

from . import checkpoint, rundir
from .build import Setup, build, resolve_device
from .config import Config, load_config
from .errors import UserError

LOCK_WAIT_S = 60.0  # how long a reader waits for another short reader or a probes.json merge


@dataclass
class Snapshot:
    run_dir: Path
    state: dict  # the checkpoint (spaced_kd.checkpoint format 1 or 2)
    summary: Optional[dict]  # summary.json, None when the run has none
    checkpoint_id: str  # "sha256:" + the first 16 hex digits of the checkpoint file's hash

    @property
    def status(self) -> Optional[str]:
        return self.summary.get("status") if self.summary else None

    @property
    def engine(self) -> Optional[dict]:
        """The engine's progress at the checkpoint (event_index, done steps), None if not recorded."""
        engine = self.state.get("engine")
        return engine if isinstance(engine, dict) and isinstance(engine.get("event_index"), int) else None


def _file_id(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()[:16]


def snapshot(run_dir: str | Path) -> Snapshot:
    """The run's checkpoint, summary and checkpoint identity, read together under the run's lock.

    UserError in one line: not a run directory, no checkpoint, an unreadable checkpoint or
    summary, the run in use by a training process.
    """
    run_dir = Path(run_dir)
    if not rundir.is_run_dir(run_dir):
        raise UserError(f"{run_dir} is not a run directory (no {rundir.CHECKPOINT}, {rundir.SUMMARY} or {rundir.CONFIG})")
    path = run_dir / rundir.CHECKPOINT
    if not path.is_file():
        raise UserError(f"{run_dir} has no checkpoint ({rundir.CHECKPOINT}); train it first")
    try:
        with rundir.RunLock(run_dir, timeout=LOCK_WAIT_S):
            state = checkpoint.load(path, what="the run's checkpoint",  # weights_only: never runs code
                                    hint="train the run again, or probe another run")
            summary = rundir.read_summary(run_dir, strict=True)
            ident = _file_id(path)
    except rundir.RunLocked as exc:
        holder = f"process {exc.pid}" if exc.pid else "another process"
        raise UserError(f"{run_dir} is in use by {holder} (a training run writes it); "
                        f"probe it when that process has finished") from None
    except PermissionError as exc:  # the lock file cannot be made: nor could probes.json be written
        raise UserError(f"cannot write in {run_dir} ({exc.strerror}); probes need to write probes.json there") from None
    assert state is not None  # the file exists; a damaged one raised UserError above
    return Snapshot(run_dir, state, summary, ident)


def run_config(run_dir: Path, state: Optional[dict] = None) -> Config:
    """The run's resolved config: the one its checkpoint stores, else .hydra/config.yaml."""
    if state is not None and isinstance(state.get("config"), dict):
        return load_config(state["config"])
    config_file = Path(run_dir) / rundir.CONFIG
    if not config_file.exists():
        raise UserError(f"{run_dir} is not a run directory (no checkpoint and no {rundir.CONFIG})")
    try:
        raw = OmegaConf.load(config_file)  # YAML's safe loader: tags that construct objects are refused
    except Exception as exc:  # yaml's errors span lines and have no common base with OmegaConf's
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{config_file} is unreadable ({reason})") from None
    if not isinstance(raw, DictConfig):
        raise UserError(f"{config_file} is unreadable (not a mapping of config keys)")
    return load_config(raw)


def load_run(run_dir: str | Path, device: Optional[str] = None, snap: Optional[Snapshot] = None) -> Setup:
    """Rebuild the run's setup and load its checkpoint (`snap`, else read now) into the networks.

    `setup.learner.modules` then holds the trained networks ("student", "teacher", "projector"
    in peer mode; "network" in self mode) and `setup.data` the run's data.
    """
    snap = snap or snapshot(run_dir)
    cfg = run_config(snap.run_dir, snap.state)
    dev = resolve_device(device or cfg.trainer.device)
    setup = build(cfg, device=dev)
    learner = snap.state.get("learner")
    if not isinstance(learner, dict):
        raise UserError(f"{snap.run_dir / rundir.CHECKPOINT} holds no trained networks")
    try:
        setup.learner.load_state_dict(learner)
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        # torch's message is a header ("Error(s) in loading state_dict for ResNet:") over the detail
        reason = " ".join(ln.strip() for ln in str(exc).strip().splitlines()[:2]) or type(exc).__name__
        reason = reason if len(reason) <= 200 else reason[:200].rsplit(" ", 1)[0] + " …"
        raise UserError(f"{snap.run_dir / rundir.CHECKPOINT} does not fit the run's config ({reason})") from None
    for m in setup.learner.modules.values():
        m.eval()
    return setup


def network(setup: Setup, role: str = "student") -> torch.nn.Module:
    """The network that plays `role`; in self mode every role is the one network."""
    modules = setup.learner.modules
    if "network" in modules:
        return modules["network"]
    if role not in modules:
        raise UserError(f"this run has no {role!r} network; it has: {', '.join(sorted(modules))}")
    return modules[role]
