"""Results that leave the program: plain JSON data for every result object, and back.

One encoding serves :meth:`stochdepth._results.Result.to_dict`, ``save`` and ``load``. Values map to
JSON as follows (tags are keys starting with two underscores, so a field name never collides with one):

* ``None``, ``bool``, ``int``, ``str`` and finite ``float`` as themselves (numpy scalars included);
  a non-finite float as ``{"__float__": "nan" | "inf" | "-inf"}``;
* a ``list`` as a list, a ``tuple`` as ``{"__tuple__": [...]}``, a ``dict`` with string keys as a dict
  (``{"__dict__": [[key, value], ...]}`` for other keys);
* a numpy array as ``{"__ndarray__": data, "dtype": ..., "shape": [...]}``, where ``data`` is the flat
  list of its elements (non-finite floats as the strings ``"nan"``, ``"inf"``, ``"-inf"``) or, in a saved
  ``.npz`` file, the name of the array stored beside the JSON;
* a :class:`~enum.Enum` member (e.g. a :class:`~stochdepth.Status`) as ``{"__enum__": "module.Class",
  "value": ...}``;
* a result object as ``{"__result__": "module.Class", field: value, ...}``, every dataclass field in
  order; another dataclass whose fields are all data likewise as ``{"__dataclass__": ...}``;
* a sympy object as ``{"__sympy__": srepr}``;
* anything else (a problem, a solver, a callable: the inputs and machinery of a computation) as
  ``{"__object__": "module.Class", "repr": ...}``, a description that loads as ``None``.

Result classes are those of the registry that :class:`~stochdepth.Result` fills as subclasses are
defined. Classes are found again by their ``module.qualname``: first in that registry, then, for names
under ``stochdepth.``, by importing their module. Loading sets the fields directly (no ``__init__``, no
validation, nothing recomputed), so a loaded result is the saved one, number for number.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import io
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

__all__ = ["decode", "encode", "read", "register", "write", "write_atomically"]

_FORMAT = "stochdepth.result"
_VERSION = 1
_REGISTRY: dict[str, type] = {}
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _path_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register(cls: type) -> None:
    """Make ``cls`` findable by :func:`decode` under its ``module.qualname``."""
    _REGISTRY[_path_of(cls)] = cls


def _resolve(path: str) -> type:
    if path in _REGISTRY:
        return _REGISTRY[path]
    if path.startswith("stochdepth."):
        module, _, name = path.rpartition(".")
        while module:
            try:
                obj: Any = importlib.import_module(module)
            except ImportError:
                module, _, head = module.rpartition(".")
                name = f"{head}.{name}"
                continue
            for part in name.split("."):
                obj = getattr(obj, part, None)
            if isinstance(obj, type):
                return obj
            break
        if path in _REGISTRY:
            return _REGISTRY[path]
    raise ValueError(f"unknown result type {path!r} (define or import its class before loading)")


def _float(x: float) -> Any:
    if math.isfinite(x):
        return x
    return {"__float__": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


def _array(a: np.ndarray, arrays: dict[str, np.ndarray] | None) -> dict[str, Any]:
    head = {"dtype": a.dtype.str, "shape": list(a.shape)}
    if arrays is not None and a.dtype.kind != "O":
        key = f"a{len(arrays)}"
        arrays[key] = a
        return {"__ndarray__": key, **head}
    if a.dtype.kind == "O":
        return {"__ndarray__": [encode(v, arrays) for v in a.ravel().tolist()], **head}
    data = a.ravel().tolist()
    if a.dtype.kind in "fc" and not np.isfinite(a).all():
        if a.dtype.kind == "c":
            raise ValueError("complex arrays with non-finite entries cannot be encoded")
        data = [v if math.isfinite(v) else _float(v)["__float__"] for v in data]
    if a.dtype.kind == "c":
        return {"__ndarray__": [[v.real, v.imag] for v in data], **head}
    return {"__ndarray__": data, **head}


def _describes_an_object(data: Any) -> bool:
    if isinstance(data, dict):
        return "__object__" in data or any(_describes_an_object(v) for v in data.values())
    return isinstance(data, list) and any(_describes_an_object(v) for v in data)


def _fields(obj: Any, arrays: dict[str, np.ndarray] | None) -> dict[str, Any]:
    return {f.name: encode(getattr(obj, f.name), arrays) for f in dataclasses.fields(obj)}


def encode(value: Any, arrays: dict[str, np.ndarray] | None = None) -> Any:
    """The JSON form of ``value`` (see the module docstring); arrays go to ``arrays`` when given."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return {"__enum__": _path_of(type(value)), "value": encode(value.value, arrays)}
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        value = value.item()
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, np.ndarray):
        return _array(value, arrays)
    if _REGISTRY.get(_path_of(type(value))) is type(value) and dataclasses.is_dataclass(value):
        return {"__result__": _path_of(type(value)), **_fields(value, arrays)}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [encode(v, arrays) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: encode(v, arrays) for k, v in value.items()}
        return {"__dict__": [[encode(k, arrays), encode(v, arrays)] for k, v in value.items()]}
    if type(value).__module__.split(".")[0] == "sympy":
        import sympy

        # functions of the library's own (e.g. stochdepth.symbolic.CoordinateSum) are named for sympify
        own = {
            type(f).__name__: _path_of(type(f))
            for f in getattr(value, "atoms", lambda *_: ())(sympy.Function)
            if not type(f).__module__.startswith("sympy")
        }
        return {"__sympy__": sympy.srepr(value), **({"functions": own} if own else {})}
    if (
        dataclasses.is_dataclass(value)
        and not isinstance(value, type)
        and not _describes_an_object(_fields(value, None))
    ):
        return {"__dataclass__": _path_of(type(value)), **_fields(value, arrays)}
    return {"__object__": _path_of(type(value)), "repr": repr(value)}


def _decode_array(data: dict[str, Any], arrays: Any) -> np.ndarray:
    dtype, shape, payload = np.dtype(data["dtype"]), tuple(data["shape"]), data["__ndarray__"]
    if isinstance(payload, str):
        if arrays is None or payload not in arrays:
            raise ValueError(f"array {payload!r} is missing from the saved file")
        return np.asarray(arrays[payload])
    if dtype.kind == "O":
        flat = np.empty(len(payload), dtype=object)
        flat[:] = [decode(v, arrays) for v in payload]
        return flat.reshape(shape)
    if dtype.kind == "c":
        payload = [complex(re, im) for re, im in payload]
    elif dtype.kind == "f":
        payload = [_NON_FINITE[v] if isinstance(v, str) else v for v in payload]
    return np.array(payload, dtype=dtype).reshape(shape)


def _build(cls: type, fields: dict[str, Any], arrays: Any) -> Any:
    if not dataclasses.is_dataclass(cls):
        raise ValueError(f"{_path_of(cls)} is not a dataclass")
    names = {f.name for f in dataclasses.fields(cls)}
    if set(fields) != names:
        raise ValueError(
            f"saved fields of {_path_of(cls)} do not match the class: "
            f"missing {sorted(names - set(fields))}, unknown {sorted(set(fields) - names)}"
        )
    obj = object.__new__(cls)
    for name, value in fields.items():
        object.__setattr__(obj, name, decode(value, arrays))
    # nothing is recomputed, but a loaded result obeys the rule of a built one: a NaN or an infinity in
    # a float field raises NumericalError unless the class exempts the field or its status failed
    require_finite = getattr(obj, "_require_finite", None)
    if require_finite is not None:
        require_finite()
    return obj


def decode(data: Any, arrays: Any = None) -> Any:
    """The value whose JSON form (from :func:`encode`) is ``data``."""
    if isinstance(data, list):
        return [decode(v, arrays) for v in data]
    if not isinstance(data, dict):
        return data
    if "__float__" in data:
        return _NON_FINITE[data["__float__"]]
    if "__ndarray__" in data:
        return _decode_array(data, arrays)
    if "__tuple__" in data:
        return tuple(decode(v, arrays) for v in data["__tuple__"])
    if "__dict__" in data:
        return {decode(k, arrays): decode(v, arrays) for k, v in data["__dict__"]}
    if "__enum__" in data:
        cls = _resolve(data["__enum__"])
        return cls(decode(data["value"], arrays))
    for tag in ("__result__", "__dataclass__"):
        if tag in data:
            fields = {k: v for k, v in data.items() if k != tag}
            return _build(_resolve(data[tag]), fields, arrays)
    if "__sympy__" in data:
        import sympy

        names = {name: _resolve(path) for name, path in data.get("functions", {}).items()}
        return sympy.sympify(data["__sympy__"], locals=names)
    if "__object__" in data:
        return None
    return {k: decode(v, arrays) for k, v in data.items()}


def write(value: Any, path: str | os.PathLike) -> Path:
    """Save ``value`` to ``path`` atomically: plain JSON for ``.json``, else one ``.npz``.

    The ``.npz`` file holds the JSON form (arrays replaced by references) as the entry ``result`` and
    every array, bit for bit, beside it; a ``.json`` file holds the arrays as lists.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"path: folder {str(path.parent)!r} does not exist")
    as_json = path.suffix.lower() == ".json"
    arrays: dict[str, np.ndarray] | None = None if as_json else {}
    text = json.dumps(
        {"format": _FORMAT, "version": _VERSION, "result": encode(value, arrays)}, allow_nan=False
    )

    def fill(fh: BinaryIO) -> None:
        if as_json:
            fh.write(text.encode())
        else:
            np.savez(fh, result=np.array(text), **(arrays or {}))

    return write_atomically(path, fill)


def write_atomically(path: str | os.PathLike, fill: Callable[[BinaryIO], None]) -> Path:
    """Write ``path`` through ``fill(fh)``: into a temporary file beside it, flushed to disk, then renamed
    over ``path``, so that an interrupted write never leaves half a file (the temporary one is removed)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read(path: str | os.PathLike) -> Any:
    """Load what :func:`write` saved at ``path``.

    Raises
    ------
    ValueError
        If the file is missing, unreadable or not a saved stochdepth result.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"path: cannot read {str(path)!r}: {exc}") from None
    arrays: dict[str, np.ndarray] | None = None
    try:
        if raw[:2] == b"PK":
            with np.load(io.BytesIO(raw), allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            text = str(arrays.pop("result"))
        else:
            text = raw.decode()
        record = json.loads(text)
    except (ValueError, KeyError, UnicodeDecodeError, OSError) as exc:
        raise ValueError(f"path: {str(path)!r} is not a saved stochdepth result ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != _FORMAT:
        raise ValueError(f"path: {str(path)!r} is not a saved stochdepth result")
    if record.get("version") != _VERSION:
        raise ValueError(
            f"path: {str(path)!r} has format version {record.get('version')}, expected {_VERSION}"
        )
    return decode(record["result"], arrays)
