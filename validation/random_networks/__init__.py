r"""Validation campaign "random networks": docs/science.md Part C, items 1 and 2 (finite-width
random ResNets).

Its experiments are the modules listed, in run order, in ``EXPERIMENTS``; each is named and described by
its own module docstring (``python -m validation --list`` prints them). Each calls the library and
turns its output into evidence: numbers with uncertainties, pass/fail checks of each prediction,
figures and Markdown tables.

Each module follows :mod:`validation.experiment`: sizes per profile in its ``SIZES`` (frozen ``Sizes``
dataclasses; tests swap them), ``compute``, ``checks`` and ``report``. Every random number comes from
``ctx.rng(name)``; expensive pieces go through ``ctx.cached`` with keys that include their sizes.
Statistical checks are set at :data:`~stochdepth.testing.tolerance.Z_MAX` standard errors or at
Holm-adjusted p-values above :data:`~stochdepth.testing.tolerance.ALPHA`, so they pass for any seed while
a wrong prediction (a wrong law, rate or constant) fails them.
"""

from __future__ import annotations

from ..experiment import Experiment
from . import law_agreement, linear_closed_forms, relu_facts, sequential_limits, weak_error

__all__ = ["CAMPAIGN", "EXPERIMENTS"]

CAMPAIGN = "random_networks"

#: The experiments in the order they run.
EXPERIMENTS: tuple[Experiment, ...] = tuple(
    Experiment.of_module(module)
    for module in (law_agreement, weak_error, linear_closed_forms, relu_facts, sequential_limits)
)
