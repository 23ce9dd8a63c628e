"""Hydra config entries made from code, so that each fact has one home.

- `base_config`: every key of `spaced_kd.config.Config` with its default (the YAMLs under conf/
  state only what differs);
- group `kd`: one option per registered schedule (`spaced_kd.schedules.SCHEDULES`), so adding a
  schedule is one decorated function;
- group `kd_mode`: `peer`, `self` (`spaced_kd.config.KD_MODES`);
- group `sweep`: the paper grids, one per file in the top-level `sweeps/` folder
  (`python train.py -m +sweep=table6`).
"""
from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from .checks import register_schema
from .config import KD_MODES, Config
from .schedules import SCHEDULES

SWEEPS = Path(__file__).resolve().parents[1] / "sweeps"


def sweep_files() -> dict[str, Path]:
    """Grid name → its file in sweeps/."""
    return {p.stem: p for p in sorted(SWEEPS.glob("*.yaml"))}


def register() -> None:
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    register_schema("base_config", Config)
    for name in SCHEDULES.names():
        cs.store(group="kd", name=name, node={"name": name})
    for name in KD_MODES:
        cs.store(group="kd_mode", name=name, node={"name": name})
    for name, path in sweep_files().items():
        # A grid overrides groups and keys anywhere in the config, as `# @package _global_` says.
        cs.store(group="sweep", name=name, node=OmegaConf.load(path), package="_global_")
