r"""Weak-convergence diagnostics: do two laws agree, and how fast does an approximation converge?

* Goodness of fit (:mod:`~stochdepth.stats.gof`): :func:`two_sample_test` and :func:`one_sample_test`
  with the statistics :class:`KolmogorovSmirnov`, :class:`CramerVonMises` and :class:`AndersonDarling`
  (exact, asymptotic or permutation p-values), returning :class:`TestResult`.
* Multiple testing (:mod:`~stochdepth.stats.multiple`): :func:`holm` and :func:`test_family`
  (family-wise error control).
* Distances (:mod:`~stochdepth.stats.distance`): :func:`wasserstein_distance` between samples or
  against a law.
* Convergence rates (:mod:`~stochdepth.stats.weak_error`): :func:`weak_error_fit` and
  :func:`weak_error_fit_differences`, returning :class:`WeakErrorFit` with a confidence interval for
  the rate and a status that flags unresolved errors.
* Monte Carlo error bars (:mod:`~stochdepth.stats.montecarlo`): :func:`mc_mean` (independent samples
  or batch means) and :func:`mc_ratio` (delta method), returning :class:`MeanEstimate`.

These implement the statistical side of docs/science.md Part C (the validation of the depth limit).
"""

from __future__ import annotations

from .distance import wasserstein_distance
from .gof import (
    KS_EXACT_MAX_CELLS,
    PERMUTATION_CHUNK_SIZE,
    AndersonDarling,
    CramerVonMises,
    KolmogorovSmirnov,
    TestMethod,
    TestResult,
    one_sample_test,
    two_sample_test,
)
from .montecarlo import MeanEstimate, mc_mean, mc_ratio
from .multiple import FamilyResult, HolmResult, holm, test_family
from .weak_error import WeakErrorFit, weak_error_fit, weak_error_fit_differences

__all__ = [
    "KS_EXACT_MAX_CELLS",
    "PERMUTATION_CHUNK_SIZE",
    "AndersonDarling",
    "CramerVonMises",
    "FamilyResult",
    "HolmResult",
    "KolmogorovSmirnov",
    "MeanEstimate",
    "TestMethod",
    "TestResult",
    "WeakErrorFit",
    "holm",
    "mc_mean",
    "mc_ratio",
    "one_sample_test",
    "test_family",
    "two_sample_test",
    "wasserstein_distance",
    "weak_error_fit",
    "weak_error_fit_differences",
]
