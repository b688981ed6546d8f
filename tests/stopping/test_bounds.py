"""The finite-depth bounds of docs/science.md §B2 on random residual families and chains."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from stochdepth.depth import ResidualFamily, residual_path_problem
from stochdepth.stopping import (
    MarkovStoppingProblem,
    PathwiseMaximum,
    bounded_gains_bound,
    geometric_depth_bound,
    solve_stopping,
    summable_residuals_bound,
)
from stochdepth.testing.strategies import residual_families

from .strategies import markov_problems


@given(residual_families(satisfying=True))
def test_bounds_hold_on_satisfying_families(fam: ResidualFamily) -> None:
    """Residual norms <= C rho^l, 1-Lipschitz gain, positive cost, deterministic: every hypothesis is
    reported as holding and all three conclusions hold; tightness in [0, 1]."""
    prob = fam.problem
    geo = geometric_depth_bound(prob, fam.lipschitz, fam.rho, C=fam.C)
    summ = summable_residuals_bound(
        prob, fam.lipschitz, residual_bounds=fam.C * fam.rho ** np.arange(prob.horizon)
    )
    bg = bounded_gains_bound(prob)
    for b in (geo, summ, bg):
        assert b.hypotheses_hold, b.hypotheses
        assert b.holds
        assert math.isnan(b.tightness) or 0.0 <= b.tightness <= 1.0 + 1e-12
    assert geo.max_depth <= geo.bound
    # the pathwise proof gives the stronger statement tau* <= l_bar on every path
    assert np.all(PathwiseMaximum().solve(prob).tau <= geo.bound)


@given(residual_families(satisfying=False))
def test_violated_hypotheses_are_never_silent(fam: ResidualFamily) -> None:
    """Families violating B2's hypotheses (growing residuals declared as decaying, or a gain steeper than
    the declared Lipschitz constant): whenever a conclusion fails, the report flags a hypothesis; when
    nothing is flagged the conclusion holds."""
    prob = fam.problem
    geo = geometric_depth_bound(prob, fam.lipschitz, fam.rho, C=fam.C)
    summ = summable_residuals_bound(
        prob, fam.lipschitz, residual_bounds=fam.C * fam.rho ** np.arange(prob.horizon)
    )
    for b in (geo, summ):
        assert b.holds or not b.hypotheses_hold, (b.name, b.hypotheses)
    if fam.violation == "growth" and prob.horizon >= 2:
        assert not geo.hypotheses["geometric_decay"]


def test_counterexamples_show_the_hypotheses_matter() -> None:
    """Constructed violations where the conclusion fails, and the report says why.

    (a) Gain 10 |h - y| steeper than declared (L_g = 1): h moves 0.1 per layer towards y = 100 at cost 0.5,
        each layer gains 1 > 0.5 so tau* = L = 20, above L_g S / c = 0.1 * 20 / 0.5 = 4.
    (b) Residuals 0.1 * 1.2^l declared as C = 0.1, rho = 0.5 with L_g = 1, c = 0.05: l_bar =
        ceil(ln(0.5) / ln(0.5)) = 1, but each layer gains 0.1 * 1.2^l > 0.05, so tau* = L = 10.
    """
    h0 = np.zeros((1, 1))
    a = residual_path_problem(
        lambda l, h: np.full_like(h, 0.1), lambda h: -10 * np.abs(h[:, 0] - 100), h0, 20, 0.5
    )
    b = summable_residuals_bound(a, 1.0, residual_bounds=np.full(20, 0.1))
    assert b.expected_depth.value == 20 and b.bound == pytest.approx(4.0)
    assert not b.holds and not b.hypotheses["lipschitz_consistent"]
    assert b.details["observed_lipschitz"] == pytest.approx(10.0)
    g = residual_path_problem(
        lambda l, h: np.full_like(h, 0.1 * 1.2**l), lambda h: -np.abs(h[:, 0] - 100), h0, 10, 0.05
    )
    gb = geometric_depth_bound(g, 1.0, 0.5, C=0.1)
    assert gb.bound == 1.0 and gb.max_depth == 10.0
    assert not gb.holds and not gb.hypotheses["geometric_decay"]


def test_geometric_bound_is_attained() -> None:
    """Tightness 1: f_l = -C rho^l sign(h) towards 0 with gain -|h|, C = 1, rho = 0.5, c = 0.1: the gain rises
    by rho^l per layer, worth it while rho^l > c, i.e. l <= 3 (0.125 > 0.1 > 0.0625): tau* = 4 =
    l_bar = ceil(ln(0.1) / ln(0.5)) = ceil(3.32)."""
    prob = residual_path_problem(
        lambda l, h: -(0.5**l) * np.sign(h), lambda h: -np.abs(h[:, 0]), np.array([[5.0]]), 12, 0.1
    )
    gb = geometric_depth_bound(prob, 1.0, 0.5, C=1.0)
    assert gb.bound == 4.0 and gb.max_depth == 4.0 and gb.tightness == 1.0


@settings(max_examples=20)
@given(markov_problems(max_states=4, max_horizon=5), hst.integers(1, 4))
def test_bounded_gains_bound_on_chains(prob: MarkovStoppingProblem, k: int) -> None:
    """E tau* <= (E sup_l G_l - E G_0) / c on random chains with c > 0 and beta = 1 (exact: E sup G by
    thresholds, E tau* by backward induction); E sup G checked against brute-force path enumeration."""
    prob = MarkovStoppingProblem(
        _dense(prob), prob.gains, np.full(prob.horizon, k / 8.0), horizon=prob.horizon, initial=prob.initial
    )
    b = bounded_gains_bound(prob)
    assert b.hypotheses_hold and b.holds
    assert b.details["E_sup_minus_G0"] == pytest.approx(
        _brute_sup(prob) - prob.initial @ prob.gains_at(0), abs=1e-9
    )


def test_bounded_gains_bound_infinite_horizon() -> None:
    """Infinite horizon: E sup G by hitting probabilities. Walk up with probability 0.3 (else stay) to an
    absorbing top with gain 1 from gains 0: E sup G = 1 (the top is reached a.s.), bound (1 - 0)/c."""
    n = 5
    P = np.zeros((n, n))
    for s in range(n - 1):
        P[s, s] = 0.7
        P[s, s + 1] = 0.3
    P[-1, -1] = 1.0
    g = np.zeros(n)
    g[-1] = 1.0
    prob = MarkovStoppingProblem(P, g, 0.02, initial=0)
    b = bounded_gains_bound(prob)
    assert b.bound == pytest.approx(50.0, rel=1e-10)
    # optimal: go to the top (expected 4 / 0.3 layers, cost 0.267 < 1): E tau* = 13.33
    assert b.expected_depth.value == pytest.approx(4 / 0.3, rel=1e-10)
    assert b.holds and b.tightness == pytest.approx(4 / 0.3 / 50.0)


def test_bounds_on_recorded_non_deterministic_paths(seed: int) -> None:
    """Noisy paths (not deterministic): E tau* comes from Longstaff-Schwartz; the bound's Monte Carlo error
    is reported and the geometric bound flags the missing determinism."""
    rng = np.random.default_rng(seed)
    n, L = 4000, 8
    h = np.cumsum(
        np.concatenate([rng.normal(size=(n, 1)), 0.5 ** np.arange(L) * rng.normal(size=(n, L))], 1), 1
    )
    from stochdepth.stopping import PathStoppingProblem

    prob = PathStoppingProblem(h, -np.abs(h - 0.3), 0.05)
    b = bounded_gains_bound(prob, rng=seed)
    assert b.bound_stderr > 0 and b.holds
    geo = geometric_depth_bound(prob, 1.0, 0.5, rng=seed)
    assert not geo.hypotheses["deterministic"] and not geo.hypotheses_hold
    with pytest.raises(ValueError, match="deterministic"):
        bounded_gains_bound(prob, solution=solve_stopping(prob, PathwiseMaximum()))


def _dense(prob: MarkovStoppingProblem) -> np.ndarray:
    k = prob.chain.n_matrices
    mats = np.stack([prob.chain.csr(l).toarray() for l in range(k)])
    return mats[0] if k == 1 else mats


def _brute_sup(prob: MarkovStoppingProblem) -> float:
    """E max_l g_l(s_l) by enumerating every path."""
    L = prob.horizon
    assert L is not None
    n = prob.n_states
    mu = prob.initial_law()
    total = 0.0

    def rec(l: int, s: int, p: float, best: float) -> None:
        nonlocal total
        best = max(best, float(prob.gains_at(l)[s]))
        if l == L:
            total += p * best
            return
        row = prob.chain.csr(l).toarray()[s]
        for t in range(n):
            if row[t] > 0:
                rec(l + 1, t, p * row[t], best)

    for s in range(n):
        if mu[s] > 0:
            rec(0, s, mu[s], -np.inf)
    return total
