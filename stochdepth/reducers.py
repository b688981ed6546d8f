r"""Streaming reductions of Monte Carlo values: mergeable summaries folded chunk by chunk.

A :class:`Reducer` turns the observed values of one chunk, shape ``(m, *shape)``, into a partial summary
and merges two partials (left before right); :func:`stochdepth.montecarlo.run_observed` folds the
chunks' partials in the pairwise tree fixed by the number of chunks
(:class:`~stochdepth.executors.PairwiseTree`). :class:`Samples` keeps every value (memory grows with the
paths); :class:`Moments`, :class:`Histogram` and :class:`Quantiles` keep a summary of fixed size
(bounded memory whatever the number of paths). Moments are merged with the pairwise update formulas of
Chan, Golub & LeVeque (1979) and Pébay (2008, Sandia report SAND2008-6212) up to the fourth central
moment. Every name here is also exported by :mod:`stochdepth.montecarlo`.

Examples
--------
Merging two halves gives the moments of the whole:

>>> import numpy as np
>>> from stochdepth.reducers import Moments
>>> x = np.random.default_rng(0).standard_normal((1000, 1))
>>> r = Moments()
>>> whole = r.finish(r.update(r.start((1,)), x))
>>> halves = r.merge(r.update(r.start((1,)), x[:400]), r.update(r.start((1,)), x[400:]))
>>> bool(np.allclose(r.finish(halves).kurtosis, whole.kurtosis, rtol=1e-12))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ._checks import check_finite_result, check_int, check_real
from ._results import Result

__all__ = [
    "Histogram",
    "HistogramResult",
    "Moments",
    "MomentsResult",
    "Quantiles",
    "QuantilesResult",
    "Reducer",
    "Samples",
    "as_reducers",
]


class Reducer:
    """Base class: a mergeable summary of observed values of shape ``(m, *shape)``.

    Subclasses implement :meth:`start` (an empty partial summary), :meth:`update` (fold one chunk,
    returning the new partial), :meth:`merge` (combine two partials, left before right) and
    :meth:`finish` (the user-facing result). :meth:`calibrate` may look at the first chunk's values to
    fix settings (e.g. a histogram range) before any partial is started.
    """

    key: str = "reducer"
    #: The fewest paths the summary is defined for (checked by :func:`~stochdepth.montecarlo.run_observed`
    #: before any work).
    min_paths: ClassVar[int] = 1

    def calibrate(self, values: np.ndarray) -> Reducer:
        return self

    def start(self, shape: tuple[int, ...]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def update(self, partial: Any, values: np.ndarray) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def merge(self, left: Any, right: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def finish(self, partial: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Samples(Reducer):
    """Keep every value (memory ``n_paths * n_times * out_size * 8`` bytes)."""

    key: str = field(default="samples", init=False, repr=False)

    def start(self, shape: tuple[int, ...]) -> list[np.ndarray]:
        return []

    def update(self, partial: list[np.ndarray], values: np.ndarray) -> list[np.ndarray]:
        return [*partial, values]

    def merge(self, left: list[np.ndarray], right: list[np.ndarray]) -> list[np.ndarray]:
        return left + right

    def finish(self, partial: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(partial, axis=0)


@dataclass(frozen=True, repr=False)
class MomentsResult(Result):
    r"""Streaming moments of an observable over paths, per recorded time and component.

    ``mean``, ``var`` (unbiased), ``stderr`` (of the mean), ``skewness`` and ``kurtosis`` (plain, not
    excess: 3 for a Gaussian) are arrays of shape ``(n_times, *out_shape)``; ``n`` is the path count.
    ``skewness`` and ``kurtosis`` are NaN exactly where the values have zero variance (e.g. a shared
    initial state), where they are undefined; ``central`` holds the central moments of orders 2 to 4
    (population normalisation, :math:`\frac1n\sum(x-\bar x)^j`).
    """

    n: int
    mean: np.ndarray
    var: np.ndarray
    stderr: np.ndarray
    skewness: np.ndarray
    kurtosis: np.ndarray
    central: tuple[np.ndarray, np.ndarray, np.ndarray] = field(repr=False)

    #: NaN exactly where the variance is zero (checked by :meth:`Moments.finish`).
    nonfinite_fields = ("skewness", "kurtosis")

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.var)


@dataclass(frozen=True)
class Moments(Reducer):
    """Mean, variance, skewness and kurtosis merged exactly across chunks (bounded memory)."""

    key: str = field(default="moments", init=False, repr=False)
    min_paths: ClassVar[int] = 2

    def start(self, shape: tuple[int, ...]) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        z = np.zeros(shape)
        return (0, z, z.copy(), z.copy(), z.copy())

    def update(self, partial: Any, values: np.ndarray) -> Any:
        m = values.shape[0]
        if m == 0:
            return partial
        mean = values.mean(axis=0)
        d = values - mean
        d2 = d * d
        chunk = (m, mean, d2.sum(axis=0), (d2 * d).sum(axis=0), (d2 * d2).sum(axis=0))
        return self.merge(partial, chunk)

    def merge(self, left: Any, right: Any) -> Any:
        na, ma, m2a, m3a, m4a = left
        nb, mb, m2b, m3b, m4b = right
        if na == 0:
            return right
        if nb == 0:
            return left
        n = na + nb
        delta = mb - ma
        mean = ma + delta * (nb / n)
        m2 = m2a + m2b + delta**2 * (na * nb / n)
        m3 = m3a + m3b + delta**3 * (na * nb * (na - nb) / n**2) + 3.0 * delta * (na * m2b - nb * m2a) / n
        m4 = (
            m4a
            + m4b
            + delta**4 * (na * nb * (na * na - na * nb + nb * nb) / n**3)
            + 6.0 * delta**2 * (na * na * m2b + nb * nb * m2a) / n**2
            + 4.0 * delta * (na * m3b - nb * m3a) / n
        )
        return (n, mean, m2, m3, m4)

    def finish(self, partial: Any) -> MomentsResult:
        n, mean, m2, m3, m4 = partial
        if n < 2:
            raise ValueError(f"Moments() needs at least 2 paths (a sample variance): n_paths >= 2, got {n}")
        var = m2 / (n - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            pop_var = m2 / n
            skew = np.where(pop_var > 0, (m3 / n) / pop_var**1.5, np.nan)
            kurt = np.where(pop_var > 0, (m4 / n) / pop_var**2, np.nan)
        check_finite_result("Moments: skewness and kurtosis", np.stack([skew, kurt])[:, pop_var > 0])
        return MomentsResult(
            n=int(n),
            mean=mean,
            var=var,
            stderr=np.sqrt(var / n),
            skewness=skew,
            kurtosis=kurt,
            central=(m2 / n, m3 / n, m4 / n),
        )


@dataclass(frozen=True, repr=False)
class HistogramResult(Result):
    """Counts per bin (shape ``(n_times, *out_shape, bins)``) with under- and overflow counts."""

    edges: np.ndarray
    counts: np.ndarray
    underflow: np.ndarray
    overflow: np.ndarray
    n: int

    def density(self) -> np.ndarray:
        """Counts normalised by ``n`` and bin width (a density estimate over the whole line)."""
        return self.counts / (self.n * np.diff(self.edges))


def _auto_range(values: np.ndarray, margin: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (-1.0, 1.0)
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return (lo - margin * span, hi + margin * span)


@dataclass(frozen=True)
class Histogram(Reducer):
    """Fixed-bin histogram per recorded time and component (bounded memory).

    Parameters
    ----------
    bins : int
        Number of equal-width bins.
    range : (float, float) or None
        Bin range; ``None`` fixes it from the first chunk's values widened by ``margin`` of their span
        on each side (values outside still counted in ``underflow``/``overflow``).
    """

    bins: int = 100
    range: tuple[float, float] | None = None
    margin: float = 0.25
    key: str = field(default="histogram", init=False, repr=False)

    def __post_init__(self) -> None:
        check_int("bins", self.bins, min=1)
        check_real("margin", self.margin, lo=0.0)
        if self.range is not None:
            if not isinstance(self.range, (tuple, list, np.ndarray)) or len(self.range) != 2:
                raise ValueError(f"range must be None or a pair (lo, hi), got {self.range!r}")
            lo, hi = (check_real("range[0]", self.range[0]), check_real("range[1]", self.range[1]))
            if not hi > lo:
                raise ValueError(f"range must satisfy range[0] < range[1], got {self.range}")

    def calibrate(self, values: np.ndarray) -> Histogram:
        if self.range is not None:
            return self
        return Histogram(bins=self.bins, range=_auto_range(values, self.margin), margin=self.margin)

    @property
    def edges(self) -> np.ndarray:
        assert self.range is not None
        return np.linspace(self.range[0], self.range[1], self.bins + 1)

    def start(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        return (
            np.zeros((*shape, self.bins), np.int64),
            np.zeros(shape, np.int64),
            np.zeros(shape, np.int64),
            0,
        )

    def update(self, partial: Any, values: np.ndarray) -> Any:
        assert self.range is not None, "Histogram must be calibrated before use"
        lo, hi = self.range
        counts, under, over, n = partial
        m = values.shape[0]
        flat = values.reshape(m, -1)
        below = flat < lo
        above = flat >= hi
        inside = ~(below | above | np.isnan(flat))
        k = flat.shape[1]
        # bin index of each value, offset by its column: one bincount fills all columns at once
        safe = np.where(inside, flat, lo)
        idx = np.clip(np.floor((safe - lo) / (hi - lo) * self.bins), 0, self.bins - 1).astype(np.int64)
        idx += np.arange(k, dtype=np.int64) * self.bins
        add = np.bincount(idx[inside], minlength=k * self.bins).astype(np.int64, copy=False)
        add = add.reshape(k, self.bins)
        shape = values.shape[1:]
        return (
            counts + add.reshape(*shape, self.bins),
            under + below.sum(axis=0).reshape(shape),
            over + above.sum(axis=0).reshape(shape),
            n + m,
        )

    def merge(self, left: Any, right: Any) -> Any:
        return (left[0] + right[0], left[1] + right[1], left[2] + right[2], left[3] + right[3])

    def finish(self, partial: Any) -> HistogramResult:
        counts, under, over, n = partial
        return HistogramResult(edges=self.edges, counts=counts, underflow=under, overflow=over, n=int(n))


@dataclass(frozen=True, repr=False)
class QuantilesResult(Result):
    """Quantile estimates (shape ``(len(probs), n_times, *out_shape)``) with a bound on their error.

    ``max_error`` is the bin width of the underlying histogram: each estimate lies within it of an
    empirical quantile of the simulated values. Estimates falling in the under/overflow are NaN.
    """

    probs: np.ndarray
    values: np.ndarray
    max_error: float
    n: int


@dataclass(frozen=True)
class Quantiles(Reducer):
    """Quantiles from a fine streaming histogram (bounded memory, error at most one bin width).

    Parameters
    ----------
    probs : sequence of float
        Probabilities in (0, 1).
    bins : int
        Histogram resolution; the error bound is ``(range[1] - range[0]) / bins``.
    range : (float, float) or None
        As in :class:`Histogram` (``None``: from the first chunk).
    """

    probs: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
    bins: int = 8192
    range: tuple[float, float] | None = None
    margin: float = 0.5
    key: str = field(default="quantiles", init=False, repr=False)

    def __post_init__(self) -> None:
        probs = tuple(float(p) for p in self.probs)
        if not probs or not all(0.0 < p < 1.0 for p in probs):
            raise ValueError(f"probs must be probabilities in (0, 1), got {self.probs}")
        object.__setattr__(self, "probs", probs)

    def _hist(self) -> Histogram:
        return Histogram(bins=self.bins, range=self.range, margin=self.margin)

    def calibrate(self, values: np.ndarray) -> Quantiles:
        if self.range is not None:
            return self
        rng = self._hist().calibrate(values).range
        return Quantiles(probs=self.probs, bins=self.bins, range=rng, margin=self.margin)

    def start(self, shape: tuple[int, ...]) -> Any:
        return self._hist().start(shape)

    def update(self, partial: Any, values: np.ndarray) -> Any:
        return self._hist().update(partial, values)

    def merge(self, left: Any, right: Any) -> Any:
        return self._hist().merge(left, right)

    def finish(self, partial: Any) -> QuantilesResult:
        hist = self._hist().finish(partial)
        edges = hist.edges
        cum = np.cumsum(hist.counts, axis=-1) + hist.underflow[..., None]
        n = hist.n
        out = np.full((len(self.probs), *hist.counts.shape[:-1]), np.nan)
        for j, p in enumerate(self.probs):
            target = p * n
            # first bin whose cumulative count reaches the target, linear inside the bin
            idx = np.argmax(cum >= target, axis=-1)
            reached = cum[..., -1] >= target
            below_ok = hist.underflow < target
            prev = np.take_along_axis(cum, np.maximum(idx - 1, 0)[..., None], axis=-1)[..., 0]
            prev = np.where(idx == 0, hist.underflow, prev)
            cnt = np.take_along_axis(hist.counts, idx[..., None], axis=-1)[..., 0]
            with np.errstate(invalid="ignore", divide="ignore"):
                frac = np.where(cnt > 0, (target - prev) / cnt, 0.5)
            width = edges[1] - edges[0]
            est = edges[idx] + np.clip(frac, 0.0, 1.0) * width
            out[j] = np.where(reached & below_ok, est, np.nan)
        return QuantilesResult(
            probs=np.asarray(self.probs), values=out, max_error=float(edges[1] - edges[0]), n=int(n)
        )


def as_reducers(reduce: Reducer | Sequence[Reducer] | None) -> tuple[Reducer, ...]:
    """Normalise a ``reduce`` argument (default: keep samples)."""
    if reduce is None:
        return (Samples(),)
    red = (reduce,) if isinstance(reduce, Reducer) else tuple(reduce)
    if not red or not all(isinstance(r, Reducer) for r in red):
        raise TypeError("reduce must be a Reducer or a non-empty sequence of Reducers")
    keys = [r.key for r in red]
    if len(set(keys)) != len(keys):
        raise ValueError(f"reduce holds two reducers of the same kind: {keys}")
    return red
