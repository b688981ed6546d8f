r"""nets.sequence: An early-exit Transformer on the marked value

docs/science.md §B4: accuracy stated in advance; harder samples need deeper exits.

The marked value (:func:`stochdepth.nn.marked_value`) asks for the value that follows a marker placed ``p``
positions from the classification token, with ``p`` drawn per sample. The Transformer attends to ``window``
positions on either side (sliding-window attention), so the answer travels at most ``window`` positions per
layer towards the classification token that every exit reads: the layers a sample needs grow with ``p``. An
early-exit pre-LN Transformer of 8 layers is trained with deep supervision over several seeds, and on the test
split the experiment measures

* the accuracy of the last exit, against a target stated before the first run (in :data:`SIZES`);
* the depth matters criterion (last exit at least 3 points above the exit at half depth);
* the exit a label-aware oracle would take (:func:`~.measures.oracle_exit`) against the distance ``p``:
  harder samples need deeper exits when the rank correlation is positive (Spearman, one-sided p-value
  below :data:`~stochdepth.testing.tolerance.ALPHA`) and the mean oracle exit grows with ``p``.

An earlier version of this experiment used pointer chasing (:func:`stochdepth.nn.pointer_chasing`) with
full attention; on this machine's budget the Transformer learned one hop and no more (0.45 test accuracy
against the 0.6 stated, half depth as good as full depth), so nothing there measured depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stochdepth import plot
from stochdepth.testing.tolerance import ALPHA

from ..experiment import Report
from ..formatting import fmt, fmt_p, table
from ..runner import Check, Context
from .measures import depth_matters, oracle_exit
from .regularizers import training_seeds
from .zoo import Recipe, interval_text, trained

__all__ = ["SIZES", "Result", "Sizes", "checks", "compute", "report"]


@dataclass(frozen=True)
class Sizes:
    """The Transformer's recipe, the training seeds, and the accuracy stated in advance."""

    recipe: Recipe
    seeds: int
    target_accuracy: float


#: 16 values of 4 classes after the classification token; attention reaches 2 positions per layer, so
#: the farthest answer (15 positions away) needs all 8 layers and half depth reaches about half of them.
_TASK = (("seq_len", 16), ("n_values", 4))
_MODEL = (("window", 2), ("readout", "first"))


def _recipe(n_samples: int, epochs: int) -> Recipe:
    """The marked-value Transformer of both profiles: width 32, 8 layers, batches of 64, learning rate
    2e-3, the task and attention above."""
    return Recipe(
        "marked",
        "transformer",
        width=32,
        depth=8,
        n_samples=n_samples,
        epochs=epochs,
        batch_size=64,
        lr=2e-3,
        task_settings=_TASK,
        model_settings=_MODEL,
    )


#: Targets stated before the first run on the campaign's seeds: 0.9 in the quick profile and 0.95 in the
#: full one. What they were stated from, on seed 0 alone: a prototype (two-epoch warm-up, markers at
#: positions 1-14) reached 0.987 at the last exit and 0.573 at half depth; the quick recipe below, trained
#: as the campaign trains, 0.947 at the last exit (1.0 for markers 1-8 positions away, 0.987 for 9-12,
#: 0.739 for 13-15).
SIZES: dict[str, Sizes] = {
    "quick": Sizes(_recipe(n_samples=6000, epochs=15), 2, 0.9),
    "full": Sizes(_recipe(n_samples=12000, epochs=20), 3, 0.95),
}


@dataclass(frozen=True)
class Result:
    """Per seed: last-exit and half-depth accuracy, exit accuracies, the mean oracle exit per distance
    ``p = 1 .. seq_len - 1`` of the marker, Spearman's rank correlation of distance and oracle exit and
    its one-sided p-value."""

    sizes: Sizes
    final: list[float]
    half: list[float]
    curves: list[list[float]]
    oracle_by_distance: list[list[float]]
    spearman: list[float]
    p_value: list[float]


def compute(sizes: Sizes, ctx: Context) -> Result:
    from scipy import stats

    seq_len = dict(sizes.recipe.task_settings)["seq_len"]
    out: dict[str, list[Any]] = {k: [] for k in ("final", "half", "curves", "oracle", "rho", "p")}
    for seed in training_seeds(ctx, sizes.seeds):
        test = trained(sizes.recipe, seed, ctx).test
        acc = np.asarray(test.correct, dtype=float).mean(axis=0)
        distance = 1 + np.rint(np.asarray(test.difficulty) * (seq_len - 2)).astype(int)
        exit_ = oracle_exit(test)
        solved = exit_ < test.n_exits  # samples the last exit gets right
        rho, p = stats.spearmanr(distance[solved], exit_[solved], alternative="greater")
        out["final"].append(float(acc[-1]))
        out["half"].append(float(acc[acc.size // 2 - 1]))
        out["curves"].append(acc.tolist())
        by = [solved & (distance == k) for k in range(1, seq_len)]
        out["oracle"].append([float(exit_[b].mean()) if b.any() else float("nan") for b in by])
        out["rho"].append(float(rho))
        out["p"].append(float(p))
    return Result(sizes, out["final"], out["half"], out["curves"], out["oracle"], out["rho"], out["p"])


def checks(result: Result) -> list[Check]:
    target = result.sizes.target_accuracy
    oracle = np.nanmean(result.oracle_by_distance, axis=0)
    return [
        Check(
            f"Transformer reaches the accuracy stated in advance ({target:.2f})",
            float(np.mean(result.final)) >= target,
            f"last-exit test accuracy {interval_text(result.final)} over {len(result.final)} seed(s)",
        ),
        depth_matters(result.final, result.half),
        Check(
            "harder samples need deeper oracle exits (Spearman, every seed)",
            all(r > 0 and p < ALPHA for r, p in zip(result.spearman, result.p_value)),
            f"rank correlation of distance and oracle exit {[round(r, 3) for r in result.spearman]}, "
            f"one-sided p {[fmt_p(p) for p in result.p_value]}; "
            f"mean oracle exit by distance 1, 2, ... {np.round(oracle, 2).tolist()}",
        ),
    ]


def report(result: Result, ctx: Context) -> Report:
    oracle = np.nanmean(result.oracle_by_distance, axis=0)
    rows = [[k, fmt(v, 3)] for k, v in enumerate(oracle, start=1)]
    summary = table(["distance", "mean oracle exit (0-based)"], rows, caption=result.sizes.recipe.label)
    fig, axes = plot.figure(2, 1, width=4.2, height=3.2)
    curve = np.mean(result.curves, axis=0)
    axes[0, 0].plot(np.arange(1, curve.size + 1), curve, "o-", ms=3, label="test accuracy")
    plot.finish(axes[0, 0], xlabel="exit (layers run)", ylabel="accuracy", title="accuracy by exit")
    axes[0, 1].plot(np.arange(1, oracle.size + 1), oracle + 1, "s-", ms=4, label="oracle exit")
    plot.finish(
        axes[0, 1], xlabel="distance of the marker", ylabel="layers run", title="oracle exit by difficulty"
    )
    metrics = {
        "final": result.final, "half": result.half, "spearman": result.spearman, "p_value": result.p_value,
        "oracle_by_distance": oracle.tolist(), "target_accuracy": result.sizes.target_accuracy,
    }  # fmt: skip
    return Report(metrics=metrics, tables=[summary], figures=[ctx.savefig(fig, "nets_sequence")])


FIGURES = ("nets_sequence",)
