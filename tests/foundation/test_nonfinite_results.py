"""No silent non-finite numbers: results check themselves when built, and the checks name the cause."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from stochdepth import Estimate, NumericalError, Status
from stochdepth._checks import check_finite_result, check_memory, check_rng
from stochdepth._results import Result, StatusResult


@dataclass(frozen=True)
class _Plain(Result):
    value: float
    values: np.ndarray
    interval: tuple[float, float] = (0.0, 1.0)


@dataclass(frozen=True)
class _WithUndefined(Result):
    value: float
    ratio: float

    nonfinite_fields = ("ratio",)


@dataclass(frozen=True)
class _OwnPostInit(Result):
    value: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value) * 2)


@dataclass(frozen=True)
class _Solved(StatusResult):
    value: float
    status: Status = Status.OK
    message: str = ""


def test_a_result_refuses_nan_and_inf_in_any_float_field() -> None:
    _Plain(1.0, np.ones(3))
    with pytest.raises(NumericalError, match=r"_Plain.value: 1 of 1 .*1 NaN"):
        _Plain(math.nan, np.ones(3))
    with pytest.raises(NumericalError, match=r"_Plain.values: 1 of 3 .*\+inf.*overflow"):
        _Plain(1.0, np.array([1.0, math.inf, 2.0]))
    with pytest.raises(NumericalError, match=r"_Plain.interval: 2 of 2"):
        _Plain(1.0, np.ones(3), (-math.inf, math.inf))


def test_documented_nonfinite_fields_and_failed_statuses_are_allowed() -> None:
    assert math.isnan(_WithUndefined(1.0, math.nan).ratio)
    with pytest.raises(NumericalError, match=r"_WithUndefined\.value"):
        _WithUndefined(math.inf, 0.0)
    # a failed status reports the failure itself (throw=True raises ConvergenceError)
    assert math.isnan(_Solved(math.nan, Status.FAILED, "no solution").value)
    with pytest.raises(NumericalError, match=r"_Solved\.value"):
        _Solved(math.nan)


def test_a_subclass_post_init_runs_before_the_check() -> None:
    assert _OwnPostInit(1.5).value == 3.0
    with pytest.raises(NumericalError, match=r"_OwnPostInit\.value"):
        _OwnPostInit(1e308)  # doubled to inf by its own __post_init__


def test_estimate_allows_infinity_but_not_nan() -> None:
    assert Estimate(1.0, math.inf, 1).stderr == math.inf  # one sample: no standard error
    assert Estimate(math.inf, 0.0).value == math.inf  # an infinite expected depth
    with pytest.raises(NumericalError, match="Estimate"):
        Estimate(math.nan, 0.1)
    with pytest.raises(NumericalError, match="Estimate"):
        Estimate(1.0, math.nan)


def test_the_finite_check_names_the_cause() -> None:
    with pytest.raises(NumericalError, match=r"log of zero.*zero input"):
        check_finite_result("log_norms", np.array([-math.inf, 0.0]))
    with pytest.raises(NumericalError, match=r"1 NaN, 1 \+inf"):
        check_finite_result("x", np.array([math.nan, math.inf, 0.0]))


@pytest.mark.parametrize("bad", ["seed", 1.5, object(), True, [1, -2], []])
def test_check_rng_refuses_what_as_seed_sequence_refuses(bad: object) -> None:
    from stochdepth.random import as_seed_sequence

    with pytest.raises((TypeError, ValueError), match="rng") as first:
        check_rng(bad)
    with pytest.raises(first.type, match="rng"):
        as_seed_sequence(bad)


def test_check_rng_leaves_a_generator_untouched() -> None:
    gen = np.random.default_rng(5)
    state = gen.bit_generator.state
    assert check_rng(gen) is gen and gen.bit_generator.state == state
    for ok in (None, 3, np.int64(3), [1, 2], np.random.SeedSequence(1)):
        assert check_rng(ok) is ok


def test_check_memory_refuses_a_size_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOCHDEPTH_MAX_MEMORY", str(2**20))
    check_memory("width", 1000, 8, "one state")
    with pytest.raises(ValueError, match=r"width=1000000 would keep one state in memory: 7\.63 MiB, more"):
        check_memory("width", 10**6, 8, "one state")
    monkeypatch.setenv("STOCHDEPTH_MAX_MEMORY", "lots")
    with pytest.raises(ValueError, match="STOCHDEPTH_MAX_MEMORY"):
        check_memory("width", 1, 8, "one state")


def test_a_loaded_result_obeys_the_rule_of_a_built_one() -> None:
    """from_dict sets fields without rebuilding, yet applies the same finiteness rule: exempt fields
    and failed statuses come back with their NaN, a NaN written into a checked field is refused."""
    undefined = _WithUndefined(1.0, math.nan)
    back = Result.from_dict(undefined.to_dict())
    assert back.value == 1.0 and math.isnan(back.ratio)
    failed = _Solved(math.nan, Status.FAILED, "no solution")
    assert math.isnan(Result.from_dict(failed.to_dict()).value)
    data = _Plain(1.0, np.zeros(3)).to_dict()
    data["value"] = {"__float__": "nan"}
    with pytest.raises(NumericalError, match=r"_Plain\.value: 1 of 1 values are NaN"):
        Result.from_dict(data)
