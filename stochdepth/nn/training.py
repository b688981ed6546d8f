r"""Training early-exit models: one :func:`fit` with seeds, early stopping, atomic checkpoints, resume.

:func:`fit` trains an :class:`~stochdepth.nn.exits.EarlyExitModel` (any module whose forward returns an
:class:`~stochdepth.nn.exits.ExitOutputs`) with a loss of :mod:`stochdepth.nn.regularizers` (or any
``loss(outputs, target) -> Tensor``) by mini-batch gradient descent, and returns a frozen
:class:`TrainingHistory`.

Reproducibility. The mini-batch order comes from a :class:`numpy.random.Generator` seeded by ``seed``;
randomness inside the model (dropout, stochastic depth) uses torch's global generators, seeded by
``seed`` inside :func:`torch.random.fork_rng` so the caller's random state is left as it was. After
every epoch a checkpoint holds the model, optimizer and scheduler states, every generator's state, the
epoch, the early-stopping state and the history; it is written to a temporary file and renamed over
the old one, so an interrupted run leaves either the previous or the new checkpoint, never a torn one.
A run resumed from epoch ``k`` replays exactly what the uninterrupted run would have done: on the CPU
its final weights are bitwise equal (tested).
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .._results import Result
from .exits import ExitOutputs

__all__ = ["EpochRecord", "TrainingHistory", "architecture_fingerprint", "as_split", "fit"]

_METRICS = {"val_loss": "min", "val_accuracy": "max"}
_FORMAT = "stochdepth.nn.fit/1"


@dataclass(frozen=True)
class EpochRecord(Result):
    """What one epoch of :func:`fit` measured.

    Attributes
    ----------
    epoch : int
        1-based epoch number.
    train_loss : float
        Mean of the training loss over the epoch's mini-batches (weighted by batch size).
    val_loss, val_accuracy : float
        Loss and last-exit accuracy on the validation split (``nan`` without one).
    val_exit_accuracy : tuple of float
        Accuracy of every exit on the validation split (empty without one).
    lr : float
        Learning rate of the first parameter group during the epoch.
    """

    epoch: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    val_exit_accuracy: tuple[float, ...]
    lr: float

    #: NaN without a validation split (documented above).
    nonfinite_fields = ("val_loss", "val_accuracy")


@dataclass(frozen=True)
class TrainingHistory(Result):
    """The result of :func:`fit`.

    Attributes
    ----------
    records : tuple of EpochRecord
        One per epoch run, including those run before a resume.
    metric : str
        The early-stopping metric, ``'val_loss'`` or ``'val_accuracy'``.
    best_epoch : int
        Epoch with the best validation metric (0 when there is no validation split).
    best_metric : float
        Its value (``nan`` without a validation split).
    stopped_early : bool
        Whether early stopping ended the run before ``epochs``.
    resumed_from : int
        Epochs read from the checkpoint when this call started (0 for a fresh run).
    restored_best : bool
        Whether the model holds the best epoch's weights at return (else the last epoch's).
    fingerprint : str
        :func:`architecture_fingerprint` of the model.
    """

    records: tuple[EpochRecord, ...]
    metric: str
    best_epoch: int
    best_metric: float
    stopped_early: bool
    resumed_from: int
    restored_best: bool
    fingerprint: str

    #: NaN without a validation split (documented above).
    nonfinite_fields = ("best_metric",)

    @property
    def epochs_run(self) -> int:
        """Number of epochs completed."""
        return len(self.records)

    def column(self, name: str) -> np.ndarray:
        """One field of every record as an array, e.g. ``history.column('val_loss')``."""
        if name not in EpochRecord.__dataclass_fields__:
            raise ValueError(f"name must be a field of EpochRecord, got {name!r}")
        return np.array([getattr(r, name) for r in self.records])


def architecture_fingerprint(model: torch.nn.Module) -> str:
    """A hash of the model's class and of the names, shapes and dtypes of its parameters and buffers.

    Two models share a fingerprint exactly when a state dict of one loads into the other; the weights
    themselves are not part of it.
    """
    parts = [f"{type(model).__module__}.{type(model).__qualname__}"]
    for key, value in model.state_dict().items():
        parts.append(f"{key}:{tuple(value.shape)}:{value.dtype}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def as_split(data: Any, *, name: str = "data") -> tuple[torch.Tensor, torch.Tensor]:
    """Normalise a data split to ``(inputs, labels)`` tensors.

    Parameters
    ----------
    data : tuple (X, y) of tensors, or an object with a ``tensors`` attribute holding two tensors
        (such as :class:`torch.utils.data.TensorDataset`).
    name : str
        Parameter name for error messages.
    """
    if isinstance(data, (tuple, list)):
        items = tuple(data)
    elif isinstance(getattr(data, "tensors", None), (tuple, list)):
        items = tuple(data.tensors)
    else:
        raise TypeError(
            f"{name} must be a tuple (X, y) of tensors or a TensorDataset-like object with .tensors, "
            f"got {type(data).__name__}"
        )
    if len(items) != 2 or not all(isinstance(t, torch.Tensor) for t in items):
        raise TypeError(
            f"{name} must hold exactly two tensors (X, y), got {[type(t).__name__ for t in items]}"
        )
    x, y = items
    if x.ndim < 1 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{name}: X must have shape (n, ...) and y shape (n,), got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise TypeError(f"{name}: y must hold integer class labels, got dtype {y.dtype}")
    if x.device != y.device:
        raise ValueError(f"{name}: X is on {x.device} but y on {y.device}")
    return x, y


def _model_device_dtype(model: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    params = list(model.parameters())
    if not params:
        raise ValueError("model has no parameters to train")
    devices = {p.device for p in params}
    dtypes = {p.dtype for p in params if p.dtype.is_floating_point}
    if len(devices) != 1 or len(dtypes) != 1:
        raise ValueError(f"model must live on one device with one dtype, got {devices} and {dtypes}")
    return devices.pop(), dtypes.pop()


def _check_split(x: torch.Tensor, y: torch.Tensor, device, dtype, name: str) -> None:
    if x.device != device:
        raise ValueError(f"{name} is on {x.device} but the model on {device}: move one of them first")
    if x.dtype != dtype:
        raise ValueError(f"{name} has dtype {x.dtype} but the model {dtype}: convert one of them first")
    if y.numel() and int(y.min()) < 0:
        raise ValueError(f"{name}: labels must be >= 0, got {int(y.min())}")


def _probe(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Callable, name: str) -> None:
    """Run the model and the loss on two samples: shape mismatches surface here, before training."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            try:
                outputs = model(x[:2])
            except RuntimeError as exc:
                raise ValueError(
                    f"{name}: the model cannot run on inputs of shape {tuple(x.shape[1:])}: {exc}"
                ) from None
            if not isinstance(outputs, ExitOutputs):
                raise TypeError(f"model must return ExitOutputs from forward, got {type(outputs).__name__}")
            n_classes = outputs.logits.shape[-1]
            if int(y.max()) >= n_classes:
                raise ValueError(
                    f"{name}: labels go up to {int(y.max())} but the model has {n_classes} classes"
                )
            value = loss(outputs, y[:2])
            if not isinstance(value, torch.Tensor) or value.ndim != 0:
                raise TypeError("loss must return a scalar tensor")
    finally:
        model.train(was_training)


def _make_optimizer(optimizer: Any, model: torch.nn.Module) -> torch.optim.Optimizer:
    if optimizer is None:
        return torch.optim.Adam(model.parameters(), lr=1e-3)
    if isinstance(optimizer, torch.optim.Optimizer):
        owned = {id(p) for p in model.parameters()}
        for group in optimizer.param_groups:
            if any(id(p) not in owned for p in group["params"]):
                raise ValueError("optimizer holds parameters that are not the model's")
        return optimizer
    if callable(optimizer):
        made = optimizer(model.parameters())
        if not isinstance(made, torch.optim.Optimizer):
            raise TypeError(
                f"optimizer factory must return a torch.optim.Optimizer, got {type(made).__name__}"
            )
        return made
    raise TypeError(
        "optimizer must be None, a torch.optim.Optimizer over the model's parameters or a callable "
        f"params -> Optimizer, got {type(optimizer).__name__}"
    )


def _make_scheduler(scheduler: Any, optimizer: torch.optim.Optimizer) -> Any:
    if scheduler is None:
        return None
    if hasattr(scheduler, "step") and hasattr(scheduler, "state_dict"):
        if getattr(scheduler, "optimizer", optimizer) is not optimizer:
            raise ValueError("scheduler drives another optimizer than the one fit uses")
        return scheduler
    if callable(scheduler):
        made = scheduler(optimizer)
        if not (hasattr(made, "step") and hasattr(made, "state_dict")):
            raise TypeError("scheduler factory must return an LR scheduler (with step and state_dict)")
        return made
    raise TypeError(
        f"scheduler must be None, an LR scheduler or a callable optimizer -> scheduler, got {scheduler!r}"
    )


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _evaluate(model, loss, x, y, batch_size) -> tuple[float, float, tuple[float, ...]]:
    model.eval()
    total, correct = 0.0, None
    with torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            outputs = model(xb)
            total += float(loss(outputs, yb)) * xb.shape[0]
            hits = (outputs.logits.argmax(dim=-1) == yb).sum(dim=1)
            correct = hits if correct is None else correct + hits
    n = x.shape[0]
    exit_acc = tuple(float(c) / n for c in correct)
    return total / n, exit_acc[-1], exit_acc


def _rng_states(shuffle: np.random.Generator, device: torch.device) -> dict[str, Any]:
    states = {
        "numpy_shuffle": shuffle.bit_generator.state,
        "torch_cpu": torch.get_rng_state(),
        "python": random.getstate(),
    }
    if device.type == "cuda":
        states["torch_cuda"] = torch.cuda.get_rng_state(device)
    return states


def _set_rng_states(states: dict[str, Any], shuffle: np.random.Generator, device: torch.device) -> None:
    shuffle.bit_generator.state = states["numpy_shuffle"]
    torch.set_rng_state(states["torch_cpu"])
    random.setstate(_as_tuple(states["python"]))
    if device.type == "cuda" and "torch_cuda" in states:
        torch.cuda.set_rng_state(states["torch_cuda"], device)


def _as_tuple(value: Any) -> Any:
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


def _save_atomic(state: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _load_checkpoint(path: Path, fingerprint: str) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"checkpoint {str(path)!r} could not be read as a fit checkpoint: {exc}") from None
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise ValueError(f"checkpoint {str(path)!r} is not a checkpoint written by fit")
    if state["fingerprint"] != fingerprint:
        raise ValueError(
            f"checkpoint {str(path)!r} belongs to another model architecture "
            f"(fingerprint {state['fingerprint']}, this model {fingerprint})"
        )
    return state


def fit(
    model: torch.nn.Module,
    loss: Callable[[ExitOutputs, torch.Tensor], torch.Tensor],
    train: Any,
    val: Any = None,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    optimizer: Any = None,
    scheduler: Any = None,
    progress: bool = True,
    early_stopping: int | None = None,
    metric: str = "val_loss",
    restore_best: bool = True,
    grad_clip: float | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = True,
    callback: Callable[[EpochRecord], None] | None = None,
) -> TrainingHistory:
    r"""Train an early-exit model by mini-batch gradient descent on ``loss``.

    Each epoch visits the training split once in a fresh random order (batches of ``batch_size``, the
    last one possibly smaller), takes one optimizer step per batch, evaluates the validation split (in
    ``eval`` mode), steps the scheduler once, and writes the checkpoint.

    Parameters
    ----------
    model : torch.nn.Module
        Returns :class:`~stochdepth.nn.exits.ExitOutputs` from ``forward``; all parameters on one
        device with one floating dtype. Trained in place.
    loss : callable ``(ExitOutputs, labels) -> scalar Tensor``
        E.g. a loss of :mod:`stochdepth.nn.regularizers`.
    train, val : tuple ``(X, y)`` of tensors or TensorDataset-like
        Inputs on the model's device and of its dtype; integer labels of shape ``(n,)``. ``val`` may be
        ``None`` (then no early stopping).
    epochs : int
        Total number of epochs (counting those already in a resumed checkpoint).
    batch_size : int
        Mini-batch size; the training split must hold at least one full batch.
    seed : int
        Seeds the batch order and torch's generators (inside a fork: the caller's state is restored).
    optimizer : None, Optimizer or callable ``params -> Optimizer``
        Default ``torch.optim.Adam(lr=1e-3)``.
    scheduler : None, LR scheduler or callable ``optimizer -> scheduler``
        Stepped once per epoch (:class:`~torch.optim.lr_scheduler.ReduceLROnPlateau` receives the
        validation metric).
    progress : bool
        Show a tqdm bar over the epochs.
    early_stopping : int or None
        Patience: stop after this many epochs without improvement of ``metric``.
    metric : {'val_loss', 'val_accuracy'}
        Validation metric for early stopping and the best epoch (minimised / maximised).
    restore_best : bool
        With a validation split, leave the best epoch's weights in ``model`` at return.
    grad_clip : float or None
        Clip the gradients' global norm to this value before each step.
    checkpoint : path or None
        File written atomically after every epoch.
    resume : bool
        If ``checkpoint`` exists, continue from it (it must come from a model of the same architecture);
        with ``False`` an existing checkpoint is overwritten.
    callback : callable or None
        Called with each :class:`EpochRecord` after its checkpoint is written.

    Returns
    -------
    TrainingHistory

    Raises
    ------
    ValueError, TypeError
        Before any training, for splits whose shape, dtype or device do not match the model, labels out
        of range, a training split smaller than ``batch_size``, an unknown ``metric``, ``early_stopping``
        without ``val``, or a checkpoint of another architecture.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss):
        raise TypeError(f"loss must be callable (outputs, target) -> Tensor, got {type(loss).__name__}")
    epochs = _check_int(epochs, "epochs", 1)
    batch_size = _check_int(batch_size, "batch_size", 1)
    seed = _check_int(seed, "seed", 0)
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {sorted(_METRICS)}, got {metric!r}")
    if early_stopping is not None:
        early_stopping = _check_int(early_stopping, "early_stopping", 1)
        if val is None:
            raise ValueError("early_stopping needs a validation split: val is None")
    if grad_clip is not None and not (isinstance(grad_clip, (int, float)) and grad_clip > 0):
        raise ValueError(f"grad_clip must be a positive number or None, got {grad_clip!r}")
    device, dtype = _model_device_dtype(model)
    x_train, y_train = as_split(train, name="train")
    # inputs have the model's floating dtype unless the model declares another (token ids: int64)
    input_dtype = getattr(model, "input_dtype", None) or dtype
    _check_split(x_train, y_train, device, input_dtype, "train")
    if x_train.shape[0] < batch_size:
        raise ValueError(f"train holds {x_train.shape[0]} samples, fewer than batch_size={batch_size}")
    _probe(model, x_train, y_train, loss, "train")
    if val is not None:
        x_val, y_val = as_split(val, name="val")
        _check_split(x_val, y_val, device, input_dtype, "val")
        if x_val.shape[0] == 0:
            raise ValueError("val holds no samples")
        _probe(model, x_val, y_val, loss, "val")
    opt = _make_optimizer(optimizer, model)
    sched = _make_scheduler(scheduler, opt)
    if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau) and val is None:
        raise ValueError("scheduler ReduceLROnPlateau needs a validation metric: val is None")
    fingerprint = architecture_fingerprint(model)
    path = None if checkpoint is None else Path(checkpoint)
    saved = _load_checkpoint(path, fingerprint) if path is not None and resume and path.exists() else None
    fork = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork):
        random_state = random.getstate()
        try:
            return _run(
                model,
                loss,
                opt,
                sched,
                x_train,
                y_train,
                None if val is None else (x_val, y_val),
                epochs=epochs,
                batch_size=batch_size,
                seed=seed,
                progress=progress,
                patience=early_stopping,
                metric=metric,
                restore_best=restore_best,
                grad_clip=grad_clip,
                path=path,
                saved=saved,
                fingerprint=fingerprint,
                device=device,
                callback=callback,
            )
        finally:
            random.setstate(random_state)


def _run(
    model,
    loss,
    opt,
    sched,
    x_train,
    y_train,
    val,
    *,
    epochs,
    batch_size,
    seed,
    progress,
    patience,
    metric,
    restore_best,
    grad_clip,
    path,
    saved,
    fingerprint,
    device,
    callback,
) -> TrainingHistory:
    sign = 1.0 if _METRICS[metric] == "min" else -1.0
    shuffle = np.random.default_rng(seed)
    torch.default_generator.manual_seed(seed)
    if device.type == "cuda":
        with torch.cuda.device(device):
            torch.cuda.manual_seed(seed)
    random.seed(seed)
    records: list[EpochRecord] = []
    best = {"metric": math.nan, "epoch": 0, "bad": 0, "state": None}
    stopped = False
    if saved is not None:
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        if sched is not None and saved["scheduler"] is not None:
            sched.load_state_dict(saved["scheduler"])
        _set_rng_states(saved["rng"], shuffle, device)
        records = [
            EpochRecord(**{**r, "val_exit_accuracy": tuple(r["val_exit_accuracy"])}) for r in saved["records"]
        ]
        best = dict(saved["best"])
        stopped = saved["stopped_early"]
    resumed_from = len(records)
    n = x_train.shape[0]
    bar = tqdm(total=epochs, initial=resumed_from, disable=not progress, desc="fit", unit="epoch")
    try:
        for epoch in range(resumed_from + 1, epochs + 1):
            if stopped:
                break
            model.train()
            order = torch.from_numpy(shuffle.permutation(n)).to(x_train.device)
            total = 0.0
            lr = float(opt.param_groups[0]["lr"])
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                opt.zero_grad(set_to_none=True)
                value = loss(model(x_train[idx]), y_train[idx])
                value.backward()
                if grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                opt.step()
                total += float(value.detach()) * idx.shape[0]
            if val is not None:
                val_loss, val_acc, exit_acc = _evaluate(model, loss, *val, batch_size)
            else:
                val_loss, val_acc, exit_acc = math.nan, math.nan, ()
            record = EpochRecord(epoch, total / n, val_loss, val_acc, exit_acc, lr)
            records.append(record)
            current = val_loss if metric == "val_loss" else val_acc
            if val is not None:
                if best["epoch"] == 0 or sign * current < sign * best["metric"]:
                    best = {"metric": current, "epoch": epoch, "bad": 0, "state": _copy_state(model)}
                else:
                    best["bad"] += 1
                stopped = patience is not None and best["bad"] >= patience and epoch < epochs
            if sched is not None:
                if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    sched.step(current)
                else:
                    sched.step()
            if path is not None:
                _save_atomic(
                    {
                        "format": _FORMAT,
                        "fingerprint": fingerprint,
                        "epoch": epoch,
                        "model": model.state_dict(),
                        "optimizer": opt.state_dict(),
                        "scheduler": None if sched is None else sched.state_dict(),
                        "rng": _rng_states(shuffle, device),
                        "records": [asdict(r) for r in records],
                        "best": best,
                        "stopped_early": stopped,
                    },
                    path,
                )
            bar.update(1)
            bar.set_postfix(train_loss=f"{record.train_loss:.4g}", val_loss=f"{val_loss:.4g}")
            if callback is not None:
                callback(record)
    finally:
        bar.close()
    restored = False
    if val is not None and restore_best and best["state"] is not None and best["epoch"] != len(records):
        model.load_state_dict(best["state"])
        restored = True
    model.eval()
    return TrainingHistory(
        records=tuple(records),
        metric=metric,
        best_epoch=int(best["epoch"]),
        best_metric=float(best["metric"]),
        stopped_early=bool(stopped),
        resumed_from=resumed_from,
        restored_best=restored or (val is not None and restore_best and best["epoch"] == len(records)),
        fingerprint=fingerprint,
    )


def _copy_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
