"""Reproducible random streams.

Every stochastic function of stochdepth takes an ``rng`` argument and normalises it here, in one place.
Accepted values (:data:`RNGLike`):

* ``None`` -- fresh OS entropy (not reproducible);
* an ``int`` (or a sequence of ints) -- a seed;
* a :class:`numpy.random.SeedSequence`;
* a :class:`numpy.random.Generator` -- entropy is *drawn* from it, so two calls with the same generator
  give different (but reproducible) results, as users expect from a generator.

Parallel work is split into fixed-size chunks (:func:`chunk_bounds`); chunk ``i`` always gets the ``i``-th
child of one :class:`~numpy.random.SeedSequence` (:func:`chunk_generators`). A result therefore depends on
the seed and the chunk size only, never on the number of threads or the order in which chunks finish:
:func:`map_chunks` returns bitwise-identical results for any ``n_threads``.

The bit generator of the spawned streams is :class:`numpy.random.SFC64`, the fastest of numpy's bit
generators for normal variates on x86-64; numba kernels draw from these generators directly.

Examples
--------
>>> from stochdepth.random import map_chunks
>>> def chunk_sum(start, stop, gen):
...     return float(gen.standard_normal(stop - start).sum())
>>> sums = map_chunks(chunk_sum, 7, 10_000, chunk_size=4096, n_threads=2)
>>> len(sums), sums == map_chunks(chunk_sum, 7, 10_000, chunk_size=4096, n_threads=1)
(3, True)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from ._checks import check_int

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "RNGLike",
    "as_generator",
    "as_seed_sequence",
    "check_chunk_size",
    "check_threads",
    "chunk_bounds",
    "chunk_generators",
    "default_threads",
    "map_chunks",
    "spawn",
]

RNGLike = None | int | np.integer | Sequence[int] | np.random.SeedSequence | np.random.Generator

#: Paths per chunk of parallel Monte Carlo work. Part of the definition of a result: changing it changes
#: the random numbers each path receives (but not the law).
DEFAULT_CHUNK_SIZE = 4096

_BitGenerator = np.random.SFC64

T = TypeVar("T")


def as_seed_sequence(rng: RNGLike) -> np.random.SeedSequence:
    """Normalise ``rng`` into a :class:`numpy.random.SeedSequence`.

    Parameters
    ----------
    rng : None, int, sequence of int, SeedSequence or Generator
        See the module docstring. A ``Generator`` is advanced (32 bytes of entropy are drawn from it).

    Raises
    ------
    TypeError
        If ``rng`` is of another type (``bool`` and ``float`` included).
    ValueError
        If an integer seed is negative.
    """
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(rng.integers(0, 2**32, size=8, dtype=np.uint64).tolist())
    if rng is None:
        return np.random.SeedSequence()
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"rng must be None, an int seed, a SeedSequence or a Generator, got bool {rng!r}")
    if isinstance(rng, (int, np.integer)):
        if rng < 0:
            raise ValueError(f"rng must be a non-negative integer seed, got {rng}")
        return np.random.SeedSequence(int(rng))
    if isinstance(rng, Sequence) and not isinstance(rng, (str, bytes)):
        if len(rng) == 0 or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in rng
        ):
            raise ValueError(f"rng as a sequence must hold non-negative ints, got {rng!r}")
        return np.random.SeedSequence([int(v) for v in rng])
    raise TypeError(
        f"rng must be None, an int seed, a SeedSequence or a numpy Generator, got {type(rng).__name__}"
    )


def as_generator(rng: RNGLike) -> np.random.Generator:
    """Normalise ``rng`` into a :class:`numpy.random.Generator`.

    A ``Generator`` is returned unchanged (the caller shares its state); anything else is turned into a
    seed sequence (:func:`as_seed_sequence`) feeding a new SFC64 generator.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.Generator(_BitGenerator(as_seed_sequence(rng)))


def spawn(rng: RNGLike, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent child seed sequences of ``rng`` (deterministic given the seed)."""
    return as_seed_sequence(rng).spawn(check_int("n", n, min=0))


def check_chunk_size(chunk_size: object, default: int = DEFAULT_CHUNK_SIZE) -> int:
    """Validate a ``chunk_size`` argument: an int ``>= 1``, or ``None`` for ``default``.

    Every chunked simulator of the library reads its ``chunk_size`` through this function, so that
    ``None`` means "the function's default" everywhere and the error reads the same.
    """
    if chunk_size is None:
        return default
    return check_int("chunk_size", chunk_size, min=1)


def check_threads(n_threads: object) -> int | None:
    """Validate an ``n_threads`` argument: an int ``>= 1``, or ``None`` (:func:`default_threads` at run
    time). Results never depend on it."""
    if n_threads is None:
        return None
    return check_int("n_threads", n_threads, min=1)


def chunk_bounds(n_items: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[tuple[int, int]]:
    """Split ``range(n_items)`` into consecutive ``[start, stop)`` chunks of ``chunk_size`` items
    (the last one may be shorter)."""
    n_items = check_int("n_items", n_items, min=0)
    chunk_size = check_chunk_size(chunk_size, DEFAULT_CHUNK_SIZE)
    return [(s, min(s + chunk_size, n_items)) for s in range(0, n_items, chunk_size)]


def chunk_generators(
    rng: RNGLike, n_items: int, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> list[tuple[int, int, np.random.Generator]]:
    """Chunks of :func:`chunk_bounds`, each with its own generator (the ``i``-th spawned child)."""
    bounds = chunk_bounds(n_items, chunk_size)
    children = as_seed_sequence(rng).spawn(len(bounds))
    return [(a, b, np.random.Generator(_BitGenerator(ss))) for (a, b), ss in zip(bounds, children)]


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


def map_chunks(
    fn: Callable[[int, int, np.random.Generator], T],
    rng: RNGLike,
    n_items: int,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_threads: int | None = None,
) -> list[T]:
    """Apply ``fn(start, stop, generator)`` to every chunk and return the results in chunk order.

    Chunks run on a thread pool (useful when ``fn`` releases the GIL, as stochdepth's numba kernels do).
    The output is identical for every ``n_threads``.
    """
    threads = check_threads(n_threads) or default_threads()
    jobs = chunk_generators(rng, n_items, chunk_size)
    if threads == 1 or len(jobs) <= 1:
        return [fn(a, b, g) for a, b, g in jobs]
    with ThreadPoolExecutor(max_workers=min(int(threads), len(jobs))) as pool:
        futures = [pool.submit(fn, a, b, g) for a, b, g in jobs]
        return [f.result() for f in futures]
