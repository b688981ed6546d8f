"""Choosing an exit policy by cross-validation (stochdepth.depth.CrossValidatedExit), and regression
policies restricted to named features."""

from __future__ import annotations

import numpy as np
import pytest
from exit_chain import chain_trace

from stochdepth.depth import (
    BellmanExit,
    ConfidenceExit,
    CrossValidatedExit,
    ExitProblem,
    LookAheadExit,
    PatienceExit,
    policy_curve,
)
from stochdepth.stopping import Polynomial

L_EXITS = 6


def _problem(seed: int, cost: float, n: int = 3000) -> ExitProblem:
    trace, _ = chain_trace(seed, n, L_EXITS, logit_noise=0.2)
    return ExitProblem.from_trace(trace, cost=cost)


@pytest.mark.parametrize(("cost", "best"), [(0.001, 1), (0.3, 0)])
def test_the_clearly_better_candidate_wins(seed: int, cost: float, best: int) -> None:
    # exit at once (threshold 0) against never before the last exit (a confidence of 1 is never
    # reached): at a tiny price the last exit's accuracy wins by far, at a high one its cost loses
    cal = _problem(seed, cost)
    first, last = ConfidenceExit(0.0), ConfidenceExit(1.0)
    cv = CrossValidatedExit([first, last], folds=4).fit(cal, rng=seed)
    assert int(np.argmax(cv.scores)) == best
    assert cv.chosen is not None and cv.chosen.threshold == (0.0, 1.0)[best]
    test = _problem(seed + 1, cost)
    expected = np.zeros(test.n_samples) if best == 0 else np.full(test.n_samples, L_EXITS - 1)
    np.testing.assert_array_equal(cv.exits(test), expected)
    assert cv.label == f"cross-validated confidence {(0.0, 1.0)[best]:.4g}"


def test_a_rule_that_learns_nothing_scores_its_calibration_reward(seed: int) -> None:
    # a fixed threshold does not depend on the training folds, so the mean of its held-out rewards over
    # all folds is its mean reward on the whole calibration split, whatever the folds
    cal = _problem(seed, 0.02, n=1001)
    fixed = ConfidenceExit(0.8)
    cv = CrossValidatedExit([fixed, PatienceExit(2)], folds=3).fit(cal, rng=seed)
    direct = fixed.fit(cal).evaluate(cal).reward.value
    assert cv.scores[0] == pytest.approx(direct, rel=1e-12, abs=1e-15)
    # the policy that decides is the best-scoring candidate, refitted on the whole split
    winner = (fixed, PatienceExit(2))[int(np.argmax(cv.scores))]
    assert type(cv.chosen) is type(winner) and repr(cv.chosen) == repr(winner)


def test_regression_on_named_features_equals_a_problem_with_only_those(seed: int) -> None:
    trace, _ = chain_trace(seed, 2000, L_EXITS, logit_noise=0.2)
    full = ExitProblem.from_trace(trace, cost=0.02)
    only = ExitProblem.from_trace(trace, cost=0.02, features=("confidence",))
    for cls in (BellmanExit, LookAheadExit):
        named = cls(Polynomial(3), features=("confidence",)).fit(full, rng=seed)
        plain = cls(Polynomial(3)).fit(only, rng=seed)
        np.testing.assert_array_equal(named.exits(full), plain.exits(only))
        assert named.label == f"{cls.name} (confidence)"
    bounds = BellmanExit(Polynomial(3), features=("confidence",)).fit(full, rng=seed).bounds(full, rng=1)
    assert bounds.lower.value <= bounds.upper_oracle.value


def test_cross_validated_policies_sweep_the_price(seed: int) -> None:
    cal, test = _problem(seed, 0.0), _problem(seed + 1, 0.0)
    candidates = [BellmanExit(Polynomial(1)), BellmanExit(Polynomial(3), features=("confidence",))]
    cv = CrossValidatedExit(candidates)
    curve = policy_curve(cv, cal, test, np.array([0.0, 0.01, 0.1]), rng=seed)
    assert curve.mean_depth.shape == (3,)
    assert curve.mean_depth[0] >= curve.mean_depth[-1]  # a higher price never makes the exits later here


def test_bad_input_names_the_parameter(seed: int) -> None:
    with pytest.raises(TypeError, match="candidates"):
        CrossValidatedExit([])
    with pytest.raises(TypeError, match="candidates must hold"):
        CrossValidatedExit([ConfidenceExit(), "bellman"])
    with pytest.raises(ValueError, match="folds"):
        CrossValidatedExit([ConfidenceExit()], folds=1)
    with pytest.raises(ValueError, match="too small for 5-fold"):
        CrossValidatedExit([ConfidenceExit()]).fit(_problem(seed, 0.01, n=9))
    with pytest.raises(TypeError, match="features"):
        BellmanExit(features="confidence")
    with pytest.raises(ValueError, match=r"features \['depth'\]"):
        BellmanExit(features=("depth",)).fit(_problem(seed, 0.01, n=200))
