"""stochdepth.symbolic.smooth_fit: the ODE solution, the growth rule, nsolve fallback, verification,
and bad input. (Closed forms of B5, B6 and the perpetual put are checked in the topic test files.)"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from stochdepth.freeboundary import Dirichlet, StationaryObstacleProblem, StretchedGrid, solve_obstacle
from stochdepth.symbolic.smooth_fit import solve_smooth_fit

x = sympy.Symbol("x", real=True)


def test_general_solution_and_growth_rule():
    """dsolve's general solution solves the ODE; with discount both exponentials appear and the one
    growing on the continuation side (towards -inf for an upper stopping region) is excluded."""
    b, sg, r, c = -sympy.Rational(1, 50), sympy.Rational(3, 10), sympy.Rational(1, 20), sympy.Rational(1, 100)
    sol = solve_smooth_fit(sympy.exp(x) - 1, b, sg, variable=x, rate=r, cost=c)  # perpetual-call-like
    gen = sol.general_solution
    d2, bb, rr, cc = sol.generator
    residual = d2 * sympy.diff(gen, x, 2) + bb * sympy.diff(gen, x) - rr * gen - cc
    assert sympy.simplify(residual) == 0
    assert len(sol.excluded) == 1
    (ex,) = sol.excluded
    rate_ex = sympy.simplify(sympy.diff(ex, x) / ex)
    assert float(rate_ex) < 0  # grows as x -> -inf
    assert sol.verified and sol.method == "closed form"
    # value matching and smooth fit at the boundary
    xb = sol.boundary_value
    assert sol.value(xb - 1e-9) == pytest.approx(sol.value(xb + 1e-9), abs=1e-7)
    assert sol.derivative(xb - 1e-9) == pytest.approx(sol.derivative(xb + 1e-9), abs=1e-6)


def test_nsolve_fallback_matches_pde():
    """Gain 4 - e^x - x^3/10 (no closed form for the boundary): nsolve from a guess, verified, and the
    stationary PDE (exact value at the far edge) agrees in boundary and value."""
    gain = 4 - sympy.exp(x) - x**3 / 10
    with pytest.raises(ValueError, match="guess"):
        solve_smooth_fit(gain, 0.01, 0.3, variable=x, rate=0.05, stopping_side="lower")
    sol = solve_smooth_fit(gain, 0.01, 0.3, variable=x, rate=0.05, stopping_side="lower", guess=0.5)
    assert sol.method == "nsolve" and sol.verified
    xb = sol.boundary_value
    grid = StretchedGrid(-2.0, 8.0, 801, center=xb, scale=0.3)
    prob = StationaryObstacleProblem(
        lambda y: 4 - np.exp(y) - y**3 / 10, 0.01, 0.3, grid, rate=0.05, right=Dirichlet(sol.value)
    )
    pde = solve_obstacle(prob)
    assert abs(pde.free_boundary.location - xb) <= pde.free_boundary.error
    np.testing.assert_allclose(pde.value, sol.value(pde.x), atol=5e-5)


def test_refuses_non_optimal_one_sided_structure():
    """Discounted negative gain -(x-1)^2 with cost: far from the target waiting forever (-c/r) beats
    stopping, so the stopping set is a bounded interval (two boundaries); no one-sided candidate passes
    the variational inequalities, and the PDE indeed finds two boundaries."""
    with pytest.raises(ValueError, match="variational inequalities"):
        solve_smooth_fit(-((x - 1) ** 2), 0.3, 0.5, variable=x, rate=0.1, cost=0.05)
    # far above the target the drift carries the state away for good: V -> -c/r = -0.5 there
    grid = StretchedGrid(-6.0, 16.0, 601, center=1.0, scale=2.0)
    prob = StationaryObstacleProblem(
        lambda y: -((y - 1) ** 2), 0.3, 0.5, grid, rate=0.1, cost=0.05, right=Dirichlet(-0.5)
    )
    fbs = solve_obstacle(prob).free_boundaries
    assert [fb.stopping_side for fb in fbs] == ["above", "below"]
    assert fbs[0].location < 1.0 < fbs[1].location


def test_symbolic_results_need_numbers_to_evaluate():
    m, s, c = sympy.symbols("m s c", positive=True)
    sol = solve_smooth_fit(lambda v: -(v**2), m, s, cost=c)
    assert sol.free_symbols == {m, c} and sol.verified is None  # V does not depend on s (B6)
    with pytest.raises(ValueError, match="symbolic parameters remain"):
        sol.value(0.0)
    num = sol.subs({m: 0.25, s: 0.5, c: 0.1})
    assert num.verified and num.boundary_value == pytest.approx(-0.2)


def test_undecidable_sign_is_reported():
    b = sympy.Symbol("b", real=True)  # no sign: which exponential grows cannot be decided
    with pytest.raises(ValueError, match="cannot decide the sign"):
        solve_smooth_fit(-(x**2), b, 1, cost=0.1)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"stopping_side": "left"}, ValueError, "stopping_side"),
        ({"volatility": -1.0}, ValueError, "volatility must be >= 0"),
        ({"rate": -0.1}, ValueError, "rate must be >= 0"),
        ({"drift": x}, ValueError, "drift must be constant"),
        ({"drift": "fast"}, TypeError, "drift"),
        ({"drift": True}, TypeError, "drift"),
        ({"gain": sympy.Integer(3)}, ValueError, "gain must depend"),
        ({"gain": 3.0}, TypeError, "gain"),
        ({"volatility": 0.0, "drift": 0.0}, ValueError, "non-zero drift"),
        ({"variable": "x"}, TypeError, "variable"),
        ({"guess": np.inf}, ValueError, "guess"),
    ],
)
def test_bad_input(kwargs, exc, match):
    args = {"gain": -(x**2), "drift": 0.25, "volatility": 0.5, "cost": 0.1}
    args.update(kwargs)
    gain, drift, vol = args.pop("gain"), args.pop("drift"), args.pop("volatility")
    with pytest.raises(exc, match=match):
        solve_smooth_fit(gain, drift, vol, **args)
