"""Exit policies on synthetic traces whose optimal policy is known (docs/science.md §B7)."""

from __future__ import annotations

import numpy as np
import pytest
from exit_chain import ACC, INIT, MARGINS, P, chain_trace

from stochdepth.depth import (
    BellmanExit,
    ConfidenceExit,
    EntropyExit,
    ExitProblem,
    LookAheadExit,
    OracleExit,
    PatienceExit,
    RiskControlledExit,
)
from stochdepth.stopping import BackwardInduction, GainThreshold, PathStoppingProblem, Patience, Polynomial
from stochdepth.testing import Z_MAX
from stochdepth.testing.exit_traces import markov_exit_reference, resolving_exit_trace

L_EXITS, COST = 8, 0.02


def _markov(seed: int, n: int = 40000) -> tuple[ExitProblem, ExitProblem]:
    tr, _ = chain_trace(seed, n, L_EXITS)
    return ExitProblem.from_trace(tr, cost=COST, features=("confidence",)).split(0.5, rng=seed)


def _all_policies() -> list:
    return [
        ConfidenceExit(),
        EntropyExit(),
        PatienceExit(),
        LookAheadExit(),
        BellmanExit(),
        RiskControlledExit(0.05, 0.1),
    ]


def test_bellman_reaches_the_exact_snell_value_of_the_markov_trace(seed: int) -> None:
    """The confidence reveals the hidden state, so the best feature policy is the Snell policy of the
    chain with gains q(s) - c (l + 1) (exact, by backward induction). With a cubic basis on 4 distinct
    confidences the regression can represent every function of the state, so the fitted policy is the
    exact one unless estimation flips a near-tie; the test first checks there is none (margin c = 0.02, at
    least 6 standard errors of the fitted difference of gain and continuation on 40 000 samples)."""
    ref = BackwardInduction().solve(markov_exit_reference(P, INIT, ACC, L_EXITS, COST))
    gains = np.stack([ACC - COST * (l + 1) for l in range(L_EXITS)])
    cont = np.stack([P @ ref.values[l + 1] for l in range(L_EXITS - 1)])
    assert np.min(np.abs(gains[:-1] - cont)) >= COST - 1e-12  # the absorbing state: gap = c
    cal, test = _markov(seed, 80000)
    pol = BellmanExit(Polynomial(3)).fit(cal, rng=seed)
    ev = pol.evaluate(test)
    assert abs(ev.reward.value - ref.value()) <= Z_MAX * ev.reward.stderr
    # second way: the fitted decisions on each (exit, state) equal the exact stopping table
    conf = np.exp(MARGINS) / (np.exp(MARGINS) + 1)
    sp = PathStoppingProblem(
        np.tile(conf[:, None], (1, L_EXITS)), np.zeros((4, L_EXITS)), gains_observed=False
    )
    table = np.stack([pol._policy.stop(l, sp.features[:, l], None) for l in range(L_EXITS - 1)])
    np.testing.assert_array_equal(table, ref.stop[:-1])


def test_bounds_bracket_the_policy(seed: int) -> None:
    cal, test = _markov(seed, 20000)
    pol = BellmanExit().fit(cal, rng=seed)
    b = pol.bounds(test, rng=seed)
    # consistency: the lower bound is the policy's own test reward
    assert b.lower.value == pytest.approx(pol.evaluate(test).reward.value, abs=1e-12)
    assert b.upper_oracle.value >= b.lower.value and b.oracle_gap > 0
    assert b.upper_dual.value >= b.lower.value - Z_MAX * np.hypot(b.lower.stderr, b.upper_dual.stderr)
    assert not b.upper_dual_valid


def test_every_rule_finds_the_resolving_depth(seed: int) -> None:
    """Each sample is wrong and unsure until its depth d_i, then right and sure: at a small cost the
    optimal exit is d_i, which the confidence threshold, the Bellman policy and the oracle find."""
    tr, depth = resolving_exit_trace(seed, 4000, 6)
    prob = ExitProblem.from_trace(tr, cost=0.01)
    cal, test = prob.subset(np.arange(2000)), prob.subset(np.arange(2000, 4000))
    for pol in (ConfidenceExit(), EntropyExit(), BellmanExit(), OracleExit()):
        np.testing.assert_array_equal(pol.fit(cal, rng=seed).exits(test), depth[2000:], err_msg=pol.name)


def test_the_oracle_dominates_every_policy_sample_by_sample(seed: int) -> None:
    cal, test = _markov(seed, 10000)
    R = test.rewards
    rows = np.arange(test.n_samples)
    best = R[rows, OracleExit().fit(cal).exits(test)]
    np.testing.assert_allclose(best, R.max(axis=1))
    for pol in _all_policies():
        got = R[rows, pol.fit(cal, rng=seed).exits(test)]
        assert np.all(best >= got), pol.name


def test_patience_and_confidence_agree_with_the_generic_rules(seed: int) -> None:
    """Two implementations: the vectorised exit rules and the generic stopping policies."""
    cal, test = _markov(seed, 4000)
    preds = PathStoppingProblem(test.predictions.astype(float), np.zeros(test.predictions.shape))
    for k in (1, 2, 3):
        np.testing.assert_array_equal(
            PatienceExit(k).fit(cal).exits(test), Patience(k).stopping_times(preds), err_msg=f"patience {k}"
        )
    confs = PathStoppingProblem(test.confidence, np.zeros(test.confidence.shape))
    for th in (0.6, 0.8, 0.9):
        np.testing.assert_array_equal(
            ConfidenceExit(th).fit(cal).exits(test), GainThreshold(th, feature=0).stopping_times(confs)
        )


def test_fitted_threshold_is_the_best_on_calibration(seed: int) -> None:
    """Brute force over every threshold between observed confidences gives the same calibration reward."""
    cal, _ = _markov(seed, 4000)
    pol = ConfidenceExit().fit(cal)
    R = cal.rewards
    rows = np.arange(cal.n_samples)
    brute = max(R[rows, ConfidenceExit(t).fit(cal).exits(cal)].mean() for t in np.unique(cal.confidence))
    assert R[rows, pol.exits(cal)].mean() == pytest.approx(max(brute, R[:, -1].mean()), abs=1e-12)


def test_policies_choose_exits_on_unlabelled_data(seed: int) -> None:
    cal, _ = _markov(seed, 4000)
    blind = ExitProblem.from_trace(
        chain_trace(seed, 100, L_EXITS)[0],
        features=("confidence",),
        labelled=False,
    )
    pol = BellmanExit().fit(cal, rng=seed)
    assert pol.exits(blind).shape == (100,)
    with pytest.raises(ValueError, match="unlabelled"):
        pol.evaluate(blind)
    with pytest.raises(ValueError, match="unlabelled"):
        OracleExit().fit(cal).exits(blind)
    with pytest.raises(ValueError, match="unlabelled"):
        ConfidenceExit().fit(blind)


def test_bad_input(seed: int) -> None:
    cal, test = _markov(seed, 400)
    with pytest.raises(ValueError, match="call fit"):
        BellmanExit().exits(test)
    with pytest.raises(ValueError, match="calibration split too small"):
        BellmanExit(Polynomial(6)).fit(cal.subset(np.arange(10)))
    with pytest.raises(ValueError, match=r"unknown parameter.*'thresh'"):
        ConfidenceExit().with_params(thresh=0.5)
    with pytest.raises(TypeError, match="basis"):
        BellmanExit(basis=3)
    with pytest.raises(ValueError, match="patience"):
        PatienceExit(0)
    with pytest.raises(TypeError, match="calibration"):
        ConfidenceExit().fit(np.zeros((3, 3)))
    other = ExitProblem.from_trace(resolving_exit_trace(seed, 20, L_EXITS + 1)[0], features=("confidence",))
    with pytest.raises(ValueError, match="mismatched exits"):
        ConfidenceExit().fit(cal).evaluate(other)
    pol = BellmanExit().fit(cal)
    with pytest.raises(ValueError, match="cost"):
        pol.bounds(test.with_cost(0.5))
