r"""Continuous-time optimal stopping: obstacle problems, free boundaries, smooth fit (generic).

For a diffusion :math:`dX=b\,dt+\sigma\,dW`, gain :math:`g`, running cost :math:`c` and discount :math:`r`,
the value :math:`V(t,x)=\sup_\tau\mathbb E[e^{-r(\tau-t)}g(X_\tau)-\int_t^\tau e^{-r(s-t)}c\,ds]` solves the
obstacle problem :math:`\min\{-\partial_tV-\mathcal AV+rV+c,\ V-g\}=0`. This subpackage solves it by finite
differences:

* problems: :class:`ObstacleProblem` (finite horizon, 1-D), :class:`StationaryObstacleProblem`
  (infinite horizon, 1-D), :class:`ObstacleProblem2D` (sparse, either); edges :class:`Dirichlet`,
  :class:`Neumann`, :class:`Natural`;
* grids: :class:`UniformGrid`, :class:`StretchedGrid` (sinh, around a kink or a boundary), :class:`Grid`;
* schemes: :class:`CrankNicolson` (Rannacher start-up, graded steps), :class:`Implicit`,
  :class:`ThetaScheme`, :class:`SteadyState`, all subclasses of the public :class:`TimeScheme`;
  automatic upwinding where the diffusion is weak (the noiseless case is a first-order obstacle problem);
* LCP solvers: :class:`PSOR`, :class:`BrennanSchwartz`, :class:`PrimalDualActiveSet`, subclasses of the
  public :class:`LCPSolver` (a user's own solver subclasses it too), also directly through
  :func:`solve_lcp`; each reports its complementarity residual and a :class:`~stochdepth.Status`;
* :func:`solve_obstacle` returns the value, regions, :class:`FreeBoundary` objects (location, error,
  smooth-fit gap), slopes, expected stopping times and the stopping-time law (stationary problems);
* reference problems: the American put (:func:`american_put_problem`) and its perpetual closed form
  (:func:`perpetual_american_put`).

The package knows nothing about networks: the continuous-depth problems of docs/science.md §B5 and B6 (the
noiseless contraction, the optimal depth of the linear random ResNet) are built on it in
:mod:`stochdepth.depth`.

Stationary problems with constant coefficients are solved exactly by smooth fit in
:mod:`stochdepth.symbolic.smooth_fit`.
"""

from __future__ import annotations

from .examples import PerpetualPut, american_put_problem, perpetual_american_put
from .grids import Grid, StretchedGrid, UniformGrid
from .lcp import PSOR, BrennanSchwartz, LCPSolution, LCPSolver, PrimalDualActiveSet, solve_lcp
from .problems import (
    BoundaryCondition,
    Dirichlet,
    Natural,
    Neumann,
    ObstacleProblem,
    ObstacleProblem2D,
    StationaryObstacleProblem,
)
from .results import FreeBoundary, ObstacleSolution, ObstacleSolution2D, StationarySolution
from .schemes import CrankNicolson, Implicit, SteadyState, ThetaScheme, TimeScheme
from .solve import solve_obstacle

__all__ = [
    "PSOR",
    "BoundaryCondition",
    "BrennanSchwartz",
    "CrankNicolson",
    "Dirichlet",
    "FreeBoundary",
    "Grid",
    "Implicit",
    "LCPSolution",
    "LCPSolver",
    "Natural",
    "Neumann",
    "ObstacleProblem",
    "ObstacleProblem2D",
    "ObstacleSolution",
    "ObstacleSolution2D",
    "PerpetualPut",
    "PrimalDualActiveSet",
    "StationaryObstacleProblem",
    "StationarySolution",
    "SteadyState",
    "StretchedGrid",
    "ThetaScheme",
    "TimeScheme",
    "UniformGrid",
    "american_put_problem",
    "perpetual_american_put",
    "solve_lcp",
    "solve_obstacle",
]
