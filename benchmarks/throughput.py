"""Training throughput, measured side by side in one process (ratios are what to read).

    python benchmarks/throughput.py                 # CPU: the framework's step vs a bare loop
    python benchmarks/throughput.py --device cuda   # GPU: what users write vs our defaults, + variants

CPU mode: online KD (teacher + student) steps of a CIFAR-shaped ResNet through the framework's
engine and learner, against a hand-written loop doing the same math on the same batches; the two
alternate in rounds, and the ratio of their medians is printed (goal: ≤ 1.05).

CUDA mode (ResNet-18, 32 px, batch 128, online KD: a teacher and a student step per batch):
  (a) what users write: a torchvision-CIFAR100-style Dataset (PIL per sample, RandomCrop(32, 4) +
      flip + ToTensor + Normalize), a DataLoader with workers and pinned memory, an fp32 eager loop;
  (b) this framework: uint8 data on the GPU, augmented there, through the learner, in each variant
      (precision × memory format × torch.compile mode), with compile times;
and the fraction of the card's bf16 matrix peak (measured here with a large matmul) each reaches,
from the step's FLOPs counted by torch.utils.flop_counter. A profile of the framework's step
(kernels, synchronising calls, host vs device time per step) is printed too.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spaced_kd.build import projector  # noqa: E402
from spaced_kd.data.augment import Augment, Normalise  # noqa: E402
from spaced_kd.data.stream import Stream  # noqa: E402
from spaced_kd.data.tensor_data import TensorData  # noqa: E402
from spaced_kd.config import LossConfig  # noqa: E402
from spaced_kd.learners import PeerLearner, autocast_factory  # noqa: E402
from spaced_kd.losses import KDLoss  # noqa: E402
from spaced_kd.models import build_model  # noqa: E402

MEAN, STD = (0.507, 0.487, 0.441), (0.267, 0.256, 0.276)


def random_cifar(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g), torch.randint(0, 100, (n,), generator=g)


def tensor_data(x: torch.Tensor, y: torch.Tensor, batch: int, device: torch.device) -> TensorData:
    norm = Normalise(MEAN, STD, device)
    splits = {"train": (x.to(device), y.to(device)), "test": (x[:512].to(device), y[:512].to(device))}
    return TensorData("bench", splits, 100, Stream(x.shape[0], batch, 0), Augment(4, True, 0.0, 0, norm), norm, device)


def pair(model: str, device: torch.device, precision: str, channels_last: bool, compile_mode: str | None):
    """A PeerLearner over fresh student/teacher networks, set up as build.build_peer does."""
    nets = []
    for seed in (0, 0):
        torch.manual_seed(seed)
        net = build_model(model, num_classes=100, in_channels=3, image_size=32).to(device)
        if channels_last:
            net = net.to(memory_format=torch.channels_last)
        if compile_mode:
            net.compile(mode=None if compile_mode == "default" else compile_mode)
        nets.append(net)
    student, teacher = nets
    proj = projector(student.feature_dim, teacher.feature_dim).to(device)
    fused = None  # PyTorch picks foreach on CUDA, as the framework does
    opt = lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, weight_decay=5e-4, fused=fused)  # noqa: E731
    opts = {"teacher": opt(teacher.parameters()), "student": opt(list(student.parameters()) + list(proj.parameters()))}
    return PeerLearner(student, teacher, proj, opts, KDLoss.from_config(LossConfig()), lr_at=lambda t: 0.01,
                       autocast=autocast_factory(device, precision), device=device)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ----------------------------------------------------------------------------- the hand-written loop
class Bare:
    """Online KD written out by hand: the same networks, losses and optimiser, no framework."""

    def __init__(self, learner: PeerLearner, device: torch.device):
        self.s, self.t, self.p = learner.student, learner.teacher, learner.projector
        self.os, self.ot = learner.optimizers["student"], learner.optimizers["teacher"]
        self.device = device

    def step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.t.train()
        t_logits, t_feat = self.t(x)
        self.ot.zero_grad(set_to_none=True)
        F.cross_entropy(t_logits, y).backward()
        self.ot.step()
        t_logits, t_feat = t_logits.detach(), t_feat.detach()
        self.s.train()
        logits, feat = self.s(x)
        kd = F.kl_div(F.log_softmax(logits / 3, 1), F.log_softmax(t_logits / 3, 1), reduction="batchmean",
                      log_target=True) * 9
        loss = 0.7 * F.cross_entropy(logits, y) + 0.3 * kd + 0.03 * F.mse_loss(self.p(feat), t_feat)
        self.os.zero_grad(set_to_none=True)
        loss.backward()
        self.os.step()


def time_steps(fn, steps: int, device: torch.device) -> float:
    sync(device)
    t0 = time.perf_counter()
    for i in range(steps):
        fn(i)
    sync(device)
    return time.perf_counter() - t0


# ----------------------------------------------------------------------------- CPU: framework vs bare
def cpu_mode(args) -> dict:
    from spaced_kd.engine import Engine, EngineState
    from spaced_kd.schedules import Plan, online
    from spaced_kd.tracking import Progress

    device = torch.device("cpu")
    x, y = random_cifar(args.batch * (args.steps + 2) * args.rounds)
    data = tensor_data(x, y, args.batch, device)
    learner = pair(args.model, device, "fp32", False, None)
    bare = Bare(learner, device)

    class NoTracker:  # the engine's bookkeeping without files: what is measured is the step
        def log_eval(self, **kw): pass

    def framework(first: int, steps: int) -> float:
        plan = Plan(total_steps=first + steps)
        engine = Engine(events=lambda: online(plan), learner=learner, data=data, tracker=NoTracker(),
                        progress=Progress(False, 1, 1), save_checkpoint=lambda st: None,
                        steps_per_epoch=data.steps_per_epoch, total_steps=data.steps_per_epoch * 10,
                        eval_splits=(), checkpoint_every=10**9, log=lambda s: None)
        state = EngineState(event_index=first, done={"teacher": first, "student": first})
        learner.all_finite = lambda: True  # a host sync the engine makes only at checkpoints/evaluations
        t0 = time.perf_counter()
        engine.run(state)
        return time.perf_counter() - t0

    def by_hand(first: int, steps: int) -> float:
        t0 = time.perf_counter()
        for t in range(first, first + steps):
            bare.step(*data.train_batch(t))
        return time.perf_counter() - t0

    framework(0, 3), by_hand(0, 3)  # warm-up
    fw, bh = [], []
    first = 3
    for r in range(args.rounds):
        for name, fn, out in (("framework", framework, fw), ("bare", by_hand, bh))[:: 1 if r % 2 == 0 else -1]:
            out.append(fn(first, args.steps))
            first += args.steps
    ratio = statistics.median(fw) / statistics.median(bh)
    result = {"device": "cpu", "threads": torch.get_num_threads(), "model": args.model, "batch": args.batch,
              "steps_per_round": args.steps, "rounds": args.rounds,
              "framework_s": [round(v, 3) for v in fw], "bare_s": [round(v, 3) for v in bh],
              "framework_over_bare": round(ratio, 4)}
    print(f"CPU, {args.model}, batch {args.batch}, {torch.get_num_threads()} thread(s), {args.rounds} rounds × "
          f"{args.steps} online-KD steps: framework / bare loop = {ratio:.3f}  (goal ≤ 1.05)")
    return result


# ----------------------------------------------------------------------------- CUDA
def bf16_peak(device: torch.device) -> float:
    a = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    sync(device)
    t0 = time.perf_counter()
    for _ in range(10):
        a @ b
    sync(device)
    return 10 * 2 * 8192**3 / (time.perf_counter() - t0)


def step_flops(learner: PeerLearner, x: torch.Tensor, y: torch.Tensor) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        learner.step("joint", 0, x, y)
    return counter.get_total_flops()


class PILCifar(torch.utils.data.Dataset):
    """What torchvision's CIFAR100 does per sample: a PIL image through torchvision transforms."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        import torchvision.transforms as T

        self.x, self.y = x.permute(0, 2, 3, 1).numpy(), y.tolist()
        self.tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        from PIL import Image

        return self.tf(Image.fromarray(self.x[i])), self.y[i]


def users_loop(args, x, y, device) -> dict:
    workers = min(8, os.cpu_count() or 1)
    loader = torch.utils.data.DataLoader(PILCifar(x, y), batch_size=args.batch, shuffle=True, num_workers=workers,
                                         pin_memory=True, persistent_workers=True, drop_last=True)
    bare = Bare(pair(args.model, device, "fp32", False, None), device)
    it = iter(loader)

    def one(_):
        nonlocal it
        try:
            xb, yb = next(it)
        except StopIteration:
            it = iter(loader)
            xb, yb = next(it)
        bare.step(xb.to(device, non_blocking=True), yb.to(device, non_blocking=True))

    time_steps(one, args.warmup, device)
    secs = time_steps(one, args.steps, device)
    return {"img_s": args.steps * args.batch / secs, "workers": workers}


def framework_variant(args, data, device, precision, channels_last, compile_mode) -> dict:
    t0 = time.perf_counter()
    learner = pair(args.model, device, precision, channels_last, compile_mode)
    step = lambda i: learner.step("joint", i, *data.train_batch(i))  # noqa: E731
    time_steps(step, 2, device)  # compiles here when asked to
    compile_s = time.perf_counter() - t0
    time_steps(step, args.warmup, device)
    secs = time_steps(step, args.steps, device)
    x, y = data.train_batch(0)
    return {"img_s": args.steps * args.batch / secs, "compile_s": round(compile_s, 1),
            "flops_per_step": step_flops(pair(args.model, device, precision, channels_last, None), x, y)}


def profile(args, data, device) -> dict:
    from torch.profiler import ProfilerActivity, profile as torch_profile

    learner = pair(args.model, device, "bf16", True, None)
    step = lambda i: learner.step("joint", i, *data.train_batch(i))  # noqa: E731
    time_steps(step, 5, device)
    n = 20
    with torch_profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        time_steps(step, n, device)
    events = prof.key_averages()
    kernels = sum(e.count for e in events if e.device_type == torch.autograd.DeviceType.CUDA)
    syncs = {e.key: e.count for e in events if any(k in e.key for k in ("Synchronize", "cudaMemcpy", "item", "_local_scalar"))}
    cuda_us = sum(e.self_device_time_total for e in events if e.device_type == torch.autograd.DeviceType.CUDA)
    wall = time_steps(step, n, device)
    table = events.table(sort_by="self_cpu_time_total", row_limit=12)
    return {"steps": n, "kernels_per_step": kernels / n, "gpu_busy_ms_per_step": cuda_us / 1000 / n,
            "wall_ms_per_step": 1000 * wall / n, "sync_like_calls": syncs, "top_cpu_ops": table}


def save(args, result: dict) -> None:
    """Written after every part, so a run stopped by its time cap keeps what it measured."""
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))


def cuda_mode(args) -> dict:
    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    x, y = random_cifar(50_000)
    out: dict = {"device": torch.cuda.get_device_name(device), "torch": torch.__version__, "model": args.model,
                 "batch": args.batch, "steps": args.steps}
    out["bf16_peak_flops"] = bf16_peak(device)
    print(f"{out['device']}: bf16 matmul peak measured {out['bf16_peak_flops'] / 1e12:.0f} TFLOP/s", flush=True)
    out["users"] = users_loop(args, x, y, device)
    print(f"(a) DataLoader ({out['users']['workers']} workers, pinned) + fp32 eager: {out['users']['img_s']:.0f} img/s", flush=True)
    save(args, out)
    data = tensor_data(x, y, args.batch, device)
    try:
        out["profile"] = profile(args, data, device)
        p = out["profile"]
        print(f"profile (bf16+cl eager): {p['kernels_per_step']:.0f} kernels/step, GPU busy "
              f"{p['gpu_busy_ms_per_step']:.2f} ms of {p['wall_ms_per_step']:.2f} ms wall per step; "
              f"sync-like calls: {p['sync_like_calls']}", flush=True)
        print(p["top_cpu_ops"], flush=True)
    except Exception as exc:
        out["profile"] = {"error": f"{type(exc).__name__}: {exc}"}
    save(args, out)
    out["variants"] = {}
    for precision, cl, mode in args.variants:
        name = f"{precision}{'+cl' if cl else ''}{'+' + mode if mode else ''}"
        try:
            r = framework_variant(args, data, device, precision, cl, mode)
        except Exception as exc:  # a variant that fails is reported, the others still run
            r = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
        out["variants"][name] = r
        save(args, out)
        if "img_s" in r:
            frac = r["img_s"] / args.batch * r["flops_per_step"] / out["bf16_peak_flops"]
            r["peak_fraction"] = frac
            print(f"(b) framework {name:<28} {r['img_s']:8.0f} img/s  ×{r['img_s'] / out['users']['img_s']:.2f} of (a)  "
                  f"{100 * frac:.1f}% of bf16 peak  (first 2 steps {r['compile_s']} s)", flush=True)
        else:
            print(f"(b) framework {name:<28} failed: {r['error']}", flush=True)
    return out


VARIANTS = [("fp32", False, None), ("bf16", False, None), ("fp32", True, None), ("bf16", True, None),
            ("bf16", True, "reduce-overhead"), ("bf16", True, "default")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--model", default=None, help="resnet20 on CPU, resnet18 on CUDA")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=6, help="CPU: alternating rounds of each")
    ap.add_argument("--variants", default=None, help="CUDA: comma list of indices into VARIANTS")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    args.model = args.model or ("resnet18" if args.device == "cuda" else "resnet20")
    args.steps = args.steps or (200 if args.device == "cuda" else 10)
    chosen = VARIANTS if args.variants is None else [VARIANTS[int(i)] for i in args.variants.split(",")]
    args.variants = chosen
    result = cuda_mode(args) if args.device == "cuda" else cpu_mode(args)
    save(args, result)


if __name__ == "__main__":
    main()
