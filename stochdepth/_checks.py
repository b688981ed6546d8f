"""Argument validation shared by every public function.

Each checker names the offending parameter, shows the value and says what was expected, so that a
user's mistake reads as such (``ValueError: width must be an int >= 1, got 0``). Errors are
``TypeError`` for a wrong kind of object and ``ValueError`` for a wrong value.
"""

from __future__ import annotations

import functools
import numbers
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

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
    "check_rng",
    "float_errors_as_numerical",
    "memory_limit",
]


F = TypeVar("F", bound=Callable[..., Any])


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


def _positive_env(name: str, unit: str = "") -> int | None:
    """The positive int in environment variable ``name``, or ``None`` when it is unset or empty."""
    env = os.environ.get(name)
    if not env:
        return None
    try:
        value = int(env)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be a positive int{unit}, got {env!r}")
    return value


def memory_limit() -> int:
    """Bytes a run may keep in memory: ``$STOCHDEPTH_MAX_MEMORY`` (bytes) if set, else the machine's
    physical memory."""
    value = _positive_env("STOCHDEPTH_MAX_MEMORY", " (bytes)")
    if value is not None:
        return value
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return 2**34


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024:
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"


def check_memory(name: str, count: float, bytes_each: float, what: str, *, hint: str = "") -> None:
    """Refuse, before any work, a size ``name = count`` that keeps ``bytes_each`` bytes for each of
    its ``count`` items when the total exceeds :func:`memory_limit`: a ``ValueError`` naming the
    parameter and the memory needed, instead of a ``MemoryError`` (or a swapping machine) later.
    ``name`` may be a product of parameters (``"width * n_inputs"``, ``count`` their product).

    This is the one memory refusal of the library: the Monte Carlo engine
    (:func:`stochdepth.montecarlo.check_memory` is this function) and the grid solvers use it alike.

    Parameters
    ----------
    name : str
        The parameter (or product of parameters) to lower.
    count : int or float
        Its value: the number of items kept.
    bytes_each : float
        Bytes kept per item.
    what : str
        What is kept, as the message says it (``"one state"``).
    hint : str, optional
        What to change; by default "lower ``name``, or use a streaming reduction".

    Examples
    --------
    >>> from stochdepth._checks import check_memory
    >>> check_memory("width", 10**3, 8, "one state")
    >>> check_memory("width", 10**15, 8, "one state")
    Traceback (most recent call last):
    ...
    ValueError: width=1000000000000000 would keep one state in memory: 7.11 PiB, more than ...
    """
    need = float(count) * float(bytes_each)
    limit = memory_limit()
    if need > limit:
        shown = f"{count:.4g}" if isinstance(count, float) else str(count)
        advice = hint or (
            f"lower {name}, or use a streaming reduction (reduce=Moments(), Histogram() or Quantiles()) "
            "where the function offers one"
        )
        raise ValueError(
            f"{name}={shown} would keep {what} in memory: {_bytes(need)}, more than the {_bytes(limit)} "
            f"available (physical memory, or $STOCHDEPTH_MAX_MEMORY); {advice}"
        )


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


def check_rng(rng: Any, name: str = "rng") -> Any:
    """Check that ``rng`` is a valid seed without using it, and return it unchanged.

    Valid: ``None``, a non-negative int, a non-empty sequence of non-negative ints, a
    :class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator` (a ``Generator`` is not
    advanced, so a function that validates its ``rng`` up front draws the same numbers afterwards).
    :func:`stochdepth.random.as_seed_sequence` applies the same rule; functions that take an ``rng``
    they may not use (an exact solver among random ones) call this one so that a wrong seed never
    passes silently.

    Raises
    ------
    TypeError
        For another type (``bool``, ``float`` and ``str`` included).
    ValueError
        For a negative seed, or a sequence holding anything else than non-negative ints.
    """
    if rng is None or isinstance(rng, (np.random.SeedSequence, np.random.Generator)):
        return rng
    expected = "None, an int seed, a SeedSequence or a numpy Generator"
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"{name} must be {expected}, got bool {rng!r}")
    if isinstance(rng, (int, np.integer)):
        if rng < 0:
            raise ValueError(f"{name} must be a non-negative integer seed, got {rng}")
        return rng
    if isinstance(rng, Sequence) and not isinstance(rng, (str, bytes)):
        if len(rng) == 0 or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and v >= 0 for v in rng
        ):
            raise ValueError(f"{name} as a sequence must hold non-negative ints, got {_short(rng)}")
        return rng
    raise TypeError(f"{name} must be {expected}, got {type(rng).__name__} {_short(rng)}")


def check_choice(name: str, value: Any, options: Sequence[Any]) -> Any:
    """Check that ``value`` is one of ``options``."""
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {_short(value)}")
    return value


def check_finite_result(what: str, arr: Any) -> None:
    """Raise :class:`NumericalError` if ``arr`` holds NaN or infinity (never let a NaN leave silently).

    The message counts the NaN, ``+inf`` and ``-inf`` values and names their usual cause, so that the
    user reads what went wrong: ``-inf`` is the log of zero (a state that is exactly zero, such as a
    zero input), ``+inf`` an overflow (inputs or a horizon too large for float64), NaN an invalid
    operation (``0/0``, ``inf - inf``).
    """
    a = np.asarray(arr)
    if a.dtype.kind not in "fc" or np.all(np.isfinite(a)):
        return
    if a.dtype.kind == "c":
        a = np.concatenate([a.real.ravel(), a.imag.ravel()])
    counts = {
        "NaN": int(np.count_nonzero(np.isnan(a))),
        "+inf": int(np.count_nonzero(np.isposinf(a))),
        "-inf": int(np.count_nonzero(np.isneginf(a))),
    }
    causes = {
        "NaN": "an invalid operation (0/0, inf - inf, or an overflow carried on)",
        "+inf": "an overflow: numbers beyond float64 (inputs scaled too large, or a horizon or a step "
        "too large for them; a log-domain observable avoids it)",
        "-inf": "the log of zero (a state that is exactly zero, e.g. a zero input) or an overflow to -inf",
    }
    found = [f"{n} {kind}" for kind, n in counts.items() if n]
    why = "; ".join(causes[kind] for kind, n in counts.items() if n)
    bad = sum(counts.values())
    raise NumericalError(
        f"{what}: {bad} of {a.size} values are NaN or infinite ({', '.join(found)}); cause: {why}"
    )


def float_errors_as_numerical(fn: F) -> F:
    """Decorate a closed-form function so that float arithmetic failing on valid-looking arguments
    (``ZeroDivisionError``, ``OverflowError``, ``math domain error`` from a log or a square root of an
    overflowed or underflowed value) raises :class:`NumericalError` naming the function and its
    arguments, instead of an error about a line of its code.

    Argument errors (``ValueError``/``TypeError`` raised by the checks, before the arithmetic) pass
    through unchanged.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NumericalError:
            raise
        except (ArithmeticError, ValueError) as exc:
            if isinstance(exc, ValueError) and str(exc) != "math domain error":
                raise
            shown = ", ".join([*map(_short, args), *(f"{k}={_short(v)}" for k, v in kwargs.items())])
            raise NumericalError(
                f"{fn.__name__}({shown}): float64 arithmetic failed ({type(exc).__name__}: {exc}); an "
                "argument is too large or too small for the closed form"
            ) from exc

    return wrapper  # type: ignore[return-value]
