"""The four tables of depth.b6-bridge: the solvers side by side, the finite-L walk, regression Monte
Carlo on networks, and the width threshold."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..formatting import fmt, fmt_p, fmt_pm, table
from .b6_solvers import walk_rates
from .problems import B6, closed_value

if TYPE_CHECKING:
    from .b6_bridge import Result

__all__ = ["regression_table", "summary_table", "walk_table", "width_table"]


def summary_table(result: Result, k: dict, ks: np.ndarray, Ls: np.ndarray) -> str:
    """Threshold, value, expected depth and depth law by each solver."""
    y0, sizes = B6["y0"], result.sizes
    Lr, T, Ll = sizes.reg_depth, sizes.reg_t1, sizes.law_depth
    sym, pde, drow, reg, law = (
        result.symbolic,
        result.pde,
        result.discrete["rows"],
        result.regression,
        result.depth_law,
    )
    prow = pde["rows"]
    last = drow[-1]
    ks_last = float(ks[np.isfinite(ks)][-1])
    reg_thr = next((float(r["threshold"]) for r in drow if int(r["L"]) == Lr), math.nan)
    reg0 = next((r for r in reg if float(r["y0"]) == y0), reg[0])
    pl = prow[-1]
    return table(
        [
            "quantity",
            "closed form",
            "symbolic smooth fit",
            f"PDE (N = {pl['nodes']})",
            f"discrete Snell (L = {int(last['L'])})",
            f"regression MC (L = {Lr}, horizon {T})",
        ],
        [
            [
                "threshold y*",
                fmt(k["ystar"], 6),
                fmt(sym["boundary_value"], 6),
                f"{fmt(pl['boundary'], 6)} ± {fmt(pl['bracket'], 1)}",
                fmt(last["threshold"], 6),
                "policy switch: "
                + ", ".join(f"{fmt(v, 4)} (t = {t})" for t, v in reg0.get("ls_threshold", {}).items())
                + f" (exact at L = {Lr}: {fmt(reg_thr, 4)})",
            ],
            [
                f"V(y0 = {y0})",
                fmt(k["value"], 6),
                fmt(sym["value_y0"], 6),
                fmt(pl["value_y0"], 6),
                fmt(last["value"], 6),
                f"[{fmt(reg0['lower'], 5)} ± {fmt(reg0['lower_se'], 1)}, {fmt(reg0['upper'], 5)} ± "
                f"{fmt(reg0['upper_se'], 1)}] (exact at this L, H: {fmt(reg0['exact_finite'], 6)})",
            ],
            [
                "E tau* (depth-time)",
                fmt(k["mean"], 6),
                fmt((float(sym["boundary_value"]) - y0) / k["m"], 6),
                fmt(pl["expected_depth_y0"], 6),
                fmt(last["expected_depth"], 6),
                f"policy: {fmt_pm(reg0['depth_mean'], reg0['depth_se'], 4)} (exact: "
                f"{fmt(reg0['exact_depth_finite'], 4)})",
            ],
            [
                "depth law",
                "IG",
                "IG",
                f"KS to IG {fmt(pde['cdf'][-1]['error'], 2)}",
                f"KS to IG {fmt(ks_last, 2)} (L = {int(Ls[np.isfinite(ks)][-1])})",
                f"networks (L = {Ll}) vs exact: p = {fmt_p(law['p_chain'])}",
            ],
        ],
        caption="The optimal depth of the linear random ResNet by four solvers (docs/science.md §B6)",
    )


def walk_table(result: Result, k: dict) -> str:
    """The finite-L walk at every L: errors against the limit, KS distance, certified error."""
    drow = result.discrete["rows"]
    _Ls, _thr, val_err, dep_err, _ks, _fit, const, s_thr, s_val, s_dep, s_ks = walk_rates(drow, k["s"])
    return table(
        [
            "L",
            "y*_L",
            "(y*-y*_L) sqrt(L)/s",
            "V_L(y0)",
            "V - V_L",
            "h E tau*_L",
            "error",
            "KS to IG",
            "states",
            "certified error",
        ],
        [
            [
                int(r["L"]),
                fmt(r["threshold"], 6),
                fmt(cst, 4),
                fmt(r["value"], 7),
                fmt(ve, 3),
                fmt(r["expected_depth"], 6),
                fmt(de, 3),
                fmt(r["ks"], 3),
                r["n_states"],
                fmt(r["error_bound"], 2),
            ]
            for r, cst, ve, de in zip(drow, const, val_err, dep_err)
        ],
        caption=f"Discrete Snell envelope on the exact finite-L log-norm walk (fitted slopes: threshold "
        f"{fmt(s_thr, 3)}, value {fmt(s_val, 3)}, E tau {fmt(s_dep, 3)}, KS {fmt(s_ks, 3)})",
    )


def regression_table(result: Result) -> str:
    """Regression Monte Carlo brackets on simulated networks against the exact chain, per start."""
    n, sizes, reg = B6["width"], result.sizes, result.regression
    Lr = sizes.reg_depth
    H = round(sizes.reg_t1 * Lr)
    return table(
        [
            "y0",
            "closed V",
            "exact V_L (inf)",
            "exact V_(L,H)",
            "lower ± se",
            "upper ± se",
            "P(tau = 0)",
            "E tau (policy)",
            "exact E tau_(L,H)",
            "status",
        ],
        [
            [
                r["y0"],
                fmt(closed_value(float(r["y0"])), 6),
                fmt(r["exact_infinite"], 6),
                fmt(r["exact_finite"], 6),
                fmt_pm(r["lower"], r["lower_se"], 6),
                fmt_pm(r["upper"], r["upper_se"], 6),
                fmt(r["p_stop_at_once"], 3),
                fmt_pm(r["depth_mean"], r["depth_se"], 4),
                fmt(r["exact_depth_finite"], 4),
                r["status"],
            ]
            for r in reg
        ],
        caption=f"Regression Monte Carlo on simulated width-{n} networks (L = {Lr}, horizon {H} layers); "
        "the "
        "upper bound is the nested regression martingale (a true upper bound)",
    )


def width_table(result: Result) -> str:
    """Each solver's verdict on stopping at once, per width."""
    sym, width = result.symbolic, result.width
    return table(
        [
            "n",
            "m",
            "y* (closed)",
            "stopping side",
            "closed: stop at once",
            "sympy",
            "PDE: stop below a",
            "discrete: stop at once (y0 = -0.5, 0, 0.3)",
            "exact V (L = 8, horizon 6) vs g(0)",
            "regression: P(tau = 0), lower vs g(y0)",
        ],
        [
            [
                r["width"],
                fmt(r["m"], 3),
                fmt(r["boundary"], 4),
                r["side"],
                r["closed_stop_at_once"],
                sym["structure"].get(str(r["width"]), "boundary a - c/(2m)"),
                r["pde_stop_below_target"],
                ", ".join(str(v) for v in r["discrete_stops_at_once"].values()),
                f"{fmt(r['finite_value'], 5)} vs {fmt(-(B6['target'] ** 2), 5)}",
                (
                    f"{fmt(r['regression']['p_stop_at_once'], 3)}, {fmt(r['regression']['lower'], 5)} vs "
                    f"{fmt(r['regression']['gain_y0'], 5)}"
                )
                if "regression" in r
                else "",
            ]
            for r in width["rows"]
        ],
        caption="The width threshold of B6: for n <= 2 the log-norm has no upward drift and stopping at "
        "once is optimal below the target",
    )
