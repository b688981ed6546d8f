r"""Stochastic differential equations: descriptions, integrators and streaming Monte Carlo.

* :class:`SDE` -- an Itô SDE :math:`dX=b\,dt+\sigma\,dW` with numba coefficients and a declared noise
  structure (diagonal, scalar, general, isotropic); :func:`affine_sde` for the linear test equations.
* Solvers :class:`EulerMaruyama` and :class:`Milstein` (commutative noise).
* :func:`simulate` -- chunked, threaded, reproducible Monte Carlo with observables and streaming reducers
  (the engine of :mod:`stochdepth.montecarlo`); :func:`simulate_levels` -- coupled simulations on nested
  grids for weak- and strong-error measurements (multilevel Monte Carlo coupling).
* Generic observables :func:`state`, :func:`coordinate`, :func:`squared_norm`, :func:`log_norm`.

By docs/science.md §A2--A3, a random ResNet of depth :math:`L` is the Euler--Maruyama scheme of its limit
diffusion with step :math:`1/L`, so this package is also the reference for depth errors.
"""

from __future__ import annotations

from .observables import coordinate, log_norm, squared_norm, state
from .problem import NOISE_TYPES, SDE, affine_sde
from .simulate import LevelsResult, LevelStatistics, SimulationResult, simulate, simulate_levels
from .solvers import EulerMaruyama, Milstein, Solver

__all__ = [
    "NOISE_TYPES",
    "SDE",
    "EulerMaruyama",
    "LevelStatistics",
    "LevelsResult",
    "Milstein",
    "SimulationResult",
    "Solver",
    "affine_sde",
    "coordinate",
    "log_norm",
    "simulate",
    "simulate_levels",
    "squared_norm",
    "state",
]
