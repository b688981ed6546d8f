"""Tests of stochdepth._results: the estimate with its uncertainty, and the readable repr of results."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest
from scipy import stats

from stochdepth import ConvergenceError, Estimate, NumericalError, Status
from stochdepth._results import Result, StatusResult, check_status


@pytest.mark.parametrize("level", [0.5, 0.9, 0.95, 0.99, 1 - 1e-9])
def test_confidence_interval_uses_the_normal_quantile(level):
    est = Estimate(1.5, 0.2, 100)
    lo, hi = est.ci(level)
    z = stats.norm.ppf(0.5 + level / 2)  # the reference quantile (scipy), to double precision
    assert hi - 1.5 == pytest.approx(z * 0.2, rel=1e-14) and 1.5 - lo == pytest.approx(z * 0.2, rel=1e-14)


@pytest.mark.parametrize("level", [0.0, 1.0, -0.1, math.nan])
def test_confidence_interval_bad_level(level):
    with pytest.raises(ValueError, match="level must be"):
        Estimate(0.0, 1.0).ci(level)


def test_z_score():
    assert Estimate(1.0, 0.5).z_score(0.0) == 2.0
    assert Estimate(1.0, 0.0).z_score(1.0) == 0.0
    assert Estimate(1.0, 0.0).z_score(2.0) == -math.inf


def test_from_samples(seed):
    x = np.random.default_rng(seed).normal(size=400)
    est = Estimate.from_samples(x)
    assert est.value == pytest.approx(x.mean(), rel=1e-14) and est.n == 400
    assert est.stderr == pytest.approx(x.std(ddof=1) / 20.0, rel=1e-14)
    assert Estimate.from_samples([3.0]).stderr == math.inf
    with pytest.raises(ValueError, match="empty"):
        Estimate.from_samples([])
    with pytest.raises(NumericalError, match="samples"):
        Estimate.from_samples([1.0, np.nan])


def test_result_repr_summarises_fields():
    @dataclass(frozen=True)
    class Demo(Result):
        big: np.ndarray
        small: np.ndarray
        value: float
        hidden: int = field(default=0, repr=False)

    text = repr(Demo(np.zeros((10, 3)), np.arange(3.0), 1.0 / 3.0))
    assert text.startswith("Demo(\n") and "hidden" not in text
    assert "big = array(shape=(10, 3), dtype=float64)" in text
    assert "value = 0.333333" in text and "small = [0., 1., 2.]" in text
    assert repr(Estimate(1.0, 0.01, 5)) == "Estimate(1 ± 0.01, n=5)"


@dataclass(frozen=True, repr=False)
class _Solved(StatusResult):
    value: float
    status: Status
    message: str = ""


def test_status_success_and_values():
    """The successes are exactly the members that mean "done as asked"; values are the old strings."""
    ok = {
        "optimal",
        "certified",
        "converged",
        "ok",
        "exact",
        "upper_bound",
        "deterministic",
        "approximate",
        "ill_conditioned",
    }
    assert {s.value for s in Status if s.success} == ok
    assert Status("max_iterations") is Status.MAX_ITERATIONS and not Status.MAX_ITERATIONS.success
    assert _Solved(1.0, Status.CERTIFIED).success and not _Solved(1.0, Status.FAILED).success
    assert "status = Status.CERTIFIED" in repr(_Solved(1.0, Status.CERTIFIED))


def test_check_status_raises_a_convergence_error_naming_what_failed():
    bad = _Solved(2.0, Status.MAX_ITERATIONS, "cap of 3 reached")
    assert check_status(bad, "my solver", throw=False) is bad
    good = _Solved(2.0, Status.OK)
    assert check_status(good, "my solver", throw=True) is good
    with pytest.raises(ConvergenceError, match=r"my solver: MAX_ITERATIONS \(cap of 3 reached\)") as err:
        check_status(bad, "my solver", throw=True)
    assert err.value.result is bad and err.value.status is Status.MAX_ITERATIONS
    assert isinstance(err.value, RuntimeError) and not isinstance(err.value, ArithmeticError)
