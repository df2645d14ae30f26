"""Memory of a long recorded graph: minitorch against PyTorch (CPU), peak RSS and time.

Workload (issue 11): a 100x100 float64 leaf ``x`` (``requires_grad``), a chain of cheap ops,
then ``y.sum().backward()``. Two forms:

* ``add``: ``y = y + 1.0``, 100,000 times;
* ``muladd``: ``y = y * 1.0 + 0.0``, 100,000 times (200,000 ops).

Backward needs none of the intermediates' values, so a graph that holds only what backward
needs stays small; one that keeps every intermediate grows by 80 kB per op.

Each (library, form) runs in a fresh child process (this script with ``--child``), so its
peak RSS (``VmHWM``, or ``ru_maxrss`` of the child where there is no ``/proc``: see
``peak_rss``) is its own. One
thread each. Reported: peak RSS, the part of it the run added (peak minus the RSS after the
imports), time (forward + backward), and the ratios minitorch/torch.

Run ``python benchmarks/bench_memory.py [--ops 100000] [--forms add,muladd]``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

FORMS = ("add", "muladd")
LIBS = ("minitorch", "torch")


def chain(lib: str, form: str, ops: int) -> dict[str, float]:
    """Run the chain in this process; its time, peak RSS (bytes) and a checksum."""
    arr = np.random.default_rng(0).random((100, 100))
    if lib == "torch":
        import torch

        torch.set_num_threads(1)
        base = peak_rss()
        t0 = time.perf_counter()
        x: Any = torch.tensor(arr, requires_grad=True)
    else:
        import minitorch

        base = peak_rss()
        t0 = time.perf_counter()
        x = minitorch.Tensor(arr, requires_grad=True)
    y = x
    if form == "add":
        for _ in range(ops):
            y = y + 1.0
    else:
        for _ in range(ops):
            y = y * 1.0 + 0.0
    y.sum().backward()
    seconds = time.perf_counter() - t0
    grad = x.grad.numpy() if lib == "torch" else x.grad.to_numpy()
    peak = peak_rss()
    return {"seconds": seconds, "peak": peak, "growth": peak - base, "grad": float(grad.sum())}


def peak_rss() -> float:
    """This process's peak resident set size, in bytes.

    ``ru_maxrss`` of a child on Linux also counts its parent's RSS at the fork (the kernel
    carries the high-water mark across ``exec``), so ``VmHWM`` of the process's own memory
    is read where ``/proc`` has it; ``ru_maxrss`` elsewhere.
    """
    import resource

    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, else KiB
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale)


def run_child(lib: str, form: str, ops: int) -> dict[str, float]:
    """``chain`` in a fresh interpreter (so the peak RSS is this run's alone)."""
    root = Path(__file__).resolve().parent.parent
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    )
    out = subprocess.run(
        [sys.executable, __file__, "--child", lib, form, str(ops)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the {lib} {form} run failed:\n{out.stderr}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _mb(n: float) -> str:
    return f"{n / 2**20:9.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=100_000, help="chain length (default 100000)")
    parser.add_argument("--forms", default=",".join(FORMS), help="add,muladd")
    parser.add_argument("--child", nargs=3, metavar=("LIB", "FORM", "OPS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        lib, form, ops = args.child
        print(json.dumps(chain(lib, form, int(ops))))
        return 0
    forms = [f for f in args.forms.split(",") if f]
    for f in forms:
        if f not in FORMS:
            parser.error(f"unknown form {f!r}; choose from {', '.join(FORMS)}")
    import importlib.util

    # torch is only imported in its child: this process stays small (see ``peak_rss``)
    torch_version = "installed" if importlib.util.find_spec("torch") else None
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; Python "
        f"{platform.python_version()}, NumPy {np.__version__}; one thread, one process per run"
    )
    print(f"chain of {args.ops} steps on a 100x100 float64 tensor, then sum().backward()")
    print(f"{'form':8} {'library':10} {'peak RSS':>12} {'of it, the run':>15} {'time':>10}")
    for form in forms:
        res = {
            lib: run_child(lib, form, args.ops) for lib in LIBS if lib != "torch" or torch_version
        }
        for lib, r in res.items():
            print(
                f"{form:8} {lib:10} {_mb(r['peak']):>12} {_mb(r['growth']):>15} "
                f"{r['seconds']:9.2f}s"
            )
        if "torch" in res:
            m, t = res["minitorch"], res["torch"]
            if not np.isclose(m["grad"], t["grad"], rtol=1e-9):
                raise RuntimeError(f"gradients disagree: {m['grad']} vs {t['grad']}")
            print(
                f"{form:8} {'ratio':10} {m['peak'] / t['peak']:11.2f}x "
                f"{m['growth'] / max(t['growth'], 1.0):14.2f}x "
                f"{m['seconds'] / t['seconds']:9.2f}x   (targets <= 1.2x memory, <= 1.5x time)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
