"""Translation of sympy models to numpy, numba, SDEs and obstacle coefficients.

The translated callables are compared with sympy's own evaluation at random points (hypothesis); a
symbolically written GBM and the symbolic linear limit diffusion are simulated through
stochdepth.sde.simulate and matched with their closed forms; the docs/science.md §B6 obstacle problem built
from
the derived log-norm SDE is solved by stochdepth.freeboundary and matched with the smooth-fit boundary.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from stochdepth import NumericalError
from stochdepth.symbolic import (
    SymbolicSDE,
    derive_linear_log_norm_sde,
    detect_noise,
    exchangeable_limit_diffusion,
    limit_diffusion,
    to_numba,
    to_numpy,
    to_obstacle_coefficients,
    to_sde,
)

x, y = sp.symbols("x y", real=True)
a, b = sp.symbols("a b", positive=True)
t = sp.Symbol("t", nonnegative=True)

EXPRESSIONS = [
    x**3 - 2 * x * y + sp.Rational(1, 3),
    sp.exp(-(x**2)) * sp.cos(y),
    sp.erf(x / sp.sqrt(2)) * y,
    sp.Max(x, 0) ** 2 + sp.Min(y, 0),
    sp.Piecewise((x * y, x > y), (x - y, True)),
    sp.Heaviside(x) * y + sp.sign(y) * x,
    sp.sqrt(x**2 + y**2 + 1) + sp.tanh(x) * sp.Abs(y),
    sp.log(1 + x**2) / (2 + sp.sin(y)),
]

coords = st.floats(-3.0, 3.0).filter(lambda v: abs(v) > 1e-9)


def sympy_value(expr, xv, yv):
    return float(expr.subs({x: xv, y: yv}).evalf(30))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("k", range(len(EXPRESSIONS)))
@given(xv=coords, yv=coords)
def test_generated_code_matches_sympy(backend, k, xv, yv):
    """to_numpy and to_numba (compiled once per expression) agree with sympy to 1e-12."""
    expr = EXPRESSIONS[k]
    if isinstance(expr, sp.Piecewise) and abs(xv - yv) < 1e-9:
        return
    f = to_numpy(expr, (x, y)) if backend == "numpy" else _numba_cache(k)
    assert float(f(xv, yv)) == pytest.approx(sympy_value(expr, xv, yv), rel=1e-12, abs=1e-12)


_NUMBA: dict[int, object] = {}


def _numba_cache(k):
    if k not in _NUMBA:
        _NUMBA[k] = to_numba(EXPRESSIONS[k], (x, y))
    return _NUMBA[k]


def test_to_numpy_broadcasting_matrices_and_values():
    f = to_numpy(sp.Matrix([[x, 1], [a * y, x * y]]), (x, y), {"a": 2.0})
    out = f(np.array([1.0, 2.0, 3.0])[:, None], np.array([10.0, 20.0]))
    assert out.shape == (3, 2, 2, 2)
    assert out[2, 1].tolist() == [[3.0, 1.0], [40.0, 60.0]]
    const = to_numpy(sp.Integer(3), x)
    assert const(np.zeros((2, 3))).shape == (2, 3)
    assert const(0.0).shape == ()
    # values are bound exactly as float64 (no printing of decimals)
    third = to_numpy(a * x, x, {a: 1 / 3})
    assert third(3.0) == 3.0 * (1 / 3)
    assert "NumpyFunction" in repr(third)


def test_to_numpy_nan_is_reported():
    f = to_numpy(sp.log(x), x)
    with pytest.raises(NumericalError, match="NaN or infinite"):
        f(np.array([1.0, -1.0]))
    g = to_numpy(sp.log(x), x, check_finite=False)
    assert np.isnan(g(-1.0))


def test_translation_bad_input():
    with pytest.raises(ValueError, match=r"\['a'\].*missing"):
        to_numpy(a * x, x)
    with pytest.raises(ValueError, match="not a free symbol"):
        to_numpy(a * x, x, {"c": 1.0})
    with pytest.raises(TypeError, match="undefined functions"):
        to_numpy(sp.Function("g")(x), x)
    with pytest.raises(ValueError, match="DiracDelta"):
        to_numba(sp.DiracDelta(x), x)
    with pytest.raises(ValueError, match="unevaluated"):
        to_numpy(sp.Integral(x, (x, 0, 1)) * x, x)
    with pytest.raises(TypeError, match="not a str"):
        to_numpy("x**2", x)
    with pytest.raises(ValueError, match="finite"):
        to_numba(a * x, x, {a: float("nan")})
    with pytest.raises(TypeError, match="argument"):
        to_numpy(x + y, (x, y))(1.0)


# ----------------------------------------------------------------------------------------------------
# SDEs
# ----------------------------------------------------------------------------------------------------


def _eval_kernel(fn, state, shape, tv=0.3):
    out = np.full(shape, np.nan)
    fn(tv, np.asarray(state, dtype=float), out)
    return out


@given(st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3))
def test_generated_kernels_match_sympy(state):
    xs = sp.symbols("x1:4", real=True)
    drift = [a * xs[0] * xs[1], sp.sin(xs[2]) - t, sp.Integer(1)]
    sigma = sp.diag(b * xs[0], 1 + xs[1] ** 2, sp.exp(xs[2] / 2))
    sde = SymbolicSDE(xs, drift, sigma, params=[a, b], time=t)
    comp = _compiled_diag(sde)
    vals = {a: 0.7, b: 1.3, t: 0.3, **dict(zip(xs, state))}
    got = _eval_kernel(comp.drift, state, (3,))
    assert got == pytest.approx([float(e.subs(vals)) for e in drift], rel=1e-12, abs=1e-14)
    got = _eval_kernel(comp.diffusion, state, (3,))
    assert got == pytest.approx([float(sigma[i, i].subs(vals)) for i in range(3)], rel=1e-12, abs=1e-14)
    got = _eval_kernel(comp.diffusion_derivative, state, (3,))
    want = [float(sp.diff(sigma[i, i], xs[i]).subs(vals)) for i in range(3)]
    assert got == pytest.approx(want, rel=1e-12, abs=1e-14)


_COMPILED: dict[str, object] = {}


def _compiled_diag(sde):
    if "diag" not in _COMPILED:
        _COMPILED["diag"] = to_sde(sde, {a: 0.7, b: 1.3})
    return _COMPILED["diag"]


def test_noise_detection_and_forced_noise():
    xs = sp.symbols("x1:3", real=True)
    assert detect_noise(SymbolicSDE(xs, [0, 0], [[xs[0]], [1]])) == "scalar"
    assert detect_noise(SymbolicSDE(xs, [0, 0], sp.diag(xs[0], 1))) == "diagonal"
    r = sp.sqrt(xs[0] ** 2 + xs[1] ** 2)
    assert detect_noise(SymbolicSDE(xs, [0, 0], sp.diag(r, r))) == "isotropic"
    assert detect_noise(SymbolicSDE(xs, [0, 0], sp.diag(r, 1))) == "diagonal"
    assert detect_noise(SymbolicSDE(xs, [0, 0], [[1, xs[0]], [0, 1]])) == "general"
    general = to_sde(SymbolicSDE(xs, [0, 0], [[1, 2, 3], [4, 5, xs[0]]]))
    assert (general.noise, general.noise_dim) == ("general", 3)
    assert _eval_kernel(general.diffusion, [7.0, 8.0], (2, 3)).tolist() == [[1, 2, 3], [4, 5, 7]]
    iso = to_sde(SymbolicSDE(xs, [0, 0], sp.diag(r, r)))
    assert iso.noise == "isotropic" and iso.drift is None and iso.diffusion_derivative is None
    assert _eval_kernel(iso.diffusion, [3.0, 4.0], (1,))[0] == 5.0
    forced = to_sde(SymbolicSDE(xs, [0, 0], sp.diag(r, r)), noise="diagonal")
    assert forced.noise == "diagonal" and forced.diffusion_derivative is None  # not commutative
    scalar = to_sde(SymbolicSDE(xs, [xs[1], 0], [[xs[1]], [xs[0]]]))
    # (s . grad) s = (s_2 ds_1/dx_2, s_1 ds_2/dx_1) = (x1, x2)
    assert _eval_kernel(scalar.diffusion_derivative, [2.0, 5.0], (2,)).tolist() == [2.0, 5.0]


def test_to_sde_bad_input():
    xs = sp.symbols("x1:3", real=True)
    rect = SymbolicSDE(xs, [0, 0], [[1, 0, 0], [0, 1, 0]])
    with pytest.raises(ValueError, match=r"square .* non-square shape"):
        to_sde(rect, noise="diagonal")
    with pytest.raises(ValueError, match="square"):
        to_sde(rect, noise="isotropic")
    with pytest.raises(ValueError, match="one Brownian motion"):
        to_sde(rect, noise="scalar")
    with pytest.raises(ValueError, match="diagonal diffusion matrix"):
        to_sde(SymbolicSDE(xs, [0, 0], [[1, 1], [0, 1]]), noise="diagonal")
    with pytest.raises(ValueError, match="equal diagonal"):
        to_sde(SymbolicSDE(xs, [0, 0], sp.diag(1, 2)), noise="isotropic")
    with pytest.raises(ValueError, match="noise must be one of"):
        to_sde(rect, noise="additive")
    gbm = SymbolicSDE([x], [a * x], [[b * x]], params=[a, b])
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        to_sde(gbm, {a: 0.1})
    with pytest.raises(ValueError, match="not a parameter"):
        to_sde(gbm, {a: 0.1, b: 0.2, "c": 1})
    with pytest.raises(TypeError, match="SymbolicSDE or an ExchangeableSDE"):
        to_sde("gbm")
    with pytest.raises(ValueError, match="positive integer"):
        to_sde(exchangeable_limit_diffusion(None, "linear"), {"n": sp.Rational(5, 2)})
    with pytest.raises(ValueError, match="sign pattern"):
        to_sde(exchangeable_limit_diffusion(None, "relu", active=2), {"n": 4})
    with pytest.raises(TypeError, match="undefined functions"):
        to_sde(SymbolicSDE([x], [sp.Function("g")(x)], [[1]]))


def test_symbolic_gbm_simulated_matches_closed_form(seed):
    """Milstein on the compiled symbolic GBM: E log X_1 = a - b^2/2, Var log X_1 = b^2 (exact law).

    Milstein's weak error on log X is O(h) with h = 1/200, i.e. ~1e-4 here, well below the 5 standard
    errors of the test (~5 * 0.3/sqrt(20000) = 0.011).
    """
    from stochdepth.montecarlo import Moments
    from stochdepth.sde import Milstein, log_norm, simulate

    aa, bb = 0.05, 0.3
    gbm = to_sde(SymbolicSDE([x], [a * x], [[b * x]], params=[a, b]), {a: aa, b: bb})
    res = simulate(
        gbm,
        Milstein(),
        1.0,
        200,
        np.array([1.0]),
        n_paths=20000,
        observe=log_norm(),
        reduce=Moments(),
        rng=seed,
    )
    m = res["log_norm"].moments
    mean, var = float(m.mean[-1]), float(m.var[-1])
    se_mean = math.sqrt(bb**2 / 20000)
    se_var = bb**2 * math.sqrt(2 / 20000)
    assert abs(mean - (aa - bb**2 / 2)) < 5 * se_mean
    assert abs(var - bb**2) < 5 * se_var


def test_exchangeable_linear_limit_simulated(seed):
    """The compiled symbolic limit diffusion of a linear network of width 4 (loops over coordinates):
    log(||X_1||/||X_0||) has mean 1/2 - 1/4 and variance 1/4 (docs/science.md §A4).

    Euler--Maruyama with 400 steps is the exact random walk of a depth-400 network, whose mean log-norm
    differs from the limit by O(1/L) ~ 0.003; the tolerance, 5 standard errors, is 0.018.
    """
    from stochdepth.montecarlo import Moments
    from stochdepth.sde import EulerMaruyama, log_norm, simulate

    sde = to_sde(exchangeable_limit_diffusion(None, "linear"), {"n": 4})
    assert sde.noise == "isotropic" and sde.dim == 4
    x0 = np.array([1.0, 0.0, 0.0, 0.0])
    res = simulate(
        sde, EulerMaruyama(), 1.0, 400, x0, n_paths=5000, observe=log_norm(), reduce=Moments(), rng=seed
    )
    m = res["log_norm"].moments
    mean, var = float(m.mean[-1]), float(m.var[-1])
    assert abs(mean - 0.25) < 5 * math.sqrt(0.25 / 5000)
    assert abs(var - 0.25) < 5 * 0.25 * math.sqrt(2 / 5000)


def test_exchangeable_relu_kernel_matches_expanded_one():
    ex = to_sde(exchangeable_limit_diffusion(None, "relu"), {"n": 3})
    full = to_sde(limit_diffusion(3, "relu"))
    for state in ([0.3, -1.2, 2.0], [-1.0, -2.0, -0.1], [1.0, 1.0, 1.0]):
        assert _eval_kernel(ex.diffusion, state, (1,)) == pytest.approx(
            _eval_kernel(full.diffusion, state, (1,))
        )
    one = to_sde(exchangeable_limit_diffusion(None, "linear"), {"n": 1})
    assert one.commutative and one.dim == 1


# ----------------------------------------------------------------------------------------------------
# Obstacle coefficients
# ----------------------------------------------------------------------------------------------------


def test_obstacle_coefficients_b6_solved_by_freeboundary():
    """docs/science.md §B6 end to end: derived log-norm SDE (n = 8) -> obstacle problem -> free boundary.

    Closed form y* = a - c/(2m) = 1 - 0.1/0.75; the finite-difference boundary is located to about the
    grid spacing near it (StretchedGrid, 801 nodes, spacing ~5e-3 there).
    """
    from stochdepth import freeboundary as fb

    d = derive_linear_log_norm_sde(8)
    aa, cc = sp.symbols("a c", real=True)
    coef = to_obstacle_coefficients(d, -((d.variable - aa) ** 2), {aa: 1.0, cc: 0.1}, cost=cc)
    assert coef.stationary and coef.drift == 0.375 and coef.volatility == pytest.approx(8**-0.5)
    grid = fb.StretchedGrid(-3.0, 2.0, 801, center=1.0 - 0.1 / 0.75, scale=0.1)
    sol = fb.solve_obstacle(fb.StationaryObstacleProblem(grid=grid, **coef.kwargs()))
    assert sol.free_boundary.location == pytest.approx(1.0 - 0.1 / 0.75, abs=0.01)
    assert coef.gain_derivative(np.array([0.0]))[0] == 2.0  # g'(y) = -2 (y - a)


def test_obstacle_coefficients_time_dependence_and_errors():
    sde = SymbolicSDE([x], [-a * x + t], [[b]], params=[a, b], time=t)
    coef = to_obstacle_coefficients(sde, -(x**2), {a: 1.0, b: 0.5}, cost=0.2)
    assert not coef.stationary
    assert coef.drift(np.array([0.5]), np.array([2.0])).tolist() == [-1.5]
    assert coef.volatility == 0.5 and coef.cost == 0.2 and coef.rate == 0.0
    with pytest.raises(ValueError, match="depends on time"):
        to_obstacle_coefficients(sde, -(x**2), {a: 1.0, b: 0.5}, stationary=True)
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        to_obstacle_coefficients(sde, -(x**2), {a: 1.0})
    with pytest.raises(ValueError, match="one-dimensional"):
        to_obstacle_coefficients(limit_diffusion(2), x)
    kinked = to_obstacle_coefficients(SymbolicSDE([x], [0], [[1]]), sp.Max(x, 0))
    assert kinked.gain_derivative(np.array([-1.0, 1.0])).tolist() == [0.0, 1.0]
    assert "ObstacleCoefficients" in repr(kinked)
