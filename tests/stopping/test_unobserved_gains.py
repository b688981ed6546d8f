"""Gains a policy cannot see (docs/science.md §B7.2): the label-oracle trap is refused or reported."""

from __future__ import annotations

import numpy as np
import pytest

from stochdepth import Status
from stochdepth.stopping import (
    GainThreshold,
    LongstaffSchwartz,
    OneStepLookAhead,
    PathStoppingProblem,
    PathwiseMaximum,
    Polynomial,
    solve_stopping,
)


def _label_paths(rng: np.random.Generator, n: int = 4000, L: int = 5) -> PathStoppingProblem:
    """Features: a confidence that rises with depth; gains: a coin with that success probability."""
    conf = np.clip(0.5 + 0.08 * np.arange(L + 1)[None, :] + 0.05 * rng.standard_normal((n, L + 1)), 0, 1)
    correct = rng.random((n, L + 1)) < conf
    return PathStoppingProblem(conf, correct.astype(float), 0.03, gains_observed=False)


def test_deterministic_needs_declared_observed_gains() -> None:
    G = np.array([[0.0, 0.5, 0.6]])
    with pytest.raises(ValueError, match="gains_observed=True"):
        PathStoppingProblem(np.zeros((1, 3)), G, deterministic=True)
    with pytest.raises(ValueError, match="gains_observed=True"):
        PathStoppingProblem(np.zeros((1, 3)), G, deterministic=True, gains_observed=False)
    with pytest.raises(TypeError, match="gains_observed"):
        PathStoppingProblem(np.zeros((1, 3)), G, gains_observed="yes")


def test_deterministic_paths_with_equal_starts_and_other_gains_are_refused() -> None:
    """Two paths with the same features (the same input) but other gains: the gain reads a label."""
    X = np.zeros((2, 3))
    G = np.array([[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    with pytest.raises(ValueError, match="path 1 has the same start as path 0"):
        PathStoppingProblem(X, G, deterministic=True, gains_observed=True)


def test_pathwise_maximum_of_label_gains_is_an_upper_bound_not_exact(seed: int) -> None:
    paths = _label_paths(np.random.default_rng(seed))
    res = solve_stopping(paths, PathwiseMaximum())
    assert not res.exact and res.status is Status.UPPER_BOUND and "label oracle" in res.message
    # the oracle beats the best feature rule by far: it is no policy
    best_rule = max(
        GainThreshold(th, feature=0).evaluate(paths).value.value for th in np.linspace(0.4, 1.0, 25)
    )
    assert res.value.value > best_rule + 0.1


def test_policies_are_not_given_unobserved_gains(seed: int) -> None:
    paths = _label_paths(np.random.default_rng(seed), n=200)
    with pytest.raises(ValueError, match="gains_observed=False"):
        GainThreshold(0.5).stopping_times(paths)
    assert paths.decision_gains(0) is None
    # a feature rule works
    assert GainThreshold(0.7, feature=0).stopping_times(paths).shape == (200,)


def test_regression_decisions_do_not_depend_on_the_realised_gains(seed: int) -> None:
    """Fitted once, the regression policies decide the same whatever the test paths' gains are."""
    rng = np.random.default_rng(seed)
    train, test = _label_paths(rng), _label_paths(rng, n=1000)
    scrambled = PathStoppingProblem(
        test.features,
        rng.permutation(test.gains.ravel()).reshape(test.gains.shape),
        0.03,
        gains_observed=False,
    )
    for pol in (LongstaffSchwartz(Polynomial(2)).fit(train, rng), OneStepLookAhead.fit(train, rng=rng)):
        np.testing.assert_array_equal(pol.stopping_times(test), pol.stopping_times(scrambled))


def test_a_feature_policy_earns_the_conditional_mean_of_the_realised_gain(seed: int) -> None:
    """docs/science.md §B7.2: for a stopping time of the features, E[G_tau] = E[E(G_tau | F_tau)]. The
    gains are coins with success probability conf, so the mean coin and the mean conf at the regression
    policy's tau agree within 5 standard errors of their paired difference; at the label oracle's tau
    (which reads the coins) they do not."""
    rng = np.random.default_rng(seed)
    n, L = 20000, 5
    conf = np.clip(0.5 + 0.08 * np.arange(L + 1)[None, :] + 0.05 * rng.standard_normal((n, L + 1)), 0, 1)
    coins = (rng.random((n, L + 1)) < conf).astype(float)
    train = PathStoppingProblem(conf[: n // 2], coins[: n // 2], 0.03, gains_observed=False)
    test = PathStoppingProblem(conf[n // 2 :], coins[n // 2 :], 0.03, gains_observed=False)
    rows = np.arange(test.n_paths)

    def paired_z(tau: np.ndarray) -> float:
        d = test.gains[rows, tau] - test.features[rows, tau, 0]
        return float(d.mean() / (d.std(ddof=1) / np.sqrt(d.size)))

    tau = LongstaffSchwartz(Polynomial(2)).fit(train, rng).stopping_times(test)
    assert abs(paired_z(tau)) <= 5
    assert paired_z(solve_stopping(test, PathwiseMaximum()).tau) > 5


def test_automatic_itm_only_never_reads_unobserved_gains(seed: int) -> None:
    """Default ``itm_only`` (no costs, gains >= 0) holds only for observed gains; stated, it is refused."""
    paths = _label_paths(np.random.default_rng(seed), n=500)
    free = PathStoppingProblem(paths.features, paths.gains, 0.0, gains_observed=False)
    seen = PathStoppingProblem(paths.features, paths.gains, 0.0, gains_observed=True)
    assert LongstaffSchwartz().fit(seen, seed).itm_only
    assert not LongstaffSchwartz().fit(free, seed).itm_only
    with pytest.raises(ValueError, match="unobserved"):
        LongstaffSchwartz(itm_only=True).fit(free, seed)
