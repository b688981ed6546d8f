"""Reproducible random streams.

Every stochastic function of stochdepth takes an ``rng`` argument and normalises it here, in one place.
Accepted values (:data:`RNGLike`):

* ``None`` -- fresh OS entropy (not reproducible);
* an ``int`` (or a sequence of ints) -- a seed;
* a :class:`numpy.random.SeedSequence`;
* a :class:`numpy.random.Generator` -- entropy is *drawn* from it, so two calls with the same generator
  give different (but reproducible) results, as users expect from a generator.

Parallel work is split into fixed-size chunks (:func:`chunk_bounds`); chunk ``i`` always gets the ``i``-th
child of one :class:`~numpy.random.SeedSequence` (:func:`chunk_streams`). A result therefore depends on
the seed and the chunk size only, never on the number of threads or the order in which chunks finish
(:func:`stochdepth.montecarlo.map_chunks` runs them and returns bitwise-identical results for any
``n_threads``). The streams are made lazily, as the chunks are consumed, so the memory of a run does not
grow with its number of chunks (``10**12`` paths cost no more to start than ``10**3``).

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

The lazy streams are the same numbers, made one chunk at a time:

>>> from stochdepth.random import chunk_streams
>>> lazy = chunk_streams(7, 10**15, chunk_size=4096)     # nothing is spawned yet
>>> len(lazy)
244140625000
>>> a, b, gen = next(iter(lazy))
>>> (a, b), bool(gen.standard_normal() == chunk_generators(7, 4096)[0][2].standard_normal())
((0, 4096), True)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ._checks import check_int, check_rng

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "ChunkStreams",
    "RNGLike",
    "as_generator",
    "as_seed_sequence",
    "check_chunk_size",
    "chunk_bounds",
    "chunk_generators",
    "chunk_streams",
    "count_chunks",
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


def count_chunks(n_items: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """Number of chunks of :func:`chunk_bounds` (without listing them)."""
    n_items = check_int("n_items", n_items, min=0)
    return -(-n_items // check_chunk_size(chunk_size, DEFAULT_CHUNK_SIZE))


def chunk_bounds(n_items: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[tuple[int, int]]:
    """Split ``range(n_items)`` into consecutive ``[start, stop)`` chunks of ``chunk_size`` items
    (the last one may be shorter)."""
    n_items = check_int("n_items", n_items, min=0)
    chunk_size = check_chunk_size(chunk_size, DEFAULT_CHUNK_SIZE)
    return [(s, min(s + chunk_size, n_items)) for s in range(0, n_items, chunk_size)]


def chunk_generators(
    rng: RNGLike, n_items: int, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> list[tuple[int, int, np.random.Generator]]:
    """Chunks of :func:`chunk_bounds`, each with its own generator (the ``i``-th spawned child), as a
    list (:func:`chunk_streams` makes the same ones lazily)."""
    return list(chunk_streams(rng, n_items, chunk_size))


#: Children spawned at a time by :class:`ChunkStreams` (bounds the memory of the stream state).
_SPAWN_BLOCK = 256


class ChunkStreams:
    """The chunks ``(start, stop, generator)`` of ``n_items`` items, made lazily and in order.

    Chunk ``i`` gets the ``i``-th child of the seed sequence, exactly as ``spawn(n_chunks)`` would give
    it (so results match those of :func:`chunk_generators`), but children are spawned a block of
    ``256`` at a time as the iteration reaches them: memory and start-up time do not depend on the
    number of chunks. ``rng`` is normalised (and a ``Generator`` advanced) when the object is made, so
    bad input fails before any work. One pass only: iterating again raises ``RuntimeError`` (a second
    pass over a user's seed sequence would draw new children).
    """

    def __init__(self, rng: RNGLike, n_items: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        self.n_items = check_int("n_items", n_items, min=0)
        self.chunk_size = check_chunk_size(chunk_size, DEFAULT_CHUNK_SIZE)
        self._seed = as_seed_sequence(rng)
        self._used = False

    def __len__(self) -> int:
        return -(-self.n_items // self.chunk_size)

    def __iter__(self) -> Iterator[tuple[int, int, np.random.Generator]]:
        if self._used:
            raise RuntimeError("ChunkStreams is a single pass: make a new one to iterate again")
        self._used = True
        return self._chunks()

    def _chunks(self) -> Iterator[tuple[int, int, np.random.Generator]]:
        n, size, left = self.n_items, self.chunk_size, len(self)
        start = 0
        while left:
            block = self._seed.spawn(min(_SPAWN_BLOCK, left))
            left -= len(block)
            for ss in block:
                yield start, min(start + size, n), np.random.Generator(_BitGenerator(ss))
                start += size


def chunk_streams(rng: RNGLike, n_items: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ChunkStreams:
    """The chunks of :func:`chunk_bounds` with their generators, made lazily (:class:`ChunkStreams`)."""
    return ChunkStreams(rng, n_items, chunk_size)
