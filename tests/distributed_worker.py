"""What ``tests/test_distributed.py`` runs on each MPI rank: ``mpiexec -n 2 python3
distributed_worker.py MODE [OUT]``. Each mode prints one JSON line per rank (or fails on
purpose, for the fault tests)."""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

import numpy as np

import minitorch
from minitorch import distributed as dist
from minitorch.apps.train import default_config, fit
from minitorch.layers import Linear


def _report(**values: Any) -> None:
    print(json.dumps({"rank": dist.get_rank(), **values}), flush=True)


def collectives() -> None:
    """Broadcast, the averaged gradients (bucketed), metric sums and the sampler."""
    rank, world = dist.get_rank(), dist.get_world_size()
    minitorch.manual_seed(rank)  # different weights on each rank until the broadcast
    layers = [Linear(3, 2) for _ in range(20)]  # 40 small parameters
    model = minitorch.layers.Sequential(*layers)
    ddp = dist.DistributedDataParallel(model, bucket_bytes=256)
    weights = [p.value.to_numpy().tolist() for p in model.parameters()]
    for k, p in enumerate(model.parameters()):  # gradient of parameter k on rank r: r + k
        p.value.grad = minitorch.full(p.value.shape, float(rank + k))
    comm = dist._comm()
    calls = []
    real = comm.Allreduce

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(comm, name)

        def Allreduce(self, *a: Any, **k: Any) -> Any:
            calls.append(1)
            return real(*a, **k)

    dist._COMM = Counting()
    ddp.all_reduce_gradients()
    dist._COMM = comm
    grads = [float(p.value.grad.to_numpy().reshape(-1)[0]) for p in model.parameters()]
    sums = dist.all_reduce_sum([rank, 1.0]).tolist()
    sampler = dist.DistributedSampler(10, seed=3)
    sampler.set_epoch(1)
    _report(
        world=world,
        weights=weights,
        grads=grads,
        calls=len(calls),
        nbytes=sum(p.value.to_numpy().nbytes for p in model.parameters()),
        sums=sums,
        shard=list(sampler),
        order=sampler.order().tolist(),
    )


def train(out: str, epochs: int, fail: str = "") -> None:
    """``fit`` the digits MLP; ``fail`` = "raise" or "kill" makes rank 1 fail in epoch 2."""
    config = default_config("mlp", epochs=epochs)

    def on_epoch(record: dict[str, Any]) -> None:
        if dist.get_rank() == 1 and record["epoch"] == 2:
            if fail == "raise":
                raise RuntimeError("a planned failure on rank 1")
            if fail == "kill":
                os.kill(os.getpid(), signal.SIGKILL)

    metrics = fit(config, out, progress=False, log=None, on_epoch=on_epoch)
    _report(final=metrics["final"], loss=np.asarray(metrics["final"]["train_loss"]).item())


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "collectives":
        collectives()
    else:
        train(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "")
