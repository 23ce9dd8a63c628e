"""Who this process is in a multi-process run, and the process group it trains in.

One run may span N processes (docs/ddp.md). Each learns its rank and the world size from its
environment: the torchrun variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), or,
in a Slurm job that submitit started with several tasks, submitit's TorchDistributedEnvironment,
which exports the same variables. A process that finds neither is a run of its own (world size 1)
and never touches torch.distributed.

`trainer.device=cuda` trains over NCCL, one GPU per process (cuda:LOCAL_RANK); the CPU trains over
gloo, which is how the tests run it.
"""
from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

import torch
import torch.distributed as dist

from .errors import UserError
from .nets import resolve_device

# How long a collective may wait for a rank before the run fails (a rank that hangs, not one that
# dies: a dead rank's sockets close and its peers fail at once).
TIMEOUT_ENV = "SPACED_KD_DDP_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 600


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    launcher: str = "single"  # single | torchrun | slurm

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


SINGLE = World()


def _int_env(name: str) -> Optional[int]:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise UserError(f"environment variable {name}={value!r} is not an integer") from None


def _submitit_tasks() -> int:
    """Tasks of the submitit Slurm job this process runs in (0: not in one)."""
    if os.environ.get("SUBMITIT_EXECUTOR") != "slurm":
        return 0
    return _int_env("SLURM_NTASKS") or 0


def from_env() -> World:
    """This process's place in its run, read from the launcher's environment."""
    if _int_env("WORLD_SIZE") is not None and _int_env("RANK") is not None:
        size, rank = _int_env("WORLD_SIZE"), _int_env("RANK")
        local = _int_env("LOCAL_RANK") or 0
        launcher = "torchrun" if "TORCHELASTIC_RUN_ID" in os.environ else "env"
    elif _submitit_tasks() > 1:
        from submitit.helpers import TorchDistributedEnvironment

        env = TorchDistributedEnvironment().export(set_cuda_visible_devices=False, overwrite=True)
        size, rank, local, launcher = env.world_size, env.rank, env.local_rank, "slurm"
    else:
        return SINGLE
    if size < 1 or not 0 <= rank < size:
        raise UserError(f"the launcher says rank {rank} of world size {size}; a rank must be in [0, world size)")
    if size == 1:
        return SINGLE
    return World(rank, size, local, launcher)


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def device_for(name: str, world: World) -> str:
    """The device a rank trains on: cuda:LOCAL_RANK under CUDA (set as the current device, so
    `torch.device("cuda")` means it), the CPU otherwise."""
    kind = resolve_device(name).type
    if kind == "cuda":
        torch.cuda.set_device(world.local_rank % torch.cuda.device_count())
    return kind


_CONTROL: dict = {}  # the gloo group for control messages of a CUDA process group, made once


def init(world: World, device: torch.device) -> None:
    """Join the process group (env:// rendezvous: MASTER_ADDR, MASTER_PORT) once per process.

    The group outlives a run: a sweep under torchrun trains its runs one after another in the same
    processes, and a second rendezvous on the same store races with the first one's keys (seen as
    a failed group creation or a hang in one run of several). It is closed when the process ends.
    """
    backend = backend_for(device)
    if dist.is_initialized():
        if dist.get_backend() == backend:
            return
        close()  # a run on another device kind: a group of the right backend
    for key in ("MASTER_ADDR", "MASTER_PORT"):
        if not os.environ.get(key):
            raise UserError(f"rank {world.rank} of {world.size}: {key} is not set; launch with torchrun or "
                            f"hydra/launcher=slurm_ddp")
    timeout = timedelta(seconds=_int_env(TIMEOUT_ENV) or DEFAULT_TIMEOUT_S)
    kw = {"device_id": device} if device.type == "cuda" else {}
    dist.init_process_group(backend, rank=world.rank, world_size=world.size, timeout=timeout, **kw)
    atexit.register(close)


def control_group(device: torch.device):
    """Where small control messages (decisions, evaluation sums, agreement) go: the process group
    itself on the CPU, a gloo group beside NCCL on CUDA."""
    if device.type != "cuda":
        return None
    if "gloo" not in _CONTROL:
        _CONTROL["gloo"] = dist.new_group(backend="gloo")
    return _CONTROL["gloo"]


def close() -> None:
    _CONTROL.clear()
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard(n: int, rank: int, size: int) -> tuple[int, int]:
    """[lo, hi) of rank's contiguous part of n items: sizes differ by at most one, the first
    n % size ranks take the larger parts (numpy.array_split's rule, torch.tensor_split's too)."""
    base, extra = divmod(n, size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)
