"""User-written LCP solvers and time schemes plug into solve_lcp / solve_obstacle through the public ABCs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import scipy.sparse as sp

from stochdepth import ConvergenceError, Status
from stochdepth.freeboundary import (
    Dirichlet,
    Implicit,
    LCPSolver,
    ObstacleProblem,
    ObstacleProblem2D,
    PrimalDualActiveSet,
    StationaryObstacleProblem,
    TimeScheme,
    UniformGrid,
    american_put_problem,
    solve_lcp,
    solve_obstacle,
)


def small_2d_problem() -> ObstacleProblem2D:
    """A stationary 2-D problem: stop near the origin, drift and running cost, obstacle on the edges."""
    grid = UniformGrid(-1.0, 1.0, 9)
    return ObstacleProblem2D(
        lambda x, y: -(x**2) - 0.5 * y**2,
        (0.3, -0.2),
        (0.5, 0.4),
        grid,
        grid,
        cost=0.1,
        left=Dirichlet(),
        right=Dirichlet(),
        bottom=Dirichlet(),
        top=Dirichlet(),
    )


def put() -> object:
    return american_put_problem(100.0, 0.05, 0.2, 1.0, n_nodes=101)


class ProjectedGaussSeidel(LCPSolver):
    """Projected Gauss-Seidel written with dense numpy rows (no compiled kernel)."""

    def __init__(self, tol: float = 1e-13, max_iter: int = 100_000) -> None:
        self.tol, self.max_iter = tol, max_iter

    def solve(self, matrix, q, obstacle, initial):
        M = sp.csr_matrix(matrix).toarray()
        v = np.maximum(np.array(initial, dtype=float), obstacle)
        for it in range(1, self.max_iter + 1):
            change = 0.0
            for i in range(v.size):
                new = max(obstacle[i], v[i] + (q[i] - M[i] @ v) / M[i, i])
                change = max(change, abs(new - v[i]))
                v[i] = new
            if change <= self.tol:
                return v, it
        return v, -self.max_iter


@dataclass(frozen=True)
class UniformImplicit(TimeScheme):
    """Implicit Euler on uniform steps, written from the contract (equals Implicit(n_steps))."""

    n_steps: int = 20
    upwind: bool | None = None

    def time_grid(self, t1):
        return np.linspace(0.0, t1, self.n_steps + 1), np.ones(self.n_steps)


def test_user_lcp_solver_in_solve_lcp() -> None:
    n = 30
    bands = (-np.ones(n), 2.2 * np.ones(n), -np.ones(n))
    q = np.linspace(-0.2, 0.3, n)
    g = np.sin(np.linspace(0, 3, n))
    ref = solve_lcp(bands, q, g)
    mine = solve_lcp(bands, q, g, lcp=ProjectedGaussSeidel())  # bands handed over as a sparse matrix
    assert mine.method == "ProjectedGaussSeidel" and mine.status is Status.CONVERGED
    np.testing.assert_allclose(mine.solution, ref.solution, atol=1e-10)
    with pytest.raises(ConvergenceError, match="solve_lcp: MAX_ITERATIONS"):
        solve_lcp(bands, q, g, lcp=ProjectedGaussSeidel(max_iter=2))


def test_user_lcp_solver_on_a_2d_problem_and_refused_in_1d() -> None:
    prob = small_2d_problem()
    ref = solve_obstacle(prob, lcp=PrimalDualActiveSet())
    mine = solve_obstacle(prob, lcp=ProjectedGaussSeidel())
    assert mine.success and mine.residual < 1e-9
    np.testing.assert_allclose(mine.value, ref.value, atol=1e-9)
    with pytest.raises(TypeError, match="no compiled form"):
        solve_obstacle(put(), lcp=ProjectedGaussSeidel())


def test_user_time_scheme_equals_the_builtin() -> None:
    prob = put()
    mine = solve_obstacle(prob, scheme=UniformImplicit(n_steps=20))
    ref = solve_obstacle(prob, scheme=Implicit(n_steps=20))
    np.testing.assert_allclose(mine.times, ref.times, rtol=0, atol=1e-15)
    np.testing.assert_allclose(mine.value, ref.value, rtol=0, atol=1e-9)
    with pytest.raises(TypeError, match="time-stepping TimeScheme"):
        solve_obstacle(prob, scheme=object())


def _flat(x):
    return 0.0 * x


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        # a time-dependent problem's coefficients are f(t, x): a stationary drift f(x) is refused
        (
            lambda: ObstacleProblem(_flat, lambda x: 0.0 * x, 1.0, 1.0, UniformGrid(0, 1, 11)),
            r"drift\(t, x\)",
        ),
        (
            lambda: ObstacleProblem(_flat, 0.0, lambda t, x, y: 1.0, 1.0, UniformGrid(0, 1, 11)),
            r"volatility\(t, x\)",
        ),
        (lambda: ObstacleProblem(lambda t, x: x, 0.0, 1.0, 1.0, UniformGrid(0, 1, 11)), r"gain\(x\)"),
        (
            lambda: StationaryObstacleProblem(_flat, lambda t, x: 0.0 * x, 1.0, UniformGrid(0, 1, 11)),
            r"drift\(x\)",
        ),
        (
            lambda: ObstacleProblem2D(
                lambda x, y: x,
                (lambda x, y: x, 0.0),
                (1.0, 1.0),
                UniformGrid(0, 1, 5),
                UniformGrid(0, 1, 5),
                t1=1.0,
            ),
            r"drift\[0\] must be callable as drift\(t, x, y\)",
        ),
    ],
)
def test_wrong_coefficient_signature_names_the_expected_one(build, expected):
    """A coefficient of the wrong signature is refused at construction, with the signature it needs."""
    with pytest.raises(TypeError, match=expected):
        build()


def test_a_coefficient_failing_on_the_grid_names_the_call_it_was_given():
    """A callable whose signature fits but whose evaluation fails is reported with the call tried."""

    def gain(*coordinates):
        return coordinates[1]  # expects two arrays, receives one

    with pytest.raises(IndexError, match=r"gain: evaluating gain\(x\) on the grid failed"):
        solve_obstacle(StationaryObstacleProblem(gain, 0.0, 1.0, UniformGrid(0, 1, 11), rate=0.1))
