"""The three figures of depth.b6-bridge: value functions by solver, the law of the optimal depth, and the
convergence of the finite-L walk in L."""

from __future__ import annotations

from typing import Any

import numpy as np

from stochdepth import plot

from ..formatting import as_floats, fmt, loglog_slope
from ..runner import Context
from .problems import B6, BETA_BGK, inverse_gaussian

__all__ = ["law_figure", "rate_figure", "value_figure"]


def value_figure(ctx: Context, sym: dict, pde: dict, disc: dict, reg: list, k: dict, r_L: int) -> str:
    from stochdepth.depth import linear_resnet_optimal_depth

    cf = linear_resnet_optimal_depth(B6["width"], B6["target"], B6["cost"])
    fig, axes = plot.figure(2, 1, width=4.0, height=3.2)
    ax, ad = axes[0, 0], axes[0, 1]
    blue, red, green, orange, purple, sky = plot.palette(6)
    with plot.style():
        ys = np.linspace(k["ystar"] - 1.5, k["a"] + 0.2, 400)
        ax.plot(ys, cf.value(ys), color="k", lw=2.2, label="closed form")
        ax.plot(ys, -((ys - k["a"]) ** 2), color="0.6", lw=1, ls=":", label="gain $g(y)$")
        sy, sv = as_floats(sym["plot_y"]), as_floats(sym["plot_v"])
        keep = (sy >= ys[0]) & (sy <= ys[-1])
        sy, sv = sy[keep], sv[keep]
        ax.plot(sy, sv, "o", ms=3.5, mfc="none", color=purple, label="symbolic")
        py, pv = as_floats(pde["plot_y"]), as_floats(pde["plot_v"])
        ax.plot(py, pv, "--", color=orange, lw=1.5, label=f"PDE, {pde['rows'][-1]['nodes']} nodes")
        ad.plot(py, pv - cf.value(py), color=orange, lw=1.5, label="PDE")
        for (L, cur), col in zip(disc["curves"].items(), (blue, sky, green)):
            gy, gv = as_floats(cur["y"]), as_floats(cur["v"])
            keep = gy <= k["a"] + 0.1  # away from the chain's absorbing upper grid edge
            gy, gv = gy[keep], gv[keep]
            ax.plot(gy, gv, color=col, lw=1.2, label=f"Snell, $L={L}$")
            ad.plot(gy, gv - cf.value(gy), color=col, lw=1.2, label=f"Snell, $L={L}$")
        for r in reg:
            y0 = float(r["y0"])
            lo = float(r["lower"]) - plot.Z95 * float(r["lower_se"])
            hi = float(r["upper"]) + plot.Z95 * float(r["upper_se"])
            lab = "exact chain" if r is reg[0] else None
            ad.plot([y0], [float(r["exact_finite"]) - cf.value(y0)], "kx", ms=8, mew=1.5, label=lab)
            for a_, vref in ((ax, 0.0), (ad, cf.value(y0))):
                a_.errorbar(
                    [y0],
                    [0.5 * (lo + hi) - vref],
                    yerr=[[0.5 * (hi - lo)]],
                    fmt="s",
                    ms=4,
                    color=red,
                    capsize=3,
                    label=f"regression MC, $L={r_L}$, 95%" if r is reg[0] else None,
                )
        for a_ in (ax, ad):
            a_.axvline(k["ystar"], color="k", lw=0.6, ls="--", label="$y^\\star$" if a_ is ax else None)
        ad.axhline(0.0, color="k", lw=0.6)
    below = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.2), "ncol": 2}
    plot.finish(
        ax,
        xlabel="log-norm $y$",
        ylabel="$V(y)$",
        title=f"Value function, $n={B6['width']}$",
        ylim=(float(np.min(cf.value(ys))) - 0.05, 0.05),
        legend=below,
    )
    plot.finish(
        ad,
        xlabel="log-norm $y$",
        ylabel=r"$V_{\rm solver}-V$",
        title="Difference to the closed form",
        legend=below,
    )
    return ctx.savefig(fig, "depth_b6_value_functions")


def law_figure(ctx: Context, law: dict, k: dict) -> str:
    from scipy import stats

    fig, axes = plot.figure(2, 1, width=3.8, height=3.0)
    ax, ad = axes[0, 0], axes[0, 1]
    blue, orange = plot.palette(4)[0], plot.palette(4)[3]
    edges = as_floats(law["hist_edges"])
    ig = inverse_gaussian(k["mean"], k["shape"])
    t = np.linspace(1e-3, edges[-1], 400)
    pt, pp = as_floats(law["pmf_t"]), as_floats(law["pmf"])
    keep = pt <= edges[-1]
    et = as_floats(law["ecdf_t"])
    jit = as_floats(law["jit_minus_ig"])
    # the 95% acceptance band of the one-sample KS test of the networks against the exact law (the check
    # itself is at p = ALPHA; a reader expects 95% in a picture)
    c95 = float(stats.kstwo.ppf(0.95, int(law["networks"])))
    with plot.style():
        ax.stairs(as_floats(law["hist"]), edges, color=blue, lw=1.5, label=f"networks, $L={law['L']}$")
        ax.plot(t, ig.pdf(t), color="k", lw=1.8, label="inverse Gaussian")
        ax.plot(pt[keep], pp[keep], ".", ms=3, color=orange, label="exact discrete law / $h$")
        ad.fill_between(et, jit - c95, jit + c95, color="0.85", lw=0, label="95% band (KS)")
        ad.plot(et, as_floats(law["ecdf_minus_ig"]), color=blue, lw=1, label="networks")
        ad.plot(et, jit, color=orange, lw=1.5, label="exact discrete law")
        ad.axhline(0.0, color="k", lw=0.6)
    plot.finish(ax, xlabel="optimal depth-time $\\tau$", ylabel="density", title="Law of the optimal depth")
    plot.finish(ad, xlabel="depth-time $t$", ylabel="$F - F_{\\rm IG}$", title="Distance to the limit law")
    return ctx.savefig(fig, "depth_b6_depth_law")


def rate_figure(ctx: Context, Ls: Any, thr_err: Any, val_err: Any, dep_err: Any, ks: Any, k: dict) -> str:
    fig, axes = plot.figure(2, 1, width=3.8, height=3.0)
    ax, ad = axes[0, 0], axes[0, 1]
    big = Ls >= 16
    with plot.style():
        ax.loglog(Ls, thr_err, "o-", label="$y^\\star-y^\\star_L$ (exact walk)")
        ax.loglog(Ls, BETA_BGK * k["s"] / np.sqrt(Ls), "k--", lw=1, label="$\\beta s L^{-1/2}$ (BGK)")
        ad.loglog(
            Ls, np.abs(val_err), "s-", label=f"$|V-V_L|$, slope {fmt(loglog_slope(Ls[big], val_err[big]), 3)}"
        )
        slope = fmt(loglog_slope(Ls[big], dep_err[big]), 3)
        ad.loglog(
            Ls, np.abs(dep_err), "^-", label=f"$|\\mathbb{{E}}\\tau-h\\mathbb{{E}}\\tau_L|$, slope {slope}"
        )
        fin = np.isfinite(ks)
        kf = fin & big
        ad.loglog(Ls[fin], ks[fin], "d-", label=f"KS distance, slope {fmt(loglog_slope(Ls[kf], ks[kf]), 3)}")
        ad.loglog(Ls, 0.5 * np.abs(val_err[0]) * Ls[0] / Ls, "k:", lw=1, label="$L^{-1}$")
    slope = fmt(loglog_slope(Ls[big], thr_err[big]), 3)
    plot.finish(
        ax, xlabel="layers per unit depth $L$", ylabel="threshold error", title=f"Threshold, slope {slope}"
    )
    plot.finish(ad, xlabel="layers per unit depth $L$", ylabel="error", title="Value, depth and law")
    return ctx.savefig(fig, "depth_b6_convergence")
