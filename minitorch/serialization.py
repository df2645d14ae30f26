"""``minitorch.save(obj, f)`` / ``minitorch.load(f)``: PyTorch's habit, without pickle.

``obj`` may be a Tensor, a NumPy array or number, a minitorch Scalar, a Python number,
string, bool or None, or dicts, lists and tuples nesting these: a ``state_dict()``, an
optimiser's ``state_dict()``, ``{"model": ..., "epoch": 3}``. The file is a NumPy ``.npz``
archive: one array per tensor/array (its dtype and values exactly) and one JSON entry,
``__minitorch__``, describing the structure. ``load`` reads it with ``allow_pickle=False``
and interprets only that JSON, so loading never runs code from the file.

What comes back: Tensors as constants (``requires_grad`` False, like ``torch.load`` of
detached tensors) with their dtype and backend; the same Tensor saved twice comes back as
one object. Dict keys may be strings, numbers, bools, None or tuples of these. ``f`` is a
path (written atomically: a temporary file beside it, then a rename, so a crash leaves the
old file or the new one) or a binary file object. ``load`` of a ``minitorch train``
checkpoint (``checkpoint.npz``) gives ``{"model": state_dict, "optimizer": {"state": ...},
"meta": ...}``.

Devices, as PyTorch: a GPU tensor (or CuPy array) is written as host values with its
device's name; ``load`` puts it back on that device by default, and raises ``DeviceError``
(saying to pass ``map_location="cpu"``) where CUDA is not available. ``map_location``
``"cpu"``/``"cuda"``/a ``Device`` puts every tensor there; a dict such as
``{"cuda:0": "cpu"}`` maps saved devices to others (unlisted ones stay as saved). Plain
NumPy arrays saved from the host always come back as NumPy arrays.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from . import devices
from .checkpoint import CheckpointError, atomic_write, checkpoint_from_arrays, read_npz
from .devices import CPU, Device, DeviceError
from .fast_ops import FastBackend
from .module import Module
from .optim import Optimizer
from .scalar import Scalar
from .tensor import Tensor
from .tensor_ops import SimpleBackend, TensorBackend

__all__ = ["FORMAT", "load", "save"]

FORMAT = "minitorch-save/1"
"""The ``format`` of every file ``save`` writes."""

_ROOT = "__minitorch__"
_BACKENDS: dict[str, TensorBackend] = {"fast": FastBackend, "simple": SimpleBackend}
_KINDS = "biuf"  # bool, int, unsigned, float arrays
Array = npt.NDArray[Any]
File = str | os.PathLike[str] | IO[bytes]


# ---------------------------------------------------------------------------
# save
# ---------------------------------------------------------------------------


class _Writer:
    """Turns an object into JSON-ready nodes, collecting its arrays under ``a0, a1, ...``."""

    def __init__(self) -> None:
        self.arrays: dict[str, Array] = {}
        self.seen: dict[int, str] = {}  # id(tensor) -> its array's name
        self.active: set[int] = set()  # containers being encoded (cycles)

    def array(self, obj: Any, arr: Array, where: str) -> str:
        if arr.dtype.kind not in _KINDS:
            raise TypeError(
                f"minitorch.save: {where} is an array of {arr.dtype}; only bool, integer and "
                "float arrays can be saved."
            )
        name = self.seen.get(id(obj))
        if name is None:
            name = self.seen[id(obj)] = f"a{len(self.arrays)}"
            self.arrays[name] = np.array(arr, order="C")  # (ascontiguousarray makes 0-d 1-d)
        return name

    def node(self, obj: Any, where: str) -> Any:
        if obj is None or isinstance(obj, bool | int | float | str):
            return obj
        if isinstance(obj, Tensor):
            if obj.device.type != "cpu":  # host values, and where they came from
                name = self.array(obj, devices.to_host(obj._tensor._array), where)
                return {"$": "tensor", "array": name, "device": str(obj.device)}
            backend = next((k for k, b in _BACKENDS.items() if b is obj.backend), "fast")
            name = self.array(obj, np.asarray(obj), where)
            return {"$": "tensor", "array": name, "backend": backend}
        if devices.is_device_array(obj):
            name = self.array(obj, devices.to_host(obj), where)
            return {"$": "ndarray", "array": name, "device": str(devices.device_of(obj))}
        if isinstance(obj, np.ndarray | np.generic):
            tag = "ndarray" if isinstance(obj, np.ndarray) else "npscalar"
            return {"$": tag, "array": self.array(obj, np.asarray(obj), where)}
        if isinstance(obj, Scalar):
            return {"$": "scalar", "value": float(obj.data)}
        if isinstance(obj, Module | Optimizer):
            kind = "model" if isinstance(obj, Module) else "optimizer"
            raise TypeError(
                f"minitorch.save: {where} is a {type(obj).__name__}; objects are not saved "
                f"(that would need pickle). Save {kind}.state_dict() and restore it with "
                f"{kind}.load_state_dict(minitorch.load(path))."
            )
        if isinstance(obj, Mapping | list | tuple):
            if id(obj) in self.active:
                raise ValueError(f"minitorch.save: {where} contains itself (a cycle).")
            self.active.add(id(obj))
            try:
                if isinstance(obj, Mapping):
                    items = [
                        [self.key(k, where), self.node(v, f"{where}[{k!r}]")]
                        for k, v in obj.items()
                    ]
                    return {"$": "dict", "items": items}
                tag = "list" if isinstance(obj, list) else "tuple"
                kids = [self.node(v, f"{where}[{i}]") for i, v in enumerate(obj)]
                return {"$": tag, "items": kids}
            finally:
                self.active.discard(id(obj))
        raise TypeError(
            f"minitorch.save: {where} is a {type(obj).__name__}, which cannot be saved. "
            "Supported: Tensor, NumPy array or number, Scalar, int, float, bool, str, None, "
            "and dicts, lists and tuples of these."
        )

    def key(self, k: Any, where: str) -> Any:
        if k is None or isinstance(k, bool | int | float | str):
            return k
        if isinstance(k, tuple):
            return {"$": "tuple", "items": [self.key(x, where) for x in k]}
        raise TypeError(
            f"minitorch.save: {where} has a key of type {type(k).__name__}; dict keys must "
            "be str, int, float, bool, None or tuples of these."
        )


def save(obj: Any, f: File) -> None:
    """Write ``obj`` (see the module docstring) to the path or binary file ``f``.

    Raises TypeError for an object it cannot save (naming where in ``obj`` it is and what
    to save instead); nothing is written then.
    """
    writer = _Writer()
    root = writer.node(obj, "obj")
    text = json.dumps({"format": FORMAT, "root": root}, allow_nan=True)
    arrays = {_ROOT: np.array(text), **writer.arrays}
    savez: Any = np.savez  # (its stub types **kwds as allow_pickle's bool)
    if hasattr(f, "write"):
        savez(f, **arrays)
        return
    with atomic_write(os.fspath(f)) as out:
        savez(out, **arrays)


# ---------------------------------------------------------------------------
# load
# ---------------------------------------------------------------------------


class _Reader:
    """Rebuilds objects from the JSON nodes, checking every node against the format."""

    def __init__(
        self, arrays: dict[str, Array], where: Any, place: Callable[[Device], Device]
    ) -> None:
        self.arrays = arrays
        self.where = where
        self.place = place
        self.made: dict[str, Any] = {}  # array name -> the object made from it
        self.used: set[str] = set()

    def bad(self, why: str) -> CheckpointError:
        return CheckpointError(f"{self.where} is damaged or not from minitorch.save: {why}.")

    def array(self, node: Mapping[str, Any]) -> Array:
        name = node.get("array")
        arr = self.arrays.get(name) if isinstance(name, str) and name != _ROOT else None
        if arr is None:
            raise self.bad(f"it refers to a missing array {name!r}")
        if arr.dtype.kind not in _KINDS:
            raise self.bad(f"array {name!r} holds {arr.dtype}")
        self.used.add(name)  # type: ignore[arg-type]
        return arr

    def node(self, node: Any) -> Any:
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if not isinstance(node, dict):
            raise self.bad(f"unexpected JSON value {type(node).__name__}")
        tag = node.get("$")
        if tag in ("tensor", "ndarray", "npscalar"):
            name = str(node.get("array"))
            if name in self.made:
                return self.made[name]
            arr = self.array(node)
            saved = self.device(node, name)
            if tag == "tensor":
                backend = _BACKENDS.get(node.get("backend", "fast"))
                if backend is None or arr.dtype.kind != "f":
                    raise self.bad(
                        f"tensor {name!r} has backend {node.get('backend')!r}, dtype {arr.dtype}"
                    )
                src = CPU if saved is None else saved
                target = self.place(src)
                if target.type == "cpu":  # (a CPU tensor keeps its backend)
                    out: Any = Tensor(arr, backend=backend if src.type == "cpu" else None)
                else:
                    out = Tensor(arr, device=self.reach(target, src))
            elif tag == "ndarray" and saved is not None:  # a CuPy array
                out = devices.move(arr.copy(), self.reach(self.place(saved), saved))
            else:
                out = arr.copy() if tag == "ndarray" else arr[()]
            self.made[name] = out
            return out
        if tag == "scalar" and isinstance(node.get("value"), int | float):
            return Scalar(float(node["value"]))
        items = node.get("items")
        if not isinstance(items, list):
            raise self.bad(f"a node tagged {tag!r} without items")
        if tag == "list":
            return [self.node(x) for x in items]
        if tag == "tuple":
            return tuple(self.node(x) for x in items)
        if tag == "dict":
            out = {}
            for pair in items:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise self.bad("a dict item is not a [key, value] pair")
                key = self.node(pair[0])
                try:
                    out[key] = self.node(pair[1])
                except TypeError:  # an unhashable key
                    raise self.bad(f"a dict key of type {type(key).__name__}") from None
            return out
        raise self.bad(f"unknown node tag {tag!r}")

    def device(self, node: Mapping[str, Any], name: str) -> Device | None:
        """The device an array node was saved from (None: a host value, the old format)."""
        spec = node.get("device")
        if spec is None:
            return None
        try:
            return Device(spec)
        except (TypeError, ValueError, DeviceError):
            raise self.bad(f"array {name!r} names an unknown device {spec!r}") from None

    def reach(self, target: Device, saved: Device) -> Device:
        """``target``, checking that it is there (DeviceError naming the fix if not)."""
        if target.type == "cuda":
            try:
                devices.cuda_namespace()
            except DeviceError as err:
                fix = (
                    "pass map_location='cpu' to load it on the CPU"
                    if target == saved
                    else "map it elsewhere"
                )
                raise DeviceError(
                    f"minitorch.load: {self.where} holds tensors saved on {saved} to be "
                    f"loaded on {target}, but {err} To load here, {fix}."
                ) from None
        return target


def _placement(map_location: Any) -> Callable[[Device], Device]:
    """``map_location`` as a function: saved device -> device to load on (PyTorch's forms:
    None, a device name or ``Device``, or a dict from saved device names to others)."""
    if map_location is None:
        return lambda d: d
    try:
        if isinstance(map_location, str | Device):
            where = Device(map_location)
            return lambda d: where
        if isinstance(map_location, Mapping):
            table = {Device(k): Device(v) for k, v in map_location.items()}
            return lambda d: table.get(d, d)
    except (TypeError, ValueError) as err:
        raise ValueError(f"minitorch.load: map_location={map_location!r}: {err}") from None
    raise TypeError(
        f"minitorch.load: map_location={map_location!r}: give None, a device ('cpu', "
        "'cuda', minitorch.device(...)) or a dict such as {'cuda:0': 'cpu'} (functions, "
        "PyTorch's other form, are not supported: minitorch has no storages to pass them)."
    )


def load(f: File, map_location: Any = None, weights_only: bool = True) -> Any:
    """Read what ``save`` wrote to the path or binary file ``f`` (see the module docstring).

    ``map_location`` (None: where each tensor was saved from; ``"cpu"``, ``"cuda"``, a
    ``Device``: all there; a dict: saved device name -> device) as ``torch.load``;
    ``weights_only`` is accepted for PyTorch's signature: loading is always weights-only
    (no code runs). Raises ``DeviceError`` when a tensor's device is not available here,
    and ``CheckpointError`` naming the file and the problem for anything else: a missing
    file, random or truncated bytes, a pickle (``torch.save``), an ``.npz`` of other arrays.
    """
    place = _placement(map_location)
    del weights_only  # always weights-only
    where = getattr(f, "name", "the file object") if hasattr(f, "read") else os.fspath(f)
    arrays = read_npz(f, "save file")
    if _ROOT not in arrays:
        if "meta" in arrays:  # a ``minitorch train`` checkpoint
            ck = checkpoint_from_arrays(arrays, where)
            state: dict[int, dict[str, Any]] = {}
            for key, arr in ck.optim.items():
                pos, _, name = key.partition("/")
                state.setdefault(int(pos), {})[name] = arr.item() if arr.ndim == 0 else arr
            target = place(CPU)
            if target.type != "cpu":
                _Reader(arrays, where, place).reach(target, CPU)
            return {
                "model": {k: Tensor(v, device=target) for k, v in ck.params.items()},
                "optimizer": {"state": state},
                "meta": ck.meta,
            }
        names = ", ".join(sorted(arrays)[:5]) or "none"
        raise CheckpointError(
            f"{where} is an .npz archive but not written by minitorch.save (its entries: "
            f"{names}); read it with numpy.load(path, allow_pickle=False)."
        )
    raw = arrays[_ROOT]
    try:
        text = str(raw[()]) if raw.ndim == 0 and raw.dtype.kind == "U" else ""
        info = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        info = None
    if not isinstance(info, dict) or info.get("format") != FORMAT or "root" not in info:
        raise CheckpointError(f"{where}: its {_ROOT!r} entry is not {FORMAT} data.")
    reader = _Reader(arrays, where, place)
    try:
        obj = reader.node(info["root"])
    except RecursionError:
        raise reader.bad("it is nested too deeply") from None
    extra = sorted(set(arrays) - reader.used - {_ROOT})
    if extra:
        raise reader.bad(f"unexpected entries {extra[:5]}")
    return obj
