"""Traces recorded from early-exit models: values, one file, validation on load."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from stochdepth.depth import Trace  # noqa: E402
from stochdepth.nn import (  # noqa: E402
    ConvResNet,
    ResidualMLP,
    SequenceTransformer,
    load_trace,
    model_signature,
    parity_sequences,
    record_trace,
)


def test_trace_of_a_model_matches_its_forward_pass(seed, tmp_path):
    ds = parity_sequences(200, seq_len=6, rng=seed)
    model = SequenceTransformer(4, 2, max_len=6, d_model=8, n_heads=2, depth=3, halting=True, rng=seed)
    model.train()
    trace = record_trace(model, ds.val, split="val", batch_size=7, summary_dim=4, rng=seed)
    assert model.training  # mode restored
    n = len(ds.val)
    assert trace.logits.shape == (n, 3, 2) and trace.hidden_projection.shape == (n, 3, 4)
    model.eval()
    with torch.no_grad():
        out = model(ds.val.x)
    np.testing.assert_allclose(
        trace.logits, out.logits.transpose(0, 1).double().numpy(), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(trace.residual_norms, out.residual_norms.T.double().numpy(), rtol=1e-5)
    np.testing.assert_allclose(trace.flops, out.flops.double().numpy())
    np.testing.assert_allclose(
        trace.halting_logits, out.halting_logits.T.double().numpy(), rtol=1e-5, atol=1e-6
    )
    p = torch.softmax(out.logits.double(), -1).transpose(0, 1).numpy()
    np.testing.assert_allclose(trace.confidence, p.max(-1), rtol=1e-5)
    np.testing.assert_allclose(trace.entropy, -(p * np.log(p)).sum(-1), rtol=1e-4, atol=1e-6)
    assert np.array_equal(trace.correct, p.argmax(-1) == ds.val.y.numpy()[:, None])
    np.testing.assert_allclose(trace.difficulty, ds.val.difficulty.numpy())
    norms = torch.stack([h.flatten(1).norm(dim=1) for h in out.hidden], 1).double().numpy()
    np.testing.assert_allclose(trace.hidden_norms, norms, rtol=1e-5)
    assert trace.split == "val" and trace.model == model_signature(model)
    # the projection is fixed by rng
    again = record_trace(model, ds.val, split="val", summary_dim=4, rng=seed)
    np.testing.assert_allclose(again.hidden_projection, trace.hidden_projection, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        trace.logits[0, 0, 0] = 1.0  # frozen arrays


def test_save_and_load_round_trip_and_refuse_another_model(seed, tmp_path):
    model = ResidualMLP(6, 5, 2, 3, rng=seed, dtype=torch.float64)
    x = torch.randn(20, 6, dtype=torch.float64)
    y = torch.arange(20) % 3
    trace = record_trace(model, x, y, split="test")
    path = trace.save(tmp_path / "t.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.npz"]  # no temporary file left
    back = load_trace(path, model)
    for name in ("logits", "confidence", "entropy", "correct", "hidden_projection", "labels", "flops"):
        assert np.array_equal(getattr(back, name), getattr(trace, name))
    assert back.difficulty is None and back.halting_logits is None and back.split == "test"
    other = ResidualMLP(6, 5, 3, 3, rng=seed, dtype=torch.float64)
    with pytest.raises(ValueError, match="is a trace of model"):
        load_trace(path, other)
    conv = ConvResNet(1, 3, channels=4, depth=2, rng=seed)
    with pytest.raises(ValueError, match="expected"):
        load_trace(path, conv)
    with pytest.raises(ValueError, match="n_classes"):
        Trace.load(path, n_classes=4)


def test_load_rejects_files_that_are_not_consistent_traces(tmp_path):
    bad = tmp_path / "other.npz"
    np.savez(bad, x=np.zeros(3))
    with pytest.raises(ValueError, match="not a stochdepth trace"):
        Trace.load(bad)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a readable trace"):
        Trace.load(text)
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((5, 2, 3))
    kw = dict(
        hidden_norms=np.ones((5, 2)), hidden_projection=np.ones((5, 2, 1)), residual_norms=np.ones((5, 2))
    )
    trace = Trace.from_outputs(logits, np.arange(5) % 3, flops=np.array([1.0, 2.0]), **kw)
    path = trace.save(tmp_path / "ok.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["correct"] = ~arrays["correct"]
    np.savez(tmp_path / "tampered.npz", **arrays)
    with pytest.raises(ValueError, match="inconsistent"):
        Trace.load(tmp_path / "tampered.npz")
    with pytest.raises(ValueError, match="flops"):
        Trace.from_outputs(logits, np.arange(5) % 3, flops=np.array([1.0]), **kw)
    with pytest.raises(ValueError, match="labels"):
        Trace.from_outputs(logits, np.arange(5), flops=np.array([1.0, 2.0]), **kw)


def test_record_trace_rejects_bad_inputs(seed):
    model = ResidualMLP(6, 5, 2, 3, rng=seed)
    x = torch.randn(4, 6)
    with pytest.raises(TypeError, match="y must"):
        record_trace(model, x)
    with pytest.raises(ValueError, match="y must"):
        record_trace(model, x, torch.zeros(3, dtype=torch.int64))
    with pytest.raises(TypeError, match="data"):
        record_trace(model, x.numpy(), torch.zeros(4, dtype=torch.int64))
    with pytest.raises(TypeError, match="dtype"):
        record_trace(model, x.double(), torch.zeros(4, dtype=torch.int64))
    with pytest.raises(ValueError, match="summary_dim"):
        record_trace(model, x, torch.zeros(4, dtype=torch.int64), summary_dim=0)
    with pytest.raises(TypeError, match="ExitOutputs"):
        record_trace(torch.nn.Linear(6, 3), x, torch.zeros(4, dtype=torch.int64))
