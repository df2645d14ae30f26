"""Data-parallel training throughput on MPI: the digits CNN at 1 rank and at 2 ranks.

Workload: ``minitorch train``'s default model, ``default_config("cnn")`` on the bundled
digits (float32, Adam), built by ``build_model``/``load_data`` and stepped by ``train_step``
under ``minitorch.compile``, as ``fit`` does it: each rank takes ``distributed.shard`` of
every global batch (the same global batch size at 1 and 2 ranks) and its share weights the
gradient all-reduce; every step also reads the loss and the batch's statistics back.

For each global batch size (default 32, the app's, and 128) it reports

* samples/s = global batch x steps / wall time of the timed steps (between two barriers;
  warm-up steps, which include the compile trace, are not timed), at 1 rank and at 2;
* the speed-up (2-rank samples/s over 1-rank; target >= 1.7x: ``ok`` or ``MISS``);
* ms/step, and the communication ms/step: time inside ``distributed.all_reduce_gradients``
  on rank 0 (the transfer plus any wait for the slower rank) and its share of the step,
  and the same time on rank 1 (the other rank waits too when rank 0 is the slower);
* where a step's time goes on rank 0: building the batch, the compiled step (forward,
  backward, all-reduce, Adam), reading the loss and statistics back; and ``allreduce-only``,
  the same all-reduce of the gradients timed alone after a barrier (the transfer, no wait).

Structure: this script launches itself as ``mpiexec -n K --oversubscribe python3
bench_distributed.py --rank-worker ...`` for K in (1, 2), interleaved (1, 2, 1, 2, ... for
``--repeats`` rounds, to spread the noise of other processes over both) and reports the
median over the rounds. Every rank runs BLAS on one thread (``OMP_NUM_THREADS`` and
``OPENBLAS_NUM_THREADS`` = 1 in the ranks' environment, and threadpoolctl where installed);
rank 0 of each launch prints one JSON line (prefixed ``BENCH_DISTRIBUTED``).

Run from the repository root (BLAS variables of old OpenBLAS builds unset)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benchmarks/bench_distributed.py
    python3 benchmarks/bench_distributed.py --quick          # a few steps: the script works
    python3 benchmarks/bench_distributed.py --batch 32,256 --steps 300 --repeats 5

Without mpi4py or mpiexec it says what is missing and exits 0.
"""

from __future__ import annotations

import os
import sys

if "--rank-worker" in sys.argv:  # one BLAS thread per rank, before NumPy is imported
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import argparse
import contextlib
import cProfile
import importlib.util
import json
import platform
import pstats
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TARGET = 1.7
"""The issue's target: 2-rank throughput at least this many times the 1-rank throughput."""
MARK = "BENCH_DISTRIBUTED "
RANKS = (1, 2)
_ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------
# The rank worker (runs under mpiexec)
# ---------------------------------------------------------------------------


def _one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[Any] = threadpool_limits(limits=1, user_api="blas")
    return limits


@contextlib.contextmanager
def _timed_all_reduce(totals: dict[str, float]) -> Iterator[None]:
    """Within the block, ``distributed.all_reduce_gradients`` is a live step that adds its
    wall time to ``totals["comm"]``: live (``_trace.live``) so that every replay of the
    compiled step calls the timed function, not only the trace."""
    from minitorch import _trace, distributed

    original = distributed.all_reduce_gradients
    inner = original.__wrapped__  # type: ignore[attr-defined]

    def timed(*args: Any, **kwargs: Any) -> None:
        t0 = time.perf_counter()
        inner(*args, **kwargs)
        totals["comm"] += time.perf_counter() - t0

    distributed.all_reduce_gradients = _trace.live(timed)
    try:
        yield
    finally:
        distributed.all_reduce_gradients = original


def measure(
    batch: int, steps: int, warmup: int, seed: int = 0, profile: bool = False
) -> dict[str, Any]:
    """Train the digits CNN for ``warmup`` then ``steps`` steps of global batch ``batch`` on
    this rank (its shard of each batch) and return rank 0's timings (every rank calls it).
    ``profile``: also cProfile rank 0's timed steps (the top functions by own time go in
    ``"profile"``)."""
    import numpy as np

    import minitorch
    from minitorch import distributed
    from minitorch.apps import train
    from minitorch.optim import Adam
    from minitorch.tensor import Tensor

    world, rank = distributed.get_world_size(), distributed.get_rank()
    config = train.default_config("cnn", batch_size=batch, seed=seed)
    data = train.load_data(config)
    model = train.build_model(config, data.x_train.shape[1:], data.classes)
    distributed.broadcast_parameters(model)
    optimizer = Adam(model.parameters(), lr=config.lr)
    step_fn = minitorch.compile(train.train_step(config, model, optimizer))
    totals = {"comm": 0.0, "data": 0.0, "step": 0.0, "read": 0.0}

    n = len(data.x_train)
    if batch > n:
        raise ValueError(f"--batch {batch} is larger than the {n} training digits.")
    per_epoch = n // batch  # full batches only: one batch shape, one trace
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)

    def run(count: int, start: int) -> None:
        nonlocal order
        for s in range(start, start + count):
            t0 = time.perf_counter()
            k = s % per_epoch
            if k == 0 and s:
                order = rng.permutation(n)
            idx = order[k * batch : (k + 1) * batch]
            part = distributed.shard(idx, rank, world)
            share = len(part) / len(idx)
            x_t = Tensor(data.x_train[part])
            target = train.batch_targets(config, data.y_train[part])
            t1 = time.perf_counter()
            if world > 1:
                loss, out = step_fn(x_t, target, share)
            else:
                loss, out = step_fn(x_t, target)
            t2 = time.perf_counter()
            value = loss.item()
            train.batch_stats(config, loss, out, data.y_train[part])
            if value != value:
                raise FloatingPointError(f"the loss became NaN at step {s}")
            t3 = time.perf_counter()
            totals["data"] += t1 - t0
            totals["step"] += t2 - t1
            totals["read"] += t3 - t2

    with _one_blas_thread(), _timed_all_reduce(totals):
        run(warmup, 0)
        for key in totals:
            totals[key] = 0.0
        profiler = cProfile.Profile() if profile and rank == 0 else None
        distributed.barrier()
        t0 = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        run(steps, warmup)
        if profiler is not None:
            profiler.disable()
        distributed.barrier()
        wall = time.perf_counter() - t0
    with _one_blas_thread():
        transfer = _allreduce_alone(model, repeats=max(10, min(steps, 100)))
    ms = 1000.0 / steps
    per_rank = np.zeros(world)
    per_rank[rank] = totals["comm"] * ms
    comm_ranks = distributed.all_reduce_sum(per_rank).tolist()  # every rank's comm ms/step
    found = {} if profiler is None else {"profile": _top(profiler, steps)}
    return found | {
        "ranks": world,
        "batch": batch,
        "steps": steps,
        "samples_per_s": batch * steps / wall,
        "ms_step": wall * ms,
        "comm_ms": totals["comm"] * ms,
        "data_ms": totals["data"] * ms,
        "step_ms": totals["step"] * ms,
        "read_ms": totals["read"] * ms,
        "allreduce_alone_ms": transfer,
        "comm_ms_max_other": max(comm_ranks[1:], default=0.0),
        "grad_bytes": sum(p.value._tensor._array.nbytes for p in model.parameters()),
    }


def _top(profiler: cProfile.Profile, steps: int, count: int = 15) -> str:
    """cProfile's ``count`` functions with the most own time, in ms per step."""
    stats = pstats.Stats(profiler)
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:count]  # type: ignore[attr-defined]
    lines = [f"{'own ms/step':>11} {'cum ms/step':>11} {'calls/step':>10}  function"]
    for (path, line, name), (_, calls, own, cum, _) in rows:
        where = f"{Path(path).name}:{line}({name})" if line else name
        lines.append(
            f"{1000 * own / steps:11.3f} {1000 * cum / steps:11.3f} {calls / steps:10.1f}  {where}"
        )
    return "\n".join(lines)


def _allreduce_alone(model: Any, repeats: int) -> float:
    """ms of one all-reduce of ``model``'s gradients after a barrier (no waiting for a
    slower rank: the transfer itself); 0 with one rank."""
    from minitorch import distributed

    if not distributed.is_distributed():
        return 0.0
    for p in model.parameters():
        p.value.grad = p.value.zeros()
    total = 0.0
    for _ in range(repeats):
        distributed.barrier()
        t0 = time.perf_counter()
        distributed.all_reduce_gradients(model)
        total += time.perf_counter() - t0
    return 1000.0 * total / repeats


def worker(args: argparse.Namespace) -> int:
    """``--rank-worker``: measure every batch size; rank 0 prints one JSON line."""
    from minitorch import distributed

    rows = [measure(b, args.steps, args.warmup, profile=args.profile) for b in args.batch]
    if distributed.get_rank() == 0:
        print(MARK + json.dumps({"ranks": distributed.get_world_size(), "rows": rows}), flush=True)
    return 0


# ---------------------------------------------------------------------------
# The launcher
# ---------------------------------------------------------------------------


def _mpiexec() -> str | None:
    return shutil.which("mpiexec") or shutil.which("mpiexec", path=str(Path(sys.executable).parent))


def missing() -> str | None:
    """Why the benchmark cannot run here (None: it can)."""
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed"
    if _mpiexec() is None:
        return "mpiexec (Open MPI) is not on PATH"
    return None


def _halves(batches: list[int]) -> list[int]:
    """Each batch size's larger 2-rank shard, ⌈b/2⌉, not already among ``batches``."""
    return [h for h in dict.fromkeys((b + 1) // 2 for b in batches) if h not in batches]


def launch(ranks: int, args: argparse.Namespace, timeout: float) -> dict[str, Any]:
    """Run the worker as ``ranks`` MPI ranks and return rank 0's JSON record. One rank also
    measures half of each batch size: the step a 2-rank shard computes, without MPI."""
    batches = args.batch + (_halves(args.batch) if ranks == 1 else [])
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # Open MPI refuses root unless told
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    command = [
        str(_mpiexec()),
        "-n",
        str(ranks),
        "--oversubscribe",
        sys.executable,
        str(Path(__file__).resolve()),
        "--rank-worker",
        "--batch",
        ",".join(map(str, batches)),
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        *(["--profile"] if args.profile else []),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    for line in done.stdout.splitlines():
        if line.startswith(MARK):
            record: dict[str, Any] = json.loads(line[len(MARK) :])
            return record
    raise RuntimeError(
        f"{ranks}-rank run failed (exit status {done.returncode}):\n"
        f"{done.stdout[-2000:]}{done.stderr[-4000:]}"
    )


def summarise(runs: dict[int, list[dict[str, Any]]], batches: list[int]) -> list[dict[str, Any]]:
    """Per batch and rank count (and one rank at each half batch), the median of every
    figure over the repeats."""
    out = []
    for b, k in [(b, k) for b in batches for k in RANKS] + [(h, 1) for h in _halves(batches)]:
        rows = [r for rec in runs[k] for r in rec["rows"] if r["batch"] == b]
        if rows:
            numbers = [key for key, v in rows[0].items() if isinstance(v, (int, float))]
            med = {key: statistics.median(r[key] for r in rows) for key in numbers}
            med.update(ranks=k, batch=b, repeats=len(rows))
            out.append(med)
    return out


def report(summary: list[dict[str, Any]], batches: list[int]) -> list[str]:
    """The table's lines, and the speed-up of each batch size against ``TARGET``."""
    lines = [
        "global batch | ranks | samples/s | ms/step | comm ms/step rank 0 (share), rank 1 | "
        "batch+step+read ms | allreduce-only ms",
    ]
    by = {(r["batch"], r["ranks"]): r for r in summary}
    for b in batches:
        for k in RANKS:
            r = by[(b, k)]
            share = 100.0 * r["comm_ms"] / r["ms_step"] if r["ms_step"] else 0.0
            lines.append(
                f"{b:12d} | {k:5d} | {r['samples_per_s']:9.0f} | {r['ms_step']:7.2f} | "
                f"{r['comm_ms']:7.3f} ({share:4.1f} %), {r['comm_ms_max_other']:.3f}"
                f"{'':14s}| "
                f"{r['data_ms']:.2f}+{r['step_ms']:.2f}+{r['read_ms']:.2f}   | "
                f"{r['allreduce_alone_ms']:.3f}"
            )
    for b in batches:
        up = by[(b, 2)]["samples_per_s"] / by[(b, 1)]["samples_per_s"]
        verdict = "ok" if up >= TARGET else "MISS"
        lines.append(
            f"speed-up at global batch {b}: {up:.2f}x (2 ranks / 1 rank; target >= "
            f"{TARGET}x) {verdict}"
        )
        half = by.get(((b + 1) // 2, 1))
        if half is not None:
            lines.append(
                f"  without communication at most {by[(b, 1)]['ms_step'] / half['ms_step']:.2f}x:"
                f" 1 rank's step at batch {b} ({by[(b, 1)]['ms_step']:.2f} ms) / at its "
                f"2-rank shard, batch {(b + 1) // 2} ({half['ms_step']:.2f} ms)"
            )
    return lines


def _batches(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--batch takes global batch sizes separated by commas, e.g. 32,128; got {text!r}"
        ) from None
    if not values or min(values) < 2:
        raise argparse.ArgumentTypeError(
            f"--batch: each global batch needs at least 2 examples (one per rank); got {text!r}"
        )
    return values


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--batch", type=_batches, default=None, help="global batch sizes (32,128)")
    p.add_argument("--steps", type=_positive, default=None, help="timed steps per run (300)")
    p.add_argument("--warmup", type=_positive, default=None, help="untimed steps first (10)")
    p.add_argument("--repeats", type=_positive, default=None, help="rounds of 1, 2 ranks (5)")
    p.add_argument("--quick", action="store_true", help="a few steps, one round")
    p.add_argument("--profile", action="store_true", help="print a cProfile of rank 0's steps")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per launch")
    p.add_argument("--rank-worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    quick = {"batch": [32, 128], "steps": 3, "warmup": 1, "repeats": 1}
    full = {"batch": [32, 128], "steps": 300, "warmup": 10, "repeats": 5}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.rank_worker:
        return worker(args)
    why = missing()
    if why is not None:
        print(
            f"bench_distributed: {why}; nothing to measure. Install the extra: "
            "pip install 'minitorch[distributed]' (mpi4py and Open MPI's mpiexec)."
        )
        return 0
    import numpy as np

    print(
        f"bench_distributed: digits CNN (minitorch train's default model), Adam, float32; "
        f"{args.steps} timed steps after {args.warmup} warm-up, {args.repeats} interleaved "
        f"rounds of {' and '.join(map(str, RANKS))} ranks; one BLAS thread per rank\n"
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, NumPy {np.__version__}"
    )
    runs: dict[int, list[dict[str, Any]]] = {k: [] for k in RANKS}
    try:
        for _ in range(args.repeats):
            for k in RANKS:
                runs[k].append(launch(k, args, args.timeout))
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        print(f"bench_distributed: {err}", file=sys.stderr)
        return 1
    summary = summarise(runs, args.batch)
    grad_kib = summary[0]["grad_bytes"] / 1024
    print(f"gradients: {grad_kib:.0f} KiB a step (one all-reduce bucket); medians of the rounds")
    for line in report(summary, args.batch):
        print(line)
    if args.profile:
        print("\n(timings above are under cProfile: slower than without --profile)")
        for b in args.batch:
            for k in RANKS:
                row = next(r for r in runs[k][-1]["rows"] if r["batch"] == b)
                print(f"\nprofile of rank 0 at {k} rank(s), global batch {b} (last round):")
                print(row["profile"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
