"""Statistical helpers for the tests of stochdepth.networks (the slow references of the kernels live in
:mod:`stochdepth.testing.references.networks`)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from stochdepth.stats import holm


def holm_min_adjusted(pvalues: dict[str, float]) -> tuple[float, str]:
    """Smallest Holm-adjusted p-value of a family (:func:`stochdepth.stats.holm`), and its test's name.

    The smallest adjusted value is min(1, m p_(1)); the family is rejected at level alpha iff it is
    < alpha (valid under any dependence between the tests).
    """
    names = list(pvalues)
    adjusted = holm([pvalues[k] for k in names]).adjusted
    i = int(np.argmin(adjusted))
    return float(adjusted[i]), names[i]


def ks_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov p-value (continuous laws)."""
    return float(stats.ks_2samp(np.ravel(a), np.ravel(b)).pvalue)


def counts_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    """Chi-square test of homogeneity of two samples of a discrete variable (integer values).

    Values are pooled from the top and the bottom until every cell has an expected count >= 10
    (Cochran's rule is >= 5), so the chi-square approximation holds at the 1e-6 level we use.
    """
    a = np.rint(np.ravel(a)).astype(int)
    b = np.rint(np.ravel(b)).astype(int)
    values = np.union1d(a, b)
    table = np.array([[np.sum(a == v) for v in values], [np.sum(b == v) for v in values]], dtype=float)
    # merge adjacent columns until every expected count is >= 10
    while table.shape[1] > 1:
        expected = table.sum(axis=0)[None, :] * table.sum(axis=1)[:, None] / table.sum()
        j = int(np.argmin(expected.min(axis=0)))
        if expected[:, j].min() >= 10:
            break
        other = j - 1 if j == table.shape[1] - 1 else j + 1
        table[:, min(j, other)] += table[:, max(j, other)]
        table = np.delete(table, max(j, other), axis=1)
    if table.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(table, correction=False).pvalue)
