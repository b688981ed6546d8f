"""The exact finite-depth log-norm walk of the linear network (docs/science.md §A4, general h = t1 / L).

* The numba kernel replays the slow python reference path by path (same draws, same order).
* E xi = 1 + h exactly (E (1 + c g)^2 = 1 + c^2, E c^2 chi2_{n-1} = (n - 1) c^2, c^2 = h / n), hence
  E exp(2 log_ratio_l) = (1 + h)^l: checked at 5 standard errors.
* In law, the walk equals log(|Y_l| / |Y_0|) of the full linear network (both samplers), jointly at the
  recorded layers' marginals: KS tests at every recorded layer, Holm-adjusted p > 1e-6.
* Log domain: a horizon at which the full network overflows (NumericalError) is fine for the walk.
"""

from __future__ import annotations

import numpy as np
import pytest
from _network_testing import holm_min_adjusted, ks_pvalue

from stochdepth import NumericalError
from stochdepth.networks import (
    ExactLaw,
    ExplicitWeights,
    log_norms,
    sample_linear_log_norm,
    sample_network,
    squared_norms,
)
from stochdepth.random import chunk_generators
from stochdepth.testing import ALPHA
from stochdepth.testing.references import reference_log_norm_walk


@pytest.mark.parametrize(("width", "depth", "t1"), [(5, 7, 1.0), (1, 4, 2.0), (2, 3, 30.0)])
def test_walk_kernel_matches_reference(seed, width, depth, t1):
    layers = [0, 2, depth]
    walk = sample_linear_log_norm(width, depth, n_paths=50, t1=t1, record=layers, rng=seed, chunk_size=50)
    (_, _, gen), *_ = chunk_generators(seed, 50, 50)
    ref = reference_log_norm_walk(width, depth, t1, np.array(layers), 50, gen)
    np.testing.assert_allclose(walk.log_ratio, ref, rtol=1e-12, atol=1e-14)
    assert np.all(walk.log_ratio[:, 0] == 0.0)
    np.testing.assert_allclose(walk.times, t1 * np.array(layers) / depth)


@pytest.mark.parametrize(("width", "depth", "t1"), [(8, 16, 1.0), (1, 10, 1.0), (3, 5, 4.0)])
def test_walk_mean_square_ratio(seed, width, depth, t1):
    walk = sample_linear_log_norm(width, depth, n_paths=50000, t1=t1, record=[1, depth // 2, depth], rng=seed)
    ratio2 = np.exp(2.0 * walk.log_ratio)
    exact = walk.exact_mean_square_ratio
    np.testing.assert_allclose(exact, (1.0 + t1 / depth) ** walk.layers, rtol=1e-13)
    se = ratio2.std(axis=0, ddof=1) / np.sqrt(walk.n_paths)
    assert np.all(np.abs(ratio2.mean(axis=0) - exact) < 5.0 * se)
    np.testing.assert_allclose(walk.mean, walk.log_ratio.mean(axis=0))
    assert np.all(walk.stderr[1:] > 0)


@pytest.mark.parametrize("sampler", [ExactLaw(), ExplicitWeights()], ids=lambda s: s.name)
@pytest.mark.parametrize(("width", "depth", "t1"), [(3, 10, 1.5), (1, 6, 1.0), (6, 4, 1.0)])
def test_walk_equals_full_linear_network_in_law(seed, sampler, width, depth, t1):
    layers = [0, 1, depth // 2, depth]
    n = 20000
    walk = sample_linear_log_norm(width, depth, n_paths=n, t1=t1, record=layers, rng=seed)
    net = sample_network(
        [0.3, -1.0, 2.0],
        width,
        depth,
        "linear",
        n_paths=n,
        sampler=sampler,
        t1=t1,
        record=layers,
        observe=log_norms(),
        rng=seed + 1,
    )
    ln = net["log_norms"].samples[:, :, 0]
    ratio = ln - ln[:, :1]
    pvalues = {f"layer {l}": ks_pvalue(walk.log_ratio[:, j], ratio[:, j]) for j, l in enumerate(layers) if l}
    adjusted, worst = holm_min_adjusted(pvalues)
    assert adjusted > ALPHA, f"{worst}: p = {pvalues[worst]:.3g}"


def test_walk_is_log_domain_where_the_network_overflows(seed):
    """Huge horizons. Per layer |Y| grows by about sqrt(1 + h) (h = t1 / L):

    * t1 = 1e4, L = 200 (h = 50): |Y_L| ~ 51^100 ~ 1e170. The states are finite (the Gram factor is
      formed at a power-of-two scale), ``log_norms`` is finite, but ``squared_norms`` overflows and the
      sampler raises NumericalError instead of returning inf;
    * t1 = 1e6, L = 200 (h = 5000): |Y_L| ~ 1e370 overflows the states themselves: NumericalError with
      both samplers. The walk lives in the log domain and stays finite.
    """
    x = [1.0, 2.0]
    ok = sample_network(x, 4, 200, "linear", n_paths=10, t1=1e4, rng=seed, observe=log_norms())
    assert np.all(ok["log_norms"].samples[:, -1] > np.log(1e100))
    with pytest.raises(NumericalError, match="squared_norms"):
        sample_network(x, 4, 200, "linear", n_paths=10, t1=1e4, rng=seed, observe=squared_norms())
    for sampler in (ExactLaw(), ExplicitWeights()):
        with pytest.raises(NumericalError, match="states"):
            sample_network(x, 4, 200, "linear", n_paths=4, t1=1e6, rng=seed, sampler=sampler)
    with pytest.raises(NumericalError, match="states"):
        sample_network(np.ones((2, 3)), 4, 200, "linear", n_paths=4, t1=1e6, rng=seed)
    walk = sample_linear_log_norm(4, 200, n_paths=100, t1=1e6, rng=seed)
    assert np.all(np.isfinite(walk.log_ratio))
    # E log xi ~ log(h / n) + E log chi2_n = 8.24 here: mean log-ratio ~ 100 * 8.24 = 824 > log(1e308) = 709
    assert walk.mean[-1] > np.log(1e308)


def test_walk_reproducible_across_threads(seed):
    kw = dict(n_paths=5000, t1=1.0, record=[0, 3, 9], rng=seed, chunk_size=700)
    a = sample_linear_log_norm(4, 9, n_threads=1, **kw)
    b = sample_linear_log_norm(4, 9, n_threads=3, **kw)
    np.testing.assert_array_equal(a.log_ratio, b.log_ratio)
    c = sample_linear_log_norm(4, 9, **{**kw, "rng": seed + 1})
    assert not np.array_equal(a.log_ratio, c.log_ratio)


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        (dict(width=0, depth=3, n_paths=2), ValueError, "width"),
        (dict(width=2, depth=0, n_paths=2), ValueError, "depth"),
        (dict(width=2, depth=3, n_paths=0), ValueError, "n_paths"),
        (dict(width=2.0, depth=3, n_paths=2), TypeError, "width"),
        (dict(width=2, depth=3, n_paths=2, t1=0.0), ValueError, "t1"),
        (dict(width=2, depth=3, n_paths=2, t1=np.inf), ValueError, "t1"),
        (dict(width=2, depth=3, n_paths=2, record=[0, 4]), ValueError, r"\[0, depth\]"),
        (dict(width=2, depth=3, n_paths=2, record=[0.5]), TypeError, "integer layer indices"),
        (dict(width=2, depth=3, n_paths=2, record=[]), ValueError, "non-empty"),
        (dict(width=2, depth=3, n_paths=2, chunk_size=0), ValueError, "chunk_size"),
        (dict(width=2, depth=3, n_paths=2, n_threads=0), ValueError, "n_threads"),
    ],
)
def test_walk_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        sample_linear_log_norm(**kwargs)
