"""spaced-kd entry point: `python train.py [group=option ...] [key=value ...]`, `-m` for sweeps."""
import sys

from spaced_kd.threads import choose_wait_policy

if __name__ == "__main__":
    choose_wait_policy()  # before torch loads: OpenMP reads its wait policy once

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from spaced_kd.conf_store import register  # noqa: E402
from spaced_kd.preflight import output_dir_problem  # noqa: E402

register()


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    from spaced_kd.cli import train_task  # imported here so --help and --cfg stay fast

    return train_task(cfg)


if __name__ == "__main__":
    problem = output_dir_problem(sys.argv[1:])
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    main()
    from spaced_kd.sweep_status import FAILED

    if FAILED:  # a sweep finished with jobs of this invocation that did not complete
        sys.exit(1)
