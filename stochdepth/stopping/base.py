r"""The public contract of stopping solvers: :class:`StoppingSolver` and :class:`StoppingSolution`.

:func:`~stochdepth.stopping.solve_stopping` accepts any :class:`StoppingSolver`: the library's
(:class:`~stochdepth.stopping.BackwardInduction`, :class:`~stochdepth.stopping.ValueIteration`,
:class:`~stochdepth.stopping.PolicyIteration`, :class:`~stochdepth.stopping.LongstaffSchwartz`,
:class:`~stochdepth.stopping.PathwiseMaximum`) or one a user writes by subclassing.
"""

from __future__ import annotations

import abc
from typing import ClassVar

from .._results import StatusResult
from ..random import RNGLike
from .problems import StoppingProblem

__all__ = ["StoppingSolution", "StoppingSolver"]


class StoppingSolution(StatusResult):
    """Common base of the results of stopping solvers.

    Every solution carries a ``status`` (:class:`~stochdepth.Status`), a ``message`` and the derived
    ``success``; what else it holds depends on the solver (exact value functions, Monte Carlo bounds,
    pathwise stopping times). A user-written solver returns a frozen dataclass subclassing this, with
    ``status`` and ``message`` among its fields.
    """


class StoppingSolver(abc.ABC):
    r"""How to solve a stopping problem :math:`V^\star=\sup_\tau\mathbb E Z_\tau` (docs/science.md §B1).

    Subclasses list the problem classes they solve in :attr:`problems` (or override :meth:`applies_to`)
    and implement :meth:`solve`, which returns a :class:`StoppingSolution`. They are called through
    :func:`~stochdepth.stopping.solve_stopping`, which checks that the solver applies to the problem and
    raises :class:`~stochdepth.ConvergenceError` when the solution's status is not a success (unless
    ``throw=False``).

    Examples
    --------
    A solver of one's own: naive backward induction on a finite-horizon Markov chain without discount,
    written with dense matrices, checked against :class:`~stochdepth.stopping.BackwardInduction`.

    >>> from dataclasses import dataclass
    >>> import numpy as np
    >>> from stochdepth import Status
    >>> from stochdepth.stopping import (BackwardInduction, MarkovStoppingProblem, StoppingSolution,
    ...     StoppingSolver, solve_stopping)
    >>> @dataclass(frozen=True)
    ... class DenseValue(StoppingSolution):
    ...     value: float
    ...     status: Status = Status.OPTIMAL
    ...     message: str = ""
    >>> class DenseBackwardInduction(StoppingSolver):
    ...     problems = (MarkovStoppingProblem,)
    ...     def applies_to(self, problem):
    ...         return super().applies_to(problem) and problem.horizon is not None
    ...     def solve(self, problem, rng=None):
    ...         P = problem.chain.csr(0).toarray()   # a homogeneous chain
    ...         v = problem.gains_at(problem.horizon)
    ...         for layer in reversed(range(problem.horizon)):
    ...             v = np.maximum(problem.gains_at(layer), -problem.cost(layer) + P @ v)
    ...         return DenseValue(float(problem.initial_law() @ v))
    >>> P = [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]
    >>> prob = MarkovStoppingProblem(P, gains=[0.0, 0.5, 1.0], costs=0.1, horizon=4, initial=0)
    >>> mine = solve_stopping(prob, DenseBackwardInduction())
    >>> mine.success, abs(mine.value - solve_stopping(prob, BackwardInduction()).value()) < 1e-12
    (True, True)
    """

    #: Problem classes this solver applies to (used by the default :meth:`applies_to`).
    problems: ClassVar[tuple[type[StoppingProblem], ...]] = ()

    def applies_to(self, problem: StoppingProblem) -> bool:
        """Whether :meth:`solve` accepts ``problem`` (default: an instance of one of :attr:`problems`)."""
        return isinstance(problem, self.problems)

    @abc.abstractmethod
    def solve(self, problem: StoppingProblem, rng: RNGLike = None) -> StoppingSolution:
        """Solve ``problem``; ``rng`` drives any randomness (results depend on the seed only)."""
