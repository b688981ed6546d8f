r"""depth.b6-bridge: The optimal depth of the linear random ResNet by four solvers

docs/science.md §B6 and C3: closed form and symbolic smooth fit, the obstacle PDE, the Snell envelope of the
exact finite-L walk (rates in L) and regression Monte Carlo on simulated networks agree on the threshold,
value, expected depth and the inverse-Gaussian depth law; n <= 2 stops at once.

Gain :math:`-(y-a)^2` on the log-norm, cost :math:`c` per unit depth: the closed form and its symbolic
smooth-fit derivation, the obstacle-problem PDE, the exact Snell envelope of the finite-:math:`L` log-norm
walk (convergence in :math:`L` with fitted rates) and regression Monte Carlo on simulated networks
(interval :math:`[\text{lower},\text{upper}]`) -- for the threshold, the value, :math:`\mathbb E\tau^\star`
and the inverse-Gaussian law of the depth (one-sample tests of simulated networks' optimal depths); and the
width threshold (:math:`n\le2` stops at once). The solvers are in :mod:`.b6_solvers`, the figures in
:mod:`.b6_figures`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from stochdepth import Status
from stochdepth.testing.convergence import fitted_order
from stochdepth.testing.tolerance import ALPHA, Z_MAX

from ..experiment import Report
from ..formatting import as_floats, fmt, fmt_p, fmt_pm
from ..runner import Check, Context, TaskOutput
from . import b6_figures as figures
from . import b6_solvers as solvers
from . import b6_tables as tables
from .problems import B6, BETA_BGK, b6_constants

__all__ = ["SIZES", "Result", "Sizes", "checks", "compute", "report"]


@dataclass(frozen=True)
class Sizes:
    """Grids, depths and Monte Carlo sizes of the four solvers."""

    #: discrete Snell envelope on the exact walk: depths L, and the largest L with the depth law
    depths: tuple[int, ...]
    law_max_depth: int
    #: obstacle PDE: grid sizes; survival equation: time steps
    pde_nodes: tuple[int, ...]
    cdf_steps: tuple[int, ...]
    #: regression Monte Carlo on simulated networks: L layers per unit depth, horizon at depth-time reg_t1
    reg_depth: int
    reg_t1: float
    reg_starts: tuple[float, ...]
    reg_paths: int
    reg_inner: int
    reg_dual_paths: int
    width_paths: int
    #: depth law of simulated networks (explicit weights)
    law_depth: int
    law_networks: int


SIZES: dict[str, Sizes] = {
    "quick": Sizes(
        depths=(8, 16, 32, 64, 128),
        law_max_depth=128,
        pde_nodes=(101, 201, 401, 801, 1601),
        cdf_steps=(200, 400, 800, 1600),
        reg_depth=8,
        reg_t1=6.0,
        reg_starts=(-0.5, 0.0, 0.45),
        reg_paths=20_000,
        reg_inner=50,
        reg_dual_paths=2000,
        width_paths=5000,
        law_depth=128,
        law_networks=50_000,
    ),
    "full": Sizes(
        depths=(8, 16, 32, 64, 128, 256, 512, 1024),
        law_max_depth=256,
        pde_nodes=(201, 401, 801, 1601, 3201),
        cdf_steps=(200, 400, 800, 1600, 3200, 6400),
        reg_depth=16,
        reg_t1=6.0,
        reg_starts=(-1.0, -0.5, -0.25, 0.0, 0.2, 0.45),
        reg_paths=50_000,
        reg_inner=100,
        reg_dual_paths=5000,
        width_paths=20_000,
        law_depth=256,
        law_networks=200_000,
    ),
}


@dataclass(frozen=True)
class Result:
    """What each solver returned (JSON-able records, as cached)."""

    sizes: Sizes
    symbolic: dict
    pde: dict
    discrete: dict
    regression: list
    depth_law: dict
    width: dict


def compute(sizes: Sizes, ctx: Context) -> Result:
    """Run the four solvers, the networks' depth law and the width threshold (each piece cached)."""
    n = B6["width"]
    sym = ctx.cached("symbolic", solvers.symbolic)
    nodes, steps = sizes.pde_nodes, sizes.cdf_steps
    pde = ctx.cached(
        f"pde-{'-'.join(map(str, nodes))}-s{'-'.join(map(str, steps))}",
        functools.partial(solvers.pde, nodes, steps),
    )
    depths, law_max = sizes.depths, sizes.law_max_depth
    disc = ctx.cached(
        f"discrete-{'-'.join(map(str, depths))}-law{law_max}",
        functools.partial(solvers.discrete, depths, law_max),
    )
    Lr, T = sizes.reg_depth, sizes.reg_t1
    H = round(T * Lr)
    N, ni, nd = sizes.reg_paths, sizes.reg_inner, sizes.reg_dual_paths
    reg = []
    for ys in sizes.reg_starts:
        reg.append(
            ctx.cached(
                f"regression-n{n}-L{Lr}-H{H}-y{ys}-N{N}-i{ni}-d{nd}",
                functools.partial(solvers.regression_run, ctx, n, Lr, H, float(ys), N, ni, nd),
            )
        )
    Ll, Nl = sizes.law_depth, sizes.law_networks
    law = ctx.cached(f"depth-law-L{Ll}-N{Nl}", functools.partial(solvers.depth_law, ctx, Ll, Nl))
    Nw = sizes.width_paths
    width = ctx.cached(f"width-N{Nw}", functools.partial(solvers.width_threshold, ctx, Nw))
    return Result(sizes, sym, pde, disc, reg, law, width)


def _law_is_testable(law: dict) -> bool:
    """Whether the discretisation distance is small enough for a direct test of the limit law."""
    return float(law["d_model"]) <= float(law["critical"]) / 4


def checks(result: Result) -> list[Check]:
    """Symbolic and PDE, finite-L walk, simulated networks and width-threshold checks, in that order."""
    out = TaskOutput()
    k = b6_constants()
    _solver_checks(out, result, k)
    _walk_checks(out, result, k)
    _network_checks(out, result, k)
    _width_check(out, result)
    return out.checks


def _solver_checks(out: TaskOutput, result: Result, k: dict) -> None:
    n = B6["width"]
    sym, pde = result.symbolic, result.pde
    out.check(
        "symbolic smooth fit re-derives the closed form",
        bool(sym["boundary_ok"] and sym["value_ok"] and sym["verified"] and sym["boundary_err"] < 1e-12)
        and sym["value_err"] < 1e-12,
        f"sympy (symbols a, m, s, c; growth rule excludes {sym['excluded']}): boundary {sym['boundary']}, "
        f"V = {sym['continuation_value']} below it (= g(y*) + (c/m)(y - y*): "
        f"{'yes' if sym['value_ok'] else 'NO'}); at n = {n}: verification theorem inequalities "
        f"{'hold' if sym['verified'] else 'FAIL'}, |y*_sym - y*| = {fmt(sym['boundary_err'], 2)}, "
        f"max |V_sym - V| on 41 points = {fmt(sym['value_err'], 2)} (required < 1e-12)",
    )
    prow = pde["rows"]
    out.check(
        "PDE: the free boundary sits at y* within its grid bracket, on grids without y* as a node",
        all(
            bool(r["all_in_bracket"])
            and not r["answer_on_a_node"]
            and Status(r["status"]) is Status.CONVERGED
            for r in prow
        ),
        "; ".join(
            f"N = {r['nodes']}: {fmt(r['boundary'], 8)} (worst |error| over {r['positions']} positions of y* "
            f"in its cell {fmt(r['worst_boundary_error'], 2)}; bracket {fmt(r['bracket'], 2)}; in bracket: "
            f"{'yes' if r['all_in_bracket'] else 'NO'}; LCP residual {fmt(r['residual'], 2)})"
            for r in prow
        ),
    )
    h = [float(r["spacing"]) for r in prow]
    orders = {
        key: (fitted_order(h, [float(r[key]) for r in prow]), p)
        for key, p in (
            ("worst_boundary_error", 1.0),
            ("worst_value_error", 2.0),
            ("worst_expected_depth_error", 1.0),
            ("worst_smooth_fit_gap", 1.0),
        )
    }
    out.check(
        "PDE: boundary, value, expected depth and smooth fit converge at their orders",
        all(fit.agrees(p) for fit, p in orders.values()),
        "worst errors over the positions of y* in its cell against the spacing h at y*, fitted orders "
        "(99% interval, allowance 0.25) against the predicted ones: "
        + "; ".join(
            f"{key.removeprefix('worst_')}: {fit.describe()}, predicted {p:g}"
            for key, (fit, p) in orders.items()
        )
        + " (the boundary is resolved to a cell; V(y0) is stationary in the boundary at the optimum, so "
        "its error is the square of the boundary's)",
    )
    cdf_steps, cdf_err, p_cdf = solvers.cdf_order(pde)
    out.check(
        "PDE: depth law from the survival equation converges to the inverse Gaussian at first order",
        0.8 <= p_cdf <= 1.2 and bool(np.all(np.diff(cdf_err) < 0)),
        f"max_t |P(tau <= t) - F_IG(t)| at y = {fmt(pde['cdf_node'], 4)}, t in [0.05, 5], implicit Euler "
        "with "
        + ", ".join(f"{int(s)} steps: {fmt(e, 3)}" for s, e in zip(cdf_steps, cdf_err))
        + f"; fitted order {fmt(p_cdf, 3)} (implicit Euler: 1, required in [0.8, 1.2])",
    )


def _walk_checks(out: TaskOutput, result: Result, k: dict) -> None:
    drow = result.discrete["rows"]
    Ls, thr_err, val_err, dep_err, ks, _fit, const, s_thr, s_val, s_dep, s_ks = solvers.walk_rates(
        drow, k["s"]
    )
    out.check(
        "discrete: threshold error ~ BETA s L^-1/2 (discrete-monitoring correction)",
        bool(np.all(thr_err > 0)) and abs(s_thr + 0.5) <= 0.1 and abs(const[-1] - BETA_BGK) <= 0.03,
        f"y* - y*_L at L = {', '.join(str(int(x)) for x in Ls)}: {', '.join(fmt(e, 3) for e in thr_err)}; "
        "fitted "
        f"slope (L >= 16) {fmt(s_thr, 3)} (predicted -1/2, required within 0.1); (y* - y*_L) sqrt(L)/s = "
        f"{', '.join(fmt(x, 4) for x in const)} -> BETA = -zeta(1/2)/sqrt(2 pi) = {fmt(BETA_BGK, 4)} "
        "(Broadie-"
        "Glasserman-Kou; required within 0.03 at the largest L)",
    )
    out.check(
        "discrete: value error ~ L^-1",
        abs(s_val + 1.0) <= 0.15,
        f"V(y0) - V_L(y0): {', '.join(fmt(e, 3) for e in val_err)}; fitted slope {fmt(s_val, 3)} (predicted "
        "-1: the "
        "O(L^-1/2) threshold shift costs O(L^-1) at a maximum; required within 0.15)",
    )
    out.check(
        "discrete: expected depth error ~ L^-1",
        abs(s_dep + 1.0) <= 0.2,
        f"h E tau*_L - E tau*: {', '.join(fmt(e, 3) for e in dep_err)}; fitted slope {fmt(s_dep, 3)} "
        "(predicted -1: by "
        "Wald and the quadratic gain E y_tau = a - c/(2 m_L) with m_L = m + O(1/L); required within 0.2)",
    )
    out.check(
        "discrete: the exact depth law converges to the inverse Gaussian",
        s_ks <= -0.5 and bool(np.all(np.diff(ks[np.isfinite(ks)]) < 0)),
        "Kolmogorov distance sup_l |P(tau*_L <= l) - F_IG(l/L)|: "
        + ", ".join(f"L = {int(x)}: {fmt(v, 3)}" for x, v in zip(Ls, ks) if np.isfinite(v))
        + f"; fitted slope {fmt(s_ks, 3)} (a threshold shift O(L^-1/2) bounds it by O(L^-1/2): required <= "
        "-1/2)",
    )
    eb = as_floats([r["error_bound"] for r in drow])
    out.check(
        "discrete: the chain is solved far more accurately than the effects measured",
        bool(np.all(eb < 0.01 * np.abs(val_err))),
        f"certified value error bounds {', '.join(fmt(e, 2) for e in eb)} < 1 % of |V - V_L| at every L",
    )


def _network_checks(out: TaskOutput, result: Result, k: dict) -> None:
    n, sizes = B6["width"], result.sizes
    Lr, T = sizes.reg_depth, sizes.reg_t1
    H = round(T * Lr)
    N, ni, nd = sizes.reg_paths, sizes.reg_inner, sizes.reg_dual_paths
    reg, law, Ll = result.regression, result.depth_law, sizes.law_depth
    inside = []
    for r in reg:
        lo = float(r["lower"]) - Z_MAX * float(r["lower_se"])
        hi = float(r["upper"]) + Z_MAX * float(r["upper_se"])
        slack = 1e-12 * (1.0 + abs(float(r["exact_finite"])))  # a policy that stops at once is exact
        inside.append(lo - slack <= float(r["exact_finite"]) <= hi + slack and bool(r["upper_valid"]))
    out.check(
        "regression MC on simulated networks brackets the exact value",
        all(inside),
        f"Longstaff-Schwartz (cubic in log|Y|, {N} training and {N} evaluation networks of width {n}, "
        "explicit "
        f"weights, L = {Lr} layers per unit depth, horizon {H} layers = depth {T}) with the nested "
        "regression-"
        f"martingale dual ({nd} outer x {ni} inner one-step networks): exact V_(L,H)(y0) (Snell envelope of "
        "the "
        "same finite problem on the walk) in [lower - 5 se, upper + 5 se] at "
        + "; ".join(
            f"y0 = {r['y0']}: {fmt(r['exact_finite'], 6)} in "
            f"[{fmt(float(r['lower']) - Z_MAX * float(r['lower_se']), 6)}, "
            f"{fmt(float(r['upper']) + Z_MAX * float(r['upper_se']), 6)}]"
            for r in reg
        ),
    )
    # --- 5. depth law of simulated networks
    out.check(
        "simulated networks follow the exact discrete optimal-depth law",
        float(law["p_chain"]) > ALPHA and int(law["censored"]) == 0,
        f"{law['networks']} width-{n} networks with explicit weights, L = {Ll}, stopped when log|Y_l| >= "
        "y*_L = "
        f"{fmt(law['threshold'], 6)} (the exact Snell threshold); tau - U (U uniform) against the jittered "
        "exact "
        f"law of tau*_L: one-sample KS D = {fmt(law['ks_chain'], 3)}, exact p = {fmt_p(law['p_chain'])} "
        "(required > "
        f"{ALPHA:g}); censored at depth 60: {law['censored']}",
    )
    z = (float(law["mean"]) - float(law["mean_exact"])) / float(law["mean_se"])
    out.check(
        "mean optimal depth of the networks = exact E tau*_L",
        abs(z) <= Z_MAX,
        f"networks: {fmt_pm(law['mean'], law['mean_se'])} (depth-time), exact chain "
        f"{fmt(law['mean_exact'], 6)}, "
        f"z = {fmt(z, 3)} (required |z| <= 5); the limit (y* - y0)/m = {fmt(law['mean_limit'], 6)}",
    )
    d_model, c_n = float(law["d_model"]), float(law["critical"])
    out.check(
        "the optimal depth of the networks is inverse Gaussian up to the discretisation",
        float(law["ks_ig"]) <= d_model + c_n,
        f"one-sample KS distance of the networks' depths to IG(mean {fmt(k['mean'])}, shape "
        f"{fmt(k['shape'])}): "
        f"D = {fmt(law['ks_ig'], 3)} <= d(exact law at L = {Ll}, IG) + c_N = {fmt(d_model, 3)} + "
        f"{fmt(c_n, 3)} "
        f"(c_N: KS critical value at p = {ALPHA:g} for N = {law['networks']}; triangle inequality)",
    )
    if _law_is_testable(law):
        out.check(
            "one-sample test: the networks' optimal depths are inverse Gaussian",
            float(law["p_ig"]) > ALPHA,
            f"Kolmogorov-Smirnov against IG(mean {fmt(k['mean'])}, shape {fmt(k['shape'])}) directly: D = "
            f"{fmt(law['ks_ig'], 3)}, p = {fmt_p(law['p_ig'])} (required > {ALPHA:g}); a valid test of the "
            "limit "
            "law "
            f"at this size because the discretisation distance d = {fmt(d_model, 2)} is "
            f"{fmt(c_n / d_model, 2)} "
            "times below the critical distance c_N",
        )


def _width_check(out: TaskOutput, result: Result) -> None:
    sym, width = result.symbolic, result.width
    ok = True
    parts = []
    for r in width["rows"]:
        w = int(r["width"])
        disc_stop = all(bool(v) for v in r["discrete_stops_at_once"].values())
        if w <= 2:
            good = bool(r["closed_stop_at_once"]) and bool(r["pde_stop_below_target"]) and disc_stop
            good &= sym["structure"][str(w)] == "no upper stopping region" and bool(r["finite_stops_at_once"])
        else:
            good = (not r["closed_stop_at_once"]) and not bool(r["discrete_stops_at_once"]["0.0"])
        if "regression" in r:
            g = r["regression"]
            lo = float(g["lower"]) - Z_MAX * float(g["lower_se"])
            hi = float(g["upper"]) + Z_MAX * float(g["upper_se"])
            slack = 1e-12 * (1.0 + abs(float(g["exact_finite"])))
            bracket = lo - slack <= float(g["exact_finite"]) <= hi + slack
            if w <= 2:
                good &= (
                    float(g["p_stop_at_once"]) == 1.0 and float(g["lower"]) == float(g["gain_y0"]) and bracket
                )
            else:
                good &= float(g["p_stop_at_once"]) == 0.0 and bracket
        ok &= good
        parts.append(f"n = {w}: {'ok' if good else 'FAIL'}")
    out.check(
        "width threshold: n <= 2 stops at once below the target, n >= 3 continues (all four solvers)",
        ok,
        "closed form (m <= 0), sympy (no upper stopping region for n = 1, 2), PDE (every node <= a stops), "
        "discrete Snell at L = 16 from y0 in {-0.5, 0, 0.3} (and at L = 8 with horizon 6 for n <= 2), and "
        "regression MC on networks from y0 = 0, L = 8, horizon 6 (P(tau = 0) = 1 and lower bound = g(y0) "
        "exactly for n = 1, 2; P(tau = 0) = 0 for n = 4; exact value bracketed): " + ", ".join(parts),
    )


def report(result: Result, ctx: Context) -> Report:
    """Notes, the four tables, the metrics and the three figures."""
    out = Report()
    k = b6_constants()
    n, a, c, y0 = B6["width"], B6["target"], B6["cost"], B6["y0"]
    sizes, sym, pde, disc, reg, law = (
        result.sizes,
        result.symbolic,
        result.pde,
        result.discrete,
        result.regression,
        result.depth_law,
    )
    width = result.width
    Lr = sizes.reg_depth
    out.notes.append(
        f"Problem: width n = {n} (m = 1/2 - 1/n = {fmt(k['m'])}, s = 1/sqrt(n) = {fmt(k['s'])}), target a = "
        f"{a}, "
        f"cost c = {c} per unit depth, start y0 = log|Y_0| = {y0}. Closed form: y* = a - c/(2m) = "
        f"{fmt(k['ystar'], 6)}, V(y0) = {fmt(k['value'], 6)}, E tau* = {fmt(k['mean'], 6)} (depth-time: 1 is "
        "the "
        f"whole paper network), depth ~ IG(mean {fmt(k['mean'])}, shape {fmt(k['shape'])})."
    )
    if not _law_is_testable(law):
        d_model, c_n = float(law["d_model"]), float(law["critical"])
        out.notes.append(
            f"The plain one-sample KS test of the networks' depths against the inverse Gaussian (p = "
            f"{fmt_p(law['p_ig'])}) is not a test of the limit law at this size: the discretisation distance "
            f"d = {fmt(d_model, 2)} is not small against the critical distance c_N = {fmt(c_n, 2)} (use a "
            "larger L)."
        )
    n3 = next(r for r in width["rows"] if int(r["width"]) == 3)
    if bool(n3["finite_stops_at_once"]):
        out.notes.append(
            "Width 3 sits next to the threshold: with unbounded depth continuing is optimal from y0 = 0, but "
            "with the horizon capped at depth 6 (L = 8) stopping at once is (exact V = "
            f"{fmt(n3['finite_value'], 5)}"
            " = g(0)): the drift m = 1/6 is so weak that the paths not stopped by the horizon, forced to "
            "stop far "
            "below the target, cost more than continuing gains."
        )

    drow = disc["rows"]
    Ls, thr_err, val_err, dep_err, ks, _fit, _const, s_thr, s_val, s_dep, s_ks = solvers.walk_rates(
        drow, k["s"]
    )
    out.tables.append(tables.summary_table(result, k, ks, Ls))
    out.tables.append(tables.walk_table(result, k))
    out.tables.append(tables.regression_table(result))
    out.tables.append(tables.width_table(result))
    prow = pde["rows"]
    p_cdf = solvers.cdf_order(pde)[2]
    out.metrics["b6"] = {
        "closed_form": k,
        "symbolic": {
            key: sym[key] for key in ("boundary", "continuation_value", "boundary_err", "value_err")
        },
        "pde": {"rows": prow, "cdf": pde["cdf"], "cdf_order": p_cdf},
        "discrete": {
            "rows": drow,
            "slopes": {"threshold": s_thr, "value": s_val, "depth": s_dep, "ks": s_ks},
        },
        "regression": reg,
        "depth_law": {
            key: law[key]
            for key in (
                "L",
                "networks",
                "p_chain",
                "ks_ig",
                "p_ig",
                "d_model",
                "critical",
                "mean",
                "mean_se",
                "mean_exact",
            )
        },
    }
    out.figures.append(figures.value_figure(ctx, sym, pde, disc, reg, k, Lr))
    out.figures.append(figures.law_figure(ctx, law, k))
    out.figures.append(figures.rate_figure(ctx, Ls, thr_err, val_err, dep_err, ks, k))
    return out


#: The figures ``report`` saves (``python -m validation figures NAME`` redraws one).
FIGURES = ("depth_b6_value_functions", "depth_b6_depth_law", "depth_b6_convergence")
