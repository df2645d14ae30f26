"""``minitorch app`` (issue 14): the launcher, each page's logic, and each page driven by
streamlit's ``AppTest`` (no browser; ``test_app_browser.py`` drives the served app in
headless Chromium)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minitorch
from minitorch.apps.cli import build_parser, main
from minitorch.apps.graph import ExpressionError
from minitorch.apps.train import default_config, fit
from minitorch.apps.web import PAGES, launch

pytest.importorskip("streamlit", reason="the app extra (streamlit) is not installed")
from streamlit.testing.v1 import AppTest

from minitorch.apps.web import autodiff, digits, tensors, training
from minitorch.apps.web.pictures import CLASS_COLOURS, boundary_image, enlarge

TIMEOUT = 120


def _app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(launch.SCRIPT), default_timeout=TIMEOUT)
    if page is not None:
        at.query_params["page"] = page
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------


def test_the_command_runs_streamlit_headless_on_the_script() -> None:
    args = build_parser().parse_args(["app", "--port", "8600"])
    assert args.handler is launch.run_app and args.port == 8600
    command = launch.streamlit_command(8600, "localhost")
    assert command[1:5] == ["-m", "streamlit", "run", str(launch.SCRIPT)]
    assert launch.SCRIPT.is_file()
    flags = dict(zip(command[5::2], command[6::2]))
    assert flags["--server.headless"] == "true"  # opens no browser
    assert flags["--server.port"] == "8600"


def test_without_streamlit_the_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "streamlit", None)  # type: ignore[arg-type]
    assert main(["app", "--port", str(_free_port())]) == 2
    assert 'pip install "minitorch[app]"' in capsys.readouterr().err


def test_a_port_in_use_or_out_of_range_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("localhost", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["app", "--port", str(port)]) == 2
        assert f"port {port} is in use" in capsys.readouterr().err
    assert main(["app", "--port", "70000"]) == 2
    assert "not a TCP port" in capsys.readouterr().err


def test_the_served_app_prints_its_address_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "minitorch", "app", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert f"http://localhost:{port}" in first
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health") as r:
                    assert r.read().decode() == "ok"
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer in 60 s"
                assert server.poll() is None, server.stdout.read()
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://localhost:{port}/?page=train") as r:
            assert r.status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_importing_the_command_line_loads_no_streamlit() -> None:
    code = "import sys, minitorch.apps.cli; print('streamlit' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"


# ---------------------------------------------------------------------------
# Navigation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_opens_by_its_address(page: str) -> None:
    at = _app(page)
    assert at.title[0].value == PAGES[page]
    assert at.sidebar.radio[0].value == PAGES[page]


def test_the_sidebar_switches_pages_and_updates_the_address() -> None:
    at = _app("nonsense")  # an unknown page: the first one
    assert at.title[0].value == PAGES["autodiff"]
    at.sidebar.radio[0].set_value(PAGES["tensors"]).run()
    _clean(at)
    assert at.title[0].value == PAGES["tensors"]
    assert at.query_params["page"] in ("tensors", ["tensors"])


# ---------------------------------------------------------------------------
# Autodiff
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("preset", autodiff.PRESETS, ids=lambda p: p.title)
def test_every_preset_gives_the_lectures_numbers(preset: autodiff.Preset) -> None:
    worked = autodiff.work(preset.expression, autodiff._values_text(preset.values))
    expected = dict(preset.expected)
    assert worked.output.data == pytest.approx(expected.pop("value"), rel=1e-5)
    for name, d in expected.items():
        assert worked.derivatives[name] == pytest.approx(d, rel=1e-5)
        assert worked.forward_derivative(name) == pytest.approx(d, rel=1e-5)


def test_values_are_parsed_and_bad_ones_named() -> None:
    assert autodiff.parse_values("x = 1, y=-2.5e1; z=.5") == {"x": 1.0, "y": -25.0, "z": 0.5}
    for bad, why in [("x = one", "not 'name = number'"), ("x=1, x=2", "twice"), ("", "give")]:
        with pytest.raises(ExpressionError, match=why):
            autodiff.parse_values(bad)
    with pytest.raises(ExpressionError):  # the graph command's whitelist
        autodiff.work("__import__('os')", "x = 1")


def test_the_autodiff_page_steps_through_backpropagation() -> None:
    at = _app("autodiff")
    first = autodiff.PRESETS[0]
    assert at.metric[0].value == f"{autodiff.work(first.expression, 'x=1, y=2').output.data:.6g}"
    at.selectbox(key="ad_preset").set_value(autodiff.PRESETS[1].title).run()
    _clean(at)
    assert [m.value for m in at.metric] == ["6", "2", "5"]
    assert at.slider(key="ad_step").value == 0
    steps = []
    for _ in range(3):
        next(b for b in at.button if b.label == "next ▶").click().run()
        _clean(at)
        steps.append(at.slider(key="ad_step").value)
    assert steps == [1, 2, 3]
    assert any("step 3/" in c.value for c in at.caption)
    at.selectbox(key="ad_wrt").set_value("b").run()
    _clean(at)
    assert any("∂e/∂b = 5" in m.value for m in at.markdown)


def test_a_bad_expression_is_an_error_message_not_a_crash() -> None:
    at = _app("autodiff")
    at.text_input(key="ad_expression").set_value("x.__class__").run()
    _clean(at)
    assert at.error and "not allowed" in at.error[0].value
    at.text_input(key="ad_expression").set_value("x * y").run()
    at.text_input(key="ad_values").set_value("x = 2").run()
    _clean(at)
    assert at.error and "y" in at.error[0].value


# ---------------------------------------------------------------------------
# Train the lecture's network
# ---------------------------------------------------------------------------


def test_the_tensor_copy_of_a_scalar_network_predicts_the_same() -> None:
    run = training.Run.start(training.config_for("Scalar", hidden=5))
    pts = np.array([[0.1, -0.3], [0.9, 0.2], [-1.0, 1.0]])
    expected = [run.model.forward((minitorch.Scalar(a), minitorch.Scalar(b))).data for a, b in pts]
    np.testing.assert_allclose(training.probability_of_class_1(run.model, pts), expected)


def test_the_boundary_picture_colours_regions_and_points() -> None:
    img = boundary_image(lambda p: (p[:, 0] > 0).astype(float), np.zeros((0, 2)), np.zeros(0))
    assert img.shape == (320, 320, 3) and img.dtype == np.uint8
    assert img[160, 10].tolist() != img[160, 310].tolist()  # left class 0, right class 1
    img = boundary_image(lambda p: np.zeros(len(p)), np.array([[0.0, 0.0]]), np.array([1]))
    assert img[160, 160].tolist() == list(CLASS_COLOURS[1])
    assert enlarge(np.eye(2), 3).shape == (6, 6, 3)


def test_the_training_page_trains_redraws_and_lists_the_parameters() -> None:
    at = _app("train")
    assert at.radio(key="tr_backend").value == "Scalar"
    at.number_input(key="tr_epochs").set_value(30).run()
    next(b for b in at.button if b.label == "Train").click().run()
    _clean(at)
    assert at.success and at.success[0].value.startswith("Finished 30 epochs")
    status = next(c.value for c in at.caption if c.value.startswith("epoch 30/30"))
    assert "update" in status
    table = at.dataframe[0].value
    run = at.session_state["tr_run"]
    assert list(table["name"]) == [name for name, _ in run.model.named_parameters()]
    assert len(run.history) == 30


def test_switching_to_tensors_takes_the_tensor_recipe() -> None:
    at = _app("train")
    at.radio(key="tr_backend").set_value("Tensor").run()
    _clean(at)
    base = default_config("tensor")
    assert at.number_input(key="tr_lr").value == base.lr
    assert at.number_input(key="tr_epochs").value == base.epochs
    at.selectbox(key="tr_dataset").set_value("Circle").run()
    next(b for b in at.button if b.label == "Train").click().run()
    _clean(at)
    assert at.success[0].value.startswith(f"Finished {base.epochs} epochs")
    assert isinstance(at.session_state["tr_run"].model, minitorch.Module)


# ---------------------------------------------------------------------------
# Tensors
# ---------------------------------------------------------------------------


def _numpy_layout(a: np.ndarray[Any, Any], base: np.ndarray[Any, Any]) -> tuple[Any, ...]:
    item = base.itemsize
    offset = (a.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // item
    strides = tuple(s // item if n > 1 else None for s, n in zip(a.strides, a.shape))
    return a.shape, strides, offset


@pytest.mark.parametrize(
    ("op", "arg", "numpy"),
    [
        ("none", "", lambda t: t),
        ("permute", "2, 0, 1", lambda t: t.transpose(2, 0, 1)),
        ("view", "4, 6", lambda t: t.reshape(4, 6)),
        ("slice", "1", lambda t: t[1]),
        ("slice", "0, 1:3", lambda t: t[0, 1:3]),
        ("slice", ":, ::2, 1:", lambda t: t[:, ::2, 1:]),
        ("slice", "1, 2, 3", lambda t: t[1, 2, 3]),
    ],
)
def test_layouts_agree_with_numpys_strides_and_offsets(op: str, arg: str, numpy: Any) -> None:
    base, result, call = tensors.apply((2, 3, 4), op, arg)
    storage = np.arange(24)
    expected = np.asarray(numpy(storage.reshape(2, 3, 4)))
    np.testing.assert_array_equal(result.positions, expected)
    if expected.ndim:
        shape, strides, offset = _numpy_layout(expected, storage)
        assert result.shape == shape and result.offset == offset
        assert all(s is None or s == r for s, r in zip(strides, result.strides))
    assert base.strides == (12, 4, 1) and base.contiguous
    assert "<svg" in tensors.layout_svg(result, call)
    assert "viewBox=" in tensors.layout_svg(result, call)  # shrinks to the column, not clipped


def test_bad_tensor_requests_raise_minitorchs_errors() -> None:
    with pytest.raises(minitorch.IndexingError, match="contiguous"):
        _permuted_view()
    with pytest.raises(ValueError, match="whole number"):
        tensors.parse_shape("2, x")
    with pytest.raises(ValueError, match="draws up to"):
        tensors.apply((100, 100), "none", "")
    assert tensors.parse_index("0, 1:3, ::2") == (0, slice(1, 3), slice(None, None, 2))


def _permuted_view() -> None:
    minitorch.arange(6).view(2, 3).permute(1, 0).view(6)


@pytest.mark.parametrize(("a", "b"), [((4, 1, 3), (5, 1)), ((3,), (2, 3)), ((2, 3), (4, 3))])
def test_broadcast_rows_agree_with_numpy(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    rows, verdict = tensors.broadcast_rows(a, b)
    try:
        out = np.broadcast_shapes(a, b)
    except ValueError:
        assert "do not broadcast" in verdict and len(rows) == 2
        return
    assert str(out) in verdict and [rows[2][k] for k in rows[2] if k] == [str(d) for d in out]


def test_the_tensors_page_draws_and_reports_errors() -> None:
    at = _app("tensors")
    assert any("t.permute(2, 0, 1)" in m.value and "not contiguous" in m.value for m in at.markdown)
    at.selectbox(key="tn_op").set_value("view").run()
    at.text_input(key="tn_arg_view").set_value("5, 5").run()
    _clean(at)
    assert at.error and "cannot view" in at.error[0].value
    at.text_input(key="tn_b").set_value("4, 2").run()
    _clean(at)
    assert at.warning and "do not broadcast" in at.warning[0].value


# ---------------------------------------------------------------------------
# Digits
# ---------------------------------------------------------------------------


def test_the_digits_page_trains_and_shows_the_confusion_and_the_mistakes() -> None:
    at = _app("digits")
    at.radio(key="dg_model").set_value("MLP").run()
    at.slider(key="dg_epochs").set_value(1).run()
    next(b for b in at.button if b.label == "Train").click().run()
    _clean(at)
    assert at.success[0].value.startswith("Finished 1 epochs of the MLP")
    results = at.session_state["dg_results"]
    cm = results.confusion()
    assert cm.sum() == len(results.data.y_test)
    assert any(f"{int(np.trace(cm))}/{int(cm.sum())} right" in s.value for s in at.subheader)
    wrong = int(cm.sum() - np.trace(cm))
    assert any(f"The {wrong} misclassified" in m.value for m in at.markdown)


def test_a_run_folder_opens_with_the_same_predictions(tmp_path: Path) -> None:
    config = default_config("mlp", epochs=1, hidden=16)
    fit(config, tmp_path / "run", progress=False, log=None)
    results = digits.open_run(tmp_path / "run")
    assert results.config == config and len(results.history) == 1
    metrics = fit(config, None, progress=False, log=None)  # the same seed: the same model
    accuracy = float(np.mean(results.predicted == results.data.y_test))
    assert accuracy == pytest.approx(metrics["final"]["test_accuracy"])
    at = _app("digits")
    at.text_input(key="dg_folder").set_value(str(tmp_path / "run")).run()
    next(b for b in at.button if b.label == "Open").click().run()
    _clean(at)
    assert any(str(tmp_path / "run") in c.value for c in at.caption)


def test_a_folder_that_is_no_digits_run_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no checkpoint\.npz"):
        digits.open_run(tmp_path)
    fit(default_config("mlp", "Xor", epochs=1), tmp_path / "xor", progress=False, log=None)
    with pytest.raises(minitorch.checkpoint.CheckpointError, match="runs on the digits"):
        digits.open_run(tmp_path / "xor")
    at = _app("digits")
    at.text_input(key="dg_folder").set_value(str(tmp_path)).run()
    next(b for b in at.button if b.label == "Open").click().run()
    _clean(at)
    assert at.error and "no checkpoint.npz" in at.error[0].value


def test_the_confusion_picture_has_a_box_per_pair() -> None:
    cm = np.array([[3, 1], [0, 2]])
    svg = digits.confusion_svg(cm)
    assert svg.count("<rect") == 4 and "true 0, predicted 1: 1" in svg
    assert "viewBox=" in svg  # shrinks to the column, not clipped


def test_forward_mode_follows_a_change_of_inputs() -> None:
    at = _app("autodiff")
    at.selectbox(key="ad_wrt").set_value("y").run()
    at.selectbox(key="ad_preset").set_value(autodiff.PRESETS[4].title).run()  # only x
    _clean(at)
    assert at.selectbox(key="ad_wrt").value == "x"
