"""docs/science.md §B5, the noiseless continuous-depth problem: closed form, PDE (first order, upwinding),
symbolic smooth fit in u = log d, and the discrete-depth analogue."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from stochdepth import Status
from stochdepth.depth import contraction_stopping_depth, noiseless_contraction
from stochdepth.freeboundary import Implicit, solve_obstacle
from stochdepth.symbolic.smooth_fit import solve_smooth_fit

KAPPA, COST = 2.0, 0.1


def test_closed_form_is_the_maximum_over_stopping_times():
    """V(d) = max_s [-d^2 e^{-2 kappa s} - c s], checked against a fine grid of s (the problem is
    deterministic, so stopping times are numbers); also the boundary sqrt(c / (2 kappa))."""
    nc = noiseless_contraction(KAPPA, COST)
    assert nc.boundary == pytest.approx(math.sqrt(COST / (2 * KAPPA)), rel=1e-15)
    s = np.linspace(0.0, 5.0, 200_001)
    for d in (0.05, 0.2, 0.7, 1.5):
        brute = np.max(-(d**2) * np.exp(-2 * KAPPA * s) - COST * s)
        assert nc.value(d) == pytest.approx(brute, abs=1e-9)
        capped = s[s <= 0.3]
        brute_t = np.max(-(d**2) * np.exp(-2 * KAPPA * capped) - COST * capped)
        assert nc.value(d, t1=0.3) == pytest.approx(brute_t, abs=1e-9)
    d = np.array([0.5, 1.0])
    np.testing.assert_allclose(
        nc.value(d), -COST / (2 * KAPPA) * (1 + np.log(2 * KAPPA * d**2 / COST)), rtol=1e-14
    )


def test_pde_stationary_first_order_convergence():
    """Zero volatility, Natural edges, automatic upwinding: first-order convergence to the closed form;
    the free boundary within its error bar plus one cell; residual at round-off."""
    nc = noiseless_contraction(KAPPA, COST)
    errors, hs = [], []
    for n in (101, 201, 401, 801):
        sol = solve_obstacle(nc.problem(2.0, n_nodes=n))
        assert sol.status is Status.CONVERGED and sol.residual < 1e-9
        errors.append(np.max(np.abs(sol.value - nc.value(sol.x))))
        hs.append(2.0 / (n - 1))
        fb = sol.free_boundary
        assert fb.stopping_side == "below"
        assert abs(fb.location - nc.boundary) <= fb.error + hs[-1]
    order = np.polyfit(np.log(hs), np.log(errors), 1)[0]
    assert 0.9 < order < 1.1, order


def test_pde_finite_horizon():
    """Finite horizon T = 0.5 (time-dependent coefficients given as callables): V(0, d) against the
    capped closed form, first order in h and dt together."""
    nc = noiseless_contraction(KAPPA, COST)
    errs = []
    for n in (101, 201, 401):
        sol = solve_obstacle(nc.problem(2.0, t1=0.5, n_nodes=n), scheme=Implicit(n_steps=n))
        errs.append(np.max(np.abs(sol.value[0] - nc.value(sol.x, t1=0.5))))
        # at every time, V(t, .) against the closed form with time to go 0.5 - t
        k = sol.times.size // 2
        np.testing.assert_allclose(
            sol.value[k], nc.value(sol.x, t1=0.5 - sol.times[k]), atol=3 * errs[-1] + 1e-12
        )
    assert errs[1] < 0.6 * errs[0] and errs[2] < 0.6 * errs[1]
    assert errs[-1] < 0.01


def test_smooth_fit_in_log_coordinates():
    """In u = log d the dynamics du = -kappa dt has constant coefficients and the gain is -e^{2u}:
    smooth fit (first-order ODE, no exponential to exclude) re-derives B5 symbolically."""
    u = sympy.Symbol("u", real=True)
    kappa, c = sympy.symbols("kappa c", positive=True)
    sol = solve_smooth_fit(-sympy.exp(2 * u), -kappa, 0, variable=u, cost=c, stopping_side="lower")
    assert sympy.simplify(sympy.exp(sol.boundary) - sympy.sqrt(c / (2 * kappa))) == 0
    d = sympy.Symbol("d", positive=True)
    closed = -c / (2 * kappa) * (1 + sympy.log(2 * kappa * d**2 / c))
    assert (
        sympy.simplify(sympy.expand_log(sol.continuation_value.subs(u, sympy.log(d)) - closed, force=True))
        == 0
    )
    num = sol.subs({kappa: KAPPA, c: COST})
    assert num.verified
    nc = noiseless_contraction(KAPPA, COST)
    ds = np.array([0.05, 0.15, 0.3, 1.0, 2.0])
    np.testing.assert_allclose(num.value(np.log(ds)), nc.value(ds), rtol=1e-12)


@given(st.floats(0.01, 10.0), st.floats(0.01, 0.9), st.floats(1e-4, 1.0))
def test_discrete_analogue_matches_brute_force(d0, alpha, cost):
    """tau* of B5's discrete analogue maximises -(1-alpha)^{2l} d0^2 - c l over l (ties: the smallest)."""
    tau = contraction_stopping_depth(d0, alpha, cost)
    ls = np.arange(0, tau + 200)
    pay = -((1 - alpha) ** (2 * ls)) * d0**2 - cost * ls
    best = np.max(pay)
    assert pay[tau] >= best - 1e-12 * (1 + abs(best))
    assert np.all(pay[:tau] < pay[tau] + 1e-12 * (1 + abs(best)))


def test_discrete_analogue_continuum_limit():
    """alpha = kappa / L, cost c / L per layer: tau* / L -> s* = ln(2 kappa d0^2 / c) / (2 kappa), O(1/L)."""
    nc = noiseless_contraction(KAPPA, COST)
    d0 = 1.0
    s_star = nc.stopping_time(d0)
    gaps = []
    for L in (10, 100, 1000, 10000):
        tau = contraction_stopping_depth(d0, KAPPA / L, COST / L)
        gaps.append(abs(tau / L - s_star))
    assert gaps[-1] < 1e-3 and gaps[-1] < gaps[0] / 100


def test_bad_input():
    with pytest.raises(ValueError, match="kappa"):
        noiseless_contraction(0.0, 0.1)
    with pytest.raises(ValueError, match="alpha"):
        contraction_stopping_depth(1.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="cost"):
        contraction_stopping_depth(1.0, 0.5, -0.1)
    assert contraction_stopping_depth(0.0, 0.5, 0.1) == 0
