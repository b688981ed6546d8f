r"""Monte Carlo error bars: sample means (independent or correlated samples) and ratios of means."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as _st

from .._checks import check_array, check_finite_result, check_int, check_real
from .._results import Estimate

__all__ = ["MeanEstimate", "mc_mean", "mc_ratio"]


@dataclass(frozen=True)
class MeanEstimate(Estimate):
    """A Monte Carlo mean with its standard error and a confidence interval.

    It is an :class:`~stochdepth.Estimate` (``value``, ``stderr``, ``n``) and can be passed wherever one
    is expected (e.g. :func:`stochdepth.stats.weak_error_fit`).

    Attributes
    ----------
    level : float
        Confidence level of ``interval``.
    interval : tuple of float
        Student-t confidence interval with ``dof`` degrees of freedom.
    dof : int
        Degrees of freedom of the variance estimate (``n - 1``, or ``n_batches - 1`` for batch means).
    batch_size : int
        1 for independent samples; the batch length for batch means.
    method : str
        ``"iid"``, ``"batch-means"`` or ``"delta"`` (ratio).
    """

    level: float = 0.95
    interval: tuple[float, float] = (math.nan, math.nan)
    dof: int = 0
    batch_size: int = 1
    method: str = "iid"

    def __repr__(self) -> str:
        lo, hi = self.interval
        return (
            f"MeanEstimate({self.value:.6g} ± {self.stderr:.2g}, {self.level:.0%} CI [{lo:.6g}, {hi:.6g}],"
            f" n={self.n}, method={self.method!r})"
        )


def _interval(value: float, stderr: float, dof: int, level: float) -> tuple[float, float]:
    q = float(_st.t.ppf(0.5 + level / 2.0, dof))
    return (value - q * stderr, value + q * stderr)


def mc_mean(samples: Any, level: float = 0.95, *, batch_size: int | None = 1) -> MeanEstimate:
    r"""Sample mean with its standard error and a Student-t confidence interval.

    Independent samples (``batch_size=1``): :math:`\hat\mu=\bar X`, :math:`\widehat{se}=s/\sqrt n`.
    Correlated samples (a Markov chain, consecutive layers): batch means. The first :math:`ab` samples
    are cut into :math:`a` batches of length :math:`b` with means :math:`\bar Y_k`, and

    .. math:: \widehat{se}^2 = \frac{b}{a-1}\sum_{k=1}^a (\bar Y_k-\bar Y)^2 \Big/ n ,

    consistent when :math:`b\to\infty` and :math:`a\to\infty` (Flegal & Jones 2010, Ann. Statist. 38,
    1034–1070; :math:`b=\lfloor\sqrt n\rfloor` is their default). The point estimate is the mean of all
    ``n`` samples; the interval uses :math:`a-1` degrees of freedom.

    Parameters
    ----------
    samples : array_like, 1-D
        Finite samples, at least 2 (at least 2 batches for batch means).
    level : float in (0, 1), default 0.95
        Confidence level of the interval.
    batch_size : int >= 1 or None, default 1
        Batch length; ``None`` chooses :math:`\lfloor\sqrt n\rfloor`.

    Returns
    -------
    MeanEstimate

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.stats import mc_mean
    >>> est = mc_mean(np.random.default_rng(0).normal(1.0, 2.0, size=10_000))
    >>> abs(est.value - 1.0) < 5 * est.stderr, round(est.stderr, 2)
    (True, 0.02)
    """
    x = check_array("samples", samples, ndim=1, min_size=2)
    level = check_real("level", level, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    n = x.size
    b = max(1, math.isqrt(n)) if batch_size is None else check_int("batch_size", batch_size, min=1)
    value = float(np.mean(x))
    if b == 1:
        stderr = float(np.std(x, ddof=1) / math.sqrt(n))
        dof, method = n - 1, "iid"
    else:
        a = n // b
        if a < 2:
            raise ValueError(f"batch_size must leave at least 2 batches, got batch_size={b} for {n} samples")
        means = x[: a * b].reshape(a, b).mean(axis=1)
        stderr = float(math.sqrt(b * np.var(means, ddof=1) / n))
        dof, method = a - 1, "batch-means"
    check_finite_result("mc_mean", np.array([value, stderr]))
    return MeanEstimate(value, stderr, n, level, _interval(value, stderr, dof, level), dof, b, method)


def mc_ratio(numerator: Any, denominator: Any, level: float = 0.95) -> MeanEstimate:
    r"""Ratio of two means from paired samples, :math:`R = \mathbb E A / \mathbb E B`, by the delta method.

    .. math::

        \hat R = \bar A/\bar B,\qquad
        \widehat{se}^2 = \frac{1}{n\,\bar B^2}\,\widehat{\mathrm{Var}}\big(A - \hat R B\big)

    (first-order Taylor expansion of :math:`\bar A/\bar B`; e.g. a conditional mean
    :math:`\mathbb E[X\mid S] = \mathbb E[X 1_S]/P(S)` with ``numerator = X * alive``,
    ``denominator = alive``).

    Parameters
    ----------
    numerator, denominator : array_like, 1-D, same length >= 2
        Paired samples of :math:`A` and :math:`B` (finite); :math:`\bar B \ne 0`.
    level : float in (0, 1), default 0.95
        Confidence level of the Student-t interval (``n - 1`` degrees of freedom).

    Returns
    -------
    MeanEstimate
        ``method == "delta"``.

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.stats import mc_ratio
    >>> gen = np.random.default_rng(0)
    >>> x = gen.normal(size=100_000)
    >>> alive = (x > 0).astype(float)
    >>> est = mc_ratio(x * alive, alive)  # E[X | X > 0] = sqrt(2/pi)
    >>> abs(est.value - (2 / np.pi) ** 0.5) < 5 * est.stderr
    True
    """
    a = check_array("numerator", numerator, ndim=1, min_size=2)
    b = check_array("denominator", denominator, ndim=1, shape=(a.size,))
    level = check_real("level", level, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    n = a.size
    mb = float(np.mean(b))
    if mb == 0.0:
        raise ValueError("denominator has mean 0: the ratio of means is undefined")
    r = float(np.mean(a)) / mb
    stderr = float(np.std(a - r * b, ddof=1) / (math.sqrt(n) * abs(mb)))
    check_finite_result("mc_ratio", np.array([r, stderr]))
    return MeanEstimate(r, stderr, n, level, _interval(r, stderr, n - 1, level), n - 1, 1, "delta")
