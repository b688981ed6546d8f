r"""Result types shared by the stopping solvers and policies."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_real
from .._results import Estimate, Result

__all__ = ["DepthLaw", "PolicyEvaluation"]

_DEFAULT_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True, repr=False)
class DepthLaw(Result):
    r"""Law of a stopping depth :math:`\tau` on the layers :math:`0,\dots,K`.

    Attributes
    ----------
    pmf : numpy.ndarray
        :math:`\mathbb P(\tau=l)`, ``l = 0..K`` (empirical frequencies for a Monte Carlo law; empty when
        only the moments are known, see :meth:`from_moments`).
    tail : float
        :math:`\mathbb P(\tau>K)` (0 unless an infinite-horizon law was truncated; ``nan`` when only the
        mean of :math:`\tau` is known).
    mean : Estimate
        :math:`\mathbb E\tau` (``stderr = 0`` when exact; ``inf`` when infinite).
    std : float
        Standard deviation of :math:`\tau` (``nan`` when unknown because of the tail, ``inf`` if infinite).
    exact : bool
        True for a law computed exactly (up to rounding), False for an empirical one.
    quantiles : dict
        :math:`q\mapsto\min\{l:\mathbb P(\tau\le l)\ge q\}` at the levels 0.05, 0.25, 0.5, 0.75, 0.95
        (``inf`` when the level is not reached within the truncation; ``nan`` when only the moments are
        known).
    """

    pmf: np.ndarray
    tail: float
    mean: Estimate
    std: float
    exact: bool
    quantiles: dict[float, float] = field(default_factory=dict)

    nonfinite_fields = ("tail", "std")

    @property
    def cdf(self) -> np.ndarray:
        r""":math:`\mathbb P(\tau\le l)`, ``l = 0..K``."""
        return np.cumsum(self.pmf)

    @property
    def moments_only(self) -> bool:
        """True when only the mean and standard deviation are known (no probabilities)."""
        return self.pmf.size == 0

    def quantile(self, q: float) -> float:
        """Smallest layer ``l`` with ``P(tau <= l) >= q`` (``inf`` if not reached within the law's range;
        ``nan`` for a law known only by its moments)."""
        q = check_real("q", q, lo=0.0, hi=1.0, lo_open=True)
        return math.nan if self.moments_only else _quantile(self.cdf, q)

    @classmethod
    def from_moments(cls, mean: float, second: float) -> DepthLaw:
        r"""Exact law known only through its first two moments :math:`\mathbb E\tau` and
        :math:`\mathbb E\tau^2` (e.g. from :func:`~stochdepth.stopping.evaluation.expected_exit_time`
        when the probabilities were not asked for): ``pmf`` is empty, ``tail`` and the quantiles ``nan``."""
        m, m2 = float(mean), float(second)
        std = math.inf if math.isinf(m) or math.isinf(m2) else math.sqrt(max(m2 - m * m, 0.0))
        qs = dict.fromkeys(_DEFAULT_LEVELS, math.nan)
        return cls(np.zeros(0), math.nan, Estimate(m, 0.0, 0), std, True, qs)

    @classmethod
    def from_pmf(
        cls, pmf: np.ndarray, *, tail: float = 0.0, mean: float | None = None, second: float | None = None
    ) -> DepthLaw:
        """Exact law from its probabilities (``mean``/``second`` moment override the truncated sums)."""
        pmf = np.clip(np.asarray(pmf, dtype=float), 0.0, None)
        layers = np.arange(pmf.size, dtype=float)
        m = float(pmf @ layers) if mean is None else float(mean)
        if second is None:
            second = float(pmf @ layers**2) if tail <= 0.0 else math.nan
        if not math.isfinite(m):
            std = math.inf
        elif math.isnan(second):
            std = math.nan
        else:
            std = math.sqrt(max(second - m * m, 0.0))
        cdf = np.cumsum(pmf)
        qs = {q: _quantile(cdf, q) for q in _DEFAULT_LEVELS}
        return cls(pmf, float(max(tail, 0.0)), Estimate(m, 0.0, 0), std, True, qs)

    @classmethod
    def from_samples(cls, tau: Any, horizon: int) -> DepthLaw:
        """Empirical law of integer samples ``tau`` in ``0..horizon``."""
        t = np.asarray(tau, dtype=np.int64).ravel()
        counts = np.bincount(t, minlength=horizon + 1).astype(float)
        pmf = counts / t.size
        est = Estimate.from_samples(t.astype(float))
        std = float(t.std(ddof=1)) if t.size > 1 else math.nan
        cdf = np.cumsum(pmf)
        qs = {q: _quantile(cdf, q) for q in _DEFAULT_LEVELS}
        return cls(pmf, 0.0, est, std, False, qs)


def _quantile(cdf: np.ndarray, q: float) -> float:
    # tolerate rounding in an exact cdf: 1e-12 below the level counts as reached
    idx = np.nonzero(cdf >= q - 1e-12)[0]
    return float(idx[0]) if idx.size else math.inf


@dataclass(frozen=True, repr=False)
class PolicyEvaluation(Result):
    r"""Value and depth law of a stopping policy on a problem.

    Attributes
    ----------
    policy : str
        Name of the policy.
    value : Estimate
        :math:`\mathbb E Z_\tau` in layer-0 units (exact: ``stderr = 0``). For an optimal-stopping problem
        this is a lower bound on the optimal value.
    depth : DepthLaw
        Law of :math:`\tau`.
    n_paths : int
        Paths used (0 for an exact evaluation).
    exact : bool
        True when computed exactly on a Markov chain.
    """

    policy: str
    value: Estimate
    depth: DepthLaw
    n_paths: int
    exact: bool

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """Confidence interval of the value (a point when exact)."""
        return self.value.ci(level)
