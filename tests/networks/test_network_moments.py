"""Exact moment identities of finite random ResNets, by Monte Carlo at 5 standard errors.

* docs/science.md §A3 (discrete): E|Y_l|^2 = E|Y_{l-1}|^2 + h E|phi(Y_{l-1})|^2 with h = t1 / L. Derivation:
  |Y_l|^2 = |Y_{l-1}|^2 + 2 sqrt(h) <Y_{l-1}, W_l phi> + h |W_l phi|^2, and given the past
  E <Y, W phi> = 0, E |W phi|^2 = n |phi|^2 / n. So D = |Y_l|^2 - |Y_{l-1}|^2 - h |phi(Y_{l-1})|^2 has
  mean exactly 0, for every activation and input; tested per network (paired), for both samplers.
* Linear network: E|Y_L|^2 = (1 + h)^L E|Y_0|^2 (the identity above with phi(y) = y), and
  E|Y_0|^2 = n |x|^2 / d because each coordinate of W_in x is N(0, |x|^2 / d).
* ReLU input layer: P(all n pre-activations <= 0) = 2^-n (the rows of W_in x are i.i.d. symmetric).

Each assertion compares one sample mean with its exact value at 5 standard errors (two-sided
probability 5.7e-7 per comparison), so the file passes for any seed.
"""

from __future__ import annotations

import numpy as np
import pytest

from stochdepth.networks import (
    ExactLaw,
    ExplicitWeights,
    dead,
    post_squared_norms,
    sample_network,
    squared_norms,
)

X3 = np.array([[1.0, 0.2, -1.0], [-0.5, 1.0, 0.1], [0.3, 0.3, 0.8]])


def _z(values: np.ndarray, target: float | np.ndarray) -> np.ndarray:
    """z-scores of the mean of ``values`` (axis 0) against ``target``."""
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / np.sqrt(values.shape[0])
    return (mean - target) / se


@pytest.mark.parametrize("sampler", [ExactLaw(), ExplicitWeights()], ids=lambda s: s.name)
@pytest.mark.parametrize(
    ("x", "width", "depth", "act", "t1"),
    [
        (X3[:, 0], 5, 8, "relu", 1.0),
        (X3, 4, 6, "relu", 2.0),
        (X3, 3, 5, "tanh", 1.0),
        (X3[:, :2], 6, 4, "gelu", 0.5),
    ],
)
def test_discrete_second_moment_identity(seed, sampler, x, width, depth, act, t1):
    layers = [0, 1, depth - 1, depth]
    res = sample_network(
        x,
        width,
        depth,
        act,
        n_paths=20000,
        sampler=sampler,
        t1=t1,
        record=layers,
        observe=[squared_norms(), post_squared_norms(act)],
        rng=seed,
    )
    sq = res["squared_norms"].samples
    post = res["post_squared_norms"].samples
    h = t1 / depth
    for j0, j1 in [(0, 1), (2, 3)]:
        d = sq[:, j1] - sq[:, j0] - h * post[:, j0]
        assert np.all(np.abs(_z(d, 0.0)) < 5.0)


@pytest.mark.parametrize("sampler", [ExactLaw(), ExplicitWeights()], ids=lambda s: s.name)
@pytest.mark.parametrize(("width", "depth", "t1"), [(4, 8, 1.0), (2, 5, 2.5), (1, 6, 1.0)])
def test_linear_mean_square_norm(seed, sampler, width, depth, t1):
    x = np.array([[1.0, 0.5], [2.0, -1.0], [0.0, 1.0]])
    d = x.shape[0]
    res = sample_network(
        x,
        width,
        depth,
        "linear",
        n_paths=40000,
        sampler=sampler,
        t1=t1,
        observe=squared_norms(),
        rng=seed,
    )
    sq = res["squared_norms"].samples  # (N, 2 layers, 2 inputs)
    e0 = width * np.sum(x**2, axis=0) / d
    growth = (1.0 + t1 / depth) ** depth
    assert np.all(np.abs(_z(sq[:, 0], e0)) < 5.0)
    assert np.all(np.abs(_z(sq[:, 1], growth * e0)) < 5.0)
    # conditionally on Y_0: E |Y_L|^2 / |Y_0|^2 = (1 + h)^L exactly (less noisy)
    assert np.all(np.abs(_z(sq[:, 1] / sq[:, 0], growth)) < 5.0)


def test_moments_reducer_gives_the_same_mean(seed):
    """The Moments reducer and the samples give the same mean; NetworkSample.mean uses either."""
    from stochdepth.montecarlo import Moments, Samples

    res = sample_network(
        X3,
        4,
        5,
        "relu",
        n_paths=3000,
        observe=squared_norms(),
        reduce=[Samples(), Moments()],
        rng=seed,
        chunk_size=500,
    )
    obs = res["squared_norms"]
    np.testing.assert_allclose(obs.moments.mean, obs.samples.mean(axis=0), rtol=1e-12)
    mean, se = res.mean("squared_norms")
    np.testing.assert_allclose(se, obs.samples.std(axis=0, ddof=1) / np.sqrt(3000), rtol=1e-10)
    assert mean.shape == (2, 3)


@pytest.mark.parametrize("width", [1, 3])
def test_relu_dead_at_initialisation_probability(seed, width):
    res = sample_network(
        X3[:, 0], width, 4, "relu", n_paths=20000, observe=dead("relu"), record=[0, 4], rng=seed
    )
    flags = res["dead"].samples[:, :, 0]
    p = 2.0**-width
    se = np.sqrt(p * (1 - p) / flags.shape[0])
    assert abs(flags[:, 0].mean() - p) < 5 * se
    # the dead set is absorbing: dead at layer 0 implies dead at layer L
    assert np.all(flags[flags[:, 0] == 1.0, 1] == 1.0)
