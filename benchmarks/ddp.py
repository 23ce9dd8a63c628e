"""Training throughput of one run over 1, 2, … processes (DDP): samples/s of the global batch.

    python benchmarks/ddp.py                          # CPU, gloo: 1 and 2 ranks, 1 thread each
    python benchmarks/ddp.py --threads 2 --ranks 1    # one process using the same two cores
    python benchmarks/ddp.py --device cuda --ranks 1  # what one GPU achieves (NCCL when > 1)
    python benchmarks/ddp.py --model resnet18 --dataset cifar100 --batch 128 --device cuda

Each rank builds the run as train.py does (spaced_kd.build.build on the digits set by default),
takes its shard of every global batch, and trains its networks under DistributedDataParallel
(spaced_kd/ddp_learner.py); the timed loop is `--steps` online-KD steps (teacher and student both
learn: two forwards, two backwards, two all-reduces a step) after `--warmup` untimed ones. One rank
runs the same code without a process group. Prints measured numbers only (docs/ddp.md: how to
read them).
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(args):
    from spaced_kd.config import load_config

    return load_config({
        "kd": {"name": "online"}, "model": {"name": args.model},
        "dataset": {"name": args.dataset, "train_subset": args.train_subset},
        "trainer": {"batch_size": args.batch, "device": args.device, "precision": args.precision,
                    "sync_bn": args.sync_bn, "progress": False, "threads": args.threads},
    })


def worker(rank: int, size: int, port: int, args, out) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    from spaced_kd import distributed
    from spaced_kd.build import build
    from spaced_kd.ddp_learner import DistributedLearner

    world = distributed.World(rank, size, rank, "benchmark")
    device = torch.device(distributed.device_for(args.device, world))
    cfg = config(args)
    if size > 1:
        distributed.init(world, device)
    setup = build(cfg, device=device)
    data, learner = setup.data, setup.learner
    if size > 1:
        data.set_shard(rank, size)
        learner = DistributedLearner(learner, data, device, sync_bn=args.sync_bn)
    steps = args.warmup + args.steps
    spe = data.steps_per_epoch
    batches = data.train_batches(t % spe for t in range(steps))  # within one epoch: equal global batches
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    started = None
    for i, (t, x, y) in enumerate(batches):
        if i == args.warmup:
            sync()
            if size > 1:
                dist.barrier()
            started = time.perf_counter()
        learner.step("joint", t, x, y)
    sync()
    if size > 1:
        dist.barrier()
    elapsed = time.perf_counter() - started
    if rank == 0:
        out.put((elapsed, sum(data.step_size(t % spe) for t in range(args.warmup, steps))))
    distributed.close()


def measure(size: int, args) -> float:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=worker, args=(r, size, port, args, out)) for r in range(size)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    if any(p.exitcode != 0 for p in procs):
        raise SystemExit(f"a rank failed (exit codes {[p.exitcode for p in procs]})")
    elapsed, samples = out.get()
    return samples / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--model", default="resnet8")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--train-subset", type=int, default=None)
    ap.add_argument("--batch", type=int, default=128, help="global batch (each rank trains batch/ranks)")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per rank")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--sync-bn", action="store_true")
    ap.add_argument("--repeats", type=int, default=1, help="measure each rank count this many times (best kept)")
    args = ap.parse_args()
    if args.device == "cuda" and max(args.ranks) > torch.cuda.device_count():
        raise SystemExit(f"--ranks {max(args.ranks)} needs as many GPUs; {torch.cuda.device_count()} visible")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    name = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU ({os.cpu_count()} cores visible)"
    print(f"{args.model} online KD on {args.dataset}, global batch {args.batch}, {args.precision}, "
          f"{'sync' if args.sync_bn else 'per-rank'} BN, {args.threads} thread(s)/rank, {name}, torch {torch.__version__}")
    base = None
    for size in args.ranks:
        rate = max(measure(size, args) for _ in range(args.repeats))
        base = base or (rate if size == args.ranks[0] else None)
        ratio = f"  ×{rate / base:.2f} vs {args.ranks[0]} rank(s)" if base and size != args.ranks[0] else ""
        print(f"ranks {size}: {rate:8.1f} samples/s{ratio}", flush=True)


if __name__ == "__main__":
    main()
