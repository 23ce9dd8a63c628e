"""`trainer.sync_bn=true`: BatchNorm statistics over the global batch instead of each rank's part.

On CUDA this is PyTorch's own `nn.SyncBatchNorm`. PyTorch refuses it on the CPU (its kernels are
CUDA-only, and DistributedDataParallel rejects a CPU module that holds one), so a run over gloo
gets `CpuSyncBatchNorm`: the same statistics — the mean and biased variance over every rank's
samples, the running variance unbiased by the global count — computed with PyTorch's
differentiable all-reduce (torch.distributed.nn), whose backward all-reduces the statistics'
gradients. It exchanges BatchNorm statistics only; gradients still go through DDP.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


class CpuSyncBatchNorm(_BatchNorm):
    """BatchNorm over the whole process group's batch, for CPU tensors (any dimensionality)."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2-D input (got {input.dim()}-D input)")

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training and dist.is_initialized()):
            return super().forward(x)
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = torch.tensor([float(x.numel() // x.shape[1])], dtype=torch.float64)
        dist.all_reduce(count)
        n = count.item()
        mean = dist_fn.all_reduce(x.sum(dims)) / n
        centred = x - mean.view(shape)
        var = dist_fn.all_reduce((centred * centred).sum(dims)) / n
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = (1.0 / float(self.num_batches_tracked)) if self.momentum is None else self.momentum
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(var.detach() * (n / max(n - 1, 1)), alpha=m)
        return y


def convert(module: nn.Module, device: torch.device) -> nn.Module:
    """Every BatchNorm layer of `module` made synchronised, in place where the layer is a child
    (its parameters and buffers are the same tensors: optimisers and state_dict keys still hold)."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return _convert_cpu(module)


def _convert_cpu(module: nn.Module) -> nn.Module:
    if isinstance(module, _BatchNorm) and not isinstance(module, CpuSyncBatchNorm):
        new = CpuSyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                               module.track_running_stats)
        if module.affine:
            new.weight, new.bias = module.weight, module.bias
        new.running_mean, new.running_var = module.running_mean, module.running_var
        new.num_batches_tracked = module.num_batches_tracked
        new.train(module.training)
        return new
    for name, child in module.named_children():
        new = _convert_cpu(child)
        if new is not child:
            module.add_module(name, new)
    return module


def has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(m, _BatchNorm) for m in module.modules())
