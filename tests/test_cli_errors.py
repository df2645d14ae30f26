"""Issue 10: the train and graph commands on plain user mistakes and broken runs: a clear
message and a non-zero exit, never a traceback, a stale metric or a lost checkpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minitorch.apps.train as train_module
from minitorch.apps.cli import main
from minitorch.apps.graph import main as graph_main
from minitorch.apps.train import (
    CHECKPOINT,
    OutputFolderError,
    TrainingDivergedError,
    default_config,
    fit,
)
from minitorch.checkpoint import CheckpointError, load_checkpoint

BASE = ["train", "--model", "mlp", "--hidden", "8", "-q"]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _run(tmp_path: Path, epochs: int = 1) -> Path:
    out = tmp_path / "run"
    assert main([*BASE, "--epochs", str(epochs), "--out", str(out)]) == 0
    return out


def _set_weights(path: Path, change: Any) -> None:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


# ---------------------------------------------------------------------------
# Resuming: non-finite checkpoints are refused, no stale metric is printed
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "value"),
    [("model/1.weight", np.nan), ("model/3.bias", np.inf), ("optim/0/exp_avg_sq", np.nan)],
)
def test_resume_refuses_non_finite_weights_or_optimizer_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: str, value: float
) -> None:
    out = _run(tmp_path)
    capsys.readouterr()

    def poison(a: dict[str, Any]) -> None:
        a[entry] = a[entry].copy()
        a[entry].flat[0] = value

    _set_weights(out / CHECKPOINT, poison)
    before = _snapshot(out)
    assert main(["train", "--resume", str(out), "--epochs", "2", "-q"]) == 1
    captured = capsys.readouterr()
    err, printed = captured.err, captured.out
    assert entry in err and "NaN or infinite" in err
    assert "earlier copy of the checkpoint" in err and "fresh run" in err
    assert "accuracy" not in printed and "Traceback" not in err
    assert _snapshot(out) == before


def test_resuming_a_finished_run_evaluates_its_weights_now(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(tmp_path)
    saved = load_checkpoint(out / CHECKPOINT).meta["history"][-1]["test_accuracy"]
    # Zero logits: every prediction is class 0, whatever the history says.
    _set_weights(
        out / CHECKPOINT,
        lambda a: a.update(
            {"model/3.weight": 0 * a["model/3.weight"], "model/3.bias": 0 * a["model/3.bias"]}
        ),
    )
    capsys.readouterr()
    assert main(["train", "--resume", str(out)]) == 0
    text = capsys.readouterr().out
    assert "finished its 1 epochs" in text and "evaluating its weights" in text
    acc = json.loads((out / "metrics.json").read_text())["final"]["test_accuracy"]
    assert acc != saved and acc < 0.2
    assert f"{100 * acc:.2f}%" in text


# ---------------------------------------------------------------------------
# Divergence: every optimiser stops the same way; the checkpoint stays the last good one
# ---------------------------------------------------------------------------


def _poisoned(real: Any, value: float) -> Any:
    def load(c: Any) -> Any:
        data = real(c)
        data.x_train[250, 0, 3, 3] = value
        return data

    return load


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
@pytest.mark.parametrize("value", [1e34, np.inf])
def test_every_optimizer_stops_on_a_blown_up_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, optimizer: str, value: float
) -> None:
    """A huge input makes Adam's g² overflow float32: its step is then 0 or NaN and the
    loss stays finite (ReLU maps NaN to 0), so only checking the step's results stops it."""
    real = train_module.load_data
    config = default_config("mlp", hidden=8, epochs=2, batch_size=100, optimizer=optimizer)
    with pytest.raises(_Stop):
        fit(config, tmp_path, progress=False, log=None, on_epoch=_stop_after_one)
    before = _snapshot(tmp_path)
    monkeypatch.setattr(train_module, "load_data", _poisoned(real, value))
    with pytest.raises(TrainingDivergedError) as info:
        fit(config, tmp_path, resume=True, progress=False, log=None)
    msg = str(info.value)
    assert "at epoch 2, step" in msg and "/15" in msg and "smaller --lr" in msg
    assert "(epoch 1) is untouched" in msg
    assert ("loss is" in msg) or ("became" in msg)
    assert _snapshot(tmp_path) == before


class _Stop(Exception):
    pass


def _stop_after_one(record: dict[str, Any]) -> None:
    if record["epoch"] == 1:
        raise _Stop


def test_fit_without_a_folder_logs_epochs_without_test_metrics() -> None:
    lines: list[str] = []
    config = default_config("mlp", hidden=8, epochs=2)
    metrics = fit(config, progress=False, log=lines.append)
    assert len(lines) == 2 and "test" not in lines[0] and "test loss" in lines[1]
    assert metrics["final"]["test_accuracy"] is not None


# ---------------------------------------------------------------------------
# Output folders and checkpoint files
# ---------------------------------------------------------------------------


def _no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(c: Any) -> Any:
        raise AssertionError("training started")

    monkeypatch.setattr(train_module, "load_data", fail)


def test_out_that_is_a_file_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_training(monkeypatch)
    f = tmp_path / "file"
    f.write_text("keep")
    for out in (f, f / "sub"):
        assert main([*BASE, "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert f"{f} is a file, not a folder" in err and "choose another --out" in err
    assert f.read_text() == "keep"


def test_read_only_out_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_training(monkeypatch)

    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(train_module.tempfile, "mkstemp", denied)
    out = tmp_path / "new" / "run"
    assert main([*BASE, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "cannot write to" in err and "Permission denied" in err and "--out" in err
    assert "Traceback" not in err and not (tmp_path / "new").exists()
    with pytest.raises(OutputFolderError):
        fit(default_config("mlp"), out, progress=False, log=None)


@pytest.mark.skipif(
    not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
    reason="root writes to read-only folders",
)
def test_read_only_out_for_real(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tmp_path.chmod(0o555)
    try:
        assert main([*BASE, "--out", str(tmp_path / "run")]) == 1
    finally:
        tmp_path.chmod(0o755)
    assert "cannot write to" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x8f\x13random bytes" * 50, "not a minitorch checkpoint file"),
        (b"", "it is empty"),
        (None, "truncated or corrupt"),
    ],
)
def test_resume_from_a_broken_checkpoint_says_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, words: str
) -> None:
    out = _run(tmp_path)
    raw = (out / CHECKPOINT).read_bytes()
    (out / CHECKPOINT).write_bytes(raw[: len(raw) // 2] if content is None else content)
    capsys.readouterr()
    assert main(["train", "--resume", str(out)]) == 1
    err = capsys.readouterr().err
    assert str(out / CHECKPOINT) in err and words in err
    assert "allow_pickle=" not in err and "pip install" not in err and "Traceback" not in err


def test_resume_of_a_missing_run_or_another_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--resume", str(tmp_path / "nope")]) == 1
    assert "no checkpoint.npz in" in capsys.readouterr().err
    other = tmp_path / "weights.pt"
    other.write_bytes(b"x")
    assert main(["train", "--resume", str(other)]) == 1
    assert "give the run folder" in capsys.readouterr().err
    with pytest.raises(CheckpointError, match="no run folder"):
        fit(default_config("mlp"), tmp_path / "nope", resume=True, progress=False, log=None)


def test_bad_model_and_missing_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["train", "--model", "resnet"])
    assert info.value.code == 2
    assert (
        "unknown model 'resnet' (choose from scalar, tensor, mlp, cnn)" in capsys.readouterr().err
    )
    assert main(["train", "--data-dir", str(tmp_path / "none"), "-q"]) == 1
    assert "is not a folder" in capsys.readouterr().err
    assert main(["train", "--data-dir", str(tmp_path), "-q", "--out", str(tmp_path / "o")]) == 1
    assert "train-images-idx3-ubyte" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing is created for a run that never started


# ---------------------------------------------------------------------------
# minitorch graph --out
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("g.txt", "extension '.txt'"),
        ("g", "no extension"),
        ("missing/g.svg", "does not exist"),
    ],
)
def test_graph_out_is_checked_before_drawing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, words: str
) -> None:
    out = tmp_path / name
    assert graph_main(["graph", "x * y", "--x", "1", "--y", "2", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert words in captured.err and "Traceback" not in captured.err
    if "extension" in words:
        assert ".svg .html .png .pdf .dot .gv" in captured.err
    assert captured.out == "" and not out.exists()


def test_graph_out_folder_and_steps_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "d.svg"
    folder.mkdir()
    assert graph_main(["graph", "x * y", "--x", "1", "--y", "2", "--out", str(folder)]) == 2
    assert "is a folder" in capsys.readouterr().err
    steps = tmp_path / "steps"
    steps.write_text("")
    args = ["graph", "x", "--x", "1", "--out", str(tmp_path / "g.svg"), "--steps", str(steps)]
    assert graph_main(args) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
