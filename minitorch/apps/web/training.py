"""Page "Train the lecture's network": the lecture's Network (Scalars or Tensors) on one of
the 2-D datasets, its decision boundary and loss curve redrawn while it trains, and its
parameters by name (``named_parameters()``).

Training is ``apps.train.fit`` with an ``on_epoch`` callback that redraws at most every
``REDRAW_SECONDS`` (and after the last epoch).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import streamlit as st

from ...autodiff import no_grad
from ...datasets import datasets
from ...module import Module
from ...tensor import Tensor
from ..models import ScalarNetwork, StackedNetwork, TensorNetwork
from ..train import TrainConfig, build_model, default_config, fit, load_data
from . import PAGES
from .pictures import boundary_image

__all__ = [
    "BACKENDS",
    "REDRAW_SECONDS",
    "Run",
    "as_tensor_network",
    "config_for",
    "parameter_rows",
    "probability_of_class_1",
    "render",
]

BACKENDS = {"Scalar": "scalar", "Tensor": "tensor"}
"""The backend choices and the ``TrainConfig.model`` each names."""
REDRAW_SECONDS = 0.25
"""Redraw at most this often while training (four times a second)."""
Array = npt.NDArray[Any]


def config_for(backend: str, **options: Any) -> TrainConfig:
    """The lecture's recipe for ``backend`` ("Scalar" or "Tensor") with ``options``
    (dataset, points, hidden, lr, epochs) applied."""
    return default_config(BACKENDS[backend], **options)


def as_tensor_network(model: StackedNetwork) -> TensorNetwork:
    """The same network on Tensors (a ScalarNetwork's weights copied), to evaluate many
    points at once; a TensorNetwork is returned as it is."""
    if isinstance(model, TensorNetwork):
        return model
    net = TensorNetwork(model.hidden_layers, depth=model.depth, rng=random.Random(0))
    for scalar_layer, tensor_layer in zip(model.layers, net.layers):
        w = [[p.value.data for p in row] for row in scalar_layer.weights]
        b = [p.value.data for p in scalar_layer.bias]
        tensor_layer.weights.update(Tensor(np.array(w, dtype=np.float64)))
        tensor_layer.bias.update(Tensor(np.array(b, dtype=np.float64)))
    return net


def probability_of_class_1(model: StackedNetwork, points: Array) -> Array:
    """σ(m(x)) for each row of ``points`` ``(M, 2)``: shape ``(M,)``."""
    with no_grad():
        p = as_tensor_network(model)(Tensor(np.asarray(points, dtype=np.float64)))
    out: Array = p.to_numpy().reshape(-1)
    return out


def parameter_rows(model: Module) -> list[dict[str, Any]]:
    """``named_parameters()`` as table rows: name, shape, value (numbers rounded)."""
    rows = []
    for name, p in model.named_parameters():
        v = p.value
        if isinstance(v, Tensor):
            a = v.to_numpy()
            value = str(np.round(a, 4).tolist()) if a.size <= 40 else f"{a.size} numbers"
            shape = str(tuple(a.shape))
        else:
            value, shape = f"{float(v.data):.4f}", "()"
        rows.append({"name": name, "shape": shape, "value": value})
    return rows


@dataclass
class Run:
    """One training run's model, data and history (kept between the page's reruns)."""

    config: TrainConfig
    model: StackedNetwork
    x: Array
    y: Array
    history: list[dict[str, Any]] = field(default_factory=list)
    updates: int = 0
    finished: bool = False

    @classmethod
    def start(cls, config: TrainConfig) -> Run:
        """The untrained model of ``config`` and its training points."""
        data = load_data(config)
        model = build_model(config, data.x_train.shape[1:], data.classes)
        assert isinstance(model, (ScalarNetwork, TensorNetwork))
        return cls(config, model, data.x_train, data.y_train)

    def picture(self) -> Any:
        """The decision boundary with the training points."""
        return boundary_image(lambda pts: probability_of_class_1(self.model, pts), self.x, self.y)

    def status(self) -> str:
        """One line: epoch, loss, accuracy and how many times the plots were drawn."""
        if not self.history:
            return f"epoch 0/{self.config.epochs} · untrained · update {self.updates}"
        r = self.history[-1]
        return (
            f"epoch {r['epoch']}/{self.config.epochs} · loss {r['train_loss']:.4f} · "
            f"accuracy {100 * r['train_accuracy']:.0f}% · update {self.updates}"
        )


def _draw(run: Run, slots: dict[str, Any]) -> None:
    run.updates += 1
    slots["picture"].image(run.picture(), caption="P(class 1): red 0, blue 1; white: 0.5")
    losses = [r["train_loss"] for r in run.history]
    slots["loss"].line_chart({"training loss": losses}, x_label="epoch", height=300)
    slots["status"].caption(run.status())


def _train(run: Run, slots: dict[str, Any]) -> None:
    last = [time.perf_counter()]

    def on_epoch(record: dict[str, Any]) -> None:
        run.history.append(record)
        now = time.perf_counter()
        if now - last[0] >= REDRAW_SECONDS or record["epoch"] == run.config.epochs:
            _draw(run, slots)
            last[0] = now

    fit(run.config, model=run.model, progress=False, log=None, on_epoch=on_epoch)
    run.finished = True


def _backend_defaults() -> None:
    base = config_for(st.session_state["tr_backend"])
    st.session_state["tr_lr"], st.session_state["tr_epochs"] = base.lr, base.epochs


def render() -> None:
    """Lay out the page."""
    st.title(PAGES["train"])
    st.write(
        "The lecture's network: 2 inputs, one hidden ReLU layer, a sigmoid output, trained "
        "with SGD on −log P(label). Pick a dataset and watch the boundary move."
    )
    if "tr_backend" not in st.session_state:
        st.session_state["tr_backend"] = "Scalar"
        _backend_defaults()
    c1, c2, c3, c4, c5, c6 = st.columns(6)
    c1.selectbox("Dataset", list(datasets), index=list(datasets).index("Xor"), key="tr_dataset")
    c2.slider("Points", 10, 200, 50, step=10, key="tr_points")
    c3.slider("Hidden units", 2, 30, 10, key="tr_hidden")
    c4.number_input("Learning rate", 0.01, 10.0, key="tr_lr", step=0.1, format="%.2f")
    c5.number_input("Epochs", 1, 5000, key="tr_epochs", step=50)
    c6.radio("Backend", list(BACKENDS), key="tr_backend", on_change=_backend_defaults)
    clicked = st.button("Train", type="primary")
    config = config_for(
        st.session_state["tr_backend"],
        dataset=st.session_state["tr_dataset"],
        points=int(st.session_state["tr_points"]),
        hidden=int(st.session_state["tr_hidden"]),
        lr=float(st.session_state["tr_lr"]),
        epochs=int(st.session_state["tr_epochs"]),
    )
    run: Run | None = st.session_state.get("tr_run")
    if clicked or run is None or (run.config != config and not run.finished):
        run = Run.start(config)
        st.session_state["tr_run"] = run
    left, right = st.columns(2)
    slots = {"picture": left.empty(), "loss": right.empty(), "status": st.empty()}
    _draw(run, slots)
    if clicked:
        started = time.perf_counter()
        _train(run, slots)
        seconds = time.perf_counter() - started
        r = run.history[-1]
        st.success(
            f"Finished {config.epochs} epochs in {seconds:.1f} s: loss "
            f"{r['train_loss']:.4f}, accuracy {100 * r['train_accuracy']:.0f}%"
        )
    elif run.config != config:
        st.caption("The settings changed since this run: press Train to train with them.")
    with st.expander("Parameters by name: model.named_parameters()", expanded=run.finished):
        st.dataframe(parameter_rows(run.model), hide_index=True, width="stretch")
