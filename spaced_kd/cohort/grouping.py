"""Which jobs of a sweep can share one teacher, and why a job cannot.

Two jobs share a teacher when their resolved configs agree on everything but the student-side
settings: the schedule (kd, interval, interval_unit), the critical-period window (spaced.*) and
the student's loss (loss.*). A `+arm=...` choice only sets those keys, so it is covered too. Every
other key, volatile ones included (device, threads, checkpoint cadence, logger, probes), must be
equal: the cohort runs them all in one process with one teacher.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from ..config import Config
from ..methods import METHODS
from ..recipe import teacher_targets

# Top-level keys of the resolved config that only the student sees.
STUDENT_SIDE = ("kd", "interval", "interval_unit", "spaced", "loss")


def teacher_key(config: dict) -> str:
    """The part of a resolved config (spaced_kd.run.resolved) that fixes the teacher's trajectory
    and everything the members share, as a string to group by."""
    return json.dumps({k: v for k, v in config.items() if k not in STUDENT_SIDE}, sort_keys=True, default=str)


def why_alone(cfg: Config) -> Optional[str]:
    """Why this job cannot share its teacher with other jobs, or None when it can."""
    if cfg.kd_mode.name == "self":
        return "kd_mode=self: the network is its own teacher, there is no separate teacher to share"
    if cfg.method.name != "none" and not METHODS.get(cfg.method.name).shares_teacher(cfg):
        return (f"method={cfg.method.name}: its first network learns from the others, or it trains more than "
                f"two networks, so no teacher trajectory is the same for every student")
    if cfg.teacher.checkpoint is not None:
        return "teacher.checkpoint: a loaded teacher is not trained, so there is nothing to share"
    _, replay_moves_bn = teacher_targets(cfg)
    if replay_moves_bn and cfg.kd.name in ("spaced", "ahead"):
        return ("recipe.teacher_train_mode_replay: its replays move the teacher's BatchNorm statistics, "
                "so its teacher depends on its student")
    return None


@dataclass
class Grouping:
    """Jobs (by index) that run together, in order of their first job; `alone` says why a job that
    is a group of its own was not grouped (absent when it simply had no partner)."""

    groups: List[List[int]] = field(default_factory=list)
    alone: Dict[int, str] = field(default_factory=dict)

    @property
    def cohorts(self) -> List[List[int]]:
        return [g for g in self.groups if len(g) > 1]


def group(configs: Sequence[Optional[Config]], resolved: Sequence[Optional[dict]]) -> Grouping:
    """Group jobs by `teacher_key`. A job whose config did not load (None: it will fail on its own,
    as in a plain sweep) or that `why_alone` refuses is a group of its own."""
    out = Grouping()
    by_key: Dict[str, List[int]] = {}
    for i, (cfg, config) in enumerate(zip(configs, resolved)):
        reason = "its config is refused (the job reports why)" if cfg is None else why_alone(cfg)
        if reason is not None:
            out.alone[i] = reason
            out.groups.append([i])
            continue
        key = teacher_key(config)
        if key not in by_key:
            by_key[key] = []
            out.groups.append(by_key[key])
        by_key[key].append(i)
    return out
