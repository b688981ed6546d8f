r"""One entry point for every stopping problem: :func:`solve_stopping`."""

from __future__ import annotations

from .._checks import check_bool, check_rng
from .._results import check_status
from ..random import RNGLike
from .base import StoppingSolution, StoppingSolver
from .markov import BackwardInduction, PolicyIteration
from .problems import MarkovStoppingProblem, StoppingProblem
from .regression import LongstaffSchwartz

__all__ = ["solve_stopping"]


def solve_stopping(
    problem: StoppingProblem,
    solver: StoppingSolver | None = None,
    *,
    rng: RNGLike = None,
    throw: bool = True,
) -> StoppingSolution:
    r"""Solve the optimal stopping problem :math:`V^\star=\sup_\tau\mathbb E Z_\tau` (docs/science.md §B1).

    Parameters
    ----------
    problem : StoppingProblem
        What to solve: a :class:`MarkovStoppingProblem`, :class:`PathStoppingProblem` or
        :class:`SimulatedStoppingProblem` (or a user-defined subclass of :class:`StoppingProblem`).
    solver : StoppingSolver, optional
        How: :class:`BackwardInduction` (default for a finite-horizon chain), :class:`PolicyIteration`
        (default in infinite horizon) or :class:`ValueIteration` for chains; :class:`LongstaffSchwartz`
        (default for paths and simulators) or :class:`PathwiseMaximum` for paths; or any subclass of
        :class:`StoppingSolver` that applies to the problem.
    rng : seed, SeedSequence or Generator, optional
        Randomness of the Monte Carlo solvers (results depend on the seed only).
    throw : bool, optional
        Raise :class:`~stochdepth.ConvergenceError` when the solution's status is not a success (default);
        with ``False`` return the solution and let the caller read its ``status``.

    Returns
    -------
    StoppingSolution
        :class:`MarkovSolution`, :class:`RegressionSolution` or :class:`PathwiseSolution` for the
        library's solvers (see the solver).

    Raises
    ------
    TypeError
        Not a :class:`StoppingProblem` or not a :class:`StoppingSolver`, or a solver that does not apply
        to the problem.
    ConvergenceError
        With ``throw=True``, when the solver reports an unsuccessful status (an iteration cap, no
        certificate, ill-conditioned regressions, ...).

    Examples
    --------
    >>> from stochdepth.stopping import MarkovStoppingProblem
    >>> prob = MarkovStoppingProblem([[0.5, 0.5], [0.0, 1.0]], [0.0, 1.0], costs=0.1, horizon=3, initial=0)
    >>> round(solve_stopping(prob).value(), 6)
    0.7
    """
    check_rng(rng)  # exact solvers never draw: a wrong seed must not pass silently
    throw = check_bool("throw", throw)
    if not isinstance(problem, StoppingProblem):
        raise TypeError(
            "problem must be a StoppingProblem (MarkovStoppingProblem, PathStoppingProblem, "
            f"SimulatedStoppingProblem, ...), got {type(problem).__name__}"
        )
    if solver is None:
        if isinstance(problem, MarkovStoppingProblem):
            solver = BackwardInduction() if problem.horizon is not None else PolicyIteration()
        else:
            solver = LongstaffSchwartz()
    if not isinstance(solver, StoppingSolver):
        raise TypeError(
            "solver must be a StoppingSolver (BackwardInduction(), ValueIteration(), PolicyIteration(), "
            f"LongstaffSchwartz(), PathwiseMaximum() or a subclass of one's own), got {solver!r}"
        )
    if not solver.applies_to(problem):
        raise TypeError(f"{type(solver).__name__} does not apply to a {type(problem).__name__}")
    solution = solver.solve(problem, rng)
    return check_status(solution, f"{type(solver).__name__} on a {type(problem).__name__}", throw)
