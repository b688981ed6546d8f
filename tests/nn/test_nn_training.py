"""fit: it trains, it resumes bitwise, it refuses bad input before any work, it writes atomically."""

from __future__ import annotations

import dataclasses
import functools
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _exit_testing import TinyExitMLP, toy_task  # noqa: E402
from _nn_testing import DEVICES  # noqa: E402

from stochdepth.nn.regularizers import CompositeLoss, DeepSupervision, ExpectedDepthLoss  # noqa: E402
from stochdepth.nn.training import TrainingHistory, architecture_fingerprint, fit  # noqa: E402

SGD = functools.partial(torch.optim.SGD, lr=0.05, momentum=0.9)


def _model(seed: int, **kw) -> TinyExitMLP:
    torch.manual_seed(seed)
    kw.setdefault("dtype", torch.float64)
    return TinyExitMLP(**kw)


def _splits(seed: int, dtype=torch.float64, device="cpu"):
    x, y = toy_task(seed, n=60, dtype=dtype)
    x, y = x.to(device), y.to(device)
    return (x[:40], y[:40]), (x[40:], y[40:])


def _fit(model, train, val, seed: int, **kw) -> TrainingHistory:
    """``fit`` with the settings these tests share: deep supervision, batches of 8, no progress bar."""
    kw = {"batch_size": 8, "progress": False, **kw}
    return fit(model, kw.pop("loss", DeepSupervision()), train, val, seed=seed, **kw)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fit_trains_and_returns_a_frozen_history(device: str, dtype, seed: int) -> None:
    train, val = _splits(seed, dtype, device)
    model = _model(seed, dtype=dtype).to(device)
    history = _fit(model, train, val, seed, epochs=6, optimizer=SGD)
    assert isinstance(history, TrainingHistory) and history.epochs_run == 6
    losses = history.column("train_loss")
    assert losses[-1] < losses[0]
    assert len(history.records[0].val_exit_accuracy) == model.n_exits
    assert 1 <= history.best_epoch <= 6 and history.resumed_from == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        history.best_epoch = 0
    assert not model.training


def _params(model) -> list:
    return [p.detach().clone() for p in model.parameters()]


class _Stop(Exception):
    pass


def _interrupt_at(k: int):
    def callback(record):
        if record.epoch == k:
            raise _Stop

    return callback


def test_resume_is_bitwise_identical(tmp_path, seed: int) -> None:
    train, val = _splits(seed)
    kw = dict(
        epochs=5,
        batch_size=7,
        seed=seed,
        optimizer=functools.partial(torch.optim.Adam, lr=0.01),
        scheduler=functools.partial(torch.optim.lr_scheduler.StepLR, step_size=2, gamma=0.5),
        progress=False,
    )
    loss = CompositeLoss(ExpectedDepthLoss(0.1), depth_weight=0.5)
    whole = _model(seed, halting=True, dropout=0.2)
    ref = fit(whole, loss, train, val, **kw)
    path = tmp_path / "run.pt"
    parted = _model(seed, halting=True, dropout=0.2)
    with pytest.raises(_Stop):
        fit(parted, loss, train, val, checkpoint=path, callback=_interrupt_at(2), **kw)
    fresh = _model(seed + 1, halting=True, dropout=0.2)  # other initial weights: all must come from the file
    torch.manual_seed(seed + 99)  # and other global random state
    resumed = fit(fresh, loss, train, val, checkpoint=path, **kw)
    assert resumed.resumed_from == 2 and resumed.epochs_run == 5
    assert all(torch.equal(a, b) for a, b in zip(_params(whole), _params(fresh)))
    assert resumed.records == ref.records
    # a finished checkpoint resumes to the same weights without training
    again = fit(fresh, loss, train, val, checkpoint=path, **kw)
    assert again.resumed_from == 5 and all(torch.equal(a, b) for a, b in zip(_params(whole), _params(fresh)))


def test_extending_a_run_equals_the_longer_run(tmp_path, seed: int) -> None:
    train, val = _splits(seed)
    kw = dict(batch_size=8, seed=seed, optimizer=SGD, progress=False, restore_best=False)
    long = _model(seed, dropout=0.1)
    fit(long, DeepSupervision(), train, val, epochs=4, **kw)
    short = _model(seed, dropout=0.1)
    fit(short, DeepSupervision(), train, val, epochs=1, checkpoint=tmp_path / "c.pt", **kw)
    fit(short, DeepSupervision(), train, val, epochs=4, checkpoint=tmp_path / "c.pt", **kw)
    assert all(torch.equal(a, b) for a, b in zip(_params(long), _params(short)))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind


def test_fit_leaves_the_callers_random_state(seed: int) -> None:
    train, val = _splits(seed)
    model = _model(seed, dropout=0.3)
    random.seed(seed)
    before = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())  # noqa: NPY002 - the legacy global state
    _fit(model, train, val, seed, epochs=2)
    assert torch.equal(before[0], torch.get_rng_state()) and before[1] == random.getstate()
    assert np.array_equal(before[2], np.random.get_state()[1])  # noqa: NPY002


def test_early_stopping_and_best_weights(seed: int) -> None:
    train, val = _splits(seed)
    model = _model(seed)
    frozen = functools.partial(torch.optim.SGD, lr=0.0)  # nothing improves after epoch 1
    history = _fit(model, train, val, seed, epochs=10, optimizer=frozen, early_stopping=2)
    assert history.stopped_early and history.epochs_run == 3 and history.best_epoch == 1
    model = _model(seed)
    history = _fit(model, train, val, seed, epochs=5, optimizer=SGD, metric="val_accuracy")
    assert history.best_metric == history.column("val_accuracy").max()


def test_tensor_dataset_and_progress_bar(capsys, seed: int) -> None:
    (xt, yt), (xv, yv) = _splits(seed)
    data = torch.utils.data.TensorDataset
    history = _fit(_model(seed), data(xt, yt), data(xv, yv), seed, epochs=2, progress=True)
    assert history.epochs_run == 2
    assert "fit" in capsys.readouterr().err


def test_checkpoint_of_another_model_is_refused(tmp_path, seed: int) -> None:
    train, val = _splits(seed)
    path = tmp_path / "c.pt"
    _fit(_model(seed), train, val, seed, epochs=1, checkpoint=path)
    other = _model(seed, width=9)
    assert architecture_fingerprint(other) != architecture_fingerprint(_model(seed))
    before = _params(other)
    with pytest.raises(ValueError, match=r"checkpoint .* another model architecture"):
        _fit(other, train, val, seed, epochs=2, checkpoint=path)
    assert all(torch.equal(a, b) for a, b in zip(before, _params(other)))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="checkpoint"):
        _fit(other, train, val, seed, epochs=2, checkpoint=tmp_path / "junk.pt")


def test_bad_input_is_refused_before_training(seed: int) -> None:
    train, val = _splits(seed)
    model = _model(seed)
    before = _params(model)
    loss = DeepSupervision()
    kw = dict(epochs=2, batch_size=8, seed=seed, progress=False)
    cases = [
        (ValueError, "train has dtype", dict(train=(train[0].float(), train[1]))),
        (ValueError, "val is on meta", dict(val=(val[0].to("meta"), val[1].to("meta")))),
        (ValueError, "train: the model cannot run", dict(train=(train[0][:, :3], train[1]))),
        (ValueError, "train: X must have shape", dict(train=(train[0], train[1][:-1]))),
        (TypeError, "train: y must hold integer", dict(train=(train[0], train[1].double()))),
        (ValueError, "val: labels go up to 7", dict(val=(val[0], val[1] * 0 + 7))),
        (ValueError, "fewer than batch_size=50", dict(batch_size=50)),
        (ValueError, "metric must be", dict(metric="val_f1")),
        (ValueError, "early_stopping needs", dict(val=None, early_stopping=2)),
        (ValueError, "epochs must be", dict(epochs=0)),
        (TypeError, "train must be a tuple", dict(train=train[0])),
        (ValueError, "optimizer holds", dict(optimizer=torch.optim.SGD(_model(seed).parameters(), lr=0.1))),
        (ValueError, "halting_logits", dict(loss=ExpectedDepthLoss())),
    ]
    for error, message, change in cases:
        args = {"train": train, "val": val, "loss": loss, **kw, **change}
        with pytest.raises(error, match=message):
            fit(model, args.pop("loss"), args.pop("train"), args.pop("val"), **args)
    assert all(torch.equal(a, b) for a, b in zip(before, _params(model)))


def test_an_interrupted_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch, seed: int) -> None:
    train, val = _splits(seed)
    path = tmp_path / "c.pt"
    kw = dict(batch_size=8, seed=seed, checkpoint=path, progress=False)
    fit(_model(seed), DeepSupervision(), train, val, epochs=1, **kw)
    good = path.read_bytes()
    real_save = torch.save

    def torn_save(obj, handle):
        real_save(obj, handle)
        handle.truncate(10)  # half a file, then the machine dies
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", torn_save)
    with pytest.raises(KeyboardInterrupt):
        fit(_model(seed), DeepSupervision(), train, val, epochs=3, **kw)
    assert path.read_bytes() == good and [p.name for p in tmp_path.iterdir()] == ["c.pt"]
    monkeypatch.setattr(torch, "save", real_save)
    assert fit(_model(seed), DeepSupervision(), train, val, epochs=2, **kw).resumed_from == 1


def test_scheduler_instances_clipping_and_fresh_restart(tmp_path, seed: int) -> None:
    train, val = _splits(seed)
    model = _model(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    history = _fit(
        model,
        train,
        val,
        seed,
        epochs=4,
        optimizer=opt,
        scheduler=plateau,
        grad_clip=0.5,
        checkpoint=tmp_path / "c.pt",
    )
    lrs = history.column("lr")
    assert lrs[0] == 0.1 and np.all(np.diff(lrs) <= 0)
    again = _fit(_model(seed), train, val, seed, epochs=1, checkpoint=tmp_path / "c.pt", resume=False)
    assert again.resumed_from == 0 and again.epochs_run == 1
    with pytest.raises(ValueError, match="ReduceLROnPlateau needs"):
        _fit(model, train, None, seed, epochs=1, optimizer=opt, scheduler=plateau)
    with pytest.raises(ValueError, match="grad_clip"):
        _fit(model, train, val, seed, epochs=1, grad_clip=-1.0)
