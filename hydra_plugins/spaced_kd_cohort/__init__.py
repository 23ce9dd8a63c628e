"""spaced-kd's cohort sweeper (see spaced_kd/cohort/sweeper.py); Hydra finds plugins only in this namespace."""
from hydra._internal.core_plugins import basic_sweeper

from spaced_kd.cohort.sweeper import CohortSweeping


class CohortSweeper(CohortSweeping, basic_sweeper.BasicSweeper):
    """Hydra's basic sweeper, with the jobs that can share a teacher launched as one job each."""
