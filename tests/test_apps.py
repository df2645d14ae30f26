"""The library apart from its apps: nothing outside ``minitorch/apps`` imports them,
``import minitorch`` loads no optional package, and a missing extra names its install."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "minitorch"
OPTIONAL = ("matplotlib", "threadpoolctl", "graphviz", "PIL", "cupy", "mpi4py", "streamlit")


def _imported_modules(path: Path, source: str | None = None) -> set[str]:
    """Absolute names of the modules the file at ``path`` (or ``source`` as if it were
    there) imports, relative imports resolved; ``from X import name`` counts as importing
    ``X.name`` too, and a call with a string first argument (``import_module("...")``) as
    importing that string."""
    package = list(path.relative_to(ROOT).with_suffix("").parts[:-1])
    tree = ast.parse(path.read_text() if source is None else source, str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def _apps(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m == "minitorch.apps" or m.startswith("minitorch.apps."))


def test_no_library_module_imports_the_apps() -> None:
    library = [
        p
        for p in PACKAGE.rglob("*.py")
        if "apps" not in p.relative_to(PACKAGE).parts and p.name != "__main__.py"
    ]
    assert len(library) > 10
    offenders = {str(p.relative_to(ROOT)): _apps(_imported_modules(p)) for p in library}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_import_check_resolves_relative_imports() -> None:
    nested = PACKAGE / "viz" / "probe.py"
    assert _apps(_imported_modules(nested, "from ..apps.cli import main\n")) == [
        "minitorch.apps.cli",
        "minitorch.apps.cli.main",
    ]
    flat = PACKAGE / "probe.py"
    source = "from . import apps\nimport importlib\nimportlib.import_module('minitorch.apps')\n"
    assert _apps(_imported_modules(flat, source)) == ["minitorch.apps"]
    assert _apps(_imported_modules(flat, "from .tensor import Tensor\n")) == []


def _python(code: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_import_minitorch_loads_no_optional_package() -> None:
    res = _python("import json, sys, minitorch; print(json.dumps(sorted(sys.modules)))")
    assert res.returncode == 0, res.stderr
    loaded = json.loads(res.stdout)
    assert "minitorch.tensor" in loaded
    assert sorted(m for m in loaded if m.split(".")[0] in OPTIONAL) == []
    assert _apps(set(loaded)) == []


def test_training_without_the_plots_extra_says_how_to_get_them(tmp_path: Path) -> None:
    """Without matplotlib (and threadpoolctl) a run still trains and writes its metrics and
    checkpoint; the plots are skipped with the command that brings them."""
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None  # import matplotlib -> ImportError\n"
        "sys.modules['threadpoolctl'] = None\n"
        "from minitorch.apps.cli import main\n"
        "raise SystemExit(main(sys.argv[1:]))\n"
    )
    out = tmp_path / "run"
    argv = ["train", "--model", "mlp", "--dataset", "Xor", "--epochs", "2", "--out", str(out)]
    res = _python(code, *argv, "-q")
    assert res.returncode == 0, res.stderr
    assert "final test accuracy" in res.stdout
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.npz", "metrics.json"]
    assert "plots skipped" in res.stderr
    assert 'pip install "minitorch[plots]"' in res.stderr
