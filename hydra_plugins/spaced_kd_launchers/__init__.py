"""spaced-kd's sweep launchers (see spaced_kd/launchers.py); Hydra finds plugins only in this namespace."""
from hydra_plugins.hydra_submitit_launcher import submitit_launcher

from spaced_kd.launchers import Reporting


class SlurmLauncher(Reporting, submitit_launcher.SlurmLauncher):
    """hydra-submitit-launcher's Slurm launcher; a job killed outright is one failed run."""


class LocalLauncher(Reporting, submitit_launcher.LocalLauncher):
    """hydra-submitit-launcher's local launcher; a job killed outright is one failed run."""
