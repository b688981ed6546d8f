"""depth.osla: One-step look-ahead and myopic rules against the Snell policy

docs/science.md §B2 (last item): look-ahead is optimal on monotone problems and strictly worse on non-monotone
ones; gain-threshold and patience rules against the Snell policy on a B6 chain.

One-step look-ahead is optimal on monotone problems and strictly worse on non-monotone ones (a constructed
dip and the B6 chain itself); myopic rules (gain threshold, patience) against the Snell policy on a B6
chain (value-gap table).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from stochdepth import plot
from stochdepth.testing.generators import random_markov_problem, random_monotone_problem
from stochdepth.testing.tolerance import Z_MAX

from ..experiment import Report
from ..formatting import as_floats, fmt, fmt_pm, table
from ..runner import Check, Context, TaskOutput
from .problems import B6, b6_constants

__all__ = ["SIZES", "Result", "Sizes", "checks", "compute", "report"]


@dataclass(frozen=True)
class Sizes:
    """Random monotone and random chains; layers per unit depth L, depth-time t1 of the horizon (t1 L
    layers) and Monte Carlo paths of the B6 chain."""

    monotone: int
    random: int
    depth: int
    t1: float
    paths: int


SIZES: dict[str, Sizes] = {
    "quick": Sizes(monotone=200, random=200, depth=16, t1=6.0, paths=50_000),
    "full": Sizes(monotone=2000, random=2000, depth=32, t1=6.0, paths=50_000),
}


@dataclass(frozen=True)
class Result:
    """Look-ahead against Snell on random chains, the B5 chains, the dip and the B6 chain."""

    sizes: Sizes
    chains: dict
    b5: dict
    dip: dict
    b6: dict


def _osla_chains(ctx: Context, n_mono: int, n_rand: int) -> dict[str, Any]:
    from stochdepth.stopping import OneStepLookAhead, is_monotone, solve_stopping

    gen = np.random.default_rng(ctx.rng("monotone"))
    mono = []
    for k in range(n_mono):
        prob = random_monotone_problem(gen, lattice=False, finite=k % 2 == 0)
        sol = solve_stopping(prob)
        v = sol.value()
        _lo, hi = sol.value_interval()
        mono.append(
            {
                "monotone": is_monotone(prob),
                "snell": v,
                "snell_upper": hi,
                "osla": OneStepLookAhead.fit(prob).evaluate(prob).value.value,
                "finite": prob.horizon is not None,
            }
        )
    rgen = np.random.default_rng(ctx.rng("random"))
    rand = []
    for _ in range(n_rand):
        prob = random_markov_problem(rgen)
        sol = solve_stopping(prob)
        rand.append(
            {
                "monotone": is_monotone(prob),
                "snell": sol.value(),
                "snell_upper": sol.value_interval()[1],
                "osla": OneStepLookAhead.fit(prob).evaluate(prob).value.value,
            }
        )
    return {"monotone": mono, "random": rand}


def _osla_b5(ctx: Context) -> dict[str, Any]:
    """Look-ahead on the B5 discrete analogue (monotone) as a deterministic chain: it stops at tau*."""
    from stochdepth.depth import contraction_stopping_depth
    from stochdepth.stopping import MarkovStoppingProblem, OneStepLookAhead, is_monotone

    gen = np.random.default_rng(ctx.rng("b5"))
    rows = []
    for _ in range(50):
        alpha = float(gen.uniform(0.02, 0.8))
        cost = float(math.exp(gen.uniform(math.log(1e-3), math.log(0.5))))
        d0 = float(math.exp(gen.uniform(math.log(0.1), math.log(5.0))))
        tau = contraction_stopping_depth(d0, alpha, cost)
        K = tau + 20
        P = np.eye(K + 1, k=1)
        P[K, K] = 1.0
        g = -((1 - alpha) ** (2 * np.arange(K + 1))) * d0 * d0
        prob = MarkovStoppingProblem(P, g, cost, K, initial=0)
        ev = OneStepLookAhead.fit(prob).evaluate(prob)
        rows.append({"tau": tau, "osla_mean": ev.depth.mean.value, "monotone": is_monotone(prob)})
    return {"rows": rows}


def _dip_chain() -> dict[str, Any]:
    """0 -> 1 -> 2 deterministically, gains (0, -1, 10), cost 0.1: look-ahead sees the dip and stops."""
    from stochdepth.stopping import MarkovStoppingProblem, OneStepLookAhead, is_monotone, solve_stopping

    P = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
    prob = MarkovStoppingProblem(P, [0.0, -1.0, 10.0], 0.1, horizon=3, initial=0)
    return {
        "monotone": is_monotone(prob),
        "osla": OneStepLookAhead.fit(prob).evaluate(prob).value.value,
        "snell": solve_stopping(prob).value(),
    }


def _osla_b6(ctx: Context, L: int, T: float, n_paths: int) -> dict[str, Any]:
    """Policies on the B6 chain (exact finite-L walk, finite horizon): Snell, look-ahead, gain thresholds
    (exact), patience on a coarse reading of the log-norm (Monte Carlo on sampled chain paths)."""
    from stochdepth.depth import linear_resnet_stopping_problem
    from stochdepth.stopping import (
        GainThreshold,
        OneStepLookAhead,
        PathStoppingProblem,
        Patience,
        is_monotone,
        solve_stopping,
    )

    n, a, c, y0 = B6["width"], B6["target"], B6["cost"], B6["y0"]
    chain, grid = linear_resnet_stopping_problem(n, L, a, c, y0=y0)
    H = round(T * L)
    prob = chain.with_horizon(H)
    sol = solve_stopping(prob)
    snell = sol.value()
    law = sol.depth_law()
    rows = [
        {
            "policy": "Snell (optimal)",
            "value": snell,
            "se": 0.0,
            "depth": law.mean.value / L,
            "depth_se": 0.0,
            "exact": True,
        }
    ]
    osla = OneStepLookAhead.fit(prob)
    ev = osla.evaluate(prob)
    rows.append(
        {
            "policy": "one-step look-ahead",
            "value": ev.value.value,
            "se": 0.0,
            "depth": ev.depth.mean.value / L,
            "depth_se": 0.0,
            "exact": True,
        }
    )
    # OSLA threshold at a mid layer: first grid point from y0 upwards where it stops
    tab = osla.decision_table(prob)[H // 2]
    j0 = int(np.searchsorted(grid, y0))
    idx = np.nonzero(tab[j0:])[0]
    osla_thr = float(grid[j0 + idx[0]]) if idx.size else math.nan
    stop = sol.stop[H // 2]
    idx = np.nonzero(stop[j0:])[0]
    snell_thr = float(grid[j0 + idx[0]]) if idx.size else math.nan
    k = b6_constants()
    thresholds = []
    for yl in np.linspace(k["ystar"] - 0.3, k["ystar"] + 0.1, 9):
        theta = -((a - yl) ** 2)
        e = GainThreshold(theta).evaluate(prob)
        thresholds.append(
            {"y_level": float(yl), "theta": theta, "value": e.value.value, "depth": e.depth.mean.value / L}
        )
    best = max(thresholds, key=lambda r: r["value"])
    for r in (thresholds[0], best, thresholds[-1]):
        label = f"gain threshold G >= {fmt(r['theta'], 3)} (y >= {fmt(r['y_level'], 3)})"
        if r is best:
            label += ", best of 9"
        rows.append(
            {
                "policy": label,
                "value": r["value"],
                "se": 0.0,
                "depth": r["depth"],
                "depth_se": 0.0,
                "exact": True,
            }
        )
    paths = prob.sample_paths(n_paths, rng=ctx.rng("patience-paths"))
    yv = grid[paths.features[:, :, 0].astype(np.int64)]
    width = 0.25
    reading = np.floor((yv - a) / width)[:, :, None]
    coarse = PathStoppingProblem(reading, paths.gains, paths.costs)
    for kp in (1, 2, 4, 8):
        e = Patience(kp).evaluate(coarse)
        rows.append(
            {
                "policy": f"patience({kp}) on the reading floor((y - a)/{width})",
                "value": e.value.value,
                "se": e.value.stderr,
                "depth": e.depth.mean.value / L,
                "depth_se": e.depth.mean.stderr / L,
                "exact": False,
            }
        )
    e = solve_stopping(prob).policy.evaluate(paths)
    snell_mc = {"value": e.value.value, "se": e.value.stderr}
    return {
        "L": L,
        "H": H,
        "monotone": is_monotone(prob),
        "snell": snell,
        "error_bound": float(sol.error_bound),
        "rows": rows,
        "thresholds": thresholds,
        "osla_threshold": osla_thr,
        "snell_threshold": snell_thr,
        "snell_mc": snell_mc,
    }


def compute(sizes: Sizes, ctx: Context) -> Result:
    """Every chain solved and every policy evaluated (each piece cached)."""
    n_mono, n_rand = sizes.monotone, sizes.random
    ch = ctx.cached(f"chains-{n_mono}-{n_rand}", functools.partial(_osla_chains, ctx, n_mono, n_rand))
    b5 = ctx.cached("b5-chains", functools.partial(_osla_b5, ctx))
    dip = ctx.cached("dip", _dip_chain)
    L, T, Np = sizes.depth, sizes.t1, sizes.paths
    b6 = ctx.cached(f"b6-L{L}-T{T}-N{Np}", functools.partial(_osla_b6, ctx, L, T, Np))
    return Result(sizes, ch, b5, dip, b6)


def _random_gaps(rand: list) -> tuple[np.ndarray, np.ndarray, int, int]:
    """V_Snell - V_OSLA on the random chains, its scale, the non-monotone and strictly worse counts."""
    worse = as_floats([float(r["snell"]) - float(r["osla"]) for r in rand])
    rscale = as_floats([1.0 + abs(float(r["snell"])) for r in rand])
    n_nonmono = sum(not bool(r["monotone"]) for r in rand)
    strictly = int(np.sum(worse > 1e-9 * rscale))
    return worse, rscale, n_nonmono, strictly


def checks(result: Result) -> list[Check]:
    """Look-ahead optimal where monotone, strictly worse on the dip and B6; nothing beats Snell."""
    out = TaskOutput()
    ch, b5, dip, b6 = result.chains, result.b5, result.dip, result.b6
    L, Np = result.sizes.depth, result.sizes.paths
    mono = ch["monotone"]
    all_mono = all(bool(r["monotone"]) for r in mono)
    gaps = as_floats([float(r["snell"]) - float(r["osla"]) for r in mono])
    scale = as_floats([1.0 + abs(float(r["snell"])) for r in mono])
    n_fin = sum(bool(r["finite"]) for r in mono)
    out.check(
        "one-step look-ahead is optimal on monotone problems",
        all_mono and bool(np.all(np.abs(gaps) <= 1e-9 * scale)),
        f"{len(mono)} random monotone chains ({n_fin} finite horizon, {len(mono) - n_fin} infinite; upward "
        "moves, "
        f"non-increasing one-step gain), all recognised as monotone: {'yes' if all_mono else 'NO'}; max "
        "|V_Snell - "
        f"V_OSLA| = {fmt(np.max(np.abs(gaps)), 2)} (exact evaluations; required <= 1e-9 (1 + |V|))",
    )
    b5_ok = all(bool(r["monotone"]) and float(r["osla_mean"]) == float(r["tau"]) for r in b5["rows"])
    out.check(
        "look-ahead on the B5 discrete analogue stops exactly at tau*",
        b5_ok,
        f"{len(b5['rows'])} deterministic contraction chains (alpha in [0.02, 0.8], c in [1e-3, 0.5], d0 in "
        "[0.1, 5]): monotone, and the look-ahead depth equals the closed-form tau* in every case",
    )
    out.check(
        "look-ahead is strictly worse on a non-monotone problem (constructed dip)",
        (not dip["monotone"]) and float(dip["osla"]) == 0.0 and abs(float(dip["snell"]) - 9.8) < 1e-12,
        "0 -> 1 -> 2 deterministically, gains (0, -1, 10), cost 0.1: look-ahead compares 0 with -1 - 0.1 and "
        f"stops at once (value {fmt(dip['osla'])}), the optimum goes through the dip: 10 - 0.2 = 9.8 (solved "
        f"{fmt(dip['snell'], 6)}); monotone: {dip['monotone']}",
    )
    rows = b6["rows"]
    snell = float(b6["snell"])
    osla_v = float(rows[1]["value"])
    out.check(
        "look-ahead is strictly worse on the B6 chain, which is not monotone",
        (not b6["monotone"]) and snell - osla_v > 10 * float(b6["error_bound"]) + 1e-12,
        f"exact walk of the width-{B6['width']} network, L = {L}, horizon {b6['H']} layers: the walk can "
        "fall "
        "back out of the look-ahead set (monotone: "
        f"{b6['monotone']}); V_Snell - V_OSLA = {fmt(snell - osla_v, 3)} (both exact: backward induction and "
        f"exact policy evaluation, certified error {fmt(b6['error_bound'], 2)}). Look-ahead stops at y >= "
        f"{fmt(b6['osla_threshold'], 4)} (about a - (c + "
        f"s^2)/(2m) = {fmt(B6['target'] - (B6['cost'] + 1 / B6['width']) / (2 * b6_constants()['m']), 4)}), "
        "the "
        f"Snell policy at {fmt(b6['snell_threshold'], 4)}: the optimal policy waits because the walk's noise "
        "makes continuing worth more than one step's expected gain",
    )
    rand = ch["random"]
    worse, rscale, n_nonmono, strictly = _random_gaps(rand)
    strict_all_nonmono = all(
        not bool(r["monotone"]) for r, w, sc in zip(rand, worse, rscale) if w > 1e-9 * sc
    )
    out.check(
        "no policy beats the Snell envelope (random chains)",
        bool(np.all(worse >= -1e-9 * rscale)),
        f"{len(rand)} random chains ({n_nonmono} not monotone): look-ahead value <= Snell value in all (min "
        f"V_Snell - V_OSLA = {fmt(worse.min(), 2)}); strictly worse in {strictly}, all of them non-monotone: "
        f"{'yes' if strict_all_nonmono else 'NO'}",
        consistency=True,
    )
    exact_ok = all(float(r["value"]) <= snell + 1e-10 * (1 + abs(snell)) for r in rows if r["exact"])
    mc_ok = all(float(r["value"]) <= snell + Z_MAX * float(r["se"]) for r in rows if not r["exact"])
    smc = b6["snell_mc"]
    z_mc = (float(smc["value"]) - snell) / float(smc["se"])
    out.check(
        "myopic rules never beat the Snell policy on the B6 chain",
        exact_ok and mc_ok,
        f"gain thresholds (exact) <= V_Snell = {fmt(snell, 6)}; patience rules (Monte Carlo on {Np} chain "
        "paths) <= V_Snell + 5 se (optimality of the envelope on the solver's own chain: true by "
        "construction)",
        consistency=True,
    )
    out.check(
        "the Snell policy simulated on the B6 chain attains the exact value",
        abs(z_mc) <= Z_MAX,
        f"the Snell policy on {Np} simulated chain paths: {fmt_pm(smc['value'], smc['se'])} against the "
        f"exact backward-induction value {fmt(snell, 6)} (z = {fmt(z_mc, 3)}, required |z| <= {Z_MAX:g})",
    )
    return out.checks


def report(result: Result, ctx: Context) -> Report:
    """The policy table on the B6 chain, the metrics and the figure."""
    out = Report()
    ch, b6 = result.chains, result.b6
    L, Np = result.sizes.depth, result.sizes.paths
    mono, rand, rows = ch["monotone"], ch["random"], b6["rows"]
    snell = float(b6["snell"])
    gaps = as_floats([float(r["snell"]) - float(r["osla"]) for r in mono])
    worse, _rscale, n_nonmono, strictly = _random_gaps(rand)
    out.tables.append(
        table(
            ["policy", "value", "gap to Snell", "gap / se", "E depth (depth-time)", "evaluation"],
            [
                [
                    r["policy"],
                    fmt_pm(r["value"], r["se"], 6) if not r["exact"] else fmt(r["value"], 6),
                    fmt(snell - float(r["value"]), 3),
                    fmt((snell - float(r["value"])) / float(r["se"]), 3) if not r["exact"] else "",
                    fmt_pm(r["depth"], r["depth_se"], 4) if not r["exact"] else fmt(r["depth"], 4),
                    "exact" if r["exact"] else f"{Np} paths",
                ]
                for r in rows
            ],
            caption=f"Stopping rules on the B6 chain (width {B6['width']}, L = {L}, horizon {b6['H']} "
            "layers, start "
            f"y0 = {B6['y0']})",
        )
    )
    out.metrics["osla"] = {
        "monotone_chains": len(mono),
        "max_monotone_gap": float(np.max(np.abs(gaps))),
        "random_chains": len(rand),
        "random_non_monotone": n_nonmono,
        "random_strictly_worse": strictly,
        "b6": {
            key: b6[key]
            for key in ("L", "H", "monotone", "snell", "error_bound", "osla_threshold", "snell_threshold")
        },
        "b6_rows": rows,
    }
    out.figures.append(_osla_figure(ctx, b6, worse, rand))
    return out


def _osla_figure(ctx: Context, b6: dict, worse: np.ndarray, rand: list) -> str:
    fig, axes = plot.figure(2, 1, width=3.8, height=3.0)
    ax = axes[0, 0]
    th = b6["thresholds"]
    green, orange, purple = plot.palette(5)[2:]
    with plot.style():
        ax.plot(
            [float(r["depth"]) for r in th],
            [float(r["value"]) for r in th],
            "o-",
            color=green,
            ms=4,
            label="gain thresholds (exact)",
        )
        for r in b6["rows"]:
            if r["policy"].startswith("patience"):
                ax.errorbar(
                    [float(r["depth"])],
                    [float(r["value"])],
                    yerr=[plot.Z95 * float(r["se"])],
                    fmt="s",
                    color=purple,
                    ms=4,
                )
        ax.plot([], [], "s", color=purple, label="patience 1, 2, 4, 8 (95%)")
        osla = b6["rows"][1]
        ax.plot([float(osla["depth"])], [float(osla["value"])], "D", color=orange, ms=7, label="look-ahead")
        sn = b6["rows"][0]
        ax.plot([float(sn["depth"])], [float(sn["value"])], "*", color="k", ms=12, label="Snell (optimal)")
    plot.finish(
        ax,
        xlabel="mean depth-time",
        ylabel=r"value $\mathbb{E}\,Z_\tau$",
        title=f"Rules on the B6 chain, $L={b6['L']}$",
    )
    ax = axes[0, 1]
    mono = np.array([bool(r["monotone"]) for r in rand])
    scale = as_floats([1.0 + abs(float(r["snell"])) for r in rand])
    strict = worse > 1e-9 * scale
    bins = np.logspace(-7, 1, 33)
    with plot.style():
        # non-monotone chains are intended counterexamples (look-ahead may lose there); on a monotone
        # chain a loss would be a failure of the claim
        counter, failed = plot.outcome("counterexample")["color"], plot.outcome("fail")["color"]
        lab = f"non-monotone (counterexamples): {int((strict & ~mono).sum())} of {int((~mono).sum())}"
        ax.hist(np.clip(worse[strict & ~mono], 1e-7, None), bins=bins, color=counter, alpha=0.6, label=lab)
        lab = f"monotone (would fail): {int((strict & mono).sum())} of {int(mono.sum())}"
        ax.hist(np.clip(worse[strict & mono], 1e-7, None), bins=bins, color=failed, alpha=0.9, label=lab)
    plot.finish(
        ax,
        xscale="log",
        xlabel=r"$V_{\rm Snell}-V_{\rm OSLA}$ where look-ahead is worse",
        ylabel="random chains",
        title=f"Look-ahead optimal on {int((~strict).sum())} of {worse.size}",
    )
    return ctx.savefig(fig, "depth_osla")


#: The figures ``report`` saves (``python -m validation figures NAME`` redraws one).
FIGURES = ("depth_osla",)
