"""Derivations of docs/science.md closed forms from the limit diffusion, each against the closed form typed in
here (with its source) and against a deliberately wrong variant that must be told apart; and the closed
forms used by stochdepth.limits and stochdepth.freeboundary checked against the derivations."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

from stochdepth import depth, limits
from stochdepth.activations import LINEAR, RELU, TANH, leaky_relu
from stochdepth.symbolic import (
    SYMBOLS,
    SymbolicSDE,
    derive_kernel_ode,
    derive_linear_log_norm_law,
    derive_linear_log_norm_sde,
    derive_linear_norm_moment,
    derive_linear_norm_sde,
    derive_moment_ode,
    derive_relu_critical_width,
    derive_relu_log_drift,
    derive_relu_log_post_norm_sde,
    derive_relu_post_norm_sde,
    derive_squared_norm_sde,
    derive_variance_ode,
    exchangeable_limit_diffusion,
    gaussian_expectation,
    ito,
    limit_diffusion,
)

n, mu, t, p, q, q0 = (SYMBOLS[k] for k in ("n", "mu", "t", "p", "q", "q0"))
half = sp.Rational(1, 2)


def is_zero(e):
    return sp.simplify(e) == 0


# ----------------------------------------------------------------------------------------------------
# Linear network (docs/science.md §A4)
# ----------------------------------------------------------------------------------------------------


def test_linear_norm_is_a_gbm():
    # docs/science.md §A4: ||X_t|| = ||X_0|| exp((1/2 - 1/n) t + W_t / sqrt(n)), a GBM whose Itô drift is the
    # log drift plus half the squared volatility: (1/2 - 1/n) + 1/(2n) = (n - 1)/(2n)
    d = derive_linear_norm_sde()
    r = d.variable
    assert is_zero(d.drift - (half - 1 / n + 1 / (2 * n)) * r)
    assert is_zero(d.volatility - r / sp.sqrt(n))
    assert not is_zero(d.drift - (half - 1 / n) * r)  # the log drift is not the GBM drift
    assert d.claim == "docs/science.md §A4 [derived]"
    assert "dr" in repr(d)


def test_linear_log_norm_sde_and_wrong_variant():
    # docs/science.md §A4: d log||X|| = (1/2 - 1/n) dt + n^{-1/2} dW
    d = derive_linear_log_norm_sde()
    assert is_zero(d.drift - (half - 1 / n))
    assert is_zero(d.volatility - 1 / sp.sqrt(n))
    assert not is_zero(d.drift - (half - 1 / (2 * n)))
    assert not is_zero(d.volatility**2 - 1 / (2 * n))
    # the diffusion row of log||x|| has squared norm 1/n: a one-dimensional Brownian rate
    assert is_zero(d.ito.quadratic_variation - 1 / n)
    for width in range(1, 7):
        dw = derive_linear_log_norm_sde(width)
        assert dw.drift == sp.Rational(1, 2) - sp.Rational(1, width)
        assert dw.volatility == 1 / sp.sqrt(width)


def test_linear_log_norm_diffusion_row_in_finite_width():
    # width 3, full state: the diffusion of log||x|| is the row x^T / (sqrt(3) ||x||), squared norm 1/3
    sde = limit_diffusion(3, "linear")
    xs = sde.state
    r = sp.sqrt(sum(v**2 for v in xs))
    res = ito(sde, sp.log(r))
    for i, v in enumerate(xs):
        assert is_zero(res.diffusion[0, i] - v / (sp.sqrt(3) * r))
    assert res.quadratic_variation == sp.Rational(1, 3)
    assert res.drift == sp.Rational(1, 2) - sp.Rational(1, 3)


def test_linear_log_norm_law():
    law = derive_linear_log_norm_law()
    # docs/science.md §A4: log(||X_t||/||X_0||) ~ N((1/2 - 1/n) t, t/n)
    assert is_zero(law.mean - (half - 1 / n) * t)
    assert is_zero(law.variance - t / n)
    frozen = law.frozen({n: 4, t: 2.0})
    assert frozen.mean() == pytest.approx(0.5)
    assert frozen.var() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="missing"):
        law.frozen({n: 4})
    with pytest.raises(ValueError, match="t must be >= 0"):
        derive_linear_log_norm_law(4, -1)


def test_linear_norm_moments():
    # docs/science.md §A4: E(||X_t||/||X_0||)^p = exp(p(1/2 - 1/n) t + p^2 t/(2n))
    m = derive_linear_norm_moment()
    assert is_zero(sp.log(m) - (p * (half - 1 / n) * t + p**2 * t / (2 * n)))
    assert not is_zero(sp.log(m) - p * (half - 1 / n) * t)  # the lognormal correction is there
    assert derive_linear_norm_moment(p=2) == sp.exp(t)  # E||X_t||^2 = ||X_0||^2 e^t for every n
    assert derive_linear_norm_moment(3, 4, 1) == sp.exp(sp.Rational(10, 3))  # 4(1/6) + 16/6 = 10/3


def test_squared_norm_drift_is_post_activation_energy():
    # docs/science.md §A3: E||X_t||^2 = E||X_0||^2 + int E||phi(X_s)||^2 ds, i.e. the drift of ||X||^2 is
    # ||phi||^2
    for act in ("linear", "relu", "tanh"):
        sde = exchangeable_limit_diffusion(n, act)
        d = derive_squared_norm_sde(n, act)
        phi2 = sde.sum(lambda u, a=act: {"linear": u, "relu": sp.Max(u, 0), "tanh": sp.tanh(u)}[a] ** 2)
        assert is_zero(d.ito.drift - phi2)
    lin = derive_squared_norm_sde(n, "linear")
    assert is_zero(lin.drift - lin.variable)  # closes: d/dt E||X||^2 = E||X||^2


# ----------------------------------------------------------------------------------------------------
# ReLU network (docs/science.md §A5)
# ----------------------------------------------------------------------------------------------------


def test_relu_log_post_norm_and_wrong_variant():
    # docs/science.md §A5: log||phi(X)|| drifts at (mu - 2)/(2n) = (1/n)(mu/2 - 1), volatility n^{-1/2}
    d = derive_relu_log_post_norm_sde()
    assert is_zero(d.drift - (mu / 2 - 1) / n)
    assert is_zero(d.volatility - 1 / sp.sqrt(n))
    assert not is_zero(d.drift - (mu - 1) / (2 * n))  # the Itô correction -1/(2n) is there
    assert d.ito.regularity == "C1-lipschitz-gradient"
    # width 1 (docs/science.md §A5): X_t = X_0 exp(B_t - t/2) on X_0 > 0
    d1 = derive_relu_log_post_norm_sde(1, 1)
    assert (d1.drift, d1.volatility) == (-half, 1)


def test_relu_post_norm_sde():
    # rho = exp(y): drift (mu - 2)/(2n) + 1/(2n) = (mu - 1)/(2n) times rho
    d = derive_relu_post_norm_sde()
    assert is_zero(d.drift - (mu - 1) / (2 * n) * d.variable)
    assert is_zero(d.volatility - d.variable / sp.sqrt(n))
    with pytest.raises(ValueError, match="mu must be >= 1"):
        derive_relu_post_norm_sde(3, 0)


def test_relu_log_drift_closed_form_and_regime():
    D = derive_relu_log_drift()
    # docs/science.md §A5: D(n) = 1/(4(1 - 2^-n)) - 1/n
    assert is_zero(D - (1 / (4 * (1 - 2 ** (-n))) - 1 / n))
    # wrong variant: averaging over all mu (not conditioning on a live network) gives 1/4 - 1/n
    assert not is_zero(D - (sp.Rational(1, 4) - 1 / n))
    assert derive_relu_log_drift(3) == sp.Rational(-1, 21)
    assert derive_relu_log_drift(4) == sp.Rational(1, 60)
    assert derive_relu_critical_width() == 4


def test_limits_relu_closed_forms_match_derivation():
    for width in range(1, 11):
        derived = derive_relu_log_drift(width)
        assert limits.relu_log_drift(width, exact=True) == Fraction(int(derived.p), int(derived.q))


def test_limits_and_freeboundary_linear_closed_forms_match_derivation():
    for width in range(1, 9):
        law = derive_linear_log_norm_law(width, sp.Rational(3, 2))
        mom = limits.linear_log_norm_moments(width, 1.5)
        assert mom.mean == pytest.approx(float(law.mean), rel=1e-14, abs=1e-15)
        assert mom.var == pytest.approx(float(law.variance), rel=1e-14)
        ratio = limits.linear_norm_ratio_law(width, 1.5)
        assert ratio.moment(3) == pytest.approx(float(derive_linear_norm_moment(width, 3, 1.5)), rel=1e-12)
        d = derive_linear_log_norm_sde(width)
        cf = depth.linear_resnet_optimal_depth(width, 0.0, 0.1)
        assert cf.drift == pytest.approx(float(d.drift), rel=1e-14, abs=1e-15)
        assert cf.volatility == pytest.approx(float(d.volatility), rel=1e-14)


# ----------------------------------------------------------------------------------------------------
# Moment ODEs
# ----------------------------------------------------------------------------------------------------


def test_moment_ode_closure_and_solution():
    x = sp.Symbol("x", real=True)
    a, b = sp.symbols("a b", positive=True)
    ou = SymbolicSDE([x], [-a * x], [[b]], params=[a, b])
    ode = derive_moment_ode(ou, x**2, basis=(sp.S.One,))
    # d/dt E X^2 = -2a E X^2 + b^2 (Itô for x^2 under OU)
    assert ode.closed
    assert ode.matrix == sp.Matrix([[-2 * a, b**2], [0, 0]])
    sol = ode.solution([sp.Symbol("v0"), 1])[0]
    stationary = sp.limit(sol, ode.time, sp.oo)
    assert is_zero(stationary - b**2 / (2 * a))  # the OU stationary variance
    not_closed = derive_moment_ode(ou, x**2)
    assert not not_closed.closed and not_closed.matrix is None
    with pytest.raises(ValueError, match="does not close"):
        not_closed.solution()
    with pytest.raises(ValueError, match="hold 2"):
        ode.solution([1, 2, 3])


def test_moment_ode_linear_width_squared_norm():
    sde = exchangeable_limit_diffusion(n, "linear")
    ode = derive_moment_ode(sde, sde.sum(lambda u: u**2))
    assert ode.closed and ode.matrix == sp.Matrix([[1]])  # E||X_t||^2 = E||X_0||^2 e^t (docs/science.md §A4)
    relu = exchangeable_limit_diffusion(n, "relu")
    assert not derive_moment_ode(relu, relu.sum(lambda u: u**2)).closed  # does not close at finite n


# ----------------------------------------------------------------------------------------------------
# Sequential limits (docs/science.md §A6)
# ----------------------------------------------------------------------------------------------------


def test_variance_ode_linear_relu_leaky():
    # docs/science.md §A6: linear q_t = q0 e^t, ReLU q_t = q0 e^{t/2}
    lin, relu = derive_variance_ode("linear"), derive_variance_ode("relu")
    assert lin.rhs == q and lin.solution == q0 * sp.exp(t)
    assert relu.rhs == q / 2 and relu.solution == q0 * sp.exp(t / 2)
    assert relu.solution != q0 * sp.exp(t)  # the ReLU halving is there
    assert relu.generator_step.drift == sp.Symbol("m", nonnegative=True)
    # leaky ReLU, slope a: M2(q) = (1 + a^2) q / 2 (expand phi = r(u) - a r(-u))
    leaky = derive_variance_ode(leaky_relu(0.25))
    assert leaky.rhs == sp.Rational(17, 32) * q
    for act, der in ((LINEAR, lin), (RELU, relu)):
        for qq in (0.3, 2.0):
            assert float(der.rhs.subs(q, qq)) == pytest.approx(float(act.second_moment(qq)), rel=1e-14)


def test_variance_ode_tanh_by_quadrature():
    der = derive_variance_ode("tanh")
    assert not der.closed_form and der.solution is None
    fn = sp.lambdify(sp.Symbol("z", real=True), der.rhs.subs(q, 0.7).function, modules="numpy")
    value, _ = integrate.quad(fn, -np.inf, np.inf, epsabs=1e-13)
    assert value == pytest.approx(float(TANH.second_moment(0.7)), rel=1e-9)


def test_limits_variance_ode_matches_derivation():
    for act in ("linear", "relu"):
        der = derive_variance_ode(act)
        for tt in (0.5, 2.0):
            assert float(limits.variance_ode(act, 0.8, tt)) == pytest.approx(
                float(der.solution.subs({q0: 0.8, t: tt})), rel=1e-10
            )


def _arccos_f(c):
    # docs/science.md §A6: f(c) = (sqrt(1 - c^2) + c (pi - arccos c)) / pi (Cho & Saul 2009)
    return (sp.sqrt(1 - c**2) + c * (sp.pi - sp.acos(c))) / sp.pi


def test_relu_kernel_ode_is_arc_cosine():
    k = derive_kernel_ode("relu")
    c, qa, qb = k.c, k.q_aa, k.q_bb
    assert k.closed_form
    assert is_zero(k.kernel - half * sp.sqrt(qa * qb) * _arccos_f(c))
    # correlation ODE dc/dt = (f(c) - c)/2
    assert is_zero(k.correlation_rhs - (_arccos_f(c) - c) / 2)
    # wrong variant: f(c) with arccos(c) in place of pi - arccos(c) is detected
    assert not is_zero(k.kernel - half * sp.sqrt(qa * qb) * (sp.sqrt(1 - c**2) + c * sp.acos(c)) / sp.pi)
    assert k.rhs[0] == qa / 2 and k.rhs[1] == qb / 2


@given(
    qa=st.floats(0.05, 4.0),
    qb=st.floats(0.05, 4.0),
    c=st.floats(-0.999, 0.999),
)
def test_kernels_against_foundation_activations(qa, qb, c):
    qab = c * math.sqrt(qa * qb)
    for name, act in (("relu", RELU), ("linear", LINEAR)):
        value = float(_kernel_fn(name)(qa, qb, c))
        assert value == pytest.approx(float(act.kernel(qa, qb, qab)), rel=1e-12, abs=1e-14)


_KERNELS: dict[str, object] = {}


def _kernel_fn(name):
    if name not in _KERNELS:
        der = derive_kernel_ode(name)
        _KERNELS[name] = sp.lambdify((der.q_aa, der.q_bb, der.c), der.kernel, modules="mpmath")
    return _KERNELS[name]


def test_limits_relu_correlation_matches_derivation():
    k = derive_kernel_ode("relu")
    rhs = sp.lambdify(k.c, k.correlation_rhs, modules="numpy")
    sol = integrate.solve_ivp(lambda _, y: [rhs(y[0])], (0.0, 1.5), [0.2], rtol=1e-12, atol=1e-13)
    assert float(np.asarray(limits.relu_correlation(0.2, 1.5))) == pytest.approx(sol.y[0, -1], rel=1e-8)


@pytest.mark.slow
def test_leaky_relu_kernel_against_foundation():
    act = leaky_relu(0.1)
    k = derive_kernel_ode(act)
    assert k.closed_form
    for qa, qb, c in ((0.5, 2.0, -0.7), (1.0, 1.0, 0.0), (3.0, 0.2, 0.9)):
        value = float(k.kernel.subs({k.q_aa: qa, k.q_bb: qb, k.c: c}))
        assert value == pytest.approx(float(act.kernel(qa, qb, c * math.sqrt(qa * qb))), rel=1e-12)


def test_gaussian_expectation():
    z = sp.Symbol("z", real=True)
    assert gaussian_expectation(z**4, z) == (3, True)  # fourth moment of N(0, 1)
    assert gaussian_expectation(sp.Max(z, 0) ** 2, z) == (half, True)
    val, closed = gaussian_expectation(sp.cos(z), z)
    assert not closed and isinstance(val, sp.Integral)
    with pytest.raises(TypeError, match="Symbol"):
        gaussian_expectation(z, z**2)


def test_bad_derivation_input():
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        derive_linear_log_norm_sde(0)
    with pytest.raises(TypeError, match="n must be an int"):
        derive_linear_log_norm_sde(2.5)
    with pytest.raises(ValueError, match="positive integer"):
        derive_linear_log_norm_sde(sp.Symbol("w", negative=True))
    with pytest.raises(ValueError, match="activation must be one of"):
        limit_diffusion(3, "softsign")
    with pytest.raises(ValueError, match="active must lie"):
        exchangeable_limit_diffusion(3, "relu", active=5)


# ----------------------------------------------------------------------------------------------------
# The bridge B6: derived coefficients -> smooth fit
# ----------------------------------------------------------------------------------------------------


def test_b6_smooth_fit_from_the_derived_log_norm_sde():
    from stochdepth.symbolic import solve_smooth_fit

    d = derive_linear_log_norm_sde(8)
    a = sp.Symbol("a", real=True)
    c = sp.Symbol("c", positive=True)
    sol = solve_smooth_fit(-((d.variable - a) ** 2), d.drift, d.volatility, variable=d.variable, cost=c)
    # docs/science.md §B6: y* = a - c/(2m) with m = 1/2 - 1/8 = 3/8
    assert is_zero(sol.boundary - (a - c / (2 * sp.Rational(3, 8))))
    assert not is_zero(sol.boundary - (a - c / sp.Rational(3, 8)))
