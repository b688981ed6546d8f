"""Weak-error rate fits on synthetic data E_N = E + C/N + noise (rate 1), with a reference, from
differences of independent levels, and from coupled level differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from stochdepth import Estimate, Status
from stochdepth.random import as_generator
from stochdepth.stats import WeakErrorFit, mc_mean, weak_error_fit, weak_error_fit_differences

STEPS = np.array([4, 8, 16, 32, 64, 128])
E_INF, C = 1.0, 2.0


def _synthetic(gen, mode, s, **kw):
    """One synthetic data set and its fit. ``s`` is the Monte Carlo standard error of every estimate."""
    if mode == "coupled":
        d = C * (1.0 / STEPS[:-1] - 1.0 / STEPS[1:])
        se = np.full(d.size, s)
        return weak_error_fit_differences(STEPS, list(zip(d + se * gen.standard_normal(d.size), se)), **kw)
    se = np.full(STEPS.size, s)
    values = E_INF + C / STEPS + se * gen.standard_normal(STEPS.size)
    if mode == "reference":
        return weak_error_fit(STEPS, [Estimate(v, e) for v, e in zip(values, se)], reference=E_INF, **kw)
    if mode == "noisy-reference":
        ref = Estimate(E_INF + s * gen.standard_normal(), s)
        return weak_error_fit(STEPS, list(zip(values, se)), reference=ref, **kw)
    return weak_error_fit(STEPS, list(zip(values, se)), **kw)


MODES = ["reference", "noisy-reference", "differences", "coupled"]


def _coverage_ok(hits: int, reps: int, level: float = 0.95) -> bool:
    """Exact two-sided binomial test of a coverage rate at family level 1e-6 (with 300 replications the
    5-standard-error normal band would be a 9e-6 false alarm: the binomial is skewed). At 300
    replications it accepts 263 to 299 hits."""
    return min(stats.binom.cdf(hits, reps, level), stats.binom.sf(hits - 1, reps, level)) > 5e-7


@pytest.mark.parametrize("mode", MODES)
def test_true_rate_inside_wide_interval(seed, mode):
    """At level 1 - 1e-6 the interval misses the true rate with probability ~1e-6 if it is calibrated
    (the calibration itself is checked below)."""
    fit = _synthetic(as_generator(seed), mode, 5e-4, level=1 - 1e-6)
    assert fit.status in (
        Status.OK,
        Status.POOR_FIT,
    )  # every level resolved (z > 20); poor_fit has probability 1e-3
    lo, hi = fit.rate_ci
    assert lo <= 1.0 <= hi
    # the interval is the normal one: half-width = z_{1 - 0.5e-6} * stderr = 4.8916 * stderr
    assert (hi - lo) / 2 == pytest.approx(4.8916 * fit.rate_stderr, rel=1e-4)


def test_interval_width_matches_oracle(seed):
    """The reported standard error against the oracle one, the GLS standard error with the *true*
    magnitudes e_N = C/N in the delta-method weights: se_oracle^2 = [(X^T W X)^{-1}]_{pp},
    W = diag(e_N^2 / s^2). The fitted magnitudes differ from the true ones by at most about 5 standard
    errors of the fitted log-magnitude (< 0.03 here, relative noise <= 0.064 at the finest level), so the
    ratio lies within [0.85, 1.18]; [0.8, 1.25] is used."""
    s = 1e-3
    fit = _synthetic(as_generator(seed), "reference", s)
    x = np.column_stack([np.ones(STEPS.size), -np.log(STEPS)])
    w = (C / STEPS) ** 2 / s**2
    oracle = math.sqrt(np.linalg.inv(x.T @ (w[:, None] * x))[1, 1])
    assert 0.8 <= fit.rate_stderr / oracle <= 1.25
    assert fit.rate_ci[1] - fit.rate_ci[0] == pytest.approx(2 * 1.959964 * fit.rate_stderr, rel=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_interval_coverage(seed, mode):
    """300 replications with relative noise up to 1/3 at the finest levels (some levels unresolved and
    left out): the 95% interval covers the true rate 1 at a rate compatible with 0.95 (exact binomial
    test at 1e-6), and the reported standard error matches the spread of the fitted rates (the sample
    SD of 300 values has a relative standard error 1/sqrt(2 * 299) = 0.041; band 5 x 0.041 = 0.2)."""
    gen = as_generator(seed)
    reps = 300
    rates, ses, cover = [], [], 0
    for _ in range(reps):
        fit = _synthetic(gen, mode, 2e-3)
        assert not math.isnan(fit.rate)
        cover += fit.rate_ci[0] <= 1.0 <= fit.rate_ci[1]
        rates.append(fit.rate)
        ses.append(fit.rate_stderr)
    assert _coverage_ok(cover, reps), cover
    assert abs(np.std(rates, ddof=1) / np.mean(ses) - 1.0) <= 0.2


@pytest.mark.parametrize("mode", ["reference", "differences"])
def test_correlated_levels_with_covariance(seed, mode):
    """Levels computed from shared paths: estimate_k = E + C/N_k + a z_0 + b z_k (common component a),
    covariance S = a^2 11^T + b^2 I passed to the fit. 300 replications: the 95% interval covers the
    true rate at a rate compatible with 0.95 (exact binomial test at 1e-6). Without the covariance the
    differences of consecutive levels would be given a variance 2(a^2 + b^2) instead of 2 b^2: the common
    component cancels in differences, and the covariance-aware interval is correspondingly narrower."""
    gen = as_generator(seed)
    a, b = 2e-3, 5e-4
    k = STEPS.size
    cov = a**2 * np.ones((k, k)) + b**2 * np.eye(k)
    se = np.sqrt(np.diag(cov))
    reps, cover = 300, 0
    kw = {"reference": E_INF} if mode == "reference" else {}
    for _ in range(reps):
        values = E_INF + C / STEPS + a * gen.standard_normal() + b * gen.standard_normal(k)
        fit = weak_error_fit(STEPS, list(zip(values, se)), covariance=cov, **kw)
        cover += fit.rate_ci[0] <= 1.0 <= fit.rate_ci[1]
    assert _coverage_ok(cover, reps), cover
    if mode == "differences":
        naive = weak_error_fit(STEPS, list(zip(values, se)))
        assert fit.rate_stderr < 0.5 * naive.rate_stderr
        np.testing.assert_allclose(fit.errors_stderr, b * math.sqrt(2), rtol=1e-12)


def test_recovers_constants(seed):
    """Reference mode: C = 2; coupled differences with ratio 2: C' = C (1 - 1/2) = 1; independent-level
    differences estimate the same C'. Each within 5 of its standard errors."""
    gen = as_generator(seed)
    fit = _synthetic(gen, "reference", 2e-4)
    assert abs(math.log(fit.constant / C)) <= 5 * math.log(fit.constant_ci[1] / fit.constant) / 1.959964
    for mode in ("coupled", "differences"):
        fit = _synthetic(gen, mode, 2e-4)
        assert fit.kind == "differences"
        np.testing.assert_array_equal(fit.steps, STEPS[:-1])
        assert (
            abs(math.log(fit.constant / (C / 2)))
            <= 5 * math.log(fit.constant_ci[1] / fit.constant) / 1.959964
        )
    pred = fit.predict(STEPS[:-1])
    assert pred == pytest.approx(fit.constant * STEPS[:-1] ** (-fit.rate))


def test_exact_data_fit_exactly():
    """Noise-free values on the model: the fit is exact whatever the (positive) stderrs."""
    values = E_INF + C / STEPS
    fit = weak_error_fit(STEPS, [(v, 1e-6) for v in values], reference=E_INF)
    assert fit.rate == pytest.approx(1.0, abs=1e-12)
    assert fit.constant == pytest.approx(C, rel=1e-12)
    assert fit.chi2 == pytest.approx(0.0, abs=1e-12) and fit.status is Status.OK
    det = weak_error_fit(STEPS, [(v, 0.0) for v in values], reference=E_INF)
    assert det.status is Status.DETERMINISTIC and det.success and det.rate == pytest.approx(1.0, abs=1e-12)
    assert det.rate_ci == (det.rate, det.rate) and math.isnan(det.chi2)
    two = weak_error_fit(STEPS[:2], [(v, 1e-3) for v in values[:2]], reference=E_INF)
    assert two.dof == 0 and two.status is Status.OK and "cannot be checked" in two.message


def test_unresolved_levels_are_flagged_and_left_out():
    """Errors C/N with stderr chosen so that the two finest levels sit at 2 and 1 standard errors."""
    values = E_INF + C / STEPS
    se = np.full(STEPS.size, 1e-4)
    se[-2] = (C / STEPS[-2]) / 2.0
    se[-1] = C / STEPS[-1]
    fit = weak_error_fit(STEPS, list(zip(values, se)), reference=E_INF)
    assert fit.status is Status.UNRESOLVED and not fit.success
    assert fit.resolved.tolist() == [True, True, True, True, False, False]
    assert "64" in fit.message and "128" in fit.message
    assert fit.rate == pytest.approx(1.0, abs=1e-12)  # the four resolved levels are exact
    # only one resolved level: no rate at all, reported in the status (not a silent NaN)
    se_all = C / STEPS  # every error at 1 standard error
    se_all[0] = 1e-4
    none = weak_error_fit(STEPS, list(zip(values, se_all)), reference=E_INF)
    assert none.status is Status.UNRESOLVED and math.isnan(none.rate) and "no rate" in none.message
    # a threshold of 0 resolves everything that is not exactly 0
    assert weak_error_fit(STEPS, list(zip(values, se)), reference=E_INF, z_resolve=0.0).status is Status.OK


def test_poor_fit_is_flagged():
    """E_N = E + 1/N + 5/N^2 with tiny errors: no single power law fits the coarse levels."""
    steps = np.array([2, 4, 8, 16, 32])
    values = 1.0 + 1.0 / steps + 5.0 / steps**2
    fit = weak_error_fit(steps, [(v, 1e-7) for v in values], reference=1.0)
    assert fit.status is Status.POOR_FIT and fit.chi2_pvalue < 1e-3 and "drop" in fit.message
    assert fit.rate > 1.0  # the 1/N^2 term steepens the coarse part


def test_accepts_mc_mean_estimates(seed):
    gen = as_generator(seed)
    ests = [mc_mean(E_INF + C / n + 0.01 * gen.standard_normal(4000)) for n in STEPS[:4]]
    fit = weak_error_fit(STEPS[:4], ests, reference=E_INF)
    assert isinstance(fit, WeakErrorFit)
    assert fit.errors_stderr == pytest.approx([e.stderr for e in ests])
    assert "WeakErrorFit(" in repr(fit)


def test_input_validation():
    good = [(1.5, 0.01), (1.25, 0.01), (1.125, 0.01)]
    with pytest.raises(ValueError, match="strictly increasing"):
        weak_error_fit([4, 4, 8], good, reference=1.0)
    with pytest.raises(ValueError, match="positive"):
        weak_error_fit([0, 4, 8], good, reference=1.0)
    with pytest.raises(ValueError, match="one entry per step"):
        weak_error_fit([4, 8], good, reference=1.0)
    with pytest.raises(ValueError, match="geometric"):
        weak_error_fit([4, 8, 12], good)
    with pytest.raises(ValueError, match="at least 3"):
        weak_error_fit([4, 8], good[:2])
    with pytest.raises(ValueError, match="level"):
        weak_error_fit([4, 8, 16], good, reference=1.0, level=1.0)
    with pytest.raises(ValueError, match=">= 0"):
        weak_error_fit([4, 8, 16], [(1.5, -0.01), (1.25, 0.01), (1.1, 0.01)], reference=1.0)
    with pytest.raises(TypeError, match="pair"):
        weak_error_fit([4, 8, 16], [1.5, 1.25, 1.1], reference=1.0)
    with pytest.raises(TypeError, match="single Estimate"):
        weak_error_fit([4, 8, 16], Estimate(1.0, 0.1), reference=1.0)
    with pytest.raises(ValueError, match="finite"):
        weak_error_fit([4, 8, 16], [(np.nan, 0.1)] * 3, reference=1.0)
    with pytest.raises(ValueError, match="finite"):
        weak_error_fit([4, 8, 16], good, reference=math.inf)
    with pytest.raises(ValueError, match="len\\(steps\\) - 1"):
        weak_error_fit_differences([4, 8, 16], good)
    with pytest.raises(ValueError, match="diagonal of covariance"):
        weak_error_fit([4, 8, 16], good, reference=1.0, covariance=np.eye(3))
    with pytest.raises(ValueError, match="shape"):
        weak_error_fit([4, 8, 16], good, reference=1.0, covariance=np.eye(2) * 1e-4)
    with pytest.raises(ValueError, match="symmetric"):
        weak_error_fit([4, 8, 16], good, covariance=np.diag([1e-4] * 3) + np.triu(np.ones((3, 3)), 1) * 1e-5)
    with pytest.raises(ValueError, match="semi-definite"):
        weak_error_fit_differences([4, 8, 16], good[:2], covariance=[[1e-4, 2e-4], [2e-4, 1e-4]])
    with pytest.raises(ValueError, match="singular"):
        weak_error_fit([4, 8, 16], [(1.5, 0.0), (1.25, 0.0), (1.125, 0.0)], reference=Estimate(1.0, 0.01))


@pytest.mark.parametrize("reference", [1e300, -1e300, 1e160])
def test_a_reference_that_dwarfs_the_estimates_is_named(reference: float) -> None:
    """Errors 1e160 times their stderrs square out of float64 in the delta method (formerly reported as
    a singular covariance, without naming reference); a reference 1e140 away still fits."""
    est = [(1.25, 0.01), (1.125, 0.01), (1.0625, 0.01)]
    with pytest.raises(
        ValueError, match=r"errors set by reference=.* more than 1e\+150 times their standard"
    ):
        weak_error_fit([4, 8, 16], est, reference=reference)
    with pytest.raises(ValueError, match=r"errors set by estimates .*standard errors on the scale"):
        weak_error_fit([4, 8, 16], [(1e300, 1e-10), (1.0, 1e-10), (0.5, 1e-10)])
    with pytest.raises(ValueError, match=r"errors set by differences "):
        weak_error_fit_differences([4, 8, 16], [(1e300, 1e-10), (1.0, 1e-10)])
    assert math.isfinite(weak_error_fit([4, 8, 16], est, reference=1e140).rate)
