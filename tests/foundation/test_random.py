"""Tests of stochdepth.random: seed normalisation, spawning, chunking and thread-independence."""

from __future__ import annotations

import numpy as np
import pytest

from stochdepth import random as sdr


def test_int_seed_is_reproducible(seed):
    a = sdr.as_generator(seed).standard_normal(5)
    b = sdr.as_generator(seed).standard_normal(5)
    np.testing.assert_array_equal(a, b)
    c = sdr.as_generator(seed + 1).standard_normal(5)
    assert not np.array_equal(a, c)


def test_seed_sequence_and_sequence_of_ints(seed):
    ss = np.random.SeedSequence(seed)
    assert sdr.as_seed_sequence(ss) is ss
    a = sdr.as_generator([seed, 3]).random(3)
    b = sdr.as_generator(np.random.SeedSequence([seed, 3])).random(3)
    np.testing.assert_array_equal(a, b)


def test_generator_is_advanced_not_copied(seed):
    """Passing the same Generator twice gives different but reproducible seed sequences."""
    g1 = np.random.default_rng(seed)
    g2 = np.random.default_rng(seed)
    s1, s2 = sdr.as_seed_sequence(g1), sdr.as_seed_sequence(g1)
    assert s1.entropy != s2.entropy
    assert sdr.as_seed_sequence(g2).entropy == s1.entropy
    gen = np.random.default_rng(seed)
    assert sdr.as_generator(gen) is gen


def test_none_gives_fresh_entropy():
    assert sdr.as_seed_sequence(None).entropy != sdr.as_seed_sequence(None).entropy


@pytest.mark.parametrize("bad", [True, 1.5, "7", -3, [1, -2], [], object()])
def test_bad_rng(bad):
    with pytest.raises((TypeError, ValueError), match="rng"):
        sdr.as_seed_sequence(bad)


def test_chunk_bounds_cover_range():
    assert sdr.chunk_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert sdr.chunk_bounds(0, 4) == []
    with pytest.raises(ValueError, match="chunk_size"):
        sdr.chunk_bounds(5, 0)
    with pytest.raises(ValueError, match="n_items"):
        sdr.chunk_bounds(-1)


def test_spawned_chunks_are_independent_streams(seed):
    jobs = sdr.chunk_generators(seed, 3 * 7, 7)
    draws = [g.standard_normal(1000) for _, _, g in jobs]
    # distinct streams: no two chunks share values
    assert len({d[0] for d in draws}) == 3
    # correlation between streams is that of independent samples (|r| < 5/sqrt(1000))
    r = np.corrcoef(draws)[np.triu_indices(3, 1)]
    assert np.all(np.abs(r) < 5 / np.sqrt(1000))


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_map_chunks_independent_of_thread_count(seed, threads):
    def fn(a, b, g):
        return a, g.standard_normal(b - a)

    ref = sdr.map_chunks(fn, seed, 50, chunk_size=8, n_threads=1)
    out = sdr.map_chunks(fn, seed, 50, chunk_size=8, n_threads=threads)
    assert [a for a, _ in out] == [0, 8, 16, 24, 32, 40, 48]
    for (_, x), (_, y) in zip(ref, out):
        np.testing.assert_array_equal(x, y)


def test_default_threads_env(monkeypatch):
    monkeypatch.setenv("STOCHDEPTH_NUM_THREADS", "3")
    assert sdr.default_threads() == 3
    monkeypatch.setenv("STOCHDEPTH_NUM_THREADS", "zero")
    with pytest.raises(ValueError, match="STOCHDEPTH_NUM_THREADS"):
        sdr.default_threads()
    monkeypatch.delenv("STOCHDEPTH_NUM_THREADS")
    assert sdr.default_threads() >= 1


def test_map_chunks_bad_threads(seed):
    with pytest.raises(ValueError, match="n_threads must be an int >= 1, got 0"):
        sdr.map_chunks(lambda a, b, g: 0, seed, 10, chunk_size=2, n_threads=0)
    with pytest.raises(TypeError, match="n_threads must be an int"):
        sdr.map_chunks(lambda a, b, g: 0, seed, 10, chunk_size=2, n_threads=1.5)


def test_chunk_size_and_threads_checks():
    """The shared checks of every chunked simulator: None means the default (resolved at run time for
    threads), anything else an int >= 1."""
    assert sdr.check_chunk_size(None) == sdr.DEFAULT_CHUNK_SIZE
    assert sdr.check_chunk_size(None, 64) == 64
    assert sdr.check_chunk_size(np.int64(7)) == 7
    assert sdr.check_threads(None) is None and sdr.check_threads(3) == 3
    with pytest.raises(ValueError, match="chunk_size must be an int >= 1, got 0"):
        sdr.check_chunk_size(0)
    with pytest.raises(TypeError, match="chunk_size must be an int"):
        sdr.check_chunk_size(2.0)
    with pytest.raises(TypeError, match="n_threads must be an int"):
        sdr.check_threads(True)
    with pytest.raises(ValueError, match="n must be an int >= 0"):
        sdr.spawn(0, -1)
