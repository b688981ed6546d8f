"""Policies: one-step look-ahead on monotone and non-monotone problems, myopic rules, exact vs Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from stochdepth.stopping import (
    GainThreshold,
    MarkovStoppingProblem,
    OneStepLookAhead,
    PathStoppingProblem,
    Patience,
    Polynomial,
    is_monotone,
    solve_stopping,
)

from .strategies import markov_problems, monotone_problems


@given(monotone_problems())
def test_osla_is_optimal_on_monotone_problems(prob: MarkovStoppingProblem) -> None:
    """Monotone case (docs/science.md §B2; Chow-Robbins-Siegmund Thm 3.5): look-ahead value = Snell value."""
    assert is_monotone(prob)
    osla = OneStepLookAhead.fit(prob).evaluate(prob)
    assert osla.exact
    assert osla.value.value == pytest.approx(solve_stopping(prob).value(), abs=1e-9)


@given(markov_problems())
def test_osla_never_beats_snell(prob: MarkovStoppingProblem) -> None:
    """Any policy's exact value is at most the Snell value: look-ahead and thresholds included."""
    v = solve_stopping(prob).value()
    for pol in (OneStepLookAhead.fit(prob), GainThreshold(0.0), GainThreshold(1.0)):
        assert pol.evaluate(prob).value.value <= v + 1e-9


def test_osla_strictly_worse_on_non_monotone_problem() -> None:
    """0 -> 1 -> 2 deterministically, gains (0, -1, 10), cost 0.1 per layer. Look-ahead compares 0 with
    -1 - 0.1 and stops at once (value 0); the optimum goes through the dip: 10 - 0.2 = 9.8."""
    P = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
    prob = MarkovStoppingProblem(P, [0.0, -1.0, 10.0], 0.1, horizon=3, initial=0)
    assert not is_monotone(prob)
    assert OneStepLookAhead.fit(prob).evaluate(prob).value.value == 0.0
    sol = solve_stopping(prob)
    assert sol.value() == pytest.approx(9.8, abs=1e-14)
    assert sol.depth_law().mean.value == 2.0


def test_osla_infinite_horizon_monotone_walk() -> None:
    """Upward walk with concave increments is monotone in infinite horizon too: look-ahead = Snell value."""
    n = 30
    P = np.zeros((n, n))
    for s in range(n - 1):
        P[s, s + 1] = 0.7
        P[s, s] = 0.3
    P[-1, -1] = 1.0
    g = np.sqrt(np.arange(n, dtype=float))
    prob = MarkovStoppingProblem(P, g, 0.05, initial=0)
    assert is_monotone(prob)
    assert OneStepLookAhead.fit(prob).evaluate(prob).value.value == pytest.approx(
        solve_stopping(prob).value(), abs=1e-10
    )


def test_exact_evaluation_matches_monte_carlo(seed: int) -> None:
    """Exact (chain) evaluation of a policy against 40 000 sampled paths, within 5 standard errors."""
    rng = np.random.default_rng(seed)
    P = rng.random((6, 6)) ** 2
    P /= P.sum(1, keepdims=True)
    prob = MarkovStoppingProblem(P, rng.normal(size=6), 0.05, horizon=10, initial=np.full(6, 1 / 6))
    paths = prob.sample_paths(40_000, rng=seed)
    for pol in (OneStepLookAhead.fit(prob), GainThreshold(0.5), solve_stopping(prob).policy):
        exact = pol.evaluate(prob)
        mc = pol.evaluate(paths)
        assert abs(mc.value.value - exact.value.value) < 5 * mc.value.stderr
        assert abs(mc.depth.mean.value - exact.depth.mean.value) < 5 * mc.depth.mean.stderr + 1e-12


def test_patience_and_threshold_rules() -> None:
    """Patience stops once the prediction is unchanged for k layers; thresholds on gain or feature."""
    preds = np.array([[0, 1, 1, 1, 1, 1], [2, 2, 2, 0, 0, 0], [0, 1, 0, 1, 0, 1]], dtype=float)
    conf = np.array([[0.1, 0.2, 0.9, 0.95, 0.3, 0.3], [0.8, 0.1, 0.1, 0.1, 0.1, 0.1], [0.0] * 6])
    X = np.stack([preds, conf], axis=2)
    G = np.cumsum(np.ones((3, 6)), axis=1) / 6
    paths = PathStoppingProblem(X, G, 0.01)
    assert Patience(1).stopping_times(paths).tolist() == [2, 1, 5]
    assert Patience(3).stopping_times(paths).tolist() == [4, 5, 5]
    assert GainThreshold(0.85, feature=1).stopping_times(paths).tolist() == [2, 5, 5]
    assert GainThreshold(0.5).stopping_times(paths).tolist() == [2, 2, 2]
    ev = Patience(2).evaluate(paths)
    assert not ev.exact and ev.n_paths == 3
    with pytest.raises(ValueError, match="feature=3"):
        Patience(1, feature=3).stopping_times(paths)
    with pytest.raises(ValueError, match="patience must be an int >= 1"):
        Patience(0)
    with pytest.raises(TypeError, match="path-dependent"):
        Patience(1).stop(0, X[:, 0], G[:, 0])


def test_path_dependent_policy_on_chain_uses_monte_carlo(seed: int) -> None:
    """Patience on a chain (features = state) needs sampled paths and reports a Monte Carlo estimate."""
    prob = MarkovStoppingProblem([[0.9, 0.1], [0.1, 0.9]], [0.0, 1.0], 0.01, horizon=6, initial=0)
    with pytest.raises(ValueError, match="n_paths is required"):
        Patience(2).evaluate(prob)
    ev = Patience(2).evaluate(prob, n_paths=2000, rng=seed)
    assert not ev.exact and ev.value.stderr > 0
    assert ev.value.value <= solve_stopping(prob).value() + 5 * ev.value.stderr


def test_osla_regression_on_paths_matches_exact_on_chain(seed: int) -> None:
    """Look-ahead fitted by regression on 20 000 sampled chain paths (a cubic in the state index represents
    any function of 4 states exactly) takes the exact rule's decision wherever the exact one-step margin
    g_l - (-c + P g_{l+1}) exceeds 5 standard errors of its regression estimate."""
    rng = np.random.default_rng(seed)
    P = rng.random((4, 4))
    P /= P.sum(1, keepdims=True)
    prob = MarkovStoppingProblem(P, rng.normal(size=(6, 4)), 0.1, initial=np.full(4, 0.25))
    paths = prob.sample_paths(20_000, rng=seed)
    fitted = OneStepLookAhead.fit(paths, basis=Polynomial(3), rng=seed)
    exact = OneStepLookAhead.fit(prob)
    states = np.arange(4, dtype=float)[:, None]
    x = paths.features[:, :, 0]
    checked = 0
    for l in range(5):
        margin = prob.gains_at(l) - (-0.1 + P @ prob.gains_at(l + 1))
        se = np.array(
            [paths.gains[x[:, l] == s, l + 1].std() / np.sqrt(max((x[:, l] == s).sum(), 1)) for s in range(4)]
        )
        clear = np.abs(margin) > 5 * se
        got = fitted.stop(l, states, prob.gains_at(l))
        np.testing.assert_array_equal(got[clear], exact.stop(l, states, prob.gains_at(l))[clear])
        checked += int(clear.sum())
    assert checked >= 10  # most decisions are clear-cut: the test has power
