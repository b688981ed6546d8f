r"""The infinite-depth limits of finite-width random residual networks (docs/science.md §A3--A6).

* The limit diffusion for any activation (:mod:`~stochdepth.limits.diffusion`): :func:`limit_sde`,
  :func:`simulate_limit`, and the depth error as a weak error, :func:`weak_error_study`.
* Closed forms of the linear network (:mod:`~stochdepth.limits.linear`): the log-normal norm ratio
  :func:`linear_norm_ratio_law`, the neuron law :class:`LinearNeuronLaw`, the exact finite-depth factor
  law :class:`LinearLogFactorLaw` and the moments of the log-norm walk :func:`linear_log_norm_moments`.
* ReLU facts (:mod:`~stochdepth.limits.relu`): dead probability :math:`2^{-n}`, the drift :math:`D(n)`,
  width 1, the post-activation norm identity, the change of regime between widths 3 and 4
  (:func:`relu_regime`).
* Sequential limits (:mod:`~stochdepth.limits.sequential`): the variance and kernel ODEs, the ReLU
  correlation map, the width-first recursion, McKean--Vlasov particles, fluctuation scale, and the grid of
  finite widths and depths (:func:`commutation_grid`).

All laws are ``scipy.stats`` distributions (frozen or ``rv_continuous`` subclasses).
"""

from __future__ import annotations

from .diffusion import WeakErrorStudy, limit_sde, simulate_limit, weak_error_study
from .linear import (
    LinearLogFactorLaw,
    LinearNeuronLaw,
    LogNormMoments,
    linear_exact_mean_square,
    linear_log_factor_law,
    linear_log_norm_moments,
    linear_neuron_law,
    linear_norm_ratio_law,
)
from .relu import (
    NormIdentityCheck,
    ReluRegime,
    relu_dead_probability,
    relu_log_drift,
    relu_log_drift_mc,
    relu_norm_identity,
    relu_regime,
    relu_width1_law,
)
from .sequential import (
    CommutationGrid,
    FluctuationScale,
    McKeanVlasovResult,
    commutation_grid,
    fluctuation_scale,
    kernel_ode,
    mckean_vlasov,
    relu_correlation,
    variance_ode,
    width_first_recursion,
)

__all__ = [
    "CommutationGrid",
    "FluctuationScale",
    "LinearLogFactorLaw",
    "LinearNeuronLaw",
    "LogNormMoments",
    "McKeanVlasovResult",
    "NormIdentityCheck",
    "ReluRegime",
    "WeakErrorStudy",
    "commutation_grid",
    "fluctuation_scale",
    "kernel_ode",
    "limit_sde",
    "linear_exact_mean_square",
    "linear_log_factor_law",
    "linear_log_norm_moments",
    "linear_neuron_law",
    "linear_norm_ratio_law",
    "mckean_vlasov",
    "relu_correlation",
    "relu_dead_probability",
    "relu_log_drift",
    "relu_log_drift_mc",
    "relu_norm_identity",
    "relu_regime",
    "relu_width1_law",
    "simulate_limit",
    "variance_ode",
    "weak_error_study",
    "width_first_recursion",
]
