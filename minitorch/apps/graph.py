"""``minitorch graph``: draw the graph of an expression on named Scalars.

    minitorch graph "x * x * y + 10 * x" --x 1 --y 2 --out graph.svg [--steps DIR] [--forward]

The expression is parsed with ``ast`` and checked against a whitelist **before** anything
runs; then it is interpreted node by node on Scalars (never ``eval``). Allowed: the names
given on the command line, numbers, ``+ - * / **``, unary ``-``, parentheses, calls to
``log exp sigmoid relu tanh`` (``log(x)`` or ``x.log()``) and ``name = expr`` lines
separated by ``;`` or newlines (``"z = x * y; log(z) + exp(z)"``). Everything else
(attribute access, imports, dunder names, subscripts, lambdas, comprehensions, exponents
beyond ±100, deep nesting) is rejected with a message saying why.
"""

from __future__ import annotations

import argparse
import ast
import keyword
import math
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import viz
from ..scalar import Scalar

__all__ = [
    "FUNCTIONS",
    "OUT_FORMATS",
    "ExpressionError",
    "Program",
    "add_graph_command",
    "evaluate",
    "parse_program",
    "run_graph",
]

FUNCTIONS = ("log", "exp", "sigmoid", "relu", "tanh")
"""The library functions an expression may call, as ``f(x)`` or ``x.f()``."""

OUT_FORMATS = (".svg", ".html", ".png", ".pdf", ".dot", ".gv")
"""The extensions ``--out`` takes (``.png``/``.pdf`` need Graphviz's ``dot``)."""


MAX_LENGTH = 2000
MAX_DEPTH = 50
MAX_NODES = 2000
MAX_STATEMENTS = 50
MAX_EXPONENT = 100.0


class ExpressionError(ValueError):
    """The expression is not in the allowed language (nothing of it was evaluated)."""


_BINOPS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
}

_WHAT = {
    "Attribute": "attribute access",
    "Subscript": "subscripts",
    "Lambda": "lambdas",
    "ListComp": "comprehensions",
    "SetComp": "comprehensions",
    "DictComp": "comprehensions",
    "GeneratorExp": "comprehensions",
    "Import": "imports",
    "ImportFrom": "imports",
    "Starred": "starred arguments",
    "JoinedStr": "strings",
    "IfExp": "conditional expressions",
    "Compare": "comparisons",
    "BoolOp": "boolean operators",
    "NamedExpr": "':=' assignments",
}


def _refuse(node: ast.AST, why: str) -> ExpressionError:
    col = getattr(node, "col_offset", None)
    where = f" (line {node.lineno}, column {col + 1})" if col is not None else ""  # type: ignore[attr-defined]
    return ExpressionError(f"{why}{where}.")


def _describe(node: ast.AST) -> str:
    name = type(node).__name__
    return _WHAT.get(name, f"{name} nodes")


@dataclass(frozen=True)
class Program:
    """A checked expression: ``name = expr`` lines, then the result (maybe named)."""

    assignments: tuple[tuple[str, ast.expr], ...]
    result: ast.expr
    result_name: str | None
    text: str


def _check_name(node: ast.AST, name: str) -> None:
    if "__" in name:
        raise _refuse(node, f"dunder names such as {name!r} are not allowed")


def _number(node: ast.Constant) -> float:
    value = node.value
    if not isinstance(value, int | float):  # pragma: no cover - refused by _check_expr
        raise ExpressionError(f"not a number: {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise _refuse(node, "this number is too large") from None


def _constant_value(node: ast.expr) -> float | None:
    """The value of a subexpression made only of numbers (None when it uses a name).

    Computed in floats after the whole tree was checked, so it cannot run away.
    """
    if isinstance(node, ast.Constant):
        return _number(node)
    if isinstance(node, ast.UnaryOp):
        v = _constant_value(node.operand)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    if isinstance(node, ast.BinOp):
        a, b = _constant_value(node.left), _constant_value(node.right)
        if a is None or b is None:
            return None
        try:
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if isinstance(node.op, ast.Div):
                return a / b
            return math.pow(a, b)
        except (OverflowError, ZeroDivisionError, ValueError) as err:
            raise _refuse(node, f"this numeric subexpression cannot be computed ({err})") from None
    return None


def _check_expr(root: ast.expr, known: Collection[str]) -> None:
    """Walk ``root`` (iteratively) and refuse anything outside the whitelist."""
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    count = 0
    powers: list[ast.BinOp] = []
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise _refuse(node, f"the expression is nested too deeply (more than {MAX_DEPTH})")
        if count > MAX_NODES:
            raise ExpressionError(f"the expression is too long (more than {MAX_NODES} parts).")
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise _refuse(node, "only the operators + - * / ** are allowed")
            if isinstance(node.op, ast.Pow):
                powers.append(node)
            stack += [(node.left, depth + 1), (node.right, depth + 1)]
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                raise _refuse(node, "only unary - and + are allowed")
            stack.append((node.operand, depth + 1))
        elif isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise _refuse(node, f"only numbers are allowed as literals, not {v!r}")
            if isinstance(v, int) and abs(v) > 10**300:
                raise _refuse(node, "this number is too large")
        elif isinstance(node, ast.Name):
            _check_name(node, node.id)
            if node.id in FUNCTIONS:
                raise _refuse(node, f"{node.id} is a function: call it, {node.id}(x)")
            if node.id not in known:
                raise _refuse(
                    node,
                    f"unknown name {node.id!r}: give its value on the command line "
                    f"(--{node.id} VALUE)",
                )
        elif isinstance(node, ast.Call):
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise _refuse(node, "calls take plain positional arguments only")
            func = node.func
            if isinstance(func, ast.Name):
                _check_name(func, func.id)
                if func.id not in FUNCTIONS:
                    raise _refuse(
                        func,
                        f"{func.id!r} cannot be called: the allowed functions are "
                        + ", ".join(FUNCTIONS),
                    )
                if len(node.args) != 1:
                    raise _refuse(node, f"{func.id}(x) takes exactly one argument")
                stack.append((node.args[0], depth + 1))
            elif isinstance(func, ast.Attribute):
                _check_name(func, func.attr)
                if func.attr not in FUNCTIONS:
                    raise _refuse(
                        func,
                        f"attribute access is not allowed ('.{func.attr}'); the only methods "
                        "are " + ", ".join(f".{f}()" for f in FUNCTIONS),
                    )
                if node.args:
                    raise _refuse(node, f".{func.attr}() takes no arguments")
                stack.append((func.value, depth + 1))
            else:
                raise _refuse(
                    func,
                    f"{_describe(func)} cannot be called here: only "
                    + ", ".join(FUNCTIONS)
                    + " can",
                )
        elif isinstance(node, ast.Attribute):
            _check_name(node, node.attr)
            raise _refuse(node, f"attribute access is not allowed ('.{node.attr}')")
        else:
            raise _refuse(node, f"{_describe(node)} are not allowed")
    for p in reversed(powers):  # after the walk (all parts harmless), innermost first
        exponent = _constant_value(p.right)
        if exponent is not None and not abs(exponent) <= MAX_EXPONENT:
            raise _refuse(
                p,
                f"the exponent {exponent:g} is too large (at most {MAX_EXPONENT:g} in size)",
            )


def parse_program(text: str, inputs: Collection[str]) -> Program:
    """Parse and check ``text``; raise ``ExpressionError`` for anything not allowed.

    ``inputs`` are the names with values. Nothing is evaluated here.
    """
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is too long (more than {MAX_LENGTH} characters).")
    if not text.strip():
        raise ExpressionError("the expression is empty.")
    try:
        tree = ast.parse(text.strip(), mode="exec")
    except SyntaxError as err:
        if "nested" in str(err.msg):
            raise ExpressionError(f"the expression is nested too deeply ({err.msg}).") from None
        raise ExpressionError(f"this is not a valid expression: {err.msg}.") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("the expression is nested too deeply.") from None
    for node in ast.walk(tree):  # dunder names first: the clearest sign of an escape attempt
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
        if isinstance(name, str):
            _check_name(node, name)
    body = tree.body
    if not body:
        raise ExpressionError("the expression is empty.")
    if len(body) > MAX_STATEMENTS:
        raise ExpressionError(f"too many lines (at most {MAX_STATEMENTS}).")
    known = set(inputs)
    assignments: list[tuple[str, ast.expr]] = []
    result: ast.expr | None = None
    result_name = None
    for i, stmt in enumerate(body):
        last = i == len(body) - 1
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if not isinstance(target, ast.Name):
                raise _refuse(target, "only plain names can be assigned (name = expression)")
            _check_name(target, target.id)
            if target.id in FUNCTIONS or target.id in inputs:
                raise _refuse(target, f"{target.id!r} cannot be reassigned")
            _check_expr(stmt.value, known)
            known.add(target.id)
            if last:
                result, result_name = stmt.value, target.id
            else:
                assignments.append((target.id, stmt.value))
        elif isinstance(stmt, ast.Expr) and last:
            _check_expr(stmt.value, known)
            result = stmt.value
        elif isinstance(stmt, ast.Expr):
            raise _refuse(stmt, "only the last line may be a bare expression")
        else:
            raise _refuse(stmt, f"{_describe(stmt)} are not allowed (only name = expression)")
    assert result is not None
    return Program(tuple(assignments), result, result_name, text)


def _constant(v: float) -> Scalar:
    return Scalar(v, None)


def _eval(node: ast.expr, env: Mapping[str, Scalar]) -> Scalar:
    """Interpret a checked expression on Scalars (numbers become constants)."""
    if isinstance(node, ast.Constant):
        return _constant(_number(node))
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, env)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, env), _eval(node.right, env)
        op = type(node.op)
        if op is ast.Add:
            return a + b
        if op is ast.Sub:
            return a - b
        if op is ast.Mult:
            return a * b
        if op is ast.Div:
            return a / b
        return a**b
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            arg, name = node.args[0], func.id
        else:
            assert isinstance(func, ast.Attribute)
            arg, name = func.value, func.attr
        method: Callable[[], Scalar] = getattr(_eval(arg, env), name)
        return method()
    raise ExpressionError(f"unexpected {type(node).__name__}")  # pragma: no cover - checked


def evaluate(program: Program, values: Mapping[str, float]) -> tuple[Scalar, dict[str, Scalar]]:
    """Run ``program`` on leaf Scalars named after ``values``; return (output, inputs).

    Assigned names label their Scalars in the drawing; the output is named after the last
    assignment, else ``f``.
    """
    inputs = {name: Scalar(v, name=name) for name, v in values.items()}
    env: dict[str, Scalar] = dict(inputs)
    try:
        for name, expr in program.assignments:
            value = _eval(expr, env)
            if value.history is not None and not value.is_leaf():
                value.name = name
            env[name] = value
        out = _eval(program.result, env)
    except (ArithmeticError, ValueError) as err:
        raise ExpressionError(f"the expression cannot be evaluated here: {err}") from None
    if out.history is None:
        raise ExpressionError("the expression does not depend on any input: nothing to draw.")
    if not out.is_leaf():
        out.name = program.result_name or "f"
    return out, inputs


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def add_graph_command(commands: Any) -> argparse.ArgumentParser:
    """Add ``graph`` to the ``minitorch`` subcommands (``commands`` from add_subparsers)."""
    graph: argparse.ArgumentParser = commands.add_parser(
        "graph",
        help="draw the computation graph of an expression",
        description=(
            "Evaluate EXPRESSION on named Scalars, draw its graph, and print the derivative "
            "of the result with respect to each input. Give each input as --NAME VALUE."
        ),
        epilog=(
            'example: minitorch graph "z = x * y; log(z) + exp(z)" --x 1 --y 2 '
            "--out graph.svg --steps steps/ --forward x\n\n"
            "Allowed: input names, numbers, + - * / **, unary -, parentheses, "
            + ", ".join(FUNCTIONS)
            + " (as f(x) or x.f()), and 'name = expr' lines separated by ';'. An expression "
            "starting with '-' needs a leading space (\" -x * y\"). SVG and HTML are laid out "
            "by Graphviz's dot when it is installed, else by a built-in layout; PNG and PDF "
            "need dot."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    graph.add_argument("expression", help="the expression, in quotes")
    graph.add_argument(
        "--out",
        default="graph.svg",
        help="drawing: " + " ".join(OUT_FORMATS) + " (default graph.svg)",
    )
    graph.add_argument(
        "--steps",
        metavar="DIR",
        help="also write backpropagation frame by frame to DIR (numbered SVGs, index.html, GIF)",
    )
    graph.add_argument(
        "--forward",
        nargs="?",
        const="",
        metavar="NAME",
        help="also show forward mode: d node / d NAME on every node (NAME: an input; "
        "give --forward alone for the first input)",
    )
    graph.add_argument("--collapse", type=int, metavar="N", help="fold chains of N+ unary ops")
    graph.add_argument(
        "inputs", nargs=argparse.REMAINDER, metavar="--NAME VALUE", help="the inputs' values"
    )
    graph.set_defaults(handler=run_graph)
    return graph


def _parse_rest(args: argparse.Namespace) -> dict[str, float]:
    """Split the words after the expression into options and ``--NAME VALUE`` inputs."""
    rest: list[str] = list(args.inputs)
    values: dict[str, float] = {}
    i = 0
    while i < len(rest):
        word = rest[i]
        if not word.startswith("--") or len(word) == 2:
            raise ExpressionError(f"unexpected {word!r}: give inputs as --NAME VALUE.")
        key, eq, text = word[2:].partition("=")
        takes_value = key != "forward" or (
            i + 1 < len(rest) and not rest[i + 1].startswith("--") and not eq
        )
        if eq:
            i += 1
        elif takes_value:
            if i + 1 >= len(rest):
                raise ExpressionError(f"--{key} needs a value.")
            text = rest[i + 1]
            i += 2
        else:
            i += 1
        if key == "help":
            raise ExpressionError("put --help before the expression: minitorch graph --help.")
        if key in ("out", "steps", "forward"):
            setattr(args, key, text)
        elif key == "collapse":
            try:
                args.collapse = int(text)
            except ValueError:
                raise ExpressionError(f"--collapse needs a whole number, got {text!r}.") from None
        else:
            if not key.isidentifier() or keyword.iskeyword(key) or "__" in key:
                raise ExpressionError(f"{key!r} is not a valid input name.")
            if key in FUNCTIONS:
                raise ExpressionError(f"{key!r} is a function name; pick another input name.")
            try:
                values[key] = float(text)
            except ValueError:
                raise ExpressionError(f"--{key} needs a number, got {text!r}.") from None
    return values


def _write_drawing(out: Scalar, wrt: Scalar | None, collapse: int | None, path: Path) -> str:
    """Draw ``out``'s graph, ∂out/∂v on every node (and ∂v/∂wrt with ``--forward``)."""
    scene = viz.scene_of(out, collapse=collapse, reverse=True, forward=wrt)
    if path.suffix.lower() == ".html":
        title = f"minitorch graph: {out.name}"
        path.write_text(viz.html_page(title, [(title, viz.svg(scene))]), encoding="utf-8")
    else:
        viz.write(scene, path)
    return f"wrote {path}"


def _write_steps(out: Scalar, collapse: int | None, directory: Path) -> str:
    """Backpropagation frame by frame: numbered SVGs, ``index.html`` and (with dot) a GIF."""
    frames = viz.backprop_frames(out, collapse=collapse)
    files = frames.save(directory)
    frames.save_html(directory / "index.html")
    written = [f"{files[0].name} … {files[-1].name}", "index.html"]
    if viz.graphviz_available():
        try:
            written.append(frames.save_gif(directory / "backprop.gif").name)
        except ImportError as err:  # Pillow
            print(f"minitorch graph: no GIF: {err}", file=sys.stderr)
    return f"wrote {len(frames)} frames to {directory}: {', '.join(written)}"


def _check_out(path: Path) -> None:
    """Refuse an ``--out`` whose extension names no supported format, or whose folder is
    missing, before anything is evaluated."""
    suffix = path.suffix.lower()
    if suffix not in OUT_FORMATS:
        got = f"extension {path.suffix!r}" if suffix else "no extension"
        raise ExpressionError(
            f"--out {path}: {got}; the drawing's format comes from the extension, one of "
            + " ".join(OUT_FORMATS)
            + f" (for example --out {path.with_suffix('.svg').name})"
        )
    if path.is_dir():
        raise ExpressionError(f"--out {path} is a folder: give a file name such as graph.svg")
    if not path.parent.is_dir():
        raise ExpressionError(f"--out {path}: the folder {path.parent} does not exist")


def run_graph(args: argparse.Namespace) -> int:
    """``minitorch graph``: check, evaluate, draw, and print each input's derivative."""
    try:
        values = _parse_rest(args)
        _check_out(Path(args.out))
        if args.steps and Path(args.steps).exists() and not Path(args.steps).is_dir():
            raise ExpressionError(f"--steps {args.steps} is a file, not a folder")
        program = parse_program(args.expression, values)
        out, inputs = evaluate(program, values)
        wrt = None
        if args.forward is not None:
            name = args.forward or next(iter(inputs), "")
            if name not in inputs:
                raise ExpressionError(f"--forward {name}: not an input (inputs: {list(inputs)}).")
            wrt = inputs[name]
    except ExpressionError as err:
        print(f"minitorch graph: error: {err}", file=sys.stderr)
        return 2
    out.backward(retain_graph=True)  # keep the graph for forward mode and the frames
    print(f"{out.name} = {out.data!r}")
    for name, x in inputs.items():
        d = x.derivative
        print(f"d{out.name}/d{name} = {d!r}" if d is not None else f"d{out.name}/d{name} = 0.0")
    if wrt is not None:
        tangent = viz.forward_derivatives(out, wrt)[out.unique_id]
        print(f"forward mode: d{out.name}/d{wrt.name} = {tangent!r}")
    collapse: int | None = args.collapse
    path = Path(args.out)
    missing = viz.graphviz_missing()
    if missing and (args.steps or path.suffix.lower() in (".svg", ".html")):
        print(f"minitorch graph: drawing with the built-in layout. {missing}", file=sys.stderr)
    try:
        print(_write_drawing(out, wrt, collapse, path))
        if args.steps:
            print(_write_steps(out, collapse, Path(args.steps)))
    except (ImportError, viz.GraphvizNotFoundError) as err:
        print(f"minitorch graph: error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"minitorch graph: error: cannot write: {err}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``minitorch graph ...`` on its own (what ``minitorch.cli`` dispatches to)."""
    parser = argparse.ArgumentParser(prog="minitorch")
    add_graph_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
