r"""nets.sequence: a pre-LN Transformer with an exit per layer on pointer chasing (docs/science.md §B4).

Pointer chasing (:func:`stochdepth.nn.pointer_chasing`) asks for the value found after following ``k``
pointers from the first position, with ``k`` drawn per sample: each hop is one look-up by position, so
the layers a sample needs grow with ``k``. An early-exit Transformer of at least 8 layers is trained with
deep supervision over several seeds, and on the test split the experiment measures

* the accuracy of the last exit, against a target stated before the first run (in :data:`SIZES`);
* the depth matters criterion (last exit at least 3 points above the exit at half depth);
* the exit a label-aware oracle would take (:func:`~.measures.oracle_exit`) against the number of hops:
  harder samples need deeper exits when the rank correlation is positive (Spearman, one-sided p-value
  below :data:`~stochdepth.testing.tolerance.ALPHA`) and the mean oracle exit grows with the hops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stochdepth import plot
from stochdepth.testing.tolerance import ALPHA

from ..experiment import Experiment, Report
from ..formatting import fmt, fmt_p, table
from ..runner import Check, Context
from .measures import depth_matters, oracle_exit
from .regularizers import training_seeds
from .zoo import Recipe, interval_text, trained

__all__ = ["EXPERIMENT", "SIZES", "Result", "Sizes", "checks", "compute", "report"]


@dataclass(frozen=True)
class Sizes:
    """The Transformer's recipe, the training seeds, and the accuracy stated in advance."""

    recipe: Recipe
    seeds: int
    target_accuracy: float


_TASK = (("seq_len", 8), ("n_values", 4), ("max_hops", 4))


def _recipe(width: int, n_samples: int, epochs: int) -> Recipe:
    """The pointer-chasing Transformer of both profiles: 8 layers, learning rate 2e-3, the task above."""
    return Recipe(
        "pointer",
        "transformer",
        width=width,
        depth=8,
        n_samples=n_samples,
        epochs=epochs,
        lr=2e-3,
        task_settings=_TASK,
    )


#: Targets stated before the first training run: 0.9 in the full profile, 0.6 in the quick one.
SIZES: dict[str, Sizes] = {
    "quick": Sizes(_recipe(width=32, n_samples=4000, epochs=6), 1, 0.6),
    "full": Sizes(_recipe(width=64, n_samples=30000, epochs=40), 3, 0.9),
}


@dataclass(frozen=True)
class Result:
    """Per seed: last-exit and half-depth accuracy, exit accuracies, the mean oracle exit per number of
    hops, Spearman's rank correlation of hops and oracle exit and its one-sided p-value."""

    sizes: Sizes
    final: list[float]
    half: list[float]
    curves: list[list[float]]
    oracle_by_hops: list[list[float]]
    spearman: list[float]
    p_value: list[float]


def compute(sizes: Sizes, ctx: Context) -> Result:
    from scipy import stats

    hops_max = dict(sizes.recipe.task_settings)["max_hops"]
    out: dict[str, list[Any]] = {k: [] for k in ("final", "half", "curves", "oracle", "rho", "p")}
    for seed in training_seeds(ctx, sizes.seeds):
        test = trained(sizes.recipe, seed, ctx).test
        acc = np.asarray(test.correct, dtype=float).mean(axis=0)
        hops = np.rint(np.asarray(test.difficulty) * hops_max).astype(int)
        exit_ = oracle_exit(test)
        solved = exit_ < test.n_exits  # samples the last exit gets right
        rho, p = stats.spearmanr(hops[solved], exit_[solved], alternative="greater")
        out["final"].append(float(acc[-1]))
        out["half"].append(float(acc[acc.size // 2 - 1]))
        out["curves"].append(acc.tolist())
        out["oracle"].append(
            [float(exit_[solved & (hops == k)].mean()) if np.any(solved & (hops == k)) else float("nan")
             for k in range(hops_max + 1)]
        )  # fmt: skip
        out["rho"].append(float(rho))
        out["p"].append(float(p))
    return Result(sizes, out["final"], out["half"], out["curves"], out["oracle"], out["rho"], out["p"])


def checks(result: Result) -> list[Check]:
    target = result.sizes.target_accuracy
    oracle = np.nanmean(result.oracle_by_hops, axis=0)
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
            f"rank correlation of hops and oracle exit {[round(r, 3) for r in result.spearman]}, one-sided "
            f"p {[fmt_p(p) for p in result.p_value]}; "
            f"mean oracle exit by hops {np.round(oracle, 2).tolist()}",
        ),
    ]


def report(result: Result, ctx: Context) -> Report:
    oracle = np.nanmean(result.oracle_by_hops, axis=0)
    rows = [[k, fmt(v, 3)] for k, v in enumerate(oracle)]
    summary = table(["hops", "mean oracle exit (0-based)"], rows, caption=result.sizes.recipe.label)
    fig, axes = plot.figure(2, 1, width=4.2, height=3.2)
    curve = np.mean(result.curves, axis=0)
    axes[0, 0].plot(np.arange(1, curve.size + 1), curve, "o-", ms=3, label="test accuracy")
    plot.finish(axes[0, 0], xlabel="exit (layers run)", ylabel="accuracy", title="accuracy by exit")
    axes[0, 1].plot(np.arange(oracle.size), oracle + 1, "s-", ms=4, label="oracle exit")
    plot.finish(axes[0, 1], xlabel="hops", ylabel="layers run", title="oracle exit by difficulty")
    metrics = {
        "final": result.final, "half": result.half, "spearman": result.spearman, "p_value": result.p_value,
        "oracle_by_hops": oracle.tolist(), "target_accuracy": result.sizes.target_accuracy,
    }  # fmt: skip
    return Report(metrics=metrics, tables=[summary], figures=[ctx.savefig(fig, "nets_sequence")])


FIGURES = ("nets_sequence",)

EXPERIMENT = Experiment.of_module(
    __name__,
    id="nets.sequence",
    title="An early-exit Transformer on pointer chasing",
    description="docs/science.md §B4: accuracy stated in advance; harder samples need deeper exits.",
)
