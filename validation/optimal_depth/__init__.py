r"""Validation campaign "optimal depth": docs/science.md Part B and Part C item 3 (stopping,
continuous depth).

Five experiments, one module each, calling the library (:mod:`stochdepth.stopping`,
:mod:`stochdepth.freeboundary`, :mod:`stochdepth.symbolic`) and turning its output into evidence: numbers
with uncertainties, pass/fail checks of each prediction, figures and Markdown tables.

:mod:`.b2_bounds` (``depth.b2-bounds``)
    The three finite-depth bounds of B2 on random residual families and Markov chains, their tightness,
    flagged violations and two counterexamples.
:mod:`.b6_bridge` (``depth.b6-bridge``, solvers in :mod:`.b6_solvers`, figures in :mod:`.b6_figures`)
    The optimal depth of the linear random ResNet by four solvers, the inverse-Gaussian law of the depth
    and the width threshold.
:mod:`.b5_noiseless` (``depth.b5-noiseless``)
    The noiseless contraction against the upwind PDE, the symbolic smooth fit and the discrete analogue.
:mod:`.osla` (``depth.osla``)
    One-step look-ahead and myopic rules against the Snell policy.
:mod:`.benchmarks` (``depth.benchmarks``)
    External references: the Longstaff--Schwartz put, Bermudan max-calls and the American put PDE against
    QuantLib.

Each experiment follows :mod:`validation.experiment`: sizes per profile (``SIZES``, frozen dataclasses;
tests replace ``SIZES["quick"]``), ``compute -> checks -> report``. Every random number comes from
``ctx.rng(name)``; expensive pieces go through ``ctx.cached`` with keys that include their sizes.
Statistical checks are set at 5 standard errors or p-values above :math:`10^{-6}`
(:mod:`stochdepth.testing.tolerance`), so they pass for any seed; deterministic convergence checks compare
fitted rates with the rates derived in the docstrings. The shared problems are in :mod:`.problems`.
"""

from __future__ import annotations

from ..experiment import Experiment
from . import b2_bounds, b5_noiseless, b6_bridge, benchmarks, osla

__all__ = ["CAMPAIGN", "EXPERIMENTS"]

CAMPAIGN = "optimal_depth"

#: The experiments in the order they run.
EXPERIMENTS: tuple[Experiment, ...] = tuple(
    Experiment.of_module(module) for module in (b2_bounds, b6_bridge, b5_noiseless, osla, benchmarks)
)
