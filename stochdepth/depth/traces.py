r"""Traces of trained early-exit networks: what an exit policy may look at, per sample and per exit.

A :class:`Trace` is the record of one network run over one data split (docs/science.md §B7.1): for
sample :math:`i` and exit :math:`l`, the exit's logits, its confidence :math:`\max_c p_{il}(c)` and
entropy :math:`-\sum_cp_{il}(c)\log p_{il}(c)` (nats), a low-dimensional summary of the hidden state (its
norm and a fixed random projection to ``k`` coordinates), the residual norm :math:`\|f_l(h_l)\|`, the
label and whether the exit is right; plus the cumulative cost of each exit. The stopping side reads
traces, never the network: this module holds numpy arrays only (the recorder that runs a torch model is
:func:`stochdepth.nn.record_trace`).

A trace is saved to one ``.npz`` file, written atomically (a temporary file in the same folder, then
renamed), and validated on load.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from .._results import Result
from .._serialization import write_atomically

__all__ = ["Trace"]

_FORMAT = "stochdepth.trace"
_VERSION = 1
_OPTIONAL = ("difficulty", "halting_logits")


def _softmax_stats(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    p = np.exp(logp)
    return p.max(axis=-1), -(p * logp).sum(axis=-1)


@dataclass(frozen=True, repr=False)
class Trace(Result):
    """One network run over one data split, per sample ``i`` and exit ``l`` (``n`` samples, ``L`` exits).

    Build it with :meth:`from_outputs` (which derives confidence, entropy and correctness from the
    logits); load it with :meth:`load`.

    Attributes
    ----------
    logits : ndarray (n, L, n_classes)
    confidence, entropy : ndarray (n, L)
        Top softmax probability and softmax entropy (nats) of each exit.
    predictions : ndarray (n, L), int64
    correct : ndarray (n, L), bool
    hidden_norms : ndarray (n, L)
        :math:`\\|h_l\\|` over all non-batch dimensions.
    hidden_projection : ndarray (n, L, k)
        The flattened :math:`h_l` times a fixed random Gaussian matrix with variance ``1/dim(h_l)``.
    residual_norms : ndarray (n, L)
        :math:`\\|h_l-h_{l-1}\\|`; NaN for a block that is not residual (output shape differs from input).
    labels : ndarray (n,), int64
    flops : ndarray (L,)
        Cumulative cost of each exit.
    difficulty : ndarray (n,) or None
    halting_logits : ndarray (n, L) or None
    model : str
        Signature of the network that produced the trace (class, exits, classes, parameter shapes).
    split : str
        Name of the data split.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> trace = Trace.from_outputs(
    ...     rng.standard_normal((6, 3, 2)), np.array([0, 1, 0, 1, 0, 1]),
    ...     hidden_norms=np.ones((6, 3)), hidden_projection=np.zeros((6, 3, 2)),
    ...     residual_norms=np.ones((6, 3)), flops=np.array([1.0, 2.0, 3.0]))
    >>> trace.n_samples, trace.n_exits, trace.n_classes
    (6, 3, 2)
    >>> bool(np.all((trace.confidence >= 0.5) & (trace.entropy <= np.log(2))))
    True
    """

    logits: np.ndarray
    confidence: np.ndarray
    entropy: np.ndarray
    predictions: np.ndarray
    correct: np.ndarray
    hidden_norms: np.ndarray
    hidden_projection: np.ndarray
    residual_norms: np.ndarray
    labels: np.ndarray
    flops: np.ndarray
    difficulty: np.ndarray | None = None
    halting_logits: np.ndarray | None = None
    model: str = ""
    split: str = ""

    #: NaN for a block that is not residual (its output shape differs from its input's).
    nonfinite_fields = ("residual_norms",)

    def __post_init__(self) -> None:
        if self.logits.ndim != 3:
            raise ValueError(f"logits must have shape (n, n_exits, n_classes), got {self.logits.shape}")
        n, L, _ = self.logits.shape
        want = {
            "confidence": (n, L),
            "entropy": (n, L),
            "predictions": (n, L),
            "correct": (n, L),
            "hidden_norms": (n, L),
            "residual_norms": (n, L),
            "labels": (n,),
            "flops": (L,),
            "difficulty": (n,),
            "halting_logits": (n, L),
        }
        for name, shape in want.items():
            arr = getattr(self, name)
            if arr is None and name in _OPTIONAL:
                continue
            if not isinstance(arr, np.ndarray) or arr.shape != shape:
                got = getattr(arr, "shape", type(arr).__name__)
                raise ValueError(f"{name} must be an array of shape {shape}, got {got}")
            arr.flags.writeable = False
        proj = self.hidden_projection
        if not isinstance(proj, np.ndarray) or proj.ndim != 3 or proj.shape[:2] != (n, L):
            raise ValueError(
                f"hidden_projection must have shape ({n}, {L}, k), got {getattr(proj, 'shape', None)}"
            )
        proj.flags.writeable = False
        self.logits.flags.writeable = False
        for name in ("model", "split"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a str")

    @classmethod
    def from_outputs(
        cls,
        logits: np.ndarray,
        labels: np.ndarray,
        *,
        hidden_norms: np.ndarray,
        hidden_projection: np.ndarray,
        residual_norms: np.ndarray,
        flops: np.ndarray,
        difficulty: np.ndarray | None = None,
        halting_logits: np.ndarray | None = None,
        model: str = "",
        split: str = "",
    ) -> Trace:
        """A trace from the per-exit logits and labels; confidence, entropy and correctness derived."""
        logits = np.asarray(logits, dtype=np.float64)
        labels = np.asarray(labels)
        if labels.dtype.kind not in "iu":
            raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
        labels = labels.astype(np.int64)
        if logits.ndim != 3 or labels.shape != logits.shape[:1]:
            raise ValueError(
                f"logits (n, n_exits, n_classes) {logits.shape} and labels (n,) {labels.shape} disagree"
            )
        if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[2]):
            raise ValueError(f"labels must lie in [0, {logits.shape[2]})")
        conf, ent = _softmax_stats(logits)
        pred = logits.argmax(axis=-1).astype(np.int64)

        def f64(a: Any) -> np.ndarray | None:
            return None if a is None else np.asarray(a, dtype=np.float64)

        return cls(
            logits=logits,
            confidence=conf,
            entropy=ent,
            predictions=pred,
            correct=pred == labels[:, None],
            hidden_norms=f64(hidden_norms),
            hidden_projection=f64(hidden_projection),
            residual_norms=f64(residual_norms),
            labels=labels,
            flops=f64(flops),
            difficulty=f64(difficulty),
            halting_logits=f64(halting_logits),
            model=model,
            split=split,
        )

    @property
    def n_samples(self) -> int:
        return int(self.logits.shape[0])

    @property
    def n_exits(self) -> int:
        return int(self.logits.shape[1])

    @property
    def n_classes(self) -> int:
        return int(self.logits.shape[2])

    def accuracy(self) -> np.ndarray:
        """Accuracy of each exit, shape (L,)."""
        return self.correct.mean(axis=0)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the trace to ``path`` (one ``.npz`` file) atomically; returns the path."""
        path = Path(path)
        arrays: dict[str, np.ndarray] = {"format": np.array(_FORMAT), "version": np.array(_VERSION)}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                arrays[f.name] = np.asarray(value)
        return write_atomically(path, lambda fh: np.savez(fh, **arrays))

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        *,
        model: str | None = None,
        n_exits: int | None = None,
        n_classes: int | None = None,
    ) -> Trace:
        """Read a trace written by :meth:`save`, checking that it is what the caller expects.

        Parameters
        ----------
        path : path of the file
        model : str, optional
            Expected model signature (:func:`stochdepth.nn.model_signature`).
        n_exits, n_classes : int, optional
            Expected numbers of exits and classes.

        Raises
        ------
        ValueError
            For a file that is not a trace, of another format version, with inconsistent arrays
            (predictions or correctness that do not follow from the logits), or that differs from the
            expected model, exits or classes.
        """
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                raw = {k: data[k] for k in data.files}
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path} is not a readable trace file: {exc}") from None
        if raw.get("format") is None or str(raw["format"]) != _FORMAT:
            raise ValueError(f"{path} is not a stochdepth trace (no format '{_FORMAT}')")
        if int(raw["version"]) != _VERSION:
            raise ValueError(
                f"{path} is a trace of format version {int(raw['version'])}, expected {_VERSION}"
            )
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in raw:
                value = raw[f.name]
                kwargs[f.name] = str(value) if f.name in ("model", "split") else value
            elif f.name not in (*_OPTIONAL, "model", "split"):
                raise ValueError(f"{path} lacks the array {f.name!r}")
        try:
            trace = cls(**kwargs)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path} holds an inconsistent trace: {exc}") from None
        pred = trace.logits.argmax(axis=-1)
        if not (
            np.array_equal(pred, trace.predictions)
            and np.array_equal(pred == trace.labels[:, None], trace.correct)
        ):
            raise ValueError(
                f"{path} holds an inconsistent trace: predictions or correct do not follow from logits"
            )
        if model is not None and trace.model != model:
            raise ValueError(f"{path} is a trace of model {trace.model!r}, expected {model!r}")
        if n_exits is not None and trace.n_exits != n_exits:
            raise ValueError(f"{path} has {trace.n_exits} exits, expected n_exits={n_exits}")
        if n_classes is not None and trace.n_classes != n_classes:
            raise ValueError(f"{path} has {trace.n_classes} classes, expected n_classes={n_classes}")
        return trace
