"""Training the lecture's classifiers on the toy datasets (the ``run_scalar.py`` workload).

One epoch is full-batch gradient descent on the mean negative log-likelihood: a forward
pass over all ``N`` points, one backward pass of

    L = -(1/N) Σ_i log P(y_i | x_i),   P(1 | x) = p = σ(m(x)),  P(0 | x) = 1 - p = σ(-m(x)),

one SGD step θ ← θ - lr · ∂L/∂θ, and ``zero_grad``. (``-log(1 - p)`` is computed as
``-log σ(-m)``: the same number, without the cancellation in ``1 - p``.)

The points are centred before training, x ↦ 2x - 1 (the unit square becomes [-1, 1]²):
with inputs all positive, the biases and weights pull against each other and gradient
descent needs several times as many epochs to place the boundaries precisely.

The ``"scalar"`` backend builds one graph of Scalars per epoch (``ScalarNetwork``); the
``"tensor"`` backend computes the same function on a (B, 2) Tensor with one matrix product
per layer (``TensorNetwork``), so it is fast enough for many more epochs and points, and
can also take one step per shuffled minibatch (``TrainConfig.batch_size``).

Backends are registered by name in ``BACKENDS`` with their own default hyperparameters, so
the command line (``minitorch train --backend ...``) can offer each of them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from ..autodiff import no_grad
from ..datasets import Graph, datasets
from ..module import Module
from ..optim import SGD
from ..scalar import Scalar
from ..tensor import Tensor
from .scalar_model import ScalarNetwork
from .tensor_model import TensorNetwork

__all__ = [
    "BACKENDS",
    "Backend",
    "EpochStats",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "centre",
    "dataset_names",
    "make_dataset",
    "register_backend",
    "resolve_dataset",
    "scalar_epoch",
    "scalar_evaluate",
    "scalar_inputs",
    "tensor_evaluate",
    "tensor_inputs",
    "tensor_step",
    "train",
    "train_scalar",
    "train_tensor",
]


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run.

    ``hidden``: width of each hidden layer; ``depth``: number of hidden ReLU layers;
    ``epochs``: passes over the data; ``lr``: SGD learning rate; ``seed``: seeds the
    dataset, the initialisation and the minibatch order; ``log_every``: report every
    this many epochs; ``batch_size``: points per SGD step (``None``: the full batch, one
    step per epoch; only backends with ``Backend.minibatch`` honour it).
    """

    hidden: int = 10
    epochs: int = 300
    lr: float = 2.5
    depth: int = 1
    seed: int = 0
    log_every: int = 25
    batch_size: int | None = None

    def __post_init__(self) -> None:
        for name in ("hidden", "epochs", "depth", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"TrainConfig.{name} must be at least 1, got {getattr(self, name)}."
                )
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"TrainConfig.batch_size must be at least 1, got {self.batch_size}.")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be positive, got {self.lr}.")


@dataclass(frozen=True)
class EpochStats:
    """Loss and accuracy of one epoch, measured on the forward pass that the step used."""

    epoch: int
    loss: float
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        """Fraction of points classified correctly (0 to 1)."""
        return self.correct / self.total if self.total else 0.0


@dataclass
class TrainResult:
    """What a training run returns.

    ``final_loss``, ``correct`` and ``total`` evaluate the *trained* parameters (a forward
    pass after the last step); ``history`` holds one ``EpochStats`` per epoch.
    """

    final_loss: float
    correct: int
    total: int
    history: list[EpochStats] = field(default_factory=list)
    seconds: float = 0.0
    model: Module | None = field(default=None, repr=False)

    @property
    def final_accuracy(self) -> float:
        """Fraction of training points the trained model classifies correctly (0 to 1)."""
        return self.correct / self.total if self.total else 0.0


EpochCallback = Callable[[EpochStats], None]


class Trainer(Protocol):
    """``train(data, config, on_epoch=..., on_log=...) -> TrainResult`` for one backend."""

    def __call__(
        self,
        data: Graph,
        config: TrainConfig,
        *,
        on_epoch: EpochCallback | None = None,
        on_log: EpochCallback | None = None,
    ) -> TrainResult: ...


@dataclass(frozen=True)
class Backend:
    """A named way to train, with the defaults the command line offers for it.

    ``minibatch``: whether ``train`` honours ``TrainConfig.batch_size``.
    """

    name: str
    description: str
    defaults: TrainConfig
    train: Trainer
    minibatch: bool = False


BACKENDS: dict[str, Backend] = {}
"""Registered backends by name (``"scalar"``; others add themselves with ``register_backend``)."""


def register_backend(backend: Backend) -> Backend:
    """Add ``backend`` to ``BACKENDS`` (replacing one of the same name) and return it."""
    BACKENDS[backend.name] = backend
    return backend


# ---------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------


def dataset_names() -> list[str]:
    """The dataset names, in the course's order: Simple Diag Split Xor Circle Spiral."""
    return list(datasets)


def resolve_dataset(name: str) -> str:
    """The canonical spelling of a dataset name, matched case-insensitively (KeyError if none)."""
    for known in datasets:
        if known.lower() == name.strip().lower():
            return known
    raise KeyError(f"unknown dataset {name!r} (choose from {', '.join(datasets)})")


def make_dataset(name: str, points: int, seed: int) -> Graph:
    """``datasets[name](points)`` drawn after ``random.seed(seed)``, so it is reproducible."""
    if points < 1:
        raise ValueError(f"a dataset needs at least one point, got {points}.")
    random.seed(seed)
    return datasets[resolve_dataset(name)](points)


# ---------------------------------------------------------------------------
# The scalar backend
# ---------------------------------------------------------------------------


def centre(x: float) -> float:
    """Map a coordinate from [0, 1] to [-1, 1]: x ↦ 2x - 1."""
    return 2.0 * x - 1.0


def scalar_inputs(data: Graph) -> list[tuple[Scalar, Scalar]]:
    """The centred points as constant Scalars (no derivative is computed for the data)."""
    return [(Scalar(centre(x1), None), Scalar(centre(x2), None)) for x1, x2 in data.X]


def _log_likelihood(
    model: ScalarNetwork, X: Sequence[tuple[Scalar, Scalar]], y: Sequence[int]
) -> tuple[Scalar, int]:
    """(Σ_i log P(y_i | x_i), number of points with P(y_i | x_i) > 1/2)."""
    total: Scalar | None = None
    correct = 0
    for x, label in zip(X, y):
        m = model.score(x)
        p_true = (m if label == 1 else -m).sigmoid()  # σ(m) or σ(-m) = 1 - σ(m)
        if p_true.data > 0.5:
            correct += 1
        term = p_true.log()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("cannot train on an empty dataset.")
    return total, correct


def scalar_epoch(
    model: ScalarNetwork,
    X: Sequence[tuple[Scalar, Scalar]],
    y: Sequence[int],
    optimizer: SGD,
) -> tuple[float, int]:
    """One full-batch step: L = -(1/N) Σ log P(y_i | x_i); backward; SGD step; zero_grad.

    Returns the loss and the number of correct points, both from this forward pass.
    """
    log_lik, correct = _log_likelihood(model, X, y)
    loss = log_lik * (-1.0 / len(y))
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.data, correct


def scalar_evaluate(
    model: ScalarNetwork, X: Sequence[tuple[Scalar, Scalar]], y: Sequence[int]
) -> tuple[float, int]:
    """Mean negative log-likelihood and number correct, without recording a graph."""
    with no_grad():
        log_lik, correct = _log_likelihood(model, X, y)
    return -log_lik.data / len(y), correct


def train_scalar(
    data: Graph,
    config: TrainConfig,
    *,
    on_epoch: EpochCallback | None = None,
    on_log: EpochCallback | None = None,
) -> TrainResult:
    """Train a ``ScalarNetwork`` on ``data`` with full-batch SGD (see the module docstring).

    The network is initialised from ``random.Random(f"init:{config.seed}")``, a stream
    independent of the dataset's (``make_dataset`` draws after ``random.seed(seed)``).
    ``on_epoch`` is called after every epoch and ``on_log`` every ``config.log_every``
    epochs and after the last, each with that epoch's ``EpochStats``.
    """
    start = time.perf_counter()
    rng = random.Random(f"init:{config.seed}")
    model = ScalarNetwork(config.hidden, depth=config.depth, rng=rng)
    optimizer = SGD(model.parameters(), lr=config.lr)
    X, y = scalar_inputs(data), list(data.y)
    history: list[EpochStats] = []
    for epoch in range(1, config.epochs + 1):
        loss, correct = scalar_epoch(model, X, y, optimizer)
        stats = EpochStats(epoch, loss, correct, len(y))
        history.append(stats)
        if on_epoch is not None:
            on_epoch(stats)
        if on_log is not None and (epoch % config.log_every == 0 or epoch == config.epochs):
            on_log(stats)
    final_loss, final_correct = scalar_evaluate(model, X, y)
    return TrainResult(
        final_loss,
        final_correct,
        len(y),
        history,
        time.perf_counter() - start,
        model,
    )


SCALAR_DEFAULTS = TrainConfig(hidden=10, epochs=300, lr=2.5, depth=1, seed=0, log_every=25)
"""Defaults of the scalar backend.

With 50 points they reach 100 % training accuracy on Simple, Diag, Split and Xor; measured
on each epoch's forward pass, accuracy stays at 100 % from about epoch 5, 12, 112 and 166
on, so 300 epochs leave room for small changes in rounding.
"""

register_backend(
    Backend(
        "scalar",
        "the lecture's Network of Scalar Parameters (pure Python autodiff)",
        SCALAR_DEFAULTS,
        train_scalar,
    )
)


# ---------------------------------------------------------------------------
# The tensor backend
# ---------------------------------------------------------------------------


def tensor_inputs(data: Graph) -> tuple[Tensor, Tensor]:
    """The centred points as a (N, 2) Tensor and the label signs s = 2y - 1 as (N, 1).

    Both are constants. With s, P(y | x) = σ(s · m(x)) for either label.
    """
    X = 2.0 * np.asarray(data.X, dtype=np.float64).reshape(-1, 2) - 1.0
    signs = 2.0 * np.asarray(data.y, dtype=np.float64).reshape(-1, 1) - 1.0
    return Tensor(X), Tensor(signs)


def tensor_step(
    model: TensorNetwork, X: Tensor, signs: Tensor, optimizer: SGD
) -> tuple[float, int]:
    """One SGD step on a batch: L = -(1/B) Σ_i log σ(s_i · m(x_i)); backward; step; zero_grad.

    ``X``: (B, 2), ``signs``: (B, 1). The same maths as ``scalar_epoch`` (σ(-m) = 1 - σ(m)
    needs no subtraction; ``log`` adds ``operators.EPS``). Returns the loss and the number
    of points with s · m > 0 (P(y | x) > 1/2), both from this forward pass.
    """
    z = model.score(X) * signs
    correct = int(np.count_nonzero(z.to_numpy() > 0.0))
    loss = -z.sigmoid().log().mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item(), correct


def tensor_evaluate(model: TensorNetwork, X: Tensor, signs: Tensor) -> tuple[float, int]:
    """Mean negative log-likelihood and number correct on (X, signs), without a graph."""
    with no_grad():
        z = model.score(X) * signs
        loss = -z.sigmoid().log().mean()
    return loss.item(), int(np.count_nonzero(z.to_numpy() > 0.0))


def train_tensor(
    data: Graph,
    config: TrainConfig,
    *,
    on_epoch: EpochCallback | None = None,
    on_log: EpochCallback | None = None,
) -> TrainResult:
    """Train a ``TensorNetwork`` on ``data`` with SGD, full batch or in minibatches.

    With ``config.batch_size`` of ``None`` (or at least N) an epoch is one full-batch step,
    the same maths as ``train_scalar``; the network is initialised from
    ``random.Random(f"init:{config.seed}")`` exactly as the scalar backend's is.
    Otherwise each epoch shuffles the points (``random.Random(f"batches:{config.seed}")``,
    one permutation per epoch) and takes one step per slice of ``batch_size`` points (the
    last one may be smaller); the epoch's loss is the mean over all points of the losses
    seen during the epoch, its accuracy the count of points correct at their step.
    """
    start = time.perf_counter()
    model = TensorNetwork(
        config.hidden, depth=config.depth, rng=random.Random(f"init:{config.seed}")
    )
    optimizer = SGD(model.parameters(), lr=config.lr)
    X, signs = tensor_inputs(data)
    n = X.shape[0]
    if n == 0:
        raise ValueError("cannot train on an empty dataset.")
    size = n if config.batch_size is None else min(config.batch_size, n)
    order_rng = random.Random(f"batches:{config.seed}")
    X_all, s_all = X.to_numpy(), signs.to_numpy()
    history: list[EpochStats] = []
    for epoch in range(1, config.epochs + 1):
        if size == n:
            loss, correct = tensor_step(model, X, signs, optimizer)
        else:
            order = list(range(n))
            order_rng.shuffle(order)
            total, correct = 0.0, 0
            for lo in range(0, n, size):
                idx = order[lo : lo + size]
                batch_loss, batch_correct = tensor_step(
                    model, Tensor(X_all[idx]), Tensor(s_all[idx]), optimizer
                )
                total += batch_loss * len(idx)
                correct += batch_correct
            loss = total / n
        stats = EpochStats(epoch, loss, correct, n)
        history.append(stats)
        if on_epoch is not None:
            on_epoch(stats)
        if on_log is not None and (epoch % config.log_every == 0 or epoch == config.epochs):
            on_log(stats)
    final_loss, final_correct = tensor_evaluate(model, X, signs)
    return TrainResult(
        final_loss,
        final_correct,
        n,
        history,
        time.perf_counter() - start,
        model,
    )


TENSOR_DEFAULTS = TrainConfig(hidden=10, epochs=1000, lr=1.0, depth=1, seed=0, log_every=100)
"""Defaults of the tensor backend (full batch unless ``batch_size`` is given).

With 50 points and seed 0 they reach 100 % training accuracy on Simple, Diag, Split and
Xor, both full batch (per-epoch accuracy stays at 100 % from about epoch 9, 15, 137 and
247 on) and with ``batch_size=10`` (from about 182, 14, 144 and 189). The scalar
backend's lr of 2.5 fits the full batch too, but is too large for small minibatches (Xor
stalls at 46/50 with ``batch_size=10``); an epoch costs well under a millisecond here, so
the smaller step can afford the extra epochs.
"""

register_backend(
    Backend(
        "tensor",
        "the same Network on Tensors: one matrix product per layer per batch",
        TENSOR_DEFAULTS,
        train_tensor,
        minibatch=True,
    )
)


def train(
    dataset: str = "Xor",
    points: int = 50,
    backend: str = "scalar",
    *,
    on_epoch: EpochCallback | None = None,
    on_log: EpochCallback | None = None,
    **overrides: float,
) -> TrainResult:
    """Generate ``dataset`` (seeded) and train on it with ``backend``'s defaults.

    Keyword ``overrides`` replace fields of the backend's ``TrainConfig``, e.g.
    ``train("Split", epochs=50, lr=0.5)``.
    """
    try:
        spec = BACKENDS[backend]
    except KeyError:
        raise KeyError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})") from None
    config = replace(spec.defaults, **overrides)  # type: ignore[arg-type]
    if config.batch_size is not None and not spec.minibatch:
        raise ValueError(f"the {backend} backend trains on the full batch only (no batch_size).")
    data = make_dataset(dataset, points, config.seed)
    return spec.train(data, config, on_epoch=on_epoch, on_log=on_log)
