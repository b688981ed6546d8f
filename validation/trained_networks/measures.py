r"""What the campaign measures on a trace: exit accuracies, residual decay, the oracle's exit depth.

All functions take :class:`~stochdepth.depth.Trace` objects (numpy only) and return plain numbers, so
the experiments' results stay JSON-able.

* :func:`exit_accuracy` -- accuracy of every exit, with a percentile-bootstrap 95% interval over the
  test samples.
* :func:`rise` -- how early the accuracy-against-depth curve rises: the mean over exits of the accuracy
  (the area under the curve against the fraction of depth), and the first exit within one point of the
  last.
* :func:`oracle_exit` -- the exit a label-aware oracle would take: the first exit from which the
  prediction stays correct up to the last exit (``n_exits`` for samples the last exit gets wrong).

And one verdict every experiment on a (task, model) pair gives: :func:`depth_matters`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["depth_matters", "exit_accuracy", "oracle_exit", "rise"]

#: Depth matters when full depth beats half depth by this much (accuracy, mean over seeds).
DEPTH_MATTERS = 0.03


def exit_accuracy(trace: Any, *, n_boot: int = 1000, rng: Any = 0) -> dict[str, list[float]]:
    """Accuracy per exit and a percentile-bootstrap 95% interval (resampling test samples).

    Returns ``{'accuracy': [...], 'low': [...], 'high': [...]}``, one entry per exit.
    """
    correct = np.asarray(trace.correct, dtype=float)
    n = correct.shape[0]
    gen = np.random.default_rng(rng)
    boot = np.empty((n_boot, correct.shape[1]))
    for b in range(n_boot):
        boot[b] = correct[gen.integers(0, n, n)].mean(axis=0)
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    return {"accuracy": correct.mean(axis=0).tolist(), "low": low.tolist(), "high": high.tolist()}


def rise(trace: Any) -> dict[str, float]:
    """How early accuracy rises with depth.

    ``area``: mean over exits of the exit accuracy (the area under accuracy against the fraction of
    blocks run; 1 for a network that is always right at once). ``first_within_1pt``: the first exit
    (1-based: the number of exits passed) whose accuracy is within 0.01 of the last exit's, as a fraction
    of the number of exits.
    """
    acc = np.asarray(trace.correct, dtype=float).mean(axis=0)
    within = np.nonzero(acc >= acc[-1] - 0.01)[0]
    return {"area": float(acc.mean()), "first_within_1pt": float((within[0] + 1) / acc.size)}


def oracle_exit(trace: Any) -> np.ndarray:
    """Per sample, the first exit (0-based) from which every later exit is right; ``n_exits`` when the
    last exit is wrong."""
    correct = np.asarray(trace.correct, dtype=bool)
    L = correct.shape[1]
    # stays[i, l]: exits l..L-1 are all right
    stays = np.flip(np.logical_and.accumulate(np.flip(correct, axis=1), axis=1), axis=1)
    first = np.where(stays.any(axis=1), stays.argmax(axis=1), L)
    return first.astype(np.int64)


def depth_matters(final: Any, half: Any) -> Any:
    """The check that depth matters for a (task, model) pair: the mean test accuracy over seeds of the
    last exit at least :data:`DEPTH_MATTERS` above that of the exit at half depth. Both accuracies, their
    difference per seed and its interval are in the detail."""
    from ..runner import Check
    from .zoo import interval_text

    gap = np.subtract(final, half)
    return Check(
        f"depth matters: full depth >= half depth + {DEPTH_MATTERS * 100:.0f} points (mean over seeds)",
        float(np.mean(gap)) >= DEPTH_MATTERS,
        f"full {interval_text(final)}, half {interval_text(half)}, difference {interval_text(gap)}; "
        f"per seed {[round(float(g), 4) for g in gap]}",
    )
