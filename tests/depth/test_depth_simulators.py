"""The linear-ResNet stopping simulator of docs/science.md §B6 in both representations (hidden vector,
log-norm).

The first-passage simulator of the infinite-depth log-norm is tested in test_depth_continuous.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from stochdepth.depth import LinearResNetSimulator, simulate_network_depths
from stochdepth.limits import linear_log_factor_law
from stochdepth.networks import sample_linear_log_norm


def test_hidden_state_mean_square_norm(seed):
    """Both the explicit-weight paths and the exact-in-law step of the simulator give
    E|Y_{l+1}|^2 = (1 + 1/L)|Y_l|^2 (docs/science.md §A4: E|Y_L|^2 = (1 + 1/L)^L |Y_0|^2), checked after 4
    layers
    at 5 standard errors with |Y_0| = e^{y0}; the initial norm is exact and the features are log-norms."""
    sim = LinearResNetSimulator(4, 8, 0.5, y0=-0.3)
    gen = np.random.default_rng(seed)
    m, H = 40_000, 4
    paths = sim.paths(gen, m, H)
    assert paths.shape == (m, H + 1, 4) and sim.dim == 4
    np.testing.assert_allclose(np.linalg.norm(paths[:, 0], axis=1), math.exp(-0.3), rtol=1e-12)
    np.testing.assert_allclose(sim.features(0, paths[:, 0])[:, 0], -0.3, atol=1e-12)
    np.testing.assert_allclose(sim.gain(0, paths[:, 0]), -0.64, atol=1e-12)
    target = math.exp(-0.6) * (1 + 1 / 8) ** H
    x = np.sum(paths[:, H] ** 2, axis=1)
    assert abs(x.mean() - target) <= 5 * x.std(ddof=1) / math.sqrt(m)
    y = paths[:, 0]
    for layer in range(H):
        y = sim.step(layer, y, gen)
    x = np.sum(y**2, axis=1)
    assert abs(x.mean() - target) <= 5 * x.std(ddof=1) / math.sqrt(m)


def test_hidden_state_depth_time_sets_the_step(seed):
    """With t1 the step is h = t1 / L: E|Y_1|^2 = (1 + h)|Y_0|^2, for the explicit weights and the step."""
    sim = LinearResNetSimulator(3, 4, 0.0, t1=2.0)
    gen = np.random.default_rng(seed)
    m = 40_000
    paths = sim.paths(gen, m, 1)
    y1 = sim.step(0, paths[:, 0], gen)
    for x in (np.sum(paths[:, 1] ** 2, axis=1), np.sum(y1**2, axis=1)):
        assert abs(x.mean() - 1.5) <= 5 * x.std(ddof=1) / math.sqrt(m)


def test_log_norm_step_has_the_law_of_one_layer(seed):
    """The nested-simulation step of the log-norm simulator against sample_linear_log_norm (one layer of
    the exact walk): two-sample Kolmogorov-Smirnov, rejected at p < 1e-6 only."""
    sim = LinearResNetSimulator(16, 64, 0.5, state="log_norm")
    step = sim.step(0, np.zeros((20_000, 1)), np.random.default_rng([seed, 1]))[:, 0]
    walk = sample_linear_log_norm(16, 1, n_paths=20_000, t1=1 / 64, rng=np.random.SeedSequence([seed, 2]))
    assert stats.ks_2samp(step, walk.log_ratio[:, -1]).pvalue > 1e-6


def test_log_norm_paths_have_the_walk_mean(seed):
    """Simulated networks: the mean log-norm ratio after L layers is L E[log xi] / 2 (exact law of one
    layer, stochdepth.limits), within 5 standard errors; the paths start at y0."""
    sim = LinearResNetSimulator(16, 32, 0.5, state="log_norm")
    y = sim.paths(np.random.default_rng(seed), 4000, 32)
    assert y.shape == (4000, 33, 1) and np.all(y[:, 0] == 0.0) and sim.dim == 1
    last = y[:, -1, 0]
    expected = 32 * 0.5 * float(linear_log_factor_law(16, 32, 1.0).mean())
    assert abs(last.mean() - expected) <= 5 * last.std(ddof=1) / math.sqrt(last.size)
    np.testing.assert_array_equal(sim.gain(0, np.array([[0.5], [1.5]])), [-0.0, -1.0])
    shifted = LinearResNetSimulator(16, 32, 0.5, y0=0.25, state="log_norm")
    np.testing.assert_array_equal(shifted.paths(np.random.default_rng(seed), 3, 4)[:, 0, 0], 0.25)
    np.testing.assert_array_equal(shifted.initial(np.random.default_rng(seed), 2), [[0.25], [0.25]])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"width": 0}, ValueError, "width"),
        ({"depth": 2.0}, TypeError, "depth"),
        ({"target": np.nan}, ValueError, "target"),
        ({"t1": 0.0}, ValueError, "t1"),
        ({"state": "vector"}, ValueError, "state"),
    ],
)
def test_bad_input(kwargs, error, match):
    args = {"width": 4, "depth": 8, "target": 0.5} | kwargs
    with pytest.raises(error, match=match):
        LinearResNetSimulator(args.pop("width"), args.pop("depth"), args.pop("target"), **args)


def test_network_depths_are_reproducible_and_start_at_zero_above_the_threshold(seed):
    a = simulate_network_depths(4, 8, 0.2, 0.0, n_paths=3000, max_layers=400, rng=seed)
    b = simulate_network_depths(4, 8, 0.2, 0.0, n_paths=3000, max_layers=400, rng=seed)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.int64 and np.all(a >= 1)  # y0 = 0 < 0.2: at least one layer
    np.testing.assert_array_equal(
        simulate_network_depths(4, 8, -0.1, 0.0, n_paths=50, max_layers=10, rng=seed), 0
    )
    # censoring: a threshold out of reach within 3 layers of a width-4 network is reported as -1
    assert np.all(simulate_network_depths(4, 8, 50.0, 0.0, n_paths=20, max_layers=3, rng=seed) == -1)


def test_network_depths_check_their_arguments():
    with pytest.raises(ValueError):
        simulate_network_depths(0, 8, 0.2, 0.0, n_paths=10, max_layers=5)
    with pytest.raises(ValueError):
        simulate_network_depths(4, 8, 0.2, 0.0, n_paths=0, max_layers=5)
