"""Property tests of the stopping theorems (docs/science.md §B1-B2) on drawn problems.

* B2: the three depth bounds hold on every residual family that satisfies their hypotheses, their
  tightness is in [0, 1], and every family that violates a hypothesis is flagged by the failed
  hypothesis (and only that one); the bounded-gains bound and the optimality of one-step look-ahead in
  the monotone case also on infinite-horizon chains.
* B1: the Snell envelope dominates the gain, is a supermartingale
  (:math:`V_l\\ge -c_l+\\beta P_lV_{l+1}`), equals the larger of the two, and dominates the value of
  every stopping rule (random Markov rules evaluated exactly); the smallest optimal time stops exactly
  where :math:`V=g`. Infinite horizon: the same inequalities within the certified error bound.

All checks are exact up to rounding (no Monte Carlo). The ``slow`` versions draw larger problems.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from stochdepth import Status
from stochdepth.depth import ResidualFamily
from stochdepth.stopping import (
    BackwardInduction,
    MarkovStoppingProblem,
    OneStepLookAhead,
    PathwiseMaximum,
    PolicyIteration,
    bounded_gains_bound,
    solve_stopping,
    summable_residuals_bound,
)
from stochdepth.testing.strategies import markov_stopping_problems, residual_families

# ----------------------------------------------------------------------------------------------------
# B2
# ----------------------------------------------------------------------------------------------------


def check_bound_holds(fam: ResidualFamily) -> None:
    b = fam.depth_bound()
    assert fam.satisfying and b.hypotheses_hold, b.hypotheses
    assert b.holds, (b.name, b.bound, b.expected_depth)
    assert b.expected_depth.value <= b.bound + 1e-9
    if 0 < b.bound < math.inf:
        assert b.tightness == pytest.approx(b.expected_depth.value / b.bound, rel=1e-12)
        assert 0.0 <= b.tightness <= 1.0 + 1e-12
    tau = solve_stopping(fam.problem, PathwiseMaximum()).tau  # exact: deterministic paths
    assert b.expected_depth.value == pytest.approx(float(np.mean(tau)), rel=1e-12, abs=1e-12)
    if fam.kind == "geometric":
        # almost surely, on every path: tau* <= l_bar; and the weaker bounds hold with the same data
        assert np.all(tau <= b.bound)
        summ = summable_residuals_bound(fam.problem, fam.lipschitz, residual_bounds=fam.residual_bounds)
        gains = bounded_gains_bound(fam.problem)
        assert summ.hypotheses_hold and summ.holds and gains.hypotheses_hold and gains.holds


def check_violation_flagged(fam: ResidualFamily) -> None:
    b = fam.depth_bound()
    assert not fam.satisfying and fam.violated_hypothesis in b.hypotheses
    assert not b.hypotheses[fam.violated_hypothesis], (fam.violation, b.hypotheses)
    others = {k: v for k, v in b.hypotheses.items() if k != fam.violated_hypothesis}
    assert all(others.values()), others  # exactly one hypothesis is broken, and it is reported


@given(residual_families(True, kind=None))
def test_b2_bounds_hold_when_hypotheses_hold(fam: ResidualFamily) -> None:
    check_bound_holds(fam)


@given(residual_families(False, kind=None))
def test_b2_violated_hypotheses_are_flagged(fam: ResidualFamily) -> None:
    check_violation_flagged(fam)


@pytest.mark.slow
@settings(max_examples=400)
@given(residual_families(True, kind=None, max_dim=6, max_horizon=60, max_paths=40))
def test_b2_bounds_hold_when_hypotheses_hold_large(fam: ResidualFamily) -> None:
    check_bound_holds(fam)


@pytest.mark.slow
@settings(max_examples=400)
@given(residual_families(False, kind=None, max_dim=6, max_horizon=60, max_paths=40))
def test_b2_violated_hypotheses_are_flagged_large(fam: ResidualFamily) -> None:
    check_violation_flagged(fam)


def test_b2_violations_can_break_the_conclusion() -> None:
    """The flagged hypotheses matter: among drawn violating geometric families some have tau* > l_bar
    (growth: the residuals stay worth their cost beyond the declared decay)."""
    broken = []

    @settings(max_examples=60)
    @given(residual_families(False, kind="geometric"))
    def look(fam: ResidualFamily) -> None:
        broken.append(not fam.depth_bound().holds)

    look()
    assert any(broken)


@given(markov_stopping_problems(max_states=5, infinite=True, discount=1.0))
def test_bounded_gains_bound_in_infinite_horizon(prob: MarkovStoppingProblem) -> None:
    """Infinite horizon, c > 0: E tau* <= (E sup_l G_l - E G_0) / c (E sup G by hitting probabilities)."""
    b = bounded_gains_bound(prob)
    assert b.hypotheses_hold and b.holds
    assert b.expected_depth.value <= b.bound * (1 + 1e-9) + 1e-9


@given(markov_stopping_problems(max_states=6, infinite=True, monotone=True))
def test_one_step_look_ahead_is_optimal_when_monotone_infinite(prob: MarkovStoppingProblem) -> None:
    """Monotone case in infinite horizon (Chow, Robbins & Siegmund 1971, Thm 3.5): the look-ahead rule
    attains the certified Snell value."""
    sol = solve_stopping(prob, PolicyIteration())
    osla = OneStepLookAhead.fit(prob).evaluate(prob)
    lo, hi = sol.value_interval()
    assert lo - 1e-9 <= osla.value.value <= hi + 1e-9


# ----------------------------------------------------------------------------------------------------
# B1: the Snell envelope
# ----------------------------------------------------------------------------------------------------


def _rule_value(prob: MarkovStoppingProblem, stop: np.ndarray) -> float:
    """Exact value of the Markov rule 'stop at layer l in the states stop[l]' (stop[L] all True)."""
    mu = prob.initial_law()
    S = prob.n_states
    total = 0.0
    for l in range(stop.shape[0]):
        z = prob.payoffs(np.full(S, l), np.arange(S))
        total += float(mu[stop[l]] @ z[stop[l]])
        if l < stop.shape[0] - 1:
            mu = prob.chain.push(l, mu, ~stop[l])
    return total


def check_snell_envelope(prob: MarkovStoppingProblem, data: hst.DataObject) -> None:
    sol = solve_stopping(prob, BackwardInduction())
    L, S, beta = prob.horizon, prob.n_states, prob.discount
    assert L is not None
    V = sol.values
    np.testing.assert_array_equal(V[L], prob.gains_at(L))
    for l in range(L):
        g = prob.gains_at(l)
        P = prob.chain.csr(l)
        cont = -prob.cost(l) + beta * (P @ V[l + 1])
        tol = 1e-12 * (np.abs(g) + prob.cost(l) + beta * (P @ np.abs(V[l + 1]))) + 1e-15
        assert np.all(V[l] >= g - tol)  # dominates the gain
        assert np.all(V[l] >= cont - tol)  # supermartingale: U_l >= E[U_{l+1} | F_l] - c_l
        assert np.all(np.minimum(V[l] - g, V[l] - cont) <= tol)  # and is the smallest such
        # the smallest optimal time stops exactly where g reaches the continuation value (ties stop, up
        # to BackwardInduction's relative tie tolerance 1e-11; drawn data are rationals with small
        # denominators, so non-ties differ by far more than that)
        scale = np.abs(g) + prob.cost(l) + beta * (P @ np.abs(V[l + 1]))
        np.testing.assert_array_equal(sol.stop[l], g >= cont - 1e-11 * scale)
    # in payoff units along the chain: U_l = beta^l V_l - sum_{k<l} beta^k c_k is a supermartingale
    # dominating Z, so E U_0 = V* >= E Z_tau for every stopping rule
    v_star = sol.value()
    for _ in range(3):
        stop = np.array(data.draw(hst.lists(hst.booleans(), min_size=(L + 1) * S, max_size=(L + 1) * S)))
        stop = stop.reshape(L + 1, S)
        stop[L] = True
        assert _rule_value(prob, stop) <= v_star + 1e-12 * (1 + abs(v_star)) * (L + 1)
    assert _rule_value(prob, np.vstack([sol.stop[:L], np.ones((1, S), bool)])) == pytest.approx(
        v_star, abs=1e-12 * (1 + abs(v_star)) * (L + 1)
    )


@given(markov_stopping_problems(max_states=5, max_horizon=6), hst.data())
def test_snell_envelope_dominates_and_is_a_supermartingale(prob, data) -> None:
    check_snell_envelope(prob, data)


@pytest.mark.slow
@settings(max_examples=300)
@given(markov_stopping_problems(max_states=12, max_horizon=20), hst.data())
def test_snell_envelope_dominates_and_is_a_supermartingale_large(prob, data) -> None:
    check_snell_envelope(prob, data)


def check_infinite_envelope(prob: MarkovStoppingProblem) -> None:
    r"""Certified infinite-horizon values: with :math:`v\le V^\star\le u` and :math:`u-v\le\varepsilon`,
    :math:`V^\star=\max(g,-c+\beta PV^\star)` gives :math:`v\ge g` exactly and
    :math:`-c+\beta Pv\le-c+\beta PV^\star\le V^\star\le v+\varepsilon`."""
    sol = solve_stopping(prob, PolicyIteration())
    assert sol.status is Status.CERTIFIED
    g, c, beta = prob.gains_at(0), prob.cost(0), prob.discount
    v, u, eps = sol.values, sol.upper, sol.error_bound
    P = prob.chain.csr(0)
    tol = 1e-10 * (1 + np.abs(v))
    assert np.all(v >= g - tol) and np.all(u >= v - tol)
    assert np.all(v >= -c + beta * (P @ v) - eps - tol)
    assert np.all(u >= -c + beta * (P @ u) - eps - tol)


@given(markov_stopping_problems(max_states=6, infinite=True))
def test_infinite_horizon_envelope_is_a_certified_supermartingale(prob) -> None:
    check_infinite_envelope(prob)


@pytest.mark.slow
@settings(max_examples=300)
@given(markov_stopping_problems(max_states=20, infinite=True))
def test_infinite_horizon_envelope_is_a_certified_supermartingale_large(prob) -> None:
    check_infinite_envelope(prob)
