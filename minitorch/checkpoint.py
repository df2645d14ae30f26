"""Checkpoints without pickle: a model's weights, its optimiser's state and run metadata.

A checkpoint is one NumPy ``.npz`` archive, read back with ``allow_pickle=False``:

* ``model/<dotted name>``: one float array per parameter (``Module.state_dict()``);
* ``optim/<position>/<key>``: the optimiser's per-parameter state (momentum buffers,
  Adam's moments and step counts), keyed by the parameter's position;
* ``meta``: one JSON string (format version, epoch, learning rate, RNG states, metrics,
  anything the caller adds).

Arrays are written as host (NumPy) arrays from any device (a model or optimiser on a GPU is
copied to the host); ``restore`` copies them onto the device of each parameter, so a
checkpoint moves freely between the CPU and a GPU.

Files are written atomically (``atomic_write``): into a temporary file in the target's
directory, flushed and fsync'ed, then moved over the target with ``os.replace``, so a run
killed at any moment leaves either the old file or the new one, never a torn one.
Anything unreadable (truncated, not an archive, object arrays that would need pickle,
missing or unexpected names, wrong shapes or dtypes) raises ``CheckpointError`` before
the model or optimiser is touched.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from . import devices
from .module import Module

__all__ = [
    "FORMAT",
    "Checkpoint",
    "CheckpointError",
    "atomic_write",
    "checkpoint_from_arrays",
    "load_checkpoint",
    "nonfinite",
    "optimizer_state",
    "read_npz",
    "restore",
    "save_checkpoint",
]

Array = npt.NDArray[Any]

FORMAT = "minitorch-checkpoint/1"
"""The ``meta["format"]`` every checkpoint carries."""

_MODEL = "model/"
_OPTIM = "optim/"
_META = "meta"


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model/optimiser given."""


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[IO[bytes]]:
    """Open a temporary file next to ``path`` for writing; on success, move it over ``path``.

    The data is flushed and fsync'ed before ``os.replace``; on any error the temporary file
    is removed and ``path`` is left as it was.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# Optimiser state <-> flat arrays
# ---------------------------------------------------------------------------


def optimizer_state(optimizer: Any) -> dict[str, Array]:
    """``optimizer.state`` flattened to ``{"<position>/<key>": array}`` (numbers as 0-d;
    host copies of GPU buffers)."""
    out: dict[str, Array] = {}
    for i, st in getattr(optimizer, "state", {}).items():
        for key, value in st.items():
            host = devices.to_host(value) if devices.is_device_array(value) else value
            out[f"{int(i)}/{key}"] = np.asarray(host)
    return out


def _unflatten_optimizer_state(flat: Mapping[str, Array]) -> dict[int, dict[str, Any]]:
    state: dict[int, dict[str, Any]] = {}
    for name, arr in flat.items():
        pos, _, key = name.partition("/")
        if not pos.isdigit() or not key:
            raise CheckpointError(f"optimiser state entry {name!r} is not '<position>/<key>'.")
        value: Any = arr.copy()
        if arr.ndim == 0:  # numbers go back to Python numbers, exactly
            value = int(arr) if arr.dtype.kind in "iu" else float(arr)
        state.setdefault(int(pos), {})[key] = value
    return state


# ---------------------------------------------------------------------------
# Saving and loading
# ---------------------------------------------------------------------------


@dataclass
class Checkpoint:
    """What a checkpoint file holds: parameter arrays, optimiser state and metadata."""

    params: dict[str, Array]
    optim: dict[str, Array] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(
    path: str | Path,
    model: Module,
    optimizer: Any = None,
    meta: Mapping[str, Any] | None = None,
) -> None:
    """Write ``model``'s parameters, ``optimizer``'s state and ``meta`` (JSON) atomically."""
    arrays: dict[str, Array] = {}
    for name, value in model.state_dict().items():
        if getattr(value, "is_cuda", False):  # a Tensor on a GPU: its values, on the host
            value = devices.to_host(value._tensor._array)
        arrays[_MODEL + name] = np.ascontiguousarray(np.asarray(value))
    if optimizer is not None:
        for name, arr in optimizer_state(optimizer).items():
            arrays[_OPTIM + name] = arr
    info = {"format": FORMAT, **(meta or {})}
    arrays[_META] = np.array(json.dumps(info, allow_nan=True))
    for name, arr in arrays.items():
        if arr.dtype.hasobject:
            raise TypeError(f"save_checkpoint: {name!r} is an object array (would need pickle).")
    with atomic_write(path) as f:
        savez: Any = np.savez  # (its stub types **kwds as allow_pickle's bool)
        savez(f, **arrays)


def read_npz(
    source: str | os.PathLike[str] | IO[bytes], what: str = "checkpoint file"
) -> dict[str, Array]:
    """Every array of the ``.npz`` archive ``source`` (a path or a binary file), read
    without pickle.

    Raises ``CheckpointError`` naming the file and the problem: missing, a folder, not a
    zip archive (random bytes, a pickle, a ``torch.save`` file), truncated, or holding
    Python objects (which would need pickle: such entries are never loaded).
    """
    if hasattr(source, "read"):
        p: Any = getattr(source, "name", "the file object")
        data = io.BytesIO(source.read())
        head = data.getvalue()[:4]
        opened: Any = data
    else:
        p = opened = Path(source)
        if p.is_dir():
            raise CheckpointError(f"{p} is a folder, not a {what}.")
        try:
            with open(p, "rb") as f:
                head = f.read(4)
        except FileNotFoundError:
            raise CheckpointError(f"no {what} at {p}.") from None
        except OSError as err:
            raise CheckpointError(f"cannot read {p}: {err.strerror or err}.") from None
    if head != b"PK\x03\x04":
        kind = "it is empty" if not head else f"it starts with {head!r}, not a zip header"
        raise CheckpointError(
            f"{p} is not a minitorch {what} (an .npz archive): {kind}. Was it written by "
            "another program, or damaged?"
        )
    arrays: dict[str, Array] = {}
    try:
        with np.load(opened, allow_pickle=False) as z:
            for name in z.files:
                arrays[name] = z[name]
    except ValueError as err:
        if "pickle" not in str(err):
            raise CheckpointError(f"{p} is not a valid {what}: {err}") from None
        raise CheckpointError(
            f"{p} holds Python objects (pickled data); a minitorch {what} never does, so it "
            "is refused (it is read with allow_pickle=False, which runs no code)."
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError) as err:
        raise CheckpointError(
            f"{p} is not a readable {what} (truncated or corrupt?): {err}"
        ) from None
    return arrays


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint``; ``CheckpointError`` if it is not one."""
    return checkpoint_from_arrays(read_npz(path), path)


def checkpoint_from_arrays(arrays: dict[str, Array], p: Any) -> Checkpoint:
    """The checkpoint held by the arrays of an archive (``p`` names it in errors)."""
    if _META not in arrays:
        raise CheckpointError(f"{p} is not a minitorch checkpoint: it has no {_META!r} entry.")
    raw = arrays.pop(_META)
    try:
        meta = json.loads(str(raw[()])) if raw.ndim == 0 and raw.dtype.kind == "U" else None
    except json.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{p}: its {_META!r} entry is not {FORMAT} metadata.")
    params: dict[str, Array] = {}
    optim: dict[str, Array] = {}
    for name, arr in arrays.items():
        if name.startswith(_MODEL):
            if arr.dtype.kind != "f":
                raise CheckpointError(
                    f"{p}: parameter {name[len(_MODEL) :]!r} holds {arr.dtype}, not floats."
                )
            params[name[len(_MODEL) :]] = arr
        elif name.startswith(_OPTIM):
            if arr.dtype.kind not in "fiub":
                raise CheckpointError(f"{p}: optimiser entry {name!r} holds {arr.dtype}.")
            optim[name[len(_OPTIM) :]] = arr
        else:
            raise CheckpointError(f"{p}: unexpected entry {name!r}.")
    return Checkpoint(params=params, optim=optim, meta=meta)


def restore(checkpoint: Checkpoint, model: Module, optimizer: Any = None) -> None:
    """Install a checkpoint's weights into ``model`` (and state into ``optimizer``).

    Every check runs before anything changes: parameter names must match exactly
    (missing/unexpected names listed), shapes must agree, and optimiser state must refer
    to existing parameters with matching shapes. Values take each parameter's dtype and
    device (optimiser buffers go to their parameter's device).
    Non-finite values are installed as they are: ``nonfinite`` finds them first.
    """
    state: dict[int, dict[str, Any]] | None = None
    if optimizer is not None:
        state = _unflatten_optimizer_state(checkpoint.optim)
        params = list(getattr(optimizer, "parameters", []))
        for pos, st in state.items():
            if pos >= len(params):
                raise CheckpointError(
                    f"checkpoint has optimiser state for parameter {pos}, but the optimiser "
                    f"has {len(params)} parameters."
                )
            shape = tuple(params[pos].value.shape)
            for key, v in st.items():
                if isinstance(v, np.ndarray) and v.shape != shape:
                    raise CheckpointError(
                        f"optimiser state {pos}/{key} has shape {v.shape}, but parameter {pos} "
                        f"has shape {shape}."
                    )
    try:
        model.load_state_dict(checkpoint.params)  # checks everything before changing anything
    except (KeyError, ValueError, TypeError) as err:
        msg = err.args[0] if err.args else str(err)
        raise CheckpointError(f"checkpoint does not fit the model: {msg}") from None
    if state is not None:
        for pos, st in state.items():
            value = params[pos].value
            if getattr(value, "is_cuda", False):
                for key, v in st.items():
                    if isinstance(v, np.ndarray):
                        st[key] = devices.move(v, value.device)
        optimizer.state = state


def nonfinite(checkpoint: Checkpoint) -> list[str]:
    """Names of the checkpoint's weights (``model/<name>``) and optimiser state
    (``optim/<position>/<key>``) holding NaN or infinity, in file order."""
    bad = [_MODEL + k for k, v in checkpoint.params.items() if not np.isfinite(v).all()]
    for k, v in checkpoint.optim.items():
        if v.dtype.kind == "f" and not np.isfinite(v).all():
            bad.append(_OPTIM + k)
    return bad
