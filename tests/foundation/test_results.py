"""Tests of stochdepth._results: the estimate with its uncertainty, and the readable repr of results."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest
from scipy import stats

from stochdepth import Estimate, NumericalError
from stochdepth._results import Result


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
