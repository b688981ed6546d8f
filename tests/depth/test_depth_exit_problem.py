"""The exit problem: observations apart from the label-dependent reward; bad input."""

from __future__ import annotations

import numpy as np
import pytest

from stochdepth.depth import ExitProblem, Trace
from stochdepth.testing.exit_traces import resolving_exit_trace


def _trace(seed: int, n: int = 50, L: int = 4) -> Trace:
    return resolving_exit_trace(seed, n, L)[0]


def test_features_do_not_depend_on_the_labels(seed: int) -> None:
    """The same logits with other labels give the same observations and other rewards."""
    tr = _trace(seed)
    other = Trace.from_outputs(
        tr.logits,
        (tr.labels + 1) % tr.n_classes,
        hidden_norms=tr.hidden_norms,
        hidden_projection=tr.hidden_projection,
        residual_norms=tr.residual_norms,
        flops=tr.flops,
    )
    a, b = (
        ExitProblem.from_trace(
            t,
            cost=0.1,
            features=("confidence", "entropy", "margin", "log_odds", "agreement", "hidden_norm", "layer"),
        )
        for t in (tr, other)
    )
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.predictions, b.predictions)
    assert not np.array_equal(a.rewards, b.rewards)


def test_rewards_in_layers_and_flops(seed: int) -> None:
    tr = _trace(seed)
    p = ExitProblem.from_trace(tr, cost=0.05)
    np.testing.assert_allclose(p.rewards, tr.correct - 0.05 * np.arange(1, 5)[None, :])
    # flops 1..4 (synthetic): in average-layer units of the full network, L * flops / flops[-1] = 1..4
    q = ExitProblem.from_trace(tr, cost=0.05, cost_unit="flops")
    np.testing.assert_allclose(q.rewards, p.rewards)
    r = q.with_cost(0.2)
    np.testing.assert_allclose(r.rewards, tr.correct - 0.2 * np.arange(1, 5)[None, :])


def test_features_by_hand() -> None:
    logits = np.array([[[np.log(3.0), 0.0], [0.0, np.log(4.0)]]])
    tr = Trace.from_outputs(
        logits,
        np.array([0]),
        hidden_norms=np.ones((1, 2)),
        hidden_projection=np.zeros((1, 2, 1)),
        residual_norms=np.ones((1, 2)),
        flops=np.ones(2),
    )
    p = ExitProblem.from_trace(tr, features=("confidence", "margin", "log_odds", "agreement", "layer"))
    # probabilities (3/4, 1/4) then (1/5, 4/5): margins 1/2 and 3/5, log-odds log 3 and log 4
    np.testing.assert_allclose(
        p.features[0], [[0.75, 0.5, np.log(3), 1.0, 0.0], [0.8, 0.6, np.log(4), 0.0, 1.0]]
    )


def test_stopping_problem_hides_the_rewards(seed: int) -> None:
    sp = ExitProblem.from_trace(_trace(seed), cost=0.1).stopping_problem()
    assert sp.gains_observed is False and sp.decision_gains(0) is None and not sp.deterministic


def test_unlabelled_problems_refuse_what_needs_labels(seed: int) -> None:
    p = ExitProblem.from_trace(_trace(seed), labelled=False)
    assert not p.labelled
    with pytest.raises(ValueError, match="unlabelled"):
        _ = p.rewards
    assert p.stopping_problem().n_paths == p.n_samples


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"features": ("confidence", "label")}, "features"),
        ({"features": ()}, "features"),
        ({"cost_unit": "seconds"}, "cost_unit"),
        ({"cost": -0.1}, "cost"),
        ({"depths": [1.0, 2.0]}, "depths"),
    ],
)
def test_bad_input(seed: int, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ExitProblem.from_trace(_trace(seed), **kwargs)


def test_bad_trace_type() -> None:
    with pytest.raises(TypeError, match="trace"):
        ExitProblem.from_trace(np.zeros((2, 2)))


def test_mismatched_exits_and_features(seed: int) -> None:
    a = ExitProblem.from_trace(_trace(seed, L=4))
    with pytest.raises(ValueError, match="mismatched exits"):
        a.check_compatible(ExitProblem.from_trace(_trace(seed, L=5)))
    with pytest.raises(ValueError, match="features"):
        a.check_compatible(ExitProblem.from_trace(_trace(seed, L=4), features=("confidence",)))


def test_split_partitions(seed: int) -> None:
    p = ExitProblem.from_trace(_trace(seed, n=40))
    a, b = p.split(0.25, rng=seed)
    assert (a.n_samples, b.n_samples) == (10, 30)
    with pytest.raises(ValueError, match="fraction"):
        p.split(1.0)
