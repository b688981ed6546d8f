"""2-D obstacle problems (sparse matrices, active-set and PSOR solvers).

Exact references come from 1-D problems embedded in 2-D: a rotated B6 bridge (U = (X + Y)/sqrt(2) is a
drifted Brownian motion, with or without correlation) and a product problem whose second coordinate is
inert (the 2-D solution must equal the 1-D one on every row).
"""

from __future__ import annotations

import numpy as np
import pytest

from stochdepth import Status
from stochdepth.depth import linear_resnet_depth_problem, linear_resnet_optimal_depth
from stochdepth.freeboundary import (
    PSOR,
    BrennanSchwartz,
    CrankNicolson,
    Dirichlet,
    Implicit,
    Neumann,
    ObstacleProblem2D,
    SteadyState,
    UniformGrid,
    solve_obstacle,
)

N_WIDTH, A, C = 8, 0.0, 0.1


def rotated_bridge(n_nodes: int, rho: float) -> tuple[ObstacleProblem2D, object]:
    r"""X, Y with drift m/sqrt(2) each and volatility s/sqrt(1 + rho), correlation rho: then
    U = (X + Y)/sqrt(2) has drift m and variance rate s^2 (1 + rho)/(1 + rho) = s^2, i.e. it is B6's
    log-norm; the gain depends on U only, so V(x, y) = V_B6((x + y)/sqrt(2))."""
    cf = linear_resnet_optimal_depth(N_WIDTH, A, C)
    m, s = cf.drift, cf.volatility
    sx = s / np.sqrt(1 + rho)

    def exact(x, y):
        return cf.value((x + y) / np.sqrt(2))

    edge = Dirichlet(exact)
    g = UniformGrid(-1.0, 0.5, n_nodes)
    prob = ObstacleProblem2D(
        lambda x, y: -(((x + y) / np.sqrt(2) - A) ** 2),
        (m / np.sqrt(2), m / np.sqrt(2)),
        (sx, sx),
        g,
        g,
        cost=C,
        correlation=rho,
        left=edge,
        right=edge,
        bottom=edge,
        top=edge,
    )
    return prob, exact


@pytest.mark.parametrize("rho", [0.0, 0.3])
def test_rotated_bridge(rho):
    """Error against the exact 1-D solution falls with refinement (the kink of V'' along the oblique
    boundary, and where the lattice of u-values falls relative to y*, make it non-monotone between
    neighbouring grids, so 21 and 81 nodes are compared); the active-set and PSOR solutions agree;
    residual at round-off."""
    errs = []
    for n in (21, 81):
        prob, exact = rotated_bridge(n, rho)
        sol = solve_obstacle(prob)
        assert sol.status is Status.CONVERGED and sol.residual < 1e-9
        xx, yy = np.meshgrid(sol.x, sol.y, indexing="ij")
        errs.append(np.max(np.abs(sol.value - exact(xx, yy))))
    assert errs[1] < 0.6 * errs[0] and errs[1] < 1e-4
    coarse, _ = rotated_bridge(21, rho)
    ps = solve_obstacle(coarse, lcp=PSOR(omega=1.7, tol=1e-12))
    np.testing.assert_allclose(ps.value, solve_obstacle(coarse).value, atol=1e-8)
    # stopping region = {u >= y*}: the discrete region agrees up to the boundary cells
    u = (xx + yy) / np.sqrt(2)
    cf = linear_resnet_optimal_depth(N_WIDTH, A, C)
    h = sol.x[1] - sol.x[0]
    far = np.abs(u - cf.boundary) > 2 * h
    np.testing.assert_array_equal(sol.stopping[far], (u >= cf.boundary)[far])
    assert sol.value_at(-0.3, 0.1) == pytest.approx(exact(-0.3, 0.1), abs=1e-3)
    gx, gy = sol.gradient()
    assert np.max(np.abs(gx - gy)) < 0.05  # symmetric in x and y


def test_inert_second_coordinate_equals_1d():
    """Finite horizon, y with no drift and no noise, reflecting y-edges: every row of the 2-D solution
    is the 1-D solution (same grid, same scheme) to round-off."""
    p1 = linear_resnet_depth_problem(N_WIDTH, A, C, t1=1.0, n_nodes=81)
    cf = linear_resnet_optimal_depth(N_WIDTH, A, C)
    p2 = ObstacleProblem2D(
        lambda x, y: -((x - A) ** 2) + 0.0 * y,
        (cf.drift, 0.0),
        (cf.volatility, 0.0),
        p1.grid,
        UniformGrid(0.0, 1.0, 4),
        t1=1.0,
        cost=C,
        bottom=Neumann(),
        top=Neumann(),
    )
    scheme = CrankNicolson(n_steps=20)
    s1 = solve_obstacle(p1, scheme=scheme)
    s2 = solve_obstacle(p2, scheme=scheme)
    for j in range(4):
        np.testing.assert_allclose(s2.value[:, :, j], s1.value, atol=1e-11)
    assert s2.status is Status.CONVERGED
    # interpolation at a grid node and a time node is exact
    assert s2.value_at(s1.x[10], 0.3, t=s1.times[5]) == pytest.approx(s1.value[5, 10], abs=1e-11)
    with pytest.raises(ValueError, match="t is required"):
        s2.value_at(0.0, 0.3)


def test_transposition_symmetry():
    """Swapping the roles of x and y (coefficients, gain, edges) transposes the solution."""
    gx, gy = UniformGrid(-1.0, 1.0, 15), UniformGrid(-0.5, 1.5, 11)

    def gain(x, y):
        return np.exp(-(x**2) - 2 * (y - 0.5) ** 2)

    kw = {"t1": 0.5, "cost": 0.05, "rate": 0.02}
    p = ObstacleProblem2D(gain, (0.1, lambda t, x, y: -0.2 * y), (0.4, 0.3), gx, gy, left=Neumann(), **kw)
    q = ObstacleProblem2D(
        lambda y, x: gain(x, y), (lambda t, y, x: -0.2 * y, 0.1), (0.3, 0.4), gy, gx, bottom=Neumann(), **kw
    )
    a = solve_obstacle(p, scheme=Implicit(n_steps=10))
    b = solve_obstacle(q, scheme=Implicit(n_steps=10))
    np.testing.assert_allclose(b.value, np.swapaxes(a.value, 1, 2), atol=1e-12)


def test_bad_input():
    g = UniformGrid(0.0, 1.0, 5)

    def gain(x, y):
        return x + y

    with pytest.raises(ValueError, match="needs Dirichlet edges"):
        ObstacleProblem2D(gain, (0.0, 0.0), (1.0, 1.0), g, g, correlation=0.5, left=Neumann())
    with pytest.raises(ValueError, match="correlation"):
        ObstacleProblem2D(gain, (0.0, 0.0), (1.0, 1.0), g, g, correlation=1.0)
    with pytest.raises(TypeError, match="drift must be a pair"):
        ObstacleProblem2D(gain, 0.0, (1.0, 1.0), g, g)
    with pytest.raises(ValueError, match=r"volatility\[1\] must be >= 0"):
        ObstacleProblem2D(gain, (0.0, 0.0), (1.0, -1.0), g, g)
    with pytest.raises(ValueError, match="terminal is only meaningful"):
        ObstacleProblem2D(gain, (0.0, 0.0), (1.0, 1.0), g, g, terminal=gain)
    prob = ObstacleProblem2D(gain, (0.0, 0.0), (1.0, 1.0), g, g, cost=0.1)
    with pytest.raises(TypeError, match="BrennanSchwartz"):
        solve_obstacle(prob, lcp=BrennanSchwartz())
    with pytest.raises(TypeError, match="scheme for a stationary"):
        solve_obstacle(prob, scheme=CrankNicolson())
    bad = ObstacleProblem2D(lambda x, y: np.zeros(3), (0.0, 0.0), (1.0, 1.0), g, g)
    with pytest.raises(ValueError, match="gain must broadcast"):
        solve_obstacle(bad)
    vol = ObstacleProblem2D(gain, (0.0, 0.0), (lambda x, y: x - 0.5, 1.0), g, g)
    with pytest.raises(ValueError, match=r"volatility\[0\] must be >= 0"):
        solve_obstacle(vol)
    term = ObstacleProblem2D(gain, (0.0, 0.0), (1.0, 1.0), g, g, t1=1.0, terminal=lambda x, y: x + y - 1)
    with pytest.raises(ValueError, match="inconsistent terminal data"):
        solve_obstacle(term, scheme=Implicit(n_steps=2))
    sol = solve_obstacle(prob, scheme=SteadyState())
    with pytest.raises(ValueError, match="t must be None"):
        sol.value_at(0.5, 0.5, t=0.0)
