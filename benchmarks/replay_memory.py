"""Replay memory: what spaced KD holds to replay a block, beside the release's tensor buffer.

The release appends every augmented float32 batch of a block to a CPU list and replays the list.
Here a batch is a pure function of (seed, step), so the replay holds the block's bounds and the
stream's cached epoch permutations; the batches are re-materialised when the student needs them.

    python benchmarks/replay_memory.py

Measured, not estimated, on our side: Python allocations while the schedule generator walks a
whole spaced block and the stream produces every index slice of it (tracemalloc peak), plus the
bytes of the permutations the stream caches. The release's buffer is its exact tensor size.
"""
from __future__ import annotations

import math
import tracemalloc

from spaced_kd.data import Stream
from spaced_kd.schedules import Plan, SCHEDULES, STUDENT, steps_from_epochs

DATASETS = {  # name: (training images, channels, height, width)
    "CIFAR-100": (50_000, 3, 32, 32),
    "Tiny-ImageNet": (100_000, 3, 64, 64),
}
BATCH, EPOCHS = 128, 80


def ours(n: int, interval_epochs: float) -> tuple[int, int, int]:
    stream = Stream(n, BATCH, seed=0)
    spe = stream.steps_per_epoch
    s = steps_from_epochs(interval_epochs, spe)
    total = EPOCHS * spe
    plan = Plan(total_steps=total, interval=s)
    events = SCHEDULES.get("spaced")(plan)
    stream.indices(0)  # the first permutation exists without any replay: count it separately
    tracemalloc.start()
    replayed = 0
    for ev in events:  # walk one full block: the teacher's s steps, then the student's replay
        stream.indices(ev.step)
        if ev.kind == STUDENT:
            replayed += 1
            if replayed == min(s, total):
                break
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    perms = sum(p.numel() * p.element_size() for p in stream._perms.values())
    return s, peak, perms


def release_buffer(s: int, c: int, h: int, w: int) -> int:
    return s * BATCH * c * h * w * 4


def fmt(b: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if b < 1024 or unit == "GB":
            return f"{b:.1f} {unit}" if unit != "B" else f"{int(b)} B"
        b /= 1024
    return ""


def main() -> None:
    print(f"{'data set':<14} {'s (epochs)':>10} {'s (steps)':>9} {'ours: replay state':>19} "
          f"{'+ cached perms':>15} {'release buffer':>15} {'ratio':>10}")
    for name, (n, c, h, w) in DATASETS.items():
        for interval in (0.5, 1.5, 4.0, float(EPOCHS)):
            s, peak, perms = ours(n, interval)
            buf = release_buffer(s, c, h, w)
            ratio = buf / max(1, peak + perms)
            print(f"{name:<14} {interval:>10g} {s:>9} {fmt(peak):>19} {fmt(perms):>15} {fmt(buf):>15} {ratio:>9.0f}x")
    print("target: replay state + cached permutations <= 1 MB for any interval")


if __name__ == "__main__":
    main()
