"""docs/science.md §B6, the bridge: optimal depth of the linear random ResNet at width n.

Closed form (smooth fit) == symbolic smooth fit == PDE solver (stationary and finite horizon) == Monte
Carlo of the depth law; the width threshold n <= 2 (stop at once below the target) is shown by all.
The discrete Snell envelope is tested in test_depth_discrete.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from stochdepth import Status
from stochdepth.depth import linear_resnet_depth_problem, linear_resnet_optimal_depth, simulate_stopping_depth
from stochdepth.freeboundary import CrankNicolson, solve_obstacle
from stochdepth.symbolic.smooth_fit import solve_smooth_fit
from stochdepth.testing.convergence import fitted_order

A, C = 0.5, 0.1


@pytest.mark.parametrize("n", [1, 3, 4, 8, 64])
def test_closed_form_verification_theorem(n):
    """Value matching, smooth fit, V >= g, and the generator inequality on the stopping side."""
    cf = linear_resnet_optimal_depth(n, A, C)
    m, s = cf.drift, cf.volatility
    assert m == pytest.approx(0.5 - 1 / n) and s == pytest.approx(n**-0.5)
    b = cf.boundary
    assert b == pytest.approx(A - C / (2 * m))
    assert cf.value(b) == pytest.approx(cf.gain(b))
    eps = 1e-7
    assert cf.derivative(b - eps) == pytest.approx(cf.derivative(b + eps), abs=1e-6)
    ys = np.linspace(A - 10, A + 10, 2001)
    assert np.all(cf.value(ys) >= cf.gain(ys) - 1e-12)
    stop = ~cf.continuation(ys)
    generator_on_gain = -(s**2) - 2 * m * (ys - A) - C  # (s^2/2) g'' + m g' - c for g = -(y - a)^2
    assert np.all(generator_on_gain[stop] < 0)
    cont = cf.continuation(ys)
    # in continuation V is affine with slope c/m: the generator gives m * c/m - c = 0
    np.testing.assert_allclose(cf.derivative(ys[cont]), C / m)
    assert cf.stopping_side == ("above" if n >= 3 else "below")
    assert cf.stop_at_once_below_target == (n <= 2)


def test_width_two_stops_everywhere():
    cf = linear_resnet_optimal_depth(2, A, C)
    assert cf.boundary is None and cf.stopping_side == "everywhere"
    assert cf.expected_depth(-3.0) == 0.0 and cf.depth_law(-3.0).mean() == 0.0
    sol = solve_obstacle(linear_resnet_depth_problem(2, A, C))
    assert np.all(sol.stopping) and sol.free_boundaries == ()


@pytest.mark.parametrize("n", [1, 3, 4, 8, 64])
def test_pde_stationary_matches_closed_form(n):
    """Boundary within its error bar, value on the continuation side, smooth fit at the computed
    boundary, expected depth (Dynkin) and residual; below the target n <= 2 stops at once."""
    cf = linear_resnet_optimal_depth(n, A, C)
    sol = solve_obstacle(linear_resnet_depth_problem(n, A, C))
    assert sol.status is Status.CONVERGED and sol.residual < 1e-8
    fb = sol.free_boundary
    assert fb.stopping_side == cf.stopping_side
    assert abs(fb.location - cf.boundary) <= fb.error
    # smooth fit (the slope of V - g across the bracket vanishing like h) is checked as a convergence
    # order in test_pde_converges_to_closed_form_at_its_orders: on a grid without the answer as a node
    # its size at one grid has no closed-form bound
    # value: away from the truncated edge (where the Dirichlet stop acts) the error is at round-off
    # because V is affine in continuation and quadratic in stopping (both exact for the scheme) except
    # in the boundary cell
    sign = -1 if cf.stopping_side == "above" else 1
    ys = cf.boundary + sign * np.linspace(0.0, 2.0, 41)
    np.testing.assert_allclose(sol.value_at(ys), cf.value(ys), atol=2 * fb.error**2 + 1e-8)
    # regions: away from the boundary cell, continuation exactly where the closed form continues
    far = np.abs(sol.x - cf.boundary) > 2 * fb.error
    np.testing.assert_array_equal(sol.continuation[far], (cf.continuation(sol.x) & sol.decision)[far])
    below = sol.x <= A
    if n <= 2:
        assert np.all(sol.stopping[below & sol.decision])
    # E tau = |b - y| / |m| in continuation: the solver's discrete boundary lies in the bracket
    # (width 2 error), so its expected depth is off by at most 2 error / |m|
    y0 = cf.boundary + sign * 1.0
    j = int(np.argmin(np.abs(sol.x - y0)))
    gap = abs(sol.expected_stopping_time()[j] - cf.expected_depth(sol.x[j]))
    assert gap <= 2 * fb.error / abs(cf.drift) + 1e-9


def _worst_errors(n: int, nodes: int, positions: int = 6) -> tuple[float, np.ndarray, float, float]:
    """(spacing at the boundary, the solver's boundaries, worst value error at boundary -/+ 0.5, worst
    smooth-fit gap) over grids whose refined centre moves across one cell, so that the closed-form
    boundary sweeps its cell."""
    cf = linear_resnet_optimal_depth(n, A, C)
    x = linear_resnet_depth_problem(n, A, C, n_nodes=nodes).grid.nodes
    i = int(np.searchsorted(x, cf.boundary))
    h = float(x[i] - x[i - 1])
    y0 = cf.boundary + (-0.5 if cf.stopping_side == "above" else 0.5)
    locations = []
    worst_v = worst_gap = 0.0
    for k in range(positions):
        problem = linear_resnet_depth_problem(n, A, C, n_nodes=nodes, center=A + (k + 0.5) / positions * h)
        assert not np.any(problem.grid.nodes == cf.boundary)  # the answer is not a node
        sol = solve_obstacle(problem)
        locations.append(sol.free_boundary.location)
        worst_v = max(worst_v, abs(float(sol.value_at(y0)) - float(cf.value(y0))))
        worst_gap = max(worst_gap, float(sol.free_boundary.smooth_fit_gap))
    return h, np.array(locations), worst_v, worst_gap


@pytest.mark.parametrize("n", [1, 3, 8, 64])
def test_pde_converges_to_closed_form_at_its_orders(n):
    """On grids that do not contain the closed-form boundary, the worst boundary error over positions of
    the boundary in its cell vanishes at order 1 in the spacing (the discrete stopping set resolves the
    boundary to a cell) and the value error at a fixed point at order 2 (V_b(y0) is stationary in b at
    the optimum, smooth fit, so a boundary error e moves it by O(e^2)); the slope of V - g across the
    bracket (smooth fit) vanishes at order 1. A closed form off by 1e-2 (2 to 5% of the boundary, resolved
    by the finer grids) leaves a boundary error that
    does not vanish: its fitted order fails."""
    cf = linear_resnet_optimal_depth(n, A, C)
    rows = [_worst_errors(n, N) for N in (101, 201, 401, 801, 1601)]
    h, ev, gap = (np.array([r[k] for r in rows]) for k in (0, 2, 3))
    eb = np.array([np.max(np.abs(r[1] - cf.boundary)) for r in rows])
    fit_b, fit_v, fit_gap = fitted_order(h, eb), fitted_order(h, ev), fitted_order(h, gap)
    assert fit_b.agrees(1.0), fit_b.describe()
    assert fit_v.agrees(2.0), fit_v.describe()
    assert fit_gap.agrees(1.0), fit_gap.describe()
    wrong = [np.max(np.abs(r[1] - (cf.boundary + 1e-2))) for r in rows]
    assert not fitted_order(h, wrong).agrees(1.0)


def test_pde_depth_law_matches_inverse_gaussian():
    """P(tau <= t) from the survival PDE (implicit Euler, 800 steps) against scipy's invgauss."""
    n = 8
    cf = linear_resnet_optimal_depth(n, A, C)
    sol = solve_obstacle(linear_resnet_depth_problem(n, A, C))
    y0 = cf.boundary - 1.0
    j = int(np.argmin(np.abs(sol.x - y0)))
    ts = np.array([0.5, 1.0, 2.0, 3.0, 5.0])
    cdf = sol.stopping_time_cdf(ts, n_steps=800)[:, j]
    np.testing.assert_allclose(cdf, cf.depth_law(sol.x[j]).cdf(ts), atol=2e-3)


def test_finite_horizon_tends_to_stationary():
    """V_T(0, y) increases with the horizon T and reaches the stationary closed form; at the horizon the
    boundary tends to a - (s^2 + c) / (2 m), where the generator applied to the gain changes sign
    (stopping one instant before T is optimal exactly where A g - c < 0)."""
    n = 8
    cf = linear_resnet_optimal_depth(n, A, C)
    ys = np.linspace(cf.boundary - 2.0, A + 0.5, 11)
    prev = None
    for horizon in (1.0, 5.0, 30.0):
        sol = solve_obstacle(
            linear_resnet_depth_problem(n, A, C, t1=horizon), scheme=CrankNicolson(n_steps=200)
        )
        assert sol.status is Status.CONVERGED and sol.residual < 1e-9
        v = sol.value_at(0.0, ys)
        assert np.all(v <= cf.value(ys) + 1e-6)
        if prev is not None:
            assert np.all(v >= prev - 1e-6)
        prev = v
        fb = sol.free_boundary
        k = int(np.flatnonzero(fb.defined)[-1])
        limit = A - (cf.volatility**2 + C) / (2 * cf.drift)
        assert abs(fb.location[k] - limit) < 0.02
    np.testing.assert_allclose(prev, cf.value(ys), atol=1e-5)
    assert abs(sol.free_boundary(0.0) - cf.boundary) <= sol.free_boundary.error[0] + 1e-9


def test_symbolic_smooth_fit_agrees():
    """The sympy derivation (symbols m, s, c, a) gives B6's boundary and value for every width."""
    y, a = sympy.Symbol("y", real=True), sympy.Symbol("a", real=True)
    m, s, c = sympy.symbols("m s c", positive=True)
    sym = solve_smooth_fit(-((y - a) ** 2), m, s, variable=y, cost=c)
    assert sympy.simplify(sym.boundary - (a - c / (2 * m))) == 0
    for n in (3, 8, 64):
        cf = linear_resnet_optimal_depth(n, A, C)
        num = sym.subs(
            {a: A, m: sympy.Rational(n - 2, 2 * n), s: 1 / sympy.sqrt(n), c: sympy.Rational(1, 10)}
        )
        assert num.verified and num.boundary_value == pytest.approx(cf.boundary, abs=1e-14)
        ys = np.linspace(cf.boundary - 3, A + 1, 9)
        np.testing.assert_allclose(num.value(ys), cf.value(ys), atol=1e-12)
    # n = 1: drift -1/2, the continuation region lies above the boundary a + c
    low = solve_smooth_fit(lambda v: -((v - A) ** 2), -0.5, 1.0, variable=y, cost=C, stopping_side="lower")
    assert low.boundary_value == pytest.approx(A + C)
    # n = 1 and n = 2 with the n >= 3 structure: the smooth-fit system is underdetermined
    for drift, vol in ((-0.5, 1.0), (0, 2**-0.5)):
        with pytest.raises(ValueError, match="unknowns"):
            solve_smooth_fit(lambda v: -((v - A) ** 2), drift, vol, variable=y, cost=C)


def test_depth_law_against_simulation(seed):
    r"""Sampled depths (Brownian-bridge crossing detection, dated at the step's end) against the
    inverse Gaussian law. With D the sampled depth, tau <= D < tau + dt, so for every t
    F(t - dt) <= P(D <= t) <= F(t); the empirical CDF deviates from P(D <= t) by more than
    eps = sqrt(log(2 / 1e-6) / (2 N)) with probability < 1e-6 (Dvoretzky-Kiefer-Wolfowitz, Massart's
    constant)."""
    n, dt, n_paths = 8, 1e-2, 20_000
    cf = linear_resnet_optimal_depth(n, A, C)
    y0 = cf.boundary - 1.0
    d = simulate_stopping_depth(n, A, C, y0, n_paths=n_paths, dt=dt, max_depth=30.0, rng=seed)
    law = cf.depth_law(y0)
    assert law.mean() == pytest.approx(cf.expected_depth(y0))
    assert law.var() == pytest.approx(cf.expected_depth(y0) * cf.volatility**2 / cf.drift**2)
    ts = np.linspace(0.05, 12.0, 240)
    emp = (d[:, None] <= ts).mean(axis=0)
    eps = np.sqrt(np.log(2 / 1e-6) / (2 * n_paths))
    assert np.all(emp <= law.cdf(ts) + eps)
    assert np.all(emp >= law.cdf(ts - dt) - eps)


def test_simulation_is_reproducible_and_thread_independent(seed):
    a = simulate_stopping_depth(4, A, C, -1.0, n_paths=3000, dt=0.05, rng=seed, chunk_size=1000, n_threads=1)
    b = simulate_stopping_depth(4, A, C, -1.0, n_paths=3000, dt=0.05, rng=seed, chunk_size=1000, n_threads=2)
    np.testing.assert_array_equal(a, b)
    z = simulate_stopping_depth(4, A, C, A + 1.0, n_paths=10, rng=seed)  # stopping region: depth 0
    np.testing.assert_array_equal(z, 0.0)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: linear_resnet_optimal_depth(0, A, C), ValueError, "width"),
        (lambda: linear_resnet_optimal_depth(3.0, A, C), TypeError, "width"),
        (lambda: linear_resnet_optimal_depth(3, A, 0.0), ValueError, "cost"),
        (lambda: linear_resnet_optimal_depth(3, np.nan, C), ValueError, "target"),
        (lambda: linear_resnet_depth_problem(3, A, C, t1=-1.0), ValueError, "t1"),
        (lambda: linear_resnet_depth_problem(3, A, C, lower=2.0, upper=1.0), ValueError, "upper must be"),
        (lambda: simulate_stopping_depth(3, A, C, 0.0, n_paths=0), ValueError, "n_paths"),
        (lambda: simulate_stopping_depth(3, A, C, 0.0, n_paths=5, dt=0.0), ValueError, "dt"),
        # no float64 grid of width ~6 around 1e15 (formerly a StretchedGrid error naming its scale)
        (lambda: linear_resnet_depth_problem(3, 1e15, C), ValueError, r"target=1e\+15 is too far from 0"),
        (lambda: linear_resnet_depth_problem(3, -1e300, C), ValueError, r"target=-1e\+300 is too far"),
        # steps of 1e-151 stand still in float64: refused, not a loop of 1e301 steps on worker threads
        # that no alarm stops (the fuzz's 180 s alarm fired, then the thread pool waited for them)
        (lambda: simulate_stopping_depth(3, A, C, 0.0, n_paths=5, dt=1e-300), ValueError, "dt=1e-300 is too"),
        (lambda: simulate_stopping_depth(3, A, C, 0.0, n_paths=5, dt=1e-17), ValueError, "dt=1e-17 is too"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_a_boundary_out_of_reach_is_censored_without_overflow_warnings(seed: int) -> None:
    """A target 1e300 away puts the boundary out of reach: every path is censored (inf) within max_depth,
    and the Brownian-bridge crossing probability, whose exponent overflows, is its limit 0 silently."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tau = simulate_stopping_depth(8, 1e300, 0.1, 0.0, n_paths=64, rng=seed)
    assert tau.shape == (64,) and np.all(np.isinf(tau))
