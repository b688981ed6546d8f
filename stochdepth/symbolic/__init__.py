r"""Symbolic stochastic calculus (sympy) for stochdepth.

* :class:`SymbolicSDE` (given dimension) and :class:`ExchangeableSDE` (symbolic width, exchangeable
  coordinates, optional sign blocks) (:mod:`stochdepth.symbolic.sdes`); :func:`ito` (Itô's formula) and
  :func:`generator` (:mod:`stochdepth.symbolic.ito_formula`), with a checked
  :math:`C^1`-with-Lipschitz-gradient exception (:mod:`stochdepth.symbolic.regularity`).
* Derivations of the closed forms of docs/science.md from the limit diffusion itself
  (:mod:`stochdepth.symbolic.derivations`, one module per section): the limit diffusion (A3), the linear
  norm GBM and log-norm law (A4), the ReLU post-activation norm identity and the width-3/4 drift
  :math:`D(n)` (A5), moment ODEs, the variance and kernel ODEs of the sequential limits (A6).
* Translation to fast callables (:mod:`stochdepth.symbolic.codegen`): :func:`to_numpy`, :func:`to_numba`;
  coefficients of the numerical engines (:mod:`stochdepth.symbolic.coefficients`): :func:`to_sde` (numba
  coefficients for :func:`stochdepth.sde.simulate`) and :func:`to_obstacle_coefficients` (for
  :mod:`stochdepth.freeboundary`).
* Smooth fit of stationary one-dimensional stopping problems (:mod:`stochdepth.symbolic.smooth_fit`):
  :func:`solve_smooth_fit` (docs/science.md §B6).
"""

from __future__ import annotations

from .codegen import NumpyFunction, to_numba, to_numpy
from .coefficients import ObstacleCoefficients, detect_noise, to_obstacle_coefficients, to_sde
from .derivations.limit import (
    SYMBOLS,
    DerivedSDE,
    GaussianLaw,
    exchangeable_limit_diffusion,
    limit_diffusion,
)
from .derivations.linear import (
    derive_linear_log_norm_law,
    derive_linear_log_norm_sde,
    derive_linear_norm_moment,
    derive_linear_norm_sde,
    derive_squared_norm_sde,
)
from .derivations.moments import MomentODE, derive_moment_ode
from .derivations.relu import (
    derive_relu_critical_width,
    derive_relu_log_drift,
    derive_relu_log_post_norm_sde,
    derive_relu_post_norm_sde,
)
from .derivations.sequential import (
    KernelODE,
    VarianceODE,
    derive_kernel_ode,
    derive_variance_ode,
    gaussian_expectation,
)
from .ito_formula import ItoResult, generator, ito
from .regularity import REGULARITIES
from .sdes import Block, CoordinateSum, ExchangeableSDE, SymbolicSDE
from .smooth_fit import SmoothFitSolution, solve_smooth_fit

__all__ = [
    "REGULARITIES",
    "SYMBOLS",
    "Block",
    "CoordinateSum",
    "DerivedSDE",
    "ExchangeableSDE",
    "GaussianLaw",
    "ItoResult",
    "KernelODE",
    "MomentODE",
    "NumpyFunction",
    "ObstacleCoefficients",
    "SmoothFitSolution",
    "SymbolicSDE",
    "VarianceODE",
    "derive_kernel_ode",
    "derive_linear_log_norm_law",
    "derive_linear_log_norm_sde",
    "derive_linear_norm_moment",
    "derive_linear_norm_sde",
    "derive_moment_ode",
    "derive_relu_critical_width",
    "derive_relu_log_drift",
    "derive_relu_log_post_norm_sde",
    "derive_relu_post_norm_sde",
    "derive_squared_norm_sde",
    "derive_variance_ode",
    "detect_noise",
    "exchangeable_limit_diffusion",
    "gaussian_expectation",
    "generator",
    "ito",
    "limit_diffusion",
    "solve_smooth_fit",
    "to_numba",
    "to_numpy",
    "to_obstacle_coefficients",
    "to_sde",
]
