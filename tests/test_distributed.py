"""minitorch.distributed and ``minitorch train --nproc`` (issue 13).

One process: the same API, no MPI (rank 0 of 1; collectives are the identity). Several:
2 ranks launched with ``mpiexec`` (the ``distributed`` extra; CI installs it) for the
collectives, equality with one process, resume with another rank count, and the faults
(a rank that raises or is killed stops every rank, non-zero, within 30 s, naming the rank;
the last checkpoint stays intact and resumable) and bad launches.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minitorch
from minitorch import distributed as dist
from minitorch.apps import cli
from minitorch.checkpoint import load_checkpoint

WORKER = Path(__file__).resolve().parent / "distributed_worker.py"
ROOT = Path(__file__).resolve().parent.parent


def _mpi_missing() -> str | None:
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed (pip install 'minitorch[distributed]')"
    if dist.mpiexec_path() is None:
        return "mpiexec is not on PATH (pip install 'minitorch[distributed]')"
    return None


needs_mpi = pytest.mark.skipif(_mpi_missing() is not None, reason=str(_mpi_missing()))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return env


def _mpiexec(
    n: int, *args: str, cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    command = [str(dist.mpiexec_path()), "-n", str(n), "--oversubscribe", sys.executable, *args]
    return subprocess.run(
        command, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )


def _train(cwd: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "minitorch", "train", "-q", *args]
    return subprocess.run(
        command, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )


def _history(folder: Path) -> list[dict[str, Any]]:
    return list(json.loads((folder / "metrics.json").read_text())["history"])


def _same_metrics(a: Path, b: Path, tol: float = 1e-6) -> None:
    ha, hb = _history(a), _history(b)
    assert len(ha) == len(hb)
    for ra, rb in zip(ha, hb):
        for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr"):
            assert math.isclose(ra[key], rb[key], rel_tol=tol, abs_tol=tol), (key, ra, rb)


# ---------------------------------------------------------------------------
# One process: the same API, no MPI
# ---------------------------------------------------------------------------


def test_one_process_needs_no_mpi_and_changes_nothing() -> None:
    assert dist.get_rank() == 0 and dist.get_world_size() == 1 and not dist.is_distributed()
    model = minitorch.layers.Linear(3, 2)
    before = [p.value.to_numpy().copy() for p in model.parameters()]
    dist.broadcast_parameters(model)
    assert all(np.array_equal(b, p.value.to_numpy()) for b, p in zip(before, model.parameters()))
    (model(minitorch.rand(4, 3)).sum()).backward()
    grads = [p.value.grad.to_numpy().copy() for p in model.parameters()]
    dist.all_reduce_gradients(model)  # world 1: the average of one gradient is itself
    assert all(
        np.array_equal(g, p.value.grad.to_numpy()) for g, p in zip(grads, model.parameters())
    )
    dist.all_reduce_gradients(model, weight=0.5)
    assert np.allclose(model.weight.value.grad.to_numpy(), grads[0] * 0.5)
    assert dist.all_reduce_sum([1.0, 2.0]).tolist() == [1.0, 2.0]
    dist.barrier()
    ddp = dist.DistributedDataParallel(model)
    assert [n for n, _ in ddp.named_parameters()] == ["module.weight", "module.bias"]
    assert ddp(minitorch.rand(2, 3)).shape == (2, 2)


def test_the_sampler_gives_each_rank_its_shard_of_the_epoch() -> None:
    shards = [dist.DistributedSampler(11, num_replicas=3, rank=r, seed=5) for r in range(3)]
    for s in shards:
        s.set_epoch(2)
    order = shards[0].order()
    assert sorted(order.tolist()) == list(range(11))
    assert [list(s) for s in shards] == [order[r::3].tolist() for r in range(3)]
    assert [len(s) for s in shards] == [4, 4, 3]
    shards[0].set_epoch(3)
    assert shards[0].order().tolist() != order.tolist()  # a new order every epoch
    batch = np.arange(10, 18)
    assert [dist.shard(batch, r, 2).tolist() for r in range(2)] == [
        [10, 12, 14, 16],
        [11, 13, 15, 17],
    ]
    with pytest.raises(ValueError, match=r"rank 3 is not in 0\.\.2"):
        dist.DistributedSampler(5, num_replicas=3, rank=3)


def test_gradients_are_packed_into_few_buckets() -> None:
    arrays = [np.zeros(10), np.zeros(10), np.zeros(100), np.zeros(5, np.float32), np.zeros(3)]
    runs = list(dist._buckets(arrays, bucket_bytes=200))
    assert runs == [[0, 1], [2], [3], [4]]  # a size limit, a big one alone, dtypes apart


def test_without_mpi4py_the_launcher_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.import_module

    def no_mpi(name: str, *a: Any) -> Any:
        if name == "mpi4py":
            raise ImportError("No module named 'mpi4py'")
        return real(name, *a)

    monkeypatch.setattr(cli.importlib, "import_module", no_mpi)
    assert cli.main(["train", "--model", "mlp", "--nproc", "2", "--epochs", "1"]) == 2
    assert "minitorch[distributed]" in capsys.readouterr().err


def test_without_mpiexec_the_launcher_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dist, "mpiexec_path", lambda: None)
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py missing: the earlier check answers first")
    assert cli.main(["train", "--model", "mlp", "--nproc", "2", "--epochs", "1"]) == 2
    assert "mpiexec" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# Two ranks under mpiexec
# ---------------------------------------------------------------------------


@needs_mpi
def test_collectives_on_two_ranks(tmp_path: Path) -> None:
    run = _mpiexec(2, str(WORKER), "collectives", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    r0, r1 = sorted((json.loads(line) for line in run.stdout.splitlines()), key=lambda r: r["rank"])
    assert r0["world"] == r1["world"] == 2
    assert r0["weights"] == r1["weights"]  # broadcast from rank 0
    # gradient k is k on rank 0 and k + 1 on rank 1: the average is k + 0.5 everywhere
    assert r0["grads"] == r1["grads"] == [k + 0.5 for k in range(40)]
    assert 1 <= r0["calls"] <= math.ceil(r0["nbytes"] / 256) + 1 < 40  # bucketed
    assert r0["sums"] == r1["sums"] == [1.0, 2.0]
    assert r0["order"] == r1["order"] and r0["shard"] == r0["order"][0::2]
    assert r1["shard"] == r1["order"][1::2]


@needs_mpi
def test_two_ranks_give_one_process_metrics_and_resume_with_another_count(
    tmp_path: Path,
) -> None:
    one = _train(tmp_path, "--model", "mlp", "--epochs", "2", "--out", "one")
    assert one.returncode == 0, one.stderr
    two = _train(tmp_path, "--model", "mlp", "--epochs", "2", "--out", "two", "--nproc", "2")
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("final test accuracy") == 1  # rank 0 alone reports
    _same_metrics(tmp_path / "one", tmp_path / "two")
    # one epoch on 2 ranks resumed on 1, and on 1 resumed on 2, give the same run (each
    # started with --epochs 1: the cosine schedule spans the epochs a run starts with)
    by_hand = ("-m", "minitorch", "train", "-q", "--model", "mlp", "--epochs", "1", "--out", "a")
    start = _mpiexec(2, *by_hand, cwd=tmp_path)  # mpiexec -n 2 minitorch train works too
    assert start.returncode == 0, start.stderr
    start = _train(tmp_path, "--model", "mlp", "--epochs", "1", "--out", "b")
    assert start.returncode == 0, start.stderr
    for folder, then in (("a", "1"), ("b", "2")):
        rest = _train(tmp_path, "--resume", folder, "--epochs", "2", "--nproc", then)
        assert rest.returncode == 0, rest.stderr
    _same_metrics(tmp_path / "a", tmp_path / "b")
    assert math.isclose(
        _history(tmp_path / "a")[0]["train_loss"], _history(tmp_path / "one")[0]["train_loss"]
    )


@needs_mpi
@pytest.mark.parametrize("fail", ["raise", "kill"])
def test_a_failing_rank_stops_every_rank_and_the_checkpoint_survives(
    tmp_path: Path, fail: str
) -> None:
    start = time.monotonic()
    run = _mpiexec(2, str(WORKER), "train", "run", "3", fail, cwd=tmp_path, timeout=60)
    took = time.monotonic() - start
    assert run.returncode != 0 and took < 30, (took, run.stderr[-2000:])
    err = run.stderr
    if fail == "raise":
        assert "rank 1 of 2 failed (RuntimeError: a planned failure on rank 1)" in err
    else:
        assert "rank 1" in err and ("signal 9" in err or "Killed" in err), err[-2000:]
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint.npz")  # written atomically: intact
    assert ckpt.meta["epoch"] in (1, 2)
    resumed = _train(tmp_path, "--resume", "run", "--epochs", "3")
    assert resumed.returncode == 0, resumed.stderr
    assert len(_history(tmp_path / "run")) == 3


@needs_mpi
def test_more_ranks_than_a_batch_holds_is_refused(tmp_path: Path) -> None:
    run = _train(
        tmp_path, "--backend", "tensor", "--dataset", "Xor", "--batch-size", "2", "--nproc", "3"
    )
    assert run.returncode != 0
    # every rank finds the same fault; whichever reports first aborts the others
    assert re.search(
        r"\(rank [012] of 3\): error: 3 ranks need at least 3 examples in every batch", run.stderr
    ), run.stderr[-2000:]


@needs_mpi
def test_the_scalar_backend_is_refused_on_several_ranks(tmp_path: Path) -> None:
    run = _train(tmp_path, "--backend", "scalar", "--dataset", "Xor", "--nproc", "2")
    assert run.returncode != 0 and "scalar backend" in run.stderr
