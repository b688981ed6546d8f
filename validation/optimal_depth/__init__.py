r"""Validation campaign "optimal depth": docs/science.md Part B and Part C item 3 (stopping,
continuous depth).

Its experiments are the modules listed, in run order, in ``EXPERIMENTS``; each is named and described by
its own module docstring (``python -m validation --list`` prints them). Each calls the library
(:mod:`stochdepth.stopping`, :mod:`stochdepth.freeboundary`, :mod:`stochdepth.symbolic`) and turns its
output into evidence: numbers with uncertainties, pass/fail checks of each prediction, figures and
Markdown tables. The B6 experiment keeps its solvers in :mod:`.b6_solvers` and its figures in
:mod:`.b6_figures`.

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
