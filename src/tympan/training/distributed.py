"""The process group: one process (no ``torchrun``) or several under ``torchrun`` (DistributedDataParallel).

:func:`setup` reads torchrun's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``), picks the device
(a GPU per local rank with NCCL, the CPU with gloo) and starts the process group; :class:`World` then
answers who this process is and reduces numbers across the ranks. Without torchrun it is a world of one
and every reduction is the identity.

Example:
    >>> world = setup("cpu")
    >>> world.rank, world.size, world.is_main, world.sum([1.0, 2.0])
    (0, 1, True, [1.0, 2.0])
    >>> world.close()
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections.abc import Sequence

import torch

__all__ = ["World", "setup"]


@dataclasses.dataclass
class World:
    """This process's place among the training processes, and reductions over them.

    Example:
        >>> World(0, 1, 0, torch.device("cpu")).any(False)
        False
    """

    rank: int
    size: int
    local_rank: int
    device: torch.device
    started_group: bool = False

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0 (which writes logs, checkpoints and results)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether there are several processes."""
        return self.size > 1

    def _reduce(self, values: Sequence[float], op: torch.distributed.ReduceOp.RedOpType) -> list[float]:
        if not self.distributed:
            return [float(v) for v in values]
        tensor = torch.tensor([float(v) for v in values], dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(tensor, op=op)
        return tensor.tolist()

    def sum(self, values: Sequence[float]) -> list[float]:
        """The element-wise sum of ``values`` over the ranks."""
        return self._reduce(values, torch.distributed.ReduceOp.SUM)

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any rank."""
        return self._reduce([1.0 if flag else 0.0], torch.distributed.ReduceOp.MAX)[0] > 0

    def barrier(self) -> None:
        """Wait until every rank is here."""
        if self.distributed:
            torch.distributed.barrier()

    def close(self) -> None:
        """End the process group this process started."""
        if self.started_group and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
            self.started_group = False


def _device(kind: str, local_rank: int) -> torch.device:
    if kind == "cuda" or (kind == "auto" and torch.cuda.is_available()):
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def setup(device: str = "auto") -> World:
    """Join (or make) the world of training processes; see the module docstring.

    ``device`` is ``auto`` (a GPU when torch sees one), ``cuda`` or ``cpu``.
    """
    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    chosen = _device(device, local_rank)
    started = False
    if size > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if chosen.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend, timeout=datetime.timedelta(minutes=30))
        started = True
    return World(rank, size, local_rank, chosen, started)
