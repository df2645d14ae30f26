"""Training an MLP or a small CNN on digits, MNIST-style IDX files or the 2-D toy sets.

``fit(config, out)`` runs mini-batch training (float32) and writes to the folder ``out``:

* ``checkpoint.npz``: weights, optimiser state, epoch, RNG states and metrics, after every
  epoch (atomically; see ``minitorch.checkpoint``). ``fit(..., resume=True)`` continues from
  it and gives bit-for-bit the same weights and metrics as an uninterrupted run.
* ``metrics.json``: per-epoch ``train_loss``, ``train_accuracy`` (averaged over the epoch's
  mini-batches, as they were seen), ``test_loss``, ``test_accuracy`` (after the epoch).
* ``loss.png`` (curves); ``confusion.png`` for image data; ``decision_boundary.png`` for
  the 2-D sets.

The recipe (defaults in ``default_config``): inputs standardised with the training set's
mean and standard deviation; Adam with the learning rate annealed along a cosine over the
run's epochs; cross-entropy with label smoothing 0.1; shuffled mini-batches of 32.
Losses reported are the plain cross-entropy (no smoothing).

``add_train_arguments`` / ``wants_nn`` / ``run_from_args`` connect it to
``minitorch train`` (``--model mlp|cnn``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from .. import layers, nn
from ..autodiff import no_grad
from ..checkpoint import (
    CheckpointError,
    atomic_write,
    load_checkpoint,
    restore,
    save_checkpoint,
)
from ..data import load_digits, load_mnist
from ..module import Module
from ..optim import SGD, Adam, AdamW, CosineAnnealingLR
from ..tensor import Tensor
from .plots import (
    confusion_counts,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_loss_curves,
)
from .training import dataset_names, make_dataset, resolve_dataset

__all__ = [
    "CHECKPOINT",
    "DIGITS",
    "IDX",
    "METRICS",
    "MODELS",
    "OPTIMIZERS",
    "DataSplit",
    "GivenOption",
    "NNConfig",
    "TrainingDivergedError",
    "add_train_arguments",
    "build_model",
    "default_config",
    "fit",
    "load_data",
    "run_from_args",
    "wants_nn",
]

Array = npt.NDArray[Any]

MODELS = ("mlp", "cnn")
OPTIMIZERS = ("sgd", "adam", "adamw")
DIGITS = "digits"
IDX = "idx"
CHECKPOINT = "checkpoint.npz"
METRICS = "metrics.json"
_DTYPE = np.float32
_EVAL_BATCH = 512


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite (the message names the epoch and step)."""


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NNConfig:
    """One run: which model on which data, and how to train it.

    ``dataset``: ``"digits"``, ``"idx"`` (MNIST-style files in ``data_dir``) or a 2-D set
    (``Simple Diag Split Xor Circle Spiral``, ``points`` points, test set drawn with seed
    ``seed + 1``). ``hidden``: MLP width, or the CNN's first conv channels (the second
    has twice as many); ``depth``: MLP hidden layers. ``weight_decay`` None: the
    optimiser's default (AdamW 0.01, others 0).
    """

    model: str = "cnn"
    dataset: str = DIGITS
    data_dir: str | None = None
    epochs: int = 20
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 3e-3
    seed: int = 0
    hidden: int = 32
    depth: int = 1
    points: int = 50
    label_smoothing: float = 0.1
    weight_decay: float | None = None

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}.")
        for name in ("epochs", "batch_size", "hidden", "depth", "points"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}.")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}.")
        if self.seed < 0:
            raise ValueError(f"seed must be 0 or more, got {self.seed}.")
        if self.dataset == IDX and not self.data_dir:
            raise ValueError("dataset 'idx' needs data_dir (a folder of MNIST-style files).")
        if self.model == "cnn" and self.dataset not in (DIGITS, IDX):
            raise ValueError(
                f"the cnn needs images (digits or --data-dir); {self.dataset} holds 2-D points: "
                "use --model mlp (or the lecture's network, --model scalar)."
            )


def is_points(dataset: str) -> bool:
    """Whether ``dataset`` names one of the 2-D toy sets."""
    return dataset not in (DIGITS, IDX)


def default_config(model: str = "cnn", dataset: str = DIGITS, **given: Any) -> NNConfig:
    """The defaults for ``model`` on ``dataset``, with the options in ``given`` applied.

    Images: cnn 20 epochs (width 32), mlp 30 epochs (256 hidden units). 2-D sets: mlp
    with two hidden layers of 32, 300 epochs, batches of 10, lr 0.01. SGD (momentum 0.9)
    defaults to lr 0.05.
    """
    base: dict[str, Any] = {"model": model, "dataset": dataset}
    if is_points(dataset):
        base.update(hidden=32, depth=2, epochs=300, batch_size=10, lr=0.01)
    elif model == "mlp":
        base.update(hidden=256, epochs=30)
    if given.get("optimizer") == "sgd":
        base["lr"] = 0.05 if not is_points(dataset) else 0.1
    base.update({k: v for k, v in given.items() if v is not None})
    return NNConfig(**base)


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DataSplit:
    """Standardised float32 inputs (images ``(N, C, H, W)`` or points ``(N, 2)``) and int64
    labels, with the statistics used (``mean``, ``std``) and the number of classes."""

    x_train: Array
    y_train: Array
    x_test: Array
    y_test: Array
    classes: int
    mean: float
    std: float
    name: str

    @property
    def images(self) -> bool:
        """Whether the inputs are images (4-D)."""
        return self.x_train.ndim == 4


def _labels(y: Array, where: str) -> npt.NDArray[np.int64]:
    flat = np.asarray(y).reshape(-1)
    if flat.dtype.kind not in "iu" or (flat.size and flat.min() < 0):
        raise ValueError(f"{where}: labels must be class indices 0, 1, 2 ...; got {flat[:5]}...")
    return flat.astype(np.int64)


def _as_images(x: Array, where: str) -> Array:
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise ValueError(
            f"{where}: expected images of shape (N, H, W) or (N, C, H, W), got {x.shape}."
        )
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    x = x.astype(np.float64) / scale
    pad_h, pad_w = -x.shape[2] % 4, -x.shape[3] % 4  # the CNN pools twice by 2
    if pad_h or pad_w:
        x = np.pad(x, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)))
    return x


def load_data(config: NNConfig) -> DataSplit:
    """The training and test sets of ``config.dataset``, standardised with training stats."""
    if config.dataset == DIGITS:
        d = load_digits(layout="chw")
        xtr, ytr, xte, yte, name = d.x_train, d.y_train, d.x_test, d.y_test, "digits"
    elif config.dataset == IDX:
        folder = Path(str(config.data_dir))
        if not folder.is_dir():
            raise FileNotFoundError(f"--data-dir {folder} is not a folder.")
        xtr, ytr = load_mnist(folder, "train")
        xte, yte = load_mnist(folder, "test")
        xtr, xte = _as_images(xtr, str(folder)), _as_images(xte, str(folder))
        if xtr.shape[1:] != xte.shape[1:]:
            raise ValueError(
                f"{folder}: training images {xtr.shape[1:]} and test images "
                f"{xte.shape[1:]} differ in shape."
            )
        name = folder.name or str(folder)
    else:
        train_set = make_dataset(config.dataset, config.points, config.seed)
        test_set = make_dataset(config.dataset, config.points, config.seed + 1)
        xtr = 2.0 * np.asarray(train_set.X, dtype=np.float64) - 1.0  # centred, as training.py
        xte = 2.0 * np.asarray(test_set.X, dtype=np.float64) - 1.0
        ytr, yte = np.asarray(train_set.y), np.asarray(test_set.y)
        name = config.dataset
    ytr, yte = _labels(ytr, f"{name} (train)"), _labels(yte, f"{name} (test)")
    if len(xtr) == 0 or len(xtr) != len(ytr) or len(xte) != len(yte):
        raise ValueError(
            f"{name}: {len(xtr)} training inputs for {len(ytr)} labels, {len(xte)} test inputs "
            f"for {len(yte)} labels."
        )
    classes = int(max(ytr.max(), yte.max() if len(yte) else 0)) + 1
    if classes < 2:
        raise ValueError(f"{name}: needs at least two classes, found labels {np.unique(ytr)}.")
    if xtr.ndim == 4:
        mean, std = float(xtr.mean()), float(xtr.std()) or 1.0
    else:
        mean, std = 0.0, 1.0
    return DataSplit(
        x_train=((xtr - mean) / std).astype(_DTYPE),
        y_train=ytr,
        x_test=((xte - mean) / std).astype(_DTYPE),
        y_test=yte,
        classes=classes,
        mean=mean,
        std=std,
        name=name,
    )


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


def build_model(config: NNConfig, input_shape: Sequence[int], classes: int) -> layers.Sequential:
    """The model for ``config`` (float32, initialised after ``random.seed(config.seed)``).

    mlp: Flatten → [Linear(·, hidden) → ReLU] × depth → Linear(hidden, classes).
    cnn: Conv2d(C, w, 3) → ReLU → MaxPool2d(2) → Conv2d(w, 2w, 3) → ReLU → MaxPool2d(2)
    → Flatten → Linear(2w·H/4·W/4, classes), with w = ``hidden``.
    """
    random.seed(config.seed)
    mods: list[Module]
    if config.model == "mlp":
        width = math.prod(input_shape)
        mods = [layers.Flatten()]
        for _ in range(config.depth):
            mods += [layers.Linear(width, config.hidden), layers.ReLU()]
            width = config.hidden
        mods.append(layers.Linear(width, classes))
    else:
        if len(input_shape) != 3:
            raise ValueError(f"the cnn needs (C, H, W) images, got input shape {input_shape}.")
        c, h, w = input_shape
        c1, c2 = config.hidden, 2 * config.hidden
        mods = [
            layers.Conv2d(c, c1, 3),
            layers.ReLU(),
            layers.MaxPool2d(2),
            layers.Conv2d(c1, c2, 3),
            layers.ReLU(),
            layers.MaxPool2d(2),
            layers.Flatten(),
            layers.Linear(c2 * (h // 4) * (w // 4), classes),
        ]
    model = layers.Sequential(*mods)
    for p in model.parameters():
        p.update(Tensor(np.asarray(p.value, dtype=_DTYPE)))
    return model


def make_optimizer(config: NNConfig, model: Module) -> SGD | Adam:
    """SGD (momentum 0.9), Adam or AdamW over ``model``'s parameters, per ``config``."""
    params = model.parameters()
    wd = config.weight_decay
    if config.optimizer == "sgd":
        return SGD(params, lr=config.lr, momentum=0.9, weight_decay=wd or 0.0)
    if config.optimizer == "adamw":
        return AdamW(params, lr=config.lr, weight_decay=0.01 if wd is None else wd)
    return Adam(params, lr=config.lr, weight_decay=wd or 0.0)


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


def _batch_stats(logits: Array, y: Array) -> tuple[float, int]:
    """(Σ plain cross-entropy, number correct) of one batch, in float64."""
    z = logits.astype(np.float64)
    m = z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z - m).sum(axis=1)) + m[:, 0]
    loss = float((lse - z[np.arange(len(y)), y]).sum())
    return loss, int((z.argmax(axis=1) == y).sum())


def predict_logits(model: Module, x: Array) -> Array:
    """Logits for every row of ``x`` (eval mode, no graph), in batches."""
    model.eval()
    outs = []
    with no_grad():
        for i in range(0, len(x), _EVAL_BATCH):
            outs.append(np.asarray(model(Tensor(x[i : i + _EVAL_BATCH]))))
    model.train()
    return np.concatenate(outs) if outs else np.zeros((0, 0), dtype=_DTYPE)


def _evaluate(model: Module, x: Array, y: Array) -> tuple[float, float]:
    loss, correct = _batch_stats(predict_logits(model, x), y)
    return loss / len(y), correct / len(y)


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Run BLAS on one thread: small products gain nothing from more, and on a busy
    machine oversubscribed BLAS threads slow training down many times over."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it, BLAS keeps its own setting
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _same_run(saved: dict[str, Any], config: NNConfig) -> list[str]:
    """Settings (other than ``epochs``) in which ``config`` differs from a checkpoint's."""
    mine = asdict(config)
    return [
        f"{k}={saved.get(k)!r} in the checkpoint, {mine[k]!r} now"
        for k in mine
        if k != "epochs" and saved.get(k) != mine[k]
    ]


def _write_json(path: Path, data: Any) -> None:
    with atomic_write(path) as f:
        f.write((json.dumps(data, indent=2) + "\n").encode())


EpochHook = Callable[[dict[str, Any]], None]


def fit(
    config: NNConfig,
    out: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    log_every: int = 1,
    on_epoch: EpochHook | None = None,
    log: Callable[[str], None] | None = print,
) -> dict[str, Any]:
    """Train per ``config``, writing checkpoint, metrics and plots to ``out``; return metrics.

    ``resume``: continue from ``out/checkpoint.npz`` (the settings must be the same, except
    ``epochs``, which may be raised; the cosine schedule spans ``epochs``, so a resumed run
    equals an uninterrupted one planned with the same ``epochs``). Without ``resume`` an
    existing checkpoint in ``out`` is an error (nothing is overwritten). ``on_epoch`` is
    called with each epoch's record after its checkpoint is written.
    """
    folder = Path(out)
    ckpt_path = folder / CHECKPOINT
    data = load_data(config)
    model = build_model(config, data.x_train.shape[1:], data.classes)
    optimizer = make_optimizer(config, model)
    schedule = CosineAnnealingLR(optimizer, T_max=config.epochs)
    rng = np.random.default_rng(config.seed)
    history: list[dict[str, Any]] = []
    done = 0
    elapsed = 0.0
    if resume:
        ck = load_checkpoint(ckpt_path)
        meta = ck.meta
        try:
            saved = dict(meta["config"])
            done = int(meta["epoch"])
            history = [dict(r) for r in meta["history"]]
            rng_state = meta["numpy_rng"]
            py_state = meta["python_random"]
            lr = float(meta["lr"])
            elapsed = float(meta.get("train_seconds", 0.0))
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"{ckpt_path}: metadata lacks training state ({err}).") from None
        differ = _same_run(saved, config)
        if differ:
            raise CheckpointError(
                f"{ckpt_path} belongs to a different run: " + "; ".join(differ) + "."
            )
        if done > config.epochs:
            raise CheckpointError(
                f"{ckpt_path} is at epoch {done}, past the {config.epochs} epochs asked for."
            )
        restore(ck, model, optimizer)
        try:
            rng.bit_generator.state = rng_state
            random.setstate((py_state[0], tuple(py_state[1]), py_state[2]))
        except (TypeError, ValueError, KeyError, IndexError) as err:
            raise CheckpointError(f"{ckpt_path}: bad RNG state ({err}).") from None
        optimizer.lr = lr
        schedule.last_epoch = done
        if log:
            log(f"resuming {ckpt_path} at epoch {done}/{config.epochs}")
    elif ckpt_path.exists():
        raise FileExistsError(
            f"{ckpt_path} exists: continue that run with --resume {folder}, or choose "
            "another --out."
        )
    folder.mkdir(parents=True, exist_ok=True)

    n = len(data.x_train)
    steps = math.ceil(n / config.batch_size)
    bar = tqdm(
        total=steps * (config.epochs - done),
        disable=not progress,
        unit="step",
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
    )
    with bar, _one_blas_thread():
        for epoch in range(done + 1, config.epochs + 1):
            start = time.perf_counter()
            bar.set_description(f"epoch {epoch}/{config.epochs}")
            order = rng.permutation(n)
            total_loss, correct = 0.0, 0
            model.train()
            for step in range(steps):
                idx = order[step * config.batch_size : (step + 1) * config.batch_size]
                y = data.y_train[idx]
                logits = model(Tensor(data.x_train[idx]))
                loss = nn.cross_entropy(logits, y, label_smoothing=config.label_smoothing)
                value = loss.item()
                if not math.isfinite(value):
                    kept = (
                        f"{ckpt_path} (epoch {epoch - 1}) is untouched"
                        if epoch > 1
                        else "no checkpoint was written"
                    )
                    raise TrainingDivergedError(
                        f"the training loss is {value} at epoch {epoch}, step {step + 1}/{steps} "
                        f"(lr {optimizer.lr:.3g}): try a smaller --lr; {kept}."
                    )
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                b_loss, b_correct = _batch_stats(np.asarray(logits), y)
                total_loss += b_loss
                correct += b_correct
                bar.update(1)
                if step % 10 == 0:
                    seen = min(n, (step + 1) * config.batch_size)
                    bar.set_postfix_str(
                        f"loss {total_loss / seen:.4f} acc {100 * correct / seen:.1f}%",
                        refresh=False,
                    )
            lr_used = optimizer.lr
            schedule.step()
            test_loss, test_acc = _evaluate(model, data.x_test, data.y_test)
            seconds = time.perf_counter() - start
            elapsed += seconds
            record = {
                "epoch": epoch,
                "train_loss": total_loss / n,
                "train_accuracy": correct / n,
                "test_loss": test_loss,
                "test_accuracy": test_acc,
                "lr": lr_used,
                "seconds": round(seconds, 4),
            }
            history.append(record)
            meta = {
                "config": asdict(config),
                "epoch": epoch,
                "history": history,
                "lr": optimizer.lr,
                "numpy_rng": rng.bit_generator.state,
                "python_random": random.getstate(),
                "train_seconds": elapsed,
                "classes": data.classes,
                "input_shape": list(data.x_train.shape[1:]),
                "mean": data.mean,
                "std": data.std,
            }
            save_checkpoint(ckpt_path, model, optimizer, meta)
            metrics = _metrics(config, data, history, elapsed)
            _write_json(folder / METRICS, metrics)
            if log and (epoch % log_every == 0 or epoch == config.epochs):
                bar.write(_epoch_line(record, config.epochs), file=sys.stdout)
            if on_epoch is not None:
                on_epoch(record)

    metrics = _metrics(config, data, history, elapsed)
    _write_json(folder / METRICS, metrics)
    _plots(model, data, history, folder, f"{config.model} on {data.name}")
    return metrics


def _metrics(
    config: NNConfig, data: DataSplit, history: list[dict[str, Any]], seconds: float
) -> dict[str, Any]:
    last = history[-1] if history else {}
    return {
        "model": config.model,
        "dataset": data.name,
        "config": asdict(config),
        "classes": data.classes,
        "train_size": len(data.x_train),
        "test_size": len(data.x_test),
        "epochs_done": len(history),
        "train_seconds": round(seconds, 3),
        "final": {k: last[k] for k in _RECORD_KEYS if k in last},
        "history": history,
    }


_RECORD_KEYS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")


def _epoch_line(r: dict[str, Any], epochs: int) -> str:
    w = len(str(epochs))
    return (
        f"epoch {r['epoch']:{w}d}/{epochs}  train loss {r['train_loss']:.4f} "
        f"acc {100 * r['train_accuracy']:5.1f}%  test loss {r['test_loss']:.4f} "
        f"acc {100 * r['test_accuracy']:5.1f}%  ({r['seconds']:.1f} s)"
    )


def _softmax(z: Array) -> Array:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    out: Array = e / e.sum(axis=1, keepdims=True)
    return out


def _plots(
    model: Module, data: DataSplit, history: list[dict[str, Any]], folder: Path, title: str
) -> None:
    plot_loss_curves(history, folder / "loss.png", title)
    if data.images:
        pred = predict_logits(model, data.x_test).argmax(axis=1)
        cm = confusion_counts(data.y_test, pred, data.classes)
        plot_confusion_matrix(cm, folder / "confusion.png", f"{title} (test set)")
    else:

        def probs(points: Array) -> Array:
            return _softmax(predict_logits(model, points.astype(_DTYPE)).astype(np.float64))

        x = np.concatenate([data.x_train, data.x_test])
        y = np.concatenate([data.y_train, data.y_test])
        plot_decision_boundary(
            probs, x, y, folder / "decision_boundary.png", f"{title} (train and test points)"
        )


# ---------------------------------------------------------------------------
# Command line (minitorch train --model mlp|cnn)
# ---------------------------------------------------------------------------


def _nn_help() -> str:
    cnn, mlp, pts = default_config("cnn"), default_config("mlp"), default_config("mlp", "Xor")
    return f"""\
models and datasets (--model):
  cnn, mlp  train on images: the bundled 8x8 digits (--dataset digits, the default)
            or MNIST-style IDX files (--data-dir DIR with train-images-idx3-ubyte,
            train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
            .gz allowed); mlp also on a 2-D set (test set: a fresh sample, seed+1).
  scalar    the lecture's 2-D network above, trained by --backend scalar|tensor.
  Without --model, --backend, --points or a 2-D --dataset select the lecture's network
  (as before); otherwise it is the cnn on digits. So `minitorch train` alone trains the
  cnn on digits, `minitorch train --backend scalar --dataset Xor` the lecture's network.

cnn/mlp runs write to --out (default runs/<model>-<dataset>-<time>): checkpoint.npz
  (after every epoch; --resume RUN continues it exactly), metrics.json, loss.png and
  confusion.png (images) or decision_boundary.png (2-D sets).
  Defaults: Adam (--optimizer sgd: momentum 0.9, lr 0.05), lr {cnn.lr}, batch size
  {cnn.batch_size}, cosine-annealed lr, label smoothing 0.1, float32, seed 0;
  cnn {cnn.epochs} epochs, --hidden {cnn.hidden} channels; mlp {mlp.epochs} epochs, \
--hidden {mlp.hidden};
  2-D mlp {pts.epochs} epochs, --hidden {pts.hidden} --depth {pts.depth}, batch \
{pts.batch_size}, lr {pts.lr}."""


# Options this module adds to `minitorch train` (dest -> (flags, kwargs)).
_NN_OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "model": (
        ("--model",),
        {
            "choices": ("scalar", *MODELS),
            "help": "scalar: the lecture's 2-D network; mlp or cnn: see below "
            "(default: cnn, or scalar with --backend or a 2-D --dataset)",
        },
    ),
    "data_dir": (
        ("--data-dir",),
        {"metavar": "DIR", "help": "train on MNIST-style IDX files in DIR (cnn/mlp)"},
    ),
    "batch_size": (
        ("--batch-size",),
        {"type": int, "metavar": "N", "help": "examples per step (cnn/mlp; default 32)"},
    ),
    "optimizer": (
        ("--optimizer",),
        {"choices": OPTIMIZERS, "help": "cnn/mlp optimiser (default: adam)"},
    ),
    "out": (
        ("--out",),
        {"metavar": "DIR", "help": "output folder (cnn/mlp; default runs/<model>-<data>-<time>)"},
    ),
    "resume": (
        ("--resume",),
        {
            "metavar": "RUN",
            "help": "continue the run in folder RUN (or from its checkpoint.npz) to --epochs "
            "(default: the epochs it was started with)",
        },
    ),
}


class GivenOption(argparse.Action):
    """Store the value and record the option's dest in ``namespace.given_options``, so that
    an option typed on the command line can be told from its default."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        namespace.given_options = {*getattr(namespace, "given_options", ()), self.dest}


def _given(args: argparse.Namespace, dest: str) -> Any:
    """The value of ``dest`` if it was typed on the command line, else None."""
    given = getattr(args, "given_options", None)
    if given is None:  # a Namespace built without GivenOption: trust non-None values
        return getattr(args, dest, None)
    return getattr(args, dest, None) if dest in given else None


def dataset_argument(text: str) -> str:
    """``--dataset`` values: a 2-D set (any letter case) or ``digits``."""
    if text.strip().lower() == DIGITS:
        return DIGITS
    try:
        return resolve_dataset(text)
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"unknown dataset {text!r} (choose from {', '.join(dataset_names())}, {DIGITS}; "
            "or --data-dir DIR for IDX files)"
        ) from None


def add_train_arguments(train: argparse.ArgumentParser) -> None:
    """Add the cnn/mlp options to the ``train`` parser (skipping any it already has)."""
    train.set_defaults(given_options=())  # GivenOption adds the dests typed
    have = {a.dest for a in train._actions}
    for dest, (flags, kwargs) in _NN_OPTIONS.items():
        if dest not in have:
            train.add_argument(*flags, dest=dest, default=None, **kwargs)
    train.epilog = (train.epilog + "\n\n" if train.epilog else "") + _nn_help()


def wants_nn(args: argparse.Namespace) -> bool:
    """Whether ``minitorch train`` with these options means a cnn/mlp run (see NN_HELP)."""
    model = getattr(args, "model", None)
    if model is not None:
        return bool(model != "scalar")
    if _given(args, "backend") is not None or _given(args, "points") is not None:
        return False
    dataset = _given(args, "dataset")
    if getattr(args, "resume", None) is not None or getattr(args, "data_dir", None):
        return True
    return dataset is None or dataset == DIGITS


def legacy_conflicts(args: argparse.Namespace) -> list[str]:
    """The cnn/mlp-only options given to a run of the lecture's network."""
    bad = [
        "--" + dest.replace("_", "-")
        for dest in ("data_dir", "optimizer", "out", "resume")
        if getattr(args, dest, None) is not None
    ]
    if _given(args, "dataset") == DIGITS:
        bad.append("--dataset digits")
    return bad


def _resolve_run(args: argparse.Namespace) -> tuple[NNConfig, Path, bool]:
    """The config, output folder and resume flag described by the command line."""
    given: dict[str, Any] = {
        name: getattr(args, name, None)
        for name in ("epochs", "batch_size", "optimizer", "lr", "seed", "hidden", "depth")
    }
    backend = _given(args, "backend")
    if backend not in (None, "tensor"):
        raise ValueError(f"--backend {backend} trains the lecture's network, not --model cnn/mlp.")
    data_dir = getattr(args, "data_dir", None)
    dataset = _given(args, "dataset")
    if data_dir and dataset is not None:
        raise ValueError("give either --dataset or --data-dir, not both.")
    if args.resume is not None:
        run = Path(args.resume)
        folder = run.parent if run.is_file() else run
        out = Path(args.out) if args.out else folder
        if out.resolve() != folder.resolve():
            raise ValueError(f"--resume {run} continues in {folder}; --out must be that folder.")
        meta = load_checkpoint(folder / CHECKPOINT).meta
        saved = meta.get("config")
        if not isinstance(saved, dict):
            raise CheckpointError(f"{folder / CHECKPOINT} holds no run configuration.")
        known = {f.name for f in fields(NNConfig)}
        try:
            config = NNConfig(**{k: v for k, v in saved.items() if k in known})
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{folder / CHECKPOINT}: bad configuration ({err}).") from None
        explicit = {k: v for k, v in given.items() if v is not None}
        if args.model not in (None, config.model):
            explicit["model"] = args.model
        if dataset is not None:
            explicit["dataset"] = dataset
        config = replace(config, **explicit)
        return config, folder, True
    model = args.model or "cnn"
    if model == "cnn" and dataset is not None and is_points(dataset):
        raise ValueError(f"--model cnn needs images; {dataset} is a 2-D set (try --model mlp).")
    name = IDX if data_dir else (dataset or DIGITS)
    extra: dict[str, Any] = {"data_dir": data_dir}
    if is_points(name):
        extra["points"] = _given(args, "points")
    config = default_config(model, name, **given, **extra)
    if args.out:
        out = Path(args.out)
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        label = Path(data_dir).name if data_dir else name.lower()
        out = Path("runs") / f"{model}-{label}-{stamp}"
        k = 1
        while out.exists():
            k += 1
            out = Path("runs") / f"{model}-{label}-{stamp}-{k}"
    return config, out, False


def run_from_args(args: argparse.Namespace) -> int:
    """``minitorch train`` for cnn/mlp: train, print the final accuracy; 0, or 1/2 on error."""
    quiet = bool(getattr(args, "quiet", False))
    try:
        config, out, resume = _resolve_run(args)
    except CheckpointError as err:
        print(f"minitorch train: error: {err}", file=sys.stderr)
        return 1
    except (ValueError, TypeError) as err:
        print(f"minitorch train: error: {err}", file=sys.stderr)
        return 2
    if not quiet:
        c = config
        data = c.data_dir if c.dataset == IDX else c.dataset
        print(
            f"training {c.model} on {data}: {c.epochs} epochs, batch {c.batch_size}, "
            f"{c.optimizer} lr {c.lr}, seed {c.seed} -> {out}",
            flush=True,
        )
    try:
        metrics = fit(
            config,
            out,
            resume=resume,
            progress=not quiet,
            log_every=getattr(args, "log_every", None) or 1,
            log=None if quiet else print,
        )
    except (CheckpointError, TrainingDivergedError, FileExistsError, FileNotFoundError) as err:
        print(f"minitorch train: error: {err}", file=sys.stderr)
        return 1
    except ValueError as err:  # bad data (labels, shapes)
        print(f"minitorch train: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"interrupted: the checkpoint of the last finished epoch is in {out}; "
            f"continue with: minitorch train --resume {out}",
            file=sys.stderr,
        )
        return 130
    final = metrics["final"]
    if not quiet:
        print(
            f"final train loss {final['train_loss']:.4f} (accuracy "
            f"{100 * final['train_accuracy']:.1f}%), test loss {final['test_loss']:.4f}; "
            f"{metrics['train_seconds']:.1f} s of training; outputs in {out}"
        )
    correct = round(final["test_accuracy"] * metrics["test_size"])
    print(
        f"final test accuracy: {100 * final['test_accuracy']:.2f}% "
        f"({correct}/{metrics['test_size']}) on {metrics['dataset']}",
        flush=True,
    )
    return 0
