"""The Monte Carlo engine stochdepth.montecarlo: streaming reducers, the chunk runner and run_observed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from stochdepth import NumericalError
from stochdepth import montecarlo as mc
from stochdepth.montecarlo import (
    Histogram,
    Moments,
    Observable,
    Quantiles,
    Samples,
    as_observables,
    as_reducers,
    run_observed,
)


def _fold(reducer, chunks):
    acc = None
    for c in chunks:
        part = reducer.update(reducer.start(c.shape[1:]), c)
        acc = part if acc is None else reducer.merge(acc, part)
    return reducer.finish(acc)


def test_moments_against_numpy(seed):
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, size=(5000, 3, 2)) + 10.0  # skewed, offset: exercises the centred updates
    chunks = np.split(x, [1, 7, 1000, 3333])
    m = _fold(Moments(), chunks)
    np.testing.assert_allclose(m.mean, x.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(m.var, x.var(axis=0, ddof=1), rtol=1e-11)
    np.testing.assert_allclose(m.stderr, np.sqrt(x.var(axis=0, ddof=1) / 5000), rtol=1e-11)
    np.testing.assert_allclose(m.skewness, stats.skew(x, axis=0, bias=True), rtol=1e-9)
    np.testing.assert_allclose(m.kurtosis, stats.kurtosis(x, axis=0, fisher=False, bias=True), rtol=1e-9)
    assert m.n == 5000 and m.std.shape == (3, 2)
    with pytest.raises(ValueError, match="at least 2"):
        _fold(Moments(), [x[:1]])


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=3, max_size=6), st.integers(0, 2**31))
def test_moments_merge_is_associative(sizes, s):
    rng = np.random.default_rng(s)
    parts = [rng.standard_t(5, size=(k, 2)) * 3 + 1 for k in sizes]
    r = Moments()
    p = [r.update(r.start((2,)), c) for c in parts]
    left = p[0]
    for q in p[1:]:
        left = r.merge(left, q)
    right = p[-1]
    for q in reversed(p[:-1]):
        right = r.merge(q, right)
    allx = np.concatenate(parts)
    for a, b in zip(left[1:], right[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9 * (1 + np.abs(allx).max() ** 4))
    assert left[0] == right[0] == len(allx)


def test_histogram_counts(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3000, 2))
    h = _fold(Histogram(bins=17, range=(-1.5, 2.0)), np.split(x, [10, 2000]))
    for j in range(2):
        ref, _ = np.histogram(x[:, j], bins=17, range=(-1.5, 2.0))
        np.testing.assert_array_equal(h.counts[j], ref - (np.arange(17) == 16) * np.sum(x[:, j] == 2.0))
        assert h.underflow[j] == np.sum(x[:, j] < -1.5) and h.overflow[j] == np.sum(x[:, j] >= 2.0)
    assert h.n == 3000
    np.testing.assert_allclose((h.density() * np.diff(h.edges)).sum(axis=-1) * 3000, h.counts.sum(axis=-1))
    # auto range from the first chunk, NaN and infinities never land in a bin
    auto = Histogram(bins=8).calibrate(x[:100])
    assert auto.range[0] < x[:100].min() and auto.range[1] > x[:100].max()
    odd = Histogram(bins=4, range=(0.0, 1.0))
    part = odd.update(odd.start(()), np.array([np.nan, np.inf, -np.inf, 0.5]))
    assert part[0].tolist() == [0, 0, 1, 0] and part[1] == 1 and part[2] == 1
    with pytest.raises(ValueError, match="range"):
        Histogram(range=(1.0, 0.0))
    with pytest.raises(ValueError, match="bins"):
        Histogram(bins=0)


def test_quantiles_within_stated_bound(seed):
    rng = np.random.default_rng(seed)
    n = 10_007  # p * n is never an integer for the probabilities below
    x = rng.lognormal(size=(n, 2))
    probs = (0.01, 0.05, 0.3, 0.5, 0.9, 0.99)
    q = Quantiles(probs=probs, bins=2000)
    q = q.calibrate(x[:500])
    res = _fold(q, np.split(x, [500, 5000]))
    emp = np.quantile(x, probs, axis=0, method="inverted_cdf")
    ok = ~np.isnan(res.values)
    assert ok[1:-1].all()
    assert np.all(np.abs(res.values[ok] - emp[ok]) <= res.max_error * (1 + 1e-9))
    assert res.max_error == pytest.approx((q.range[1] - q.range[0]) / 2000)
    with pytest.raises(ValueError, match="probs"):
        Quantiles(probs=(0.0, 0.5))


def test_samples_keep_order(seed):
    x = np.random.default_rng(seed).normal(size=(50, 2))
    np.testing.assert_array_equal(_fold(Samples(), np.split(x, [3, 20])), x)


def test_normalisers():
    o = as_observables({"a": np.sin}, [])
    assert o[0].name == "a"
    with pytest.raises(ValueError, match="duplicate"):
        as_observables([Observable("a", np.sin), Observable("a", np.cos)], [])
    with pytest.raises(ValueError, match="at least one"):
        as_observables([], [])
    with pytest.raises(TypeError):
        as_observables({"a": 1}, [])
    with pytest.raises(TypeError):
        as_observables([np.sin], [])
    assert isinstance(as_reducers(None)[0], Samples)
    with pytest.raises(ValueError, match="same kind"):
        as_reducers([Moments(), Moments()])
    with pytest.raises(TypeError):
        as_reducers([])


def _kernel(a, b, gen):
    return gen.normal(size=(b - a, 2, 3))


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_run_observed_matches_direct_computation(threads, seed):
    """Many chunks merged in order through the bounded window give the values of one big array."""
    obs = [Observable("x", lambda s: s), Observable("sq", lambda s: (s**2).sum(axis=-1))]
    out = run_observed(
        _kernel,
        seed,
        1000,
        np.array([0.0, 1.0]),
        obs,
        (Samples(), Moments()),
        chunk_size=37,
        n_threads=threads,
    )
    ref = run_observed(
        _kernel, seed, 1000, np.array([0.0, 1.0]), obs, (Samples(), Moments()), chunk_size=37, n_threads=1
    )
    x = out["x"].samples
    assert x.shape == (1000, 2, 3)
    np.testing.assert_array_equal(x, ref["x"].samples)
    np.testing.assert_array_equal(out["sq"].moments.var, ref["sq"].moments.var)
    np.testing.assert_allclose(out["sq"].moments.mean, (x**2).sum(axis=-1).mean(axis=0), rtol=1e-12)


def test_run_observed_errors(seed):
    def bad_kernel(a, b, gen):
        out = gen.normal(size=(b - a, 1, 1))
        if a > 0:
            out[0, 0, 0] = np.nan
        return out

    with pytest.raises(NumericalError, match="states"):
        run_observed(
            bad_kernel,
            seed,
            100,
            np.array([0.0]),
            [Observable("x", lambda s: s)],
            (Moments(),),
            chunk_size=10,
            n_threads=2,
        )


def test_run_observed_first_chunk_failure_does_not_hang(seed):
    """Chunks wait for the first one's calibration; if it fails, they fail too instead of waiting."""

    def kernel(a, b, gen):
        if a == 0:
            raise RuntimeError("boom")
        return gen.normal(size=(b - a, 1, 1))

    obs = [Observable("x", lambda s: s)]
    with pytest.raises(RuntimeError, match="boom"):
        run_observed(kernel, seed, 100, np.array([0.0]), obs, (Quantiles(),), chunk_size=10, n_threads=3)
    with pytest.raises(ValueError, match="n_paths must be an int >= 1"):
        run_observed(kernel, seed, 0, np.array([0.0]), obs, (Moments(),))


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_map_chunks_independent_of_thread_count(seed, threads):
    def fn(a, b, g):
        return a, g.standard_normal(b - a)

    ref = mc.map_chunks(fn, seed, 50, chunk_size=8, n_threads=1)
    out = mc.map_chunks(fn, seed, 50, chunk_size=8, n_threads=threads)
    assert [a for a, _ in out] == [0, 8, 16, 24, 32, 40, 48]
    for (_, x), (_, y) in zip(ref, out):
        np.testing.assert_array_equal(x, y)


def test_default_threads_env(monkeypatch):
    monkeypatch.setenv("STOCHDEPTH_NUM_THREADS", "3")
    assert mc.default_threads() == 3
    monkeypatch.setenv("STOCHDEPTH_NUM_THREADS", "zero")
    with pytest.raises(ValueError, match="STOCHDEPTH_NUM_THREADS"):
        mc.default_threads()
    monkeypatch.delenv("STOCHDEPTH_NUM_THREADS")
    assert mc.default_threads() >= 1


def test_map_chunks_bad_threads(seed):
    with pytest.raises(ValueError, match="n_threads must be an int >= 1, got 0"):
        mc.map_chunks(lambda a, b, g: 0, seed, 10, chunk_size=2, n_threads=0)
    with pytest.raises(TypeError, match="n_threads must be an int"):
        mc.map_chunks(lambda a, b, g: 0, seed, 10, chunk_size=2, n_threads=1.5)


def test_check_threads():
    """None means the default (resolved at run time), anything else an int >= 1."""
    assert mc.check_threads(None) is None and mc.check_threads(3) == 3
    with pytest.raises(TypeError, match="n_threads must be an int"):
        mc.check_threads(True)


def test_docstring_examples():
    import doctest

    result = doctest.testmod(mc, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


@given(st.integers(1, 70), st.lists(st.integers(1, 9), min_size=1, max_size=20))
def test_pairwise_tree_does_not_depend_on_grouping(n, cuts):
    """Leaves folded in any contiguous groups, each group's nodes pushed into one tree, give the same
    merge expression as every leaf pushed one by one (the property that makes Dask's grouped tasks
    bitwise identical to threads)."""
    from stochdepth.executors import PairwiseTree

    def merge(a, b):
        return f"({a}{b})"

    whole = PairwiseTree(merge)
    for i in range(n):
        whole.push(i, 1, chr(48 + i))
    joined, start = PairwiseTree(merge), 0
    for cut in [*cuts, n] * n:
        stop = min(n, start + cut)
        part = PairwiseTree(merge)
        for i in range(start, stop):
            part.push(i, 1, chr(48 + i))
        for node in part.nodes():
            joined.push(*node)
        start = stop
        if start == n:
            break
    assert joined.result() == whole.result()
    assert whole.result().count("(") == n - 1  # a binary tree: n - 1 merges
    assert len(whole.nodes()) == bin(n).count("1")  # the pending nodes: one per binary digit of n


def test_pairwise_tree_refuses_a_gap():
    from stochdepth.executors import PairwiseTree

    tree = PairwiseTree(lambda a, b: a + b)
    tree.push(0, 1, 1)
    with pytest.raises(ValueError, match="does not follow"):
        tree.push(2, 1, 1)
    with pytest.raises(ValueError, match="nothing"):
        PairwiseTree(lambda a, b: a + b).result()
