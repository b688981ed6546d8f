r"""The pathwise maximum of recorded or simulated payoffs: exact on deterministic paths, an upper bound
(perfect foresight, or the label oracle for gains no policy observes) otherwise (docs/science.md §B1.3,
§B2, §B7.3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._checks import check_int
from .._results import Estimate, Status
from ..random import RNGLike
from .base import StoppingSolution, StoppingSolver
from .problems import PathStoppingProblem, SimulatedStoppingProblem, StoppingProblem
from .results import DepthLaw

__all__ = ["PathwiseMaximum", "PathwiseSolution"]


@dataclass(frozen=True, repr=False)
class PathwiseSolution(StoppingSolution):
    r"""Result of :class:`PathwiseMaximum`: :math:`\tau=` the smallest maximiser of :math:`Z` on each path.

    Attributes
    ----------
    value : Estimate
        :math:`\mathbb E\max_lZ_l`.
    depth : DepthLaw
        Law of the pathwise smallest maximiser.
    tau : numpy.ndarray
        The maximiser on each path.
    exact : bool
        True when the problem is deterministic given its start: then ``value`` is :math:`V^\star` and
        ``tau`` is :math:`\tau^\star`. Otherwise ``value`` is the perfect-foresight upper bound.
    status : Status
        ``EXACT`` (deterministic paths) or ``UPPER_BOUND`` (random paths), both successes.
    message : str
        The same in words.
    """

    value: Estimate
    depth: DepthLaw
    tau: np.ndarray
    exact: bool
    status: Status
    message: str = ""


@dataclass(frozen=True)
class PathwiseMaximum(StoppingSolver):
    r"""Stop each path at the smallest maximiser of its payoff: :math:`\tau=\min\arg\max_lZ_l`.

    Exact (:math:`\tau=\tau^\star`, value :math:`V^\star`) when the dynamics are deterministic given the
    start and the gains are known to the policy (``PathStoppingProblem(..., deterministic=True,
    gains_observed=True)``: a fixed network on fixed inputs, docs/science.md §B2);
    otherwise the perfect-foresight upper bound :math:`\mathbb E\max_lZ_l\ge V^\star`. On paths whose
    gains depend on a label (``gains_observed=False``) it is the *label oracle*: an upper bound on every
    policy that sees the features only, reached by none (docs/science.md §B7.3), and the result says so.

    Parameters
    ----------
    n_paths : int, optional
        Paths drawn from a simulated problem. Default 10 000.

    Examples
    --------
    >>> from stochdepth.stopping import PathStoppingProblem, solve_stopping
    >>> G = np.array([[0.0, 0.5, 0.6, 0.6]])
    >>> paths = PathStoppingProblem(np.zeros((1, 4)), G, costs=0.05, deterministic=True, gains_observed=True)
    >>> res = solve_stopping(paths, PathwiseMaximum())
    >>> res.tau.tolist(), res.exact
    ([2], True)
    """

    n_paths: int = 10_000
    problems: ClassVar[tuple[type[StoppingProblem], ...]] = (PathStoppingProblem, SimulatedStoppingProblem)

    def __post_init__(self) -> None:
        check_int("n_paths", self.n_paths, min=1)

    def solve(self, problem: StoppingProblem, rng: RNGLike = None) -> PathwiseSolution:
        """The smallest pathwise maximiser of :math:`Z` on each (recorded or simulated) path."""
        if isinstance(problem, SimulatedStoppingProblem):
            paths = problem.sample(self.n_paths, rng=rng)
        elif isinstance(problem, PathStoppingProblem):
            paths = problem
        else:
            raise TypeError(f"PathwiseMaximum needs paths, got {type(problem).__name__}")
        Z = paths.payoffs
        zmax = Z.max(axis=1, keepdims=True)
        # smallest maximiser, with ties up to rounding of the accumulated costs
        tol = 1e-12 * (np.abs(zmax) + np.abs(paths.cumulative_costs[-1]) + 1e-300)
        tau = np.argmax(zmax - tol <= Z, axis=1)
        vals = Z[np.arange(paths.n_paths), tau]
        value = Estimate.from_samples(vals) if vals.size > 1 else Estimate(float(vals[0]), 0.0, 1)
        exact = paths.deterministic and paths.observed
        if exact:
            status, message = Status.EXACT, "exact (deterministic paths)"
        elif not paths.observed:
            status, message = (
                Status.UPPER_BOUND,
                "label oracle: the gains depend on information no policy observes (gains_observed=False); "
                "an upper bound on every policy, reached by none",
            )
        else:
            status, message = Status.UPPER_BOUND, "perfect-foresight upper bound (paths not deterministic)"
        return PathwiseSolution(value, DepthLaw.from_samples(tau, paths.horizon), tau, exact, status, message)
