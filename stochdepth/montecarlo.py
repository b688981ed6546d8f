r"""The Monte Carlo engine: chunked runs, observables and streaming reductions shared by every simulator.

A simulator (an SDE integrator, a random-network sampler, a limit law) runs paths in fixed-size chunks,
each with its own stream spawned from one seed (:mod:`stochdepth.random`); :func:`map_chunks` runs the
chunks on a thread pool and returns their results in chunk order, so a result never depends on the
number of threads. For each chunk it returns the *states at the recorded times* only, an array of
shape ``(m, n_times, *state_shape)``; observables turn those into values ``(m, n_times, *out_shape)`` and
reducers fold the values into a summary. The chunk's states are then dropped, so memory is bounded by one
chunk per thread plus the reducers' summaries, whatever the number of paths.

Reducers (:class:`Samples`, :class:`Moments`, :class:`Histogram`, :class:`Quantiles`) produce per-chunk
partial summaries that are merged *in chunk order*, so results are bitwise identical for any number of
threads. Moments are merged with the pairwise update formulas of Chan, Golub & LeVeque (1979) and
Pébay (2008, Sandia report SAND2008-6212) up to the fourth central moment.

Observables are plain numpy functions; :func:`run_observed` is the driver simulators call.

Examples
--------
Chunk results do not depend on the number of threads:

>>> from stochdepth.montecarlo import map_chunks
>>> def chunk_sum(start, stop, gen):
...     return float(gen.standard_normal(stop - start).sum())
>>> sums = map_chunks(chunk_sum, 7, 10_000, chunk_size=4096, n_threads=2)
>>> len(sums), sums == map_chunks(chunk_sum, 7, 10_000, chunk_size=4096, n_threads=1)
(3, True)

A toy simulator whose state is 0 at time 0 and a standard normal at time 1:

>>> import numpy as np
>>> from stochdepth.montecarlo import Moments, Observable, Quantiles, run_observed
>>> def kernel(start, stop, gen):
...     out = np.zeros((stop - start, 2, 1))
...     out[:, 1, 0] = gen.standard_normal(stop - start)
...     return out
>>> obs = run_observed(kernel, 0, 20_000, np.array([0.0, 1.0]), [Observable("x", lambda s: s[..., 0])],
...                    [Moments(), Quantiles(probs=(0.5,))], chunk_size=4096)
>>> m = obs["x"].moments
>>> bool(abs(m.mean[1]) < 5 * m.stderr[1]), bool(abs(m.var[1] - 1.0) < 5 * (2 / 20_000) ** 0.5)
(True, True)
>>> bool(np.isnan(m.skewness[0]))    # zero variance at time 0: undefined
True
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

from ._checks import check_finite_result, check_int, check_real
from ._results import Result
from .executors import ExecutorLike, check_executor, current_executor, ordered_results
from .random import DEFAULT_CHUNK_SIZE, RNGLike, check_chunk_size, chunk_generators

__all__ = [
    "ChunkKernel",
    "Histogram",
    "HistogramResult",
    "Moments",
    "MomentsResult",
    "Observable",
    "Observed",
    "Quantiles",
    "QuantilesResult",
    "Reducer",
    "Samples",
    "as_observables",
    "as_reducers",
    "check_threads",
    "default_threads",
    "map_chunks",
    "run_observed",
]

T = TypeVar("T")

#: A chunk kernel: ``kernel(start, stop, generator)`` returns the states of paths ``start..stop-1`` at the
#: recorded times, shape ``(stop - start, n_times, *state_shape)``, drawing from ``generator`` only.
ChunkKernel = Callable[[int, int, np.random.Generator], np.ndarray]


# ----------------------------------------------------------------------------------------------------
# The chunk runner
# ----------------------------------------------------------------------------------------------------


def check_threads(n_threads: object) -> int | None:
    """Validate an ``n_threads`` argument: an int ``>= 1``, or ``None`` (:func:`default_threads` at run
    time). Results never depend on it."""
    if n_threads is None:
        return None
    return check_int("n_threads", n_threads, min=1)


def default_threads() -> int:
    """Threads used for chunked work: ``$STOCHDEPTH_NUM_THREADS`` if set, else the CPU count."""
    env = os.environ.get("STOCHDEPTH_NUM_THREADS")
    if env:
        try:
            value = int(env)
        except ValueError:
            raise ValueError(f"STOCHDEPTH_NUM_THREADS must be a positive int, got {env!r}") from None
        if value < 1:
            raise ValueError(f"STOCHDEPTH_NUM_THREADS must be a positive int, got {env!r}")
        return value
    return max(1, os.cpu_count() or 1)


def _resolve(executor: object, n_threads: int | None) -> tuple[Any, int]:
    """The executor to use (explicit, else the active :func:`~stochdepth.executors.use_executor`, else
    threads) and the worker count for local pools."""
    threads = check_threads(n_threads) or default_threads()
    chosen = check_executor(executor) if executor is not None else current_executor()
    return chosen, threads


def map_chunks(
    fn: Callable[[int, int, np.random.Generator], T],
    rng: RNGLike,
    n_items: int,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_threads: int | None = None,
    executor: ExecutorLike = None,
) -> list[T]:
    """Apply ``fn(start, stop, generator)`` to every chunk and return the results in chunk order.

    Chunks (:func:`stochdepth.random.chunk_generators`) run on a thread pool by default (useful when
    ``fn`` releases the GIL, as stochdepth's numba kernels do), or on ``executor``: ``"processes"``, a
    ``concurrent.futures.Executor``, a ``dask.distributed.Client`` or a scheduler address
    (:mod:`stochdepth.executors`). The output is identical for every ``n_threads`` and executor.
    """
    chosen, threads = _resolve(executor, n_threads)
    jobs = chunk_generators(rng, n_items, chunk_size)
    if chosen is None and len(jobs) <= 1:
        threads = 1
    return list(ordered_results(fn, jobs, chosen, min(threads, max(1, len(jobs)))))


# ----------------------------------------------------------------------------------------------------
# Observables
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Observable:
    """A named function of the state, applied at every recorded time.

    Parameters
    ----------
    name : str
        Key of the observable in results.
    fn : callable
        ``fn(states)`` with ``states`` of shape ``(..., *state_shape)`` returning values of shape
        ``(..., *out_shape)`` (vectorised numpy; the leading axes are paths and times).
    """

    name: str
    fn: Callable[[np.ndarray], np.ndarray] = field(repr=False)

    def __call__(self, states: np.ndarray) -> np.ndarray:
        return np.asarray(self.fn(states), dtype=float)


def as_observables(
    observe: Observable | Sequence[Observable] | Mapping[str, Callable[[np.ndarray], np.ndarray]] | None,
    default: Sequence[Observable],
) -> tuple[Observable, ...]:
    """Normalise an ``observe`` argument: one observable, a sequence, or a ``{name: fn}`` mapping."""
    if observe is None:
        obs: tuple[Observable, ...] = tuple(default)
    elif isinstance(observe, Observable):
        obs = (observe,)
    elif isinstance(observe, Mapping):
        for k, f in observe.items():
            if not isinstance(k, str) or not callable(f):
                raise TypeError("observe as a mapping must map str names to callables")
        obs = tuple(Observable(k, f) for k, f in observe.items())
    elif isinstance(observe, Iterable) and not isinstance(observe, (str, bytes)):
        obs = tuple(observe)
        if not all(isinstance(o, Observable) for o in obs):
            raise TypeError("observe must hold Observable objects")
    else:
        raise TypeError(
            f"observe must be an Observable, a sequence of them or a mapping name -> function, "
            f"got {type(observe).__name__}"
        )
    if len(obs) == 0:
        raise ValueError("observe must name at least one observable")
    names = [o.name for o in obs]
    if len(set(names)) != len(names):
        raise ValueError(f"observe has duplicate names: {names}")
    return obs


# ----------------------------------------------------------------------------------------------------
# Reducers
# ----------------------------------------------------------------------------------------------------


class Reducer:
    """Base class: a mergeable summary of observed values of shape ``(m, *shape)``.

    Subclasses implement :meth:`start` (an empty partial summary), :meth:`update` (fold one chunk,
    returning the new partial), :meth:`merge` (combine two partials, left before right) and
    :meth:`finish` (the user-facing result). :meth:`calibrate` may look at the first chunk's values to
    fix settings (e.g. a histogram range) before any partial is started.
    """

    key: str = "reducer"
    #: The fewest paths the summary is defined for (checked by :func:`run_observed` before any work).
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


# ----------------------------------------------------------------------------------------------------
# Results and the driver
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Observed(Result):
    """What was recorded of one observable: the reducers' results, by kind.

    Attributes
    ----------
    name : str
    times : ndarray
        Recorded times (depth-time ``t`` for SDEs and networks; the layer index is ``t * L``).
    samples : ndarray or None
        ``(n_paths, n_times, *out_shape)`` when :class:`Samples` was requested.
    moments, histogram, quantiles : results or None
    """

    name: str
    times: np.ndarray
    samples: np.ndarray | None = None
    moments: MomentsResult | None = None
    histogram: HistogramResult | None = None
    quantiles: QuantilesResult | None = None


class ObservedResult(Result):
    """Mixin of the simulators' results that hold an ``observed`` mapping name -> summary.

    ``res[name]`` is ``res.observed[name]`` (a ``KeyError`` lists the names), and the ``repr`` lists
    the observed names instead of printing the summaries (declare the field with ``repr=False``).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        own = "__repr__" in cls.__dict__
        super().__init_subclass__(**kwargs)
        if not own:
            cls.__repr__ = ObservedResult.__repr__  # type: ignore[method-assign]

    def __getitem__(self, name: str) -> Any:
        observed = self.observed  # type: ignore[attr-defined]
        try:
            return observed[name]
        except KeyError:
            raise KeyError(f"no observable {name!r}; observed: {list(observed)}") from None

    def __repr__(self) -> str:
        text = Result.__repr__(self)
        return text[: -len("\n)")] + f"\n  observed = {list(self.observed)}  (res[name])\n)"  # type: ignore[attr-defined]


def run_observed(
    kernel: ChunkKernel,
    rng: RNGLike,
    n_paths: int,
    times: np.ndarray,
    observables: Sequence[Observable],
    reducers: Sequence[Reducer],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_threads: int | None = None,
    what: str = "simulation",
    progress: Callable[[int], None] | None = None,
    executor: ExecutorLike = None,
) -> dict[str, Observed]:
    """Run ``kernel`` over path chunks, apply observables, reduce, and merge in chunk order.

    Parameters
    ----------
    kernel : callable
        ``kernel(start, stop, generator)`` returns the states at the recorded times of paths
        ``start..stop-1``, shape ``(stop - start, len(times), *state_shape)``.
    rng, n_paths, chunk_size, n_threads
        As in :func:`map_chunks`.
    times : ndarray
        The recorded times (stored in the results).
    observables, reducers
        Already normalised (:func:`as_observables`, :func:`as_reducers`).
    what : str
        Used in the error raised when states are not finite.
    progress : callable or None
        Called with the number of paths of each chunk, in chunk order, as its partial summaries are
        merged (e.g. a tqdm ``update``).
    executor : optional
        Where chunks run: threads (default), ``"processes"``, a ``concurrent.futures.Executor``, a
        ``dask.distributed.Client`` or a scheduler address (:mod:`stochdepth.executors`; ``None``: the
        active :func:`~stochdepth.executors.use_executor`, else threads). Results are bitwise identical
        for every choice.

    Raises
    ------
    NumericalError
        If a state or an observable value is NaN or infinite.
    """
    n_paths = check_int("n_paths", n_paths, min=1)
    for reducer in reducers:
        if n_paths < reducer.min_paths:
            raise ValueError(
                f"n_paths must be >= {reducer.min_paths} for the reducer {type(reducer).__name__}(), "
                f"got {n_paths}"
            )
    chosen, threads = _resolve(executor, n_threads)
    jobs = chunk_generators(rng, n_paths, check_chunk_size(chunk_size))
    threads = min(threads, len(jobs))

    # The first chunk calibrates reducers that need a look at the data (auto ranges) and returns them;
    # the other chunks are then scheduled with the calibrated reducers. Partials are merged into one
    # accumulator in chunk order as they arrive (``ordered_results`` keeps a bounded window in flight):
    # memory stays bounded by a few chunks whatever n_paths, and the sequence of merges (hence every bit
    # of the result) is the same for any number of threads and any executor.
    first = functools.partial(_first_chunk, kernel, tuple(observables), tuple(reducers), what)
    ((cal, acc),) = ordered_results(first, jobs[:1], chosen, 1)
    if progress is not None:
        progress(jobs[0][1] - jobs[0][0])
    rest = functools.partial(_chunk_partials, kernel, tuple(observables), cal, what)
    for (a, b, _), part in zip(jobs[1:], ordered_results(rest, jobs[1:], chosen, threads)):
        for name, rs in cal.items():
            acc[name] = [r.merge(x, y) for r, x, y in zip(rs, acc[name], part[name])]
        if progress is not None:
            progress(b - a)

    results = {}
    for o in observables:
        rs = cal[o.name]
        fields = {r.key: r.finish(x) for r, x in zip(rs, acc[o.name])}
        results[o.name] = Observed(name=o.name, times=np.asarray(times, dtype=float), **fields)
    return results


def _observe(observables: Sequence[Observable], what: str, states: np.ndarray) -> dict[str, np.ndarray]:
    check_finite_result(f"{what} states", states)
    out = {}
    for o in observables:
        vals = o(states)
        if vals.shape[:2] != states.shape[:2]:
            raise ValueError(
                f"observable {o.name!r} must keep the leading (path, time) axes "
                f"{states.shape[:2]}, returned shape {vals.shape}"
            )
        check_finite_result(f"observable {o.name!r}", vals)
        out[o.name] = vals
    return out


def _fold(values: dict[str, np.ndarray], cal: dict[str, list[Reducer]]) -> dict[str, list[Any]]:
    return {
        name: [r.update(r.start(values[name].shape[1:]), values[name]) for r in rs]
        for name, rs in cal.items()
    }


def _first_chunk(
    kernel: ChunkKernel,
    observables: Sequence[Observable],
    reducers: Sequence[Reducer],
    what: str,
    a: int,
    b: int,
    g: np.random.Generator,
) -> tuple[dict[str, list[Reducer]], dict[str, list[Any]]]:
    """Task of the first chunk: its partials and the reducers calibrated on its values."""
    values = _observe(observables, what, kernel(a, b, g))
    cal = {o.name: [r.calibrate(values[o.name]) for r in reducers] for o in observables}
    return cal, _fold(values, cal)


def _chunk_partials(
    kernel: ChunkKernel,
    observables: Sequence[Observable],
    cal: dict[str, list[Reducer]],
    what: str,
    a: int,
    b: int,
    g: np.random.Generator,
) -> dict[str, list[Any]]:
    """Task of one chunk: a pure function of its bounds and generator state (safe to rerun)."""
    return _fold(_observe(observables, what, kernel(a, b, g)), cal)
