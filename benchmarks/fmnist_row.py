"""A Tab. 6-shaped row on the full Fashion-MNIST, trained as cohorts (one teacher per seed).

    python benchmarks/fmnist_row.py --device cuda [--model resnet8] [--epochs 10] [--seeds 0,1,2]
                                    [--budget 260] [--root PATH] [--json FILE]

Runs `python train.py -m hydra/sweeper=cohort +arm=none,online,spaced0.5,spaced1,spaced1.5,spaced2`
on all 60,000 training images, one seed after the other while the time budget (seconds) allows
one more, then prints Tab. 6 from the runs (analysis.tables) and packs the run directories
without their checkpoints into `<json>.runs.tar.gz` so the table can be rebuilt elsewhere.
Results: docs/fmnist_row.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARMS = "none,online,spaced0.5,spaced1,spaced1.5,spaced2"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--model", default="resnet8")
    ap.add_argument("--epochs", type=float, default=10)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--budget", type=float, default=260, help="seconds; no seed is started that would not fit")
    ap.add_argument("--root", default=os.environ.get("SPACED_KD_FMNIST"), help="folder of the four IDX files")
    ap.add_argument("--sweep-dir", default=None)
    ap.add_argument("--extra", nargs="*", default=[], help="more train.py overrides")
    ap.add_argument("--json")
    args = ap.parse_args()
    sweep = Path(args.sweep_dir or tempfile.mkdtemp(prefix="fmnist-row-"))
    common = [sys.executable, str(ROOT / "train.py"), "-m", "hydra/sweeper=cohort", f"+arm={ARMS}",
              "dataset=fashion_mnist", f"model={args.model}", f"trainer.epochs={args.epochs}",
              f"trainer.device={args.device}", "trainer.progress=false", f"hydra.sweep.dir={sweep}", *args.extra]
    if args.root:
        common.append(f"dataset.root={args.root}")
    started, per_seed, done = time.monotonic(), [], []
    for seed in args.seeds.split(","):
        elapsed = time.monotonic() - started
        if per_seed and elapsed + max(per_seed) > args.budget:
            print(f"seed {seed}: not started ({elapsed:.0f}s used, a seed takes ~{max(per_seed):.0f}s)", flush=True)
            break
        t0 = time.monotonic()
        r = subprocess.run([*common, f"seed={seed}"], cwd=ROOT, capture_output=True, text=True)
        per_seed.append(time.monotonic() - t0)
        print(f"seed {seed}: exit {r.returncode} in {per_seed[-1]:.0f}s", flush=True)
        if r.returncode != 0:
            print(r.stderr[-3000:], flush=True)
        done.append(seed)
    table = subprocess.run([sys.executable, "-m", "analysis.tables", str(sweep), "--table", "6"], cwd=ROOT,
                           capture_output=True, text=True)
    print(table.stdout, table.stderr[-1500:], flush=True)
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"seeds": done, "seconds_per_seed": per_seed, "model": args.model,
                                   "epochs": args.epochs, "table6": table.stdout}, indent=1))
        with tarfile.open(out.with_suffix(".runs.tar.gz"), "w:gz") as tar:
            tar.add(sweep, arcname="fmnist_row", filter=lambda ti: None if "checkpoints" in ti.name else ti)


if __name__ == "__main__":
    main()
