"""The ``minitorch`` command line (also ``python -m minitorch``).

``minitorch train`` trains a classifier and prints the loss and accuracy as it goes: by
default a small CNN on the bundled digits (``minitorch.train_nn``), or the lecture's network
on one of the six toy datasets (``--backend``); see ``minitorch train --help``.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import fields, replace

from tqdm import tqdm

from . import train_nn
from .graph import add_graph_command
from .training import BACKENDS, Backend, EpochStats, TrainConfig, make_dataset

__all__ = ["DEFAULT_BACKEND", "DEFAULT_DATASET", "build_parser", "main"]

DEFAULT_BACKEND = "scalar"
"""Backend used by ``minitorch train`` without ``--backend``."""

DEFAULT_DATASET = "Xor"
"""Dataset used by ``minitorch train`` without ``--dataset``."""

DEFAULT_POINTS = 50

# Options that fall back to the chosen backend's ``TrainConfig`` when not given.
_CONFIG_OPTIONS: dict[str, str] = {
    "hidden": "width of each hidden layer",
    "depth": "number of hidden ReLU layers",
    "epochs": "number of epochs (passes over the data)",
    "lr": "SGD learning rate",
    "seed": "seed of the dataset, the initialisation and the minibatch order",
    "log_every": "print loss and accuracy every this many epochs",
}


def _backend_name(text: str) -> str:
    name = text.strip().lower()
    if name not in BACKENDS:
        raise argparse.ArgumentTypeError(
            f"unknown backend {text!r} (choose from {', '.join(BACKENDS)})"
        )
    return name


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a positive {kind.__name__}, got {text!r}"
            ) from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def _defaults_text(option: str) -> str:
    """``"scalar: 10"``-style text listing each backend's default for ``option``."""
    return ", ".join(f"{b.name}: {getattr(b.defaults, option)}" for b in BACKENDS.values())


def _defaults_epilog() -> str:
    lines = ["backends and their defaults:"]
    for b in BACKENDS.values():
        d = b.defaults
        lines.append(
            f"  {b.name:8s} {b.description}\n"
            f"           --hidden {d.hidden} --depth {d.depth} --epochs {d.epochs} "
            f"--lr {d.lr} --seed {d.seed} --log-every {d.log_every}"
        )
    note = (
        f"With {DEFAULT_POINTS} points and their defaults the scalar and tensor backends "
        "reach 100% training accuracy on Simple, Diag, Split and Xor (the tensor backend "
        "also with --batch-size 10). Inputs are centred "
        "(x -> 2x - 1) before training; the loss is the mean negative log-likelihood "
        "over all points (full batch), one SGD step per epoch, or over each minibatch "
        "with --batch-size (tensor backend), one step per minibatch."
    )
    return "\n".join(lines) + "\n\n" + textwrap.fill(note, 78)


def build_parser() -> argparse.ArgumentParser:
    """The ``minitorch`` argument parser (subcommand ``train``)."""
    parser = argparse.ArgumentParser(
        prog="minitorch",
        description="minitorch: automatic differentiation from Scalars to Tensors.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train a classifier (a CNN on digits by default, or on a toy dataset)",
        description=textwrap.fill(
            "Train the lecture's Network (2 inputs -> hidden ReLU layers -> sigmoid output) "
            "on a toy dataset with SGD (full batch, or minibatches with --batch-size on "
            "the tensor backend), reporting loss and accuracy. "
            f"With --backend (default {DEFAULT_BACKEND}) or a 2-D --dataset (default "
            f"{DEFAULT_DATASET}). Without options: a CNN on the bundled digits (below).",
            78,
        ),
        epilog=_defaults_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument(
        "--backend",
        type=_backend_name,
        default=DEFAULT_BACKEND,
        action=train_nn.GivenOption,
        metavar="{" + ",".join(BACKENDS) + "}",
        help=f"how to compute (default: {DEFAULT_BACKEND})",
    )
    train.add_argument(
        "--dataset",
        type=train_nn.dataset_argument,
        default=DEFAULT_DATASET,
        action=train_nn.GivenOption,
        metavar="{Simple,Diag,Split,Xor,Circle,Spiral,digits}",
        help=f"dataset, any letter case (default: {DEFAULT_DATASET}, or digits for cnn/mlp)",
    )
    train.add_argument(
        "--points",
        type=_positive(int),
        default=DEFAULT_POINTS,
        action=train_nn.GivenOption,
        metavar="N",
        help=f"number of points in the dataset (default: {DEFAULT_POINTS})",
    )
    kinds: dict[str, Callable[[str], float]] = {
        "hidden": _positive(int),
        "depth": _positive(int),
        "epochs": _positive(int),
        "lr": _positive(float),
        "seed": _non_negative_int,
        "log_every": _positive(int),
    }
    metavars = {"lr": "LR", "seed": "SEED"}
    for option, text in _CONFIG_OPTIONS.items():
        train.add_argument(
            "--" + option.replace("_", "-"),
            type=kinds[option],
            default=None,
            metavar=metavars.get(option, "N"),
            help=f"{text} (default: {_defaults_text(option)})",
        )
    train.add_argument(
        "--batch-size",
        type=_positive(int),
        default=None,
        metavar="N",
        help="points per SGD step, reshuffled every epoch with the seed "
        "(tensor backend only; default: the full batch)",
    )
    train.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress bar and no per-epoch lines; print only the final accuracy",
    )
    train_nn.add_train_arguments(train)  # --model, --out, --resume ... (train_nn.py)
    train.set_defaults(handler=_train)
    add_graph_command(commands)  # minitorch graph: draw an expression's graph (graph_cli.py)
    return parser


def _config_from(args: argparse.Namespace, backend: Backend) -> TrainConfig:
    """The backend's defaults, with every option given on the command line applied."""
    known = {f.name for f in fields(TrainConfig)}
    given = {k: getattr(args, k, None) for k in (*_CONFIG_OPTIONS, "batch_size") if k in known}
    return replace(backend.defaults, **{k: v for k, v in given.items() if v is not None})


def _stats_line(stats: EpochStats, epochs: int) -> str:
    width = len(str(epochs))
    return (
        f"epoch {stats.epoch:{width}d}/{epochs}  loss {stats.loss:.4f}  "
        f"accuracy {100 * stats.accuracy:5.1f}% ({stats.correct}/{stats.total})"
    )


def _train(args: argparse.Namespace) -> int:
    if train_nn.wants_nn(args):  # --model mlp|cnn, digits, IDX files: see train_nn.py
        return train_nn.run_from_args(args)
    if train_nn.legacy_conflicts(args):
        print(
            f"minitorch train: error: {', '.join(train_nn.legacy_conflicts(args))}: only for "
            "--model mlp|cnn, not the lecture's network (--backend / a 2-D --dataset)",
            file=sys.stderr,
        )
        return 2
    backend = BACKENDS[args.backend]
    config = _config_from(args, backend)
    if config.batch_size is not None and not backend.minibatch:
        print(
            f"minitorch train: error: --batch-size: the {backend.name} backend trains on "
            "the full batch only (try --backend tensor)",
            file=sys.stderr,
        )
        return 2
    data = make_dataset(args.dataset, args.points, config.seed)
    quiet: bool = args.quiet
    if not quiet:
        batches = "" if config.batch_size is None else f", batch size {config.batch_size}"
        print(
            f"training {backend.name} backend on {args.dataset} ({data.N} points): "
            f"hidden {config.hidden}, depth {config.depth}, lr {config.lr}, "
            f"{config.epochs} epochs{batches}, seed {config.seed}",
            flush=True,
        )
    with tqdm(
        total=config.epochs,
        desc=args.dataset,
        unit="epoch",
        file=sys.stderr,
        disable=quiet,
        leave=False,
        dynamic_ncols=True,
    ) as bar:

        def on_epoch(stats: EpochStats) -> None:
            bar.update(1)
            bar.set_postfix_str(
                f"loss {stats.loss:.4f} acc {100 * stats.accuracy:.0f}%", refresh=False
            )

        def on_log(stats: EpochStats) -> None:
            bar.write(_stats_line(stats, config.epochs), file=sys.stdout)

        result = backend.train(
            data,
            config,
            on_epoch=None if quiet else on_epoch,
            on_log=None if quiet else on_log,
        )
    if not quiet:
        print(f"final loss: {result.final_loss:.4f} ({result.seconds:.1f} s)")
    print(
        f"final accuracy: {100 * result.final_accuracy:.1f}% "
        f"({result.correct}/{result.total}) on {args.dataset}",
        flush=True,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
