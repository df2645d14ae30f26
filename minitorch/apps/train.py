"""One training loop and one configuration for every model ``minitorch train`` trains.

``fit(config, out)`` trains ``config.model`` on ``config.dataset`` with shuffled mini-batches
(``batch_size`` None: the whole training set, in order, one step per epoch):

* ``"scalar"`` / ``"tensor"``: the lecture's Network on Scalars / on Tensors, on a 2-D toy
  set of ``points`` points, centred (x ↦ 2x - 1), with the lecture's recipe: plain SGD at a
  constant ``lr`` on the mean negative log-likelihood

      L = -(1/B) Σ_i log P(y_i | x_i) = -(1/B) Σ_i log σ(s_i · m(x_i)),   s_i = 2y_i - 1

  (σ(-m) = 1 - σ(m) needs no subtraction). It is evaluated on its training points.
* ``"mlp"`` / ``"cnn"``: on the bundled digits, MNIST-style IDX files in ``data_dir``, or
  (mlp) a 2-D set with a fresh test sample drawn with seed ``seed + 1``; float32 inputs
  standardised with the training set's statistics; SGD (momentum 0.9), Adam or AdamW with
  the learning rate annealed along a cosine over ``epochs``; cross-entropy with
  ``label_smoothing``.

Each epoch's record holds the training loss and accuracy averaged over the epoch's batches
as they were seen, and the loss and accuracy on the test set after the epoch. With ``out``
(mlp and cnn) the run folder gets, after every epoch, ``checkpoint.npz`` (weights, optimiser
state, epoch, RNG states and metrics, written atomically; ``fit(..., resume=True)`` continues
it bit for bit) and ``metrics.json``, and at the end the plots (``loss.png``;
``confusion.png`` or ``decision_boundary.png``; they need the ``plots`` extra). Without
``out`` nothing is written and the test set is evaluated after the last epoch only.
Losses reported are the plain ones (no label smoothing).

``device`` (``"cpu"`` or ``"cuda"``, the Tensor models only): the model's parameters are
moved there with ``model.to(device)``, each batch is copied there, and the metrics are
read back on the host (``item()``, the logits of each batch); the numbers equal the CPU's
up to floating-point rounding (cuBLAS sums in another order). The run folder holds host
arrays, so a run saved on one device resumes on the other. Without CuPy or a GPU,
``device="cuda"`` raises ``minitorch.DeviceError`` saying what is missing, before anything
is trained or written.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from .. import devices, distributed, nn
from ..autodiff import no_grad
from ..checkpoint import (
    CheckpointError,
    atomic_write,
    load_checkpoint,
    nonfinite,
    restore,
    save_checkpoint,
)
from ..compile import compile as compile_function
from ..data import load_digits, load_mnist
from ..datasets import Graph, datasets
from ..devices import Device
from ..module import Module
from ..optim import SGD, Adam, AdamW, CosineAnnealingLR
from ..scalar import Scalar
from ..tensor import Tensor
from . import plots
from .models import ScalarNetwork, TensorNetwork, cnn, mlp

__all__ = [
    "CHECKPOINT",
    "DEVICES",
    "DIGITS",
    "IDX",
    "LECTURE",
    "METRICS",
    "MODELS",
    "OPTIMIZERS",
    "DataSplit",
    "OutputFolderError",
    "TrainConfig",
    "TrainingDivergedError",
    "batch_loss",
    "build_model",
    "default_config",
    "evaluate",
    "fit",
    "load_data",
    "make_dataset",
    "resolve_dataset",
]

Array = npt.NDArray[Any]

LECTURE = ("scalar", "tensor")
"""The lecture's Network on Scalars and on Tensors."""
MODELS = (*LECTURE, "mlp", "cnn")
OPTIMIZERS = ("sgd", "adam", "adamw")
DEVICES = ("cpu", "cuda")
DIGITS = "digits"
IDX = "idx"
CHECKPOINT = "checkpoint.npz"
METRICS = "metrics.json"
_EVAL_BATCH = 512
_RECORD_KEYS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "steps_per_second")


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite (the message names the epoch and step)."""


@dataclass(frozen=True)
class TrainConfig:
    """One run: which model on which data, and how to train it (``default_config`` fills in
    each model's defaults).

    ``model``: one of ``MODELS``. ``dataset``: ``"digits"``, ``"idx"`` (MNIST-style files in
    ``data_dir``) or a 2-D set (``Simple Diag Split Xor Circle Spiral``, ``points`` points).
    ``hidden``: hidden width (the lecture's network, mlp) or the cnn's first conv channels
    (the second has twice as many); ``depth``: hidden layers. ``batch_size`` None: the full
    batch. ``weight_decay`` None: the optimiser's default (AdamW 0.01, others 0).
    ``log_every``: print a line every this many epochs (and after the last). ``device``:
    where the Tensor models compute, ``"cpu"`` or ``"cuda"`` (an NVIDIA GPU through CuPy).
    """

    model: str = "cnn"
    dataset: str = DIGITS
    data_dir: str | None = None
    points: int = 50
    epochs: int = 20
    batch_size: int | None = 32
    optimizer: str = "adam"
    lr: float = 3e-3
    weight_decay: float | None = None
    label_smoothing: float = 0.1
    seed: int = 0
    hidden: int = 32
    depth: int = 1
    log_every: int = 1
    device: str = "cpu"

    @property
    def lecture(self) -> bool:
        """Whether the model is the lecture's Network (trained by the lecture's recipe)."""
        return self.model in LECTURE

    def __post_init__(self) -> None:
        for name, allowed in (("model", MODELS), ("optimizer", OPTIMIZERS), ("device", DEVICES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}.")
        for name in ("epochs", "hidden", "depth", "points", "log_every", "batch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}.")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}.")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}.")
        if self.seed < 0:
            raise ValueError(f"seed must be 0 or more, got {self.seed}.")
        if self.dataset not in (DIGITS, IDX, *datasets):
            raise ValueError(
                f"unknown dataset {self.dataset!r} (choose from {', '.join(datasets)}, "
                f"{DIGITS}, {IDX})."
            )
        if self.dataset == IDX and not self.data_dir:
            raise ValueError("dataset 'idx' needs data_dir (a folder of MNIST-style files).")
        if self.model == "cnn" and _is_points(self.dataset):
            raise ValueError(
                f"the cnn needs images (digits or --data-dir); {self.dataset} holds 2-D points: "
                "use --model mlp (or the lecture's network, --model scalar)."
            )
        if self.lecture:
            self._check_lecture()

    def _check_lecture(self) -> None:
        if not _is_points(self.dataset):
            where = "--data-dir" if self.dataset == IDX else "digits"
            raise ValueError(
                f"the lecture's network takes a 2-D dataset ({', '.join(datasets)}), not "
                f"{where}: use --model mlp|cnn."
            )
        if self.optimizer != "sgd" or self.label_smoothing:
            raise ValueError(
                "the lecture's network trains with plain SGD and no label smoothing "
                f"(got --optimizer {self.optimizer}, label_smoothing {self.label_smoothing}): "
                "--optimizer is for --model mlp|cnn."
            )
        if self.model == "scalar" and self.device != "cpu":
            raise ValueError(
                f"--device {self.device}: the scalar backend computes on Python floats, on "
                "the CPU only (try --backend tensor, or --model mlp|cnn)."
            )
        if self.model == "scalar" and self.batch_size is not None:
            raise ValueError(
                "--batch-size: the scalar backend trains on the full batch only "
                "(try --backend tensor)."
            )


def _is_points(dataset: str) -> bool:
    return dataset not in (DIGITS, IDX)


_DEFAULTS: dict[str, dict[str, Any]] = {
    "scalar": {"epochs": 300, "lr": 2.5, "log_every": 25},
    "tensor": {"epochs": 1000, "lr": 1.0, "log_every": 100},
    "mlp": {"hidden": 256, "epochs": 30},
    "cnn": {},
}


def default_config(model: str = "cnn", dataset: str | None = None, **given: Any) -> TrainConfig:
    """``model``'s defaults on ``dataset``, with the options in ``given`` (None: default) applied.

    scalar: Xor, hidden 10, 300 epochs, lr 2.5, full batch; tensor: the same with 1000
    epochs and lr 1.0 (with 50 points both reach 100 % training accuracy on Simple, Diag,
    Split and Xor; tensor also with batches of 10). cnn on images: 20 epochs, width 32;
    mlp: 30 epochs, 256 hidden units; mlp on a 2-D set: two hidden layers of 32, 300
    epochs, batches of 10, lr 0.01. Adam lr 3e-3, batches of 32; SGD (momentum 0.9) lr
    0.05 (0.1 on 2-D sets).
    """
    base: dict[str, Any] = {"model": model, **_DEFAULTS.get(model, {})}
    if model in LECTURE:
        base.update(dataset="Xor", hidden=10, batch_size=None, optimizer="sgd", label_smoothing=0.0)
    if dataset is not None:
        base["dataset"] = dataset
    if model not in LECTURE and _is_points(base.get("dataset", DIGITS)):
        base.update(hidden=32, depth=2, epochs=300, batch_size=10, lr=0.01)
    if model not in LECTURE and given.get("optimizer") == "sgd":
        base["lr"] = 0.1 if _is_points(base.get("dataset", DIGITS)) else 0.05
    base.update({k: v for k, v in given.items() if v is not None})
    return TrainConfig(**base)


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def resolve_dataset(name: str) -> str:
    """The canonical spelling of a dataset name (a 2-D set or ``digits``), any letter case."""
    for known in (*datasets, DIGITS):
        if known.lower() == name.strip().lower():
            return known
    raise KeyError(f"unknown dataset {name!r} (choose from {', '.join(datasets)}, {DIGITS})")


def make_dataset(name: str, points: int, seed: int) -> Graph:
    """``datasets[name](points)`` drawn after ``random.seed(seed)``, so it is reproducible."""
    if points < 1:
        raise ValueError(f"a dataset needs at least one point, got {points}.")
    random.seed(seed)
    return datasets[resolve_dataset(name)](points)


@dataclass(frozen=True)
class DataSplit:
    """Inputs (images ``(N, C, H, W)`` or points ``(N, 2)``, standardised with ``mean`` and
    ``std``) and int64 labels of the training and test sets, and the number of classes."""

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
    x = x.astype(np.float64) / (255.0 if x.dtype == np.uint8 else 1.0)
    pad_h, pad_w = -x.shape[2] % 4, -x.shape[3] % 4  # the CNN pools twice by 2
    if pad_h or pad_w:
        x = np.pad(x, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)))
    return x


def _points(config: TrainConfig, seed: int) -> tuple[Array, Array]:
    data = make_dataset(config.dataset, config.points, seed)
    return 2.0 * np.asarray(data.X, dtype=np.float64).reshape(-1, 2) - 1.0, np.asarray(data.y)


def load_data(config: TrainConfig) -> DataSplit:
    """The training and test sets of ``config`` (the lecture's network: its training points
    are its test set), standardised with the training set's statistics."""
    name = config.dataset
    if name == DIGITS:
        d = load_digits(layout="chw")
        xtr, ytr, xte, yte = d.x_train, d.y_train, d.x_test, d.y_test
    elif name == IDX:
        folder = Path(str(config.data_dir))
        if not folder.is_dir():
            raise FileNotFoundError(f"--data-dir {folder} is not a folder.")
        (xtr, ytr), (xte, yte) = load_mnist(folder, "train"), load_mnist(folder, "test")
        xtr, xte = _as_images(xtr, str(folder)), _as_images(xte, str(folder))
        if xtr.shape[1:] != xte.shape[1:]:
            raise ValueError(
                f"{folder}: training images {xtr.shape[1:]} and test images "
                f"{xte.shape[1:]} differ in shape."
            )
        name = folder.name or str(folder)
    else:
        xtr, ytr = _points(config, config.seed)
        xte, yte = (xtr, ytr) if config.lecture else _points(config, config.seed + 1)
    ytr, yte = _labels(ytr, f"{name} (train)"), _labels(yte, f"{name} (test)")
    if len(xtr) == 0 or len(xtr) != len(ytr) or len(xte) != len(yte):
        raise ValueError(
            f"{name}: {len(xtr)} training inputs for {len(ytr)} labels, {len(xte)} test inputs "
            f"for {len(yte)} labels."
        )
    # The 2-D sets have two classes even where a small sample shows only one.
    top = 1 if _is_points(config.dataset) else max(ytr.max(), yte.max() if len(yte) else 0)
    classes = int(top) + 1
    if classes < 2:
        raise ValueError(f"{name}: needs at least two classes, found labels {np.unique(ytr)}.")
    mean, std = (float(xtr.mean()), float(xtr.std()) or 1.0) if xtr.ndim == 4 else (0.0, 1.0)
    dtype = np.float64 if config.lecture else np.float32
    return DataSplit(
        x_train=((xtr - mean) / std).astype(dtype),
        y_train=ytr,
        x_test=((xte - mean) / std).astype(dtype),
        y_test=yte,
        classes=classes,
        mean=mean,
        std=std,
        name=name,
    )


# ---------------------------------------------------------------------------
# Model, loss, optimiser
# ---------------------------------------------------------------------------


def build_model(config: TrainConfig, input_shape: Sequence[int], classes: int) -> Module:
    """The model of ``config``: the lecture's network initialised from
    ``random.Random(f"init:{seed}")`` (float64), or the mlp/cnn (``models.mlp``/``models.cnn``)
    initialised after ``random.seed(seed)``, in float32."""
    if config.lecture:
        network = ScalarNetwork if config.model == "scalar" else TensorNetwork
        rng = random.Random(f"init:{config.seed}")
        return network(config.hidden, depth=config.depth, rng=rng)
    random.seed(config.seed)
    if config.model == "mlp":
        model = mlp(math.prod(input_shape), config.hidden, config.depth, classes)
    else:
        model = cnn(input_shape, config.hidden, classes)
    for p in model.parameters():
        p.update(Tensor(np.asarray(p.value, dtype=np.float32)))
    return model


def _cross_entropy_stats(logits: Array, y: Array) -> tuple[float, int]:
    """(Σ plain cross-entropy, number correct) of one batch of logits, in float64."""
    z = logits.astype(np.float64)
    m = z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z - m).sum(axis=1)) + m[:, 0]
    return float((lse - z[np.arange(len(y)), y]).sum()), int((z.argmax(axis=1) == y).sum())


def batch_loss(
    config: TrainConfig, model: Module, x: Array, y: Array
) -> tuple[Scalar | Tensor, float, int]:
    """(the loss to backpropagate, the batch's summed plain loss, how many it gets right).

    The lecture's network: the mean -log σ(s·m) (Scalars summed point by point, or one
    Tensor expression); a point is right when P(y | x) > 1/2. mlp/cnn: cross-entropy with
    ``config.label_smoothing``; right when the largest logit is the label's.
    """
    if config.model == "scalar":
        total, correct = Scalar(0.0), 0
        for (x1, x2), label in zip(x.tolist(), y.tolist()):
            m = cast(ScalarNetwork, model).score((Scalar(x1), Scalar(x2)))
            p_true = (m if label == 1 else -m).sigmoid()  # σ(m) or σ(-m) = 1 - σ(m)
            correct += p_true.data > 0.5
            total = total + p_true.log()
        nll = total * (-1.0 / len(y))
        return nll, nll.data * len(y), correct
    device = _model_device(model)
    target = batch_targets(config, y, device)
    out, loss = outputs_and_loss(config, model, Tensor(x, device=device), target)
    return (loss, *batch_stats(config, loss, out, y))


def _model_device(model: Module) -> Device | None:
    """The device of ``model``'s first Tensor parameter (None: none, or on the CPU)."""
    for p in model.parameters():
        if isinstance(p.value, Tensor):
            where = p.value.device
            return None if where.type == "cpu" else where
    return None


def batch_targets(config: TrainConfig, y: Array, device: Device | None = None) -> Tensor:
    """A batch's labels as the Tensor the loss takes, on ``device`` (None: the CPU): the
    signs s = 2y − 1 (shape (B, 1)) for the lecture's network, else the class indices (as
    floats)."""
    if config.model == "tensor":
        return Tensor(2.0 * y.reshape(-1, 1) - 1.0, device=device)
    return Tensor(np.asarray(y, dtype=np.float64), device=device)


def outputs_and_loss(
    config: TrainConfig, model: Module, x: Tensor, target: Tensor
) -> tuple[Tensor, Tensor]:
    """(the model's outputs, the loss to backpropagate) on Tensors: z = s·m(x) and the mean
    −log σ(z) for the lecture's network, the logits and their cross-entropy for mlp/cnn."""
    if config.model == "tensor":
        z = cast(TensorNetwork, model).score(x) * target
        return z, -z.sigmoid().log().mean()
    logits = model(x)
    return logits, nn.cross_entropy(logits, target, label_smoothing=config.label_smoothing)


def batch_stats(config: TrainConfig, loss: Tensor, out: Tensor, y: Array) -> tuple[float, int]:
    """(the batch's summed plain loss, how many it gets right) from ``outputs_and_loss``,
    read back on the host."""
    if config.model == "tensor":
        return loss.item() * len(y), int(np.count_nonzero(out.cpu().to_numpy() > 0.0))
    return _cross_entropy_stats(out.cpu().to_numpy(), y)


def train_step(
    config: TrainConfig, model: Module, optimizer: SGD | Adam
) -> Callable[..., tuple[Tensor, Tensor]]:
    """One optimiser step on a batch of Tensors (forward, loss, backward, step, zero_grad),
    returning (the loss, the outputs), detached: the function ``fit`` compiles.

    Under MPI (several ranks) the batch is this rank's shard, holding the fraction
    ``share`` of the global batch: the gradients are summed across ranks with that weight
    (``distributed.all_reduce_gradients``), which gives the global batch's mean gradient."""

    def step(x: Tensor, target: Tensor, share: float = 1.0) -> tuple[Tensor, Tensor]:
        out, loss = outputs_and_loss(config, model, x, target)
        loss.backward()
        if distributed.is_distributed():
            distributed.all_reduce_gradients(model, weight=share)
        optimizer.step()
        optimizer.zero_grad()
        return loss.detach(), out.detach()

    return step


def evaluate(config: TrainConfig, model: Module, x: Array, y: Array) -> tuple[float, float]:
    """Mean plain loss and accuracy of ``model`` on (x, y): eval mode, no graph, in batches."""
    model.eval()
    total, correct = 0.0, 0
    with no_grad():
        for i in range(0, len(x), _EVAL_BATCH):
            _, b_total, b_correct = batch_loss(
                config, model, x[i : i + _EVAL_BATCH], y[i : i + _EVAL_BATCH]
            )
            total, correct = total + b_total, correct + b_correct
    model.train()
    return total / len(y), correct / len(y)


def _optimizer(config: TrainConfig, model: Module) -> SGD | Adam:
    """The lecture's plain SGD; else SGD (momentum 0.9), Adam or AdamW, per ``config``."""
    params, wd = model.parameters(), config.weight_decay
    if config.optimizer == "sgd":
        momentum = 0.0 if config.lecture else 0.9
        return SGD(params, lr=config.lr, momentum=momentum, weight_decay=wd or 0.0)
    if config.optimizer == "adamw":
        return AdamW(params, lr=config.lr, weight_decay=0.01 if wd is None else wd)
    return Adam(params, lr=config.lr, weight_decay=wd or 0.0)


# ---------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------


@functools.cache
def _blas_pools() -> Any:
    """threadpoolctl's view of the BLAS libraries loaded at the first call (None without the
    ``train`` extra), made once: making it builds reference cycles that only the garbage
    collector frees."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def _one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """Run BLAS on one thread: small products gain nothing from more, and on a busy
    machine oversubscribed BLAS threads slow training down many times over. Without
    threadpoolctl (``pip install "minitorch[train]"``) BLAS keeps its own setting."""
    pools = _blas_pools()
    return contextlib.nullcontext() if pools is None else pools.limit(limits=1, user_api="blas")


def _write_json(path: Path, data: Any) -> None:
    with atomic_write(path) as f:
        f.write((json.dumps(data, indent=2) + "\n").encode())


@dataclass
class _State:
    """Where a run stands: epochs done, their records and their training seconds."""

    done: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def _first_nonfinite(values: Any) -> str | None:
    """``"nan"`` / ``"inf"`` / ``"-inf"`` for the first non-finite number of ``values`` (a
    Scalar, Tensor, array or number, on any device), None when all are finite. A GPU array
    is checked on the GPU; only the answer (and a bad array) comes back to the host."""
    if isinstance(values, Scalar):
        values = values.data
    if isinstance(values, Tensor):
        values = values._tensor._array
    if devices.is_device_array(values):
        xp = devices.namespace(values)
        if values.dtype.kind != "f" or bool(xp.isfinite(values).all()):
            return None
        values = devices.to_host(values)
    arr = np.asarray(values)
    if arr.dtype.kind != "f":
        return None
    if bool(np.isfinite(arr).all()):
        return None
    return str(arr[~np.isfinite(arr)].flat[0])


def _diverged_after_step(model: Module, optimizer: SGD | Adam) -> str | None:
    """What became NaN or infinite in the step just taken: a parameter, or the optimiser's
    state of one (Adam's g² overflows float32 for a huge gradient: its steps then become 0
    or NaN while the loss can stay finite, ReLU mapping NaN activations to 0)."""
    for i, (name, p) in enumerate(model.named_parameters()):
        bad = _first_nonfinite(p.value)
        if bad is not None:
            return f"parameter {name!r} became {bad} in the optimiser step"
        for key, value in optimizer.state.get(i, {}).items():
            bad = _first_nonfinite(value)
            if bad is not None:
                return f"the optimiser's {key} of parameter {name!r} became {bad}"
    return None


def _resume(
    path: Path, config: TrainConfig, model: Module, optimizer: SGD | Adam, rng: np.random.Generator
) -> _State:
    """Install the checkpoint at ``path`` (same settings but ``epochs`` and ``log_every``)."""
    ck = load_checkpoint(path)
    bad = nonfinite(ck)
    if bad:
        names = ", ".join(bad[:4]) + (f" and {len(bad) - 4} more" if len(bad) > 4 else "")
        raise CheckpointError(
            f"{path} holds NaN or infinite values ({names}): a run cannot continue from it. "
            "Resume from an earlier copy of the checkpoint, or start a fresh run (another "
            "--out, without --resume), with a smaller --lr if the run diverged."
        )
    try:
        meta = ck.meta
        saved, done = dict(meta["config"]), int(meta["epoch"])
        history = [dict(r) for r in meta["history"]]
        rng_state, py_state, lr = meta["numpy_rng"], meta["python_random"], float(meta["lr"])
        seconds = float(meta.get("train_seconds", 0.0))
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: metadata lacks training state ({err}).") from None
    differ = [
        f"{k}={saved.get(k)!r} in the checkpoint, {v!r} now"
        for k, v in asdict(config).items()
        if k not in ("epochs", "log_every", "device") and saved.get(k, v) != v
    ]
    if differ:
        raise CheckpointError(f"{path} belongs to a different run: " + "; ".join(differ) + ".")
    if done > config.epochs:
        raise CheckpointError(
            f"{path} is at epoch {done}, past the {config.epochs} epochs asked for."
        )
    restore(ck, model, optimizer)
    try:
        rng.bit_generator.state = rng_state
        random.setstate((py_state[0], tuple(py_state[1]), py_state[2]))
    except (TypeError, ValueError, KeyError, IndexError) as err:
        raise CheckpointError(f"{path}: bad RNG state ({err}).") from None
    optimizer.lr = lr
    return _State(done, history, seconds)


class OutputFolderError(OSError):
    """The run folder cannot be created or written to (checked before training starts)."""


def _check_writable(folder: Path) -> None:
    """Check that ``folder`` is, or can be made, a writable folder, by writing (and removing)
    a file in it or in its nearest existing parent, so that an unusable ``--out`` is
    reported before any training (and without creating anything)."""
    where = folder
    while not where.exists() and where != where.parent:
        where = where.parent
    if not where.is_dir():
        raise OutputFolderError(
            f"cannot use {folder} as the run folder: {where} is a file, not a folder; "
            "choose another --out."
        )
    try:
        fd, probe = tempfile.mkstemp(dir=where, prefix=".minitorch-write-test-")
    except OSError as err:
        raise OutputFolderError(
            f"cannot write to {where} ({err.strerror or err}), so the run folder {folder} "
            "cannot be written: make it writable or choose another --out."
        ) from None
    os.close(fd)
    os.unlink(probe)


def fit(
    config: TrainConfig,
    out: str | Path | None = None,
    *,
    model: Module | None = None,
    resume: bool = False,
    progress: bool = True,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    log: Callable[[str], None] | None = print,
    compile_step: bool = True,
) -> dict[str, Any]:
    """Train per ``config`` (see the module docstring) and return the metrics.

    ``model``: train this Module instead of ``build_model(config, ...)``. ``out``: the run
    folder (mlp and cnn). ``resume``: continue from ``out/checkpoint.npz``, whose settings
    must equal ``config``'s but for ``epochs`` (which may be raised: the cosine schedule
    spans ``epochs``, so a resumed run equals an uninterrupted one planned with the same
    ``epochs``), ``log_every`` and ``device`` (bit for bit on the same device). Without
    ``resume`` an existing checkpoint in ``out`` is an error (nothing is overwritten).
    ``on_epoch`` gets each epoch's record after its checkpoint is written; ``log`` each
    progress line. ``compile_step``: run each Tensor training step through
    ``minitorch.compile`` (traced once per batch shape, then replayed; the same numbers as
    eager steps); Scalars always run eagerly. The model (also a given ``model``) is moved to
    ``config.device`` (``DeviceError`` when that is a GPU that is not there).

    Under MPI (``mpiexec -n N``, or ``minitorch train --nproc N``; see
    ``minitorch.distributed``) every rank runs ``fit``: the parameters are broadcast from
    rank 0, each rank trains on its shard of every global batch (positions ≡ rank mod N of
    the epoch's order, the order one process would use), the gradients are summed across
    ranks weighted by each shard's share, and the epoch's loss and accuracy are summed over
    ranks. So N ranks give one process's metrics, up to the order of floating-point sums.
    Only rank 0 writes the run folder and the progress bar and calls ``log``; ``on_epoch``
    runs on every rank.
    """
    world, rank = distributed.get_world_size(), distributed.get_rank()
    lead = rank == 0
    if not lead:
        progress, log = False, None
    if world > 1 and config.model == "scalar":
        raise ValueError(
            "distributed training (--nproc) shares Tensor gradients; the scalar backend "
            "has none: use --backend tensor or --model mlp|cnn."
        )
    device = Device(config.device)
    if device.type == "cuda":
        devices.cuda_namespace()  # DeviceError (no CuPy, no GPU) before anything is done
    folder = None if out is None else Path(out)
    if folder is not None and config.lecture:
        raise ValueError("the lecture's network writes no run folder (--out, --resume).")
    if folder is None and resume:
        raise ValueError("resume=True needs the run folder (out) to resume.")
    if folder is not None:
        if resume and not folder.is_dir():
            raise CheckpointError(f"no run folder at {folder}: nothing to resume.")
        if not resume and (folder / CHECKPOINT).exists():
            raise FileExistsError(
                f"{folder / CHECKPOINT} exists: continue that run with --resume {folder}, or "
                "choose another --out."
            )
        if lead:
            _check_writable(folder)
    data = load_data(config)
    if model is None:
        model = build_model(config, data.x_train.shape[1:], data.classes)
    on_device = None if device.type == "cpu" else device
    if on_device is not None:
        model.to(on_device)
    distributed.broadcast_parameters(model)  # every rank starts from rank 0's weights
    optimizer = _optimizer(config, model)
    schedule = None if config.lecture else CosineAnnealingLR(optimizer, T_max=config.epochs)
    rng = np.random.default_rng(config.seed)
    state = _State()
    if folder is not None and resume:
        state = _resume(folder / CHECKPOINT, config, model, optimizer, rng)
        if log:
            log(f"resuming {folder / CHECKPOINT} at epoch {state.done}/{config.epochs}")
        if state.done == config.epochs and log:
            log(
                f"the run has finished its {config.epochs} epochs (raise --epochs to train "
                "on); evaluating its weights on the test set now"
            )
    if folder is not None and lead:
        folder.mkdir(parents=True, exist_ok=True)
    if schedule is not None:
        schedule.last_epoch = state.done
    history = state.history

    n = len(data.x_train)
    size = min(config.batch_size or n, n)
    steps = math.ceil(n / size)
    last = n - (steps - 1) * size
    if world > 1 and last < world:
        raise ValueError(
            f"{world} ranks need at least {world} examples in every batch, but the "
            f"{'batch' if steps == 1 else 'last batch'} of {n} training examples in batches "
            f"of {size} holds {last}: use fewer ranks (--nproc) or another --batch-size."
        )
    bar = tqdm(
        total=steps * (config.epochs - state.done),
        disable=not progress,
        unit="step",
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
    )
    tensor_step = None if config.model == "scalar" else train_step(config, model, optimizer)
    if tensor_step is not None and compile_step:
        tensor_step = compile_function(tensor_step)
    with bar, _one_blas_thread():
        for epoch in range(state.done + 1, config.epochs + 1):
            start = time.perf_counter()
            bar.set_description(f"epoch {epoch}/{config.epochs}", refresh=False)
            order = rng.permutation(n) if steps > 1 else np.arange(n)
            total_loss, correct, seen = 0.0, 0, 0
            model.train()
            for step in range(steps):
                idx = order[step * size : (step + 1) * size]
                share = 1.0
                if world > 1:  # this rank's shard of the global batch
                    part = distributed.shard(idx, rank, world)
                    share, idx = len(part) / len(idx), part
                x_b, y_b = data.x_train[idx], data.y_train[idx]
                if tensor_step is None:  # Scalars: the lecture's loop, point by point
                    loss, b_loss, b_correct = batch_loss(config, model, x_b, y_b)
                    value = loss.item()
                    if math.isfinite(value):
                        loss.backward()
                        optimizer.step()
                        optimizer.zero_grad()
                else:
                    x_t = Tensor(x_b, device=on_device)
                    target = batch_targets(config, y_b, on_device)
                    if world > 1:
                        loss, outputs = tensor_step(x_t, target, share)
                    else:
                        loss, outputs = tensor_step(x_t, target)
                    value = loss.item()
                    b_loss, b_correct = batch_stats(config, loss, outputs, y_b)
                problem = None if math.isfinite(value) else f"the training loss is {value}"
                if problem is None:
                    problem = _diverged_after_step(model, optimizer)
                if problem is not None:
                    kept = (
                        f"{folder / CHECKPOINT} (epoch {epoch - 1}) is untouched"
                        if folder is not None and epoch > 1
                        else "no checkpoint was written"
                    )
                    raise TrainingDivergedError(
                        f"{problem} at epoch {epoch}, step {step + 1}/{steps} "
                        f"(lr {optimizer.lr:.3g}): try a smaller --lr (or check the inputs "
                        f"for huge values); {kept}."
                    )
                total_loss, correct = total_loss + b_loss, correct + b_correct
                seen += len(idx)
                bar.update(1)
                if step % 10 == 0:
                    bar.set_postfix_str(
                        f"loss {total_loss / seen:.4f} acc {100 * correct / seen:.1f}%",
                        refresh=False,
                    )
            if world > 1:  # the epoch's sums over every rank's shards
                total_loss, summed = distributed.all_reduce_sum([total_loss, correct])
                correct = round(summed)
            train_seconds = time.perf_counter() - start
            lr_used = optimizer.lr
            if schedule is not None:
                schedule.step()
            test_loss, test_acc = (
                evaluate(config, model, data.x_test, data.y_test)
                if folder is not None or epoch == config.epochs
                else (None, None)
            )
            seconds = time.perf_counter() - start
            state.seconds += seconds
            record = {
                "epoch": epoch,
                "train_loss": total_loss / n,
                "train_accuracy": correct / n,
                "test_loss": test_loss,
                "test_accuracy": test_acc,
                "lr": lr_used,
                "seconds": round(seconds, 4),
                "steps_per_second": round(steps / train_seconds, 2),
            }
            history.append(record)
            if folder is not None and lead:
                meta = {
                    "config": asdict(config),
                    "epoch": epoch,
                    "history": history,
                    "lr": optimizer.lr,
                    "numpy_rng": rng.bit_generator.state,
                    "python_random": random.getstate(),
                    "train_seconds": state.seconds,
                    "classes": data.classes,
                    "input_shape": list(data.x_train.shape[1:]),
                    "mean": data.mean,
                    "std": data.std,
                }
                save_checkpoint(folder / CHECKPOINT, model, optimizer, meta)
                _write_json(folder / METRICS, _metrics(config, data, history, state.seconds))
            if log and (epoch % config.log_every == 0 or epoch == config.epochs):
                with tqdm.external_write_mode(file=sys.stdout):
                    log(_epoch_line(config, record, n))
            if on_epoch is not None:
                on_epoch(record)

    metrics = _metrics(config, data, history, state.seconds)
    if resume and state.done == config.epochs:  # nothing trained: report the weights as they are
        test_loss, test_acc = evaluate(config, model, data.x_test, data.y_test)
        metrics["final"].update(test_loss=test_loss, test_accuracy=test_acc)
    if folder is not None and lead:
        _write_json(folder / METRICS, metrics)
        try:
            _plots(config, model, data, history, folder)
        except ImportError as err:
            print(f"plots skipped: {err}", file=sys.stderr)
    return metrics


def _metrics(
    config: TrainConfig, data: DataSplit, history: list[dict[str, Any]], seconds: float
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


def _epoch_line(config: TrainConfig, r: dict[str, Any], n: int) -> str:
    """The progress line of epoch record ``r`` (``n`` training points)."""
    w = len(str(config.epochs))
    head = f"epoch {r['epoch']:{w}d}/{config.epochs}  "
    if config.lecture:
        right = round(r["train_accuracy"] * n)
        return (
            f"{head}loss {r['train_loss']:.4f}  accuracy "
            f"{100 * r['train_accuracy']:5.1f}% ({right}/{n})"
        )
    test = (
        ""
        if r["test_loss"] is None  # fit without a run folder tests after the last epoch only
        else f"test loss {r['test_loss']:.4f} acc {100 * r['test_accuracy']:5.1f}%  "
    )
    return (
        f"{head}train loss {r['train_loss']:.4f} acc {100 * r['train_accuracy']:5.1f}%  "
        f"{test}({r['seconds']:.1f} s, {r['steps_per_second']:.0f} steps/s)"
    )


def _plots(
    config: TrainConfig,
    model: Module,
    data: DataSplit,
    history: list[dict[str, Any]],
    folder: Path,
) -> None:
    title = f"{config.model} on {data.name}"
    plots.plot_loss_curves(history, folder / "loss.png", title)

    device = _model_device(model)

    def probs(x: Array) -> Array:
        """Softmax of the logits of every row of ``x`` (eval mode, no graph)."""
        model.eval()
        with no_grad():
            z = np.concatenate(
                [
                    model(Tensor(x[i : i + _EVAL_BATCH].astype(data.x_test.dtype), device=device))
                    .cpu()
                    .to_numpy()
                    for i in range(0, len(x), _EVAL_BATCH)
                ]
            ).astype(np.float64)
        model.train()
        e = np.exp(z - z.max(axis=1, keepdims=True))
        out: Array = e / e.sum(axis=1, keepdims=True)
        return out

    if data.images:
        cm = plots.confusion_counts(data.y_test, probs(data.x_test).argmax(axis=1), data.classes)
        plots.plot_confusion_matrix(cm, folder / "confusion.png", f"{title} (test set)")
    else:
        x = np.concatenate([data.x_train, data.x_test])
        y = np.concatenate([data.y_train, data.y_test])
        path = folder / "decision_boundary.png"
        plots.plot_decision_boundary(probs, x, y, path, f"{title} (train and test points)")
