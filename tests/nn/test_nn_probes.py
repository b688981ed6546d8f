"""Instrumenting a network trained elsewhere: hooks on named blocks, linear probes, a trace."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from stochdepth.depth import Trace  # noqa: E402
from stochdepth.nn import ExitOutputs, ProbedModel, gaussian_mixture, record_trace  # noqa: E402


class PlainBlock(torch.nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(width, width)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + 0.5 * self.fc(torch.relu(h))


class PlainResMLP(torch.nn.Module):
    """A residual MLP written with plain torch, as a user would, knowing nothing of exits."""

    def __init__(self, d: int, width: int, depth: int, n_classes: int) -> None:
        super().__init__()
        self.embed = torch.nn.Linear(d, width)
        self.body = torch.nn.Sequential(*(PlainBlock(width) for _ in range(depth)))
        self.out = torch.nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(self.embed(x)))


def _trained(seed: int, dtype=torch.float64):
    torch.manual_seed(seed)
    ds = gaussian_mixture(400, dim=6, n_classes=3, modes_per_class=1, noise=(0.0, 0.3), rng=seed, dtype=dtype)
    net = PlainResMLP(6, 16, 3, 3).to(dtype)
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(30):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(ds.train.x), ds.train.y).backward()
        opt.step()
    return net, ds


@pytest.mark.parametrize("method", ["ridge", "logistic"])
def test_probes_on_a_plain_network_give_exit_outputs_and_a_trace(seed, method, tmp_path):
    net, ds = _trained(seed)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    probed = ProbedModel(net, ["embed", "body.0", "body.1", "body.2"], 3)
    probed.fit_probes(ds.train.x, ds.train.y, method=method, alpha=1e-3)
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])
    out = probed(ds.val.x)
    assert isinstance(out, ExitOutputs) and out.logits.shape == (4, len(ds.val), 3)
    # hooks are gone: the wrapped network runs alone as before
    assert all(len(m._forward_hooks) == 0 for m in net.modules())
    # recorded states are the blocks' outputs, residual norms their updates
    h0 = net.embed(ds.val.x)
    h1 = net.body[0](h0)
    torch.testing.assert_close(out.hidden[1], h1)
    torch.testing.assert_close(out.residual_norms[1], (h1 - h0).norm(dim=1))
    assert bool(torch.isnan(out.residual_norms[0]).all())  # embed changes the shape: no residual
    torch.testing.assert_close(out.flops, torch.arange(1.0, 5.0, dtype=torch.float64))
    # the probe on the last block is about as good as the network's own head on training data
    acc_probe = (probed(ds.train.x).logits[-1].argmax(1) == ds.train.y).double().mean().item()
    acc_net = (net(ds.train.x).argmax(1) == ds.train.y).double().mean().item()
    assert acc_probe >= acc_net - 0.1
    trace = record_trace(probed, ds.test, split="test", summary_dim=3)
    path = trace.save(tmp_path / "probed.npz")
    again = Trace.load(path, model=trace.model)
    assert again.n_exits == 4 and again.hidden_projection.shape == (len(ds.test), 4, 3)


def test_block_flops_add_the_probe_cost(seed):
    net, ds = _trained(seed)
    probed = ProbedModel(net, ["body.0", "body.2"], 3, block_flops=[10.0, 20.0]).fit_probes(
        ds.train.x, ds.train.y
    )
    out = probed(ds.val.x[:4])
    torch.testing.assert_close(out.flops, torch.tensor([10.0 + 96, 30.0 + 192], dtype=torch.float64))


def test_bad_probe_arguments_raise_naming_them(seed):
    net, ds = _trained(seed)
    with pytest.raises(ValueError, match=r"blocks: 'body\.9'"):
        ProbedModel(net, ["body.9"], 3)
    with pytest.raises(TypeError, match="blocks"):
        ProbedModel(net, "body.0", 3)
    with pytest.raises(ValueError, match="repeat"):
        ProbedModel(net, ["body.0", "body.0"], 3)
    with pytest.raises(ValueError, match="block_flops"):
        ProbedModel(net, ["body.0"], 3, block_flops=[1.0, 2.0])
    probed = ProbedModel(net, ["body.0"], 3)
    with pytest.raises(RuntimeError, match="fit_probes"):
        probed(ds.val.x)
    with pytest.raises(ValueError, match="method"):
        probed.fit_probes(ds.train.x, ds.train.y, method="svm")
    with pytest.raises(ValueError, match="alpha"):
        probed.fit_probes(ds.train.x, ds.train.y, alpha=0.0)
    with pytest.raises(ValueError, match="y must"):
        probed.fit_probes(ds.train.x, ds.train.y[:-1])
    with pytest.raises(ValueError, match="labels"):
        probed.fit_probes(ds.train.x, ds.train.y + 3)
