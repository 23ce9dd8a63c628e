"""Which networks a method trains and how they learn: one `MethodSpec` per method, by name."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List

from ..config import Config
from ..nets import TEACHER_SEED_OFFSET
from ..registry import Registry


@dataclass(frozen=True)
class NetSpec:
    role: str
    model: str
    width: float
    drop_path: float
    seed: int


@dataclass(frozen=True)
class MethodSpec:
    learner: type  # a spaced_kd.methods.base.MethodLearner
    networks: Callable[[Config], List[NetSpec]]  # first (teaches) to last (the student)
    # What kd=none trains: "plain" — the raw student (the w/o KD column of BAN, TAKD, DML, SHAKE);
    # "first" — the student alone, trained as the method trains its first network (DLB, PSKD,
    # whose w/o KD column is that network's accuracy).
    baseline: str = "plain"
    # The first network's updates depend on the others (DML, SHAKE): no shared teacher in a cohort.
    mutual: bool = False
    # The links' schedules: None — every link follows kd; else config → one schedule per link.
    links: Callable[[Config, int], List[str]] | None = None

    def shares_teacher(self, cfg: Config) -> bool:
        """Two networks, the first learning from the labels and its own state alone: its trajectory
        does not depend on the student, so runs that differ in the student's schedule can share it
        (a cohort), and the runs take PeerLearner's plain teacher/student/joint events."""
        return not self.mutual and self.links is None and len(self.networks(cfg)) == 2


METHODS: Registry[MethodSpec] = Registry("method")


def net(cfg: Config, role: str, model: str | None = None, width: float | None = None) -> NetSpec:
    """A network of a chain: the student's architecture unless told, the run's seed (`seeded` moves
    the seeds of all but the student, last, when teacher.init=different)."""
    m = cfg.model
    return NetSpec(role, model or m.name, m.width if width is None else width, m.drop_path, cfg.seed)


def seeded(specs: List[NetSpec], cfg: Config) -> List[NetSpec]:
    if cfg.teacher.init == "same":
        return specs
    last = len(specs) - 1
    return [NetSpec(s.role, s.model, s.width, s.drop_path, cfg.seed + (last - k) * TEACHER_SEED_OFFSET)
            for k, s in enumerate(specs)]
