"""k networks of one architecture run as one network: one forward and one backward for k students
that learn from the same batch at the same moment (cohort members replaying one block, or several
online students), instead of k small ones that cannot fill a GPU.

    stack = StackedNets([net_a, net_b, net_c])      # StackRefused says why a model cannot be stacked
    outs = stack(x)                                 # [(logits_a, feat_a), (logits_b, feat_b), ...]

Each member keeps its own parameters, buffers and optimiser; the stack only reads them. Inside the
stack a member's activations are a block of channels: a value of shape [B, k·C, ...] holds member i
in channels i·C … (i+1)·C. The model is traced once (torch.fx) and every node runs in one of three
ways:

- one call for all members: a convolution with a kernel over 1×1 whose channels are whole blocks
  of 16, as one grouped convolution; a BatchNorm, as one BatchNorm over k·C channels (its running
  statistics are written back to each member; a GhostBatchNorm, one such call per chunk of the
  batch); functions and modules that act on each channel
  alone (relu, add, pooling, flatten from dim 1);
- member by member on its block, outputs concatenated: 1×1 convolutions, convolutions whose
  channels are not whole blocks of 16, any convolution of the batch itself (the first layer: all
  members see the same input), linear layers and every other leaf module (a custom shortcut);
- nothing else: an operation that mixes channels or reshapes across them is refused with its name.

Which layers run as one call is the rule under which the CPU results are bit-identical to k
separate networks (forward, every gradient, running statistics; tests/test_stacked.py), measured
on an AVX-512 CPU. oneDNN picks another algorithm for a grouped 1×1 strided convolution, for a
3-channel input and for groups that are not whole 16-channel blocks, and those differ in the last
bits, so they run per member. On a GPU no bit-identity is claimed.
"""
from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, Dict, List

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import Tensor, nn

from .ghost_bn import GhostBatchNorm
from .randomness import draws


class StackRefused(ValueError):
    """The networks cannot run as one stack; the message says why, in one line."""


# Functions that treat every channel alone (on a [B, k·C, ...] value each member's block stays its own).
CHANNEL_LOCAL: Dict[Any, str] = {
    F.relu: "relu", torch.relu: "relu", operator.add: "add", torch.add: "add", operator.mul: "mul",
    F.adaptive_avg_pool2d: "adaptive_avg_pool2d", F.avg_pool2d: "avg_pool2d", F.max_pool2d: "max_pool2d",
    torch.flatten: "flatten",
}
CHANNEL_LOCAL_METHODS = ("relu", "flatten")

# oneDNN computes a convolution in blocks of 16 channels on AVX-512 CPUs; a grouped convolution whose
# groups are whole blocks takes the same path as each member's own (measured: 16, 32, 48, 64 exact;
# 4, 8 → 16, 12, 24 not).
CHANNEL_BLOCK = 16


class _Shared:
    """The batch itself: the same tensor for every member (not yet a block of channels)."""

    def __init__(self, x: Tensor):
        self.x = x


class _LeafTracer(fx.Tracer):
    # A module without children is one node (a custom shortcut, drop-path); containers are traced through.
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return next(m.children(), None) is None


class StackedNets:
    """`nets`: k ≥ 2 networks of one class with parameters and buffers of equal shapes. Calling it
    with the batch returns each member's outputs (its forward's tuple), as contiguous tensors."""

    def __init__(self, nets: Sequence[nn.Module]):
        if len(nets) < 2:
            raise StackRefused(f"a stack needs at least 2 networks, got {len(nets)}")
        first = nets[0]
        for net in nets[1:]:
            if type(net) is not type(first):
                raise StackRefused(f"networks of different classes: {type(first).__name__}, {type(net).__name__}")
            if [(n, p.shape) for n, p in net.named_parameters()] != [(n, p.shape) for n, p in first.named_parameters()] \
                    or [(n, b.shape) for n, b in net.named_buffers()] != [(n, b.shape) for n, b in first.named_buffers()]:
                raise StackRefused(f"{type(first).__name__} networks with different parameter or buffer shapes")
            if _bn_splits(net) != _bn_splits(first):
                raise StackRefused(f"{type(first).__name__} networks whose BatchNorm layers split the batch "
                                   f"differently (recipe.bn_split)")
        try:
            self.graph = _LeafTracer().trace(first)
        except Exception as exc:  # fx raises many kinds for data-dependent control flow
            raise StackRefused(f"{type(first).__name__} cannot be traced ({type(exc).__name__}: {exc})") from None
        self.k = len(nets)
        self.modules = [dict(net.named_modules()) for net in nets]
        for node in self.graph.nodes:
            _check_node(node, self.modules[0])

    def __call__(self, x: Tensor) -> List[tuple]:
        env: Dict[fx.Node, Any] = {}
        for node in self.graph.nodes:
            if node.op == "placeholder":
                env[node] = _Shared(x)
            elif node.op == "output":
                return self._unstack(fx.graph.map_arg(node.args[0], lambda n: env[n]))
            elif node.op == "call_module":
                (arg,) = fx.graph.map_arg(node.args, lambda n: env[n])
                env[node] = self._module(node.target, arg)
            else:
                args = fx.graph.map_arg(node.args, lambda n: env[n])
                kwargs = fx.graph.map_arg(node.kwargs, lambda n: env[n])
                env[node] = self._function(node, args, kwargs)
        raise AssertionError("a traced graph ends in an output node")

    # ------------------------------------------------------------------ nodes
    def _module(self, name: str, arg: Any) -> Tensor:
        members = [mods[name] for mods in self.modules]
        first = members[0]
        if isinstance(arg, _Shared):
            return torch.cat([m(arg.x) for m in members], 1)
        if isinstance(first, nn.Conv2d) and _grouped_exact(first):
            weight = torch.cat([m.weight for m in members])
            bias = torch.cat([m.bias for m in members]) if first.bias is not None else None
            return F.conv2d(arg, weight, bias, first.stride, first.padding, first.dilation, first.groups * self.k)
        if isinstance(first, nn.modules.batchnorm._BatchNorm) and _one_call_bn(first):
            return _batch_norm(members, arg)
        if isinstance(first, nn.Identity):
            return arg
        if isinstance(first, nn.ReLU):
            return F.relu(arg)
        blocks = arg.chunk(self.k, 1)
        return torch.cat([m(b.contiguous()) for m, b in zip(members, blocks)], 1)

    def _function(self, node: fx.Node, args: tuple, kwargs: dict) -> Any:
        tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, (Tensor, _Shared))]
        if tensors and all(isinstance(a, _Shared) for a in tensors):
            unwrap = lambda a: a.x if isinstance(a, _Shared) else a  # noqa: E731
            out = _call(node, tuple(unwrap(a) for a in args), {k: unwrap(v) for k, v in kwargs.items()})
            return _Shared(out)
        widen = self._widen
        return _call(node, tuple(widen(a) for a in args), {k: widen(v) for k, v in kwargs.items()})

    def _widen(self, a: Any) -> Any:
        """The batch as a stacked value (each member's block a copy of it); anything else as it is."""
        return a.x.repeat(1, self.k, *([1] * (a.x.dim() - 2))) if isinstance(a, _Shared) else a

    def _unstack(self, out: Any) -> List[tuple]:
        outs = out if isinstance(out, (tuple, list)) else (out,)
        per_member: List[List[Tensor]] = [[] for _ in range(self.k)]
        for value in outs:
            for i, block in enumerate(self._widen(value).chunk(self.k, 1)):  # (an output of the batch alone: widened)
                per_member[i].append(block.contiguous())  # a loss on a strided view may reduce in another order
        return [tuple(p) for p in per_member]


def _call(node: fx.Node, args: tuple, kwargs: dict) -> Any:
    if node.op == "call_method":
        return getattr(args[0], node.target)(*args[1:], **kwargs)
    return node.target(*args, **kwargs)


def _check_node(node: fx.Node, modules: Dict[str, nn.Module]) -> None:
    """Refuse, before anything runs, an operation that does not keep each member's channels apart."""
    if node.op == "get_attr":
        raise StackRefused(f"the forward reads the tensor attribute {node.target!r}, which is not per member")
    if node.op == "output":
        outputs = node.args[0] if isinstance(node.args[0], (tuple, list)) else (node.args[0],)
        if not all(isinstance(o, fx.Node) for o in outputs):
            raise StackRefused("the forward returns something other than a tensor or a tuple of tensors")
    elif node.op == "call_function":
        if node.target is operator.getitem:
            # a traced forward indexes only tensors (Python lists and tuples are gone after tracing)
            raise StackRefused("the forward indexes a tensor ([]), which may mix the members' channels")
        if node.target not in CHANNEL_LOCAL:
            raise StackRefused(f"the forward calls {getattr(node.target, '__name__', node.target)}, which may mix "
                               f"the members' channels (allowed: {', '.join(sorted(set(CHANNEL_LOCAL.values())))})")
        if CHANNEL_LOCAL[node.target] == "flatten":
            _check_flatten(node)
    elif node.op == "call_method":
        if node.target not in CHANNEL_LOCAL_METHODS:
            raise StackRefused(f"the forward calls Tensor.{node.target}, which may mix the members' channels "
                               f"(allowed: {', '.join(CHANNEL_LOCAL_METHODS)})")
        if node.target == "flatten":
            _check_flatten(node)
    elif node.op == "call_module":
        module = modules[node.target]
        if len(node.args) != 1 or node.kwargs:
            raise StackRefused(f"module {node.target!r} takes {len(node.args)} inputs; a stack passes one")
        if draws(module):
            raise StackRefused(f"module {node.target!r} draws random numbers; each member would draw other ones")


def _check_flatten(node: fx.Node) -> None:
    start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
    if start != 1:
        raise StackRefused("flatten must start at dim 1 (the members' channels), got start_dim "
                           f"{start}")


def _grouped_exact(conv: nn.Conv2d) -> bool:
    # The layers whose grouped form is bit-identical on the CPU (see the module docstring).
    per_group_in, per_group_out = conv.in_channels // conv.groups, conv.out_channels // conv.groups
    return conv.kernel_size != (1, 1) and conv.padding_mode == "zeros" \
        and per_group_in % CHANNEL_BLOCK == 0 and per_group_out % CHANNEL_BLOCK == 0


def _one_call_bn(bn: nn.modules.batchnorm._BatchNorm) -> bool:
    # momentum=None is a cumulative average whose factor depends on each member's own counter
    return bn.affine and (bn.track_running_stats is False or bn.momentum is not None) \
        and type(bn) in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, GhostBatchNorm)


def _bn_splits(net: nn.Module) -> List[int]:
    return [m.splits for m in net.modules() if isinstance(m, GhostBatchNorm)]


def _batch_norm(members: List[nn.modules.batchnorm._BatchNorm], x: Tensor) -> Tensor:
    """What each member's BatchNorm computes (nn.BatchNorm's rules, GhostBatchNorm's chunks), as one
    call per chunk of the batch over all members' channels."""
    first = members[0]
    if isinstance(first, GhostBatchNorm) and first.training and first.splits > 1:
        head, *rest = x.chunk(first.splits)
        weight, bias = torch.cat([m.weight for m in members]), torch.cat([m.bias for m in members])
        return torch.cat([_batch_norm_call(members, head)]
                         + [F.batch_norm(c, None, None, weight, bias, True, 0.0, first.eps) for c in rest])
    return _batch_norm_call(members, x)


def _batch_norm_call(members: List[nn.modules.batchnorm._BatchNorm], x: Tensor) -> Tensor:
    first = members[0]
    updates = first.training and first.track_running_stats and first.running_mean is not None
    batch_stats = first.training or first.running_mean is None
    uses_running = first.running_mean is not None and (not first.training or first.track_running_stats)
    mean = torch.cat([m.running_mean for m in members]) if uses_running else None
    var = torch.cat([m.running_var for m in members]) if uses_running else None
    out = F.batch_norm(x, mean, var, torch.cat([m.weight for m in members]), torch.cat([m.bias for m in members]),
                       batch_stats, first.momentum if updates else 0.0, first.eps)
    if updates:
        with torch.no_grad():
            for m, mu, v in zip(members, mean.chunk(len(members)), var.chunk(len(members))):
                m.running_mean.copy_(mu)
                m.running_var.copy_(v)
                m.num_batches_tracked.add_(1)
    return out
