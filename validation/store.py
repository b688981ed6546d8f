"""The output folder of a validation run: atomic files, the run lock, stamps and record checks.

Everything a run writes under its output folder goes through this module:

* :func:`write_json_atomic` / :func:`write_text_atomic` / :func:`write_bytes_atomic` write a temporary
  file next to the target and rename it over the target, so a reader (or an interrupted run) never
  sees a half-written file. The temporary file is created with mode ``0o666`` filtered by the user's
  umask, like any file the user creates, so results are as readable by the user's group as the rest
  of the folder;
* :class:`RunLock` makes one run at a time own a folder: the second run refuses with
  :class:`OutputLockedError` naming the folder, unless the lock was left by a dead process on this
  machine (then it is taken over, with a warning);
* :func:`remove_orphans` deletes the ``*.tmp`` files an earlier run killed mid-write left behind;
* :func:`stamp` is what a task record or a cached sub-result is keyed by (see its docstring);
* :func:`read_json` reads a JSON file and says why it cannot (missing, truncated, not UTF-8, wrong
  shape), so that a corrupt record is recomputed with a warning instead of killing the run.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import socket
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "OutputLockedError",
    "RunLock",
    "code_fingerprint",
    "jsonable",
    "read_json",
    "remove_orphans",
    "stamp",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_text_atomic",
]

LOCK_NAME = ".lock"


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars and arrays as plain Python values and non-finite floats as strings."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else str(f)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and an atomic rename (never a half-written file).

    The temporary file is opened with mode ``0o666`` and the process umask applies, as for any file the
    user creates (``tempfile.mkstemp`` would make it ``0o600``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically (:func:`write_text_atomic`)."""
    write_text_atomic(path, json.dumps(jsonable(data), indent=1))


def read_json(path: Path) -> tuple[Any, str | None]:
    """``(data, None)`` for a readable JSON file, else ``(None, reason)``; ``reason`` is ``"missing"``
    for a file that does not exist."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return None, "missing"
    try:
        return json.loads(raw.decode("utf-8")), None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 ({exc.reason} at byte {exc.start})"
    except json.JSONDecodeError as exc:
        return None, f"not JSON ({exc.msg} at line {exc.lineno}: truncated?)"


def warn_corrupt(path: Path, reason: str) -> None:
    """Warn that the file ``path`` is unusable for ``reason`` and will be recomputed."""
    warnings.warn(f"{path} is corrupt ({reason}); recomputing it", RuntimeWarning, stacklevel=3)


def remove_orphans(out: Path) -> list[Path]:
    """Delete the ``*.tmp`` files under ``out`` (left by a run killed mid-write); return them.

    Only safe while holding ``out``'s :class:`RunLock`: no other run is writing there (the temporary
    files of a run trying to take the lock are left alone).
    """
    orphans = sorted(p for p in Path(out).rglob("*.tmp") if not p.name.startswith(LOCK_NAME))
    for p in orphans:
        p.unlink(missing_ok=True)
    return orphans


# ----------------------------------------------------------------------------------------------------
# What a result is keyed by
# ----------------------------------------------------------------------------------------------------

_HASHES: dict[tuple[str, tuple[tuple[str, int, int], ...]], str] = {}


def _tree_hash(root: Path) -> str:
    """sha256 of the ``*.py`` files under ``root`` (names and contents), memoised on their sizes and
    modification times."""
    return files_hash(root, sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts))


def files_hash(root: Path, files: Any) -> str:
    """sha256 of ``files`` (names relative to ``root``, and contents), memoised on their sizes and
    modification times: the one hash behind every code fingerprint of the validation campaigns."""
    files = list(files)
    key = (str(root), tuple((str(p.relative_to(root)), *_size_mtime(p)) for p in files))
    if key not in _HASHES:
        h = hashlib.sha256()
        for p in files:
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def _size_mtime(p: Path) -> tuple[int, int]:
    s = p.stat()
    return s.st_size, s.st_mtime_ns


def code_fingerprint(module: str | None = None) -> str:
    """A hash of the code a task's numbers depend on: the whole ``stochdepth`` package plus the package
    folder of ``module`` (for an experiment, its campaign package).

    Why these files: a task's numbers are produced by its experiment module, the helpers of its campaign
    package that it imports (``common``, ``problems``, solver modules) and the library. Following the
    imports transitively would be exact but fragile (lazy imports inside functions, numba kernels);
    hashing the two folders whole is sound (no dependency inside them is missed) and cheap (about 120
    files, 1.3 MB: some 20 ms, memoised on the files' sizes and modification times). Its only cost is
    over-invalidation: editing one experiment recomputes its campaign's other experiments too. The
    runner (:mod:`validation.runner`, :mod:`validation.experiment`) is left out: it formats and stores
    results but computes none. Third-party code is represented by its version (:func:`stamp`).
    """
    import stochdepth

    parts = [_tree_hash(Path(stochdepth.__file__).parent)]
    mod = sys.modules.get(module) if module else None
    where = getattr(mod, "__file__", None)
    if where:
        parts.append(_tree_hash(Path(where).parent))
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:20]


def stamp(profile: str, seed: int, config: Any = None, module: str | None = None) -> dict[str, Any]:
    """What a task record and each of its cached sub-results are keyed by: everything that produced it.

    ``profile`` and ``seed``; ``config``, the task's sizes at this profile (a dataclass or JSON-able
    value); the versions of stochdepth, numpy and scipy (numpy's random streams and scipy's solvers
    change the numbers too); and :func:`code_fingerprint` of the task's ``module``. A stored result is
    reused only when its stamp equals the current one, so a change of code, version or size recomputes
    it.
    """
    import scipy

    import stochdepth

    return {
        "profile": profile,
        "seed": int(seed),
        "config": jsonable(config),
        "versions": {
            "stochdepth": stochdepth.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "code": code_fingerprint(module),
    }


# ----------------------------------------------------------------------------------------------------
# One run per folder
# ----------------------------------------------------------------------------------------------------


class OutputLockedError(RuntimeError):
    """Another run holds the lock of the output folder."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLock:
    """The lock file ``<out>/.lock`` held while a run writes into ``out`` (a context manager).

    The lock is created atomically (a hard link of a finished file, so it is never seen empty) and holds
    the owner's pid and host name. Taking a held lock raises :class:`OutputLockedError` naming the
    folder and the owner; a lock whose owner is a dead process of this machine is stale and is taken
    over with a warning. ``is_alive`` decides whether a pid runs (replaceable in tests).
    """

    def __init__(self, out: Path, *, is_alive: Callable[[int], bool] = _alive) -> None:
        self.out = Path(out)
        self.path = self.out / LOCK_NAME
        self._is_alive = is_alive
        self._held = False

    def acquire(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        tmp = self.out / f"{LOCK_NAME}.{secrets.token_hex(4)}.tmp"
        tmp.write_text(json.dumps(me), encoding="utf-8")
        try:
            for _ in range(3):
                try:
                    os.link(tmp, self.path)
                    self._held = True
                    return
                except FileExistsError:
                    self._take_over_if_stale()
            raise OutputLockedError(f"could not take the lock {self.path}")
        finally:
            tmp.unlink(missing_ok=True)

    def _take_over_if_stale(self) -> None:
        owner, why = read_json(self.path)
        if why == "missing":
            return  # released meanwhile: try again
        ok = isinstance(owner, dict) and isinstance(owner.get("pid"), int)
        if ok and owner.get("host") == socket.gethostname() and not self._is_alive(owner["pid"]):
            warnings.warn(
                f"removing the stale lock {self.path} of process {owner['pid']}, which no longer runs",
                RuntimeWarning,
                stacklevel=4,
            )
            self.path.unlink(missing_ok=True)
            return
        who = f"process {owner['pid']} on {owner.get('host')}" if ok else f"an unknown owner ({why})"
        raise OutputLockedError(
            f"the output folder {self.out} is in use by another validation run ({who}); wait for it to "
            f"finish or choose another --out (if no run is active, delete {self.path})"
        )

    def release(self) -> None:
        if self._held:
            self.path.unlink(missing_ok=True)
            self._held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
