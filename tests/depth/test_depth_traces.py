"""stochdepth.depth.Trace with numpy alone: derived fields, one file, validation."""

from __future__ import annotations

import numpy as np
import pytest

from stochdepth.depth import Trace


def _trace(rng: np.random.Generator, n: int = 30, L: int = 4, C: int = 3, **kw) -> Trace:
    return Trace.from_outputs(
        rng.standard_normal((n, L, C)),
        rng.integers(0, C, n),
        hidden_norms=rng.random((n, L)),
        hidden_projection=rng.standard_normal((n, L, 2)),
        residual_norms=rng.random((n, L)),
        flops=np.arange(1.0, L + 1),
        **kw,
    )


def test_derived_fields_and_round_trip(seed, tmp_path):
    rng = np.random.default_rng(seed)
    t = _trace(rng, difficulty=rng.random(30), model="M", split="test")
    z = t.logits - t.logits.max(-1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    np.testing.assert_allclose(t.confidence, p.max(-1))
    np.testing.assert_allclose(t.entropy, -(p * np.log(p)).sum(-1))
    np.testing.assert_allclose(t.accuracy(), (p.argmax(-1) == t.labels[:, None]).mean(0))
    back = Trace.load(t.save(tmp_path / "a.npz"), model="M", n_exits=4, n_classes=3)
    assert np.array_equal(back.difficulty, t.difficulty) and back.split == "test"
    assert np.array_equal(back.logits, t.logits) and back.halting_logits is None


def test_overwriting_is_atomic_and_mismatches_are_named(seed, tmp_path):
    rng = np.random.default_rng(seed)
    path = _trace(rng).save(tmp_path / "a.npz")
    _trace(rng, L=5).save(path)  # replaces the file whole
    assert Trace.load(path).n_exits == 5
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]
    with pytest.raises(ValueError, match="n_exits=4"):
        Trace.load(path, n_exits=4)
    with pytest.raises(ValueError, match="model"):
        Trace.load(path, model="Other")
    with pytest.raises(TypeError, match="labels"):
        Trace.from_outputs(
            np.zeros((2, 1, 2)),
            np.zeros(2),
            hidden_norms=np.zeros((2, 1)),
            hidden_projection=np.zeros((2, 1, 1)),
            residual_norms=np.zeros((2, 1)),
            flops=np.ones(1),
        )
