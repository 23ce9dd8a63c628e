"""Ghost BatchNorm (`recipe.bn_split=k`): the BatchNorm of a batch split over k devices, on one.

The released ResNet scripts wrap each network in `nn.DataParallel` over 2 GPUs. DataParallel
scatters the batch with `torch.chunk` along dim 0, every replica's BatchNorm normalises its own
chunk with that chunk's statistics, and only replica 0 writes running statistics back: the other
replicas update copies that are thrown away. The loss is taken over the gathered outputs, so the
gradients are those of one network whose BatchNorm layers normalise each chunk alone.

`GhostBatchNorm` is that layer: in train mode it normalises each of k chunks with its own batch
statistics, and only chunk 0 moves the running statistics (and the counter). Chunk 0 goes through
nn.BatchNorm's own forward, so `track_running_stats=False` (a forward that only teaches,
`learners.frozen_bn_stats`) and `momentum=None` behave as they do there. In eval mode it is plain
BatchNorm. Its parameters and buffers are those of the layer it replaces, so state_dict keys and
checkpoints do not change.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


class GhostBatchNorm(_BatchNorm):
    """BatchNorm over `splits` chunks of the batch (any dimensionality ≥ 2, like the layer it replaces)."""

    def __init__(self, num_features: int, splits: int = 1, **kw):
        super().__init__(num_features, **kw)
        self.splits = splits

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2-D input (got {input.dim()}-D input)")

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.splits == 1:
            return super().forward(x)
        first, *rest = x.chunk(self.splits)
        out = [super().forward(first)]
        # the other replicas: their own batch statistics, running statistics never read or written
        out += [F.batch_norm(c, None, None, self.weight, self.bias, True, 0.0, self.eps) for c in rest]
        return torch.cat(out)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, splits={self.splits}"


def ghost_batchnorm(module: nn.Module, splits: int) -> nn.Module:
    """Every BatchNorm layer of `module` as a GhostBatchNorm over `splits` chunks, in place where the
    layer is a child (the same parameter and buffer tensors: optimisers and checkpoints still hold).
    `splits=1` returns the module untouched."""
    if splits == 1:
        return module
    if isinstance(module, _BatchNorm):
        return _ghost(module, splits)
    for name, child in module.named_children():
        new = ghost_batchnorm(child, splits)
        if new is not child:
            module.add_module(name, new)
    return module


def _ghost(bn: _BatchNorm, splits: int) -> GhostBatchNorm:
    if isinstance(bn, GhostBatchNorm):
        bn.splits = splits
        return bn
    new = GhostBatchNorm(bn.num_features, splits, eps=bn.eps, momentum=bn.momentum, affine=bn.affine,
                         track_running_stats=bn.track_running_stats)
    if bn.affine:
        new.weight, new.bias = bn.weight, bn.bias
    new.running_mean, new.running_var = bn.running_mean, bn.running_var
    new.num_batches_tracked = bn.num_batches_tracked
    new.train(bn.training)
    return new
