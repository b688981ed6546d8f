"""Offline tasks of stochdepth.nn.data: fixed splits, shapes, dtypes, difficulty, reproducibility, errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from stochdepth.nn import (  # noqa: E402
    Dataset,
    Split,
    gaussian_mixture,
    load_digits,
    load_mnist1d,
    marked_value,
    parity_sequences,
    pointer_chasing,
)


def _check_dataset(ds: Dataset, n_classes: int) -> None:
    assert ds.n_classes == n_classes
    seen = []
    for name in ("train", "val", "test"):
        s = ds.split(name)
        assert isinstance(s, Split)
        assert tuple(s.x.shape[1:]) == ds.input_shape
        assert s.y.dtype == torch.int64
        assert int(s.y.min()) >= 0 and int(s.y.max()) < n_classes
        seen.append(len(s))
    assert all(n > 0 for n in seen)


def test_digits_splits_are_fixed_by_the_seed_and_disjoint(seed):
    a = load_digits(rng=seed)
    b = load_digits(rng=seed, dtype=torch.float64)
    _check_dataset(a, 10)
    assert (
        a.input_shape == (1, 8, 8) and a.train.x.dtype == torch.float32 and b.train.x.dtype == torch.float64
    )
    assert torch.equal(a.test.x.double(), b.test.x)
    assert len(a.train) + len(a.val) + len(a.test) == 1797
    assert float(a.train.x.min()) >= 0.0 and float(a.train.x.max()) <= 1.0
    # disjoint: no image of the test split appears in train (digits holds a few duplicates, so compare
    # the multiset of rows: the union has the full dataset's size)
    rows = torch.cat([a.train.x, a.val.x, a.test.x]).flatten(1).numpy()
    from sklearn.datasets import load_digits as sk

    assert np.array_equal(
        np.sort(rows.sum(1)), np.sort((sk().images / 16.0).reshape(-1, 64).sum(1).astype(np.float32))
    )
    c = load_digits(rng=seed + 1)
    assert not torch.equal(a.train.y, c.train.y)


def test_mnist1d_comes_from_the_generator_and_keeps_numpy_global_state(seed):
    np.random.seed(123)  # noqa: NPY002 - the global state the generator must restore
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    ds = load_mnist1d(200, rng=seed)
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    _check_dataset(ds, 10)
    assert ds.input_shape == (1, 40)
    again = load_mnist1d(200, rng=seed)
    assert torch.equal(ds.train.x, again.train.x)


def test_gaussian_mixture_difficulty_is_the_noise_level(seed):
    ds = gaussian_mixture(600, dim=8, n_classes=3, noise=(0.0, 0.5), rng=seed, dtype="float64")
    _check_dataset(ds, 3)
    d = ds.train.difficulty
    assert d is not None and d.shape == ds.train.y.shape and float(d.min()) >= 0 and float(d.max()) <= 1
    # at difficulty 0 the samples sit on a mode of the unit sphere; the distance grows with difficulty
    radius = ds.train.x.norm(dim=1)
    easy = d < 0.1
    assert torch.allclose(radius[easy], torch.ones_like(radius[easy]), atol=0.06)


def test_parity_sequences_label_is_the_count_in_the_span(seed):
    ds = parity_sequences(300, seq_len=10, min_span=2, max_span=6, modulus=3, rng=seed)
    _check_dataset(ds, 3)
    x = ds.train.x
    assert x.dtype == torch.int64 and int(x.max()) <= 3
    marked = x >= 2
    span = marked.sum(1)
    assert int(span.min()) >= 2 and int(span.max()) <= 6
    # the marked tokens are contiguous
    first = marked.int().argmax(1)
    for i in range(20):
        assert bool(marked[i, first[i] : first[i] + span[i]].all())
    assert torch.equal(((x % 2) * marked).sum(1) % 3, ds.train.y)
    assert torch.allclose(ds.train.difficulty, (span - 2).double() / 4)


def test_pointer_chasing_label_is_the_value_after_k_hops(seed):
    T, V, K = 6, 3, 4
    ds = pointer_chasing(300, seq_len=T, n_values=V, max_hops=K, rng=seed)
    _check_dataset(ds, V)
    x = ds.train.x
    assert x.shape[1] == T + 1 and int(x.max()) < T * V + K + 1
    for i in range(len(ds.train)):
        hops = int(x[i, 0]) - T * V
        ptr, val = (x[i, 1:] // V).tolist(), (x[i, 1:] % V).tolist()
        assert sorted(ptr) == list(range(T))
        pos = 0
        for _ in range(hops):
            pos = ptr[pos]
        assert val[pos] == int(ds.train.y[i])
        assert float(ds.train.difficulty[i]) == hops / K
    assert set(torch.unique(x[:, 0]).tolist()) == {T * V + k for k in range(K + 1)}


def test_pointer_chasing_single_cycle_and_distinct_values(seed):
    T, V, K = 7, 9, 6
    ds = pointer_chasing(
        400, seq_len=T, n_values=V, max_hops=K, single_cycle=True, distinct_values=True, rng=seed
    )
    _check_dataset(ds, V)
    x = ds.train.x
    for i in range(len(ds.train)):
        hops = int(x[i, 0]) - T * V
        ptr, val = (x[i, 1:] // V).tolist(), (x[i, 1:] % V).tolist()
        # one cycle through every position: following the pointers from 0 visits all T before returning
        visited, pos = [0], ptr[0]
        while pos != 0:
            visited.append(pos)
            pos = ptr[pos]
        assert sorted(visited) == list(range(T))
        assert len(set(val)) == T
        pos = 0
        for _ in range(hops):
            pos = ptr[pos]
        assert val[pos] == int(ds.train.y[i])
    # every cyclic order is possible: over many samples, each position follows 0 about equally often
    first = (x[:, 1] // V).numpy()
    counts = np.bincount(first, minlength=T)
    assert counts[0] == 0 and np.all(counts[1:] > 0)


def test_marked_value_label_follows_the_one_marker(seed):
    T, V = 9, 3
    ds = marked_value(600, seq_len=T, n_values=V, rng=seed)
    _check_dataset(ds, V)
    x = ds.train.x
    assert x.shape[1] == T + 1 and torch.all(x[:, 0] == V + 1)  # the classification token
    assert torch.all((x[:, 1:] == V).sum(1) == 1) and torch.all(x[:, 1:] < V + 1)
    p = (x == V).int().argmax(dim=1)
    assert int(p.min()) >= 1 and int(p.max()) <= T - 1
    assert torch.equal(x[torch.arange(len(p)), p + 1], ds.train.y)
    assert torch.allclose(ds.train.difficulty, (p - 1).double() / (T - 2))
    # every distance occurs (1 .. T-1 over 360 training samples; each has probability 1/8)
    assert set(p.tolist()) == set(range(1, T))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: gaussian_mixture(10, n_classes=4), "split would hold"),
        (lambda: load_mnist1d(30), "split would hold"),
        (lambda: parity_sequences(100, val_fraction=0.6, test_fraction=0.5), "val_fraction"),
        (lambda: gaussian_mixture(100, noise=(0.5, 0.1)), "noise"),
        (lambda: parity_sequences(100, seq_len=4, max_span=5), "max_span"),
        (lambda: load_digits(dtype=torch.float16), "dtype"),
        (lambda: pointer_chasing(100, max_hops=0), "max_hops"),
        (lambda: pointer_chasing(100, seq_len=4, max_hops=4, single_cycle=True), "max_hops"),
        (lambda: pointer_chasing(100, seq_len=8, n_values=4, distinct_values=True), "n_values"),
        (lambda: load_digits(device="nonsense"), "device"),
        (lambda: marked_value(100, seq_len=2), "seq_len"),
        (lambda: marked_value(100, n_values=1), "n_values"),
    ],
)
def test_bad_arguments_raise_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_pointer_chasing_flags_must_be_bools():
    with pytest.raises(TypeError, match="single_cycle"):
        pointer_chasing(100, single_cycle=1)
    with pytest.raises(TypeError, match="distinct_values"):
        pointer_chasing(100, distinct_values="yes")


def test_split_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="first axis"):
        Split(torch.zeros(3, 2), torch.zeros(4, dtype=torch.int64))
    ds = gaussian_mixture(100)
    with pytest.raises(ValueError, match="split"):
        ds.split("validation")
    assert ds.train.to("cpu").x.device.type == "cpu"
