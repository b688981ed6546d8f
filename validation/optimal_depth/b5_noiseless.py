r"""depth.b5-noiseless: Continuous depth without noise: closed form, upwind PDE, discrete analogue

docs/science.md §B5: boundary sqrt(c/(2 kappa)) and value against the first-order upwind PDE (grid convergence
order) and the symbolic smooth fit; the discrete tau* formula against exact solvers.

The noiseless contraction (boundary :math:`\sqrt{c/(2\kappa)}`, value) against the first-order upwind PDE
with its fitted grid convergence order, the symbolic smooth fit in :math:`u=\log d`, and the discrete
analogue's :math:`\tau^\star` formula against exact discrete solvers.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from stochdepth import Status, plot

from ..experiment import Report
from ..formatting import as_floats, fmt, loglog_slope, table
from ..runner import Check, Context, TaskOutput
from .problems import B5

__all__ = ["SIZES", "Result", "Sizes", "checks", "compute", "report"]


@dataclass(frozen=True)
class Sizes:
    """PDE grids (stationary, finite horizon), random discrete problems and the depths of the limit."""

    nodes: tuple[int, ...]
    horizon_nodes: tuple[int, ...]
    draws: int
    limit_depths: tuple[int, ...]


SIZES: dict[str, Sizes] = {
    "quick": Sizes(
        nodes=(101, 201, 401, 801), horizon_nodes=(101, 201, 401), draws=300, limit_depths=(100, 1000, 10_000)
    ),
    "full": Sizes(
        nodes=(101, 201, 401, 801, 1601, 3201),
        horizon_nodes=(101, 201, 401, 801),
        draws=3000,
        limit_depths=(100, 1000, 10_000, 100_000),
    ),
}


@dataclass(frozen=True)
class Result:
    """The continuous problem (closed form, brute force, symbolic, PDE) and the discrete analogue."""

    sizes: Sizes
    continuous: dict
    discrete: dict


def _b5_compute(nodes: tuple, hnodes: tuple) -> dict[str, Any]:
    """Closed form against a brute-force maximum, the symbolic smooth fit, and the upwind PDE."""
    import sympy

    from stochdepth.depth import noiseless_contraction
    from stochdepth.freeboundary import Implicit, solve_obstacle
    from stochdepth.symbolic.smooth_fit import solve_smooth_fit

    kappa, cost = B5["kappa"], B5["cost"]
    nc = noiseless_contraction(kappa, cost)
    # brute force: max over a grid of stopping times s (deterministic problem); the payoff
    # f(s) = -d^2 e^{-2 kappa s} - c s is concave with |f''| <= 4 kappa^2 d^2, so the grid maximum is within
    # |f''| ds^2 / 8 of the true one
    s = np.linspace(0.0, 5.0, 200_001)
    ds = s[1] - s[0]
    brute = []
    for d in (0.05, 0.15, 0.3, 0.7, 1.5, 3.0):
        best = float(np.max(-(d**2) * np.exp(-2 * kappa * s) - cost * s))
        brute.append(
            {"d": d, "closed": nc.value(d), "brute": best, "tol": 4 * kappa**2 * d**2 * ds**2 / 8 + 1e-12}
        )
    # symbolic, in u = log d (constant coefficients: du = -kappa dt, gain -e^{2u})
    u = sympy.Symbol("u", real=True)
    kap, c = sympy.symbols("kappa c", positive=True)
    sym = solve_smooth_fit(-sympy.exp(2 * u), -kap, 0, variable=u, cost=c, stopping_side="lower")
    boundary_ok = sympy.simplify(sympy.exp(sym.boundary) - sympy.sqrt(c / (2 * kap))) == 0
    d = sympy.Symbol("d", positive=True)
    closed = -c / (2 * kap) * (1 + sympy.log(2 * kap * d**2 / c))
    value_ok = (
        sympy.simplify(sympy.expand_log(sym.continuation_value.subs(u, sympy.log(d)) - closed, force=True))
        == 0
    )
    num = sym.subs(
        {kap: sympy.Rational(kappa).limit_denominator(1000), c: sympy.Rational(cost).limit_denominator(1000)}
    )
    dd = np.array([0.05, 0.15, 0.3, 1.0, 2.0])
    sym_err = float(np.max(np.abs(num.value(np.log(dd)) - nc.value(dd))))
    upper = 2.0
    rows = []
    sol = None
    for N in nodes:
        sol = solve_obstacle(nc.problem(upper, n_nodes=N), throw=False)
        fb = sol.free_boundary
        rows.append(
            {
                "nodes": N,
                "h": upper / (N - 1),
                "error": float(np.max(np.abs(sol.value - nc.value(sol.x)))),
                "boundary": fb.location,
                "bracket": fb.error,
                "residual": sol.residual,
                "status": sol.status.value,
            }
        )
    assert sol is not None
    T = 0.5
    hrows = []
    for N in hnodes:
        hs = solve_obstacle(nc.problem(upper, t1=T, n_nodes=N), scheme=Implicit(n_steps=N))
        hrows.append(
            {
                "nodes": N,
                "h": upper / (N - 1),
                "error": float(np.max(np.abs(hs.value[0] - nc.value(hs.x, t1=T)))),
            }
        )
    return {
        "boundary": nc.boundary,
        "brute": brute,
        "symbolic": {
            "boundary": str(sym.boundary),
            "value": str(sym.continuation_value),
            "boundary_ok": bool(boundary_ok),
            "value_ok": bool(value_ok),
            "verified": bool(num.verified),
            "error": sym_err,
        },
        "rows": rows,
        "horizon": T,
        "hrows": hrows,
        "plot_x": sol.x,
        "plot_v": sol.value,
    }


def _b5_discrete(ctx: Context, n_draws: int, limit_depths: tuple) -> dict[str, Any]:
    r"""The discrete analogue :math:`h_{l+1}=h_l-\alpha(h_l-y)`: closed-form :math:`\tau^\star` against the
    pathwise maximum of the deterministic residual paths and backward induction on a deterministic chain."""
    from stochdepth.depth import contraction_stopping_depth, noiseless_contraction, residual_path_problem
    from stochdepth.stopping import MarkovStoppingProblem, PathwiseMaximum, solve_stopping

    gen = np.random.default_rng(ctx.rng("draws"))
    rows = []
    for _ in range(n_draws):
        dim = int(gen.integers(1, 5))
        alpha = float(gen.uniform(0.01, 0.9))
        cost = float(math.exp(gen.uniform(math.log(1e-4), math.log(1.0))))
        y = gen.normal(size=dim)
        h0 = y + gen.normal(size=(4, dim)) * math.exp(gen.uniform(math.log(0.01), math.log(10.0)))
        d0 = np.linalg.norm(h0 - y, axis=1)
        formula = [contraction_stopping_depth(float(v), alpha, cost) for v in d0]
        horizon = max(formula) + 25
        paths = residual_path_problem(
            lambda l, h, a=alpha, t=y: -a * (h - t),
            lambda h, t=y: -np.sum((h - t) ** 2, axis=1),
            h0,
            horizon,
            cost,
        )
        pw = solve_stopping(paths, PathwiseMaximum()).tau
        # the same problem as a deterministic chain on the layer counter s = 0..K, gain -(1-alpha)^{2s} d0^2
        chain_tau = []
        for v in d0:
            K = horizon
            P = np.eye(K + 1, k=1)
            P[K, K] = 1.0
            g = -((1 - alpha) ** (2 * np.arange(K + 1))) * v * v
            prob = MarkovStoppingProblem(P, g, cost, K, initial=0)
            chain_tau.append(int(np.argmax(solve_stopping(prob).stop[np.arange(K + 1), np.arange(K + 1)])))
        # near-ties: the one-step gain (1 - (1-alpha)^2) d_l^2 within 1e-9 relative of c at l = tau or tau - 1
        ties = 0
        for v, t in zip(d0, formula):
            for ll in (t - 1, t):
                if (
                    ll >= 0
                    and abs((1 - (1 - alpha) ** 2) * (1 - alpha) ** (2 * ll) * v * v - cost) <= 1e-9 * cost
                ):
                    ties += 1
        rows.append(
            {
                "alpha": alpha,
                "cost": cost,
                "d0": d0,
                "formula": formula,
                "pathwise": pw,
                "chain": chain_tau,
                "ties": ties,
            }
        )
    nc = noiseless_contraction(B5["kappa"], B5["cost"])
    s_star = nc.stopping_time(1.0)
    lim = []
    for L in limit_depths:
        tau = contraction_stopping_depth(1.0, B5["kappa"] / L, B5["cost"] / L)
        lim.append({"L": L, "tau": tau, "scaled_error": tau - L * s_star})
    return {"rows": rows, "limit": lim, "s_star": s_star}


def compute(sizes: Sizes, ctx: Context) -> Result:
    """The continuous problem at the PDE grids and the discrete analogue at the random draws (cached)."""
    nodes, hnodes = sizes.nodes, sizes.horizon_nodes
    res = ctx.cached(
        f"continuous-{'-'.join(map(str, nodes))}-h{'-'.join(map(str, hnodes))}",
        functools.partial(_b5_compute, nodes, hnodes),
    )
    nd, lim_depths = sizes.draws, sizes.limit_depths
    disc = ctx.cached(
        f"discrete-{nd}-{'-'.join(map(str, lim_depths))}",
        functools.partial(_b5_discrete, ctx, nd, lim_depths),
    )
    return Result(sizes, res, disc)


def _orders(res: dict) -> tuple[Any, ...]:
    """Grid steps, errors and fitted orders of the stationary and finite-horizon PDE."""
    rows = res["rows"]
    h = as_floats([r["h"] for r in rows])
    err = as_floats([r["error"] for r in rows])
    hh = as_floats([r["h"] for r in res["hrows"]])
    he = as_floats([r["error"] for r in res["hrows"]])
    return h, err, loglog_slope(h, err), hh, he, loglog_slope(hh, he)


def _mismatches(disc: dict) -> tuple[int, int, int, int]:
    """Cases, formula != pathwise maximum, formula != backward induction, near-ties."""
    n_cases = sum(len(r["formula"]) for r in disc["rows"])
    mism_pw = sum(int(a != b) for r in disc["rows"] for a, b in zip(r["formula"], r["pathwise"]))
    mism_ch = sum(int(a != b) for r in disc["rows"] for a, b in zip(r["formula"], r["chain"]))
    ties = sum(int(r["ties"]) for r in disc["rows"])
    return n_cases, mism_pw, mism_ch, ties


def checks(result: Result) -> list[Check]:
    """Closed form = maximum, symbolic re-derivation, PDE orders, discrete formula and its limit."""
    out = TaskOutput()
    kappa = B5["kappa"]
    res, disc, nd = result.continuous, result.discrete, result.sizes.draws
    bstar = float(res["boundary"])
    bad = [b for b in res["brute"] if abs(float(b["closed"]) - float(b["brute"])) > float(b["tol"])]
    out.check(
        "the closed form is the maximum over stopping times",
        not bad,
        "max_s [-d^2 e^(-2 kappa s) - c s] on 200001 times in [0, 5] against V(d): "
        + ", ".join(
            f"d = {b['d']}: {fmt(abs(float(b['closed']) - float(b['brute'])), 2)}" for b in res["brute"]
        )
        + " (required <= |f''| ds^2/8, the grid error of a concave maximum)",
    )
    sym = res["symbolic"]
    out.check(
        "symbolic smooth fit in u = log d re-derives the boundary and the value",
        bool(sym["boundary_ok"] and sym["value_ok"] and sym["verified"]) and float(sym["error"]) < 1e-12,
        f"sympy: u* = {sym['boundary']} (e^u* = sqrt(c/(2 kappa)): {'yes' if sym['boundary_ok'] else 'NO'}), "
        f"V = {sym['value']} (= the closed form: {'yes' if sym['value_ok'] else 'NO'}); numeric verification "
        f"{'holds' if sym['verified'] else 'FAILS'}, max |V_sym - V| = {fmt(sym['error'], 2)} (required < "
        "1e-12)",
    )
    rows = res["rows"]
    h, err, order, _hh, he, horder = _orders(res)
    in_bracket = all(abs(float(r["boundary"]) - bstar) <= float(r["bracket"]) + float(r["h"]) for r in rows)
    out.check(
        "PDE (first-order upwind): first-order convergence to the closed form",
        0.85 <= order <= 1.15 and in_bracket and all(Status(r["status"]) is Status.CONVERGED for r in rows),
        "sup |V_h - V| on [0, 2]: "
        + ", ".join(f"h = {fmt(x, 3)}: {fmt(e, 3)}" for x, e in zip(h, err))
        + f"; fitted order {fmt(order, 3)} (upwinding is first order; required in [0.85, 1.15]); free "
        "boundary "
        "within its bracket plus one cell at every grid: " + ("yes" if in_bracket else "NO"),
    )
    out.check(
        "PDE with a finite horizon: first order in space and time together",
        0.8 <= horder <= 1.2,
        f"horizon T = {res['horizon']}, implicit Euler with as many steps as nodes: sup |V_h(0, .) - V_T| = "
        + ", ".join(f"{fmt(e, 3)}" for e in he)
        + f"; fitted order {fmt(horder, 3)} (required in [0.8, 1.2])",
    )
    n_cases, mism_pw, mism_ch, ties = _mismatches(disc)
    out.check(
        "discrete analogue: the tau* formula = the exact discrete solvers",
        mism_pw <= ties and mism_ch <= ties,
        f"{n_cases} cases ({nd} draws of alpha in [0.01, 0.9], c in [1e-4, 1] per layer, dimension 1-4, d0 "
        "from "
        f"0.01 to 10): formula != pathwise maximum of the deterministic residual paths in {mism_pw} cases, "
        f"formula != backward induction on the deterministic chain in {mism_ch}; near-ties (one-step gain = "
        "c "
        f"within 1e-9, where rounding may pick either layer): {ties} (mismatches allowed only there)",
    )
    s_star = float(disc["s_star"])
    # expansion of the formula with alpha = kappa/L, c/L: ratio_L = L s* - A + O(1/L), A = 1/4 + kappa s*/2
    # (the O(1/L) term is below 0.002 from L = 100 on), and tau* = ceil(ratio_L) adds [0, 1)
    A = 0.25 + kappa * s_star / 2
    lim = disc["limit"]
    out.check(
        "discrete analogue -> continuous depth: tau*/L -> s* at rate 1/L",
        all(-A - 0.01 <= float(r["scaled_error"]) <= 1.0 - A + 0.01 for r in lim),
        "alpha = kappa/L, cost c/L per layer, d0 = 1: L (tau*/L - s*) = "
        + ", ".join(f"{fmt(r['scaled_error'], 4)} (L = {r['L']})" for r in lim)
        + f", s* = {fmt(s_star, 6)}; derived: ratio = L s* - A + O(1/L) with A = 1/4 + kappa s*/2 = "
        f"{fmt(A, 4)}, "
        f"and the ceiling adds [0, 1), so L (tau*/L - s*) must lie in [-A, 1 - A] = [{fmt(-A, 4)}, "
        f"{fmt(1 - A, 4)}] "
        "(0.01 allowed for the O(1/L) remainder, below 0.002 from L = 100)",
    )
    return out.checks


def report(result: Result, ctx: Context) -> Report:
    """The problem, the stationary PDE table, the metrics and the figure."""
    out = Report()
    kappa, cost = B5["kappa"], B5["cost"]
    res, disc = result.continuous, result.discrete
    bstar = float(res["boundary"])
    out.notes.append(
        f"Problem: d_t = d_0 e^(-kappa t), gain -d^2, cost c per unit depth, kappa = {kappa}, c = {cost}: "
        "stop when "
        f"|d| <= sqrt(c/(2 kappa)) = {fmt(bstar, 6)}; V(d) = -(c/(2 kappa))(1 + ln(2 kappa d^2/c)) above."
    )
    rows = res["rows"]
    _h, _err, order, _hh, _he, horder = _orders(res)
    n_cases, mism_pw, mism_ch, ties = _mismatches(disc)
    lim = disc["limit"]
    out.tables.append(
        table(
            ["nodes", "h", "sup error", "free boundary", "|x* - d*|", "bracket", "LCP residual"],
            [
                [
                    r["nodes"],
                    fmt(r["h"], 3),
                    fmt(r["error"], 3),
                    fmt(r["boundary"], 6),
                    fmt(abs(float(r["boundary"]) - bstar), 2),
                    fmt(r["bracket"], 2),
                    fmt(r["residual"], 2),
                ]
                for r in rows
            ],
            caption=f"Stationary noiseless problem by the upwind PDE (d* = {fmt(bstar, 6)}; fitted order "
            f"{fmt(order, 3)})",
        )
    )
    out.metrics["b5"] = {
        "boundary": bstar,
        "order_stationary": order,
        "order_horizon": horder,
        "discrete_cases": n_cases,
        "mismatch_pathwise": mism_pw,
        "mismatch_chain": mism_ch,
        "near_ties": ties,
        "limit": lim,
    }
    out.figures.append(_b5_figure(ctx, res, disc, bstar))
    return out


def _b5_figure(ctx: Context, res: dict, disc: dict, bstar: float) -> str:
    from matplotlib.ticker import NullFormatter

    from stochdepth.depth import noiseless_contraction

    nc = noiseless_contraction(B5["kappa"], B5["cost"])
    fig, axes = plot.figure(3, 1, width=3.4, height=2.9)
    orange = plot.palette(4)[3]
    ax = axes[0, 0]
    x, v = as_floats(res["plot_x"]), as_floats(res["plot_v"])
    with plot.style():
        ax.plot(x, nc.value(x), color="k", lw=2, label="closed form")
        ax.plot(x, v, "--", color=orange, label=f"upwind PDE, {res['rows'][-1]['nodes']} nodes")
        ax.plot(x, -(x**2), ":", color="0.5", label="gain $-d^2$")
        ax.axvline(bstar, color="k", lw=0.6, ls="--", label=r"$d^\star=\sqrt{c/(2\kappa)}$")
    plot.finish(
        ax,
        xlabel="distance $d$",
        ylabel="$V(d)$",
        title="Noiseless contraction",
        ylim=(float(np.min(nc.value(x))) * 1.3, 0.01),
    )
    ax = axes[0, 1]
    with plot.style():
        for key, lab, mk in (("rows", "stationary", "o-"), ("hrows", f"horizon {res['horizon']}", "s-")):
            hh = as_floats([r["h"] for r in res[key]])
            ee = as_floats([r["error"] for r in res[key]])
            ax.loglog(hh, ee, mk, label=f"{lab}, order {fmt(loglog_slope(hh, ee), 3)}")
    ax.xaxis.set_minor_formatter(NullFormatter())
    plot.finish(ax, xlabel="grid step $h$", ylabel=r"$\sup|V_h-V|$", title="PDE convergence")
    ax = axes[0, 2]
    f = np.concatenate([r["formula"] for r in disc["rows"]]).astype(float)
    p = np.concatenate([r["pathwise"] for r in disc["rows"]]).astype(float)
    top = max(float(f.max()), 1.0)
    with plot.style():
        ax.plot(f, p, "o", ms=3, alpha=0.5, label="pathwise maximum")
        ax.plot([0, top], [0, top], "k--", lw=0.8)
    plot.finish(
        ax,
        xlabel=r"$\tau^\star$ (closed form)",
        ylabel=r"$\tau^\star$ (exact discrete solver)",
        title="Discrete analogue",
    )
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_yscale("symlog", linthresh=1.0)
    return ctx.savefig(fig, "depth_b5_noiseless")


#: The figures ``report`` saves (``python -m validation figures NAME`` redraws one).
FIGURES = ("depth_b5_noiseless",)
