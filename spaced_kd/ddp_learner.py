"""A learner whose networks train under DistributedDataParallel, one rank's part of each batch.

`DistributedLearner` wraps any learner (peer or self KD) and offers the engine the same interface.
Each trained network — teacher, student, the student's projector, the self-KD network — is wrapped
in its own `DistributedDataParallel`, so every backward averages that network's gradients across
ranks with PyTorch's own reducer. The learner's `modules` keep the bare networks: checkpoints have
the keys of a single-process run, and a run resumes on any rank count.

- The gradient of step t is the gradient of the loss over step t's global batch: each rank's
  gradient is weighted by its share of the batch (a DDP communication hook that scales the bucket
  before DDP's all-reduce), so a short last batch split 4/4/4/3 counts each sample once, as in a
  single process. With equal shares this is DDP's own average.
- Evaluation runs the bare networks on this rank's part of each split (Data.set_shard); counts
  of correct answers and summed losses are all-reduced, so every rank reports the whole split.
- `all_finite` is agreed by all ranks (one rank's NaN stops them all at the same event).
"""
from __future__ import annotations

import hashlib
import inspect
import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Dict, Iterator, Tuple

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from . import sync_bn as sbn
from .data import Data
from .learners import Batches, Learner

# the keyword that says whether DDP sends rank 0's buffers before each forward (renamed in torch 2.11)
_SYNC_BUFFERS = ("forward_sync_buffers" if "forward_sync_buffers" in
                 inspect.signature(DistributedDataParallel.__init__).parameters else "broadcast_buffers")
# Test hook: each rank appends "step sha256" of every (x, y) it trains on to $VALUE.rank<r>.
BATCH_LOG_ENV = "SPACED_KD_BATCH_LOG"
WRAPPED = ("student", "teacher", "projector", "net")  # learner attributes that hold trained networks


@dataclass
class Share:
    """This rank's fraction of the current step's global batch (read by the communication hook)."""

    value: float = 1.0


def _weighted_allreduce(share, bucket):  # (no annotations: DDP checks them against its own types)
    buf = bucket.buffer()
    buf.mul_(share.value)
    return dist.all_reduce(buf, async_op=True).get_future().then(lambda fut: fut.value()[0])


class DistributedLearner:
    def __init__(self, learner: Learner, data: Data, device: torch.device, *, sync_bn: bool = False,
                 find_unused: bool = False, control: dist.ProcessGroup | None = None):
        self.inner, self.data, self.control = learner, data, control
        self.share = Share()
        log = os.environ.get(BATCH_LOG_ENV)
        self.batch_log = open(f"{log}.rank{dist.get_rank()}", "a", buffering=1) if log else None
        self.bare: Dict[str, nn.Module] = {}
        self.wrapped: Dict[str, DistributedDataParallel] = {}
        for name in WRAPPED:
            net = getattr(learner, name, None)
            if not isinstance(net, nn.Module):
                continue
            if sync_bn:
                net = sbn.convert(net, device)
            ddp = DistributedDataParallel(
                net, device_ids=[device.index if device.index is not None else torch.cuda.current_device()]
                if device.type == "cuda" else None, find_unused_parameters=find_unused,
                # per-rank BatchNorm: rank 0's running statistics are the network's, sent to the
                # others before each forward (PyTorch's default); synchronised BatchNorm keeps every
                # rank's statistics equal already
                **{_SYNC_BUFFERS: not sync_bn})
            ddp.register_comm_hook(self.share, _weighted_allreduce)
            self.bare[name], self.wrapped[name] = net, ddp
            setattr(learner, name, ddp)

    # -- what the engine and the session use
    @property
    def eval_roles(self) -> tuple[str, ...]:
        return self.inner.eval_roles

    def run_event(self, ev, x: Tensor, y: Tensor) -> Dict[str, Tensor]:
        self.share.value = x.shape[0] / self.data.step_size(ev.step)
        if self.batch_log is not None:
            self.batch_log.write(f"{ev.step} {digest(x, y)}\n")
        return self.inner.run_event(ev, x, y)

    def evaluate(self, role: str, batches: Batches) -> Dict[str, Tuple[float, float]]:
        counted = _Counted(batches)
        with self._bare():
            local = self.inner.evaluate(role, counted)
        names = sorted(local)
        n = counted.n
        sums = torch.tensor([n] + [v for k in names for v in (round(local[k][0] * n / 100.0), local[k][1] * n)],
                            dtype=torch.float64)
        dist.all_reduce(sums, group=self.control)
        total = sums[0].item()
        return {k: (100.0 * sums[1 + 2 * i].item() / total, sums[2 + 2 * i].item() / total) for i, k in enumerate(names)}

    def all_finite(self) -> bool:
        ok = torch.tensor([1 if self.inner.all_finite() else 0], dtype=torch.int32)
        dist.all_reduce(ok, op=dist.ReduceOp.MIN, group=self.control)
        return bool(ok.item())

    def state_dict(self) -> dict:
        return self.inner.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.inner.load_state_dict(state)

    def __getattr__(self, name: str):  # anything else (modules, optimizers …) is the learner's
        return getattr(self.inner, name)

    @contextmanager
    def _bare(self) -> Iterator[None]:
        """The bare networks in place of their DDP wrappers: evaluation is per rank, no collective
        inside a forward (ranks may hold different numbers of evaluation batches)."""
        for name, net in self.bare.items():
            setattr(self.inner, name, net)
        try:
            yield
        finally:
            for name, ddp in self.wrapped.items():
                setattr(self.inner, name, ddp)


class _Counted:
    """Batches passed through, counting their samples."""

    def __init__(self, batches: Batches):
        self.batches, self.n = batches, 0

    def __iter__(self):
        for x, y in self.batches:
            self.n += int(y.shape[0])
            yield x, y


def needs_unused_search(kd_mode: str, model_names: list[str]) -> bool:
    """Whether a backward may leave some of a wrapped network's parameters without a gradient: a
    self-KD teacher step trains the deepest head only; a distilled DeiT teacher's distillation head
    teaches nothing. DDP must then look for unused parameters after each forward."""
    return kd_mode == "self" or any("distilled" in (n or "") for n in model_names)


def digest(x: Tensor, y: Tensor) -> str:
    h = hashlib.sha256(x.detach().cpu().contiguous().numpy().tobytes())
    h.update(y.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
