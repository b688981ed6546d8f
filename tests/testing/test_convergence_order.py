"""Fitted convergence orders (stochdepth.testing.convergence): the order of an error sequence, its
interval, and the rejection of errors that do not vanish."""

from __future__ import annotations

import numpy as np
import pytest

from stochdepth.testing.convergence import RATE_BAND, fitted_order


def test_order_of_a_power_law_with_wobble():
    h = 0.2 / 2.0 ** np.arange(6)
    wobble = 1 + 0.1 * np.array([1, -1, 0.5, -0.5, 1, -1])
    fit = fitted_order(h, 0.7 * h**1.0 * wobble)
    assert fit.interval[0] < fit.order < fit.interval[1]
    assert abs(fit.order - 1.0) < 0.1 and fit.agrees(1.0) and not fit.agrees(2.0)
    assert fit.constant == pytest.approx(0.7, rel=0.3)
    assert "order" in fit.describe()


def test_an_error_that_does_not_vanish_has_no_order():
    h = 0.2 / 2.0 ** np.arange(6)
    offset = 1e-2 + 0.5 * h**2  # a wrong limit: the error tends to 1e-2 (resolved by the finer steps)
    fit = fitted_order(h, offset)
    assert not fit.agrees(2.0) and not fit.agrees(1.0)


def test_the_band_allows_pre_asymptotic_curvature_only():
    h = 0.2 / 2.0 ** np.arange(5)
    fit = fitted_order(h, h**1.2)  # exactly 1.2: zero-width interval
    assert fit.stderr == pytest.approx(0.0, abs=1e-12)
    assert fit.agrees(1.2 - RATE_BAND + 0.01) and not fit.agrees(1.2 + RATE_BAND + 0.01)


@pytest.mark.parametrize(
    ("steps", "errors", "match"),
    [
        ([0.1, 0.05], [1.0, 0.5], "length >= 3"),
        ([0.1, 0.05, 0.02], [1.0, 0.5], "same length"),
        ([0.1, -0.05, 0.02], [1.0, 0.5, 0.2], "steps"),
        ([0.1, 0.05, 0.02], [1.0, 0.0, 0.2], "errors"),
        ([0.1, 0.05, 0.02], [1.0, np.nan, 0.2], "errors"),
    ],
)
def test_bad_input(steps, errors, match):
    with pytest.raises(ValueError, match=match):
        fitted_order(steps, errors)
    with pytest.raises(ValueError, match="level"):
        fitted_order([0.1, 0.05, 0.02], [1.0, 0.5, 0.2], level=1.0)
