"""Curves of exit policies: Pareto fronts, bootstrap and seed intervals, the area to the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from exit_chain import chain_trace

from stochdepth.depth import (
    BellmanExit,
    ConfidenceExit,
    ExitProblem,
    OracleExit,
    PatienceExit,
    PolicyCurve,
    evaluate_exits,
    policy_curve,
    seed_curve,
)


def _split(seed: int, n: int = 6000) -> tuple[ExitProblem, ExitProblem]:
    tr, _ = chain_trace(seed, n, 8)
    return ExitProblem.from_trace(tr, cost=0.02, features=("confidence", "agreement")).split(0.5, rng=seed)


def _curve(depth: list[float], acc: list[float], label: str = "c") -> PolicyCurve:
    m = len(depth)
    a = np.array(acc)
    return PolicyCurve(
        label,
        "threshold",
        np.arange(m, dtype=float),
        np.array(depth),
        10 * np.array(depth),
        a,
        a,
        a,
        a,
        np.ones((m, 3)),
        0.95,
        100,
    )


def test_curve_interface_and_consistency(seed: int) -> None:
    cal, test = _split(seed)
    curve = policy_curve(ConfidenceExit(), cal, test, np.linspace(0.5, 1.0, 7), rng=seed)
    m = 7
    for name in ("mean_depth", "mean_flops", "accuracy", "accuracy_low", "accuracy_high", "reward"):
        assert getattr(curve, name).shape == (m,), name
    assert curve.exit_histograms.shape == (m, 8) and curve.label == "confidence"
    assert np.all(curve.exit_histograms.sum(axis=1) == test.n_samples)
    # two ways to the mean depth: the histogram against the exits' depths, and the evaluation
    np.testing.assert_allclose(curve.mean_depth, curve.exit_histograms @ test.depths / test.n_samples)
    ev = ConfidenceExit(0.75).fit(cal).evaluate(test)
    assert curve.accuracy[3] == pytest.approx(ev.accuracy) and curve.mean_depth[3] == pytest.approx(
        ev.mean_depth
    )
    assert np.all(curve.accuracy_low <= curve.accuracy) and np.all(curve.accuracy <= curve.accuracy_high)


def test_bootstrap_interval_matches_the_binomial_width(seed: int) -> None:
    """For a mean of n Bernoulli(a) the percentile bootstrap interval is about a +- 1.96 sqrt(a(1-a)/n);
    with 2000 resamples its half-width is within 10% of that (its own Monte Carlo error is ~2%)."""
    cal, test = _split(seed, 8000)
    c = policy_curve(PatienceExit(), cal, test, [2], n_boot=2000, rng=seed)
    a, n = c.accuracy[0], test.n_samples
    half = (c.accuracy_high[0] - c.accuracy_low[0]) / 2
    assert half == pytest.approx(1.959964 * np.sqrt(a * (1 - a) / n), rel=0.1)


def test_area_between_step_fronts_by_hand() -> None:
    """Oracle front 0.8 on [1, 3); policy 0.5 on [1, 2) and 0.7 on [2, 3): area 0.3 + 0.1 = 0.4."""
    oracle = _curve([1.0, 3.0], [0.8, 1.0], "oracle")
    pol = _curve([3.0, 2.0, 1.0, 2.5], [0.9, 0.7, 0.5, 0.6])
    assert pol.area_to(oracle) == pytest.approx(0.4)
    assert pol.area_to(oracle, against="flops") == pytest.approx(4.0)
    assert oracle.area_to(oracle) == 0.0
    front = pol.front()
    np.testing.assert_array_equal(front.mean_depth, [1.0, 2.0, 3.0])
    assert np.all(np.diff(front.accuracy) > 0)
    # beyond the oracle's deepest point its front stays flat: [3, 4) adds (1.0 - 0.9) * 1
    assert _curve([1.0, 3.0, 4.0], [0.5, 0.9, 0.95]).area_to(oracle) == pytest.approx(0.3 * 2 + 0.1 * 1)
    assert np.isnan(_curve([0.0, 0.5], [0.1, 0.2]).area_to(oracle))
    with pytest.raises(ValueError, match="against"):
        pol.area_to(oracle, against="time")


def test_oracle_curve_bounds_the_policies(seed: int) -> None:
    """Swept over the cost, the oracle's accuracy at each cost is at least any policy's at that cost
    (sample by sample it maximises accuracy minus cost times depth); the Bellman curve's area to it is
    positive and below the depth range times the largest accuracy gap."""
    cal, test = _split(seed)
    costs = [0.0, 0.01, 0.02, 0.05, 0.1]
    oracle = policy_curve(OracleExit(), cal, test, costs, rng=seed)
    bell = policy_curve(BellmanExit(), cal, test, costs, rng=seed)
    assert np.all(oracle.reward >= bell.reward - 1e-12)
    area = bell.area_to(oracle)
    assert 0 < area < (bell.mean_depth.max() - oracle.mean_depth.min()) * 1.0


def test_seed_curves_pool_with_student_intervals(seed: int) -> None:
    curves = []
    for s in range(3):
        cal, test = _split(seed + s, 3000)
        curves.append(policy_curve(PatienceExit(), cal, test, [1, 2, 3], rng=s))
    pooled = seed_curve(curves)
    acc = np.stack([c.accuracy for c in curves])
    np.testing.assert_allclose(pooled.accuracy, acc.mean(axis=0))
    half = 4.302653 * acc.std(axis=0, ddof=1) / np.sqrt(3)  # t_{0.975, 2}
    np.testing.assert_allclose(pooled.accuracy_high - pooled.accuracy, half)
    assert pooled.n_seeds == 3 and pooled.exit_histograms.shape == (3, 8)
    with pytest.raises(ValueError, match="same parameter"):
        seed_curve([curves[0], policy_curve(PatienceExit(), cal, test, [1, 2, 4])])
    with pytest.raises(ValueError, match="at least 2"):
        seed_curve(curves[:1])


def test_bad_input(seed: int) -> None:
    cal, test = _split(seed, 400)
    with pytest.raises(ValueError, match="parameter"):
        policy_curve(ConfidenceExit(), cal, test, [0.5], parameter="patience")
    with pytest.raises(ValueError, match="values"):
        policy_curve(ConfidenceExit(), cal, test, [])
    with pytest.raises(ValueError, match="unlabelled"):
        policy_curve(
            ConfidenceExit(),
            cal,
            ExitProblem.from_trace(
                chain_trace(seed, 10, 8)[0],
                features=("confidence", "agreement"),
                labelled=False,
            ),
            [0.5],
        )
    with pytest.raises(ValueError, match="exits"):
        evaluate_exits(test, np.full(test.n_samples, 8))
