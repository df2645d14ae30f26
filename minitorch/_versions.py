"""Version counters of tensor storages, and the switch of autograd's rarely used features.

Every in-place write (``add_``, ``t[i] = v``, ``w -= lr * g``) bumps the **version** of the
storage it writes. The counter belongs to the storage, so every view of it (slices,
permutations, ``detach()``) shares it: it is kept for the *root* NumPy array, the one that
owns the memory (found by following ``.base``). A Function's context remembers the
version of each Tensor it saved; ``backward`` compares, and a saved tensor modified since
raises (see ``Tensor.chain_rule``).

Nothing here costs anything until used: ``on`` stays False until the first in-place
write, hook or ``retain_grad`` of the process, and until then every version is 0, so a
version that was never recorded means 0. The hot paths test only ``on``.

``rebased`` turns True once an in-place op has moved a tensor of a graph onto a new node
(``y.add_(1)`` on ``y = x * 2``); from then on contexts record the generation of their
inputs (see ``Tensor.parents``).

Per-tensor extras live here too, keyed by ``unique_id`` and dropped with the tensor
(``watch``): ``OLD_NODES`` (the nodes a rebased tensor was, oldest first: its generations),
``HOOKS`` (``register_hook``) and ``RETAINS`` (``retain_grad``).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

__all__ = [
    "HOOKS",
    "OLD_NODES",
    "RETAINS",
    "bump",
    "on",
    "rebased",
    "root",
    "switch_on",
    "version",
    "watch",
]

on = False
"""True once any in-place write, hook or retained gradient happened in this process."""

rebased = False
"""True once an in-place op rebased a tensor of a graph onto a new node."""

_VERSIONS: dict[int, tuple[weakref.ref[Any], int]] = {}
"""id(root array) -> (a weak reference to it, its version); dropped with the array."""


OLD_NODES: dict[int, list[Any]] = {}
"""unique_id of a rebased tensor -> the nodes it was before each in-place write."""

HOOKS: dict[int, dict[int, Any]] = {}
"""unique_id -> {handle id: hook} (``Tensor.register_hook``)."""

RETAINS: dict[int, weakref.ref[Any]] = {}
"""unique_id of a non-leaf whose gradient is kept (``Tensor.retain_grad``) -> a weak
reference to the tensor that receives it (the user's, not its graph node)."""

_WATCHED: dict[int, set[int]] = {}
"""unique_id -> ids of the live objects carrying it (a tensor and its graph nodes)."""


def watch(t: Any) -> None:
    """Drop the entries of ``t``'s ``unique_id`` in the registries above once ``t`` and
    every graph node standing for it (``tensor.node_of``, which watches the nodes it makes
    for a watched id) are garbage collected: a node in a live graph still needs them."""
    uid = t.unique_id
    ids = _WATCHED.get(uid)
    if ids is None:
        ids = _WATCHED[uid] = set()
    if id(t) not in ids:
        ids.add(id(t))
        weakref.finalize(t, _release, uid, id(t))
    n = getattr(t, "_node", None)
    if n is not None and getattr(n, "unique_id", None) == uid and id(n) not in ids:
        ids.add(id(n))  # its cached graph node, made before it was watched
        weakref.finalize(n, _release, uid, id(n))


def _release(uid: int, oid: int) -> None:
    ids = _WATCHED.get(uid)
    if ids is not None:
        ids.discard(oid)
        if not ids:
            _forget(uid)


def _forget(uid: int) -> None:
    OLD_NODES.pop(uid, None)
    HOOKS.pop(uid, None)
    RETAINS.pop(uid, None)
    _WATCHED.pop(uid, None)


def switch_on(rebase: bool = False) -> None:
    """Turn the bookkeeping on for the rest of the process (``rebase``: generations too)."""
    global on, rebased
    on = True
    if rebase:
        rebased = True


def root(arr: Any) -> Any:
    """The array that owns ``arr``'s memory (``arr`` itself if it owns it)."""
    kind = np.ndarray if isinstance(arr, np.ndarray) else type(arr)  # or a GPU array type
    while True:
        b = arr.base
        if b is None:
            return arr
        if not isinstance(b, kind):  # e.g. as_strided's helper object, which holds it
            b = getattr(b, "base", None)
            if not isinstance(b, kind):
                return arr
        arr = b


def version(arr: Any) -> int:
    """How many in-place writes the storage of ``arr`` has had (0 if none was recorded)."""
    r = root(arr)
    entry = _VERSIONS.get(id(r))
    if entry is None or entry[0]() is not r:
        return 0
    return entry[1]


def bump(arr: Any) -> int:
    """Record one in-place write to the storage of ``arr``; return the new version."""
    r = root(arr)
    key = id(r)
    entry = _VERSIONS.get(key)
    if entry is not None and entry[0]() is r:
        n = entry[1] + 1
        _VERSIONS[key] = (entry[0], n)
        return n

    def forget(ref: weakref.ref[Any], key: int = key) -> None:
        e = _VERSIONS.get(key)
        if e is not None and e[0] is ref:
            del _VERSIONS[key]

    _VERSIONS[key] = (weakref.ref(r, forget), 1)
    switch_on()
    return 1
