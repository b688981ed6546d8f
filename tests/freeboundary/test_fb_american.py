"""The American put: against QuantLib's high-precision engine, convergence order, perpetual closed form,
smooth fit at the computed boundary.

QuantLib (``pip install QuantLib``, 1.44 here) is a test dependency; its ``QdFpAmericanEngine`` with the
high-precision scheme (Andersen, Lake & Offengenden 2016 fixed-point method) is accurate to ~1e-10, far
below the finite-difference errors measured here.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from stochdepth import Status
from stochdepth.freeboundary import (
    BrennanSchwartz,
    CrankNicolson,
    Dirichlet,
    Implicit,
    StationaryObstacleProblem,
    StretchedGrid,
    american_put_problem,
    perpetual_american_put,
    solve_obstacle,
)
from stochdepth.symbolic.smooth_fit import solve_smooth_fit
from stochdepth.testing.quantlib import american_put

# (spot, strike, rate, dividend, volatility, maturity)
PARAMETER_SETS = [
    (100.0, 100.0, 0.05, 0.00, 0.20, 1.0),
    (90.0, 100.0, 0.03, 0.01, 0.30, 0.5),
    (110.0, 100.0, 0.08, 0.02, 0.40, 2.0),
    (100.0, 95.0, 0.02, 0.00, 0.15, 0.25),
]


def quantlib_put(spot, strike, rate, dividend, vol, maturity):
    """QuantLib high-precision American put price and the exact year fraction it used."""
    pytest.importorskip("QuantLib")
    ref = american_put(spot, strike, rate, dividend, vol, maturity)
    return ref.price, ref.tau


def our_put(spot, strike, rate, dividend, vol, tau, n_nodes, n_steps, scheme=CrankNicolson):
    problem = american_put_problem(strike, rate, vol, tau, dividend=dividend, n_nodes=n_nodes)
    sol = solve_obstacle(problem, scheme=scheme(n_steps=n_steps), lcp=BrennanSchwartz(side="lower"))
    return sol, sol.value_at(0.0, np.log(spot))


@pytest.mark.parametrize("params", PARAMETER_SETS)
def test_american_put_matches_quantlib(params):
    """801 nodes, 200 graded CN steps: within 2e-4 of the reference (measured errors 2e-5..1e-4, all of
    one sign, second order: see test_convergence_order)."""
    spot, strike, rate, dividend, vol, maturity = params
    ref, tau = quantlib_put(spot, strike, rate, dividend, vol, maturity)
    sol, price = our_put(spot, strike, rate, dividend, vol, tau, 801, 200)
    assert abs(price - ref) < 2e-4
    assert sol.residual < 1e-10 and sol.status is Status.CONVERGED


def fitted_order(sizes, errors):
    """Least-squares slope of log|error| against log(size): the observed convergence order."""
    slope = np.polyfit(np.log(sizes), np.log(np.abs(errors)), 1)[0]
    return -slope


def test_convergence_order():
    """Refining space and time together (N doubles, steps double): graded Crank-Nicolson converges at
    second order, the implicit scheme at first order (time error dominates). The fitted orders are
    reported in the benchmarks; here they must fall in the theoretical bands."""
    spot, strike, rate, dividend, vol, maturity = PARAMETER_SETS[0]
    ref, tau = quantlib_put(spot, strike, rate, dividend, vol, maturity)
    sizes = np.array([101, 201, 401, 801])
    cn = [our_put(spot, strike, rate, dividend, vol, tau, n, n // 4, CrankNicolson)[1] - ref for n in sizes]
    im = [our_put(spot, strike, rate, dividend, vol, tau, n, n // 4, Implicit)[1] - ref for n in sizes]
    p_cn, p_im = fitted_order(sizes, cn), fitted_order(sizes, im)
    assert 1.8 < p_cn < 2.3, p_cn
    assert 0.8 < p_im < 1.3, p_im
    assert np.all(np.abs(np.diff(np.abs(cn))) > 0) and abs(cn[-1]) < abs(cn[0]) / 30


def test_smooth_fit_at_computed_boundary():
    r"""Smooth fit holds for the put. With quadratic contact :math:`V-g\approx\frac\kappa2(x-x^\star)^2`
    the slope of :math:`V-g` across the bracket of :math:`x^\star(0)` is at most :math:`\kappa h/2`
    (:math:`h` the bracket width), whatever the position of :math:`x^\star` in it; a kink of slope
    :math:`\alpha` would give :math:`\alpha`, i.e. a ratio to :math:`\kappa h` growing like :math:`1/h`.
    :math:`\kappa` is estimated by the second divided difference of :math:`V-g` on the three nearest
    continuation nodes. Successive boundaries agree within their error bars."""
    spot, strike, rate, dividend, vol, maturity = PARAMETER_SETS[0]
    locs, errs = [], []
    for n in (201, 401, 801, 1601):
        sol, _ = our_put(spot, strike, rate, dividend, vol, maturity, n, n // 4)
        fb = sol.free_boundary
        assert fb.stopping_side == "below" and fb.defined[0] and not fb.defined[-1]
        assert sol.residual < 1e-10
        x, u = sol.x, sol.value[0] - sol.gain
        j = int(np.flatnonzero(x == fb.continuation_node[0])[0])
        assert x[j + 1] > x[j] > fb.stopping_node[0]  # continuation above the boundary
        kappa = 2 * ((u[j + 2] - u[j + 1]) / (x[j + 2] - x[j + 1]) - (u[j + 1] - u[j]) / (x[j + 1] - x[j]))
        kappa /= x[j + 2] - x[j]
        h = x[j] - fb.stopping_node[0]
        assert kappa > 0
        assert fb.smooth_fit_gap[0] <= kappa * h, (n, fb.smooth_fit_gap[0], kappa * h)
        locs.append(fb.location[0])
        errs.append(fb.error[0])
    for k in range(len(locs) - 1):
        assert abs(locs[k] - locs[k + 1]) <= errs[k] + errs[k + 1]
    # at the finest grid the slope mismatch is below 0.1 % of |g'(x*)| = S*
    assert fb.smooth_fit_gap[0] < 1e-3 * np.exp(locs[-1])


@pytest.mark.parametrize(("rate", "vol", "dividend"), [(0.05, 0.2, 0.0), (0.08, 0.35, 0.03)])
def test_perpetual_put_closed_form(rate, vol, dividend):
    """Stationary PDE in log-price vs the closed form (value and boundary), and the symbolic smooth-fit
    re-derivation of the same closed form."""
    strike = 100.0
    cf = perpetual_american_put(strike, rate, vol, dividend=dividend)
    xb = np.log(cf.boundary)
    mu = rate - dividend - vol**2 / 2
    grid = StretchedGrid(xb - 1.0, np.log(strike) + 8 * vol, 801, center=xb, scale=0.1)
    edge = Dirichlet(lambda x: cf.value(np.exp(x)))  # exact value at the truncation edge
    prob = StationaryObstacleProblem(
        lambda x: np.maximum(strike - np.exp(x), 0.0), mu, vol, grid, rate=rate, right=edge
    )
    sol = solve_obstacle(prob)
    assert sol.status is Status.CONVERGED and sol.residual < 1e-8
    s = np.exp(sol.x)
    np.testing.assert_allclose(sol.value, cf.value(s), atol=2e-3)
    fb = sol.free_boundary
    assert abs(fb.location - xb) <= fb.error + 2e-3
    assert fb.smooth_fit_gap < 0.05 * cf.boundary
    if dividend == 0.0:
        # smooth fit re-derives the closed form symbolically (Merton's case; q > 0 in the slow test)
        x = sympy.Symbol("x", real=True)
        k, r, sg = sympy.symbols("K r sigma", positive=True)
        sym = solve_smooth_fit(k - sympy.exp(x), r - sg**2 / 2, sg, variable=x, rate=r, stopping_side="lower")
        # Merton (1973): S* = K gamma / (1 + gamma), gamma = 2 r / sigma^2
        assert sympy.simplify(sympy.exp(sym.boundary) - k * 2 * r / (2 * r + sg**2)) == 0
        check_smooth_fit_against(sym.subs({k: strike, r: rate, sg: vol}), cf, strike)


@pytest.mark.slow
def test_perpetual_put_smooth_fit_with_dividends():
    """Numeric smooth fit with a dividend yield (placeholders keep the algebra exact; ~5-15 s of sympy)."""
    strike, rate, vol, dividend = 100.0, 0.08, 0.35, 0.03
    cf = perpetual_american_put(strike, rate, vol, dividend=dividend)
    x = sympy.Symbol("x", real=True)
    mu = rate - dividend - vol**2 / 2
    num = solve_smooth_fit(strike - sympy.exp(x), mu, vol, variable=x, rate=rate, stopping_side="lower")
    check_smooth_fit_against(num, cf, strike)


def check_smooth_fit_against(num, cf, strike):
    assert num.verified
    assert abs(np.exp(num.boundary_value) - cf.boundary) < 1e-9 * strike
    ss = np.linspace(0.5 * cf.boundary, 3 * strike, 50)
    np.testing.assert_allclose(num.value(np.log(ss)), cf.value(ss), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("maturity", [1e-300, 1e-18])
def test_a_maturity_too_short_for_float64_is_refused_naming_it(maturity: float) -> None:
    """sigma sqrt(T) below ~1e-9 log K: no float64 grid around log K (formerly 'upper must be > lower'
    from the grid, naming neither)."""
    with pytest.raises(ValueError, match=r"maturity=1e-[0-9]+ is too short for a float64 grid"):
        american_put_problem(100.0, 0.05, 0.2, maturity)
    grid = american_put_problem(100.0, 0.05, 0.2, 1e-15).grid.nodes
    assert np.all(np.diff(grid) > 0)
