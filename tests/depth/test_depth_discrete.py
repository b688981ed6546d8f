"""The B6 bridge, discrete side: the finite-depth linear ResNet's optimal depth against the closed forms.

Closed forms (docs/science.md §B6): for width n >= 3, m = 1/2 - 1/n, s = 1/sqrt(n), gain -(y - a)^2, cost c
per
unit depth: threshold y* = a - c / (2m), value V(y0) = g(y*) - (c/m)(y* - y0), depth ~ IG((y* - y0)/m,
(y* - y0)^2 / s^2). Expected finite-L behaviour (derived):

* threshold: a discretely monitored boundary sits lower by beta s sqrt(h), beta = -zeta(1/2)/sqrt(2 pi)
  = 0.5826 (the continuity correction of Broadie, Glasserman & Kou, Math. Finance 7 (1997) 325-349), so
  (y* - y*_L) sqrt(L) / s -> 0.5826: rate L^{-1/2};
* E tau*: by Wald, h E tau* = (E y_tau - y0)/m_L, and for the quadratic gain the optimal threshold puts
  E y_tau = a - c/(2 m_L) (the overshoot law does not depend on the threshold), so for Gaussian
  increments with the limit's m the expected depth is exact up to the grid (<< L^{-1/2}); for the exact
  law, m_L = m + O(1/L) gives an O(1/L) error;
* value: the O(sqrt h) threshold shift costs O(h) (first-order optimality): rate L^{-1}.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from stochdepth.depth import linear_resnet_stopping_problem, log_norm_bridge
from stochdepth.stopping import ValueIteration

BETA = 0.5825971579390106  # -zeta(1/2) / sqrt(2 pi)
A, C = 1.0, 0.1


def _gauss(n: int, L: int) -> stats.rv_continuous:
    return stats.norm((0.5 - 1 / n) / L, 1 / math.sqrt(n * L))


def _slope(L: list[int], err: list[float]) -> float:
    return float(np.polyfit(np.log(L), np.log(err), 1)[0])


def test_gaussian_walk_converges_at_the_predicted_rates() -> None:
    """n = 4, Gaussian increments with the limit's drift and variance, L = 16, 64, 256: threshold error
    slope -1/2 (+-0.1) with constant -> BETA s (within 0.03 at L = 256); value error slope -1 (+-0.15);
    |h E tau* - (y* - y0)/m| < 2e-3 at every L; certified solver error < 1% of the value error."""
    Ls = [16, 64, 256]
    res = [log_norm_bridge(4, L, A, C, increment=_gauss(4, L), points_per_sd=8, law=False) for L in Ls]
    thr_err = [r.threshold_limit - r.threshold for r in res]
    val_err = [r.value_limit - r.value for r in res]
    assert all(e > 0 for e in thr_err)
    assert _slope(Ls, thr_err) == pytest.approx(-0.5, abs=0.1)
    assert thr_err[-1] * math.sqrt(256) / 0.5 == pytest.approx(BETA, abs=0.03)
    assert _slope(Ls, np.abs(val_err)) == pytest.approx(-1.0, abs=0.15)
    for r, e in zip(res, val_err):
        assert abs(r.expected_depth - r.expected_depth_limit) < 2e-3
        assert r.error_bound < 0.01 * abs(e)  # the chain is solved far more accurately than the effect


def test_exact_law_converges() -> None:
    """The exact finite-L walk (law from stochdepth.limits): the threshold approaches y* at rate L^{-1/2}
    and E tau* at rate L^{-1} (slopes within 0.15), for n = 3 and n = 16."""
    Ls = [16, 64, 256]
    for n in (3, 16):
        res = [log_norm_bridge(n, L, A, C, points_per_sd=8, law=False) for L in Ls]
        thr_err = [r.threshold_limit - r.threshold for r in res]
        dep_err = [abs(r.expected_depth - r.expected_depth_limit) for r in res]
        assert _slope(Ls, thr_err) == pytest.approx(-0.5, abs=0.15)
        assert _slope(Ls, dep_err) == pytest.approx(-1.0, abs=0.3)


def test_depth_law_approaches_inverse_gaussian() -> None:
    """Kolmogorov distance between the discrete law of h tau* and IG((y*-y0)/m, (y*-y0)^2/s^2): below 0.01 at
    L = 16 and falling at least 2.5-fold from L = 16 to 64 (observed rate ~ L^{-1})."""
    ks = [log_norm_bridge(4, L, A, C, increment=_gauss(4, L), points_per_sd=8).ks_distance for L in (16, 64)]
    assert ks[0] < 0.01 and ks[1] < ks[0] / 2.5


@pytest.mark.parametrize("n", [1, 2])
def test_narrow_networks_stop_at_once_below_target(n: int) -> None:
    """n <= 2 (m <= 0): below the target, stopping at once is optimal (value g(y0) = -(y0 - a)^2)."""
    for y0 in (-0.5, 0.0, 0.5):
        r = log_norm_bridge(n, 32, A, C, y0=y0, points_per_sd=6, law=False)
        assert r.stops_at_once
        assert r.value == pytest.approx(-((y0 - A) ** 2), abs=1e-12)
        assert math.isnan(r.threshold)


def test_value_iteration_agrees_with_policy_iteration() -> None:
    """Both infinite-horizon solvers give the same bridge (within their certified errors)."""
    pi = log_norm_bridge(4, 16, A, C, increment=_gauss(4, 16), points_per_sd=6, law=False)
    vi = log_norm_bridge(
        4, 16, A, C, increment=_gauss(4, 16), points_per_sd=6, law=False, solver=ValueIteration(tol=1e-8)
    )
    assert vi.value == pytest.approx(pi.value, abs=1e-8)
    assert vi.threshold == pytest.approx(pi.threshold, abs=1e-6)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="width must be an int >= 1"):
        linear_resnet_stopping_problem(0, 10, A, C)
    with pytest.raises(ValueError, match="cost must be > 0"):
        linear_resnet_stopping_problem(4, 10, A, 0.0)
    with pytest.raises(TypeError, match="cdf"):
        linear_resnet_stopping_problem(4, 10, A, C, increment=object())
    with pytest.raises(TypeError, match="solver"):
        log_norm_bridge(4, 10, A, C, solver="policy")


@pytest.mark.slow
def test_rates_over_a_wide_range_of_depths() -> None:
    """L = 16 .. 1024 (exact law, n = 4): threshold error slope -1/2 (+-0.05) with (y* - y*_L) sqrt(L)/s
    within 0.02 of BETA at L = 1024; value error slope -1 (+-0.1); KS distance to the inverse Gaussian
    slope -1 (+-0.25) over L = 16 .. 128."""
    Ls = [16, 32, 64, 128, 256, 512, 1024]
    res = [log_norm_bridge(4, L, A, C, points_per_sd=8, law=False) for L in Ls]
    thr_err = [r.threshold_limit - r.threshold for r in res]
    val_err = [abs(r.value_limit - r.value) for r in res]
    assert _slope(Ls, thr_err) == pytest.approx(-0.5, abs=0.05)
    assert thr_err[-1] * math.sqrt(1024) / 0.5 == pytest.approx(BETA, abs=0.02)
    assert _slope(Ls, val_err) == pytest.approx(-1.0, abs=0.1)
    Lk = [16, 32, 64, 128]
    ks = [log_norm_bridge(4, L, A, C, points_per_sd=8).ks_distance for L in Lk]
    assert _slope(Lk, ks) == pytest.approx(-1.0, abs=0.25)
