"""SymbolicSDE, ExchangeableSDE, Itô's formula and the generator: correctness and bad input.

Itô's formula is checked three ways: against formulas typed in here with their derivation, against an
independent finite-difference evaluation of the generator at random points, and (in symbolic width)
against the finite-dimensional formula for every small width and sign pattern.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from stochdepth.symbolic import (
    Block,
    ExchangeableSDE,
    SymbolicSDE,
    exchangeable_limit_diffusion,
    generator,
    ito,
    limit_diffusion,
)

x, y = sp.symbols("x y", real=True)
a, b = sp.symbols("a b", positive=True)
t = sp.Symbol("t", nonnegative=True)
n = sp.Symbol("n", integer=True, positive=True)
mu = sp.Symbol("mu", integer=True, positive=True)


def is_zero(e):
    return sp.simplify(e) == 0


# ----------------------------------------------------------------------------------------------------
# Itô's formula on classical examples
# ----------------------------------------------------------------------------------------------------


def test_gbm_log_and_wrong_variant():
    # dX = aX dt + bX dW: d log X = (a - b^2/2) dt + b dW (Øksendal 2003, Example 5.1.1)
    xp = sp.Symbol("x", positive=True)
    gbm = SymbolicSDE([xp], [a * xp], [[b * xp]], params=[a, b])
    res = ito(gbm, sp.log(xp))
    assert is_zero(res.drift - (a - b**2 / 2))
    assert not is_zero(res.drift - a)  # forgetting the Itô correction is detected
    assert is_zero(res.volatility - b)
    assert is_zero(res.quadratic_variation - b**2)
    assert res.diffusion.shape == (1, 1)
    assert res.regularity == "C2"


def test_time_dependent_function_and_generator():
    # OU dX = -a X dt + b dW; f = e^{at} X is a martingale: drift = a e^{at} x - a x e^{at} = 0
    ou = SymbolicSDE([x], [-a * x], [[b]], params=[a, b], time=t)
    res = ito(ou, sp.exp(a * t) * x)
    assert is_zero(res.drift)
    assert is_zero(res.volatility - b * sp.exp(a * t))
    # the generator excludes the time derivative: A f = -a x e^{at}
    assert is_zero(generator(ou, sp.exp(a * t) * x) + a * x * sp.exp(a * t))


def test_two_dimensional_brownian_and_correlated_noise():
    bm2 = SymbolicSDE([x, y], [0, 0], sp.eye(2))
    assert generator(bm2, x**2 + y**2) == 2  # half the Laplacian of |x|^2 in dimension 2
    # one Brownian motion driving both coordinates: d(XY) = (X dY + Y dX) + d<X,Y> = ... + 1 dt
    sc = SymbolicSDE([x, y], [0, 0], [[1], [1]])
    assert ito(sc, x * y).drift == 1
    assert ito(sc, x * y).diffusion.shape == (1, 1)


def test_diagonal_constructor_and_subs():
    sde = SymbolicSDE.diagonal([x, y], [a * x, 0], [b, b * y], params=[a, b])
    assert sde.diffusion == sp.Matrix([[b, 0], [0, b * y]])
    s2 = sde.subs({a: 2})
    assert s2.params == (b,)
    assert s2.drift[0] == 2 * x
    assert sde.covariance.shape == (2, 2)
    assert "SymbolicSDE" in repr(sde)


@given(
    coeffs=st.lists(st.integers(-3, 3), min_size=6, max_size=6),
    point=st.tuples(st.floats(-1.5, 1.5), st.floats(-1.5, 1.5)),
)
def test_generator_matches_finite_differences(coeffs, point):
    """A f = b.grad f + 1/2 tr(a Hess f) against central differences of f at a random point."""
    c0, c1, c2, c3, c4, c5 = coeffs
    f = c0 * x**2 * y + c1 * sp.sin(x) + c2 * y**3 + c3 * x * y + c4 * sp.exp(y / 2) + c5 * x
    drift = [x - y**2, sp.cos(x)]
    sigma = [[1 + x**2 / 4, y / 3], [sp.Rational(1, 2), 1 + y**2 / 5]]
    sde = SymbolicSDE([x, y], drift, sigma)
    value = float(generator(sde, f, simplify=False).subs({x: point[0], y: point[1]}))
    fn = sp.lambdify((x, y), f)
    p = np.array(point, dtype=float)
    h = 1e-4
    grad = np.zeros(2)
    hess = np.zeros((2, 2))
    for i in range(2):
        e_i = np.eye(2)[i] * h
        grad[i] = (fn(*(p + e_i)) - fn(*(p - e_i))) / (2 * h)
        for j in range(2):
            e_j = np.eye(2)[j] * h
            hess[i, j] = (
                fn(*(p + e_i + e_j)) - fn(*(p + e_i - e_j)) - fn(*(p - e_i + e_j)) + fn(*(p - e_i - e_j))
            ) / (4 * h * h)
    bnum = np.array([float(e.subs({x: p[0], y: p[1]})) for e in drift])
    snum = np.array([[float(e.subs({x: p[0], y: p[1]})) for e in row] for row in sigma])
    expected = bnum @ grad + 0.5 * np.sum((snum @ snum.T) * hess)
    # central differences: error O(h^2 f''') ~ 1e-7 for these coefficients; rounding ~ 1e-16/h^2 = 1e-8
    assert value == pytest.approx(expected, rel=1e-5, abs=1e-5)


# ----------------------------------------------------------------------------------------------------
# Regularity
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "f",
    [
        sp.Max(x, 0) ** 2,
        x * sp.Abs(x),
        sp.Heaviside(x) * x**2,
        sp.Piecewise((x**2, x > 0), (0, True)),
        sp.sign(x) * x**2,
    ],
)
def test_c2_refuses_kinks(f):
    bm = SymbolicSDE([x], [0], [[1]])
    with pytest.raises(ValueError, match=r"not C\^2.*C1-lipschitz-gradient"):
        ito(bm, f)


@pytest.mark.parametrize(
    "f, drift",
    [
        # (x)_+^2: f'' = 2 H(x) a.e., so the drift is 1/2 * 2 H(x)
        (sp.Max(x, 0) ** 2, sp.Heaviside(x)),
        (sp.Piecewise((x**2, x > 0), (0, True)), sp.Heaviside(x)),
        # |x|^3: f'' = 6|x| a.e. = 6 x (H(x) - H(-x)), drift 3|x|
        (sp.Abs(x) ** 3, 3 * x * (sp.Heaviside(x) - sp.Heaviside(-x))),
    ],
)
def test_c1_lipschitz_gradient_exception(f, drift):
    bm = SymbolicSDE([x], [0], [[1]])
    res = ito(bm, f, regularity="C1-lipschitz-gradient")
    assert res.regularity == "C1-lipschitz-gradient"
    for v in (-1.3, 0.7, 2.0):  # compare off the kink, where H is unambiguous
        assert float(res.drift.subs(x, v)) == pytest.approx(float(drift.subs(x, v)))


def test_c1_exception_in_two_dimensions_sum_of_squares():
    # f = (x)_+^2 + (y)_+^2 under 2-d BM: drift H(x) + H(y) (docs/science.md §A5, the ReLU case)
    bm2 = SymbolicSDE([x, y], [0, 0], sp.eye(2))
    res = ito(bm2, sp.Max(x, 0) ** 2 + sp.Max(y, 0) ** 2, regularity="C1-lipschitz-gradient")
    assert res.drift == sp.Heaviside(x) + sp.Heaviside(y)


@pytest.mark.parametrize(
    "f, match",
    [
        (sp.Max(x, 0), "local-time"),  # gradient H(x) jumps
        (sp.Abs(x), "local-time"),
        (sp.Max(x, y) ** 1, "local-time"),
        (sp.Heaviside(x), "not continuous"),
        (sp.floor(x), "not continuous"),
    ],
)
def test_c1_exception_refuses_jumping_gradients(f, match):
    bm2 = SymbolicSDE([x, y], [0, 0], sp.eye(2))
    with pytest.raises(ValueError, match=match):
        ito(bm2, f, regularity="C1-lipschitz-gradient")


def test_c2_accepts_functions_written_with_kinks_that_are_c2():
    # |x|^3 and (x)_+^3 are C^2: (|x|^3)'' = 6|x| is continuous, so Itô applies as usual
    bm = SymbolicSDE([x], [0], [[1]])
    res = ito(bm, sp.Abs(x) ** 3)
    for v in (-0.8, 1.1):
        assert float(res.drift.subs(x, v)) == pytest.approx(3 * abs(v))
    res = ito(bm, sp.Max(x, 0) ** 3)
    assert float(res.drift.subs(x, 0.5)) == pytest.approx(3 * 0.5)
    assert float(res.drift.subs(x, -0.5)) == 0.0


def test_regularity_argument_checked():
    bm = SymbolicSDE([x], [0], [[1]])
    with pytest.raises(ValueError, match="regularity must be one of"):
        ito(bm, x**2, regularity="C3")
    with pytest.raises(TypeError, match="regularity must be a str"):
        ito(bm, x**2, regularity=2)


def test_kinks_in_parameters_only_are_fine():
    bm = SymbolicSDE([x], [0], [[1]], params=[a])
    assert ito(bm, sp.Max(a, 1) * x**2).drift == sp.Max(a, 1)


# ----------------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------------


def test_bad_sde_construction():
    with pytest.raises(ValueError, match=r"\(2 x 1\) column"):
        SymbolicSDE([x, y], [x, y, x], sp.eye(2))
    with pytest.raises(ValueError, match="2 rows"):
        SymbolicSDE([x, y], [0, 0], sp.eye(3))
    with pytest.raises(ValueError, match="flat sequence"):
        SymbolicSDE([x, y], [0, 0], [1, 1])
    with pytest.raises(ValueError, match=r"\['a'\].*not declared"):
        SymbolicSDE([x], [a * x], [[1]])
    with pytest.raises(ValueError, match="differ in their assumptions"):
        SymbolicSDE([x], [sp.Symbol("x")], [[1]])
    with pytest.raises(TypeError, match="not a str"):
        SymbolicSDE([x], ["x**2"], [[1]])
    with pytest.raises(TypeError, match="Symbols"):
        SymbolicSDE([x**2], [0], [[1]])
    with pytest.raises(ValueError, match="distinct"):
        SymbolicSDE([x, x], [0, 0], sp.eye(2))
    with pytest.raises(ValueError, match="at least one"):
        SymbolicSDE([], [], [])
    with pytest.raises(ValueError, match="both as state and as params"):
        SymbolicSDE([x], [0], [[1]], params=[x])
    with pytest.raises(TypeError, match="time must be"):
        SymbolicSDE([x], [0], [[1]], time="t")


def test_bad_function_for_ito():
    bm = SymbolicSDE([x], [0], [[1]])
    with pytest.raises(ValueError, match=r"\['y'\].*not declared"):
        ito(bm, x * y)
    with pytest.raises(TypeError, match="scalar"):
        ito(bm, sp.Matrix([x, x]))
    with pytest.raises(TypeError, match="not a str"):
        ito(bm, "x**2")
    with pytest.raises(TypeError, match="SymbolicSDE or an ExchangeableSDE"):
        ito(object(), x)


# ----------------------------------------------------------------------------------------------------
# Symbolic width
# ----------------------------------------------------------------------------------------------------


def test_exchangeable_linear_log_norm():
    # d log||X|| = (1/2 - 1/n) dt + n^{-1/2} dW for dX = ||X||/sqrt(n) dB (docs/science.md §A4): the Laplacian
    # of log r in dimension n is (n - 2)/r^2, times ||x||^2/(2n)
    sde = ExchangeableSDE(n, lambda s: sp.sqrt(s(lambda u: u**2) / n))
    res = ito(sde, sp.log(sde.sum(lambda u: u**2)) / 2)
    assert is_zero(res.drift - (sp.Rational(1, 2) - 1 / n))
    assert not is_zero(res.drift - (sp.Rational(1, 2) - 1 / (2 * n)))  # wrong constant detected
    assert is_zero(res.quadratic_variation - 1 / n)
    assert res.diffusion is None


def test_exchangeable_relu_without_blocks_counts_active_units():
    # without a sign pattern, the drift of log||phi(X)|| comes out with mu = sum_i H(x_i)
    sde = exchangeable_limit_diffusion(n, "relu")
    P = sde.sum(lambda u: sp.Max(u, 0) ** 2)
    res = ito(sde, sp.log(P) / 2, regularity="C1-lipschitz-gradient")
    count = sde.sum(sp.Heaviside(sde.coordinate))
    assert is_zero(res.drift - (count - 2) / (2 * n))
    assert is_zero(res.quadratic_variation - 1 / n)
    with pytest.raises(ValueError, match="not C\\^2"):
        ito(sde, sp.log(P) / 2)


def _concrete_relu_drift(width, active, f_of_sum):
    """Finite-dimensional Itô drift of f(sum_i (x_i)_+^2) at states with x_1..x_active > 0, rest < 0."""
    sde = limit_diffusion(width, "relu")
    xs = sde.state
    P = sp.Add(*[sp.Max(v, 0) ** 2 for v in xs])
    res = ito(sde, f_of_sum(P), regularity="C1-lipschitz-gradient", simplify=False)
    signed = {
        v: (sp.Dummy(positive=True) if i < active else sp.Dummy(negative=True)) for i, v in enumerate(xs)
    }
    return sp.simplify(res.drift.xreplace(signed)), sp.simplify(res.quadratic_variation.xreplace(signed))


def test_relu_width_one_on_the_live_half_line():
    # n = 1: log((x)_+^2)/2 is -inf on x <= 0 (the dead state), so the C1 check rightly refuses it on the
    # whole line; on the live half-line X > 0 it is log x and d log X = -1/2 dt + dB (docs/science.md §A5)
    sde = limit_diffusion(1, "relu")
    (x1,) = sde.state
    with pytest.raises(ValueError, match="jumps"):
        ito(sde, sp.log(sp.Max(x1, 0) ** 2) / 2, regularity="C1-lipschitz-gradient")
    xp = sp.Symbol("x_1", positive=True)
    live = SymbolicSDE([xp], [0], [[sp.sqrt(sp.Max(xp, 0) ** 2)]])
    res = ito(live, sp.log(sp.Max(xp, 0) ** 2) / 2)
    sym = ito(
        exchangeable_limit_diffusion(n, "relu", active=mu),
        sp.log(exchangeable_limit_diffusion(n, "relu").sum(lambda u: sp.Max(u, 0) ** 2)) / 2,
        regularity="C1-lipschitz-gradient",
    )
    assert res.drift == sym.drift.subs({n: 1, mu: 1}) == sp.Rational(-1, 2)
    assert res.quadratic_variation == 1


@pytest.mark.parametrize(
    "width", [2, pytest.param(3, marks=pytest.mark.slow), pytest.param(4, marks=pytest.mark.slow)]
)
def test_exchangeable_blocks_agree_with_finite_dimension_relu(width):
    """The symbolic-width derivation with a sign pattern equals the n-dimensional Itô formula."""
    sym = exchangeable_limit_diffusion(n, "relu", active=mu)
    P = sym.sum(lambda u: sp.Max(u, 0) ** 2)
    res = ito(sym, sp.log(P) / 2, regularity="C1-lipschitz-gradient")
    for active in range(1, width + 1):
        drift, qv = _concrete_relu_drift(width, active, lambda s: sp.log(s) / 2)
        assert drift == res.drift.subs({n: width, mu: active})
        assert qv == res.quadratic_variation.subs({n: width, mu: active})


@pytest.mark.parametrize("width", [1, 2, 3, pytest.param(4, marks=pytest.mark.slow)])
def test_exchangeable_agrees_with_finite_dimension_linear(width):
    p = sp.Rational(3)
    sym = ExchangeableSDE(n, lambda s: sp.sqrt(s(lambda u: u**2) / n))
    S = sym.sum(lambda u: u**2)
    conc = sym.subs({n: width}).expand()
    S_c = sp.Add(*[v**2 for v in conc.state])
    for f in (lambda s: sp.log(s) / 2, lambda s: s ** (p / 2), lambda s: s):
        r_sym = ito(sym, f(S))
        r_con = ito(conc, f(S_c))
        back = r_sym.drift.subs(n, width).subs(S, S_c)
        back_qv = r_sym.quadratic_variation.subs(n, width).subs(S, S_c)
        # compared at points off the coordinate hyperplanes (for n = 1, (x^2)^(3/2) = |x|^3 has kinks that
        # sympy writes as Abs on one side and with Heaviside functions on the other)
        for k in range(3):
            pt = {v: (-1) ** (i + k) * (0.4 + 0.3 * i + 0.2 * k) for i, v in enumerate(conc.state)}
            assert float(back.subs(pt)) == pytest.approx(float(r_con.drift.subs(pt)), rel=1e-12)
            assert float(back_qv.subs(pt)) == pytest.approx(
                float(r_con.quadratic_variation.subs(pt)), rel=1e-12
            )


def test_exchangeable_coordinatewise_drift_and_time():
    # n independent OU coordinates dX_i = -a X_i dt + b dB_i: d sum X_i^2 = (n b^2 - 2a S) dt + ...
    sde = ExchangeableSDE(n, b, drift=lambda u, s: -a * u, params=[a, b], time=t)
    S = sde.sum(lambda u: u**2)
    res = ito(sde, sp.exp(2 * a * t) * S)
    # d(e^{2at} S) = e^{2at}(2a S + n b^2 - 2a S) dt = n b^2 e^{2at} dt
    assert is_zero(res.drift - n * b**2 * sp.exp(2 * a * t))
    assert is_zero(res.generator - (n * b**2 - 2 * a * S) * sp.exp(2 * a * t))
    assert is_zero(res.quadratic_variation - 4 * b**2 * sp.exp(4 * a * t) * S)


def test_exchangeable_bad_input():
    with pytest.raises(ValueError, match="add up to n"):
        ExchangeableSDE(n, 1, blocks=[Block(mu, 1), Block(n, -1)])
    sde = ExchangeableSDE(n, 1)
    with pytest.raises(ValueError, match="depends on the coordinate"):
        ExchangeableSDE(n, sde.coordinate)
    with pytest.raises(ValueError, match="outside a sum"):
        ito(sde, sde.coordinate**2)
    with pytest.raises(ValueError, match="not declared"):
        ito(sde, y * sde.sum(lambda u: u**2))
    with pytest.raises(ValueError, match="n must be >= 1"):
        ExchangeableSDE(0, 1)
    with pytest.raises(ValueError, match="smooth function of its coordinate sums"):
        ito(sde, sp.Abs(sde.sum(lambda u: u**3)))
    with pytest.raises(ValueError, match="integer dimension"):
        sde.expand()
    with pytest.raises(ValueError, match="sign"):
        Block(n, 2)
    with pytest.raises(ValueError, match="local-time"):
        ito(
            exchangeable_limit_diffusion(n, "relu"),
            sde.sum(lambda u: sp.Max(u, 0)),
            regularity="C1-lipschitz-gradient",
        )


def test_exchangeable_expand_and_repr():
    sde = exchangeable_limit_diffusion(3, "linear")
    conc = sde.expand()
    assert conc.dim == 3
    assert conc.diffusion[0, 0] == sp.sqrt(sum(v**2 for v in conc.state)) / sp.sqrt(3)
    assert "ExchangeableSDE" in repr(sde)
    assert "Sum[i]" in str(sde.sum(lambda u: u**2))
    assert sp.latex(sde.sum(lambda u: u**2)).startswith(r"\sum_{i}")


@pytest.mark.slow
def test_all_sign_patterns_small_width_numeric():
    """Concrete ReLU Itô drift at states of every sign pattern equals (mu - 2)/(2n) (docs/science.md §A5),
    n = 3."""
    for width in (3,):
        sde = limit_diffusion(width, "relu")
        xs = sde.state
        P = sp.Add(*[sp.Max(v, 0) ** 2 for v in xs])
        res = ito(sde, sp.log(P) / 2, regularity="C1-lipschitz-gradient")
        fn = sp.lambdify(xs, res.drift, modules="numpy")
        for signs in itertools.product((1, -1), repeat=width):
            if max(signs) < 0:
                continue
            pt = [s * (0.3 + 0.4 * i) for i, s in enumerate(signs)]
            active = sum(1 for s in signs if s > 0)
            assert float(fn(*pt)) == pytest.approx((active - 2) / (2 * width), abs=1e-12)
