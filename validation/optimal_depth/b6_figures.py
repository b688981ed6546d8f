"""The three figures of depth.b6-bridge: value functions by solver, the law of the optimal depth, and the
convergence of the finite-L walk in L."""

from __future__ import annotations

from typing import Any

import numpy as np

from stochdepth.testing.tolerance import ALPHA

from .. import plotting
from ..formatting import as_floats, fmt, loglog_slope
from ..runner import Context
from .problems import B6, BETA_BGK, inverse_gaussian

__all__ = ["law_figure", "rate_figure", "value_figure"]


def value_figure(
    ctx: Context, sym: dict, pde: dict, disc: dict, reg: list, k: dict, r_L: int, r_T: float
) -> str:
    from stochdepth.depth import linear_resnet_optimal_depth

    cf = linear_resnet_optimal_depth(B6["width"], B6["target"], B6["cost"])
    fig, axes = plotting.figure(2, 1, width=5.2, height=3.8)
    ax, ad = axes[0, 0], axes[0, 1]
    ys = np.linspace(k["ystar"] - 1.5, k["a"] + 0.2, 400)
    ax.plot(ys, cf.value(ys), color="k", lw=2.2, label="closed form (smooth fit)")
    ax.plot(ys, -((ys - k["a"]) ** 2), color="0.6", lw=1, ls=":", label="gain g(y)")
    sy, sv = as_floats(sym["plot_y"]), as_floats(sym["plot_v"])
    keep = (sy >= ys[0]) & (sy <= ys[-1])
    sy, sv = sy[keep], sv[keep]
    ax.plot(sy, sv, "o", ms=3.5, mfc="none", color="tab:purple", label="symbolic (sympy)")
    py, pv = as_floats(pde["plot_y"]), as_floats(pde["plot_v"])
    ax.plot(py, pv, "--", color="tab:orange", lw=1.5, label=f"PDE (N = {pde['rows'][-1]['nodes']})")
    ad.plot(py, pv - cf.value(py), color="tab:orange", lw=1.5, label="PDE")
    for (L, cur), col in zip(disc["curves"].items(), ("tab:blue", "tab:cyan", "tab:green")):
        gy, gv = as_floats(cur["y"]), as_floats(cur["v"])
        keep = gy <= k["a"] + 0.1  # away from the chain's absorbing upper grid edge
        gy, gv = gy[keep], gv[keep]
        ax.plot(gy, gv, color=col, lw=1.2, label=f"discrete Snell, L = {L}")
        ad.plot(gy, gv - cf.value(gy), color=col, lw=1.2, label=f"discrete Snell, L = {L}")
    for r in reg:
        y0 = float(r["y0"])
        lo = float(r["lower"]) - 2 * float(r["lower_se"])
        hi = float(r["upper"]) + 2 * float(r["upper_se"])
        lab = "exact chain, same L and horizon" if r is reg[0] else None
        ad.plot([y0], [float(r["exact_finite"]) - cf.value(y0)], "kx", ms=8, mew=1.5, label=lab)
        for a_, vref in ((ax, 0.0), (ad, cf.value(y0))):
            a_.errorbar(
                [y0],
                [0.5 * (lo + hi) - vref],
                yerr=[[0.5 * (hi - lo)]],
                fmt="s",
                ms=4,
                color="tab:red",
                capsize=3,
                label=f"regression MC (L = {r_L}, horizon {r_T}): [lower, upper] ± 2 se"
                if r is reg[0]
                else None,
            )
    for a_ in (ax, ad):
        a_.axvline(k["ystar"], color="k", lw=0.6, ls="--")
        a_.set_xlabel("log-norm y")
    ax.set_ylabel("V(y)")
    ax.set_title(f"B6 value function, n = {B6['width']}, a = {k['a']}, c = {k['c']}")
    ax.set_ylim(float(np.min(cf.value(ys))) - 0.05, 0.05)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    ad.set_ylabel("V_solver(y) - V_closed(y)")
    ad.set_title("difference to the closed form (dashed: y*)")
    ad.axhline(0.0, color="k", lw=0.6)
    ad.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    return ctx.savefig(fig, "depth_b6_value_functions")


def law_figure(ctx: Context, law: dict, k: dict) -> str:
    fig, axes = plotting.figure(2, 1, width=5.0, height=3.6)
    ax, ad = axes[0, 0], axes[0, 1]
    edges = as_floats(law["hist_edges"])
    ax.stairs(
        as_floats(law["hist"]),
        edges,
        color="tab:blue",
        lw=1.5,
        label=f"networks (L = {law['L']}, N = {law['networks']})",
    )
    ig = inverse_gaussian(k["mean"], k["shape"])
    t = np.linspace(1e-3, edges[-1], 400)
    ax.plot(t, ig.pdf(t), color="k", lw=2, label=f"IG(mean {fmt(k['mean'], 3)}, shape {fmt(k['shape'], 3)})")
    pt, pp = as_floats(law["pmf_t"]), as_floats(law["pmf"])
    keep = pt <= edges[-1]
    ax.plot(pt[keep], pp[keep], ".", ms=3, color="tab:orange", label="exact discrete law / h")
    plotting.finish(
        ax,
        xlabel="optimal depth (depth-time; 1 = one network)",
        ylabel="density",
        title="Law of the optimal depth",
    )
    et = as_floats(law["ecdf_t"])
    ad.plot(et, as_floats(law["ecdf_minus_ig"]), color="tab:blue", lw=1, label="networks: ECDF - F_IG")
    ad.plot(et, as_floats(law["jit_minus_ig"]), color="tab:orange", lw=1.5, label="exact discrete law - F_IG")
    cN = float(law["critical"])
    jit = as_floats(law["jit_minus_ig"])
    band = f"acceptance band of the exact-law KS test (p = {ALPHA:g})"
    ad.fill_between(et, jit - cN, jit + cN, color="0.85", label=band)
    ad.axhline(0.0, color="k", lw=0.6)
    plotting.finish(
        ad, xlabel="depth-time t", ylabel="CDF difference", title="Distance to the inverse Gaussian"
    )
    return ctx.savefig(fig, "depth_b6_depth_law")


def rate_figure(ctx: Context, Ls: Any, thr_err: Any, val_err: Any, dep_err: Any, ks: Any, k: dict) -> str:
    fig, axes = plotting.figure(2, 1, width=4.6, height=3.6)
    ax, ad = axes[0, 0], axes[0, 1]
    ax.loglog(Ls, thr_err, "o-", color="tab:blue", label="y* - y*_L (exact walk)")
    ax.loglog(Ls, BETA_BGK * k["s"] / np.sqrt(Ls), "k--", lw=1, label="BETA s L^-1/2 (BGK correction)")
    plotting.finish(
        ax,
        xlabel="layers per unit depth L",
        ylabel="threshold error",
        title=f"Threshold error (slope {fmt(loglog_slope(Ls[Ls >= 16], thr_err[Ls >= 16]), 3)})",
    )
    ad.loglog(
        Ls,
        np.abs(val_err),
        "s-",
        label=f"|V - V_L| (slope {fmt(loglog_slope(Ls[Ls >= 16], val_err[Ls >= 16]), 3)})",
    )
    ad.loglog(
        Ls,
        np.abs(dep_err),
        "^-",
        label=f"|E tau - h E tau_L| (slope {fmt(loglog_slope(Ls[Ls >= 16], dep_err[Ls >= 16]), 3)})",
    )
    fin = np.isfinite(ks)
    kf = fin & (Ls >= 16)
    ad.loglog(
        Ls[fin], ks[fin], "d-", label=f"KS distance to IG (slope {fmt(loglog_slope(Ls[kf], ks[kf]), 3)})"
    )
    ref = 0.5 * np.abs(val_err[0]) * Ls[0] / Ls
    ad.loglog(Ls, ref, "k:", lw=1, label="L^-1")
    plotting.finish(
        ad, xlabel="layers per unit depth L", ylabel="error", title="Value, expected depth and law"
    )
    return ctx.savefig(fig, "depth_b6_convergence")
