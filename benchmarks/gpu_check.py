"""One-call GPU check: correctness of the CUDA paths and side-by-side step timings.

    python benchmarks/gpu_check.py [--e2e-only] [--json FILE]     # on a machine with a CUDA GPU

1. train.py end to end on CUDA: spaced peer KD (fp32), bf16 + channels_last, torch.compile,
   spaced self KD (bf16) — each must complete with a finite accuracy.
2. Steps per second of ResNet-18 on CIFAR-shaped in-memory data (batch 128), measured side by
   side in this one process: online vs spaced KD, fp32 vs bf16, channels_last on/off. Ratios are
   what to read; absolute numbers depend on the card.
"""
from __future__ import annotations

import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spaced_kd.build import build  # noqa: E402
from spaced_kd.config import load_config  # noqa: E402


def write_cifar_like(root: Path, n_train: int, n_test: int) -> None:
    rng = np.random.default_rng(0)
    base = root / "cifar-100-python"
    base.mkdir(parents=True)
    for split, n in (("train", n_train), ("test", n_test)):
        entry = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"fine_labels": [int(v) for v in rng.integers(0, 100, n)], b"coarse_labels": [0] * n}
        with open(base / split, "wb") as f:
            pickle.dump(entry, f, protocol=2)


def e2e(tmp: Path, data_root: Path) -> dict:
    common = ["trainer.device=cuda", "trainer.progress=false", "dataset=cifar100", f"dataset.root={data_root}",
              "model=resnet18", "trainer.epochs=2", "dataset.train_subset=2048", "dataset.test_subset=512"]
    cases = {
        "spaced_bf16_cl": ["trainer.precision=bf16", "trainer.channels_last=true"],
        "online_compile": ["kd=online", "trainer.compile=true", "trainer.compile_mode=reduce-overhead"],
        "self_spaced_bf16": ["kd_mode=self", "trainer.precision=bf16", "interval=1"],
    }
    if "--all-cases" in sys.argv:
        cases["spaced_fp32"] = []
    results = {}
    for name, extra in cases.items():
        d = tmp / name
        t0 = time.time()
        r = subprocess.run([sys.executable, str(ROOT / "train.py"), *common, *extra, f"hydra.run.dir={d}"],
                           cwd=ROOT, capture_output=True, text=True, timeout=400)
        ok = r.returncode == 0
        acc = None
        if ok:
            s = json.loads((d / "summary.json").read_text())
            acc, ok = s["metrics"].get("student_acc"), s["status"] == "completed"
        wall = time.time() - t0
        print(f"e2e {name:<18} rc={r.returncode} ok={ok} student_acc={acc} wall={wall:.1f}s", flush=True)
        results[name] = {"ok": ok, "student_acc": acc, "wall_s": round(wall, 1)}
        if not ok:
            print(r.stderr[-1500:], flush=True)
            results[name]["stderr"] = r.stderr[-1500:]
    return results


def timer(data_root: Path, kd: str, precision: str, channels_last: bool):
    cfg = load_config({"kd": {"name": kd}, "model": {"name": "resnet18"},
                       "dataset": {"name": "cifar100", "root": str(data_root)},
                       "trainer": {"device": "cuda", "precision": precision, "channels_last": channels_last,
                                   "epochs": 10, "batch_size": 128}, "interval": 0.5})
    s = build(cfg)
    events = list(s.events())
    # one student step per timed unit: online = joint events; spaced = teacher + student pairs
    def play(evs):
        for ev in evs:
            x, y = s.data.train_batch(ev.step)
            s.learner.step(ev.kind, ev.step, x, y)
    play(events[:20])  # warm-up (cuDNN autotuning, allocator)
    # Time whole (teacher step, student step) pairs: two full spaced blocks, or as many joint steps.
    sp = s.plan.interval
    timed = events[2 * sp: 6 * sp] if kd == "spaced" else events[20: 20 + 2 * sp]
    student_steps = sum(1 for e in timed if e.kind in ("student", "joint"))
    assert student_steps == sum(1 for e in timed if e.kind in ("teacher", "joint")), "unbalanced window"

    def measure() -> float:
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        play(timed)
        torch.cuda.synchronize()
        return student_steps / (time.perf_counter() - t0)

    return measure


def main() -> None:
    print(torch.__version__, torch.cuda.get_device_name(0), flush=True)
    torch.backends.cudnn.benchmark = True
    out_json = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        data_root = tmp / "cifar"
        write_cifar_like(data_root, 5120, 1000)  # 40 full batches: no odd-shaped last batch in the timing
        if "--timing-only" not in sys.argv:
            results = e2e(tmp, data_root)
            if out_json:
                Path(out_json).write_text(json.dumps(results, indent=1))
        if "--e2e-only" in sys.argv:
            return
        configs = [(kd, p, cl) for kd in ("online", "spaced") for p in ("fp32", "bf16") for cl in (False, True)]
        timers = {c: timer(data_root, *c) for c in configs}  # all built and warmed before any timing
        samples = {c: [] for c in configs}
        for _ in range(3):  # interleaved rounds, median reported: the machine's drift hits all alike
            for c in configs:
                samples[c].append(timers[c]())
        rows = [(*c, sorted(samples[c])[1]) for c in configs]
        base = rows[0][3]
        print(f"{'kd':<8}{'precision':<10}{'channels_last':<15}{'student steps/s':>16}{'vs online fp32':>16}")
        for kd, p, cl, sps in rows:
            print(f"{kd:<8}{p:<10}{str(cl):<15}{sps:>16.1f}{sps / base:>15.2f}x")


if __name__ == "__main__":
    main()
