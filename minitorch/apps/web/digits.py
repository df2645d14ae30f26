"""Page "Digits": train the MLP or the CNN on the bundled 8x8 digits (or open a run folder
written by ``minitorch train``), then its confusion matrix on the test set and the test
images it gets wrong, with what it predicted."""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import streamlit as st

from ...autodiff import no_grad
from ...checkpoint import CheckpointError, load_checkpoint, restore
from ...module import Module
from ...tensor import Tensor
from ..plots import confusion_counts
from ..train import (
    CHECKPOINT,
    DIGITS,
    METRICS,
    DataSplit,
    TrainConfig,
    build_model,
    default_config,
    fit,
    load_data,
)
from . import PAGES
from .pictures import enlarge
from .widgets import show_svg

__all__ = ["MODELS", "Results", "confusion_svg", "open_run", "predictions", "render"]

MODELS = {"CNN": "cnn", "MLP": "mlp"}
REDRAW_SECONDS = 0.25
_BATCH = 512


def predictions(model: Module, x: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """The class with the largest logit for each input (eval mode, no graph, in batches)."""
    model.eval()
    with no_grad():
        out = [
            model(Tensor(x[i : i + _BATCH])).to_numpy().argmax(axis=1)
            for i in range(0, len(x), _BATCH)
        ]
    model.train()
    return np.concatenate(out).astype(np.int64)


@dataclass
class Results:
    """A trained model's test-set verdicts and its training history."""

    config: TrainConfig
    model: Module
    data: DataSplit
    history: list[dict[str, Any]] = field(default_factory=list)
    source: str = "trained here"

    @cached_property
    def predicted(self) -> npt.NDArray[np.int64]:
        """Predicted class of each test image (computed once: the model is trained)."""
        return predictions(self.model, self.data.x_test)

    def confusion(self) -> npt.NDArray[np.int64]:
        """Counts ``[true, predicted]`` on the test set."""
        return confusion_counts(self.data.y_test, self.predicted, self.data.classes)


def open_run(folder: str | Path) -> Results:
    """The model saved in a ``minitorch train`` run folder (its checkpoint and metrics);
    ``CheckpointError``/``FileNotFoundError`` say what is missing or wrong."""
    path = Path(folder).expanduser()
    if not (path / CHECKPOINT).is_file():
        raise FileNotFoundError(
            f"{path} holds no {CHECKPOINT}: give a folder written by minitorch train (its --out)."
        )
    ck = load_checkpoint(path / CHECKPOINT)
    saved = dict(ck.meta.get("config", {}))
    known = {f.name for f in fields(TrainConfig)}
    try:
        config = TrainConfig(**{k: v for k, v in saved.items() if k in known})
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: its settings are not a run's ({err}).") from None
    if config.lecture or config.dataset != DIGITS:
        raise CheckpointError(
            f"{path} trained {config.model} on {config.dataset}; this page shows runs on the "
            "digits (minitorch train --model mlp|cnn)."
        )
    config = TrainConfig(**{**saved, "device": "cpu"})
    data = load_data(config)
    model = build_model(config, data.x_train.shape[1:], data.classes)
    restore(ck, model)
    history = list(ck.meta.get("history", []))
    metrics = path / METRICS
    if metrics.is_file():
        history = list(json.loads(metrics.read_text()).get("history", history))
    return Results(config, model, data, history, source=str(path))


def confusion_svg(cm: npt.NDArray[np.int64]) -> str:
    """The confusion matrix as a heat map: rows the true class, columns the predicted."""
    n, cell, pad = len(cm), 34, 40
    top = max(int(cm.max()), 1)
    parts = [
        f'<text x="{pad + n * cell / 2}" y="14" font-size="13" text-anchor="middle">'
        "predicted</text>",
        f'<text x="12" y="{pad + n * cell / 2}" font-size="13" text-anchor="middle" '
        f'transform="rotate(-90 12 {pad + n * cell / 2})">true</text>',
    ]
    for k in range(n):
        parts.append(
            f'<text x="{pad + k * cell + cell / 2}" y="{pad - 6}" font-size="12" '
            f'text-anchor="middle">{k}</text>'
        )
        parts.append(
            f'<text x="{pad - 8}" y="{pad + k * cell + cell / 2 + 4}" font-size="12" '
            f'text-anchor="end">{k}</text>'
        )
    for t in range(n):
        for p in range(n):
            v = int(cm[t, p])
            shade = v / top
            blue = (int(247 - 214 * shade), int(251 - 149 * shade), int(255 - 83 * shade))
            ink = "white" if shade > 0.5 else "black"
            wrong = ' stroke="#b2182b" stroke-width="2"' if v and t != p else ' stroke="#ccc"'
            parts.append(
                f"<g><title>{html.escape(f'true {t}, predicted {p}: {v}')}</title>"
                f'<rect x="{pad + p * cell}" y="{pad + t * cell}" width="{cell}" '
                f'height="{cell}" fill="rgb{blue}"{wrong}/><text x="{pad + p * cell + cell / 2}" '
                f'y="{pad + t * cell + cell / 2 + 4}" font-size="12" text-anchor="middle" '
                f'fill="{ink}">{v}</text></g>'
            )
    size = pad + n * cell + 4
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}" font-family="sans-serif">{"".join(parts)}</svg>'
    )


def _train(config: TrainConfig, slots: dict[str, Any]) -> Results:
    data = load_data(config)
    model = build_model(config, data.x_train.shape[1:], data.classes)
    results = Results(config, model, data)
    last, updates = [time.perf_counter()], [0]

    def draw() -> None:
        updates[0] += 1
        h = results.history
        losses = {"training loss": [r["train_loss"] for r in h]}
        slots["loss"].line_chart(losses, x_label="epoch", height=260)
        r = h[-1]
        slots["status"].caption(
            f"epoch {r['epoch']}/{config.epochs} · training loss {r['train_loss']:.4f} · "
            f"training accuracy {100 * r['train_accuracy']:.1f}% · update {updates[0]}"
        )
        slots["progress"].progress(r["epoch"] / config.epochs)

    def on_epoch(record: dict[str, Any]) -> None:
        results.history.append(record)
        now = time.perf_counter()
        if now - last[0] >= REDRAW_SECONDS or record["epoch"] == config.epochs:
            draw()
            last[0] = now

    fit(config, model=model, progress=False, log=None, on_epoch=on_epoch)
    return results


def _show(results: Results) -> None:
    cm = results.confusion()
    correct, total = int(np.trace(cm)), int(cm.sum())
    st.subheader(f"Test set: {correct}/{total} right ({100 * correct / total:.1f}%)")
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**Confusion matrix** (red outline: mistakes)")
        show_svg(confusion_svg(cm))
    with right:
        predicted = results.predicted
        wrong = np.flatnonzero(predicted != results.data.y_test)
        st.markdown(f"**The {len(wrong)} misclassified test images** (first 40)")
        x = results.data.x_test
        if len(wrong):
            st.image(
                [enlarge(x[i].reshape(x.shape[-2:])) for i in wrong[:40]],
                caption=[f"{results.data.y_test[i]} → {predicted[i]}" for i in wrong[:40]],
                width=64,
            )
        else:
            st.write("None: every test image is right.")


def render() -> None:
    """Lay out the page."""
    st.title(PAGES["digits"])
    st.write(
        "The bundled 8x8 digits: 1,438 training and 359 test images of 0–9. Train a "
        "model here, or open a run folder that `minitorch train` wrote."
    )
    train_tab, open_tab = st.tabs(["Train here", "Open a run folder"])
    with train_tab:
        c1, c2 = st.columns(2)
        model = str(c1.radio("Model", list(MODELS), horizontal=True, key="dg_model"))
        epochs = c2.slider("Epochs", 1, 20, 5, key="dg_epochs")
        clicked = st.button("Train", type="primary", key="dg_train")
        slots = {"progress": st.empty(), "loss": st.empty(), "status": st.empty()}
    with open_tab:
        folder = st.text_input("Run folder (minitorch train's --out)", key="dg_folder")
        opened = st.button("Open", key="dg_open")
    if clicked:
        config = default_config(MODELS[model], epochs=epochs)
        started = time.perf_counter()
        trained = _train(config, slots)
        st.session_state["dg_results"] = trained
        r = trained.history[-1]
        train_tab.success(
            f"Finished {epochs} epochs of the {model} in {time.perf_counter() - started:.1f} s: "
            f"test accuracy {100 * r['test_accuracy']:.1f}%"
        )
    if opened:
        try:
            st.session_state["dg_results"] = open_run(folder)
        except (OSError, CheckpointError, ValueError) as err:
            open_tab.error(str(err))
    results: Results | None = st.session_state.get("dg_results")  # kept between reruns
    if results is None:
        st.info("Train a model (or open a run) to see its confusion matrix and its mistakes.")
        return
    st.caption(f"{results.config.model.upper()} {results.source}")
    _show(results)
