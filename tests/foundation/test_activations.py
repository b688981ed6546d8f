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
def test_numpy_numba_sympy_agree(name):
    import sympy as sp

    act = get_activation(name)
    x = np.linspace(-3, 3, 13)
    y = act(x)
    np.testing.assert_allclose([act.numba_fn(v) for v in x], y, rtol=1e-12, atol=1e-14)
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
    """E phi(U) phi(V) by adaptive 2-D quadrature in (z1, z2), U = sqrt(qa) z1,
    V = sqrt(qb) (c z1 + s z2), with the kinks of ReLU-like activations (u = 0 at z1 = 0, v = 0 at
    z2 = -c z1 / s) given as break points: accurate to ~1e-15 for every built-in activation."""
    c = qab / math.sqrt(qa * qb)
    s = math.sqrt(1 - c * c)
    sa, sb = math.sqrt(qa), math.sqrt(qb)
    phi = act.numba_fn

    def f(z2, z1):
        return phi(sa * z1) * phi(sb * (c * z1 + s * z2)) * math.exp(-(z1 * z1 + z2 * z2) / 2) / (2 * math.pi)

    tol = {"epsabs": 1e-13, "epsrel": 1e-12, "limit": 100}

    def inner(z1):
        return {"points": [-c * z1 / s], **tol}

    return integrate.nquad(f, [[-10, 10], [-10, 10]], opts=[inner, {"points": [0.0], **tol}])[0]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("qa", "qb", "c"), [(1.0, 2.0, 0.5), (0.5, 0.5, -0.7), (2.0, 1.0, 0.0)])
def test_kernel_against_double_quadrature(name, qa, qb, c):
    """Closed forms (linear, ReLU, leaky ReLU) and the tensor Gauss-Legendre rule (tanh, GELU, documented
    at ~1e-13 for smooth activations) against adaptive quadrature; the truncation to [-10, 10]^2 drops a
    Gaussian mass below 1e-21."""
    act = get_activation(name)
    qab = c * math.sqrt(qa * qb)
    ref = _kernel_quad(act, qa, qb, qab)
    assert float(act.kernel(qa, qb, qab)) == pytest.approx(ref, rel=1e-11, abs=1e-13)


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
    assert act.torch_fn is None and act.torch_functional is None
    with pytest.raises(TypeError, match="fn must be callable"):
        Activation.custom("bad", 3)
    # numba cannot type a generic object (fails at once; a typed-dict lambda took 6 s to compile)
    with pytest.raises(TypeError, match="cannot be compiled by numba"):
        Activation.custom("bad", lambda x: object())


def test_moments_of_an_overflowing_activation_raise():
    """exp(x)^2 overflows at the quadrature's outer nodes once q is large (sqrt(q) 13 > 355): never a
    silent inf or NaN."""
    from stochdepth import NumericalError

    expo = Activation.custom("exp", lambda x: math.exp(x))
    assert expo.second_moment(1.0) == pytest.approx(math.exp(2.0), rel=1e-10)  # E e^{2Z} = e^2
    with pytest.raises(NumericalError, match="second moment of activation 'exp'"):
        expo.second_moment(1000.0)
    with pytest.raises(NumericalError, match="kernel of activation 'exp'"):
        expo.kernel(1e4, 1e4, 0.0)


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
    with pytest.raises(ValueError, match=r"q must be finite and >= 0, got -1\.0"):
        relu.second_moment(-1.0)
    with pytest.raises(ValueError, match="q must be finite and >= 0, got nan"):
        relu.second_moment([1.0, np.nan])
    with pytest.raises(ValueError, match="covariance"):
        relu.kernel(1.0, 1.0, 2.0)
    with pytest.raises(ValueError, match="q_aa and q_bb must be >= 0"):
        relu.kernel(-1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="q_ab must be finite"):
        relu.kernel(1.0, 1.0, np.inf)
