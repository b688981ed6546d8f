r"""Optimal stopping for discrete depth (docs/science.md Part B).

A network's depth seen as a stopping problem: after layer :math:`l` stop and pay :math:`Z_l=G_l-\sum_{k<l}c_k`
or continue. One problem description, several solvers behind :func:`solve_stopping`:

* a public solver contract: subclass :class:`StoppingSolver` (and :class:`StoppingSolution`) to plug a
  solver of one's own into :func:`solve_stopping`;
* exact Snell envelopes of finite Markov chains (:class:`MarkovStoppingProblem` with
  :class:`BackwardInduction`, :class:`ValueIteration`, :class:`PolicyIteration`; certified error bounds
  in infinite horizon; the law of :math:`\tau^\star`);
* regression Monte Carlo on recorded or simulated paths (:class:`PathStoppingProblem`,
  :class:`SimulatedStoppingProblem`, :class:`LongstaffSchwartz` with :class:`Polynomial`, :class:`Laguerre`
  or :class:`RandomFeatures` bases), with an out-of-sample lower bound and a dual upper bound
  (:class:`AndersenBroadie`, :class:`RegressionMartingale`, :class:`PerfectForesight`);
* policies as objects (:class:`SnellPolicy`, :class:`OneStepLookAhead`, :class:`GainThreshold`,
  :class:`Patience`) evaluated on new paths;
* the finite-depth bounds of docs/science.md §B2 (:mod:`stochdepth.stopping.bounds`), checked on any chain
  or recorded paths (the residual networks they are about are built in :mod:`stochdepth.depth`);
* random walks on a grid as Markov problems (:func:`random_walk_stopping_problem`);
* Bermudan-option benchmarks and grid references (:mod:`stochdepth.stopping.finance`).
"""

from __future__ import annotations

from .base import StoppingSolution, StoppingSolver
from .basis import Basis, FittedBasis, Laguerre, Polynomial, RandomFeatures
from .bounds import (
    DepthBound,
    bounded_gains_bound,
    geometric_depth_bound,
    is_monotone,
    summable_residuals_bound,
)
from .markov import BackwardInduction, MarkovSolution, PolicyIteration, ValueIteration
from .pathwise import PathwiseMaximum, PathwiseSolution
from .policies import GainThreshold, OneStepLookAhead, Patience, Policy, SnellPolicy
from .problems import (
    MarkovStoppingProblem,
    PathStoppingProblem,
    SimulatedStoppingProblem,
    Simulator,
    StoppingProblem,
)
from .regression import (
    AndersenBroadie,
    LongstaffSchwartz,
    PerfectForesight,
    RegressionMartingale,
    RegressionSolution,
)
from .results import DepthLaw, PolicyEvaluation
from .solve import solve_stopping
from .transitions import BandedTransitions, random_walk_transitions
from .walks import random_walk_stopping_problem

__all__ = [
    "AndersenBroadie",
    "BackwardInduction",
    "BandedTransitions",
    "Basis",
    "DepthBound",
    "DepthLaw",
    "FittedBasis",
    "GainThreshold",
    "Laguerre",
    "LongstaffSchwartz",
    "MarkovSolution",
    "MarkovStoppingProblem",
    "OneStepLookAhead",
    "PathStoppingProblem",
    "PathwiseMaximum",
    "PathwiseSolution",
    "Patience",
    "PerfectForesight",
    "Policy",
    "PolicyEvaluation",
    "PolicyIteration",
    "Polynomial",
    "RandomFeatures",
    "RegressionMartingale",
    "RegressionSolution",
    "SimulatedStoppingProblem",
    "Simulator",
    "SnellPolicy",
    "StoppingProblem",
    "StoppingSolution",
    "StoppingSolver",
    "ValueIteration",
    "bounded_gains_bound",
    "geometric_depth_bound",
    "is_monotone",
    "random_walk_stopping_problem",
    "random_walk_transitions",
    "solve_stopping",
    "summable_residuals_bound",
]
