r"""Validation campaign "random networks": docs/science.md Part C, items 1 and 2 (finite-width
random ResNets).

Five experiments, one module each, each calling the library and turning its output into evidence
(numbers with uncertainties, pass/fail checks of each prediction, figures and Markdown tables):

``random.law-agreement`` (:mod:`.law_agreement`)
    Explicit-weight networks (numpy, and torch when :mod:`stochdepth.nn` imports), the exact-in-law
    sampler and the Euler--Maruyama scheme of the limit SDE at step :math:`1/L` agree in law (docs/science.md
    A2): two-sample Kolmogorov--Smirnov and permutation Cramér--von Mises tests, Holm-corrected. Against
    the limit SDE at a fine step the finite network differs by its :math:`O(1/L)` depth error: the tests
    resolve it at small :math:`L`, and the Wasserstein distance shrinks with :math:`L`.
``random.weak-error`` (:mod:`.weak_error`)
    Weak error of :math:`\mathbb E\|Y_L\|^2` and of :math:`\mathbb E\log(1+\|\phi(Y_L)\|^2)` against
    :math:`L` with fitted slope and confidence interval (:func:`stochdepth.limits.weak_error_study`).
``random.linear-closed-forms`` (:mod:`.linear_closed_forms`)
    docs/science.md §A4: the log-normal norm ratio, the exact moments of the finite-depth log-norm walk, the
    kurtosis :math:`3e^{4t/n}` of a neuron and :math:`\mathbb E\|Y_L\|^2=(1+1/L)^L\|Y_0\|^2`.
``random.relu-facts`` (:mod:`.relu_facts`)
    docs/science.md §A5: the post-activation norm identity, the dead fraction :math:`2^{-n}`, the drift
    :math:`D(n)` and its sign change between widths 3 and 4, the sign of the mean log-ratio over
    :math:`[0,1]`, and the eventual decay of every width over long depth.
``random.sequential-limits`` (:mod:`.sequential_limits`)
    docs/science.md §A6: both sequential limits reach the variance ODE, :math:`\mathrm{Var}\log\|X_t\|\sim
    t/n`,
    McKean--Vlasov particles against the ODE, and the ReLU correlation ODE against finite networks.

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
