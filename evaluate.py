"""Generalisation probes on trained runs: `python evaluate.py run_dir=RUN probe=flatness,corruptions,bim,hessian`.

Writes RUN/probes.json (merged: probes not asked for keep their earlier results) and one line per
probe. `-m run_dir=A,B` evaluates several runs, `run_dir=SWEEP_ROOT` every trained run beneath it;
a run that has not finished training is refused unless allow_unfinished=true. Every setting and
its default: spaced_kd/probes/config.py (`--cfg job` prints them); docs/probes.md.
"""
import sys

from spaced_kd.threads import choose_wait_policy

if __name__ == "__main__":
    choose_wait_policy()  # before torch loads: OpenMP reads its wait policy once

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from spaced_kd.checks import register_schema
from spaced_kd.probes.cli import FAILED, evaluate_task, list_overrides
from spaced_kd.probes.config import EvalConfig

register_schema("base_evaluate", EvalConfig)


@hydra.main(version_base=None, config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    evaluate_task(cfg)


if __name__ == "__main__":
    sys.argv = [sys.argv[0], *list_overrides(sys.argv[1:])]
    main()
    if FAILED:  # a sweep (or a root of runs) finished with failed runs: say so in the exit status
        print(f"error: probes failed on {len(FAILED)} run(s): {', '.join(FAILED)}", file=sys.stderr)
        sys.exit(1)
