"""Early-exit models of stochdepth.nn: the ExitOutputs contract, the equations, training steps, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _nn_testing import DEVICES  # noqa: E402

from stochdepth.nn import (  # noqa: E402
    ConvResNet,
    EarlyExitModel,
    ExitOutputs,
    NeuralODE,
    ResidualMLP,
    SequenceTransformer,
)

DTYPES = [torch.float32, torch.float64]


def _models(seed: int, dtype, device, halting: bool = False):
    """(model, input batch) for every architecture, tiny."""
    g = torch.Generator().manual_seed(seed)
    common = dict(halting=halting, rng=seed, dtype=dtype, device=device)
    return [
        (
            ResidualMLP(12, 8, 3, 4, **common),
            torch.randn(5, 12, generator=g, dtype=dtype).to(device),
        ),
        (
            ConvResNet(2, 3, spatial_dims=1, channels=4, depth=2, **common),
            torch.randn(5, 2, 11, generator=g, dtype=dtype).to(device),
        ),
        (
            ConvResNet(1, 3, spatial_dims=2, channels=4, depth=3, input_exit=True, **common),
            torch.randn(5, 1, 6, 7, generator=g, dtype=dtype).to(device),
        ),
        (
            SequenceTransformer(4, 2, max_len=9, d_model=8, n_heads=2, depth=2, **common),
            torch.randint(0, 4, (5, 9), generator=g).to(device),
        ),
        (
            NeuralODE(6, 5, 3, n_steps=4, noise=0.2, **common),
            torch.randn(5, 6, generator=g, dtype=dtype).to(device),
        ),
    ]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("halting", [False, True])
def test_every_model_returns_the_contract(seed, device, dtype, halting):
    for model, x in _models(seed, dtype, device, halting):
        assert isinstance(model, EarlyExitModel)
        out = model(x)
        assert isinstance(out, ExitOutputs)
        L = model.n_exits
        assert out.logits.shape == (L, 5, model.n_classes)
        assert out.logits.dtype == dtype and out.logits.device.type == device
        assert len(out.hidden) == L and all(h.shape[0] == 5 for h in out.hidden)
        assert out.residual_norms.shape == (L, 5) and bool((out.residual_norms >= 0).all())
        assert out.flops.shape == (L,) and bool((out.flops.diff() > 0).all()) and float(out.flops[0]) > 0
        assert (out.halting_logits is not None) == halting
        # the residual norm of exit l is the norm of h_l - h_{l-1} (where both exits read a state)
        for l in range(1, L):
            a, b = out.hidden[l - 1], out.hidden[l]
            if a.shape == b.shape:
                want = (b - a).flatten(1).norm(dim=1)
                torch.testing.assert_close(out.residual_norms[l], want, rtol=1e-4, atol=1e-5)


def test_the_seed_fixes_the_initial_network_and_training_moves_the_loss(seed):
    for (m1, x), (m2, _) in zip(_models(seed, torch.float64, "cpu"), _models(seed, torch.float64, "cpu")):
        for p1, p2 in zip(m1.state_dict().values(), m2.state_dict().values()):
            assert torch.equal(p1, p2)
        if isinstance(m1, NeuralODE):
            m1.noise = 0.0  # a deterministic loss to compare (the noise has its own test)
        y = torch.arange(x.shape[0]) % m1.n_classes
        opt = torch.optim.SGD(m1.parameters(), lr=0.1)

        def loss_fn(model=m1, x=x, y=y):
            return sum(torch.nn.functional.cross_entropy(z, y) for z in model(x).logits)

        first = loss_fn().item()
        for _ in range(5):
            opt.zero_grad()
            loss_fn().backward()
            opt.step()
        assert loss_fn().item() < first


def test_residual_mlp_is_the_a1_network_with_its_heads(seed):
    model = ResidualMLP(5, 7, 4, 3, activation="tanh", t1=2.0, input_exit=True, rng=seed, dtype=torch.float64)
    assert math.isclose(model.branch_scale.item(), math.sqrt(2.0 / 4))
    x = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    out = model(x)
    h = x @ model.input_map.weight.T
    torch.testing.assert_close(out.hidden[0], h)
    for l, w in enumerate(model.blocks, start=1):
        h = h + model.branch_scale * torch.tanh(h) @ w.weight.T
        torch.testing.assert_close(out.hidden[l], h)
        head = model.heads.exits[l]
        torch.testing.assert_close(out.logits[l], h @ head.weight.T + head.bias)
    # A1 scaling of the initial weights: W_l entries have variance 1/n
    w = torch.stack([b.weight for b in model.blocks])
    assert abs(w.var().item() * 7 - 1) < 5 * math.sqrt(2 / w.numel())


def test_neural_ode_records_the_path_and_its_noise_follows_the_generator(seed):
    model = NeuralODE(3, 4, 2, n_steps=5, noise=0.5, rng=seed, dtype=torch.float64)
    x = torch.randn(7, 3, dtype=torch.float64)
    a = model(x, generator=torch.Generator().manual_seed(seed))
    b = model(x, generator=torch.Generator().manual_seed(seed))
    assert len(a.hidden) == 6 and torch.equal(a.hidden[-1], b.hidden[-1])
    torch.testing.assert_close(model.times, torch.linspace(0, 1, 6, dtype=torch.float64))
    model.noise = 0.0
    c = model(x)
    h = c.hidden[0]
    for k in range(5):
        h = h + 0.2 * model.vector_field(h, k * 0.2)
        torch.testing.assert_close(c.hidden[k + 1], h)
    shared = c.logits[2]
    head = model.heads.exits[0]
    torch.testing.assert_close(shared, c.hidden[2] @ head.weight.T + head.bias)


def test_bad_inputs_raise_before_any_work(seed):
    mlp = ResidualMLP(4, 4, 2, 2, rng=seed)
    with pytest.raises(TypeError, match="dtype"):
        mlp(torch.zeros(2, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="features"):
        mlp(torch.zeros(2, 5))
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        mlp([[0.0] * 4])
    with pytest.raises(ValueError, match="device"):
        mlp(torch.zeros(2, 4, device="meta"))
    conv = ConvResNet(1, 2, spatial_dims=2, channels=4, depth=1, rng=seed)
    with pytest.raises(ValueError, match="shape"):
        conv(torch.zeros(2, 1, 8))
    with pytest.raises(ValueError, match="pool_size"):
        conv(torch.zeros(2, 1, 1, 8))
    tr = SequenceTransformer(3, 2, max_len=4, d_model=4, n_heads=2, depth=1, rng=seed)
    with pytest.raises(TypeError, match="int64"):
        tr(torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"token ids"):
        tr(torch.full((2, 4), 3))
    with pytest.raises(ValueError, match="max_len"):
        tr(torch.zeros(2, 5, dtype=torch.int64))


def test_window_bounds_how_far_a_token_reaches_per_layer(seed):
    # with window w, a token k positions from the first can change the first token's state (what a
    # readout="first" exit reads) only from layer ceil(k / w) on; without a window, from layer 1
    w, depth, T = 2, 3, 9
    model = SequenceTransformer(5, 2, max_len=T, d_model=8, n_heads=2, depth=depth, window=w, rng=seed)
    full = SequenceTransformer(5, 2, max_len=T, d_model=8, n_heads=2, depth=depth, rng=seed)
    x = torch.as_tensor(np.random.default_rng(seed).integers(0, 5, (4, T)))
    for k in range(1, T):
        y = x.clone()
        y[:, k] = (y[:, k] + 1) % 5
        with torch.no_grad():
            a, b = model(x).hidden, model(y).hidden
            c, d = full(x).hidden, full(y).hidden
        moved = [not torch.allclose(a[l][:, 0], b[l][:, 0]) for l in range(depth)]
        assert moved == [l + 1 >= -(-k // w) for l in range(depth)], (k, moved)
        assert not torch.allclose(c[0][:, 0], d[0][:, 0])


@pytest.mark.parametrize(
    ("call", "err", "match"),
    [
        (lambda: ResidualMLP(4, 4, 0, 2), ValueError, "depth"),
        (lambda: ResidualMLP(4, 4, 2, 2, halting=1), TypeError, "halting"),
        (lambda: ResidualMLP(4, 4, 2, 2, activation="nonsense"), ValueError, "nonsense"),
        (lambda: ResidualMLP(4, 4, 2, 2, dtype=torch.float16), ValueError, "dtype"),
        (lambda: ConvResNet(1, 2, spatial_dims=3), ValueError, "spatial_dims"),
        (lambda: ConvResNet(1, 2, kernel_size=4), ValueError, "kernel_size"),
        (lambda: ConvResNet(1, 2, pool_size=0), ValueError, "pool_size"),
        (lambda: SequenceTransformer(3, 2, max_len=4, d_model=6, n_heads=4), ValueError, "n_heads"),
        (lambda: SequenceTransformer(3, 2, max_len=4, d_model=4, n_heads=2, window=0), ValueError, "window"),
        (lambda: NeuralODE(3, 3, 2, noise=-1.0), ValueError, "noise"),
        (lambda: NeuralODE(3, 3, 2, device="cuda:99"), ValueError, "device"),
    ],
)
def test_bad_options_raise_naming_the_parameter(call, err, match):
    with pytest.raises(err, match=match):
        call()
