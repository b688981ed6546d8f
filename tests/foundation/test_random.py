"""Tests of stochdepth.random: seed normalisation, spawning, chunking."""

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


def test_chunk_size_checks():
    """The shared check of every chunked simulator: None means the default, anything else an int >= 1."""
    assert sdr.check_chunk_size(None) == sdr.DEFAULT_CHUNK_SIZE
    assert sdr.check_chunk_size(None, 64) == 64
    assert sdr.check_chunk_size(np.int64(7)) == 7
    with pytest.raises(ValueError, match="chunk_size must be an int >= 1, got 0"):
        sdr.check_chunk_size(0)
    with pytest.raises(TypeError, match="chunk_size must be an int"):
        sdr.check_chunk_size(2.0)
    with pytest.raises(ValueError, match="n must be an int >= 0"):
        sdr.spawn(0, -1)
