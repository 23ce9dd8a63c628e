"""A Tab. 6 row trained as one cohort vs as separate runs, side by side in one process (CPU).

    python benchmarks/cohort.py                      # Fashion-MNIST subset, ResNet-8 (docs/cohorts.md)
    python benchmarks/cohort.py --model resnet20 --repeats 5
    python benchmarks/cohort.py --device cuda --train-subset 10000 --epochs 2 --json out.json

The row: online KD and spaced KD at 0.5 / 1 / 1.5 / 2 epochs, one model, data set and seed.
"separate" trains each run alone through spaced_kd.run.run (what a plain sweep's job does);
"fused" trains the five through spaced_kd.cohort.run_cohort (what a cohort sweep's job does).
Both write full run directories (metrics, summaries, checkpoints) into a temporary folder and run
on one thread. The two are alternated (fused first, then separate first, ...) so that a machine
that gets busier or quieter during the measurement affects both alike; the ratio reported is the
median of the per-repetition ratios fused / separate in wall time (the process's CPU time ratio
is printed beside it).

What to expect: per step, separate runs do one teacher forward-backward per run plus, for a
spaced run, one extra teacher forward for the replay; the cohort does the teacher's forward-backward
once, and one replay forward for all members that replay a batch against the same teacher (spaced
0.5 and 1 epochs after an even number of half-epochs, ...). With a forward-backward ≈ 3 forwards
the default row is 2,176 forward units alone and 1,304 together (0.60); the teacher's evaluations
(computed once in the cohort) and the data (built once) take a little more off. docs/cohorts.md
has the measured numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from spaced_kd.cohort.member import COMPLETED, MemberSpec  # noqa: E402
from spaced_kd.cohort.runner import run_cohort  # noqa: E402
from spaced_kd.config import load_config  # noqa: E402
from spaced_kd.run import run  # noqa: E402

ROW = [("online", 1.5), ("spaced", 0.5), ("spaced", 1.0), ("spaced", 1.5), ("spaced", 2.0)]


def configs(args) -> dict:
    base = {
        "dataset": {"name": args.dataset, "train_subset": args.train_subset, "test_subset": args.test_subset},
        "model": {"name": args.model},
        "trainer": {"epochs": args.epochs, "batch_size": args.batch_size, "device": args.device,
                    "threads": 1 if args.device == "cpu" else None, "progress": False},
        "seed": args.seed,
    }
    if args.root:
        base["dataset"]["root"] = args.root
    return {f"{kd}-{s:g}": load_config({**base, "kd": {"name": kd}, "interval": s}) for kd, s in ROW}


def separate(cfgs: dict, root: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of training each run alone."""
    t0, c0 = time.perf_counter(), time.process_time()
    for name, cfg in cfgs.items():
        summary = run(cfg, root / name, log=lambda _: None)
        assert summary["status"] == "completed", (name, summary.get("error"))
    return time.perf_counter() - t0, time.process_time() - c0


def fused(cfgs: dict, root: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of training the runs as one cohort."""
    t0, c0 = time.perf_counter(), time.process_time()
    members = run_cohort([MemberSpec(cfg, root / name, name=name) for name, cfg in cfgs.items()], log=lambda _: None)
    assert all(m.status == COMPLETED for m in members), [(m.name, m.status, m.error) for m in members]
    return time.perf_counter() - t0, time.process_time() - c0


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet8")
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--train-subset", type=int, default=2000)
    p.add_argument("--test-subset", type=int, default=1000)
    p.add_argument("--epochs", type=float, default=4)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--root", default=os.environ.get("SPACED_KD_FMNIST"), help="dataset.root")
    p.add_argument("--json", help="write the measured times here")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    cfgs = configs(args)
    print(f"Tab. 6 row ({', '.join(cfgs)}): {args.model} on {args.dataset} ({args.train_subset} train / "
          f"{args.test_subset} test images), batch {args.batch_size}, {args.epochs:g} epochs, 1 thread, "
          f"torch {torch.__version__}")
    ratios, rows = [], []
    with tempfile.TemporaryDirectory(prefix="cohort-bench-") as tmp:
        # untimed: the first run in a process pays for loading the data files and warming torch up
        warm = dict(list(cfgs.items())[:1])
        separate(warm, Path(tmp) / "warm-up")
        for rep in range(args.repeats):
            order = [fused, separate] if rep % 2 == 0 else [separate, fused]
            took = {}
            for how in order:
                root = Path(tmp) / f"{rep}-{how.__name__}"
                took[how.__name__] = how(cfgs, root)
                shutil.rmtree(root)
            ratios.append((took["fused"][0] / took["separate"][0], took["fused"][1] / took["separate"][1]))
            rows.append(took)
            print(f"  repetition {rep + 1}: wall separate {took['separate'][0]:6.1f} s, fused {took['fused'][0]:6.1f} s, "
                  f"ratio {ratios[-1][0]:.3f}   (CPU time ratio {ratios[-1][1]:.3f})", flush=True)
    sep = statistics.median(r["separate"][0] for r in rows)
    fus = statistics.median(r["fused"][0] for r in rows)
    ratio = statistics.median(r[0] for r in ratios)
    print(f"median wall time: separate {sep:.1f} s, fused {fus:.1f} s; "
          f"fused / separate = {ratio:.3f} (goal <= 0.65); "
          f"CPU time ratio {statistics.median(r[1] for r in ratios):.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": args.device, "model": args.model, "repeats": rows,
                                               "ratio": ratio, "separate_s": sep, "fused_s": fus}, indent=1))


if __name__ == "__main__":
    main()
