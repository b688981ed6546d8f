r"""One entry point for every stopping problem: :func:`solve_stopping`."""

from __future__ import annotations

from typing import Any

from ..random import RNGLike
from .markov import BackwardInduction, PolicyIteration, ValueIteration
from .problems import MarkovStoppingProblem, PathStoppingProblem, SimulatedStoppingProblem
from .regression import LongstaffSchwartz, PathwiseMaximum

__all__ = ["solve_stopping"]

_SOLVERS = (BackwardInduction, ValueIteration, PolicyIteration, LongstaffSchwartz, PathwiseMaximum)


def solve_stopping(problem: Any, solver: Any = None, *, rng: RNGLike = None) -> Any:
    r"""Solve the optimal stopping problem :math:`V^\star=\sup_\tau\mathbb E Z_\tau` (SCIENCE.md B1).

    Parameters
    ----------
    problem : MarkovStoppingProblem, PathStoppingProblem or SimulatedStoppingProblem
        What to solve.
    solver : solver object, optional
        How: :class:`BackwardInduction` (default for a finite-horizon chain), :class:`PolicyIteration`
        (default in infinite horizon) or :class:`ValueIteration` for chains; :class:`LongstaffSchwartz`
        (default for paths and simulators) or :class:`PathwiseMaximum` for paths.
    rng : seed, SeedSequence or Generator, optional
        Randomness of the Monte Carlo solvers (results depend on the seed only).

    Returns
    -------
    MarkovSolution, RegressionSolution or PathwiseSolution
        See the solver.

    Raises
    ------
    TypeError
        An unknown problem or solver, or a solver that does not apply to the problem.

    Examples
    --------
    >>> from stochdepth.stopping import MarkovStoppingProblem
    >>> prob = MarkovStoppingProblem([[0.5, 0.5], [0.0, 1.0]], [0.0, 1.0], costs=0.1, horizon=3, initial=0)
    >>> round(solve_stopping(prob).value(), 6)
    0.7
    """
    if not isinstance(problem, (MarkovStoppingProblem, PathStoppingProblem, SimulatedStoppingProblem)):
        raise TypeError(
            "problem must be a MarkovStoppingProblem, PathStoppingProblem or SimulatedStoppingProblem, "
            f"got {type(problem).__name__}"
        )
    if solver is None:
        if isinstance(problem, MarkovStoppingProblem):
            solver = BackwardInduction() if problem.horizon is not None else PolicyIteration()
        else:
            solver = LongstaffSchwartz()
    if not isinstance(solver, _SOLVERS):
        raise TypeError(
            "solver must be BackwardInduction(), ValueIteration(), PolicyIteration(), LongstaffSchwartz() or "
            f"PathwiseMaximum(), got {solver!r}"
        )
    markov_solver = isinstance(solver, (BackwardInduction, ValueIteration, PolicyIteration))
    if markov_solver != isinstance(problem, MarkovStoppingProblem):
        raise TypeError(f"{type(solver).__name__} does not apply to a {type(problem).__name__}")
    return solver._solve(problem, rng)
