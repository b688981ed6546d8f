"""Tests of the activation objects: forms agree with each other and Gaussian expectations are right."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

from stochdepth.activations import (
    Activation,
    available_activations,
    get_activation,
    leaky_relu,
)

NAMES = ["linear", "relu", "tanh", "gelu", "leaky_relu"]


@pytest.mark.parametrize("name", NAMES)
def test_numpy_numba_torch_sympy_agree(name):
    import sympy as sp
    import torch

    act = get_activation(name)
    x = np.linspace(-3, 3, 13)
    y = act(x)
    np.testing.assert_allclose([act.numba_fn(v) for v in x], y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(act.torch(torch.tensor(x)).numpy(), y, rtol=1e-10, atol=1e-12)
    s = sp.Symbol("s", real=True)
    expr = act.sympy(s)
    np.testing.assert_allclose([float(expr.subs(s, v)) for v in x], y, rtol=1e-10, atol=1e-12)


def _second_moment_quad(act, q):
    def f(z):
        return act(np.sqrt(q) * z) ** 2 * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    return integrate.quad(f, -12, 12, points=[0.0], limit=200)[0]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("q", [0.3, 1.0, 4.0])
def test_second_moment_against_adaptive_quadrature(name, q):
    act = get_activation(name)
    assert act.second_moment(q) == pytest.approx(_second_moment_quad(act, q), rel=1e-8, abs=1e-12)


def _kernel_quad(act, qa, qb, qab):
    c = qab / math.sqrt(qa * qb)
    s = math.sqrt(1 - c * c)

    def f(z2, z1):
        u = math.sqrt(qa) * z1
        v = math.sqrt(qb) * (c * z1 + s * z2)
        return act(u) * act(v) * math.exp(-(z1 * z1 + z2 * z2) / 2) / (2 * math.pi)

    return integrate.dblquad(f, -10, 10, -10, 10, epsabs=1e-10, epsrel=1e-10)[0]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("qa", "qb", "c"), [(1.0, 2.0, 0.5), (0.5, 0.5, -0.7), (2.0, 1.0, 0.0)])
def test_kernel_against_double_quadrature(name, qa, qb, c):
    act = get_activation(name)
    qab = c * math.sqrt(qa * qb)
    ref = _kernel_quad(act, qa, qb, qab)
    assert float(act.kernel(qa, qb, qab)) == pytest.approx(ref, rel=1e-6, abs=1e-8)


def test_relu_kernel_closed_form_limits():
    """The arc-cosine kernel: c = 1 gives q/2 (= M_2), c = 0 gives sqrt(qa qb)/(2 pi), c = -1 gives 0."""
    relu = get_activation("relu")
    assert relu.kernel(2.0, 2.0, 2.0) == pytest.approx(1.0)
    assert relu.kernel(1.0, 4.0, 0.0) == pytest.approx(2.0 / (2 * math.pi))
    assert relu.kernel(1.0, 1.0, -1.0) == pytest.approx(0.0, abs=1e-15)


@given(st.floats(0.0, 1.0), st.floats(0.05, 5.0), st.floats(0.05, 5.0), st.floats(-1.0, 1.0))
def test_leaky_kernel_symmetry_and_diagonal(slope, qa, qb, c):
    act = leaky_relu(slope)
    qab = c * math.sqrt(qa * qb)
    k = float(act.kernel(qa, qb, qab))
    assert k == pytest.approx(float(act.kernel(qb, qa, qab)), rel=1e-12, abs=1e-15)
    # Cauchy-Schwarz: |E phi(U) phi(V)| <= sqrt(M2(qa) M2(qb))
    assert abs(k) <= math.sqrt(act.second_moment(qa) * act.second_moment(qb)) * (1 + 1e-12)
    assert float(act.kernel(qa, qa, qa)) == pytest.approx(float(act.second_moment(qa)), rel=1e-12)


def test_custom_activation():
    act = Activation.custom("softplus", lambda x: math.log1p(math.exp(x)), lipschitz=1.0)
    assert act(0.0) == pytest.approx(math.log(2.0))
    assert act.second_moment(1.0) == pytest.approx(_second_moment_quad(act, 1.0), rel=1e-8)
    with pytest.raises(NotImplementedError, match="softplus"):
        act.torch(None)
    with pytest.raises(TypeError, match="fn must be callable"):
        Activation.custom("bad", 3)
    with pytest.raises(TypeError, match="cannot be compiled by numba"):
        Activation.custom("bad", lambda x: {"a": x}["b"])


def test_get_activation_errors():
    assert "relu" in available_activations()
    assert get_activation("ReLU") is get_activation("relu")
    with pytest.raises(ValueError, match=r"activation must be one of .* got 'sigmoidish'"):
        get_activation("sigmoidish")
    with pytest.raises(TypeError, match="activation must be a str or an Activation"):
        get_activation(3)
    with pytest.raises(ValueError, match="slope"):
        leaky_relu(1.5)


def test_moment_input_validation():
    relu = get_activation("relu")
    with pytest.raises(ValueError, match="q must be finite and >= 0"):
        relu.second_moment(-1.0)
    with pytest.raises(ValueError, match="covariance"):
        relu.kernel(1.0, 1.0, 2.0)
