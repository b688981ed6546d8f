r"""nets.continuous: A neural ODE with an exit at every step (MNIST-1D)

docs/science.md §B5: a continuous-depth block trains; its path is recorded at every step.

:class:`stochdepth.nn.NeuralODE` integrates :math:`dh=f(h,t)\,dt` on :math:`[0,1]` with fixed Euler steps and
one exit head shared by all depth-times, so an exit can be taken at any step. It is trained with deep
supervision on MNIST-1D and its test trace records, at every step, the exit's prediction and the hidden
state's norm and projection (the path :math:`t\mapsto h_t`).

Checks: the block trains (last-exit accuracy far above chance and above the exit at :math:`t=0`, which
reads the input map alone, beyond their bootstrap intervals); the path is recorded at every step (a
finite hidden summary at each of the ``n_steps + 1`` depth-times).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stochdepth import plot

from ..experiment import Report
from ..formatting import fmt
from ..runner import Check, Context
from .measures import exit_accuracy
from .regularizers import training_seeds
from .zoo import Recipe, trained

__all__ = ["SIZES", "Result", "Sizes", "checks", "compute", "report"]


@dataclass(frozen=True)
class Sizes:
    """The neural ODE's recipe (``depth`` is the number of Euler steps)."""

    recipe: Recipe


SIZES: dict[str, Sizes] = {
    "quick": Sizes(Recipe("mnist1d", "ode", width=64, depth=8, n_samples=3000, epochs=10)),
    "full": Sizes(Recipe("mnist1d", "ode", width=128, depth=16, n_samples=5000, epochs=30)),
}


@dataclass(frozen=True)
class Result:
    """Exit accuracies with bootstrap intervals, the mean hidden norm per step and whether the hidden
    summaries are finite at every step."""

    sizes: Sizes
    n_classes: int
    accuracy: dict
    hidden_norms: list[float]
    path_finite: bool
    n_exits: int


def compute(sizes: Sizes, ctx: Context) -> Result:
    test = trained(sizes.recipe, training_seeds(ctx, 1)[0], ctx).test
    finite = bool(np.isfinite(test.hidden_projection).all() and np.isfinite(test.hidden_norms).all())
    return Result(
        sizes,
        test.n_classes,
        exit_accuracy(test, rng=ctx.rng("bootstrap")),
        np.asarray(test.hidden_norms).mean(axis=0).tolist(),
        finite,
        test.n_exits,
    )


def _point(acc: dict, k: int) -> str:
    return f"{fmt(acc['accuracy'][k], 3)} [{fmt(acc['low'][k], 3)}, {fmt(acc['high'][k], 3)}]"


def checks(result: Result) -> list[Check]:
    acc = result.accuracy
    chance = 1.0 / result.n_classes
    return [
        Check(
            "the neural ODE trains: t=1 beats t=0 and chance beyond their 95% intervals",
            acc["low"][-1] > max(acc["high"][0], 2 * chance),
            f"accuracy at t=1 {_point(acc, -1)}, at t=0 {_point(acc, 0)}, chance {chance:.2f}",
        ),
        Check(
            "the hidden-state path is recorded at every Euler step",
            result.path_finite and result.n_exits == result.sizes.recipe.depth + 1,
            f"{result.n_exits} exits for {result.sizes.recipe.depth} steps, "
            f"summaries finite: {result.path_finite}",
        ),
    ]


def report(result: Result, ctx: Context) -> Report:
    acc = result.accuracy
    t = np.linspace(0.0, 1.0, result.n_exits)
    fig, axes = plot.figure(2, 1, width=4.2, height=3.2)
    axes[0, 0].plot(t, acc["accuracy"], "o-", ms=3, label="test accuracy")
    axes[0, 0].fill_between(t, acc["low"], acc["high"], alpha=0.3, label="95% bootstrap")
    plot.finish(axes[0, 0], xlabel="depth-time $t$", ylabel="accuracy", title="exit at any step")
    axes[0, 1].plot(t, result.hidden_norms, "o-", ms=3, label=r"mean $\|h_t\|$")
    plot.finish(axes[0, 1], xlabel="depth-time $t$", ylabel="norm", title="hidden-state path")
    metrics = {"accuracy": acc, "hidden_norms": result.hidden_norms, "n_exits": result.n_exits}
    return Report(metrics=metrics, figures=[ctx.savefig(fig, "nets_continuous")])


FIGURES = ("nets_continuous",)
