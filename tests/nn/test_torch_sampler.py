"""sample_torch_network / TorchExplicitWeights: the batched torch sampler is the network of docs/science.md
§A1.

* Path by path: the states equal a slow numpy reference that replays the documented draw order one
  network at a time (so the batched kernel computes A1 literally, with W_in ~ N(0, 1/d), W_l ~ N(0, 1/n)).
* Reproducibility: bitwise for a seed (CPU), independent of the thread count, changed by the seed.
* The exact discrete identity E|Y_l|^2 = E|Y_{l-1}|^2 + (t1/L) E|phi(Y_{l-1})|^2 (docs/science.md §A3,
derived:
  the cross term has mean zero and E|W phi|^2 = |phi|^2 given the past), at 5 standard errors per layer
  and input, and the same statistic rejects a 25 % error in the branch variance.

The equality in law with the exact-in-law sampler is in test_torch_law.py.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _nn_testing import DEVICES, reference_sample  # noqa: E402

from stochdepth.activations import get_activation  # noqa: E402
from stochdepth.montecarlo import Moments  # noqa: E402
from stochdepth.networks import (  # noqa: E402
    ExactLaw,
    NetworkSample,
    post_squared_norms,
    sample_network,
    squared_norms,
)
from stochdepth.nn import TorchExplicitWeights, sample_torch_network  # noqa: E402
from stochdepth.nn.random_resnet import _accelerator_chunk_size  # noqa: E402

X2 = np.array([[1.0, 0.2], [-0.5, 1.0], [0.3, 0.3]])
X3 = np.array([[1.0, 0.2, -1.0], [-0.5, 1.0, 0.1], [0.3, 0.3, 0.8], [0.0, 1.0, 1.0]])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    ("x", "width", "depth", "act", "t1", "layers", "chunk", "batch"),
    [
        (X2, 4, 5, "relu", 1.0, [0, 2, 5], 7, 3),  # several chunks, several batches, a short last one
        (X3, 3, 4, "tanh", 2.5, [1, 3], 10, 10),  # layer 0 not recorded, last layer not computed
        (np.array([0.7, -1.2]), 5, 3, "gelu", 0.5, [3], 4, 2),  # one input
    ],
)
def test_states_equal_the_slow_reference(x, width, depth, act, t1, layers, chunk, batch, device, seed):
    n = 13
    res = sample_network(
        x,
        width,
        depth,
        act,
        n_paths=n,
        sampler=TorchExplicitWeights(device=device, batch_size=batch),
        t1=t1,
        record=layers,
        rng=seed,
        chunk_size=chunk,
    )
    X = x[:, None] if x.ndim == 1 else x
    ref = reference_sample(
        X, width, depth, get_activation(act), t1, layers, n, seed, chunk, batch, device, torch.float64
    )
    got = res["preactivations"].samples
    assert got.shape == (n, len(layers), width, X.shape[1])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * (1 + np.abs(ref).max()))


@pytest.mark.parametrize("device", DEVICES)
def test_float32_states_equal_the_slow_reference_to_float32_precision(device, seed):
    res = sample_torch_network(
        X2, 6, 8, "tanh", n_paths=9, rng=seed, device=device, dtype=torch.float32, batch_size=4
    )
    assert res.sampler == f"torch_explicit_weights({torch.device(device)}, float32)"
    ref = reference_sample(
        X2, 6, 8, get_activation("tanh"), 1.0, [0, 8], 9, seed, res.chunk_size, 4, device, torch.float32
    )
    # float32 arithmetic on the same normals (the reference works in float64): relative errors of a few
    # float32 ulps per layer, bounded by (d + L (n + 2)) u as in test_random_resnet.py
    u = 2.0**-24
    bound = (3 + 8 * (6 + 2)) * u * np.abs(ref).max()
    assert np.abs(res["preactivations"].samples - ref).max() < bound


@pytest.mark.parametrize("device", DEVICES)
def test_same_seed_same_sample_other_seed_other_sample(device, seed):
    kw = dict(n_paths=40, record=[0, 3, 6], rng=seed, device=device)
    a = sample_torch_network(X2, 5, 6, "relu", **kw)
    b = sample_torch_network(X2, 5, 6, "relu", **kw)
    c = sample_torch_network(X2, 5, 6, "relu", **{**kw, "rng": seed + 1})
    sa, sb, sc = (r["preactivations"].samples for r in (a, b, c))
    if device == "cpu":
        assert np.array_equal(sa, sb)
    else:  # cuBLAS may change the order of a reduction between calls
        np.testing.assert_allclose(sa, sb, rtol=1e-12, atol=1e-12)
    assert not np.allclose(sa, sc)
    # identical inputs go through the same weights: bitwise-identical columns
    twin = sample_torch_network(np.array([[1.0, 1.0], [2.0, 2.0]]), 4, 3, "tanh", **{**kw, "record": [3]})
    s = twin["preactivations"].samples
    assert np.array_equal(s[..., 0], s[..., 1])


def test_result_does_not_depend_on_threads(seed):
    kw = dict(n_paths=50, sampler=TorchExplicitWeights(device="cpu"), rng=seed, chunk_size=8)
    one = sample_network(X2, 4, 5, "tanh", n_threads=1, **kw)
    two = sample_network(X2, 4, 5, "tanh", n_threads=2, **kw)
    assert np.array_equal(one["preactivations"].samples, two["preactivations"].samples)


def test_a_numpy_generator_is_advanced(seed):
    g = np.random.default_rng(seed)
    a = sample_torch_network(X2, 4, 3, n_paths=5, rng=g, device="cpu")
    b = sample_torch_network(X2, 4, 3, n_paths=5, rng=g, device="cpu")
    assert not np.array_equal(a["preactivations"].samples, b["preactivations"].samples)


def test_batch_size_changes_the_draws_not_the_shapes(seed):
    kw = dict(n_paths=12, rng=seed, device="cpu", chunk_size=12)
    a = sample_torch_network(X2, 4, 3, batch_size=12, **kw)
    b = sample_torch_network(X2, 4, 3, batch_size=5, **kw)
    sa, sb = a["preactivations"].samples, b["preactivations"].samples
    assert sa.shape == sb.shape == (12, 2, 4, 2)
    assert not np.array_equal(sa, sb)


def test_accelerator_default_chunk_size():
    # about 16 MiB of float64 recorded states: 2^21 values, at most 65536 networks
    assert _accelerator_chunk_size(4, 2, 2) == 65536
    assert _accelerator_chunk_size(1024, 4, 4) == 2**21 // (1024 * 16)
    assert _accelerator_chunk_size(2**22, 1, 1) == 1


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(
    ("x", "width", "depth", "act", "t1"),
    [(X2, 4, 6, "relu", 1.0), (X3, 3, 4, "tanh", 1.5), (np.array([0.3, -2.0, 1.0]), 6, 5, "linear", 2.0)],
    ids=["relu-n4-L6-k2", "tanh-n3-L4-k3", "linear-n6-L5-k1"],
)
def test_discrete_second_moment_identity(x, width, depth, act, t1, dtype, device, seed):
    r"""E|Y_l|^2 - E|Y_{l-1}|^2 - (t1/L) E|phi(Y_{l-1})|^2 = 0 exactly, for every layer and input.

    Per network, D_l = |Y_l|^2 - |Y_{l-1}|^2 - (t1/L)|phi(Y_{l-1})|^2 has mean 0 (given the past,
    Y_l - Y_{l-1} = sqrt(t1/L) W_l phi(Y_{l-1}) is centred with E|.|^2 = (t1/L)|phi(Y_{l-1})|^2). Its
    Monte Carlo mean must lie within 5 standard errors of 0 for each (l, input).
    Power: the same statistic with a 25 % wrong branch variance, summed over layers, must be > 5 SE away
    (measured over 20 seeds on CPU float64: |z| >= 13.6 for relu, 16.9 for tanh, 33.5 for linear, while
    the largest null |z| was 3.1).
    """
    N = 20000
    res = sample_torch_network(
        x,
        width,
        depth,
        act,
        n_paths=N,
        t1=t1,
        record=list(range(depth + 1)),
        observe=[squared_norms(), post_squared_norms(act)],
        rng=seed,
        device=device,
        dtype=dtype,
    )
    sq = res["squared_norms"].samples  # (N, L + 1, k)
    post = res["post_squared_norms"].samples
    D = sq[:, 1:] - sq[:, :-1] - (t1 / depth) * post[:, :-1]  # (N, L, k)
    z = D.mean(axis=0) / (D.std(axis=0, ddof=1) / np.sqrt(N))
    assert np.all(np.abs(z) < 5), (
        f"max |z| = {np.abs(z).max():.2f} at {np.unravel_index(np.abs(z).argmax(), z.shape)}"
    )
    wrong = (sq[:, 1:] - sq[:, :-1] - 1.25 * (t1 / depth) * post[:, :-1]).sum(axis=1)  # (N, k)
    z_wrong = wrong.mean(axis=0) / (wrong.std(axis=0, ddof=1) / np.sqrt(N))
    assert np.all(np.abs(z_wrong) > 5), f"the identity test has no power here: z = {z_wrong}"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (peak memory counters)")
def test_memory_does_not_grow_with_depth(seed):
    """Only one layer of weights exists at a time: peak GPU memory is the same at depth 8 and 64."""

    def peak(depth: int) -> int:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        sample_torch_network(
            np.ones(3),
            64,
            depth,
            n_paths=256,
            observe=squared_norms(),
            rng=seed,
            device="cuda",
            chunk_size=256,
        )
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated()

    p8, p64 = peak(8), peak(64)
    # one layer of weights is 256 * 64 * 64 * 8 bytes = 8 MiB; all 64 layers at once would be 512 MiB
    assert p8 >= 8 * 2**20
    assert p64 < 1.5 * p8


def test_moments_reducer_and_result_type(seed):
    res = sample_torch_network(
        X2, 4, 4, n_paths=300, observe=squared_norms(), reduce=Moments(), rng=seed, device="cpu"
    )
    assert isinstance(res, NetworkSample)
    mean, se = res.mean("squared_norms")
    assert mean.shape == se.shape == (2, 2) and np.all(se > 0)
    assert res.sampler == "torch_explicit_weights(cpu, float64)"
    assert (res.width, res.depth, res.n_inputs, res.input_dim, res.n_paths) == (4, 4, 2, 3, 300)


def test_sampler_and_exact_law_share_the_api(seed):
    """Validation code can swap samplers: same arguments, same result structure."""
    kw = dict(n_paths=20, record=[0, 2, 4], observe=[squared_norms()], rng=seed)
    a = sample_network(X2, 4, 4, "relu", sampler=ExactLaw(), **kw)
    b = sample_network(X2, 4, 4, "relu", sampler=TorchExplicitWeights(device="cpu"), **kw)
    assert type(a) is type(b)
    assert a["squared_norms"].samples.shape == b["squared_norms"].samples.shape
    assert np.array_equal(a.times, b.times) and a.chunk_size == b.chunk_size


def test_huge_streaming_count_starts_with_small_memory(seed):
    """10^12 torch networks reduced to moments: three chunks run at once, with little memory traced
    (the streams of the other chunks are made lazily); the default Samples() are refused up front."""
    from chunk_budget import ChunkBudget, run_a_few_chunks

    from stochdepth.executors import use_executor
    from stochdepth.networks import squared_norms

    def run(executor, n, **kw):
        with use_executor(executor):
            return sample_torch_network(
                np.ones(3), 4, 4, n_paths=n, rng=seed, device="cpu", chunk_size=256, **kw
            )

    run(None, 512, observe=squared_norms(), reduce=Moments())  # warm-up
    budget = run_a_few_chunks(lambda ex: run(ex, 10**12, observe=squared_norms(), reduce=Moments()))
    assert max(budget.peaks) < 16 * 2**20, budget.peaks
    with pytest.raises(ValueError, match=r"n_paths=1000000000000 would keep the samples"):
        run(ChunkBudget(0), 10**12)


def test_progress_bar_over_chunks(seed, capsys):
    """progress=True shows a bar over the 4 chunks of 64 networks; the default prints nothing."""
    kw = dict(n_paths=256, rng=seed, device="cpu", chunk_size=64)
    sample_torch_network(np.ones(3), 4, 4, progress=True, **kw)
    assert "4/4" in capsys.readouterr().err
    sample_torch_network(np.ones(3), 4, 4, **kw)
    assert capsys.readouterr().err == ""
