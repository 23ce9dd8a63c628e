"""The validation study: does the spacing effect reproduce here? (results: docs/validation.md)

    python benchmarks/validation.py run    [--root validation] [--jobs 2] [--seeds 0,1,2,3,4] [--only NAME,...]
    python benchmarks/validation.py report [--root validation]

`run` trains a Tab. 6 row on Fashion-MNIST under both recipes, then the ablations, every
(study, seed) as one cohort (`hydra/sweeper=cohort`: one teacher, every arm beside it), `--jobs`
cohorts side by side, one thread each. Each study is its own sweep root under `--root`; a rerun
skips what is done and resumes what was cut short (the runs' own resume), so the study can be
stopped and continued at any time. `--device cuda --subset 60000 --epochs 80` is the long variant
for a lent GPU (benchmarks/gpu_suite.sh).

`report` prints every number docs/validation.md quotes, each from a committed command: the table
(mean ± std per arm; paired Δ with 95 % intervals), the plateau check, the paired ablations, the
quadratic fit, and the curves (PNG under ROOT/figures).

The setting, and why (docs/validation.md says more):
- Fashion-MNIST, the first 10,000 training images of a fixed permutation, all 10,000 test images;
- ResNet-8 at width 0.5 (channels 8/16/32): the widest that lets the whole study run on one CPU
  core in a few hours; at width 0.25 the network trains too slowly to plateau;
- the paper's optimiser and loss weights: SGD lr 0.01 constant, momentum 0.9, wd 5e-4, batch 128,
  T = 3, α = 0.3, β = 0.03; 30 epochs (2,370 steps), with a test evaluation every epoch;
- arms: w/o KD, online, spaced 0.5 / 1 / 1.5 / 2 epochs, offline (the whole Tab. 6 row);
- both recipes: `recipe=default` (the paper's equations, a same-seed teacher) and
  `recipe=official` (the release's behaviour, a differently initialised teacher);
- ablations on the default recipe, each one override, arms online and spaced 1.5, paired with
  the main study's runs of the same seed: teacher.init, loss.t2_scaling, loss.feature,
  teacher.target_mode.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = "none,online,spaced0.5,spaced1,spaced1.5,spaced2,offline"
PAIR_ARMS = "online,spaced1.5"

# name → (arms, overrides). The main studies first: the ablations pair with `default`.
STUDIES: dict[str, tuple[str, list[str]]] = {
    "default": (ROW, ["recipe=default"]),
    "official": (ROW, ["recipe=official"]),
    "init_different": (PAIR_ARMS, ["recipe=default", "teacher.init=different"]),
    "no_t2": (PAIR_ARMS, ["recipe=default", "loss.t2_scaling=false"]),
    "feature_l2_dist": (PAIR_ARMS, ["recipe=default", "loss.feature=l2_dist"]),
    "target_eval": (PAIR_ARMS, ["recipe=default", "teacher.target_mode=eval"]),
}


def setting(args) -> list[str]:
    out = ["dataset=fashion_mnist", f"dataset.train_subset={args.subset}", "model=resnet8",
           f"model.width={args.width}", f"trainer.epochs={args.epochs}", f"trainer.device={args.device}",
           "trainer.progress=false"]
    if args.device == "cpu":
        out.append("trainer.threads=1")
    if args.data_root:
        out.append(f"dataset.root={args.data_root}")
    return out


def cohort(args, name: str, seed: int) -> tuple[str, int, int, float]:
    arms, overrides = STUDIES[name]
    root = Path(args.root) / name
    log = Path(args.root) / "logs" / f"{name}-seed{seed}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(ROOT / "train.py"), "-m", "hydra/sweeper=cohort", f"+arm={arms}",
           *overrides, *setting(args), f"seed={seed}", f"hydra.sweep.dir={root}"]
    t0 = time.monotonic()
    with open(log, "a") as f:
        f.write(" ".join(cmd) + "\n")
        f.flush()
        rc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}).returncode
    return name, seed, rc, time.monotonic() - t0


def run(args) -> None:
    names = args.only.split(",") if args.only else list(STUDIES)
    unknown = sorted(set(names) - set(STUDIES))
    if unknown:
        sys.exit(f"unknown study {', '.join(unknown)}; known: {', '.join(STUDIES)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [(n, s) for n in names for s in seeds]
    started = time.monotonic()
    with ThreadPoolExecutor(args.jobs) as pool:
        for name, seed, rc, wall in pool.map(lambda j: cohort(args, *j), jobs):
            print(f"{name} seed {seed}: exit {rc} in {wall / 60:.1f} min "
                  f"({(time.monotonic() - started) / 60:.0f} min so far)", flush=True)


def report(args) -> None:
    root = Path(args.root)
    main = [str(root / n) for n in ("default", "official") if (root / n).is_dir()]
    py = [sys.executable, "-m"]
    steps = [
        ("Tab. 6 row, last epoch, per recipe", [*py, "analysis.tables", *main, "--table", "6"]),
        ("paired differences (last-5-epoch mean)", [*py, "analysis.tables", *main, "--table", "6", "--paired",
                                                    "--metric", "student_lastk_acc"]),
    ]
    for title, cmd in steps:
        print(f"## {title}\n$ {' '.join(cmd[1:])}", flush=True)
        subprocess.run(cmd, cwd=ROOT)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["run", "report"])
    ap.add_argument("--root", default="validation", help="the studies' sweep roots go under it")
    ap.add_argument("--jobs", type=int, default=2, help="cohorts side by side")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--only", default=None, help=f"comma-separated studies ({', '.join(STUDIES)})")
    ap.add_argument("--subset", type=int, default=10000)
    ap.add_argument("--width", type=float, default=0.5)
    ap.add_argument("--epochs", type=float, default=30)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--data-root", default=os.environ.get("SPACED_KD_FMNIST"))
    args = ap.parse_args()
    {"run": run, "report": report}[args.command](args)


if __name__ == "__main__":
    main()
