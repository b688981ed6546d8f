"""Argument validation shared by every public function.

Each checker names the offending parameter, shows the value and says what was expected, so that a
user's mistake reads as such (``ValueError: width must be an int >= 1, got 0``). Errors are
``TypeError`` for a wrong kind of object and ``ValueError`` for a wrong value.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "NumericalError",
    "check_array",
    "check_bool",
    "check_choice",
    "check_finite_result",
    "check_int",
    "check_memory",
    "check_real",
    "check_record",
]


class NumericalError(ArithmeticError):
    """A computation produced NaN or infinity where a finite number was required."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a bool; a ``TypeError`` naming ``name`` unless it is a Python or numpy bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def check_int(name: str, value: Any, *, min: int | None = None, max: int | None = None) -> int:
    """Return ``value`` as ``int``; reject bools, floats and out-of-range values."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {_short(value)}")
    value = int(value)
    if min is not None and value < min:
        raise ValueError(f"{name} must be an int >= {min}, got {value}")
    if max is not None and value > max:
        raise ValueError(f"{name} must be an int <= {max}, got {value}")
    return value


def check_real(
    name: str,
    value: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    finite: bool = True,
) -> float:
    """Return ``value`` as ``float`` after checking it is a real number in the stated interval."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {_short(value)}")
    value = float(value)
    if np.isnan(value) or (finite and not np.isfinite(value)):
        raise ValueError(f"{name} must be finite, got {value}")
    if lo is not None and (value < lo or (lo_open and value == lo)):
        op = ">" if lo_open else ">="
        raise ValueError(f"{name} must be {op} {lo}, got {value}")
    if hi is not None and (value > hi or (hi_open and value == hi)):
        op = "<" if hi_open else "<="
        raise ValueError(f"{name} must be {op} {hi}, got {value}")
    return value


def check_array(
    name: str,
    value: Any,
    *,
    ndim: int | Sequence[int] | None = None,
    shape: Sequence[int | None] | None = None,
    finite: bool = True,
    dtype: Any = np.float64,
    min_size: int = 0,
) -> np.ndarray:
    """Convert ``value`` to an array of ``dtype`` and check its dimension, shape and finiteness.

    ``shape`` may contain ``None`` for free axes. Complex or non-numeric input raises ``TypeError``.
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - numpy raises many kinds here
        raise TypeError(f"{name} must be array-like, got {type(value).__name__}") from exc
    if arr.dtype == object or arr.dtype.kind in "USV" or np.iscomplexobj(arr):
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if dtype is not None:
        arr = np.asarray(arr, dtype=dtype)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must have {want} dimension(s), got shape {arr.shape}")
    if shape is not None and (
        arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape))
    ):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} must hold at least {min_size} value(s), got {arr.size}")
    if finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} must be finite, got {bad} non-finite value(s)")
    return arr


def check_record(
    record: Any,
    last: int,
    *,
    default: Sequence[int],
    index: str = "step",
    last_name: str = "n_steps",
) -> np.ndarray:
    """Normalise a ``record=`` argument: the step (or layer) indices at which a simulator keeps states.

    The same rule for every simulator of the library: ``None`` gives ``default``; otherwise an int, or a
    1-d sequence of ints (integer-valued floats accepted, bools refused), each in ``[0, last]``. The
    indices are returned sorted, without duplicates, as a contiguous ``int64`` array.

    Parameters
    ----------
    record : None, int or sequence of int
        The user's argument.
    last : int
        The largest valid index (the number of steps, or the depth).
    default : sequence of int
        Indices used when ``record`` is None.
    index, last_name : str
        Words of the error messages: ``"record must hold step indices in [0, n_steps] = [0, 10]"``.
    """
    if record is None:
        return np.unique(np.asarray(default, dtype=np.int64))
    arr = np.asarray(record)
    if arr.ndim > 1 or arr.size == 0:
        raise ValueError(
            f"record must be an int or a non-empty 1-d sequence of {index} indices, got shape {arr.shape}"
        )
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"record must hold integer {index} indices, got {_short(record)} (dtype {arr.dtype})")
    arr = arr.astype(np.int64).ravel()
    if arr.min() < 0 or arr.max() > last:
        raise ValueError(
            f"record must hold {index} indices in [0, {last_name}] = [0, {last}], "
            f"got values in [{arr.min()}, {arr.max()}]"
        )
    return np.unique(arr)


def check_choice(name: str, value: Any, options: Sequence[Any]) -> Any:
    """Check that ``value`` is one of ``options``."""
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {_short(value)}")
    return value


def check_finite_result(what: str, arr: Any) -> None:
    """Raise :class:`NumericalError` if ``arr`` holds NaN or infinity (never let a NaN leave silently)."""
    a = np.asarray(arr)
    if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
        bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        raise NumericalError(
            f"{what}: {bad} of {a.size} values are NaN or infinite (overflow or an invalid operation; "
            "reduce the horizon or the step, or use a log-domain observable)"
        )


def memory_limit() -> int:
    """Largest allocation a single call may plan for: half the physical memory of this machine (bytes)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 * 2**30


def check_memory(what: str, n_bytes: float, hint: str = "") -> None:
    """Refuse, before any work, a computation that would need more than :func:`memory_limit` bytes.

    Raises :class:`MemoryError` stating the memory it would need and what to change.
    """
    limit = memory_limit()
    if not n_bytes <= limit:
        raise MemoryError(
            f"{what} would need about {n_bytes / 2**30:.3g} GiB, more than the {limit / 2**30:.3g} GiB "
            f"allowed (half this machine's memory){'; ' + hint if hint else ''}"
        )
