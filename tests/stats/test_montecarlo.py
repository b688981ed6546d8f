"""Monte Carlo means, batch means and ratio estimates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from stochdepth import Estimate
from stochdepth.random import as_generator
from stochdepth.stats import MeanEstimate, mc_mean, mc_ratio


def test_iid_mean_matches_definition(seed):
    x = as_generator(seed).exponential(size=500)
    est = mc_mean(x, level=0.9)
    assert isinstance(est, Estimate) and isinstance(est, MeanEstimate)
    assert est.value == pytest.approx(x.mean(), rel=1e-14)
    assert est.stderr == pytest.approx(x.std(ddof=1) / math.sqrt(500), rel=1e-14)
    q = stats.t.ppf(0.95, 499)
    assert est.interval == pytest.approx((est.value - q * est.stderr, est.value + q * est.stderr))
    assert est.n == 500 and est.dof == 499 and est.method == "iid" and est.level == 0.9
    assert "MeanEstimate(" in repr(est)


def test_t_interval_coverage(seed):
    """Normal samples of size 8: the Student-t interval is exact, so its coverage over 2000 replications
    is within 5 binomial standard errors of 0.95 (a normal-quantile interval would cover only ~0.92)."""
    gen = as_generator(seed)
    reps = 2000
    hits = 0
    for _ in range(reps):
        lo, hi = mc_mean(gen.normal(3.0, 2.0, size=8)).interval
        hits += lo <= 3.0 <= hi
    assert abs(hits / reps - 0.95) <= 5 * math.sqrt(0.95 * 0.05 / reps)


def test_batch_means_on_ar1(seed):
    """AR(1), X_t = phi X_{t-1} + e_t with unit innovations: the variance of the mean is
    sigma^2 / ((1 - phi)^2 n) asymptotically. Batch means with a = n/b batches estimate it with relative
    standard error sqrt(2/(a-1)) (chi-square with a - 1 dof) and relative bias about
    -2 phi / ((1 - phi^2) b) (below 0.01 here). The iid formula is off by sqrt((1 - phi)/(1 + phi))."""
    gen = as_generator(seed)
    phi, n = 0.6, 160_000
    e = gen.standard_normal(n)
    x = np.empty(n)
    x[0] = e[0] / math.sqrt(1 - phi**2)  # stationary start
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    true_se = 1.0 / ((1 - phi) * math.sqrt(n))
    bm = mc_mean(x, batch_size=None)  # b = 400, a = 400
    assert bm.batch_size == 400 and bm.dof == 399 and bm.method == "batch-means"
    rel = math.sqrt(2 / 399)
    assert abs(bm.stderr / true_se - 1) <= 5 * rel + 0.01
    iid = mc_mean(x)
    assert iid.stderr / true_se == pytest.approx(math.sqrt((1 - phi) / (1 + phi)), rel=5 * rel)
    assert mc_mean(x, batch_size=1000).batch_size == 1000


def test_ratio_delta_method(seed):
    """E[X | X > 0] = sqrt(2/pi) for standard normal X; the delta-method stderr against the spread of
    300 replicated ratios (relative standard error of a sample SD of 300 values: 1/sqrt(598) = 0.041)."""
    gen = as_generator(seed)
    vals, ses = [], []
    for _ in range(300):
        x = gen.normal(size=2000)
        alive = (x > 0).astype(float)
        est = mc_ratio(x * alive, alive)
        vals.append(est.value)
        ses.append(est.stderr)
    assert abs(np.mean(vals) - math.sqrt(2 / math.pi)) <= 5 * np.mean(ses) / math.sqrt(300)
    assert abs(np.std(vals, ddof=1) / np.mean(ses) - 1) <= 5 / math.sqrt(598)
    assert est.method == "delta" and est.dof == 1999


def test_validation():
    with pytest.raises(ValueError, match="at least 2"):
        mc_mean([1.0])
    with pytest.raises(ValueError, match="finite"):
        mc_mean([1.0, np.inf])
    with pytest.raises(ValueError, match="level"):
        mc_mean([1.0, 2.0], level=1.5)
    with pytest.raises(ValueError, match="batch_size"):
        mc_mean(np.arange(10.0), batch_size=0)
    with pytest.raises(ValueError, match="2 batches"):
        mc_mean(np.arange(10.0), batch_size=6)
    with pytest.raises(ValueError, match="shape"):
        mc_ratio([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="mean 0"):
        mc_ratio([1.0, 2.0], [1.0, -1.0])
