"""CPU thread settings on a quiet and on a busy machine, side by side in one run.

    python benchmarks/cpu_threads.py [--steps 40] [--repeats 3]

The same small training job (online KD, resnet8 on CIFAR-shaped data, batch 128) runs in a fresh
process under each setting — thread count × OpenMP wait policy — first with the machine otherwise
idle, then beside one, then beside every-core-count busy processes (pure-Python spinners, one core
each). For each load, the time of each setting is printed relative to the best setting under that
load. torch's OpenMP threads spin while they wait for each other; on a machine whose cores are
taken by other work that spinning steals the time the work needs, so the setting to use depends on
the load — and the default must be good under both (goal: within 1.2× of the best).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

JOB = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
if os.environ.get("AS_TRAIN_PY"):  # what train.py does before torch loads
    from spaced_kd.threads import choose_wait_policy
    print("chose", choose_wait_policy(), file=sys.stderr)
import torch
from benchmarks.throughput import pair, random_cifar, tensor_data
steps = int(sys.argv[2])
device = torch.device("cpu")
x, y = random_cifar(128 * (steps + 3))
data = tensor_data(x, y, 128, device)
learner = pair("resnet8", device, "fp32", False, None)
for t in range(3):
    learner.step("joint", t, *data.train_batch(t))
t0 = time.perf_counter()
for t in range(3, steps + 3):
    learner.step("joint", t, *data.train_batch(t))
print(time.perf_counter() - t0)
"""


def settings(cores: int, full: bool = False) -> dict[str, dict[str, str]]:
    """One thread (no team, so no waiting), and all cores under each OpenMP wait policy."""
    out = {"spaced-kd's default (chosen at start)": {"AS_TRAIN_PY": "1"},
           "threads=1": {"OMP_NUM_THREADS": "1"}, "torch default (no variables)": {}}
    for policy in ("ACTIVE", "PASSIVE"):
        out[f"threads={cores} wait={policy}"] = {"OMP_NUM_THREADS": str(cores), "OMP_WAIT_POLICY": policy}
    if full:  # libgomp (PyTorch's OpenMP on Linux) spins this many times before it sleeps; PASSIVE is 0
        for spins in (2_000, 50_000):
            out[f"threads={cores} spincount={spins}"] = {"OMP_NUM_THREADS": str(cores), "GOMP_SPINCOUNT": str(spins)}
    return out


def spinners(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def timed(env: dict, steps: int) -> float:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "MKL_NUM_THREADS")}
    r = subprocess.run([sys.executable, "-c", JOB, str(ROOT), str(steps)], env={**clean, **env},
                       capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-1000:])
    return float(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--spin-counts", action="store_true", help="also libgomp spin counts 2000 and 50000")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    loads = sorted({0, 1, cores})
    table: dict[str, dict[int, float]] = {}
    for load in loads:
        busy = spinners(load)
        try:
            time.sleep(0.5)
            for name, env in settings(cores, args.spin_counts).items():
                runs = [timed(env, args.steps) for _ in range(args.repeats)]
                table.setdefault(name, {})[load] = statistics.median(runs)
                print(f"  {load} busy, {name}: {table[name][load]:.2f}s", flush=True)
        finally:
            for p in busy:
                p.kill()
    print(f"{cores} cores; median seconds for {args.steps} online-KD steps (resnet8, batch 128) and "
          f"the ratio to the best setting under each load")
    header = "".join(f"  {f'{n} busy':>18}" for n in loads)
    print(f"{'setting':<38}{header}")
    best = {load: min(v[load] for v in table.values()) for load in loads}
    for name, by_load in table.items():
        cells = "".join(f"  {by_load[n]:8.2f}s ×{by_load[n] / best[n]:5.2f}" for n in loads)
        print(f"{name:<38}{cells}")
    if args.json:
        Path(args.json).write_text(json.dumps({"cores": cores, "steps": args.steps, "seconds": table}, indent=1))


if __name__ == "__main__":
    main()
