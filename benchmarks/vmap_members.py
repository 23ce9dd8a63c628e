"""Several students as one batched model (torch.func.stack_module_state + vmap): is one training
step bit-identical to the students' separate steps on the CPU, and what does it cost beside them?

    OMP_NUM_THREADS=1 python benchmarks/vmap_members.py [--members 4] [--model resnet8] [--repeats 20]

k students of one architecture (different initial weights) take the same batch and a KD target,
as the members of a cohort replaying one block do. The script prints, per parameter kind, the
largest difference between the vmapped gradient and the separate one, whether the BatchNorm
running statistics agree bit for bit, and the time of one vmapped forward-backward beside k
separate ones, measured side by side in one process. It also checks the other route layer by
layer: a grouped convolution and one BatchNorm over k·C channels against k separate layers. That
route is what trainer.stack_students builds (spaced_kd/models/stacked.py; its cost is measured by
benchmarks/stacked_students.py).
"""
from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, stack_module_state, vmap

from spaced_kd.models import build_model


def kd_loss(logits, y, target, T=3.0, alpha=0.3):
    kl = F.kl_div(F.log_softmax(logits / T, 1), F.log_softmax(target / T, 1), reduction="batchmean", log_target=True)
    return (1 - alpha) * F.cross_entropy(logits, y) + alpha * T * T * kl


def separate(nets, x, y, target):
    grads, buffers = [], []
    for net in nets:
        m = copy.deepcopy(net).train()
        loss = kd_loss(m(x)[0], y, target)
        grads.append(dict(zip([n for n, _ in m.named_parameters()], torch.autograd.grad(loss, list(m.parameters())))))
        buffers.append({k: v.clone() for k, v in m.named_buffers()})
    return grads, buffers


def batched(nets, x, y, target):
    skeleton = copy.deepcopy(nets[0]).to("meta").train()
    params, buffers = stack_module_state([copy.deepcopy(n).train() for n in nets])

    def loss(p, b, x, y, target):
        return kd_loss(functional_call(skeleton, (p, b), (x,))[0], y, target)

    grads = vmap(grad(loss), in_dims=(0, 0, None, None, None))(params, buffers, x, y, target)
    return grads, buffers


def grouped_check(k: int, batch: int, size: int) -> tuple[bool, bool, bool, bool]:
    """The other batching route, one layer at a time: k convolutions as one grouped convolution
    (the input repeated k times along channels), and k BatchNorms as one over k·C channels.
    Returns whether each of conv forward, conv weight gradient, BatchNorm forward and BatchNorm
    input gradient is bit-identical to the k separate layers."""
    torch.manual_seed(7)
    c, o = 16, 32
    x = torch.randn(batch, c, size, size)
    ws = [torch.randn(o, c, 3, 3, requires_grad=True) for _ in range(k)]
    gs = [torch.randn(batch, o, size, size) for _ in range(k)]
    outs = [F.conv2d(x, w, padding=1) for w in ws]
    grads = [torch.autograd.grad((out * g).sum(), w)[0] for out, g, w in zip(outs, gs, ws)]
    wg = torch.cat([w.detach() for w in ws]).requires_grad_()
    og = F.conv2d(x.repeat(1, k, 1, 1), wg, padding=1, groups=k)
    gg = torch.autograd.grad((og * torch.cat(gs, 1)).sum(), wg)[0]
    conv_fwd = all(torch.equal(og[:, i * o:(i + 1) * o], outs[i]) for i in range(k))
    conv_grad = all(torch.equal(gg[i * o:(i + 1) * o], grads[i]) for i in range(k))
    xs = [torch.randn(batch, o, size, size, requires_grad=True) for _ in range(k)]
    xg = torch.cat([t.detach() for t in xs], 1).requires_grad_()
    yg = torch.nn.BatchNorm2d(k * o)(xg)
    ys = [torch.nn.BatchNorm2d(o)(t) for t in xs]
    gy = torch.randn_like(yg)
    dg = torch.autograd.grad(yg, xg, gy)[0]
    # each separate layer gets its gradient as a tensor of its own, as in a network of its own: a strided
    # slice of gy takes another kernel path in the BatchNorm backward and differs in the last bits
    ds = [torch.autograd.grad(ys[i], xs[i], gy[:, i * o:(i + 1) * o].contiguous())[0] for i in range(k)]
    bn_fwd = all(torch.equal(yg[:, i * o:(i + 1) * o], ys[i]) for i in range(k))
    bn_grad = all(torch.equal(dg[:, i * o:(i + 1) * o], ds[i]) for i in range(k))
    return conv_fwd, conv_grad, bn_fwd, bn_grad


def kind(name: str) -> str:
    if ".bn" in name or name.startswith("stem.1") or "shortcut.1" in name:
        return "BatchNorm"
    return "linear" if name.startswith("fc") else "conv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("--model", default="resnet8")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    nets = []
    for k in range(args.members):
        torch.manual_seed(k)
        nets.append(build_model(args.model, num_classes=100, in_channels=3, image_size=args.size))
    torch.manual_seed(99)
    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.randint(0, 100, (args.batch,))
    target = torch.randn(args.batch, 100)

    ref_g, ref_b = separate(nets, x, y, target)
    g, b = batched(nets, x, y, target)
    worst: dict[str, float] = {}
    for i in range(args.members):
        for name, value in ref_g[i].items():
            d = (g[name][i] - value).abs().max().item()
            worst[kind(name)] = max(worst.get(kind(name), 0.0), d)
    buffers_equal = all(torch.equal(b[k][i], ref_b[i][k]) for i in range(args.members) for k in ref_b[i])
    print(f"{args.members} × {args.model}, batch {args.batch}, {args.size} px, {torch.get_num_threads()} thread(s)")
    for name, d in sorted(worst.items()):
        print(f"  gradients, {name:9s} largest |vmap − separate| = {d:.3g}" + ("  (bit-identical)" if d == 0 else ""))
    print(f"  BatchNorm running statistics bit-identical: {buffers_equal}")
    conv_fwd, conv_grad, bn_fwd, bn_grad = grouped_check(args.members, args.batch, args.size)
    print(f"  grouped layers bit-identical to separate ones: convolution forward {conv_fwd}, weight gradient "
          f"{conv_grad}; BatchNorm over k·C channels forward {bn_fwd}, input gradient {bn_grad}")

    # the timed steps only: models copied and stacked once, outside the clock
    trained = [copy.deepcopy(n).train() for n in nets]
    skeleton = copy.deepcopy(nets[0]).to("meta").train()
    params, buffers = stack_module_state([copy.deepcopy(n).train() for n in nets])
    step = vmap(grad(lambda p, b, x, y, t: kd_loss(functional_call(skeleton, (p, b), (x,))[0], y, t)),
                in_dims=(0, 0, None, None, None))

    def one_by_one() -> None:
        for m in trained:
            torch.autograd.grad(kd_loss(m(x)[0], y, target), list(m.parameters()))

    def clock(fn) -> float:
        fn()  # warm-up
        start = time.perf_counter()
        for _ in range(args.repeats):
            fn()
        return (time.perf_counter() - start) / args.repeats

    t_sep, t_vmap = clock(one_by_one), clock(lambda: step(params, buffers, x, y, target))
    print(f"  one step: separate {1e3 * t_sep:.1f} ms, vmapped {1e3 * t_vmap:.1f} ms, ratio {t_vmap / t_sep:.2f}")


if __name__ == "__main__":
    main()
