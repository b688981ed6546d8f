"""Property test: every public function refuses bad input clearly, or returns finite numbers.

For each public callable of the numerical subpackages (``tests/fuzz_table.py`` holds a small valid
call of each), one argument at a time is replaced by a bad value: zero, a negative number, NaN,
infinity, an object of the wrong type, an array of the wrong shape, a huge size. The call must then

* raise ``ValueError`` or ``TypeError`` whose message names the mutated parameter, or
* raise :class:`stochdepth.NumericalError` (non-finite numbers, detected) or
  :class:`stochdepth.ConvergenceError` (a solver that reports it did not converge), or
* return normally (the mutated value was valid after all) with finite numbers: results check
  themselves when built (``Result``), plain floats and arrays are checked here;

within a budget per call: ``BUDGET_S`` seconds of wall time and ``BUDGET_BYTES`` of new address space
(a huge size must be refused before anything is allocated, not fail on the allocation). Any other
exception (``IndexError``, ``ZeroDivisionError``, ``MemoryError``, a ``SyntaxError`` from generated
code...) fails the test with the call that caused it. Sizes that cost time only (``TIME_ONLY`` and a
case's ``streams``) are not made huge: no check can refuse a long computation. ``DEFERRED`` lists the
mutations that wait for another change in progress, with the reason.

The default suite draws ``N_EXAMPLES`` of the mutations with hypothesis (derandomized by the
``default`` profile of ``tests/conftest.py``; ``HYPOTHESIS_PROFILE=thorough`` explores fresh ones);
``pytest -m slow tests/test_input_fuzz.py`` runs every mutation of every function.
"""

from __future__ import annotations

import contextlib
import math
import re
import resource
import signal
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fuzz_table import CASES, DEFERRED, EXCLUDED, PACKAGES, TIME_ONLY, Case
from hypothesis import given, settings
from hypothesis import strategies as st

from stochdepth import ConvergenceError, NumericalError

BUDGET_S = 180
BUDGET_BYTES = 2 * 2**30
N_EXAMPLES = 120
HUGE = 10**12


class _OverBudget(Exception):
    pass


def _mutations(value: Any, time_only: bool) -> list[tuple[str, Any]]:
    """The bad values tried in place of ``value`` (chosen by its kind), each with a label."""
    if isinstance(value, (bool, np.bool_)):
        return [("str", "yes"), ("int", 2)]
    if isinstance(value, (int, np.integer)):
        out = [("zero", 0), ("negative", -1), ("float", 2.5), ("nan", math.nan), ("str", "3")]
        return out if time_only else [*out, ("huge", HUGE)]
    if isinstance(value, (float, np.floating)):
        return [
            ("zero", 0.0),
            ("negative", -1.0),
            ("nan", math.nan),
            ("inf", math.inf),
            ("-inf", -math.inf),
            ("tiny", 1e-300),
            ("huge", 1e300),
            ("str", "1.0"),
        ]
    if isinstance(value, str):
        return [("unknown", "no_such_option"), ("int", 3)]
    if isinstance(value, (np.ndarray, list, tuple)) and _numeric(value):
        arr = np.asarray(value, dtype=float)
        nan, inf = arr.copy(), arr.copy()
        nan.flat[0], inf.flat[-1] = math.nan, math.inf
        return [
            ("nan", nan),
            ("inf", inf),
            ("empty", np.empty((0,) * max(arr.ndim, 1))),
            ("extra-axis", arr[None, ..., None]),
            ("negative", -arr),
            ("str", "abc"),
        ]
    if value is None:
        return [("str", "abc"), ("nan", math.nan)]
    if callable(value) and not isinstance(value, type):
        return [("str", "abc"), ("number", 1.0)]
    return [("str", "abc"), ("number", 1.0), ("object", object())]


def _numeric(value: Any) -> bool:
    try:
        arr = np.asarray(value)
    except Exception:
        return False
    return arr.dtype.kind in "iuf" and arr.size > 0


def _rng_mutations() -> list[tuple[str, Any]]:
    return [("str", "seed"), ("float", 1.5), ("object", object()), ("negative", -1)]


def all_mutations() -> list[tuple[Case, str, str, Any]]:
    """Every (case, parameter, label, bad value) of the table."""
    out = []
    for case in CASES:
        base = case.kwargs()
        for name in case.parameters():
            time_only = name in case.streams or name in TIME_ONLY
            options = _rng_mutations() if name == "rng" else _mutations(base.get(name), time_only)
            out.extend(
                (case, name, label, bad)
                for label, bad in options
                if (case.name, name, label) not in DEFERRED and (case.name, name, "*") not in DEFERRED
            )
    return out


MUTATIONS = all_mutations()


@contextlib.contextmanager
def _budget() -> Iterator[None]:
    """Wall-time alarm and an address-space limit ``BUDGET_BYTES`` above the current use."""

    def on_alarm(signum: int, frame: Any) -> None:
        raise _OverBudget(f"took more than {BUDGET_S} s")

    with open("/proc/self/statm") as fh:
        used = int(fh.read().split()[0]) * resource.getpagesize()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = used + BUDGET_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(BUDGET_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _finite_output(out: Any) -> bool:
    if isinstance(out, (float, np.floating)):
        return math.isfinite(out)
    if isinstance(out, np.ndarray) and out.dtype.kind in "fc":
        return bool(np.all(np.isfinite(out)))
    if isinstance(out, tuple):
        return all(_finite_output(v) for v in out)
    return True


def check_mutation(case: Case, name: str, label: str, bad: Any) -> None:
    """Call ``case`` with ``name`` replaced by ``bad`` and assert one of the allowed outcomes."""
    kwargs = {**case.kwargs(), name: bad}
    what = f"{case.name}({name}=<{label}: {bad!r:.60}>)"
    try:
        with _budget(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = case.fn(**kwargs)
    except (ValueError, TypeError) as exc:
        if isinstance(exc, NumericalError):  # pragma: no cover - NumericalError is an ArithmeticError
            return
        message = str(exc)
        assert re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message), (
            f"{what} raised {type(exc).__name__} without naming {name!r}: {message}"
        )
    except (NumericalError, ConvergenceError):
        return
    except _OverBudget as exc:
        pytest.fail(f"{what} {exc} (a size must be refused up front, or the count marked as streaming)")
    except MemoryError as exc:
        pytest.fail(
            f"{what} ran out of its {BUDGET_BYTES >> 30} GiB budget instead of refusing the size: {exc}"
        )
    except Exception as exc:
        pytest.fail(f"{what} raised {type(exc).__name__}: {exc}")
    else:
        if not case.nonfinite_output:
            assert _finite_output(out), f"{what} returned non-finite numbers: {out!r:.200}"


def test_every_public_name_is_fuzzed_or_excluded_with_a_reason() -> None:
    fuzzed = {case.name for case in CASES}
    assert len(fuzzed) == len(CASES), "a name appears twice in CASES"
    assert not fuzzed & set(EXCLUDED), f"both fuzzed and excluded: {sorted(fuzzed & set(EXCLUDED))}"
    public = {f"{pkg}.{n}" for pkg, mod in PACKAGES.items() for n in mod.__all__}
    missing = sorted(public - fuzzed - set(EXCLUDED))
    assert not missing, f"public names neither fuzzed nor excluded in tests/fuzz_table.py: {missing}"
    stale = sorted((fuzzed | set(EXCLUDED)) - public)
    assert not stale, f"names in tests/fuzz_table.py that are not public any more: {stale}"
    assert all(reason.strip() for reason in EXCLUDED.values())


def test_deferred_mutations_name_real_parameters() -> None:
    cases = {case.name: case for case in CASES}
    for (name, param, _), reason in DEFERRED.items():
        assert name in cases and param in cases[name].parameters() and reason.strip(), (name, param)


def test_baselines_are_valid_calls() -> None:
    for case in CASES:
        with _budget():
            case.fn(**case.kwargs())


@settings(max_examples=N_EXAMPLES)
@given(st.sampled_from(MUTATIONS))
def test_bad_input_is_refused_clearly(mutation: tuple[Case, str, str, Any]) -> None:
    check_mutation(*mutation)


@pytest.mark.slow
@pytest.mark.parametrize("mutation", MUTATIONS, ids=[f"{c.name}-{n}-{label}" for c, n, label, _ in MUTATIONS])
def test_every_mutation_is_refused_clearly(mutation: tuple[Case, str, str, Any]) -> None:
    check_mutation(*mutation)
