"""The numba kernels of the exact sampler against slow references, path by path.

The kernels document their draw order; the references in stochdepth.testing.references replay it with numpy,
so the same generator must give the same networks (to rounding: the kernels rescale by powers of two
and sum in another order). Exact linear dependencies other than duplicates (x3 = x1 + x2) are left out
here: their Schur residual is rounding noise near the retirement tolerance, so kernel and reference may
reveal different ranks (see test_network_singular.py for them).

Also: the k = 1 specialisation against the general kernel, a user activation (its own uncached
kernel) against the built-in one, and the input layer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from stochdepth.activations import Activation, get_activation
from stochdepth.networks import (
    ExactLaw,
    NetworkSpec,
    preactivations,
    sample_input_layer,
    sample_network,
)
from stochdepth.networks import _kernels as K
from stochdepth.networks.sampling import _input_factor
from stochdepth.random import chunk_generators
from stochdepth.testing.references import reference_exact


def _kernel_states(X, width, depth, act, t1, layers, m, seed):
    """States of the first chunk of sample_network's ExactLaw kernel, and the chunk's generator seed."""
    spec = NetworkSpec(width, depth, act, t1, inputs=X)
    kernel = ExactLaw().make_kernel(spec, np.asarray(layers, np.int64))
    (_, _, gen), *_ = chunk_generators(seed, m, m)
    return kernel(0, m, gen)


def _reference_states(X, width, depth, act, t1, layers, m, seed):
    (_, _, gen), *_ = chunk_generators(seed, m, m)
    return reference_exact(
        X, width, depth, get_activation(act), t1, np.asarray(layers), m, gen, K.default_rtol(X.shape[1])
    )


@pytest.mark.parametrize(
    ("X", "width", "depth", "act", "t1", "layers"),
    [
        (np.array([[1.0], [2.0], [-0.5]]), 5, 7, "relu", 1.0, [0, 3, 7]),
        (np.array([[1.0, 0.3, -1.0], [2.0, 0.1, 0.5]]), 4, 6, "tanh", 1.0, [0, 1, 6]),
        (np.array([[1.0, 0.3, 1.0], [2.0, 0.1, 2.0]]), 3, 5, "relu", 2.0, [2, 5]),  # duplicate input
        (np.array([[1.0, 0.0, 0.2], [0.0, 1.0, 1.0]]), 6, 4, "linear", 0.7, [0, 4]),
        (np.array([[1.0, 0.0], [0.0, 0.0]]), 4, 5, "gelu", 1.5, [0, 5]),
    ],
)
def test_exact_kernel_matches_slow_reference(seed, X, width, depth, act, t1, layers):
    m = 40
    got = _kernel_states(X, width, depth, act, t1, layers, m, seed)
    ref = _reference_states(X, width, depth, act, t1, layers, m, seed)
    assert got.shape == (m, len(layers), width, X.shape[1])
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)


def test_single_input_kernel_matches_general_kernel(seed):
    """k = 1: the specialised kernel (C = ||phi(Y)||) and the general Gram-factor kernel agree."""
    X = np.array([[0.4], [-1.3]])
    width, depth, layers = 7, 9, np.array([0, 4, 9])
    C0, r0 = _input_factor(X, K.default_rtol(1))
    scale = math.sqrt(1.0 / (width * depth))
    out1 = np.empty((30, 3, width, 1))
    out2 = np.empty((30, 3, width, 1))
    (_, _, g1), *_ = chunk_generators(seed, 30, 30)
    (_, _, g2), *_ = chunk_generators(seed, 30, 30)
    K.exact_kernel_1(g1, float(C0[0, 0]), scale, layers, 1, out1)
    K.exact_kernel(g2, C0, r0, scale, layers, 1, K.default_rtol(1), out2)
    np.testing.assert_allclose(out1, out2, rtol=1e-12, atol=1e-14)


def test_user_activation_kernel_equals_builtin(seed):
    """A user activation computing ReLU gets its own kernel; it must reproduce the built-in one."""
    my_relu = Activation.custom("my_relu", lambda v: v if v > 0.0 else 0.0)
    x = np.array([[1.0, -0.5], [0.5, 2.0], [0.0, 1.0]])
    kw = dict(n_paths=50, record=[0, 3, 8], observe=preactivations(), rng=seed)
    a = sample_network(x, 6, 8, my_relu, **kw)
    b = sample_network(x, 6, 8, "relu", **kw)
    assert a.activation == "my_relu"
    np.testing.assert_array_equal(a["preactivations"].samples, b["preactivations"].samples)
    a1 = sample_network(x[:, 0], 6, 8, my_relu, **kw)
    b1 = sample_network(x[:, 0], 6, 8, "relu", **kw)
    np.testing.assert_array_equal(a1["preactivations"].samples, b1["preactivations"].samples)


def test_input_layer_replays_kernel_and_has_the_right_covariance(seed):
    """sample_input_layer draws Y_0 = Z C0^T like the kernel; its rows have covariance X^T X / d."""
    X = np.array([[1.0, 0.5, 1.0], [2.0, -1.0, 2.0], [0.0, 3.0, 0.0], [1.0, 1.0, 1.0]])
    d = X.shape[0]
    y0 = sample_input_layer(X, 3, 20000, np.random.default_rng(seed))
    assert y0.shape == (20000, 3, 3)
    assert np.array_equal(y0[..., 0], y0[..., 2])  # identical inputs -> identical columns
    rows = y0.reshape(-1, 3)
    cov = rows.T @ rows / rows.shape[0]
    target = X.T @ X / d
    # entries of a sample covariance of N = 60000 Gaussian rows: Var(Y_a Y_b) = S_aa S_bb + S_ab^2;
    # the 3 rows of one draw are independent too. 5 standard errors.
    se = np.sqrt((np.outer(np.diag(target), np.diag(target)) + target**2) / rows.shape[0])
    assert np.all(np.abs(cov - target) < 5 * se + 1e-15)
    # the same generator state gives the same draws as the first layer of the exact kernel
    states = _kernel_states(X, 3, 2, "relu", 1.0, [0], 10, seed)
    (_, _, gen), *_ = chunk_generators(seed, 10, 10)
    np.testing.assert_array_equal(sample_input_layer(X, 3, 10, gen), states[:, 0])


def test_input_layer_single_input_and_zero_input():
    y = sample_input_layer([0.0, 0.0], 5, 4, 0)
    assert y.shape == (4, 5, 1) and np.all(y == 0.0)
    y = sample_input_layer([3.0], 2, 3, np.random.default_rng(1))
    assert y.shape == (3, 2, 1) and np.all(np.isfinite(y))


@pytest.mark.parametrize(
    ("args", "err", "match"),
    [
        (([1.0], 0, 2, 0), ValueError, "width"),
        (([1.0], 2, 0, 0), ValueError, "n_paths must"),
        (([np.inf], 2, 2, 0), ValueError, "x must be finite"),
        ((1.0, 2, 2, 0), ValueError, "x must have"),
        (([1.0], 2, 2, "seed"), TypeError, "generator"),
    ],
)
def test_input_layer_bad_input(args, err, match):
    with pytest.raises(err, match=match):
        sample_input_layer(*args)
