r"""Continuous-depth stopping with known answers: obstacle problems against their closed forms, and the
ordering of exercise rights :math:`P_E\le P_B\le P_A` for random put options.

* Obstacle problems (perpetual put, docs/science.md §B5, B6): the closed form is a verified solution (value
  matching, :math:`V\ge g`, :math:`V=g` on the stopping side, smooth fit), and the finite-difference
  solution converges to it under grid refinement (error at :math:`2N` at most 0.6 of the error at
  :math:`N`, i.e. order :math:`\ge0.7`; measured orders 1 for the upwind B5 scheme, 2 for the others),
  with the free boundary inside its reported bracket.
* Options: on one lattice (the exact Snell envelope of a log-price random walk) rights are nested, so
  European :math:`\le` Bermudan :math:`\le` every-step exercise holds exactly; in continuous time the
  European closed form, the Bermudan grid price and the American PDE price satisfy
  :math:`(K-S)^+\le P_A`, :math:`P_E\le P_B\le P_A` within their numerical error bounds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from scipy import stats as st

from stochdepth import Status
from stochdepth.freeboundary import Implicit, solve_obstacle
from stochdepth.stopping import (
    BackwardInduction,
    MarkovStoppingProblem,
    random_walk_transitions,
    solve_stopping,
)
from stochdepth.testing.strategies import (
    AmericanPut,
    ObstacleCase,
    american_options,
    obstacle_problems_with_closed_forms,
)

# ----------------------------------------------------------------------------------------------------
# Obstacle problems with closed forms
# ----------------------------------------------------------------------------------------------------


@given(obstacle_problems_with_closed_forms())
def test_closed_forms_are_verified_solutions(case: ObstacleCase) -> None:
    """The verification theorem's conditions on the closed form itself: V >= g everywhere, V = g on the
    stopping side, V > g strictly inside the continuation region, value matching and smooth fit at the
    boundary (second-order one-sided differences: error O(e^2) + rounding O(1e-16 |V| / e))."""
    lo, hi = float(case.problem.grid.lower), float(case.problem.grid.upper)
    x = np.linspace(lo, hi, 2001)
    v, g = case.value(x), case.gain(x)
    assert np.all(v >= g - 1e-12 * (1 + np.abs(g)))
    if case.boundary is None:
        np.testing.assert_allclose(v, g, rtol=1e-14, atol=1e-14)
        return
    b = case.boundary
    stop = x <= b if case.stopping_side == "below" else x >= b
    np.testing.assert_allclose(v[stop], g[stop], rtol=1e-12, atol=1e-12)
    inner = ~stop & (np.abs(x - b) > 1e-6 * (1 + abs(b)))
    assert np.all(v[inner] > g[inner])
    e = 1e-5 * (1 + abs(b)) * (1.0 if case.stopping_side == "below" else -1.0)  # towards continuation
    slope_cont = (-3 * case.value(b) + 4 * case.value(b + e) - case.value(b + 2 * e)) / (2 * e)
    slope_stop = (3 * case.gain(b) - 4 * case.gain(b - e) + case.gain(b - 2 * e)) / (2 * e)
    assert float(case.value(b)) == pytest.approx(float(case.gain(b)), rel=1e-12, abs=1e-12)
    assert float(slope_cont) == pytest.approx(float(slope_stop), rel=1e-6, abs=1e-6)


def _solve(case: ObstacleCase):
    scheme = None if case.horizon is None else Implicit(n_steps=case.n_nodes)
    sol = solve_obstacle(case.problem) if scheme is None else solve_obstacle(case.problem, scheme=scheme)
    v = sol.value if case.horizon is None else sol.value[0]
    return sol, v


def check_pde_converges(case: ObstacleCase, sizes: tuple[int, int]) -> None:
    errors = []
    scale = 1.0
    for n in sizes:
        c = case.refined(n)
        sol, v = _solve(c)
        assert sol.status is Status.CONVERGED
        lo, hi = c.comparison_interval
        inside = (sol.x >= lo) & (sol.x <= hi)
        exact = c.value(sol.x)
        scale = max(scale, float(np.max(np.abs(exact))))
        assert sol.residual <= 1e-8 * scale
        errors.append(float(np.max(np.abs(v - exact)[inside])))
        fbs = sol.free_boundaries
        if c.boundary is None:
            assert fbs == () and np.all(sol.stopping[sol.decision] if v.ndim == 1 else sol.stopping[0])
            continue
        assert len(fbs) == 1
        fb = fbs[0]
        loc, err = (fb.location, fb.error) if c.horizon is None else (fb.location[0], fb.error[0])
        assert fb.stopping_side == c.stopping_side
        # the first-order upwind scheme of B5 may shift the discrete boundary by one cell
        cell = float(np.max(np.diff(sol.x))) if c.kind == "noiseless_contraction" else 0.0
        assert abs(loc - c.boundary) <= err + cell + 1e-12, (loc, c.boundary, err)
    assert errors[1] <= 0.6 * errors[0] + 1e-9 * scale, errors


@given(obstacle_problems_with_closed_forms(n_nodes=201))
def test_obstacle_solver_converges_to_the_closed_form(case: ObstacleCase) -> None:
    check_pde_converges(case, (201, 401))


@pytest.mark.slow
@settings(max_examples=200)
@given(obstacle_problems_with_closed_forms(n_nodes=401))
def test_obstacle_solver_converges_to_the_closed_form_large(case: ObstacleCase) -> None:
    check_pde_converges(case, (401, 801))


# ----------------------------------------------------------------------------------------------------
# European <= Bermudan <= American
# ----------------------------------------------------------------------------------------------------


def _lattice_values(opt: AmericanPut, substeps: int) -> tuple[float, float, float]:
    """(European, Bermudan, every-step) values on one log-price lattice with L * substeps steps: the
    exact Snell envelopes of the same chain with exercise allowed at the last step, at every
    ``substeps``-th step (the Bermudan dates), or at every step."""
    M = opt.n_dates * substeps
    dt = opt.maturity / M
    sd = opt.volatility * math.sqrt(dt)
    h = sd / 4.0
    n_half = math.ceil(8.0 * opt.volatility * math.sqrt(opt.maturity) / h)
    x = math.log(opt.spot) + h * np.arange(-n_half, n_half + 1)
    drift = (opt.rate - opt.dividend - 0.5 * opt.volatility**2) * dt
    P = random_walk_transitions(st.norm(drift, sd).cdf, h, x.size)
    payoff = np.maximum(opt.strike - np.exp(x), 0.0)
    beta = math.exp(-opt.rate * dt)
    values = []
    for every in (M, substeps, 1):
        gains = np.zeros((M + 1, x.size))
        gains[::every] = payoff  # payoff >= 0: a zero gain is never better than continuing
        prob = MarkovStoppingProblem(P, gains, 0.0, horizon=M, discount=beta, initial=n_half)
        values.append(solve_stopping(prob, BackwardInduction()).value())
    return values[0], values[1], values[2]


@settings(max_examples=15)
@given(american_options(max_dates=8))
def test_exercise_rights_are_nested_on_a_lattice(opt: AmericanPut) -> None:
    """Exact on one chain: more exercise dates never lower the Snell value (rounding allowance only)."""
    eur, berm, every = _lattice_values(opt, substeps=3)
    tol = 1e-12 * opt.strike
    assert eur <= berm + tol and berm <= every + tol
    assert every >= opt.intrinsic() - tol


def check_price_ordering(opt: AmericanPut, nodes: tuple[int, int]) -> None:
    r"""Tolerances from the methods' own error estimates: for a scheme of order :math:`p\ge1` in its
    asymptotic regime the finer price's error is :math:`|P_{fine}-P_{coarse}|/(2^p-1)\le
    |P_{fine}-P_{coarse}|` (American PDE: space and time refined together); the Bermudan grid price is
    Richardson-extrapolated, so its error is at most its ``error_estimate`` (:math:`|f-c|/3`) plus the
    fine grid's :math:`|f-c|`, i.e. 4 error estimates."""
    eur = opt.european()
    a_coarse, a_fine = opt.american(n_nodes=nodes[0]), opt.american(n_nodes=nodes[1])
    berm = opt.bermudan(points_per_sd=8)
    tol_a = abs(a_fine - a_coarse) + 1e-12 * opt.strike
    tol_b = 4.0 * berm.error_estimate + 1e-12 * opt.strike
    assert a_fine >= opt.intrinsic() - tol_a
    assert eur <= berm.value + tol_b, (eur, berm.value, tol_b)
    assert berm.value <= a_fine + tol_a + tol_b, (berm.value, a_fine, tol_a, tol_b)
    assert eur <= a_fine + tol_a, (eur, a_fine, tol_a)
    if opt.rate == 0.0:  # no interest: early exercise of a put is worthless, P_A = P_E
        assert abs(a_fine - eur) <= tol_a


@given(american_options())
def test_american_dominates_bermudan_dominates_european(opt: AmericanPut) -> None:
    check_price_ordering(opt, (201, 401))


@pytest.mark.slow
@settings(max_examples=200)
@given(american_options(max_maturity=3.0, max_dates=24, max_rate=0.15, max_dividend=0.1, max_moneyness=3.0))
def test_american_dominates_bermudan_dominates_european_large(opt: AmericanPut) -> None:
    check_price_ordering(opt, (401, 801))
