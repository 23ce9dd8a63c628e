"""Generalisation probes on trained runs: `python evaluate.py run_dir=RUN probe=flatness,corruptions,bim,hessian`.

Writes RUN/probes.json (merged: probes not asked for keep their earlier results) and one line per
probe. `-m run_dir=A,B` evaluates several runs, `run_dir=SWEEP_ROOT` every run beneath it;
settings: conf/evaluate.yaml (`--cfg job` prints them).
"""
import sys

import hydra
from omegaconf import DictConfig

from spaced_kd.probes.cli import list_overrides
from spaced_kd.probes.config import register_eval_defaults

register_eval_defaults()


@hydra.main(version_base=None, config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    from spaced_kd.probes.cli import evaluate_task  # imported here so --help and --cfg stay fast

    evaluate_task(cfg)


if __name__ == "__main__":
    sys.argv = [sys.argv[0], *list_overrides(sys.argv[1:])]
    main()
    from spaced_kd.probes.cli import FAILED

    if FAILED:  # a sweep (or a root of runs) finished with failed runs: say so in the exit status
        print(f"error: probes failed on {len(FAILED)} run(s): {', '.join(FAILED)}", file=sys.stderr)
        sys.exit(1)
