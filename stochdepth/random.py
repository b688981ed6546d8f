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
the seed and the chunk size only, never on the number of threads or the order in which chunks finish
(:func:`stochdepth.montecarlo.map_chunks` runs them and returns bitwise-identical results for any
``n_threads``).

The bit generator of the spawned streams is :class:`numpy.random.SFC64`, the fastest of numpy's bit
generators for normal variates on x86-64; numba kernels draw from these generators directly.

Examples
--------
>>> from stochdepth.random import chunk_generators
>>> jobs = chunk_generators(7, 10_000, chunk_size=4096)
>>> [(a, b) for a, b, _ in jobs]
[(0, 4096), (4096, 8192), (8192, 10000)]
>>> again = chunk_generators(7, 10_000, chunk_size=4096)
>>> bool(jobs[2][2].standard_normal() == again[2][2].standard_normal())
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._checks import check_int, check_rng

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "RNGLike",
    "as_generator",
    "as_seed_sequence",
    "check_chunk_size",
    "chunk_bounds",
    "chunk_generators",
    "spawn",
]

RNGLike = None | int | np.integer | Sequence[int] | np.random.SeedSequence | np.random.Generator

#: Paths per chunk of parallel Monte Carlo work. Part of the definition of a result: changing it changes
#: the random numbers each path receives (but not the law).
DEFAULT_CHUNK_SIZE = 4096

_BitGenerator = np.random.SFC64


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
    check_rng(rng)
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(rng.integers(0, 2**32, size=8, dtype=np.uint64).tolist())
    if rng is None:
        return np.random.SeedSequence()
    if isinstance(rng, (int, np.integer)):
        return np.random.SeedSequence(int(rng))
    return np.random.SeedSequence([int(v) for v in rng])


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
