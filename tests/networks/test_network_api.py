"""API of stochdepth.networks: argument validation, results, reproducibility, observables, docstrings."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import stochdepth.networks as nw
from stochdepth import NumericalError
from stochdepth.activations import RELU, TANH
from stochdepth.montecarlo import Histogram, Moments, Observable
from stochdepth.networks import (
    ExactLaw,
    ExplicitWeights,
    NetworkSample,
    active_counts,
    dead,
    gram,
    log_norms,
    neuron,
    post_squared_norms,
    preactivations,
    sample_network,
    squared_norms,
)

X = np.array([[1.0, 0.5], [-0.3, 2.0], [0.7, 0.0]])

# ----------------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------------

GOOD = dict(x=X, width=3, depth=4, n_paths=5)


@pytest.mark.parametrize(
    ("changes", "err", "match"),
    [
        (dict(width=0), ValueError, "width must be an int >= 1, got 0"),
        (dict(width=2.5), TypeError, "width must be an int"),
        (dict(depth=0), ValueError, "depth must be an int >= 1"),
        (dict(depth=True), TypeError, "depth must be an int"),
        (dict(n_paths=0), ValueError, "n_paths must be an int >= 1"),
        (dict(x=np.array([1.0, np.nan])), ValueError, "x must be finite"),
        (dict(x=np.array([[1.0, np.inf]])), ValueError, "x must be finite"),
        (dict(x=1.0), ValueError, "x must have 1 or 2 dimension"),
        (dict(x=np.ones((2, 2, 2))), ValueError, "x must have 1 or 2 dimension"),
        (dict(x=np.ones(0)), ValueError, "x must hold at least 1"),
        (dict(x=np.ones((3, 0))), ValueError, "x must hold at least 1"),
        (dict(x=np.ones((0, 3))), ValueError, "x must hold at least 1"),
        (dict(x=["a", "b"]), TypeError, "x must be a real numeric array"),
        (dict(activation="swish"), ValueError, "activation must be one of"),
        (dict(activation=3), TypeError, "activation must be a str"),
        (dict(sampler="exact"), TypeError, "sampler must be a NetworkSampler"),
        (dict(sampler=ExactLaw), TypeError, "sampler must be a NetworkSampler"),
        (dict(t1=0.0), ValueError, "t1 must be > 0"),
        (dict(t1=-1.0), ValueError, "t1 must be > 0"),
        (dict(t1=np.nan), ValueError, "t1 must be finite"),
        (dict(t1="1"), TypeError, "t1 must be a real number"),
        (dict(record=[0, 5]), ValueError, r"record must hold layer indices in \[0, depth\] = \[0, 4\]"),
        (dict(record=[-1, 2]), ValueError, r"record must hold layer indices in \[0, depth\]"),
        (dict(record=[]), ValueError, "record must be an int or a non-empty 1-d"),
        (dict(record=[[0, 1]]), ValueError, "record must be an int or a non-empty 1-d"),
        (dict(record=[0.5, 2.0]), TypeError, "record must hold integer layer indices"),
        (dict(record=[True, False]), TypeError, "record must hold integer"),
        (dict(chunk_size=0), ValueError, "chunk_size"),
        (dict(n_threads=0), ValueError, "n_threads"),
        (dict(observe="norms"), TypeError, "observe"),
        (dict(observe=[squared_norms(), squared_norms()]), ValueError, "duplicate"),
        (dict(reduce="moments"), TypeError, "reduce"),
        (dict(rng=-1), ValueError, "rng"),
    ],
)
def test_sample_network_bad_input(changes, err, match):
    kwargs = {**GOOD, **changes}
    x = kwargs.pop("x")
    width = kwargs.pop("width")
    depth = kwargs.pop("depth")
    with pytest.raises(err, match=match):
        sample_network(x, width, depth, **kwargs)


@pytest.mark.parametrize(
    ("make", "err", "match"),
    [
        (lambda: ExactLaw(rtol=1.0), ValueError, "rtol"),
        (lambda: ExactLaw(rtol=-0.1), ValueError, "rtol"),
        (lambda: ExplicitWeights(batch_size=0), ValueError, "batch_size"),
        (lambda: neuron(-1), ValueError, "i must be an int >= 0"),
        (lambda: neuron(1.0), TypeError, "i must be an int"),
        (lambda: post_squared_norms("nope"), ValueError, "activation"),
        (lambda: dead(None), TypeError, "activation"),
        (lambda: squared_norms(name=""), TypeError, "name"),
    ],
)
def test_constructor_bad_input(make, err, match):
    with pytest.raises(err, match=match):
        make()


def test_neuron_index_beyond_width():
    with pytest.raises(ValueError, match="neuron index i must be < width = 3"):
        sample_network(X, 3, 2, n_paths=2, observe=neuron(3), rng=0)


def test_bad_observable_output_is_rejected():
    def inverse(s):
        with np.errstate(divide="ignore"):
            return 1.0 / s.sum(-2)

    with pytest.raises(NumericalError, match="observable 'inv'"):
        sample_network(np.zeros(2), 3, 2, n_paths=2, observe={"inv": inverse}, rng=0)


# ----------------------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------------------


def test_result_fields_and_shapes(seed):
    res = sample_network(
        X, 6, 8, "tanh", n_paths=30, t1=2.0, record=[0, 2, 8],
        observe=[squared_norms(), gram(), gram("tanh"), neuron(5), active_counts()], rng=seed,
    )  # fmt: skip
    assert isinstance(res, NetworkSample)
    np.testing.assert_array_equal(res.layers, [0, 2, 8])
    np.testing.assert_allclose(res.times, [0.0, 0.5, 2.0])
    assert (res.width, res.depth, res.t1, res.activation) == (6, 8, 2.0, "tanh")
    assert (res.n_inputs, res.input_dim, res.n_paths, res.sampler) == (2, 3, 30, "exact_law")
    assert res.chunk_size == nw.default_chunk_size(6, 2, 3)
    assert res["squared_norms"].samples.shape == (30, 3, 2)
    assert res["gram"].samples.shape == (30, 3, 2, 2)
    assert res["post_gram"].samples.shape == (30, 3, 2, 2)
    assert res["neuron_5"].samples.shape == (30, 3, 2)
    np.testing.assert_allclose(res["gram"].times, res.times)
    with pytest.raises(KeyError, match="observed"):
        res["nope"]
    text = repr(res)
    assert text.startswith("NetworkSample(") and "width = 6" in text


def test_default_record_observe_and_sampler(seed):
    res = sample_network([1.0, 2.0], 4, 5, n_paths=7, rng=seed)
    assert res.activation == "relu" and res.sampler == "exact_law"
    np.testing.assert_array_equal(res.layers, [0, 5])
    assert res["preactivations"].samples.shape == (7, 2, 4, 1)
    res = sample_network([1.0, 2.0], 4, 5, n_paths=7, record=3, rng=seed)
    np.testing.assert_array_equal(res.layers, [3])
    # the record rule of every simulator: sorted, duplicates removed, integer-valued floats accepted
    res = sample_network([1.0, 2.0], 4, 5, n_paths=7, record=[5, 2.0, 2], rng=seed)
    np.testing.assert_array_equal(res.layers, [2, 5])
    assert res["preactivations"].samples.shape == (7, 2, 4, 1)


def test_reducers_and_mean(seed):
    res = sample_network(
        X, 4, 5, "relu", n_paths=600, observe=squared_norms(), reduce=[Moments(), Histogram(bins=10)],
        rng=seed, chunk_size=128,
    )  # fmt: skip
    obs = res["squared_norms"]
    assert obs.samples is None and obs.moments.n == 600
    assert obs.histogram.counts.shape == (2, 2, 10)
    mean, se = res.mean("squared_norms")
    assert mean.shape == se.shape == (2, 2) and np.all(se > 0)
    res = sample_network(X, 4, 5, n_paths=50, observe=squared_norms(), reduce=Histogram(bins=5), rng=0)
    with pytest.raises(ValueError, match="without samples or moments"):
        res.mean("squared_norms")


# ----------------------------------------------------------------------------------------------------
# reproducibility
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", [ExactLaw(), ExplicitWeights(batch_size=7)], ids=lambda s: s.name)
def test_reproducible_for_any_thread_count(seed, sampler):
    kw = dict(n_paths=300, sampler=sampler, record=[0, 3, 6], observe=squared_norms(), chunk_size=64)
    a = sample_network(X, 5, 6, "relu", rng=seed, n_threads=1, **kw)
    b = sample_network(X, 5, 6, "relu", rng=seed, n_threads=3, **kw)
    c = sample_network(X, 5, 6, "relu", rng=np.random.SeedSequence(seed), n_threads=2, **kw)
    np.testing.assert_array_equal(a["squared_norms"].samples, b["squared_norms"].samples)
    np.testing.assert_array_equal(a["squared_norms"].samples, c["squared_norms"].samples)
    d = sample_network(X, 5, 6, "relu", rng=seed + 1, **kw)
    assert not np.array_equal(a["squared_norms"].samples, d["squared_norms"].samples)


def test_recording_fewer_layers_gives_the_same_states(seed):
    """The draws depend on the last recorded layer only (later layers are not computed): recording a
    subset with the same last layer returns a subset of the states."""
    for sampler in (ExactLaw(), ExplicitWeights()):
        kw = dict(n_paths=40, sampler=sampler, observe=preactivations(), rng=seed, chunk_size=40)
        full = sample_network(X, 3, 6, "tanh", record=list(range(7)), **kw)["preactivations"].samples
        part = sample_network(X, 3, 6, "tanh", record=[1, 4, 6], **kw)["preactivations"].samples
        np.testing.assert_array_equal(full[:, [1, 4, 6]], part)


def test_explicit_weights_is_the_literal_network(seed):
    """One explicit-weight network replayed by hand from the chunk generator (batch of 1)."""
    from stochdepth.random import chunk_generators

    width, depth, t1 = 4, 3, 1.7
    res = sample_network(
        X, width, depth, "relu", n_paths=2, t1=t1, sampler=ExplicitWeights(batch_size=1),
        record=[0, 1, 2, 3], observe=preactivations(), rng=seed, chunk_size=2,
    )  # fmt: skip
    (_, _, gen), *_ = chunk_generators(seed, 2, 2)
    for net in range(2):
        w_in = gen.standard_normal((width, 3)) / np.sqrt(3)
        y = w_in @ X
        states = [y]
        for _ in range(depth):
            w = gen.standard_normal((width, width)) / np.sqrt(width)
            y = y + np.sqrt(t1 / depth) * (w @ np.maximum(y, 0.0))
            states.append(y)
        np.testing.assert_allclose(
            res["preactivations"].samples[net], np.stack(states), rtol=1e-12, atol=1e-14
        )


# ----------------------------------------------------------------------------------------------------
# observables
# ----------------------------------------------------------------------------------------------------


def test_observables_on_known_states():
    rng = np.random.default_rng(0)
    s = rng.standard_normal((4, 3, 5, 2))  # (paths, times, width, k)
    s[0, 0, :, 1] = -np.abs(s[0, 0, :, 1])  # a dead ReLU column
    np.testing.assert_allclose(squared_norms()(s), np.sum(s**2, axis=-2))
    np.testing.assert_allclose(log_norms()(s), 0.5 * np.log(np.sum(s**2, axis=-2)), rtol=1e-14)
    np.testing.assert_allclose(post_squared_norms(RELU)(s), np.sum(np.maximum(s, 0) ** 2, axis=-2))
    np.testing.assert_allclose(post_squared_norms("tanh")(s), np.sum(np.tanh(s) ** 2, axis=-2))
    np.testing.assert_allclose(gram()(s), np.einsum("ptna,ptnb->ptab", s, s) / 5)
    np.testing.assert_allclose(gram(TANH)(s), np.einsum("ptna,ptnb->ptab", np.tanh(s), np.tanh(s)) / 5)
    np.testing.assert_array_equal(active_counts()(s), np.sum(s > 0, axis=-2))
    np.testing.assert_array_equal(neuron(3)(s), s[..., 3, :])
    d = dead("relu")(s)
    assert d[0, 0, 1] == 1.0 and d.sum() == 1.0
    assert preactivations()(s).shape == s.shape
    assert isinstance(gram(name="g2"), Observable) and gram(name="g2").name == "g2"


def test_log_norms_beyond_the_square_overflow():
    s = np.full((1, 1, 4, 1), 1e200)
    np.testing.assert_allclose(log_norms()(s), np.log(2e200), rtol=1e-14)
    s = np.full((1, 1, 4, 1), 1e-200)
    np.testing.assert_allclose(log_norms()(s), np.log(2e-200), rtol=1e-14)
    assert np.isinf(squared_norms()(np.full((1, 1, 4, 1), 1e200))).all()


# ----------------------------------------------------------------------------------------------------
# docstring examples
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module",
    [nw.sampling, nw.lognorm, nw.observables, nw.spec],
    ids=lambda m: m.__name__,
)
def test_docstring_examples(module):
    failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failures == 0 and tried > 0


def test_inputs_are_not_modified(seed):
    """The input factor rescales a copy of x by a power of two; the caller's array is left alone."""
    for x in (np.array([3.0, -5.0, 0.25]), np.array([[3.0, 1.0], [-5.0, 2.0]]), np.array([[3.0], [7.0]])):
        before = x.copy()
        sample_network(x, 3, 2, n_paths=2, rng=seed)
        sample_network(x, 3, 2, n_paths=2, sampler=ExplicitWeights(), rng=seed)
        nw.sample_input_layer(x, 3, 2, seed)
        np.testing.assert_array_equal(x, before)
