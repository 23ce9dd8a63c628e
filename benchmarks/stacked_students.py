"""k students learning from one batch and one teacher target: one by one vs as one stacked network
(trainer.stack_students), side by side in one process.

    python benchmarks/stacked_students.py                                   # CPU, ResNet-8, k = 2, 4
    python benchmarks/stacked_students.py --device cuda --members 2,4,8 --json out.json

Two identical sets of k students (the same weights, one shared teacher) train on the same batches
of CIFAR-shaped random data: "separate" calls each member's PeerLearner._student_update, as a
cohort does without the option; "stacked" runs spaced_kd.cohort.stacked's update, one forward and
one backward for the k. The two alternate in rounds; the ratio of their medians is printed
(below 1: stacking pays). On the CPU the two sets must end bit-identical, and the script says
whether they did.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

from spaced_kd.cohort.stacked import stacked_update  # noqa: E402
from spaced_kd.models.stacked import StackedNets  # noqa: E402
from throughput import pair, random_cifar, sync, tensor_data  # noqa: E402


def learners(args, k: int, device: torch.device) -> list:
    """k peer learners whose teacher is the first one's (as a cohort's members share one)."""
    out = [pair(args.model, device, args.precision, False, None) for _ in range(k)]
    for learner in out[1:]:
        learner.teacher = learner.modules["teacher"] = out[0].teacher
    return out


def measure(args, k: int, device: torch.device) -> dict:
    x_all, y_all = random_cifar(max(args.batch * 4, 512))
    data = tensor_data(x_all, y_all, args.batch, device)
    apart, together = learners(args, k, device), learners(args, k, device)
    stack = StackedNets([l.student for l in together])
    times = {"separate": [], "stacked": []}

    def separate(step, x, y, target):
        for learner in apart:
            learner._student_update(step, x, y, target)

    def stacked(step, x, y, target):
        stacked_update(stack, together, step, x, y, [target] * k)

    def timed(fn, first, steps):
        """Steps first … first+steps−1: both sets get these same batches and targets."""
        total = 0.0
        for step, x, y in data.train_batches(range(first, first + steps)):
            target = apart[0].target(step, x)  # the teacher never changes here: the same for both sets
            sync(device)
            t0 = time.perf_counter()
            fn(step, x, y, target)
            sync(device)
            total += time.perf_counter() - t0
        return total / steps

    for fn in (separate, stacked):  # warm-up (lazy allocations, cuDNN's algorithm choice)
        timed(fn, 0, 2)
    for r in range(args.rounds):
        first = 2 + r * args.steps
        order = (("separate", separate), ("stacked", stacked)) if r % 2 == 0 else (("stacked", stacked), ("separate", separate))
        for name, fn in order:
            times[name].append(timed(fn, first, args.steps))
    sep, stk = statistics.median(times["separate"]), statistics.median(times["stacked"])
    result = {"members": k, "separate_ms": 1e3 * sep, "stacked_ms": 1e3 * stk, "ratio": stk / sep,
              "separate_img_s": k * args.batch / sep, "stacked_img_s": k * args.batch / stk}
    if device.type == "cpu":
        # each set saw the same batches and targets in the same order
        result["bit_identical"] = all(
            torch.equal(a, b) for la, lb in zip(apart, together)
            for a, b in zip(la.student.state_dict().values(), lb.student.state_dict().values()))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--model", default="resnet8")
    ap.add_argument("--members", default="2,4", help="comma-separated k values")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    device = torch.device(args.device)
    print(f"device {device}{' (' + torch.cuda.get_device_name(device) + ')' if device.type == 'cuda' else ''}, "
          f"{args.model}, batch {args.batch}, {args.precision}, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}; median of {args.rounds} rounds × {args.steps} steps")
    results = []
    for k in (int(v) for v in args.members.split(",")):
        r = measure(args, k, device)
        results.append(r)
        same = f", bit-identical: {r['bit_identical']}" if "bit_identical" in r else ""
        print(f"  k={k}: separate {r['separate_ms']:.1f} ms ({r['separate_img_s']:.0f} img/s), "
              f"stacked {r['stacked_ms']:.1f} ms ({r['stacked_img_s']:.0f} img/s): stacked / separate "
              f"{r['ratio']:.2f}{same}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=1))


if __name__ == "__main__":
    main()
