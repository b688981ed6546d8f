r"""The Monte Carlo engine: chunked runs, observables and streaming reductions shared by every simulator.

A simulator (an SDE integrator, a random-network sampler, a limit law) runs paths in fixed-size chunks,
each with its own stream spawned from one seed (:mod:`stochdepth.random`); :func:`map_chunks` runs the
chunks on a thread pool and returns their results in chunk order, so a result never depends on the
number of threads. For each chunk it returns the *states at the recorded times* only, an array of
shape ``(m, n_times, *state_shape)``; observables turn those into values ``(m, n_times, *out_shape)`` and
reducers fold the values into a summary. The chunk's states are then dropped, so memory is bounded by one
chunk per thread plus the reducers' summaries, whatever the number of paths.

Reducers (:class:`Samples`, :class:`Moments`, :class:`Histogram`, :class:`Quantiles`) produce per-chunk
partial summaries that are merged in a pairwise tree fixed by the number of chunks
(:class:`~stochdepth.executors.PairwiseTree`), so results are bitwise identical for any number of
threads and any executor. Moments are merged with the pairwise update formulas of Chan, Golub & LeVeque
(1979) and Pébay (2008, Sandia report SAND2008-6212) up to the fourth central moment.

Chunks and their random streams are made lazily (:class:`~stochdepth.random.ChunkStreams`) and only a
bounded window of them is in flight, so with a streaming reducer the memory of a run is flat in the
number of paths. What cannot be streamed (:class:`Samples`, or a result that keeps a record per path) is
refused before the work starts when it would not fit in memory (:func:`check_memory`).

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
from typing import Any, TypeVar

import numpy as np

from ._checks import _positive_env, check_finite_result, check_int, check_memory, memory_limit
from ._results import Result
from .executors import (
    ExecutorLike,
    PairwiseTree,
    check_executor,
    current_executor,
    ordered_results,
    progress_bar,
    tree_reduce,
)
from .random import DEFAULT_CHUNK_SIZE, RNGLike, check_chunk_size, chunk_streams
from .reducers import (
    Histogram,
    HistogramResult,
    Moments,
    MomentsResult,
    Quantiles,
    QuantilesResult,
    Reducer,
    Samples,
    as_reducers,
)

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
    "check_memory",
    "check_threads",
    "default_threads",
    "map_chunks",
    "memory_limit",
    "reduce_chunks",
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
    value = _positive_env("STOCHDEPTH_NUM_THREADS")
    return value if value is not None else max(1, os.cpu_count() or 1)


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
    item_bytes: float = 0.0,
) -> list[T]:
    """Apply ``fn(start, stop, generator)`` to every chunk and return the results in chunk order.

    Chunks (:func:`stochdepth.random.chunk_streams`) run on a thread pool by default (useful when
    ``fn`` releases the GIL, as stochdepth's numba kernels do), or on ``executor``: ``"processes"``, a
    ``concurrent.futures.Executor``, a ``dask.distributed.Client`` or a scheduler address
    (:mod:`stochdepth.executors`). The output is identical for every ``n_threads`` and executor.

    The list holds one result per chunk. A caller that keeps records per item declares their size,
    ``item_bytes`` per item, and a run that would exceed :func:`memory_limit` is refused before any work
    (:func:`check_memory`, naming ``n_paths``); :func:`reduce_chunks` folds results in bounded memory
    instead.
    """
    n_items = check_int("n_items", n_items, min=0)
    check_memory("n_paths", n_items, item_bytes, "a record per path")
    chosen, threads = _resolve(executor, n_threads)
    jobs = chunk_streams(rng, n_items, chunk_size)
    if chosen is None and len(jobs) <= 1:
        threads = 1
    bar = progress_bar(len(jobs), "chunks")
    try:
        out = []
        for result in ordered_results(fn, jobs, chosen, min(threads, max(1, len(jobs)))):
            out.append(result)
            if bar is not None:
                bar.update(1)
        return out
    finally:
        if bar is not None:
            bar.close()


def reduce_chunks(
    fn: Callable[[int, int, np.random.Generator], T],
    merge: Callable[[T, T], T],
    rng: RNGLike,
    n_items: int,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_threads: int | None = None,
    executor: ExecutorLike = None,
) -> T:
    """Fold ``fn(start, stop, generator)`` over every chunk with ``merge``, in bounded memory.

    The chunks' results are combined in the pairwise tree fixed by the number of chunks
    (:class:`~stochdepth.executors.PairwiseTree`; ``merge(left, right)``, left before right), so the
    result is bitwise identical for every ``n_threads`` and executor; memory holds a window of chunks in
    flight and about log2(number of chunks) partial results, whatever ``n_items``.

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.montecarlo import map_chunks, reduce_chunks
    >>> def count(a, b, gen):
    ...     return int(np.count_nonzero(gen.random(b - a) < 0.25))
    >>> hits = reduce_chunks(count, lambda x, y: x + y, 3, 100_000, chunk_size=4096)
    >>> hits == sum(map_chunks(count, 3, 100_000, chunk_size=4096))
    True
    """
    n_items = check_int("n_items", n_items, min=1)
    chosen, threads = _resolve(executor, n_threads)
    jobs = chunk_streams(rng, n_items, chunk_size)
    bar = progress_bar(len(jobs), "chunks")
    try:
        update = bar.update if bar is not None else None
        tree = tree_reduce(fn, merge, jobs, len(jobs), chosen, min(threads, len(jobs)), progress=update)
        return tree.result()
    finally:
        if bar is not None:
            bar.close()


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
    progress: bool | Callable[[int], None] | None = None,
    executor: ExecutorLike = None,
) -> dict[str, Observed]:
    """Run ``kernel`` over path chunks, apply observables, reduce, and merge in a fixed tree.

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
        Used in the error raised when states are not finite, and as the progress bar's label.
    progress : bool, callable or None
        ``True``: a tqdm bar over chunks; ``None``: the ``progress=`` of the calling public function
        (:func:`~stochdepth.executors.accepts_executor`); a callable is called with the number of paths
        of each chunk as its partial summaries are folded.
    executor : optional
        Where chunks run: threads (default), ``"processes"``, a ``concurrent.futures.Executor``, a
        ``dask.distributed.Client`` or a scheduler address (:mod:`stochdepth.executors`; ``None``: the
        active :func:`~stochdepth.executors.use_executor`, else threads). Results are bitwise identical
        for every choice.

    Raises
    ------
    ValueError
        If :class:`Samples` would keep more than :func:`memory_limit` bytes (checked from the number of
        recorded times before any work, and from the observables' output size after the first chunk).
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
    jobs = chunk_streams(rng, n_paths, check_chunk_size(chunk_size))
    n_chunks = len(jobs)
    keeps = sum(isinstance(r, Samples) for r in reducers) * len(observables)
    if keeps:
        check_memory("n_paths", n_paths, 8 * keeps * max(1, len(times)), "the samples (reduce=Samples())")

    # The first chunk calibrates reducers that need a look at the data (auto ranges) and returns them;
    # the other chunks are then folded with the calibrated reducers, as nodes of the tree fixed by the
    # number of chunks (``tree_reduce``: lazy chunks, a bounded window in flight): memory stays bounded
    # whatever n_paths, and every bit of the result is the same for any thread count and executor.
    first = functools.partial(_first_chunk, kernel, tuple(observables), tuple(reducers), what)
    chunks = iter(jobs)
    bar = progress_bar(n_chunks, what, show=None if progress is None else progress is True)
    done = [0]
    try:
        (a0, b0, g0) = next(chunks)
        ((cal, acc),) = ordered_results(first, [(a0, b0, g0)], chosen, 1)
        _check_samples(cal, acc, n_paths, b0 - a0)

        merge = functools.partial(_merge_partials, cal)
        size = check_chunk_size(chunk_size)

        def advance(count: int) -> None:
            if bar is not None:
                bar.update(count)
            for _ in range(count):
                paths = min(size, n_paths - done[0])
                done[0] += paths
                if callable(progress):
                    progress(paths)

        tree = PairwiseTree(merge)
        tree.push(0, 1, acc)
        advance(1)
        rest = functools.partial(_chunk_partials, kernel, tuple(observables), cal, what)
        tree_reduce(
            rest,
            merge,
            chunks,
            n_chunks - 1,
            chosen,
            min(threads, max(1, n_chunks - 1)),
            tree=tree,
            start=1,
            progress=advance,
        )
        acc = tree.result()
    finally:
        if bar is not None:
            bar.close()

    results = {}
    for o in observables:
        rs = cal[o.name]
        fields = {r.key: r.finish(x) for r, x in zip(rs, acc[o.name])}
        results[o.name] = Observed(name=o.name, times=np.asarray(times, dtype=float), **fields)
    return results


def _merge_partials(
    cal: dict[str, list[Reducer]], left: dict[str, list[Any]], right: dict[str, list[Any]]
) -> dict[str, list[Any]]:
    """Merge two nodes of the reduction tree: every observable's reducers, left before right."""
    return {name: [r.merge(u, v) for r, u, v in zip(rs, left[name], right[name])] for name, rs in cal.items()}


def _check_samples(cal: dict[str, list[Reducer]], acc: dict[str, list[Any]], n_paths: int, m: int) -> None:
    """After the first chunk (``m`` paths): refuse :class:`Samples` that would not fit in memory."""
    per_path = sum(
        part[0].size // max(1, m) * 8
        for name, rs in cal.items()
        for r, part in zip(rs, acc[name])
        if isinstance(r, Samples)
    )
    if per_path:
        check_memory("n_paths", n_paths, per_path, "the samples (reduce=Samples())")


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
