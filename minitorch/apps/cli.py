"""The ``minitorch`` command line (also ``python -m minitorch``): ``train``, ``graph``, ``app``.

``minitorch train`` trains one of the models of ``minitorch.apps.train`` and prints its loss
and accuracy as it goes: by default the small CNN on the bundled digits; with
``--backend``, ``--points`` or a 2-D ``--dataset`` the lecture's network on a toy dataset.
See ``minitorch train --help``. ``minitorch graph`` draws an expression's graph
(``graph.py``); ``minitorch app`` serves the web app (``web/``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import distributed
from ..checkpoint import CheckpointError, load_checkpoint
from ..datasets import datasets
from ..devices import DeviceError, cuda_namespace
from .graph import add_graph_command
from .train import (
    CHECKPOINT,
    DEVICES,
    DIGITS,
    IDX,
    LECTURE,
    MODELS,
    OPTIMIZERS,
    TrainConfig,
    TrainingDivergedError,
    default_config,
    fit,
    resolve_dataset,
)
from .web.launch import add_app_command

__all__ = ["build_parser", "main", "run_config"]


def _choice(what: str, names: Sequence[str]) -> Callable[[str], str]:
    """An argparse type accepting one of ``names`` in any letter case."""

    def parse(text: str) -> str:
        name = text.strip().lower()
        if name not in names:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {text!r} (choose from {', '.join(names)})"
            )
        return name

    return parse


def _dataset(text: str) -> str:
    try:
        return resolve_dataset(text)
    except KeyError as err:
        raise argparse.ArgumentTypeError(
            f"{err.args[0]}; or --data-dir DIR for IDX files"
        ) from None


def _number(kind: Callable[[str], float], positive: bool = True) -> Callable[[str], float]:
    """An argparse type for a positive (else: non-negative) ``kind`` number."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            what = "a positive" if positive else "a"
            raise argparse.ArgumentTypeError(
                f"expected {what} {kind.__name__}, got {text!r}"
            ) from None
        if positive and not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def _defaults(option: str) -> str:
    """``"scalar: 10, tensor: 10, mlp: 256, cnn: 32"``: each model's default for ``option``."""
    return ", ".join(f"{m}: {getattr(default_config(m), option)}" for m in MODELS)


def _options() -> list[tuple[str, Callable[[str], Any], str, str]]:
    """``minitorch train``'s options: (flag, type, metavar, help)."""
    names = [*datasets, DIGITS]
    return [
        ("--model", _choice("model", MODELS), "{" + ",".join(MODELS) + "}",
         "the model (default: cnn; scalar with --backend, --points or a 2-D --dataset)"),
        ("--backend", _choice("backend", LECTURE), "{" + ",".join(LECTURE) + "}",
         "the lecture's network on Scalars or on Tensors (default: scalar)"),
        ("--dataset", _dataset, "{" + ",".join(names) + "}",
         "dataset, any letter case (default: digits, or Xor for the lecture's network)"),
        ("--data-dir", str, "DIR", "train on MNIST-style IDX files in DIR (cnn/mlp)"),
        ("--points", _number(int), "N", "number of points of a 2-D dataset (default: 50)"),
        ("--hidden", _number(int), "N", "width of each hidden layer (cnn: first conv channels)"),
        ("--depth", _number(int), "N", "hidden layers (default: 1; mlp on a 2-D set: 2)"),
        ("--epochs", _number(int), "N", "number of epochs (passes over the data)"),
        ("--lr", _number(float), "LR", "learning rate"),
        ("--seed", _number(int, positive=False), "SEED", "seed of data, weights and batches"),
        ("--log-every", _number(int), "N", "print loss and accuracy every N epochs"),
        ("--batch-size", _number(int), "N", "examples per step, reshuffled every epoch "
         "(default: the full batch, or 32 for cnn/mlp; not for scalar)"),
        ("--optimizer", _choice("optimizer", OPTIMIZERS), "{" + ",".join(OPTIMIZERS) + "}",
         "cnn/mlp optimiser (default: adam)"),
        ("--out", str, "DIR", "output folder (cnn/mlp; default runs/<model>-<data>-<time>)"),
        ("--resume", str, "RUN", "continue the run in folder RUN (or from its checkpoint.npz) "
         "to --epochs (default: the epochs it was started with)"),
        ("--nproc", _number(int), "N", "train on N processes (data parallel, MPI ranks "
         "launched with mpiexec; pip install 'minitorch[distributed]'); mpiexec -n N "
         "minitorch train ... works too"),
        ("--device", _choice("device", DEVICES), "{" + ",".join(DEVICES) + "}",
         "where the Tensor models train: cpu, or cuda (an NVIDIA GPU; needs CuPy, "
         "pip install 'minitorch[gpu]'); default: cpu, or the device of the run resumed"),
    ]  # fmt: skip


def _epilog() -> str:
    pts = default_config("mlp", "Xor")
    note = (
        "With 50 points and their defaults the scalar and tensor backends reach 100% "
        "training accuracy on Simple, Diag, Split and Xor (tensor also with --batch-size 10). "
        "Inputs are centred (x -> 2x - 1); the loss is the mean negative log-likelihood over "
        "all points (full batch, one SGD step per epoch) or over each minibatch "
        "(--batch-size, tensor backend); accuracy is measured on the training points.\n\n"
        "The digits are the bundled 8x8 images; --data-dir DIR takes MNIST-style IDX files "
        "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
        "t10k-labels-idx1-ubyte, .gz allowed); the mlp also trains on a 2-D set (test set: a "
        f"fresh sample, seed+1; defaults --hidden {pts.hidden} --depth {pts.depth} --epochs "
        f"{pts.epochs} --batch-size {pts.batch_size} --lr {pts.lr}). cnn/mlp runs write to "
        "--out: checkpoint.npz (after every epoch; --resume RUN continues it exactly), "
        "metrics.json, loss.png and confusion.png (images) or decision_boundary.png (2-D "
        'sets; plots need pip install "minitorch[plots]"). Recipe: Adam (--optimizer sgd: '
        "momentum 0.9, lr 0.05), cosine-annealed lr, label smoothing 0.1, float32."
    )
    return (
        "models (--model):\n"
        "  scalar   the lecture's Network of Scalar Parameters (pure Python autodiff)\n"
        "  tensor   the same Network on Tensors: one matrix product per layer per batch\n"
        "  mlp      Flatten -> [Linear -> ReLU] x depth -> Linear, on images or a 2-D set\n"
        "  cnn      [Conv 3x3 -> ReLU -> MaxPool 2] x 2 -> Linear, on images\n\n"
        + "\n\n".join(textwrap.fill(p, 78, break_on_hyphens=False) for p in note.split("\n\n"))
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``minitorch`` argument parser (subcommands ``train`` and ``graph``)."""
    parser = argparse.ArgumentParser(
        prog="minitorch",
        description="minitorch: automatic differentiation from Scalars to Tensors.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    train = commands.add_parser(
        "train",
        help="train a classifier (a CNN on digits by default, or on a toy dataset)",
        description=textwrap.fill(
            "Train a classifier, reporting loss and accuracy: by default the small CNN on "
            "the bundled digits; the digits MLP; or the lecture's Network (2 inputs -> "
            "hidden ReLU layers -> sigmoid output) on a toy dataset with SGD.",
            78,
        ),
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for flag, kind, metavar, text in _options():
        option = flag[2:].replace("-", "_")
        if option in ("hidden", "epochs", "lr", "log_every"):
            text += f" (default: {_defaults(option)})"
        train.add_argument(flag, type=kind, metavar=metavar, help=text)
    train.add_argument(
        "--no-compile",
        dest="compile",
        action="store_false",
        help="run each Tensor training step eagerly instead of through minitorch.compile "
        "(the same numbers, slower; to compare speeds)",
    )
    train.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress bar and no per-epoch lines; print only the final accuracy",
    )
    train.set_defaults(handler=_train)
    add_graph_command(commands)  # minitorch graph: draw an expression's graph (graph.py)
    add_app_command(commands)  # minitorch app: the web app (web/)
    return parser


def _model(args: argparse.Namespace) -> str | None:
    """The model the options ask for (None: the one of the checkpoint resumed)."""
    if args.model in ("mlp", "cnn"):
        if args.backend == "scalar":
            raise ValueError("--backend scalar trains the lecture's network, not --model mlp|cnn.")
        return str(args.model)
    two_d = args.dataset not in (None, DIGITS) and not (args.resume or args.data_dir)
    if args.model or args.backend or args.points or two_d:
        return str(args.backend or args.model or "scalar")
    return None if args.resume else "cnn"


def run_config(args: argparse.Namespace) -> tuple[TrainConfig, Path | None, bool]:
    """The config, run folder and resume flag that the ``train`` options describe."""
    given = {
        k: getattr(args, k)
        for k in ("points", "epochs", "batch_size", "optimizer", "lr", "seed", "hidden", "depth")
    }
    given["log_every"] = args.log_every
    given["device"] = args.device
    if args.data_dir and args.dataset is not None:
        raise ValueError("give either --dataset or --data-dir, not both.")
    dataset = IDX if args.data_dir else args.dataset
    model = _model(args)
    if model in LECTURE:
        config = default_config(model, dataset, data_dir=args.data_dir, **given)
        if args.out or args.resume:
            raise ValueError(
                "--out, --resume: only for --model mlp|cnn (the lecture's network writes no files)."
            )
        return config, None, False
    if args.resume is None:
        config = default_config(model or "cnn", dataset, data_dir=args.data_dir, **given)
        return config, _out_folder(args, config), False
    run = Path(args.resume)
    if run.is_file() and run.name != CHECKPOINT:
        raise CheckpointError(
            f"--resume {run}: give the run folder (it holds {CHECKPOINT}) or that "
            f"{CHECKPOINT}; a run continues only from its own folder's {CHECKPOINT}."
        )
    folder = run.parent if run.is_file() else run
    if not (folder / CHECKPOINT).exists():
        raise CheckpointError(
            f"--resume {run}: no {CHECKPOINT} in {folder} (a run folder gets one after its "
            "first epoch)."
        )
    if args.out and Path(args.out).resolve() != folder.resolve():
        raise ValueError(f"--resume {run} continues in {folder}; --out must be that folder.")
    saved = load_checkpoint(folder / CHECKPOINT).meta.get("config")
    if not isinstance(saved, dict):
        raise CheckpointError(f"{folder / CHECKPOINT} holds no run configuration.")
    known = {f.name for f in fields(TrainConfig)}
    explicit = {k: v for k, v in given.items() if v is not None}
    for k, v in (("model", model), ("dataset", dataset), ("data_dir", args.data_dir)):
        if v:
            explicit[k] = v
    try:
        config = TrainConfig(**{k: v for k, v in saved.items() if k in known})
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{folder / CHECKPOINT}: bad configuration ({err}).") from None
    return replace(config, **explicit), folder, True


def _out_folder(args: argparse.Namespace, config: TrainConfig) -> Path:
    if args.out:
        return Path(args.out)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    label = Path(config.data_dir).name if config.data_dir else config.dataset.lower()
    out = base = Path("runs") / f"{config.model}-{label}-{stamp}"
    k = 1
    while out.exists():
        k += 1
        out = Path(f"{base}-{k}")
    return out


def _error(err: BaseException, status: int) -> int:
    who = "minitorch train"
    if distributed.get_world_size() > 1:  # one of several ranks: say which
        who += f" (rank {distributed.get_rank()} of {distributed.get_world_size()})"
    print(f"{who}: error: {err}", file=sys.stderr, flush=True)
    return status


def _train(args: argparse.Namespace) -> int:
    world = distributed.get_world_size()
    if args.nproc and args.nproc > 1 and world == 1:
        return launch(args)
    if args.nproc and world > 1 and args.nproc != world:
        return _error(ValueError(f"--nproc {args.nproc}, but MPI started {world} ranks"), 2)
    if world > 1:
        return _rank_train(args)
    return _train_here(args)


def _rank_train(args: argparse.Namespace) -> int:
    """``_train_here`` on one of several ranks: only rank 0 prints, and a rank that fails
    stops them all (MPI_Abort) instead of leaving them waiting for it."""
    if distributed.get_rank() != 0:
        args.quiet = args.silent = True
    try:
        status = _train_here(args)
    except KeyboardInterrupt:
        distributed.abort(130)
        raise
    if status not in (0, 130):
        distributed.abort(status)
    return status


def launch(args: argparse.Namespace) -> int:
    """``minitorch train --nproc N``: run this same command as N MPI ranks with mpiexec
    (Open MPI, from the ``distributed`` extra) and return its exit status."""
    nproc = int(args.nproc)
    try:
        importlib.import_module("mpi4py")
    except ImportError:
        return _error(
            ValueError(f"--nproc {nproc} needs mpi4py and Open MPI: {distributed.EXTRA}"), 2
        )
    mpiexec = distributed.mpiexec_path()
    if mpiexec is None:
        return _error(
            ValueError(
                f"--nproc {nproc}: mpiexec (Open MPI) is not on PATH: {distributed.EXTRA} "
                "installs it beside python"
            ),
            2,
        )
    try:
        _, out, resume = run_config(args)
    except CheckpointError as err:
        return _error(err, 1)
    except ValueError as err:
        return _error(err, 2)
    argv = list(args.argv)
    for i, a in enumerate(argv):  # the ranks run the same command, less --nproc N
        if a.startswith("--nproc"):
            del argv[i : i + (1 if "=" in a else 2)]
            break
    if out is not None and not resume and not args.out:
        argv += ["--out", str(out)]  # every rank the same folder (rank 0 writes it)
    env = dict(os.environ)
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # Open MPI refuses root unless told
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    command = [mpiexec, "-n", str(nproc), "--oversubscribe", sys.executable, "-m", "minitorch"]
    status = subprocess.call([*command, *argv], env=env)
    if status != 0:
        where = (
            ""
            if out is None
            else (
                f"; the checkpoint of the last finished epoch in {out} is intact (continue with "
                f"minitorch train --resume {out} --nproc {nproc})"
            )
        )
        print(
            f"minitorch train --nproc {nproc}: the run failed (exit status {status}); the "
            f"lines above name the rank and the cause{where}",
            file=sys.stderr,
        )
    return status


def _train_here(args: argparse.Namespace) -> int:
    try:
        config, out, resume = run_config(args)
        if config.device != "cpu":
            cuda_namespace()  # no CuPy or no GPU: say what is missing, before anything else
    except CheckpointError as err:
        return _error(err, 1)
    except (ValueError, DeviceError) as err:
        return _error(err, 2)
    c, quiet = config, bool(args.quiet)
    where = "" if c.device == "cpu" else f", on {c.device}"
    world = distributed.get_world_size()
    if world > 1:
        where += f", {world} ranks"
    if not quiet and c.lecture:
        batches = "" if c.batch_size is None else f", batch size {c.batch_size}"
        print(
            f"training {c.model} backend on {c.dataset} ({c.points} points): hidden {c.hidden}, "
            f"depth {c.depth}, lr {c.lr}, {c.epochs} epochs{batches}, seed {c.seed}{where}",
            flush=True,
        )
    elif not quiet:
        data = c.data_dir if c.dataset == IDX else c.dataset
        print(
            f"training {c.model} on {data}: {c.epochs} epochs, batch {c.batch_size}, "
            f"{c.optimizer} lr {c.lr}, seed {c.seed}{where} -> {out}",
            flush=True,
        )
    try:
        metrics = fit(
            config,
            out,
            resume=resume,
            progress=not quiet,
            log=None if quiet else print,
            compile_step=args.compile,
        )
    except (CheckpointError, TrainingDivergedError, OSError, ValueError) as err:
        return _error(err, 1)
    except KeyboardInterrupt:
        if out is None:
            raise
        print(
            f"interrupted: the checkpoint of the last finished epoch is in {out}; "
            f"continue with: minitorch train --resume {out}",
            file=sys.stderr,
        )
        return 130
    if getattr(args, "silent", False):  # a rank other than 0: rank 0 reports
        return 0
    final, size = metrics["final"], metrics["test_size"]
    right = round(final["test_accuracy"] * size)
    if c.lecture:
        if not quiet:
            print(f"final loss: {final['test_loss']:.4f} ({metrics['train_seconds']:.1f} s)")
        accuracy = f"final accuracy: {100 * final['test_accuracy']:.1f}%"
    else:
        if not quiet:
            print(
                f"final train loss {final['train_loss']:.4f} (accuracy "
                f"{100 * final['train_accuracy']:.1f}%), test loss {final['test_loss']:.4f}; "
                f"{metrics['train_seconds']:.1f} s of training "
                f"({metrics['final'].get('steps_per_second', 0):.0f} steps/s, "
                f"{'compiled' if args.compile else 'eager'}); outputs in {out}"
            )
        accuracy = f"final test accuracy: {100 * final['test_accuracy']:.2f}%"
    print(f"{accuracy} ({right}/{size}) on {metrics['dataset']}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
