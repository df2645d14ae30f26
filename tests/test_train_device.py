"""``minitorch train --device cuda`` (issue 12): training on the GPU gives the CPU's numbers,
and without CuPy or a GPU the command says what is missing.

The ``cuda`` fixture runs each device test on ``fake_cupy`` (everywhere) and, marker
``gpu``, on a real GPU where there is one.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minitorch
import minitorch.apps.train as train_module
from minitorch import devices
from minitorch.apps.cli import build_parser, main, run_config
from minitorch.apps.train import (
    METRICS,
    DataSplit,
    TrainConfig,
    build_model,
    default_config,
    fit,
)
from minitorch.module import Module
from minitorch.tensor import Tensor

TRAIN, TEST = 160, 64
"""The subset of the digits each test trains on (one epoch)."""


def _float64_subset(monkeypatch: pytest.MonkeyPatch) -> None:
    """``fit`` loads the first TRAIN/TEST points of its data, in float64."""
    load = train_module.load_data

    def small(config: TrainConfig) -> DataSplit:
        d = load(config)
        return dataclasses.replace(
            d,
            x_train=d.x_train[:TRAIN].astype(np.float64),
            y_train=d.y_train[:TRAIN],
            x_test=d.x_test[:TEST].astype(np.float64),
            y_test=d.y_test[:TEST],
        )

    monkeypatch.setattr(train_module, "load_data", small)


def _model(config: TrainConfig) -> Module:
    """``config``'s model (its own seed), in float64."""
    data = train_module.load_data(config)
    model = build_model(config, data.x_train.shape[1:], data.classes)
    for p in model.parameters():
        if isinstance(p.value, Tensor):
            p.update(Tensor(np.asarray(p.value.to_numpy(), dtype=np.float64)))
    return model


CONFIGS = {
    "lecture tensor network": {"model": "tensor", "epochs": 1, "batch_size": 10},
    "digits mlp": {"model": "mlp", "epochs": 1, "hidden": 32, "optimizer": "sgd"},
}


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("which", list(CONFIGS))
def test_fit_on_cuda_equals_fit_on_the_cpu(
    cuda: str, monkeypatch: pytest.MonkeyPatch, which: str, compiled: bool
) -> None:
    _float64_subset(monkeypatch)
    config = default_config(**CONFIGS[which])
    runs = {}
    for device in ("cpu", "cuda"):
        c = dataclasses.replace(config, device=device)
        model = _model(c)
        runs[device] = fit(c, model=model, progress=False, log=None, compile_step=compiled)
        for p in model.parameters():
            assert p.value.device == minitorch.Device(device)
            assert p.value.dtype == np.float64
    cpu, gpu = runs["cpu"]["final"], runs["cuda"]["final"]
    for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy"):
        assert gpu[key] == pytest.approx(cpu[key], rel=1e-9, abs=1e-12), key
    assert runs["cuda"]["config"]["device"] == "cuda"


def test_run_folder_records_the_device_and_resumes_on_the_cpu(
    cuda: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _float64_subset(monkeypatch)
    config = default_config("mlp", hidden=8, epochs=1, device="cuda")
    out = tmp_path / "run"
    fit(config, out, progress=False, log=None)
    saved = json.loads((out / METRICS).read_text())
    assert saved["config"]["device"] == "cuda"
    # --resume without --device: the device of the run
    args = build_parser().parse_args(["train", "--resume", str(out), "--epochs", "2"])
    assert run_config(args)[0].device == "cuda"
    # the checkpoint holds host arrays: the run continues on the CPU
    args = build_parser().parse_args(
        ["train", "--resume", str(out), "--epochs", "2", "--device", "cpu"]
    )
    resumed, folder, resume = run_config(args)
    assert resumed.device == "cpu" and resume
    metrics = fit(resumed, folder, resume=True, progress=False, log=None)
    assert metrics["epochs_done"] == 2 and metrics["config"]["device"] == "cpu"
    assert np.isfinite(metrics["final"]["test_loss"])


def test_divergence_is_found_on_the_device(cuda: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _float64_subset(monkeypatch)
    config = default_config("mlp", hidden=8, epochs=1, lr=1e30, optimizer="sgd", device="cuda")
    with (
        np.errstate(over="ignore", invalid="ignore"),
        pytest.raises(train_module.TrainingDivergedError, match="smaller --lr"),
    ):
        fit(config, progress=False, log=None)


def test_first_nonfinite_reads_device_arrays(cuda: str) -> None:
    ok = minitorch.tensor([1.0, 2.0], device="cuda")
    bad = minitorch.tensor([1.0, float("inf"), float("nan")], device="cuda")
    assert train_module._first_nonfinite(ok) is None
    assert train_module._first_nonfinite(bad) == "inf"
    assert train_module._first_nonfinite(np.array([1.0, np.nan])) == "nan"
    assert train_module._first_nonfinite(3) is None


# ---------------------------------------------------------------------------
# Without CuPy: a clear message, exit status 2, nothing written
# ---------------------------------------------------------------------------


@pytest.fixture
def no_cupy(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A machine without CuPy (``import cupy`` fails even where it is installed)."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    previous = devices.use_cuda(None)
    try:
        yield
    finally:
        devices.use_cuda(previous)


@pytest.mark.parametrize(
    "argv",
    [
        ["--model", "mlp", "--hidden", "8", "--epochs", "1"],
        ["--backend", "tensor", "--epochs", "1"],
    ],
    ids=["mlp", "lecture tensor"],
)
def test_cli_device_cuda_without_cupy(
    no_cupy: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    out = tmp_path / "run"
    extra = ["--out", str(out)] if "mlp" in argv else []
    assert main(["train", *argv, "--device", "cuda", *extra]) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("minitorch train: error: CUDA is not available")
    assert "CuPy is not installed" in err and "minitorch[gpu]" in err
    assert "Traceback" not in err and "epoch" not in captured.out
    assert not out.exists()


def test_fit_device_cuda_without_cupy_raises_before_writing(no_cupy: None, tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = default_config("mlp", hidden=8, epochs=1, device="cuda")
    with pytest.raises(minitorch.DeviceError, match="CuPy is not installed"):
        fit(config, out, progress=False, log=None)
    assert not out.exists()


def test_device_option_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--backend", "scalar", "--device", "cuda"]) == 2
    assert "scalar backend computes on Python floats" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["train", "--device", "tpu"])
    assert stop.value.code == 2
    assert "unknown device 'tpu' (choose from cpu, cuda)" in capsys.readouterr().err
    with pytest.raises(ValueError, match="device must be one of"):
        TrainConfig(model="mlp", device="gpu")
    assert default_config("mlp").device == "cpu"
    assert build_parser().parse_args(["train", "--device", "CUDA"]).device == "cuda"
