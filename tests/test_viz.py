"""See the graph: scenes, DOT, the built-in SVG layout, backprop frames, ``minitorch graph``."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from graphlib import TopologicalSorter
from pathlib import Path

import pytest

import minitorch
from minitorch import Scalar, viz
from minitorch.apps.graph import ExpressionError, evaluate, parse_program
from minitorch.apps.graph import main as graph_main
from minitorch.viz.scene import HIGHLIGHT, fmt

HAS_PACKAGE = importlib.util.find_spec("graphviz") is not None
HAS_PILLOW = importlib.util.find_spec("PIL") is not None
needs_package = pytest.mark.skipif(not HAS_PACKAGE, reason='pip install "minitorch[viz]"')
needs_dot = pytest.mark.skipif(not viz.graphviz_available(), reason="Graphviz's dot not installed")
SVG = "{http://www.w3.org/2000/svg}svg"
EXTRA = 'pip install "minitorch[viz]"'


def lecture_h(x: float = 2.0, y: float = 3.0) -> tuple[Scalar, Scalar, Scalar, Scalar]:
    """The Backprop lecture's full graph: z = x * y, h = log(z) + exp(z)."""
    xs, ys = Scalar(x, name="x"), Scalar(y, name="y")
    z = xs * ys
    z.name = "z"
    h = z.log() + z.exp()
    h.name = "h"
    return h, xs, ys, z


def _labels(scene: viz.scene.Scene) -> dict[str, list[str]]:
    return {n.key: n.lines for n in scene.nodes}


def _svg_texts(svg: str) -> list[str]:
    """The text of a valid SVG document (parsed with xml.etree: it must be well formed)."""
    root = ET.fromstring(svg[svg.find("<svg") :])
    assert root.tag == SVG
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


@pytest.fixture
def no_dot(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Graphviz's ``dot`` is not on the PATH (the Python package may still be there)."""
    monkeypatch.setenv("PATH", str(tmp_path_factory.mktemp("empty_path")))
    assert not viz.graphviz_available()


@pytest.fixture
def no_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``graphviz`` Python package cannot be imported."""
    monkeypatch.setitem(sys.modules, "graphviz", None)
    assert viz.graphviz_missing() == viz.INSTALL_EXTRA


# -- the scene ------------------------------------------------------------------------------


def test_lecture_scene_has_its_boxes_edges_and_labels() -> None:
    h, x, y, z = lecture_h()
    scene = viz.scene_of(h)
    boxes = sorted(n.lines[0] for n in scene.nodes if n.shape == "box")
    assert boxes == ["Add", "Exp", "Log", "Mul"]
    labels = _labels(scene)
    vx, vy, vz, vh = (f"v{v.unique_id}" for v in (x, y, z, h))
    assert labels[vx] == ["x = 2"] and labels[vy] == ["y = 3"] and labels[vz] == ["z = 6"]
    assert labels[vh] == ["h = 405.2"]
    edges = [(e.tail, e.head) for e in scene.edges]
    assert len(edges) == 10  # x, y -> Mul -> z -> Log, Exp -> two values -> Add -> h
    assert (vx, f"f{z.unique_id}") in edges and (vy, f"f{z.unique_id}") in edges
    assert sum(1 for t, _ in edges if t == vz) == 2  # z feeds Log and Exp
    nodes = {n.key: n for n in scene.nodes}
    assert len({nodes[vx].fill, nodes[vz].fill, nodes[vh].fill}) == 3  # leaf, internal, output
    assert nodes[vh].peripheries == 2


def test_scene_shows_derivatives_constants_and_tensor_shapes() -> None:
    h, x, _, z = lecture_h()
    assert len(_labels(viz.scene_of(h))[f"v{x.unique_id}"]) == 1  # nothing known yet
    h.backward(retain_graph=True)
    assert (
        _labels(viz.scene_of(h))[f"v{x.unique_id}"][1] == f"∂h/∂x = {viz.scene.fmt(x.derivative)}"
    )
    reverse = _labels(viz.scene_of(h, reverse=True))
    assert reverse[f"v{z.unique_id}"] == ["z = 6", "∂h/∂z = 403.4 + 0.1667", "= 403.6"]

    c = Scalar(10.0, None)  # a constant
    nodes = {n.key: n for n in viz.scene_of(x * c).nodes}
    assert nodes[f"v{c.unique_id}"].dashed

    w = minitorch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    w.name = "w"
    loss = (w * 2.0).sum()
    assert _labels(viz.scene_of(loss))[f"v{w.unique_id}"] == ["w: (3, 2) float64"]


def test_collapse_folds_long_chains() -> None:
    x = Scalar(0.5, name="x")
    y = x
    for _ in range(3):
        y = y.sigmoid().exp()
    out = y * x
    full = viz.scene_of(out).nodes
    folded = viz.scene_of(out, collapse=3).nodes
    assert sum(n.shape == "box" for n in full) == 7
    boxes = sorted(n.lines for n in folded if n.shape == "box")
    assert boxes == [["Mul"], ["Sigmoid → Exp → … → Exp", "(6 Functions)"]]
    assert len(folded) == len(full) - 2 * 5  # five Variables and five boxes folded away


# -- DOT -------------------------------------------------------------------------------------


@needs_package
def test_draw_is_a_digraph_of_the_scene() -> None:
    import graphviz

    h, x, _, z = lecture_h()
    g = minitorch.draw(h, reverse=True)
    assert isinstance(g, graphviz.Digraph)
    assert f'v{x.unique_id} [label="x = 2\\n∂h/∂x = ' in g.source  # \n: DOT's line break
    assert "∂h/∂z = 403.4 + 0.1667\\n= 403.6" in g.source
    assert g.source.count(" -> ") == 10
    assert f"v{z.unique_id} -> f" in g.source


@needs_package
def test_modes_side_by_side() -> None:
    h, x, _, _ = lecture_h()
    src = minitorch.draw_modes(h, x).source
    assert "cluster_forward" in src and "cluster_reverse" in src
    assert "∂z/∂x = 3" in src  # forward: dz/dx = y
    assert "∂h/∂z = 403.4 + 0.1667" in src  # reverse: dh/dz, as a sum over z's two uses


# -- SVG with and without dot -----------------------------------------------------------------


@needs_dot
def test_svg_by_graphviz_when_dot_is_present(tmp_path: Path) -> None:
    h, *_ = lecture_h()
    svg = viz.to_svg(h)
    assert "graphviz" in svg and {"Mul", "Exp", "Log", "Add"} <= set(_svg_texts(svg))
    path = viz.write(viz.scene_of(h), tmp_path / "h.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_builtin_svg_without_dot(no_dot: None, tmp_path: Path) -> None:
    h, *_ = lecture_h()
    svg = viz.to_svg(h, reverse=True)
    assert "graphviz" not in svg
    texts = _svg_texts(svg)
    assert {"Mul", "Exp", "Log", "Add", "x = 2", "∂h/∂z = 403.4 + 0.1667"} <= set(texts)
    assert svg.count("<path") == 10  # one curve per edge
    path = viz.write(viz.scene_of(h), tmp_path / "h.svg")
    _svg_texts(path.read_text(encoding="utf-8"))
    with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz"):
        viz.write(viz.scene_of(h), tmp_path / "h.png")
    with pytest.raises(viz.GraphvizNotFoundError, match="brew install graphviz"):
        minitorch.backprop_frames(h).save_gif(tmp_path / "h.gif")


def test_builtin_layout_reads_left_to_right() -> None:
    h, *_ = lecture_h()
    root = ET.fromstring(viz.render.builtin_svg(viz.scene_of(h)))
    left = {}
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        rect = g.find("{http://www.w3.org/2000/svg}rect")
        first = g.find("{http://www.w3.org/2000/svg}text")
        assert rect is not None and first is not None
        left[first.text] = float(rect.get("x", "0"))
    assert (
        left["x = 2"] < left["Mul"] < left["z = 6"] < left["Log"] < left["Add"] < left["h = 405.2"]
    )
    assert left["x = 2"] == left["y = 3"]


def test_missing_graphviz_package_names_the_extra(no_package: None) -> None:
    h, *_ = lecture_h()
    with pytest.raises(ImportError, match=re.escape(EXTRA)):
        minitorch.draw(h)
    with pytest.raises(ImportError, match=re.escape(EXTRA)):
        _ = minitorch.backprop_frames(h)[0].source
    assert "<svg" in viz.to_svg(h)  # the built-in layout needs no extra


def test_gif_without_pillow_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    h, *_ = lecture_h()
    with pytest.raises(ImportError, match=re.escape(EXTRA)):
        minitorch.backprop_frames(h).save_gif(tmp_path / "h.gif")


def test_repr_svg_skips_huge_graphs() -> None:
    x = Scalar(1.0, name="x")
    y = x
    for _ in range(400):
        y = y + 1.0
    assert y._repr_svg_() is None
    assert (x * x)._repr_svg_().startswith("<svg")
    t = minitorch.tensor([1.0, 2.0], requires_grad=True)
    assert (t * t).sum()._repr_svg_().startswith("<svg")


def test_import_needs_no_extra() -> None:
    code = (
        "import sys; sys.modules['graphviz'] = None; sys.modules['PIL'] = None\n"
        "import minitorch\n"
        "x = minitorch.Scalar(2.0, name='x'); y = x * x\n"
        "assert '<svg' in minitorch.backprop_frames(y).to_html()\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert res.returncode == 0, res.stderr


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
    assert "∂h/∂z = 403.4 + 0.1667" in _labels(frames[3].scene())[f"v{z.unique_id}"]
    assert frames[0].caption.startswith("start: ∂h/∂h = 1")
    labelled = [e for e in frames[3].scene().edges if e.label]
    sent = [e for e in labelled if e.color == HIGHLIGHT]  # this step's, in red
    assert [e.tail for e in sent] == [f"v{z.unique_id}"] and sent[0].label.startswith("+")
    # the edges of steps 1 (Add: +1 to each input) and 2 (z's first term) keep their labels
    earlier = sorted(e.label for e in labelled if e.color != HIGHLIGHT)
    assert earlier == sorted(["+1", "+1", "+" + fmt(first[0])])
    final = frames[-1].scene().edges
    # every edge into a Function: Add's two inputs, Log's z, Exp's z, Mul's x and y
    assert sum(1 for e in final if e.label) == 6

    a, b = Scalar(1.0, name="x"), Scalar(2.0, name="y")
    _check_frames_match_backward(a * a * b + 10 * a, [a, b])  # x used three times
    assert minitorch.reverse_derivatives(h)[x.unique_id] == x.derivative


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


@pytest.mark.parametrize("dot", [True, False], ids=["dot", "builtin"])
def test_html_page_is_self_contained(
    dot: bool, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if dot and not viz.graphviz_available():
        pytest.skip("Graphviz's dot not installed")
    if not dot:
        request.getfixturevalue("no_dot")
    h, *_ = lecture_h()
    frames = minitorch.backprop_frames(h)
    page = frames.to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count('<div class="frame"') == len(frames) == 7
    assert page.count("<svg") == len(frames)
    lowered = page.lower()
    for external in ("<script src", "<link", 'src="http', 'href="http', "url(http", "@import"):
        assert external not in lowered, external
    assert "Mul.chain_rule(d = 403.6)" in page
    paths = frames.save(tmp_path / "steps")
    assert [p.name for p in paths] == [f"step_{i:03d}.svg" for i in range(7)]
    assert "Mul" in _svg_texts(paths[3].read_text(encoding="utf-8"))
    assert frames.save_html(tmp_path / "steps.html").read_text(encoding="utf-8") == page


@needs_dot
@pytest.mark.skipif(not HAS_PILLOW, reason="Pillow not installed")
def test_frames_as_a_gif(tmp_path: Path) -> None:
    h, *_ = lecture_h()
    gif = minitorch.backprop_frames(h).save_gif(tmp_path / "steps.gif")
    assert gif.read_bytes()[:6] == b"GIF89a"


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
    t = minitorch.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="Scalars"):
        minitorch.forward_derivatives(t * t, t)


# -- the package's imports ------------------------------------------------------------------

PACKAGE = Path(minitorch.__file__).parent
VIZ = PACKAGE / "viz"
NOT_IN_VIZ = ("scalar", "scalar_functions", "tensor", "tensor_functions")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path, top_level: bool) -> set[str]:
    """The ``minitorch`` modules ``path`` imports (at module level only, if ``top_level``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in tree.body if top_level else ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module) if p)
            found |= {module} | {f"{module}.{a.name}" for a in node.names}
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    return {m for m in found if m in modules}


def test_viz_reads_the_graph_without_importing_scalar_or_tensor() -> None:
    files = sorted(VIZ.glob("*.py"))
    assert {p.stem for p in files} >= {"scene", "dot", "render", "frames", "drawing"}
    forbidden = {f"minitorch.{m}" for m in NOT_IN_VIZ}
    for path in files:
        imported = _imported(path, top_level=False)  # lazy imports count too
        assert not imported & forbidden, (path.name, imported & forbidden)
        outside = {m for m in imported if not m.startswith("minitorch.viz")}
        assert outside <= {"minitorch", "minitorch.autodiff"}, (path.name, outside)


def test_no_import_cycle_through_viz() -> None:
    graph = {
        _module_name(p): _imported(p, top_level=True) - {"minitorch"}  # the package's __init__
        for p in PACKAGE.rglob("*.py")
        if p != PACKAGE / "__init__.py"
    }
    viz_modules = {m for m in graph if m.startswith("minitorch.viz")}
    list(TopologicalSorter({m: graph[m] for m in viz_modules}).static_order())  # no CycleError
    for start in viz_modules:  # nothing viz imports leads back to viz
        seen, stack = set(), [m for m in graph[start] if m not in viz_modules]
        while stack:
            m = stack.pop()
            assert m not in viz_modules, f"{start} -> ... -> {m}"
            if m not in seen:
                seen.add(m)
                stack += graph.get(m, set())
    for m in ("minitorch.scalar", "minitorch.tensor"):  # their notebook hooks import viz lazily
        assert not graph[m] & viz_modules


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


def _check_cli_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``minitorch graph ... --out g.svg --steps``; check the drawings; return stderr."""
    steps = tmp_path / "steps"
    rc = graph_main(_graph(tmp_path, "x * x * y + 10 * x", "--steps", str(steps), "--forward"))
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "f = 12.0" in out and "df/dx = 14.0" in out and "df/dy = 1.0" in out
    assert "forward mode: df/dx = 14.0" in out
    texts = _svg_texts((tmp_path / "g.svg").read_text(encoding="utf-8"))
    assert "∂f/∂x = 14" in texts and "∂f/∂y = 1" in texts  # reverse mode on every node
    assert "∂x/∂x = 1" in texts and "∂y/∂x = 0" in texts  # and forward mode
    assert (steps / "index.html").exists()
    assert len(list(steps.glob("step_*.svg"))) == 7  # the start, then Add, 3 Mul, x and y
    for frame in steps.glob("step_*.svg"):
        _svg_texts(frame.read_text(encoding="utf-8"))
    return err


@needs_dot
def test_cli_writes_svg_with_dot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _check_cli_svg(tmp_path, capsys)
    assert "built-in layout" not in err
    assert "graphviz" in (tmp_path / "g.svg").read_text(encoding="utf-8")


def test_cli_writes_svg_without_dot(
    no_dot: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _check_cli_svg(tmp_path, capsys)
    assert err.count("\n") == 1 and "built-in layout" in err and "apt-get install graphviz" in err
    assert "graphviz" not in (tmp_path / "g.svg").read_text(encoding="utf-8")
    assert not (tmp_path / "steps" / "backprop.gif").exists()
    assert graph_main([*_graph(tmp_path, "x * y")[:-1], str(tmp_path / "g.png")]) == 1
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists()


def test_cli_without_graphviz_package(
    no_package: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert graph_main(_graph(tmp_path, "log(x * y) + exp(x * y)")) == 0
    assert "built-in layout" in capsys.readouterr().err
    _svg_texts((tmp_path / "g.svg").read_text(encoding="utf-8"))
    assert graph_main([*_graph(tmp_path, "x * y")[:-1], str(tmp_path / "g.dot")]) == 1
    assert EXTRA in capsys.readouterr().err


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
    page = (tmp_path / "g.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 1
    assert "dg/dx" not in capsys.readouterr().out


@needs_package
def test_minitorch_graph_subcommand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from minitorch.apps.cli import main

    out = tmp_path / "h.dot"
    args = ["graph", "z = x * y; h = log(z) + exp(z)", "--x", "1", "--y", "2", "--out", str(out)]
    assert main(args) == 0
    assert "dh/dx = 15.778" in capsys.readouterr().out
    source = out.read_text(encoding="utf-8")
    assert source.startswith("digraph") and "∂h/∂z = 7.389 + 0.5" in source and "z = 2" in source
