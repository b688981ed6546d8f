r"""random.weak-error: Weak error of the depth limit against L

docs/science.md §A2-A3: the depth error of a random ResNet is the weak error of Euler-Maruyama, expected
O(1/L); coupled depths, fitted slopes with confidence intervals.

The depth error :math:`\mathbb E f(Y_L)-\mathbb E f(X_1)` is the weak error of Euler--Maruyama,
:math:`C/L+O(L^{-2})`; :func:`stochdepth.limits.weak_error_study` fits the slope of coupled level
differences :math:`|D_L|\approx C'L^{-p}`. Checks :math:`|{-p}+1|\le` :data:`~.common.SLOPE_TOL` for the
designated (activation, observable) pairs of the profile; for the linear network also the exact
:math:`\mathbb E\|Y_L\|^2=n\sigma_0^2(1+1/L)^L` and the exact pre-asymptotic slope on the same depths.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from stochdepth import Status, plot
from stochdepth.testing.tolerance import Z_MAX

from ..experiment import Report
from ..formatting import fmt_p, max_abs, table
from ..runner import Check, Context
from .common import SLOPE_TOL

__all__ = ["SIZES", "Result", "Sizes", "checks", "compute", "report"]


@dataclass(frozen=True)
class Sizes:
    """Width, coupled depths and ``(activation, paths, observables whose slope is checked)`` cases."""

    weak_width: int
    weak_steps: tuple[int, ...]
    weak_cases: tuple[tuple[str, int, tuple[str, ...]], ...]


SIZES: dict[str, Sizes] = {
    "quick": Sizes(
        weak_width=4,
        weak_steps=(8, 16, 32, 64, 128),
        weak_cases=(
            ("linear", 400_000, ("squared_norm",)),
            ("tanh", 400_000, ("log1p_post_squared_norm",)),
            ("relu", 100_000, ()),
        ),
    ),
    "full": Sizes(
        weak_width=4,
        weak_steps=(8, 16, 32, 64, 128, 256),
        weak_cases=(
            ("linear", 2_000_000, ("squared_norm",)),
            ("tanh", 2_000_000, ("squared_norm", "log1p_post_squared_norm")),
            ("relu", 2_000_000, ("squared_norm",)),
        ),
    ),
}


@dataclass(frozen=True)
class Result:
    """Per activation, the coupled differences, means and fitted rate of every observable (``obs``)."""

    sizes: Sizes
    studies: dict[str, dict[str, Any]]


def _weak_case(ctx: Context, act: str, n: int, N: int, steps: tuple) -> dict[str, Any]:
    from stochdepth.limits import weak_error_study

    study = weak_error_study(np.ones(4), n, act, steps=steps, n_paths=N, rng=ctx.rng(f"weak/{act}"))
    obs = {}
    for name, f in study.fits.items():
        obs[name] = {
            "diff": [[d.value, d.stderr] for d in study.differences[name]],
            "mean": [[m.value, m.stderr] for m in study.means[name]],
            "rate": f.rate,
            "rate_stderr": f.rate_stderr,
            "rate_ci": list(f.rate_ci),
            "constant": f.constant,
            "status": f.status.value,
            "message": f.message,
            "chi2_pvalue": f.chi2_pvalue,
            "resolved": f.resolved,
            "exact": None if study.exact[name] is None else study.exact[name],
        }
    return {"steps": study.steps, "obs": obs}


def compute(sizes: Sizes, ctx: Context) -> Result:
    """One coupled weak-error study per activation."""
    n, steps = sizes.weak_width, tuple(sizes.weak_steps)
    studies = {}
    for act, N, _checked in sizes.weak_cases:
        key = f"weak-{act}-n{n}-N{N}-" + "-".join(map(str, steps))
        studies[act] = ctx.cached(key, functools.partial(_weak_case, ctx, act, n, N, steps))
    return Result(sizes, studies)


def _exact_linear(result: Result) -> dict[str, Any] | None:
    """The linear network's squared norm against its exact means, or ``None`` without them."""
    from stochdepth.stats import weak_error_fit_differences

    lin = result.studies.get("linear")
    if lin is None or lin["obs"]["squared_norm"]["exact"] is None:
        return None
    o = lin["obs"]["squared_norm"]
    exact = np.asarray(o["exact"], dtype=float)
    mean = np.asarray(o["mean"], dtype=float)
    exact_fit = weak_error_fit_differences(result.sizes.weak_steps, [(d, 0.0) for d in np.diff(exact)])
    return {"obs": o, "z": (mean[:, 0] - exact) / mean[:, 1], "exact_rate": exact_fit.rate}


def checks(result: Result) -> list[Check]:
    """Slope -1 of the designated observables; the linear network against its exact means and slope."""
    n, steps = result.sizes.weak_width, tuple(result.sizes.weak_steps)
    out = []
    for act, N, checked in result.sizes.weak_cases:
        for name, o in result.studies[act]["obs"].items():
            if name not in checked:
                continue
            rate, se = float(o["rate"]), float(o["rate_stderr"])
            lo, hi = (float(v) for v in o["rate_ci"])
            n_res = int(np.count_nonzero(o["resolved"]))
            ok = math.isfinite(rate) and n_res >= 3 and abs(1.0 - rate) <= SLOPE_TOL
            out.append(
                Check(
                    f"weak error slope of E {name} ({act}) is -1",
                    ok,
                    f"{act}, n={n}, {N:,} paths per pair of coupled depths L = {steps[0]}..{steps[-1]}: "
                    "fitted "
                    f"slope {-rate:.3f} ± {se:.3f} (95% CI [{-hi:.3f}, {-lo:.3f}], status {o['status']}, "
                    f"{n_res} of {len(o['diff'])} differences resolved, chi2 p {fmt_p(o['chi2_pvalue'])}); "
                    f"|slope + 1| = {abs(1.0 - rate):.3f}, required <= {SLOPE_TOL} with >= 3 resolved levels",
                )
            )
    lin = _exact_linear(result)
    if lin is not None:
        o, z = lin["obs"], lin["z"]
        out.append(
            Check(
                "linear: Monte Carlo E|Y_L|^2 = exact n sigma0^2 (1 + 1/L)^L at every depth",
                max_abs(z) <= Z_MAX,
                "z-scores (MC - exact)/stderr at L = "
                + ", ".join(f"{int(L)}: {v:+.2f}" for L, v in zip(steps, z))
                + f"; required |z| <= {Z_MAX:g}",
            )
        )
        rate = float(o["rate"])
        gap = abs(rate - lin["exact_rate"]) / float(o["rate_stderr"])
        out.append(
            Check(
                "linear: Monte Carlo slope = slope of the exact finite-depth errors on the same depths",
                gap <= Z_MAX,
                f"MC slope {-rate:.3f} ± {float(o['rate_stderr']):.3f}, exact {-lin['exact_rate']:.4f} "
                "(fit of the exact "
                f"differences of (1 + 1/L)^L; its distance to -1 is the 1/L^2 term at these depths); "
                f"|difference| = {gap:.2f} stderr, required <= {Z_MAX:g}",
            )
        )
    return out


def _table(result: Result) -> tuple[str, dict[str, Any], list[str]]:
    """The table of fitted slopes, their metrics and notes on unresolved fits that are not checked."""
    n, steps = result.sizes.weak_width, result.sizes.weak_steps
    rows, metrics, notes = [], {}, []
    for act, N, checked in result.sizes.weak_cases:
        for name, o in result.studies[act]["obs"].items():
            rate, se = float(o["rate"]), float(o["rate_stderr"])
            lo, hi = (float(v) for v in o["rate_ci"])
            n_res = int(np.count_nonzero(o["resolved"]))
            metrics[f"{act}/{name}"] = {
                "slope": -rate,
                "slope_stderr": se,
                "status": o["status"],
                "resolved_levels": n_res,
                "paths": N,
            }
            rows.append(
                [
                    act,
                    name,
                    f"{N:,}",
                    f"{-rate:.3f} ± {se:.3f}" if math.isfinite(rate) else "nan",
                    f"[{-hi:.3f}, {-lo:.3f}]" if math.isfinite(rate) else "-",
                    o["status"],
                    f"{n_res}/{len(o['diff'])}",
                    fmt_p(o["chi2_pvalue"]),
                    "yes" if name in checked else "reported",
                ]
            )
            if name not in checked and Status(o["status"]) is not Status.OK:
                notes.append(f"{act}, E {name}: {o['status']} at {N:,} paths ({o['message']}).")
    slopes = table(
        [
            "activation",
            "observable f",
            "paths",
            "slope of E f(Y_L) error",
            "95% CI",
            "status",
            "resolved",
            "chi2 p",
            "checked",
        ],
        rows,
        caption=f"Weak error against depth, width n={n}, coupled depths L = {', '.join(map(str, steps))}",
    )
    return slopes, metrics, notes


_LABELS = {"squared_norm": r"$\|Y_L\|^2$", "log1p_post_squared_norm": r"$\log(1+\|\phi(Y_L)\|^2)$"}


def _fit(o: dict[str, Any], Ls: np.ndarray) -> SimpleNamespace:
    """The kept fit of one observable in the attributes of a ``WeakErrorFit`` (for ``plot.weak_error``)."""
    d = np.asarray(o["diff"], dtype=float)
    return SimpleNamespace(
        steps=Ls[:-1],
        errors=d[:, 0],
        errors_stderr=d[:, 1],
        resolved=np.asarray(o["resolved"], dtype=bool),
        rate=float(o["rate"]),
        rate_ci=tuple(float(v) for v in o["rate_ci"]),
        constant=float(o["constant"]),
    )


def _figure(result: Result, ctx: Context) -> str:
    """|coupled differences| against L with 95% bars and fitted rates; exact differences (linear)."""
    n, cases = result.sizes.weak_width, result.sizes.weak_cases
    Ls = np.asarray(result.sizes.weak_steps, dtype=float)
    fig, axes = plot.figure(ncols=len(cases), width=3.6, height=3.0)
    for ax, (act, _N, _checked) in zip(axes[0], cases):
        obs = result.studies[act]["obs"]
        plot.weak_error({name: _fit(o, Ls) for name, o in obs.items()}, labels=_LABELS, axes=ax)
        for name, o in obs.items():
            if o["exact"] is not None:
                exact = np.abs(np.diff(np.asarray(o["exact"], dtype=float)))
                ax.plot(Ls[:-1], exact, "kx", ms=6, label=f"exact, {_LABELS.get(name, name)}")
        plot.finish(ax, title=f"{act}, $n={n}$", legend={"loc": "lower left"})
    return ctx.savefig(fig, "random_weak_error")


def report(result: Result, ctx: Context) -> Report:
    """The slope table and metrics (with the exact linear slope), notes and the figure."""
    table, fits, notes = _table(result)
    metrics: dict[str, Any] = {"fits": fits}
    lin = _exact_linear(result)
    if lin is not None:
        metrics["linear_exact_slope"] = -float(lin["exact_rate"])
    return Report(metrics=metrics, tables=[table], figures=[_figure(result, ctx)], notes=notes)


#: The figures ``report`` saves (``python -m validation figures NAME`` redraws one).
FIGURES = ("random_weak_error",)
