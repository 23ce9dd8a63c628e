"""A finished (or interrupted) run directory → its config, data and trained networks."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
from omegaconf import OmegaConf

from . import checkpoint, rundir
from .build import Setup, build, resolve_device
from .config import Config, load_config
from .errors import UserError


def run_config(run_dir: Path, state: Optional[dict] = None) -> Config:
    """The run's resolved config: the one its checkpoint stores, else .hydra/config.yaml."""
    if state is not None and isinstance(state.get("config"), dict):
        return load_config(state["config"])
    config_file = Path(run_dir) / rundir.CONFIG
    if not config_file.exists():
        raise UserError(f"{run_dir} is not a run directory (no checkpoint and no {rundir.CONFIG})")
    return load_config(OmegaConf.load(config_file))


def load_run(run_dir: str | Path, device: Optional[str] = None) -> Setup:
    """Rebuild the run's setup and load its last checkpoint into the learner's networks.

    `setup.learner.modules` then holds the trained networks ("student", "teacher", "projector"
    in peer mode; "network" in self mode) and `setup.data` the run's data.
    """
    run_dir = Path(run_dir)
    state = checkpoint.load(run_dir / rundir.CHECKPOINT)
    if state is None:
        if not (run_dir / rundir.CONFIG).exists():
            raise UserError(f"{run_dir} is not a run directory (no {rundir.CONFIG})")
        raise UserError(f"{run_dir} has no checkpoint ({rundir.CHECKPOINT}); train it first")
    cfg = run_config(run_dir, state)
    dev = resolve_device(device or cfg.trainer.device)
    setup = build(cfg, device=dev)
    setup.learner.load_state_dict(state["learner"])
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
