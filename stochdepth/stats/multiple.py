r"""Multiple testing: family-wise error control by Holm's step-down procedure.

A validation campaign runs many tests at once (every observable, depth and width); without correction
some reject by chance. Holm (1979) controls the family-wise error rate -- the probability of rejecting
at least one true null hypothesis -- at :math:`\alpha` under any dependence between the tests, and is
uniformly more powerful than Bonferroni.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_array, check_real
from .._results import Result

__all__ = ["FamilyResult", "HolmResult", "holm", "test_family"]


@dataclass(frozen=True)
class HolmResult(Result):
    """Outcome of :func:`holm`.

    Attributes
    ----------
    rejected : ndarray of bool
        Which hypotheses are rejected, in the input order.
    adjusted : ndarray of float
        Holm-adjusted p-values (reject iff ``adjusted <= alpha``), in the input order.
    alpha : float
        Family-wise error rate.
    pvalues : ndarray of float
        The raw p-values.
    """

    rejected: np.ndarray
    adjusted: np.ndarray
    alpha: float
    pvalues: np.ndarray

    @property
    def n_rejected(self) -> int:
        """Number of rejected hypotheses."""
        return int(np.count_nonzero(self.rejected))


def holm(pvalues: Any, alpha: float = 0.05) -> HolmResult:
    r"""Holm's (1979) step-down procedure.

    With the p-values sorted, :math:`p_{(1)}\le\dots\le p_{(m)}`, reject :math:`H_{(1)},\dots,H_{(k)}`
    where :math:`k` is the largest index such that :math:`p_{(i)} \le \alpha/(m-i+1)` for every
    :math:`i\le k`. Equivalently, reject where the adjusted p-value

    .. math:: \tilde p_{(i)} = \max_{j\le i}\ \min\big(1,\ (m-j+1)\,p_{(j)}\big)

    is at most :math:`\alpha`. The family-wise error rate is at most :math:`\alpha` whatever the
    dependence between the tests.

    Parameters
    ----------
    pvalues : array_like, 1-D
        p-values in [0, 1] (at least one).
    alpha : float in (0, 1), default 0.05
        Family-wise error rate.

    Returns
    -------
    HolmResult

    References
    ----------
    S. Holm (1979), A simple sequentially rejective multiple test procedure, Scand. J. Statist. 6, 65–70.

    Examples
    --------
    >>> from stochdepth.stats import holm
    >>> res = holm([0.01, 0.04, 0.03, 0.005], alpha=0.05)
    >>> res.rejected.tolist()
    [True, False, False, True]
    >>> [round(float(v), 3) for v in res.adjusted]
    [0.03, 0.06, 0.06, 0.02]
    """
    p = check_array("pvalues", pvalues, ndim=1, min_size=1)
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError(f"pvalues must lie in [0, 1], got values in [{p.min():.6g}, {p.max():.6g}]")
    alpha = check_real("alpha", alpha, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    m = p.size
    order = np.argsort(p, kind="stable")
    factors = m - np.arange(m)  # m - i + 1 for i = 1..m
    stepped = np.maximum.accumulate(np.minimum(1.0, factors * p[order]))
    adjusted = np.empty(m)
    adjusted[order] = stepped
    return HolmResult(rejected=adjusted <= alpha, adjusted=adjusted, alpha=alpha, pvalues=p)


@dataclass(frozen=True)
class FamilyResult(Result):
    """Outcome of :func:`test_family`: a family of named tests under Holm's correction.

    Attributes
    ----------
    names : tuple of str
        Test names, in the input order.
    pvalues, adjusted : ndarray
        Raw and Holm-adjusted p-values.
    rejected : ndarray of bool
        Rejections at family-wise level ``alpha``.
    alpha : float
        Family-wise error rate.
    results : dict
        The input results by name.
    """

    names: tuple[str, ...]
    pvalues: np.ndarray
    adjusted: np.ndarray
    rejected: np.ndarray
    alpha: float
    results: dict[str, Any]

    @property
    def any_rejected(self) -> bool:
        """Whether the family as a whole is rejected (some null hypothesis is false)."""
        return bool(np.any(self.rejected))

    @property
    def rejected_names(self) -> tuple[str, ...]:
        """Names of the rejected tests."""
        return tuple(n for n, r in zip(self.names, self.rejected) if r)

    def summary(self) -> str:
        """One line per test: name, p-value, adjusted p-value and decision."""
        width = max(len(n) for n in self.names)
        rows = [
            f"{n:<{width}}  p={p:.3g}  adjusted={a:.3g}  {'REJECT' if r else 'ok'}"
            for n, p, a, r in zip(self.names, self.pvalues, self.adjusted, self.rejected)
        ]
        return "\n".join(rows)


def test_family(results: Mapping[str, Any], alpha: float = 0.05) -> FamilyResult:
    """Apply Holm's correction to a family of named tests.

    Parameters
    ----------
    results : mapping of str to TestResult (or anything with a ``pvalue``, or a float p-value)
        The family, e.g. one two-sample test per observable and depth.
    alpha : float in (0, 1), default 0.05
        Family-wise error rate (:func:`holm`).

    Returns
    -------
    FamilyResult

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.stats import test_family, two_sample_test
    >>> gen = np.random.default_rng(3)
    >>> same = {f"t{k}": two_sample_test(gen.normal(size=100), gen.normal(size=100)) for k in range(5)}
    >>> fam = test_family(same, alpha=0.05)
    >>> len(fam.names)
    5
    """
    if not isinstance(results, Mapping):
        raise TypeError(f"results must be a mapping name -> TestResult, got {type(results).__name__}")
    if len(results) == 0:
        raise ValueError("results must hold at least one test, got an empty mapping")
    names = tuple(str(k) for k in results)
    pvals = []
    for name, res in results.items():
        value = getattr(res, "pvalue", res)
        pvals.append(check_real(f"results[{name!r}].pvalue", value, lo=0.0, hi=1.0))
    h = holm(np.asarray(pvals), alpha)
    return FamilyResult(
        names=names,
        pvalues=h.pvalues,
        adjusted=h.adjusted,
        rejected=h.rejected,
        alpha=h.alpha,
        results=dict(results),
    )


test_family.__test__ = False  # type: ignore[attr-defined]  # not a pytest test function
