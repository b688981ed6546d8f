"""Singular Gram matrices in the exact sampler: no NaN, and exact structure where it must hold.

* identical inputs -> bitwise-identical columns at every layer (any activation);
* an input twice another (ReLU, linear: positively homogeneous, and 2 is a power of two) -> exactly
  twice the column at every layer;
* x3 = x1 + x2 in a linear network -> Y3 = Y1 + Y2 (pathwise for explicit weights; for the exact
  sampler to rounding, with a retirement tolerance above the rounding level);
* a zero input stays zero and does not perturb the other inputs: the networks of the other inputs are
  bitwise those sampled without it;
* all-dead ReLU networks are frozen (the dead set is absorbing) and stay finite.
"""

from __future__ import annotations

import numpy as np
import pytest

from stochdepth import NumericalError
from stochdepth.networks import (
    ExactLaw,
    ExplicitWeights,
    dead,
    log_norms,
    preactivations,
    sample_network,
    squared_norms,
)


def _states(x, width, depth, act, *, n=200, sampler=None, rng=0, record=None, chunk_size=None):
    res = sample_network(
        x,
        width,
        depth,
        act,
        n_paths=n,
        sampler=sampler,
        record=record if record is not None else list(range(depth + 1)),
        observe=preactivations(),
        rng=rng,
        chunk_size=chunk_size,
    )
    return res["preactivations"].samples  # (n, n_record, width, k)


@pytest.mark.parametrize("act", ["relu", "tanh", "linear", "gelu"])
def test_identical_inputs_stay_identical(seed, act):
    x = np.array([[1.0, -0.3, 1.0, 1.0], [0.5, 2.0, 0.5, 0.5]])
    y = _states(x, 5, 12, act, rng=seed)
    assert np.all(np.isfinite(y))
    np.testing.assert_array_equal(y[..., 0], y[..., 2])
    np.testing.assert_array_equal(y[..., 0], y[..., 3])
    assert not np.array_equal(y[..., 0], y[..., 1])


@pytest.mark.parametrize("act", ["relu", "linear"])
def test_doubled_input_stays_exactly_doubled(seed, act):
    x = np.array([[1.0, 2.0], [-0.5, -1.0], [0.25, 0.5]])
    y = _states(x, 4, 10, act, rng=seed)
    np.testing.assert_array_equal(2.0 * y[..., 0], y[..., 1])


def test_linear_combination_of_inputs_in_a_linear_network(seed):
    x = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.5, -0.5, 0.0]])
    y = _states(x, 4, 8, "linear", sampler=ExplicitWeights(), rng=seed)
    np.testing.assert_allclose(y[..., 2], y[..., 0] + y[..., 1], rtol=0, atol=1e-12 * np.abs(y).max())
    # Exact sampler: the third Schur residual is rounding noise; retiring it at 1e-10 keeps the identity
    # to rounding (with the default, rounding-level tolerance it holds to about sqrt(eps) relative).
    y = _states(x, 4, 8, "linear", sampler=ExactLaw(rtol=1e-10), rng=seed)
    np.testing.assert_allclose(y[..., 2], y[..., 0] + y[..., 1], rtol=0, atol=1e-10 * np.abs(y).max())
    y = _states(x, 4, 8, "linear", rng=seed)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y[..., 2], y[..., 0] + y[..., 1], rtol=0, atol=1e-5 * np.abs(y).max())


@pytest.mark.parametrize("act", ["relu", "tanh", "linear"])
def test_zero_input_stays_zero_and_does_not_perturb_the_others(seed, act):
    x = np.array([0.8, -0.4, 1.1])
    zero = np.zeros(3)
    y0 = _states(zero, 4, 6, act, rng=seed)
    assert np.all(y0 == 0.0)
    both = _states(np.stack([x, zero], axis=1), 4, 6, act, rng=seed, chunk_size=64)
    alone = _states(x, 4, 6, act, rng=seed, chunk_size=64)
    assert np.all(both[..., 1] == 0.0)
    # same draws: rank-one Gram factor -> one normal per row, in the order of the k = 1 kernel
    np.testing.assert_array_equal(both[..., 0], alone[..., 0])
    res = sample_network(zero, 4, 6, act, n_paths=20, observe=[squared_norms(), dead("relu")], rng=seed)
    assert np.all(res["squared_norms"].samples == 0.0)
    assert np.all(res["dead"].samples == 1.0)
    # log|0| = -inf is never returned silently
    with pytest.raises(NumericalError, match="log_norms"):
        sample_network(zero, 4, 6, act, n_paths=20, observe=log_norms(), rng=seed)


@pytest.mark.parametrize("sampler", [ExactLaw(), ExplicitWeights()], ids=lambda s: s.name)
def test_all_dead_relu_networks_are_frozen(seed, sampler):
    """Width 2: a quarter of the networks start dead; they must not move, and stay finite."""
    x = np.array([[1.0, 0.3], [0.5, -1.0]])
    y = _states(x, 2, 15, "relu", n=400, sampler=sampler, rng=seed)
    assert np.all(np.isfinite(y))
    for a in range(2):
        dead0 = np.all(y[:, 0, :, a] <= 0.0, axis=-1)
        # P(no dead network among 400) = (3/4)^400 < 1e-49
        assert dead0.any()
        frozen = y[dead0, :, :, a]
        assert np.all(frozen == frozen[:, :1])


def test_nearly_identical_inputs_run_without_nan(seed):
    """Inputs at angle 1e-9 (Schur residual ~1e-18, below the rounding level): treated as identical
    increments, finite, and their columns stay within rounding distance of each other."""
    x = np.array([[1.0, np.cos(1e-9)], [0.0, np.sin(1e-9)]])
    y = _states(x, 6, 10, "relu", rng=seed)
    assert np.all(np.isfinite(y))
    assert np.max(np.abs(y[..., 0] - y[..., 1])) <= 1e-8 * np.abs(y).max()
