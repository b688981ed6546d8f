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

from stochdepth.depth import LinearResNetSimulator, linear_resnet_stopping_problem, log_norm_bridge
from stochdepth.stopping import PolicyIteration, ValueIteration, solve_stopping
from stochdepth.testing.tolerance import Z_MAX

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
    law = [log_norm_bridge(4, L, A, C, increment=_gauss(4, L), points_per_sd=8, law=True) for L in (16, 64)]
    ks = [r.ks_distance for r in law]
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
    ks = [log_norm_bridge(4, L, A, C, points_per_sd=8, law=True).ks_distance for L in Lk]
    assert _slope(Lk, ks) == pytest.approx(-1.0, abs=0.25)


def test_stopping_at_once_is_proved_without_a_grid() -> None:
    """A cost per layer above sup g - g(y0) (here c h = 3906 > (y0 - a)^2 = 0.25) or a start at or above
    the target (drift >= 0) stops at once without building a grid (formerly a 965-million-point grid);
    the grid solution of a feasible case agrees (an independent check of the shortcut)."""
    r = log_norm_bridge(8, 256, 0.5, 1e6)
    assert r.stops_at_once and r.n_states == 0 and r.value == -0.25 and r.expected_depth == 0.0
    assert log_norm_bridge(8, 64, 0.5, 0.05, y0=0.7, law=False).n_states == 0
    # c h = 4 / 16 = 0.25 = (y0 - a)^2: the shortcut; the grid's Snell envelope says the same
    assert log_norm_bridge(8, 16, 0.5, 4.0, law=False).n_states == 0
    prob, _ = linear_resnet_stopping_problem(8, 16, 0.5, 4.0, points_per_sd=6)
    sol = solve_stopping(prob, PolicyIteration())
    i0 = int(np.argmax(prob.initial_law()))
    assert sol.stop[i0] and sol.values[i0] == pytest.approx(-0.25, abs=1e-12)


def test_a_large_cost_with_the_threshold_far_below_is_cheap() -> None:
    """c = 100 puts y* = a - c/(2m) at -133 << y0: the grid spans y0's neighbourhood only (formerly
    98,566 states) and the walk stops at once, as the closed form says."""
    r = log_norm_bridge(8, 1024, 0.5, 100.0, law=False)
    assert r.threshold_limit < -100 and r.stops_at_once and r.n_states < 6000
    assert r.value == pytest.approx(-0.25, abs=1e-12)


@pytest.mark.parametrize(
    ("args", "kwargs"), [((8, 32, 1e9, 0.1), {"law": False}), ((8, 10**12, 0.5, 0.05), {})]
)
def test_sizes_that_cannot_fit_are_refused_up_front(args: tuple, kwargs: dict) -> None:
    """A target 1e9 away (2.6e11 grid states) or a depth of 1e12 (a grid step of 2e-8) is refused before
    any work with the memory it would need, not with a failure deep inside (formerly 1.86 TiB
    requested, or 'cdf must return finite values')."""
    with pytest.raises(ValueError, match=r"would keep the log-norm walk .* in memory: .*iB, more than"):
        log_norm_bridge(*args, **kwargs)


_SMALL = {"width": 8, "depth": 4, "target": 0.5, "cost": 0.1, "points_per_sd": 4}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        # a step of 4e-152: 7e151 grid states (formerly the message named the grid, not t1)
        ({"t1": 1e-300}, r"7.28e\+151 grid states .*sqrt\(t1/\(depth\*width\)\).* t1=1e-300"),
        ({"margin_sd": 1e300}, r"inf grid states .*margin_sd=1e\+300"),
        # a grid of step 0.04 at 1e300 (formerly 'n_states must be an int >= 2, got 1')
        ({"y0": 1e300}, r"y0=1e\+300 is too far from 0 for a float64 grid"),
        # a wide network drifts ~1e4-1e5 sd per layer: the band reaches back to 0 (formerly 'cdf must
        # return finite values', then a refusal by random_walk_transitions naming n_states * band)
        ({"width": 10**12}, r"width=1000000000000, depth=4,.* grid states x \d+ band entries"),
        ({"width": 2 * 10**9}, r"width=2000000000, depth=4,.* grid states x \d+ band entries"),
        # a narrow network at a depth where scipy's ncx2 cdf is NaN
        ({"width": 1000, "depth": 10**7}, r"non-centrality width\*depth/t1 = 1e\+10"),
    ],
)
def test_grids_that_cannot_be_built_are_refused_naming_the_argument(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        linear_resnet_stopping_problem(**{**_SMALL, **kwargs})
    if "t1" in kwargs:  # log_norm_bridge builds its grid here: the same refusal
        with pytest.raises(ValueError, match=match):
            log_norm_bridge(**{**_SMALL, **kwargs}, law=False)


def test_the_exact_law_is_used_up_to_its_noncentrality_limit() -> None:
    """width * depth / t1 = 5e9, the limit, is accepted: scipy's cdf is finite on the whole band."""
    prob, grid = linear_resnet_stopping_problem(5 * 10**6, 1000, 0.01, 0.1, points_per_sd=2)
    assert grid.size > 2 and np.all(np.isfinite(prob.chain.bands))


def test_warm_started_policy_iteration_is_the_cold_one() -> None:
    """Consistency check (the same algorithm from another start): the bridge's warm-started, edge-aware
    solve gives the stopping region and values of policy iteration started from "stop everywhere"."""
    prob, grid = linear_resnet_stopping_problem(4, 32, A, C, points_per_sd=6)
    cold = solve_stopping(prob, PolicyIteration())
    warm = PolicyIteration().solve(prob, initial_stop=(grid >= 0.75) | (grid == grid[0]))
    assert np.array_equal(cold.stop, warm.stop)
    np.testing.assert_allclose(warm.values, cold.values, rtol=0, atol=1e-12)
    assert warm.iterations < cold.iterations


def test_bridge_value_against_monte_carlo_of_the_network(seed: int) -> None:
    """Independent check: the log-norm walk of width-4, depth-32 linear ResNets (exact one-layer law of
    LinearResNetSimulator) stopped at the bridge's discrete threshold; the Monte Carlo mean of
    -(y_tau - a)^2 - c h tau and of h tau agree with the bridge's value and expected depth within
    Z_MAX standard errors plus the grid's resolution (one grid step delta = sd/6 in y: value error
    <= 2|y - a| delta ~ 0.02 at most; paths still running after 60 depth-time units, a 1e-4 tail, are
    stopped there)."""
    n, L, pps = 4, 32, 6
    r = log_norm_bridge(n, L, A, C, points_per_sd=pps, law=False)
    sim = LinearResNetSimulator(n, L, A, state="log_norm")
    gen = np.random.default_rng(seed)
    m, h = 20_000, 1.0 / L
    y = sim.initial(gen, m)[:, 0]
    tau = np.zeros(m)
    alive = y < r.threshold
    for layer in range(60 * L):
        if not alive.any():
            break
        idx = np.nonzero(alive)[0]
        y[idx] = sim.step(layer, y[idx, None], gen)[:, 0]
        tau[idx] += 1
        alive[idx] = y[idx] < r.threshold
    payoff = -((y - A) ** 2) - C * h * tau
    delta = (0.5 * math.sqrt(h)) / pps
    se = payoff.std(ddof=1) / math.sqrt(m)
    assert abs(payoff.mean() - r.value) <= Z_MAX * se + 2 * abs(r.threshold - A) * delta
    se_t = (h * tau).std(ddof=1) / math.sqrt(m)
    assert abs((h * tau).mean() - r.expected_depth) <= Z_MAX * se_t + delta / 0.25


def test_initial_law_is_a_probability_vector_wherever_the_start_falls(seed: int) -> None:
    """The start y0 is split between its two neighbouring nodes (mean y0). Rounding in the cell search
    left a weight of -1e-16 for some starts (y0 = 0.2645861775 at width 8, depth 256 was one), which
    the chain refused; 40 random starts per shape never leave a negative weight or a wrong mean."""
    rng = np.random.default_rng(seed)
    for n, L in [(8, 256), (3, 16)]:
        for y0 in [0.26458617750082475, *rng.uniform(-0.3, 0.3, 40)]:
            prob, grid = linear_resnet_stopping_problem(n, L, 0.5, 0.05, y0=float(y0))
            mu = prob.initial_law()
            assert mu.min() >= 0.0 and mu.sum() == pytest.approx(1.0, abs=1e-12)
            assert np.count_nonzero(mu) <= 2
            assert grid @ mu == pytest.approx(y0, abs=1e-12)


def test_default_call_gives_exact_moments_without_the_law() -> None:
    """Without ``law=True`` the depth law holds only its exact mean and standard deviation (two banded
    solves); they agree with the sums over the probabilities that ``law=True`` propagates layer by layer
    (tail below 1e-8), and nothing pretends to know the quantiles."""
    moments = log_norm_bridge(16, 32, A, C, points_per_sd=8)
    full = log_norm_bridge(16, 32, A, C, points_per_sd=8, law=True)
    dl = moments.depth_law
    assert dl.moments_only and dl.pmf.size == 0 and math.isnan(dl.tail) and math.isnan(moments.ks_distance)
    assert all(math.isnan(q) for q in dl.quantiles.values()) and math.isnan(dl.quantile(0.5))
    assert full.depth_law.tail < 1e-8 and not full.depth_law.moments_only
    layers = np.arange(full.depth_law.pmf.size)
    mean = full.depth_law.pmf @ layers
    std = math.sqrt(full.depth_law.pmf @ layers**2 - mean**2)
    assert dl.mean.value == pytest.approx(mean, rel=1e-6)
    assert dl.std == pytest.approx(std, rel=1e-5)
    assert moments.expected_depth == pytest.approx(full.expected_depth, rel=1e-12)


def test_wide_networks_get_a_coarser_default_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default grid keeps 16 points per layer sd unless that needs more than the cap of states (the
    grid grows like sqrt(width * depth)); then fewer points, never below 2, within the cap. With the cap
    lowered so that it binds at width 1000, depth 64, the coarser default moves the threshold and the
    mean depth by far less than their distance to the depth limit."""
    from stochdepth.depth import discrete

    assert discrete._default_points_per_sd(3, 4096, A, C, 0.0, 1.0) == 16
    pps = discrete._default_points_per_sd(10**5, 4096, A, C, 0.0, 1.0)
    assert 2 <= pps < 16
    fine = log_norm_bridge(1000, 64, A, C, points_per_sd=16)
    monkeypatch.setattr(discrete, "_DEFAULT_MAX_STATES", fine.n_states // 4)
    coarse = log_norm_bridge(1000, 64, A, C)
    assert coarse.n_states <= fine.n_states // 4 + 8
    assert abs(coarse.threshold - fine.threshold) < 0.05 * abs(fine.threshold_limit - fine.threshold)
    gap = abs(fine.expected_depth_limit - fine.expected_depth)
    assert abs(coarse.expected_depth - fine.expected_depth) < 0.05 * gap


def test_width_three_at_large_depth_with_the_default_call() -> None:
    """The reproducer of the cost issue at a size the suite can afford: width 3 (the smallest drift,
    m = 1/6) at depth 1024 with the default grid. Three independent closed forms: the threshold sits
    below y* by the walk's overshoot BETA s sqrt(h) (within 5%: the correction is O(h)); h E tau* equals
    (y* - y0) / m within 1e-3; the exact standard deviation of tau* (a banded solve) equals the inverse
    Gaussian's sqrt(mu^3 / lambda) / h within 1%."""
    n, L, a, c = 3, 1024, 0.5, 0.05
    r = log_norm_bridge(n, L, a, c)
    s, h, m = 1 / math.sqrt(n), 1 / L, 0.5 - 1 / n
    assert (r.threshold_limit - r.threshold) == pytest.approx(BETA * s * math.sqrt(h), rel=0.05)
    mu = (r.threshold_limit - 0.0) / m
    assert r.expected_depth == pytest.approx(mu, abs=1e-3)
    lam = r.threshold_limit**2 / s**2
    assert r.depth_law.std * h == pytest.approx(math.sqrt(mu**3 / lam), rel=0.01)
