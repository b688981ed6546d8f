"""The early-exit models train with ``fit`` and its losses, and their trace follows (tiny, one epoch)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from stochdepth.nn import (  # noqa: E402
    ConvResNet,
    NeuralODE,
    ResidualMLP,
    SequenceTransformer,
    fit,
    gaussian_mixture,
    make_loss,
    pointer_chasing,
    record_trace,
)


def _cases(seed: int):
    g = gaussian_mixture(120, dim=6, n_classes=3, rng=seed)
    p = pointer_chasing(120, seq_len=4, max_hops=2, rng=seed)
    vocab = 4 * 2 + 2 + 1
    return [
        (ResidualMLP(6, 8, 2, 3, halting=True, rng=seed), g, "pondernet"),
        (ConvResNet(1, 3, channels=4, depth=2, rng=seed), _as_signals(g), "residual_decay"),
        (NeuralODE(6, 6, 3, n_steps=3, noise=0.1, rng=seed), g, "deep_supervision"),
        (SequenceTransformer(vocab, 2, max_len=5, d_model=8, n_heads=2, depth=2, rng=seed), p, "lookahead"),
    ]


def _as_signals(ds):
    from stochdepth.nn import Dataset, Split

    def one(s):
        return Split(s.x[:, None, :], s.y, s.difficulty)

    return Dataset(ds.name, one(ds.train), one(ds.val), one(ds.test), ds.n_classes, (1, *ds.input_shape))


def test_every_model_trains_with_fit_and_yields_a_trace(seed):
    for model, ds, loss in _cases(seed):
        history = fit(
            model,
            make_loss(loss),
            (ds.train.x, ds.train.y),
            (ds.val.x, ds.val.y),
            epochs=1,
            batch_size=16,
            seed=seed,
            progress=False,
        )
        assert len(history.records) == 1
        trace = record_trace(model, ds.test)
        assert trace.n_exits == model.n_exits and trace.difficulty is not None


def test_token_models_declare_their_input_dtype(seed):
    model = SequenceTransformer(3, 2, max_len=4, d_model=4, n_heads=2, depth=1, rng=seed)
    assert model.input_dtype == torch.int64 and ResidualMLP(2, 2, 1, 2).input_dtype is None
    x = torch.zeros(20, 4)
    with pytest.raises(ValueError, match="dtype"):
        fit(
            model,
            make_loss("deep_supervision"),
            (x, torch.zeros(20, dtype=torch.int64)),
            epochs=1,
            batch_size=4,
            seed=seed,
            progress=False,
        )
