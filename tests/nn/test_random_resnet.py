"""RandomResNet: the module computes docs/science.md §A1 with its own weights, on every available device.

Checked: forward equals a hand-written float64 loop over the same weights (every built-in activation and
a custom one), the recorded states, the float32 network of a seed is the rounding of the float64 one and
agrees with it to float32 precision, seeds reproduce, weights have the variances 1/d and 1/n, the module
moves between dtypes and differentiates, and overflow raises NumericalError.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _nn_testing import DEVICES, hand_forward  # noqa: E402

from stochdepth import NumericalError  # noqa: E402
from stochdepth.activations import Activation, leaky_relu  # noqa: E402
from stochdepth.nn import RandomResNet  # noqa: E402
from stochdepth.testing import ALPHA  # noqa: E402

CUSTOM = Activation.custom(
    "softsign", lambda v: v / (1.0 + abs(v)), lipschitz=1.0, torch_fn=torch.nn.functional.softsign
)

ACTIVATIONS = ["relu", "tanh", "linear", "gelu", leaky_relu(0.2), CUSTOM]


def _inputs(seed: int, batch: int, d: int, device: str, dtype=torch.float64) -> torch.Tensor:
    x = np.random.default_rng(seed).standard_normal((batch, d))
    return torch.as_tensor(x, dtype=dtype, device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda a: getattr(a, "name", a))
def test_forward_equals_hand_written_loop(activation, device, seed):
    net = RandomResNet(4, 6, 5, activation, t1=1.7, rng=seed, device=device)
    x = _inputs(seed + 1, 3, 4, device)
    y, states = net(x, record=[0, 2, 5])
    ref, ref_states = hand_forward(net, x.cpu().numpy())
    # float64 rounding only: a few ulps per product and layer, against values of order 1
    scale = 1.0 + np.abs(ref).max()
    np.testing.assert_allclose(y.cpu().numpy(), ref, rtol=0, atol=1e-12 * scale)
    for j, l in enumerate([0, 2, 5]):
        np.testing.assert_allclose(states[j].cpu().numpy(), ref_states[l], rtol=0, atol=1e-12 * scale)
    assert torch.equal(net(x), y)  # without record: the same output


@pytest.mark.parametrize("device", DEVICES)
def test_record_shapes_and_batch_axes(device, seed):
    net = RandomResNet(3, 5, 4, "tanh", rng=seed, device=device)
    x = _inputs(seed, 6, 3, device).reshape(2, 3, 3)  # two leading batch axes
    y, states = net(x, record=[1, 4])
    assert y.shape == (2, 3, 5) and states.shape == (2, 2, 3, 5)
    assert torch.equal(states[-1], y)
    # the record rule of every simulator: sorted, duplicates removed
    _, again = net(x, record=[4, 1, 4])
    assert torch.equal(again, states)
    assert net(x[0, 0]).shape == (5,)  # one input, no batch axis
    # rows are independent inputs: the batched output equals the one-by-one outputs
    assert torch.allclose(net(x)[1, 2], net(x[1, 2]), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("device", DEVICES)
def test_float32_network_is_the_rounded_float64_network(device, seed):
    d, n, L = 5, 16, 32
    net64 = RandomResNet(d, n, L, "tanh", rng=seed, device=device, dtype=torch.float64)
    net32 = RandomResNet(d, n, L, "tanh", rng=seed, device=device, dtype=torch.float32)
    assert net32.dtype == torch.float32 and net32.weight.dtype == torch.float32
    assert torch.equal(net32.input_weight, net64.input_weight.to(torch.float32))
    assert torch.equal(net32.weight, net64.weight.to(torch.float32))
    x = _inputs(seed, 8, d, device)
    y64 = net64(x)
    y32 = net32(x.to(torch.float32))
    # Rounding model (Higham, Accuracy and Stability, 2nd ed., section 3.5): each matrix-vector product of
    # length m carries a relative error of at most gamma_m = m u / (1 - m u), u = 2^-24, and each layer
    # adds one more rounding; a residual step has Jacobian I + O(sqrt(t1 / L)), so the L errors add up to
    # at most about L (n + 2) u relative to the state (plus d u from the input layer). The bound below
    # is that estimate (3.5e-5 here); the errors measured are about 2e-7 (seeds 0..4).
    u = 2.0**-24
    bound = (d + L * (n + 2)) * u
    err = (y32.double() - y64).abs().max().item() / y64.abs().max().item()
    assert err < bound, f"relative error {err:.3g} >= {bound:.3g}"
    assert err > 0  # the float32 network really computed in float32


@pytest.mark.parametrize("device", DEVICES)
def test_to_float32_matches_float32_construction(device, seed):
    net = RandomResNet(3, 4, 3, "relu", rng=seed, device=device)
    moved = net.to(torch.float32)
    assert moved.dtype == torch.float32
    direct = RandomResNet(3, 4, 3, "relu", rng=seed, device=device, dtype=torch.float32)
    assert torch.equal(moved.weight, direct.weight)


@pytest.mark.parametrize("device", DEVICES)
def test_same_seed_same_weights_other_seed_other_weights(device, seed):
    a = RandomResNet(3, 4, 5, rng=seed, device=device)
    b = RandomResNet(3, 4, 5, rng=seed, device=device)
    c = RandomResNet(3, 4, 5, rng=seed + 1, device=device)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.input_weight, b.input_weight)
    assert not torch.equal(a.weight, c.weight)
    # a numpy Generator is advanced: two networks drawn from it differ, reproducibly
    g1, g2 = np.random.default_rng(seed), np.random.default_rng(seed)
    n1, n2 = RandomResNet(3, 4, 5, rng=g1, device=device), RandomResNet(3, 4, 5, rng=g1, device=device)
    assert not torch.equal(n1.weight, n2.weight)
    assert torch.equal(n1.weight, RandomResNet(3, 4, 5, rng=g2, device=device).weight)
    # reset_parameters redraws in place, with the same draw order as the constructor
    w = a.weight.clone()
    assert a.reset_parameters(seed + 1) is a
    assert torch.equal(a.weight, c.weight) and not torch.equal(a.weight, w)


def test_weight_variances(seed):
    """Entries of W_in ~ N(0, 1/d) and W_l ~ N(0, 1/n): sums of squares against their chi-square laws.

    d * sum(W_in^2) ~ chi2(n d) and n * sum(W_l^2) ~ chi2(L n^2); the two-sided chi-square tail
    probability must exceed 1e-6 (a wrong scale by 10 % is far outside: z ~ 0.2 sqrt(df / 2) > 20).
    """
    from scipy import stats

    d, n, L = 7, 24, 40
    net = RandomResNet(d, n, L, rng=seed, device="cpu")
    for value, df in [
        (d * float((net.input_weight**2).sum()), n * d),
        (n * float((net.weight**2).sum()), L * n * n),
    ]:
        p = 2 * min(stats.chi2.cdf(value, df), stats.chi2.sf(value, df))
        assert p > ALPHA, (value, df)
    # the entries are not all equal across layers (independent draws)
    assert not torch.equal(net.weight[0], net.weight[1])


def test_gradients_flow_when_requested(seed):
    net = RandomResNet(3, 4, 6, "tanh", rng=seed, device="cpu", requires_grad=True)
    assert all(p.requires_grad for p in net.parameters())
    x = _inputs(seed, 2, 3, "cpu").requires_grad_(True)
    net(x).pow(2).sum().backward()
    assert net.weight.grad is not None and net.weight.grad.shape == net.weight.shape
    assert x.grad is not None and torch.isfinite(x.grad).all()
    frozen = RandomResNet(3, 4, 6, "tanh", rng=seed, device="cpu")
    assert not any(p.requires_grad for p in frozen.parameters())


def test_state_dict_round_trip(seed):
    a = RandomResNet(3, 4, 5, "gelu", rng=seed, device="cpu")
    b = RandomResNet(3, 4, 5, "gelu", rng=seed + 1, device="cpu")
    b.load_state_dict(a.state_dict())
    x = _inputs(seed, 2, 3, "cpu")
    assert torch.equal(a(x), b(x))
    assert a.width == 4 and a.depth == 5 and a.input_dim == 3 and a.t1 == 1.0
    assert "width=4" in repr(a) and "activation='gelu'" in repr(a)


def test_overflow_raises_numerical_error(seed):
    # linear network, float32, x = (1e35, 1e35): entries of Y_0 ~ N(0, |x|^2 / d) are of order 1e35, and
    # each of the 4 layers multiplies the norm by about sqrt(1 + t1 / L) = 50 (docs/science.md §A4:
    # E|Y_l|^2 = (1 + t1/L) E|Y_{l-1}|^2), so |Y_4| ~ 6e41 > 3.4e38, the largest float32: inf
    net = RandomResNet(2, 8, 4, "linear", t1=1e4, rng=seed, device="cpu", dtype=torch.float32)
    x = torch.full((1, 2), 1e35, dtype=torch.float32)
    with pytest.raises(NumericalError, match="RandomResNet output"):
        net(x)


def test_array_like_input_is_converted(seed):
    net = RandomResNet(2, 3, 2, "relu", rng=seed, device="cpu")
    x = [[1.0, 2.0], [0.5, -1.0]]
    assert torch.equal(net(x), net(torch.tensor(x, dtype=torch.float64)))
    assert math.isfinite(float(net(np.array([1.0, 2.0])).sum()))
