"""The 1-D solver: assembly exactness, kernel against the dense reference, exact solutions, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from stochdepth import ConvergenceError, NumericalError, Status
from stochdepth.freeboundary import (
    PSOR,
    BrennanSchwartz,
    CrankNicolson,
    Dirichlet,
    Grid,
    Implicit,
    Natural,
    Neumann,
    ObstacleProblem,
    PrimalDualActiveSet,
    StationaryObstacleProblem,
    SteadyState,
    StretchedGrid,
    ThetaScheme,
    UniformGrid,
    american_put_problem,
    solve_obstacle,
)
from stochdepth.freeboundary._assembly import axis_operator
from stochdepth.freeboundary.solve import _assemble_1d, _dirichlet_1d
from stochdepth.testing.references import lcp_least_element, theta_march_reference


def test_assembly_exact_on_quadratics(seed):
    """Centred non-uniform differences are exact for quadratics: L p = b p' + D p'' at interior nodes;
    the Neumann ghost row is exact for a quadratic with the prescribed slope."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-2, 2, 25))
    b = rng.uniform(-0.1, 0.1, x.size)
    d = rng.uniform(1.0, 2.0, x.size)  # large diffusion: centred everywhere
    al, be, ga = rng.normal(size=3)
    p = al + be * x + ga * x**2
    exact = b * (be + 2 * ga * x) + d * 2 * ga
    slopes = be + 2 * ga * x[[0, -1]]
    lo, di, up, src = axis_operator(
        x, b, d, Neumann(), Neumann(), None, np.array(slopes[0]), np.array(slopes[1])
    )
    lp = di * p + src
    lp[1:] += lo[1:] * p[:-1]
    lp[:-1] += up[:-1] * p[1:]
    np.testing.assert_allclose(lp, exact, rtol=1e-9, atol=1e-9)


def test_assembly_upwinds_where_needed():
    """Strong drift, weak diffusion: the automatic choice keeps an M-matrix (off-diagonals >= 0)."""
    x = np.linspace(0, 1, 21)
    b = np.full(x.size, 5.0)
    d = np.full(x.size, 1e-3)
    lo, _, up, _ = axis_operator(x, b, d, Dirichlet(), Dirichlet(), None)
    assert np.all(lo[1:-1] >= 0) and np.all(up[1:-1] >= 0)
    lo_c, _, _, _ = axis_operator(x, b, d, Dirichlet(), Dirichlet(), False)
    assert np.any(lo_c[1:-1] < 0)  # centred differences would not be monotone here
    lo_u, _, _, _ = axis_operator(x, -b, d, Dirichlet(), Dirichlet(), True)
    np.testing.assert_allclose(lo_u[1:-1], 5.0 / 0.05 + d[0] / 0.05**2)  # backward difference for b < 0


def test_kernel_matches_dense_reference(seed):
    """The compiled march (all three LCP solvers) equals a dense python march with LP-solved LCPs, on a
    small problem exercising every path: time-dependent coefficients, Rannacher steps, Dirichlet callable,
    Neumann edge, discount and cost."""
    rng = np.random.default_rng(seed)
    x = np.sort(np.concatenate([[-1.0, 1.0], rng.uniform(-1, 1, 13)]))
    k_put = rng.uniform(-0.3, 0.3)
    prob = ObstacleProblem(
        lambda y: np.maximum(k_put - y, 0.0),
        lambda t, y: 0.2 * np.sin(3 * y) + 0.1 * t,
        lambda t, y: 0.3 + 0.1 * t + 0.0 * y,
        0.5,
        Grid(x),
        cost=lambda t, y: 0.01 + 0.0 * y,
        rate=0.05,
        left=Dirichlet(lambda t, y: k_put - y + 0.0 * t),
        right=Neumann(0.0),
    )
    scheme = CrankNicolson(n_steps=5, rannacher_steps=1)
    times, thetas = scheme.time_grid(0.5)
    lo, di, up, r, src = _assemble_1d(prob, x, times, None)
    di = di - r
    g = np.maximum(k_put - x, 0.0)
    mask, dvals = _dirichlet_1d(prob, x, times, g)
    lo[:, mask] = di[:, mask] = up[:, mask] = src[:, mask] = 0.0
    ref = theta_march_reference(times, thetas, lo, di, up, src, mask, dvals, g, g, lcp_least_element)
    for lcp in (PrimalDualActiveSet(), PSOR(omega=1.2, tol=1e-13)):
        sol = solve_obstacle(prob, scheme=scheme, lcp=lcp)
        np.testing.assert_allclose(sol.value, ref, atol=1e-8)
        assert sol.residual < 1e-9 and sol.status is Status.CONVERGED
    # the running cost makes the far out-of-the-money side a second stopping region: the problem is
    # two-sided, and Brennan-Schwartz (exact for one-sided problems only) must say so by its residual
    bs = solve_obstacle(prob, scheme=scheme, lcp=BrennanSchwartz(), throw=False)
    two_sided = any(np.count_nonzero(np.diff(row[1:].astype(int))) > 1 for row in ref[:-1] <= g)
    if two_sided:
        assert bs.residual > 1e-9
    else:
        np.testing.assert_allclose(bs.value, ref, atol=1e-8)


def test_time_dependent_exact_solution():
    r"""No binding obstacle, :math:`\sigma(t)^2=2t`, :math:`b=0`, terminal :math:`x^2`:
    :math:`V(t,x)=x^2+\int_t^1 2s\,ds=x^2+1-t^2`. Centred differences are exact on quadratics and the
    pure CN scheme (trapezoidal rule in time) is exact for the linear-in-time source, so the discrete
    solution is exact to round-off; quadratic interpolation and second-order slopes too."""
    grid = StretchedGrid(-2.0, 2.0, 41, 0.3, 0.5)
    prob = ObstacleProblem(
        lambda x: np.full_like(x, -100.0),
        0.0,
        lambda t, x: np.sqrt(2 * t) + 0.0 * x,
        1.0,
        grid,
        terminal=lambda x: x**2,
        left=Dirichlet(lambda t, x: x**2 + 1 - t**2),
        right=Dirichlet(lambda t, x: x**2 + 1 - t**2),
    )
    sol = solve_obstacle(prob, scheme=ThetaScheme(0.5, n_steps=8))
    x = sol.x
    for k, t in enumerate(sol.times):
        np.testing.assert_allclose(sol.value[k], x**2 + 1 - t**2, atol=1e-11)
    xs = np.array([-1.234, 0.1, 1.77])
    np.testing.assert_allclose(sol.value_at(0.0, xs), xs**2 + 1, atol=1e-11)
    np.testing.assert_allclose(sol.derivative(0.0), 2 * x, atol=1e-9)
    assert sol.free_boundaries == ()
    assert not sol.stopping[:-1].any() and sol.stopping[-1].sum() == 0


def test_lcp_solvers_agree_on_the_put():
    """PSOR, Brennan-Schwartz and the active-set method give the same put value; exact solvers have
    residual at round-off, PSOR at its tolerance."""
    put = american_put_problem(100.0, 0.05, 0.3, 0.5, n_nodes=201)
    scheme = CrankNicolson(n_steps=40)
    sols = {
        "bs": solve_obstacle(put, scheme=scheme, lcp=BrennanSchwartz(side="lower")),
        "auto": solve_obstacle(put, scheme=scheme, lcp=BrennanSchwartz()),
        "pdas": solve_obstacle(put, scheme=scheme, lcp=PrimalDualActiveSet()),
        "psor": solve_obstacle(put, scheme=scheme, lcp=PSOR(omega=1.3, tol=1e-12)),
    }
    base = sols["pdas"].value
    for name, s in sols.items():
        np.testing.assert_allclose(s.value, base, atol=1e-9, err_msg=name)
        assert s.residual < (1e-9 if name == "psor" else 1e-11), name
    # finite termination of the warm-started active set: a few solves per step
    assert sols["pdas"].max_step_iterations <= 10


def test_neumann_edge_is_exact_for_linear_continuation():
    """B6 (n = 8, a = 0, c = 0.1): with the exact slope c/m imposed at a close left edge the stationary
    solution matches the closed form (the continuation value is linear, so the scheme is exact there)."""
    m, s, c = 0.375, 1 / np.sqrt(8), 0.1
    ystar = -c / (2 * m)
    grid = StretchedGrid(-1.5, 1.0, 201, ystar, 0.2)
    prob = StationaryObstacleProblem(lambda y: -(y**2), m, s, grid, cost=c, left=Neumann(c / m))
    sol = solve_obstacle(prob)
    exact = np.where(grid.nodes < ystar, -(ystar**2) + c / m * (grid.nodes - ystar), -(grid.nodes**2))
    np.testing.assert_allclose(sol.value, exact, atol=2e-4)
    assert abs(sol.free_boundary.location - ystar) <= sol.free_boundary.error


def test_ill_posed_stationary_problems_are_reported():
    """No discount, reflecting edges, a running *reward*: the value is infinite. The exact solvers must
    not return a silent number: an error (singular elimination) or a status naming the residual."""
    prob = StationaryObstacleProblem(
        lambda x: -1.0 - 0 * x, 0.0, 1.0, UniformGrid(0, 1, 11), cost=-0.1, left=Neumann(), right=Neumann()
    )
    for lcp in (PrimalDualActiveSet(), BrennanSchwartz()):
        with pytest.raises(NumericalError, match="singular"):
            solve_obstacle(prob, lcp=lcp)
    capped = solve_obstacle(prob, lcp=PSOR(max_iter=50), throw=False)
    assert capped.status is Status.MAX_ITERATIONS and not capped.success
    with pytest.raises(ConvergenceError, match="MAX_ITERATIONS") as err:
        solve_obstacle(prob, lcp=PSOR(max_iter=50))
    assert err.value.status is Status.MAX_ITERATIONS and err.value.result.iterations == capped.iterations


def test_brennan_schwartz_status_on_two_sided_problem():
    """Gain exp(-x^2), no drift, small cost: stop near the peak (where the gain is concave), continue in
    the convex tails on both sides; the problem is not one-sided and Brennan-Schwartz says so."""
    prob = StationaryObstacleProblem(lambda x: np.exp(-(x**2)), 0.0, 1.0, UniformGrid(-3, 3, 61), cost=0.01)
    ok = solve_obstacle(prob)
    assert ok.status is Status.CONVERGED and len(ok.free_boundaries) == 2
    bad = solve_obstacle(prob, lcp=BrennanSchwartz(side="lower"), throw=False)
    assert bad.status is Status.LARGE_RESIDUAL and "not one-sided" in bad.message
    with pytest.raises(ConvergenceError, match="LARGE_RESIDUAL"):
        solve_obstacle(prob, lcp=BrennanSchwartz(side="lower"))


def _put(**kw):
    base = {
        "gain": lambda x: np.maximum(1 - x, 0.0),
        "drift": 0.0,
        "volatility": 0.2,
        "t1": 1.0,
        "grid": UniformGrid(0.0, 2.0, 21),
    }
    base.update(kw)
    return ObstacleProblem(**base)


@pytest.mark.parametrize(
    ("build", "exc", "match"),
    [
        (lambda: _put(volatility=-0.2), ValueError, "volatility must be >= 0"),
        (lambda: _put(rate=-0.1), ValueError, "rate must be >= 0"),
        (lambda: _put(t1=0.0), ValueError, "t1"),
        (lambda: _put(drift=np.nan), ValueError, "drift must be finite"),
        (lambda: _put(drift="up"), TypeError, "drift"),
        (lambda: _put(gain=1.0), TypeError, "gain must be a callable"),
        (lambda: _put(grid=[0.0, 1.0, 0.5]), ValueError, "strictly increasing"),
        (lambda: _put(left="dirichlet"), TypeError, "left must be"),
        (lambda: _put(terminal=3.0), TypeError, "terminal"),
        (lambda: Dirichlet("a"), TypeError, "Dirichlet.value"),
        (lambda: Neumann(np.inf), ValueError, "Neumann.slope"),
    ],
)
def test_bad_problem_construction(build, exc, match):
    with pytest.raises(exc, match=match):
        build()


@pytest.mark.parametrize(
    ("problem", "exc", "match"),
    [
        (_put(volatility=lambda t, x: 0.2 - x), ValueError, "volatility must be >= 0"),
        (
            _put(drift=lambda t, x: np.where(x > 1.5, np.nan, 0.0)),
            ValueError,
            r"drift must be finite.*x=1\.6",
        ),
        (_put(cost=lambda t, x: np.where(x < 0.5, np.inf, 0.01)), ValueError, "cost must be finite"),
        (_put(rate=lambda t, x: -x), ValueError, "rate must be >= 0"),
        (_put(drift=lambda t, x: np.zeros(3)), ValueError, "must broadcast"),
        (_put(terminal=lambda x: np.maximum(1 - x, 0.0) - 0.1), ValueError, "inconsistent terminal data"),
        (
            _put(terminal=lambda x: np.maximum(1 - x, 0.0) + 0.1),
            ValueError,
            "inconsistent terminal data: the left Dirichlet",
        ),
        (_put(left=Dirichlet(5.0)), ValueError, "inconsistent terminal data"),
        (_put(left=Natural()), ValueError, "zero volatility at the lower x edge"),
        (
            _put(volatility=0.0, drift=-1.0, left=Natural()),
            ValueError,
            "drift pointing into the domain at the lower x edge",
        ),
    ],
)
def test_bad_problem_at_solve(problem, exc, match):
    with pytest.raises(exc, match=match):
        solve_obstacle(problem)


def test_wrong_scheme_or_solver_types():
    with pytest.raises(TypeError, match="scheme for a finite-horizon"):
        solve_obstacle(_put(), scheme=SteadyState())
    stat = StationaryObstacleProblem(lambda x: -(x**2), 0.0, 1.0, UniformGrid(-1, 1, 11), cost=0.1)
    with pytest.raises(TypeError, match="scheme for a stationary"):
        solve_obstacle(stat, scheme=Implicit())
    with pytest.raises(TypeError, match="lcp must be"):
        solve_obstacle(stat, lcp="pdas")
    with pytest.raises(TypeError, match="problem must be"):
        solve_obstacle("put")


def test_accessor_bad_input():
    sol = solve_obstacle(_put(), scheme=Implicit(n_steps=5))
    with pytest.raises(ValueError, match="x must lie in the grid's domain"):
        sol.value_at(0.0, 3.0)
    with pytest.raises(ValueError, match="t must be <= 1"):
        sol.value_at(1.5, 0.5)
    assert "ObstacleSolution(" in repr(sol) and "residual" in repr(sol)
