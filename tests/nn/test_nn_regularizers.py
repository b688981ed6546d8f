"""Depth regularizers and exit losses (docs/science.md §B3): each checked against a hand computation on
known numbers, against autograd by gradcheck in float64, and in its limiting cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _exit_testing import TinyExitMLP, toy_outputs  # noqa: E402
from _nn_testing import DEVICES  # noqa: E402

from stochdepth.nn.regularizers import (  # noqa: E402
    CompositeLoss,
    DeepSupervision,
    ExpectedDepthLoss,
    LookAheadPenalty,
    PonderNetLoss,
    ResidualDecayPenalty,
    exit_losses,
    halting_distribution,
    make_loss,
)


def _logit(p):
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


def _np_ce(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-entropy per exit and sample, (L, batch), written with numpy."""
    out = np.empty(logits.shape[:2])
    for l in range(logits.shape[0]):
        for b in range(logits.shape[1]):
            z = logits[l, b]
            out[l, b] = math.log(sum(math.exp(v) for v in z)) - z[y[b]]
    return out


def _random_outputs(seed, n_exits=4, batch=5, n_classes=3, halting=True, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n_exits, batch, n_classes, generator=g, dtype=dtype)
    norms = torch.rand(n_exits, batch, generator=g, dtype=dtype) + 0.1
    halts = torch.randn(n_exits, batch, generator=g, dtype=dtype) if halting else None
    y = torch.randint(0, n_classes, (batch,), generator=g)
    return logits, norms, halts, y


def test_halting_distribution_by_hand() -> None:
    q = np.array([[0.5], [0.2], [0.9]])
    pi = halting_distribution(torch.tensor(_logit(q)))
    # pi_0 = 0.5, pi_1 = 0.5 * 0.2, remainder 0.5 * 0.8 on the last exit (its own q ignored)
    np.testing.assert_allclose(pi.numpy()[:, 0], [0.5, 0.1, 0.4], rtol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 60.0])
def test_halting_distribution_sums_to_one(seed: int, scale: float) -> None:
    s = torch.randn(7, 11, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale
    pi = halting_distribution(s)
    assert torch.all(pi >= 0) and torch.all(torch.isfinite(pi))
    np.testing.assert_allclose(pi.sum(0).numpy(), 1.0, rtol=1e-12)


def test_exit_losses_match_numpy(seed: int) -> None:
    logits, _, _, y = _random_outputs(seed)
    got = exit_losses(toy_outputs(logits), y).numpy()
    np.testing.assert_allclose(got, _np_ce(logits.numpy(), y.numpy()), rtol=1e-12)


def test_deep_supervision_by_hand(seed: int) -> None:
    logits, _, _, y = _random_outputs(seed)
    ce = _np_ce(logits.numpy(), y.numpy())
    out = toy_outputs(logits)
    assert float(DeepSupervision()(out, y)) == pytest.approx(ce.mean(), rel=1e-12)
    w = [0.0, 1.0, 2.0, 0.5]
    assert float(DeepSupervision(w)(out, y)) == pytest.approx((np.array(w) @ ce).mean(), rel=1e-12)
    with pytest.raises(ValueError, match="weights"):
        DeepSupervision([1.0, 1.0])(out, y)


def test_expected_depth_by_hand() -> None:
    # two exits, one sample: q_0 = 0.25, so pi = (0.25, 0.75); losses known from the logits
    logits = torch.tensor([[[0.0, 0.0]], [[math.log(3.0), 0.0]]], dtype=torch.float64)
    y = torch.tensor([0])
    out = toy_outputs(logits, halting_logits=torch.tensor([[_logit(0.25)], [0.0]]), flops=[10.0, 40.0])
    ell = [math.log(2.0), -math.log(0.75)]
    task = 0.25 * ell[0] + 0.75 * ell[1]
    assert float(ExpectedDepthLoss(0.0)(out, y)) == pytest.approx(task, rel=1e-12)
    # cost 'depth': C = (1/2, 1); 'flops': C = (1/4, 1); explicit per-block costs (2, 3): C = (2, 5)
    assert float(ExpectedDepthLoss(0.5)(out, y)) == pytest.approx(task + 0.5 * (0.125 + 0.75), rel=1e-12)
    assert float(ExpectedDepthLoss(0.5, cost="flops")(out, y)) == pytest.approx(
        task + 0.5 * (0.0625 + 0.75), rel=1e-12
    )
    assert float(ExpectedDepthLoss(1.0, cost=[2.0, 3.0]).penalty(out, y)) == pytest.approx(0.5 + 3.75)


def test_expected_depth_limits(seed: int) -> None:
    logits, _, halts, y = _random_outputs(seed)
    ce = _np_ce(logits.numpy(), y.numpy())
    # lambda = 0 is the expected task loss under pi
    pi = halting_distribution(halts).numpy()
    out = toy_outputs(logits, halting_logits=halts)
    assert float(ExpectedDepthLoss(0.0)(out, y)) == pytest.approx((pi * ce).sum(0).mean(), rel=1e-12)
    # a head that always halts at exit 0 gives exit 0's loss plus lambda * C_0
    sure = halts.clone()
    sure[0] = 80.0
    out = toy_outputs(logits, halting_logits=sure)
    assert float(ExpectedDepthLoss(0.3)(out, y)) == pytest.approx(ce[0].mean() + 0.3 / 4, rel=1e-10)


def test_residual_decay_by_hand() -> None:
    norms = torch.tensor([[1.0, 3.0], [2.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    out = toy_outputs(torch.zeros(3, 2, 2, dtype=torch.float64), residual_norms=norms)
    sq = np.array([5.0, 2.0, 1.0])  # E_b r_l^2 per exit
    w = np.array([1.0, 2.0, 3.0]) ** 2  # (l+1)^p with p = 2
    assert float(ResidualDecayPenalty(2.0)(out)) == pytest.approx(w @ sq / w.sum(), rel=1e-12)
    w = 3.0 ** np.arange(3)
    assert float(ResidualDecayPenalty(3.0, schedule="geometric")(out)) == pytest.approx(w @ sq / w.sum())
    # p = 0: the plain mean of the squared norms over exits
    assert float(ResidualDecayPenalty(0.0)(out)) == pytest.approx(sq.mean(), rel=1e-12)


def test_lookahead_by_hand() -> None:
    # true-class probabilities along three exits: 0.5, 0.8, 0.7 (one sample, two classes)
    p = np.array([0.5, 0.8, 0.7])
    logits = torch.tensor(_logit(p)[:, None, None] * np.array([1.0, 0.0]), dtype=torch.float64)
    out = toy_outputs(logits)
    y = torch.tensor([0])
    assert float(LookAheadPenalty(0.1, gain="prob")(out, y)) == pytest.approx(0.2, rel=1e-10)
    assert float(LookAheadPenalty(0.0)(out, y)) == pytest.approx(math.log(0.8 / 0.5), rel=1e-10)
    assert float(LookAheadPenalty(0.5)(out, y)) == 0.0


def test_lookahead_fixed_target_moves_only_the_earlier_exit() -> None:
    # gains 0.5 -> 0.8 -> 0.7: only the step from exit 0 to exit 1 exceeds the margin
    p = np.array([0.5, 0.8, 0.7])
    logits = torch.tensor(_logit(p)[:, None, None] * np.array([1.0, 0.0]), dtype=torch.float64)
    y = torch.tensor([0])
    grads = {}
    for fixed in (False, True):
        x = logits.clone().requires_grad_(True)
        loss = LookAheadPenalty(0.1, gain="prob", fixed_target=fixed)(toy_outputs(x), y)
        assert float(loss.detach()) == pytest.approx(0.2, rel=1e-10)  # the same value either way
        loss.backward()
        grads[fixed] = x.grad[:, 0, 0].numpy()
    # d/dz of sigmoid(z) is p(1-p): the penalty 0.8 - 0.5 - 0.1 pushes exit 1 down and exit 0 up ...
    assert grads[False] == pytest.approx([-0.25, 0.16, 0.0], rel=1e-10)
    # ... unless exit 1 is a fixed target: then exit 0 alone is pulled up
    assert grads[True] == pytest.approx([-0.25, 0.0, 0.0], rel=1e-10)


def test_pondernet_kl_against_direct_formula(seed: int) -> None:
    logits, _, halts, y = _random_outputs(seed)
    out = toy_outputs(logits, halting_logits=halts)
    lam, n_exits = 0.3, 4
    prior = np.array([lam * (1 - lam) ** l for l in range(n_exits)])
    prior /= prior.sum()
    q = 1 / (1 + np.exp(-halts.numpy()))
    kl = np.zeros(q.shape[1])
    for b in range(q.shape[1]):
        alive = 1.0
        for l in range(n_exits):
            p_l = alive * (q[l, b] if l < n_exits - 1 else 1.0)
            kl[b] += p_l * math.log(p_l / prior[l])
            alive *= 1 - q[l, b]
    loss = PonderNetLoss(0.7, prior_halting=lam)
    np.testing.assert_allclose(loss.kl(out).numpy(), kl, rtol=1e-10)
    pi = halting_distribution(halts).numpy()
    task = (pi * _np_ce(logits.numpy(), y.numpy())).sum(0)
    assert float(loss(out, y)) == pytest.approx((task + 0.7 * kl).mean(), rel=1e-10)
    assert float(PonderNetLoss(0.0)(out, y)) == pytest.approx(task.mean(), rel=1e-12)


def test_pondernet_kl_vanishes_at_the_prior() -> None:
    lam, n_exits = 0.4, 5
    prior = np.array([lam * (1 - lam) ** l for l in range(n_exits)])
    prior /= prior.sum()
    # q_l = prior_l / (mass left before l) reproduces the prior as the halting law
    left = 1 - np.concatenate([[0.0], np.cumsum(prior)[:-1]])
    q = prior / left
    q[-1] = 0.5  # the last exit's own q is ignored
    s = torch.tensor(_logit(q)[:, None])
    out = toy_outputs(torch.zeros(n_exits, 1, 2, dtype=torch.float64), halting_logits=s)
    np.testing.assert_allclose(halting_distribution(s).numpy()[:, 0], prior, rtol=1e-10)
    assert float(PonderNetLoss(1.0, prior_halting=lam).kl(out)[0]) == pytest.approx(0.0, abs=1e-12)


def test_composite_limits(seed: int) -> None:
    logits, norms, halts, y = _random_outputs(seed)
    out = toy_outputs(logits, residual_norms=norms, halting_logits=halts)
    ce = _np_ce(logits.numpy(), y.numpy())
    base = ce[-1].mean() + ce.mean()
    assert float(CompositeLoss(ResidualDecayPenalty(), depth_weight=0.0)(out, y)) == pytest.approx(
        base, rel=1e-12
    )
    assert float(CompositeLoss(None)(out, y)) == pytest.approx(base, rel=1e-12)
    assert float(CompositeLoss(deep_supervision=False)(out, y)) == pytest.approx(ce[-1].mean(), rel=1e-12)
    depth = ResidualDecayPenalty(1.0)
    total = CompositeLoss(depth, depth_weight=0.25)(out, y)
    assert float(total) == pytest.approx(base + 0.25 * float(depth(out)), rel=1e-12)
    # several depth terms add up with their own weights
    ahead = LookAheadPenalty(0.05, fixed_target=True)
    total = CompositeLoss([depth, ahead], depth_weight=[0.25, 0.5])(out, y)
    expected = base + 0.25 * float(depth(out)) + 0.5 * float(ahead(out, y))
    assert float(total) == pytest.approx(expected, rel=1e-12)
    both = CompositeLoss([depth, ahead], depth_weight=0.5)(out, y)
    assert float(both) == pytest.approx(
        base + 0.5 * float(depth(out)) + 0.5 * float(ahead(out, y)), rel=1e-12
    )


_LOSSES = [
    DeepSupervision(),
    ExpectedDepthLoss(0.2),
    ExpectedDepthLoss(0.2, cost="flops"),
    ResidualDecayPenalty(1.5),
    ResidualDecayPenalty(1.3, schedule="geometric"),
    LookAheadPenalty(0.05),
    LookAheadPenalty(0.0, gain="prob"),
    PonderNetLoss(0.1, prior_halting=0.3),
    CompositeLoss(ExpectedDepthLoss(0.1), depth_weight=0.5),
    CompositeLoss([ResidualDecayPenalty(2.0), LookAheadPenalty(0.01)], depth_weight=[0.3, 0.5]),
]


@pytest.mark.parametrize("loss", _LOSSES, ids=lambda m: type(m).__name__)
def test_gradients_match_finite_differences(loss, seed: int) -> None:
    logits, norms, halts, y = _random_outputs(seed, n_exits=3, batch=2)
    inputs = tuple(t.clone().requires_grad_(True) for t in (logits, norms, halts))

    def f(lg, nr, hl):
        return loss(toy_outputs(lg, residual_norms=nr, halting_logits=hl), y)

    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_losses_on_a_model_backpropagate(device: str, dtype, seed: int) -> None:
    torch.manual_seed(seed)
    model = TinyExitMLP(halting=True, dtype=dtype).to(device)
    x = torch.randn(6, 4, dtype=dtype, device=device)
    y = torch.randint(0, 3, (6,), device=device)
    for loss in _LOSSES:
        model.zero_grad()
        value = loss(model(x), y)
        value.backward()
        assert value.dtype == dtype and value.device.type == torch.device(device).type
        assert all(p.grad is None or torch.all(torch.isfinite(p.grad)) for p in model.parameters())


def test_bad_settings_name_the_parameter() -> None:
    with pytest.raises(ValueError, match="name must be one of"):
        make_loss("halting_magic")
    with pytest.raises(ValueError, match=r"unknown setting.*lam"):
        make_loss("pondernet", lam=0.1)
    assert isinstance(make_loss("expected_depth", cost_weight=0.1, cost="flops"), ExpectedDepthLoss)
    with pytest.raises(ValueError, match="cost_weight"):
        ExpectedDepthLoss(-1.0)
    with pytest.raises(ValueError, match="cost must be"):
        ExpectedDepthLoss(cost="time")
    with pytest.raises(ValueError, match="schedule"):
        ResidualDecayPenalty(schedule="linear")
    with pytest.raises(ValueError, match="rate"):
        ResidualDecayPenalty(0.5, schedule="geometric")
    with pytest.raises(ValueError, match="gain"):
        LookAheadPenalty(gain="accuracy")
    with pytest.raises(TypeError, match="fixed_target"):
        LookAheadPenalty(fixed_target=1)
    with pytest.raises(ValueError, match="prior_halting"):
        PonderNetLoss(prior_halting=1.0)
    with pytest.raises(ValueError, match="beta"):
        PonderNetLoss(beta=float("nan"))
    with pytest.raises(TypeError, match="depth"):
        CompositeLoss("expected_depth")
    with pytest.raises(TypeError, match="depth must hold"):
        CompositeLoss([ResidualDecayPenalty(), "lookahead"])
    with pytest.raises(ValueError, match="depth_weight has 1 weights for 2"):
        CompositeLoss([ResidualDecayPenalty(), LookAheadPenalty()], depth_weight=[0.1])
    with pytest.raises(ValueError, match=r"depth_weight\[j\]"):
        CompositeLoss([ResidualDecayPenalty()], depth_weight=[-1.0])


def test_bad_inputs_name_the_parameter(seed: int) -> None:
    logits, _, _, y = _random_outputs(seed)
    out = toy_outputs(logits)
    with pytest.raises(ValueError, match="halting_logits"):
        PonderNetLoss()(out, y)
    with pytest.raises(ValueError, match="halting_logits"):
        ExpectedDepthLoss()(out, y)
    with pytest.raises(ValueError, match="target must have shape"):
        DeepSupervision()(out, y[:-1])
    with pytest.raises(TypeError, match="integer class labels"):
        DeepSupervision()(out, y.double())
    with pytest.raises(ValueError, match="cost has 2"):
        ExpectedDepthLoss(cost=[1.0, 2.0])(toy_outputs(logits, halting_logits=torch.zeros(4, 5)), y)


def test_public_names_and_docstring_examples() -> None:
    import doctest

    import stochdepth.nn as snn
    import stochdepth.nn.regularizers as mod

    names = {"CompositeLoss", "DeepSupervision", "ExpectedDepthLoss", "LookAheadPenalty", "PonderNetLoss"}
    assert names | {"ResidualDecayPenalty", "halting_distribution", "make_loss"} <= set(snn.__all__)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
