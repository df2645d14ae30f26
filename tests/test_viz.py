"""See the graph: drawings, backprop frames, forward mode and ``minitorch graph``."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import minitorch
from minitorch import Scalar, viz
from minitorch.apps.graph import ExpressionError, evaluate, parse_program
from minitorch.apps.graph import main as graph_main

HAS_GRAPHVIZ_PACKAGE = importlib.util.find_spec("graphviz") is not None
needs_package = pytest.mark.skipif(not HAS_GRAPHVIZ_PACKAGE, reason="pip install graphviz")
needs_dot = pytest.mark.skipif(not viz.graphviz_available(), reason="Graphviz's dot not installed")


def lecture_h(x: float = 2.0, y: float = 3.0) -> tuple[Scalar, Scalar, Scalar, Scalar]:
    """The Backprop lecture's full graph: z = x * y, h = log(z) + exp(z)."""
    xs, ys = Scalar(x, name="x"), Scalar(y, name="y")
    z = xs * ys
    z.name = "z"
    h = z.log() + z.exp()
    h.name = "h"
    return h, xs, ys, z


def _nodes(source: str) -> dict[str, dict[str, str]]:
    """DOT node statements as {id: {attribute: value}}."""
    nodes = {}
    for m in re.finditer(r'^\t"(\w+)" \[(.*)\]$', source, re.M):
        nodes[m.group(1)] = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
    return nodes


def _edges(source: str) -> list[tuple[str, str]]:
    return re.findall(r'^\t"(\w+)" -> "(\w+)"', source, re.M)


# -- draw ---------------------------------------------------------------------------------


@needs_package
def test_lecture_graph_has_its_boxes_edges_and_labels() -> None:
    h, x, y, z = lecture_h()
    g = minitorch.draw(h)
    import graphviz

    assert isinstance(g, graphviz.Digraph)
    nodes = _nodes(g.source)
    boxes = sorted(n["label"] for n in nodes.values() if n["shape"] == "box")
    assert boxes == ["Add", "Exp", "Log", "Mul"]
    labels = {k: n["label"] for k, n in nodes.items()}
    ids = {"x": f"v{x.unique_id}", "y": f"v{y.unique_id}", "z": f"v{z.unique_id}"}
    assert labels[ids["x"]] == "x = 2" and labels[ids["y"]] == "y = 3"
    assert labels[ids["z"]] == "z = 6"
    assert labels[f"v{h.unique_id}"].startswith("h = 405.2")
    edges = _edges(g.source)
    assert len(edges) == 10  # x, y -> Mul -> z -> Log, Exp -> two values -> Add -> h
    assert (ids["x"], f"f{z.unique_id}") in edges and (ids["y"], f"f{z.unique_id}") in edges
    assert sum(1 for t, _ in edges if t == ids["z"]) == 2  # z feeds Log and Exp
    # leaves, internal values and the output are styled apart
    fills = {nodes[ids["x"]]["fillcolor"], nodes[ids["z"]]["fillcolor"]}
    assert len(fills | {nodes[f"v{h.unique_id}"]["fillcolor"]}) == 3
    assert nodes[f"v{h.unique_id}"]["peripheries"] == "2"


@needs_package
def test_draw_shows_derivatives_constants_and_tensor_shapes() -> None:
    h, x, _, _ = lecture_h()
    assert "∂h/∂x" not in minitorch.draw(h).source  # not known before backward
    h.backward(retain_graph=True)
    assert f"∂h/∂x = {viz._fmt(x.derivative)}" in minitorch.draw(h).source
    assert "∂h/∂z = 403.4 + 0.1667" in minitorch.draw(h, reverse=True).source

    c = Scalar(10.0, None)  # a constant
    out = x * c
    nodes = _nodes(minitorch.draw(out).source)
    assert "dashed" in nodes[f"v{c.unique_id}"]["style"]

    w = minitorch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    w.name = "w"
    loss = (w * 2.0).sum()
    assert "w: (3, 2) float64" in minitorch.draw(loss).source


@needs_package
def test_collapse_folds_long_chains() -> None:
    x = Scalar(0.5, name="x")
    y = x
    for _ in range(3):
        y = y.sigmoid().exp()
    out = y * x
    full = _nodes(minitorch.draw(out).source)
    folded = _nodes(minitorch.draw(out, collapse=3).source)
    assert sum(n["shape"] == "box" for n in full.values()) == 7
    boxes = [n["label"] for n in folded.values() if n["shape"] == "box"]
    assert sorted(boxes) == ["Mul", "Sigmoid → Exp → … → Exp\\n(6 Functions)"]


# -- backprop frames ----------------------------------------------------------------------


def _check_frames_match_backward(out: Scalar, leaves: list[Scalar]) -> None:
    frames = minitorch.backprop_frames(out)
    order = minitorch.topological_sort(out)
    assert len(frames) == 1 + len(order)
    assert [f.current.unique_id for f in frames[1:]] == [v.unique_id for v in order]
    assert all(x.derivative is None for x in leaves)  # frames leave the leaves alone
    out.backward(retain_graph=True)
    for x in leaves:
        assert frames[-1].derivative(x) == x.derivative  # the same floats, summed alike


def test_frames_derivatives_equal_backpropagate() -> None:
    h, x, y, z = lecture_h()
    _check_frames_match_backward(h, [x, y])
    frames = minitorch.backprop_frames(h)
    # z is used twice: its derivative appears as a sum of the two contributions
    first, second = frames[2].terms[z.unique_id], frames[3].terms[z.unique_id]
    assert len(first) == 1 and len(second) == 2
    assert frames[3].totals[z.unique_id] == second[0] + second[1]
    assert "∂h/∂z = 403.4 + 0.1667" in frames[3].source
    assert frames[0].caption.startswith("start: ∂h/∂h = 1")

    a, b = Scalar(1.0, name="x"), Scalar(2.0, name="y")
    _check_frames_match_backward(a * a * b + 10 * a, [a, b])  # x used three times


def test_frames_on_tensors_equal_backward() -> None:
    w = minitorch.tensor([[1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    x = minitorch.tensor([1.0, -1.0], requires_grad=True)
    loss = (w * x).relu().sum() + (x * x).sum()
    frames = minitorch.backprop_frames(loss)
    loss.backward(retain_graph=True)
    assert frames[-1].derivative(x).to_numpy().tolist() == x.grad.to_numpy().tolist()
    assert frames[-1].derivative(w).to_numpy().tolist() == w.grad.to_numpy().tolist()


def test_frames_need_a_retained_graph() -> None:
    h, *_ = lecture_h()
    h.backward()
    with pytest.raises(minitorch.GraphFreedError, match="retain_graph=True"):
        minitorch.backprop_frames(h)


def test_html_page_is_self_contained(tmp_path: Path) -> None:
    h, *_ = lecture_h()
    frames = minitorch.backprop_frames(h)
    for renderer in ("builtin", "auto"):
        page = frames.to_html(renderer=renderer)
        assert page.startswith("<!DOCTYPE html>")
        assert page.count('<div class="frame"') == len(frames) == 7
        assert page.count("<svg") == len(frames)
        lowered = page.lower()
        for external in (
            "<script src",
            "<link",
            'src="http',
            "src='http",
            'href="http',
            "url(http",
            "@import",
            "<img",
            "<iframe",
        ):
            assert external not in lowered, external
        assert "Mul.chain_rule(d = 403.6)" in page
    path = frames.save_html(tmp_path / "steps.html")
    assert path.read_text(encoding="utf-8").count("<svg") == 7


@needs_dot
def test_frames_render_as_numbered_svgs_and_a_gif(tmp_path: Path) -> None:
    h, *_ = lecture_h()
    frames = minitorch.backprop_frames(h)
    paths = frames.save(tmp_path, "svg")
    assert [p.name for p in paths] == [f"step_{i:03d}.svg" for i in range(7)]
    assert "<svg" in paths[3].read_text(encoding="utf-8")
    if importlib.util.find_spec("PIL") is None:
        pytest.skip("Pillow not installed")
    gif = frames.save_gif(tmp_path / "steps.gif")
    assert gif.read_bytes()[:6] == b"GIF89a"


# -- rendering ------------------------------------------------------------------------------


@needs_dot
def test_rendered_svg_when_dot_is_present(tmp_path: Path) -> None:
    h, *_ = lecture_h()
    path = viz.render(minitorch.draw(h), tmp_path / "h.svg")
    svg = path.read_text(encoding="utf-8")
    assert "<svg" in svg and ">Mul<" in svg and ">Exp<" in svg
    x = Scalar(1.0, name="x")
    assert "<svg" in (x * x)._repr_svg_()  # notebook display


@needs_package
def test_missing_dot_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    h, *_ = lecture_h()
    drawing = minitorch.draw(h)
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    with pytest.raises(minitorch.GraphvizNotFoundError, match="apt-get install graphviz"):
        drawing.pipe(format="svg")
    with pytest.raises(minitorch.GraphvizNotFoundError, match="brew install graphviz"):
        viz.render(drawing, tmp_path / "h.svg")
    assert "Mul" in drawing.source  # the DOT text stays available
    bundle = drawing._repr_mimebundle_()  # notebooks fall back to the built-in layout
    assert "<svg" in bundle["image/svg+xml"]
    viz.render(drawing, tmp_path / "h.dot")
    assert (tmp_path / "h.dot").read_text(encoding="utf-8") == drawing.source


def test_repr_svg_skips_huge_graphs() -> None:
    x = Scalar(1.0, name="x")
    y = x
    for _ in range(400):
        y = y + 1.0
    assert y._repr_svg_() is None
    assert "<svg" in (x * x)._repr_svg_()


def test_import_without_graphviz_package() -> None:
    code = (
        "import sys; sys.modules['graphviz'] = None; sys.modules['PIL'] = None\n"
        "import minitorch\n"
        "x = minitorch.Scalar(2.0, name='x'); y = x * x\n"
        "assert '<svg' in minitorch.backprop_frames(y).to_html()\n"
        "try:\n    minitorch.draw(y)\nexcept ImportError as e:\n    print(e)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert res.returncode == 0, res.stderr
    assert "pip install graphviz" in res.stdout


# -- forward mode -----------------------------------------------------------------------------


def test_forward_mode_matches_reverse_mode() -> None:
    h, x, y, z = lecture_h()
    fx = minitorch.forward_derivatives(h, x)
    fy = minitorch.forward_derivatives(h, y)
    assert fx[z.unique_id] == 3.0 and fy[z.unique_id] == 2.0  # dz/dx = y, dz/dy = x
    h.backward(retain_graph=True)
    assert fx[h.unique_id] == pytest.approx(x.derivative, rel=1e-12)
    assert fy[h.unique_id] == pytest.approx(y.derivative, rel=1e-12)
    with pytest.raises(ValueError, match="not a leaf"):
        minitorch.forward_derivatives(h, z)


@needs_package
def test_modes_side_by_side() -> None:
    h, x, _, _ = lecture_h()
    src = minitorch.draw_modes(h, x).source
    assert "cluster_forward" in src and "cluster_reverse" in src
    assert "∂/∂x = 3" in src  # forward: dz/dx
    assert "∂h/∂z = 403.4 + 0.1667" in src  # reverse: dh/dz


# -- the command line -------------------------------------------------------------------------


def _graph(tmp_path: Path, expr: str, *extra: str) -> list[str]:
    return ["graph", expr, "--x", "1", "--y", "2", "--out", str(tmp_path / "g.svg"), *extra]


@pytest.mark.parametrize(
    ("expr", "why"),
    [
        ("x.__class__", "dunder"),
        ("x.__class__.__bases__[0].__subclasses__()", "dunder"),
        ("__import__('os').system('touch PWNED')", "dunder"),
        ("x.data", "attribute access"),
        ("x.log", "attribute access"),
        ("open('/etc/passwd')", "cannot be called"),
        ("x ** 10**10", "exponent"),
        ("x ** -1000", "exponent"),
        ("2 ** 10 ** 10 ** 10", "exponent"),
        ("(lambda: x)()", "lambda"),
        ("[x for x in (1, 2)]", "comprehension"),
        ("(x,)[0]", "subscript"),
        ("import os", "import"),
        ("'abc'", "only numbers"),
        ("z * x", "unknown name 'z'"),
        ("- " * 60 + "x", "nested too deeply"),
        ("(" * 300 + "x" + ")" * 300, "nested too deeply"),
        ("x if y else 1", "conditional"),
        ("log(x, y)", "exactly one argument"),
        ("x = 1", "cannot be reassigned"),
        ("2 + 3", "does not depend on any input"),
    ],
)
def test_cli_rejects_hostile_expressions(
    expr: str,
    why: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert graph_main(_graph(tmp_path, expr)) == 2
    err = capsys.readouterr().err
    assert "error" in err and why in err, err
    assert not (tmp_path / "PWNED").exists()
    assert list(tmp_path.iterdir()) == []  # nothing drawn


def test_parser_never_evaluates() -> None:
    program = parse_program("z = x * y; h = log(z) + z.exp()", ["x", "y"])
    assert [name for name, _ in program.assignments] == ["z"] and program.result_name == "h"
    out, _ = evaluate(program, {"x": 2.0, "y": 3.0})
    h, *_ = lecture_h()
    assert out.name == "h" and out.data == h.data
    with pytest.raises(ExpressionError, match="function"):
        parse_program("log", ["x"])


def test_cli_draws_and_prints_derivatives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = tmp_path / "steps"
    rc = graph_main(_graph(tmp_path, "x * x * y + 10 * x", "--steps", str(steps), "--forward"))
    out = capsys.readouterr().out
    assert rc == 0
    assert "f = 12.0" in out and "df/dx = 14.0" in out and "df/dy = 1.0" in out
    assert "forward mode: df/dx = 14.0" in out
    assert (steps / "index.html").exists()
    if viz.graphviz_available():
        assert "<svg" in (tmp_path / "g.svg").read_text(encoding="utf-8")
        assert (steps / "step_000.svg").exists()
    else:
        assert (tmp_path / "g.dot").exists()


def test_cli_without_dot_writes_the_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(viz, "graphviz_available", lambda: False)
    assert graph_main(_graph(tmp_path, "log(x * y) + exp(x * y)")) == 0
    out = capsys.readouterr().out
    assert "apt-get install graphviz" in out and "dot -Tsvg" in out
    assert (tmp_path / "g.dot").read_text(encoding="utf-8").startswith("digraph")
    assert not (tmp_path / "g.svg").exists()


def test_cli_html_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "graph",
        "sigmoid(x) * y.relu()",
        "--x",
        "-1",
        "--y=2",
        "--out",
        str(tmp_path / "g.html"),
    ]
    assert graph_main(args) == 0
    assert "<svg" in (tmp_path / "g.html").read_text(encoding="utf-8")
    assert "dg/dx" not in capsys.readouterr().out


def test_minitorch_graph_subcommand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from minitorch.apps.cli import main

    out = tmp_path / "h.dot"
    args = ["graph", "z = x * y; h = log(z) + exp(z)", "--x", "1", "--y", "2", "--out", str(out)]
    assert main(args) == 0
    assert "dh/dx = 15.778" in capsys.readouterr().out
    source = out.read_text(encoding="utf-8")
    assert "∂h/∂z = 7.389 + 0.5" in source and "z = 2" in source
