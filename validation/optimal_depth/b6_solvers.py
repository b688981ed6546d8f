r"""The four solvers of the B6 optimal depth, each run at the campaign's sizes (numbers only, JSON-able).

The symbolic smooth fit, the obstacle-problem PDE with its survival-equation depth law, the exact Snell
envelope of the finite-:math:`L` log-norm walk, regression Monte Carlo on simulated networks, the depth law
of simulated networks stopped at the exact discrete threshold, and the width threshold (:math:`n\le2`
stops at once) across all of them. :mod:`.b6_bridge` turns these numbers into checks and a report.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..formatting import as_floats, loglog_slope
from ..runner import Context
from .problems import B6, b6_constants, inverse_gaussian, ks_critical

__all__ = [
    "cdf_order",
    "depth_law",
    "discrete",
    "jittered_cdf",
    "pde",
    "regression_run",
    "symbolic",
    "walk_rates",
    "width_threshold",
]


def symbolic() -> dict[str, Any]:
    """Smooth fit in sympy: symbolic boundary and value, numeric instance at the campaign's width, and the
    width threshold (no upper stopping region for n <= 2)."""
    import sympy

    from stochdepth.depth import linear_resnet_optimal_depth
    from stochdepth.symbolic.smooth_fit import solve_smooth_fit

    y, a = sympy.Symbol("y", real=True), sympy.Symbol("a", real=True)
    m, s, c = sympy.symbols("m s c", positive=True)
    sym = solve_smooth_fit(-((y - a) ** 2), m, s, variable=y, cost=c)
    boundary_ok = sympy.simplify(sym.boundary - (a - c / (2 * m))) == 0
    line = -((sym.boundary - a) ** 2) + c / m * (y - sym.boundary)
    value_ok = sympy.simplify(sym.continuation_value - line) == 0
    n = B6["width"]
    vals = {a: sympy.Rational(B6["target"]).limit_denominator(1000), m: sympy.Rational(n - 2, 2 * n)}
    vals.update({s: 1 / sympy.sqrt(n), c: sympy.Rational(B6["cost"]).limit_denominator(1000)})
    num = sym.subs(vals)
    cf = linear_resnet_optimal_depth(n, B6["target"], B6["cost"])
    ys = np.linspace(cf.boundary - 2.0, B6["target"] + 0.5, 41)
    value_err = float(np.max(np.abs(num.value(ys) - cf.value(ys))))
    structure = {}
    for width in (1, 2):
        drift, vol = sympy.Rational(width - 2, 2 * width), 1 / sympy.sqrt(width)
        try:
            solve_smooth_fit(-((y - a) ** 2), drift, vol, variable=y, cost=c)
            structure[width] = "upper stopping region found"
        except ValueError as exc:
            structure[width] = "no upper stopping region" if "unknowns" in str(exc) else f"error: {exc}"
    lower = solve_smooth_fit(
        -((y - a) ** 2), sympy.Rational(-1, 2), 1, variable=y, cost=c, stopping_side="lower"
    )
    return {
        "boundary": str(sym.boundary),
        "continuation_value": str(sympy.factor(sym.continuation_value)),
        "excluded": [str(e) for e in sym.excluded],
        "boundary_ok": bool(boundary_ok),
        "value_ok": bool(value_ok),
        "verified": bool(num.verified),
        "boundary_value": num.boundary_value,
        "boundary_err": abs(num.boundary_value - cf.boundary),
        "value_err": value_err,
        "structure": {str(k): v for k, v in structure.items()},
        "n1_lower_boundary": str(lower.boundary),
        "plot_y": ys,
        "plot_v": num.value(ys),
        "value_y0": num.value(B6["y0"]),
    }


def pde(nodes: tuple, steps: tuple, positions: int = 4) -> dict[str, Any]:
    """Stationary obstacle problem on a refinement sequence of grids that do not contain the closed-form
    boundary; the depth law from the survival PDE.

    At each grid size the refined centre of the grid moves across the boundary's cell in ``positions``
    steps, so the closed-form boundary takes several positions inside its cell; a row keeps the worst
    errors over them (the boundary, the value and the expected depth at ``y0``, the smooth-fit gap),
    whose fitted orders :mod:`.b6_bridge` checks (1, 2, 1 and 1).
    """
    from stochdepth.depth import linear_resnet_depth_problem, linear_resnet_optimal_depth
    from stochdepth.freeboundary import solve_obstacle

    n, a, c, y0 = B6["width"], B6["target"], B6["cost"], B6["y0"]
    cf = linear_resnet_optimal_depth(n, a, c)
    rows = []
    sol = None
    for N in nodes:
        x = linear_resnet_depth_problem(n, a, c, n_nodes=N).grid.nodes
        i = int(np.searchsorted(x, cf.boundary))
        h = float(x[i] - x[i - 1])
        worst = {"boundary": 0.0, "value": 0.0, "depth": 0.0, "gap": 0.0}
        in_bracket, on_node, statuses = True, False, set()
        first = None
        for k in range(positions):
            problem = linear_resnet_depth_problem(n, a, c, n_nodes=N, center=a + (k + 0.5) / positions * h)
            on_node |= bool(np.any(problem.grid.nodes == cf.boundary))
            sol = solve_obstacle(problem, throw=False)
            fb = sol.free_boundary
            statuses.add(sol.status.value)
            # E tau is affine in y on the continuation side: linear interpolation at y0 is exact there
            et_y0 = float(np.interp(y0, sol.x, sol.expected_stopping_time()))
            err_b = abs(fb.location - cf.boundary)
            in_bracket &= err_b <= fb.error
            worst["boundary"] = max(worst["boundary"], err_b)
            worst["value"] = max(worst["value"], abs(float(sol.value_at(y0)) - float(cf.value(y0))))
            worst["depth"] = max(worst["depth"], abs(et_y0 - float(cf.expected_depth(y0))))
            worst["gap"] = max(worst["gap"], float(fb.smooth_fit_gap))
            if first is None:
                first = {
                    "status": sol.status.value,
                    "residual": sol.residual,
                    "boundary": fb.location,
                    "bracket": fb.error,
                    "smooth_fit_gap": fb.smooth_fit_gap,
                    "value_y0": sol.value_at(y0),
                    "expected_depth_y0": et_y0,
                }
        assert first is not None
        rows.append(
            {
                "nodes": N,
                **first,
                "status": min(statuses - {"converged"}, default="converged"),  # a failure, if any
                "spacing": h,
                "positions": positions,
                "answer_on_a_node": on_node,
                "all_in_bracket": in_bracket,
                "worst_boundary_error": worst["boundary"],
                "worst_value_error": worst["value"],
                "worst_expected_depth_error": worst["depth"],
                "worst_smooth_fit_gap": worst["gap"],
            }
        )
    assert sol is not None
    j = int(np.argmin(np.abs(sol.x - y0)))
    law = cf.depth_law(float(sol.x[j]))
    ts = np.linspace(0.05, 5.0, 100)
    cdf_rows = []
    for k in steps:
        F = sol.stopping_time_cdf(ts, n_steps=k)[:, j]
        cdf_rows.append({"steps": k, "error": float(np.max(np.abs(F - law.cdf(ts))))})
    ys = np.linspace(cf.boundary - 1.5, a + 0.2, 121)
    return {
        "rows": rows,
        "cdf": cdf_rows,
        "cdf_node": float(sol.x[j]),
        "plot_y": ys,
        "plot_v": sol.value_at(ys),
        "plot_cdf_t": ts,
        "plot_cdf": sol.stopping_time_cdf(ts, n_steps=steps[-1])[:, j],
    }


def discrete(depths: tuple, law_max: int) -> dict[str, Any]:
    """The exact Snell envelope of the finite-L log-norm walk at every depth L (docs/science.md §A4, B6)."""
    from stochdepth.depth import linear_resnet_stopping_problem, log_norm_bridge
    from stochdepth.stopping import solve_stopping

    n, a, c, y0 = B6["width"], B6["target"], B6["cost"], B6["y0"]
    rows = []
    for L in depths:
        r = log_norm_bridge(n, L, a, c, y0=y0, law=law_max >= L)
        rows.append(
            {
                "L": L,
                "threshold": r.threshold,
                "threshold_limit": r.threshold_limit,
                "value": r.value,
                "value_limit": r.value_limit,
                "expected_depth": r.expected_depth,
                "expected_depth_limit": r.expected_depth_limit,
                "ks": r.ks_distance,
                "error_bound": r.error_bound,
                "n_states": r.n_states,
                "stops_at_once": r.stops_at_once,
            }
        )
    curves = {}
    for L in (depths[0], depths[min(3, len(depths) - 1)]):
        prob, grid = linear_resnet_stopping_problem(n, L, a, c, y0=y0)
        sol = solve_stopping(prob)
        keep = (grid > a - c / (2 * (0.5 - 1 / n)) - 1.6) & (grid < a + 0.25)
        curves[str(L)] = {"y": grid[keep], "v": sol.values[keep]}
    return {"rows": rows, "curves": curves}


def _ls_threshold(res: Any, prob: Any, layer: int, ys: np.ndarray) -> float:
    """Where the regression policy switches to stopping at ``layer`` (first y with Z_l >= fitted C_l)."""
    sim = prob.simulator
    z = -((ys - sim.target) ** 2) - prob.cumulative_costs[layer]
    cont = res.policy.continuation_value(layer, ys[:, None])
    idx = np.nonzero(z >= cont)[0]
    return float(ys[idx[0]]) if idx.size else math.nan


def regression_run(
    ctx: Context, width: int, L: int, H: int, y0: float, n_paths: int, n_inner: int, n_dual: int
) -> dict[str, Any]:
    """Longstaff-Schwartz on simulated width-n networks from y0, against the exact chain at the same L, H."""
    from stochdepth.depth import LinearResNetSimulator, linear_resnet_stopping_problem
    from stochdepth.stopping import (
        LongstaffSchwartz,
        Polynomial,
        RegressionMartingale,
        SimulatedStoppingProblem,
        solve_stopping,
    )

    a, c = B6["target"], B6["cost"]
    prob = SimulatedStoppingProblem(LinearResNetSimulator(width, L, a, y0=y0), H, c / L)
    ls = LongstaffSchwartz(
        Polynomial(3),
        n_paths=n_paths,
        n_eval=n_paths,
        dual=RegressionMartingale(n_inner=n_inner, n_paths=n_dual),
    )
    res = solve_stopping(prob, ls, rng=ctx.rng(f"ls-n{width}-L{L}-H{H}-y{y0}"), throw=False)
    chain, _ = linear_resnet_stopping_problem(width, L, a, c, y0=y0)
    fin = solve_stopping(chain.with_horizon(H))
    inf = solve_stopping(chain)
    out = {
        "width": width,
        "y0": y0,
        "lower": res.lower.value,
        "lower_se": res.lower.stderr,
        "upper": res.upper.value,
        "upper_se": res.upper.stderr,
        "upper_valid": res.upper_valid,
        "upper_method": res.upper_method,
        "status": res.message or res.status.value,
        "p_stop_at_once": float(res.depth.pmf[0]),
        "depth_mean": res.depth.mean.value / L,
        "depth_se": res.depth.mean.stderr / L,
        "exact_finite": fin.value(),
        "exact_infinite": inf.value(),
        "exact_depth_finite": fin.depth_law().mean.value / L,
        "gain_y0": -((y0 - a) ** 2),
    }
    if width >= 3:
        ys = np.linspace(y0 - 1.0, a, 1501)
        out["ls_threshold"] = {str(k): _ls_threshold(res, prob, k * L, ys) for k in (1, 2) if k * L < H}
    return out


def jittered_cdf(pmf: np.ndarray) -> Any:
    r"""CDF of :math:`D=\tau-U` (:math:`U` uniform on [0, 1), independent) for a lattice law ``pmf`` of
    :math:`\tau` on 0..K: :math:`G(x)=F(j-1)+p_j(x-j+1)` on :math:`[j-1,j)`, continuous, so the one-sample
    Kolmogorov-Smirnov test is exact for it."""
    cum = np.concatenate([[0.0], np.cumsum(pmf)])  # cum[j] = P(tau <= j - 1)
    p = np.concatenate([pmf, [0.0]])
    K = pmf.size

    def cdf(x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        j = np.clip(np.floor(x).astype(np.int64) + 1, 0, K)
        out = cum[j] + p[j] * (x - (j - 1))
        return np.clip(np.where(x >= K, cum[-1], np.where(x < -1, 0.0, out)), 0.0, 1.0)

    return cdf


def depth_law(ctx: Context, L: int, N: int) -> dict[str, Any]:
    """Simulated networks stopped by the exact discrete Snell threshold: their depth law against the
    exact discrete law (exact KS test after jitter) and against the inverse Gaussian limit."""
    from stochdepth.depth import log_norm_bridge, simulate_network_depths
    from stochdepth.stats import one_sample_test

    k = b6_constants()
    n, a, c, y0 = B6["width"], B6["target"], B6["cost"], B6["y0"]
    r = log_norm_bridge(n, L, a, c, y0=y0, law=True)
    max_layers = 60 * L
    tau = simulate_network_depths(
        n, L, r.threshold, y0, n_paths=N, max_layers=max_layers, rng=ctx.rng(f"law-L{L}")
    )
    censored = int(np.sum(tau < 0))
    tau = tau[tau >= 0]
    u = np.random.default_rng(ctx.rng(f"jitter-L{L}")).random(tau.size)
    D = tau - u  # layers, continuous
    pmf = np.asarray(r.depth_law.pmf, dtype=float)
    G = jittered_cdf(pmf)
    t_chain = one_sample_test(D, G)
    h = 1.0 / L
    ig = inverse_gaussian(k["mean"], k["shape"])
    t_ig = one_sample_test(D * h, ig)
    # model distance sup_x |G(x) - F_IG(x h)|, sampled 32 times per lattice cell, plus the largest change
    # of either function within half a sample spacing (both are monotone; slopes <= max p and max f_IG h)
    K = pmf.size
    xs = np.linspace(-1.0, K, 32 * (K + 1) + 1)
    d_model = float(np.max(np.abs(G(xs) - ig.cdf(np.maximum(xs, 0.0) * h))))
    spacing = xs[1] - xs[0]
    mode = k["mean"] * (math.sqrt(1 + 2.25 * (k["mean"] / k["shape"]) ** 2) - 1.5 * k["mean"] / k["shape"])
    d_model += 0.5 * spacing * (float(pmf.max()) + float(ig.pdf(mode)) * h)
    mean_net = float(tau.mean()) * h
    se_net = float(tau.std(ddof=1) / math.sqrt(tau.size)) * h
    edges = np.linspace(0.0, 5.0, 51)
    hist, _ = np.histogram(D * h, bins=edges, density=True)
    xe = np.sort(D * h)
    grid_t = np.linspace(0.0, 5.0, 201)
    ecdf = np.searchsorted(xe, grid_t, side="right") / xe.size
    return {
        "L": L,
        "networks": int(tau.size),
        "censored": censored,
        "threshold": r.threshold,
        "ks_chain": t_chain.statistic,
        "p_chain": t_chain.pvalue,
        "ks_ig": t_ig.statistic,
        "p_ig": t_ig.pvalue,
        "d_model": d_model,
        "ks_distance_lattice": r.ks_distance,
        "critical": ks_critical(int(tau.size)),
        "mean": mean_net,
        "mean_se": se_net,
        "mean_exact": r.expected_depth,
        "mean_limit": k["mean"],
        "hist_edges": edges,
        "hist": hist,
        "pmf_t": np.arange(pmf.size) * h,
        "pmf": pmf / h,
        "ecdf_t": grid_t,
        "ecdf_minus_ig": ecdf - ig.cdf(grid_t),
        "jit_minus_ig": G(grid_t / h) - ig.cdf(grid_t),
    }


def width_threshold(ctx: Context, n_paths: int) -> dict[str, Any]:
    """The width threshold: n <= 2 stops at once below the target in all four solvers; n >= 3 continues."""
    from stochdepth.depth import (
        linear_resnet_depth_problem,
        linear_resnet_optimal_depth,
        linear_resnet_stopping_problem,
        log_norm_bridge,
    )
    from stochdepth.freeboundary import solve_obstacle
    from stochdepth.stopping import solve_stopping

    a, c = B6["target"], B6["cost"]
    rows = []
    for n in (1, 2, 3, 4, 8):
        cf = linear_resnet_optimal_depth(n, a, c)
        sol = solve_obstacle(linear_resnet_depth_problem(n, a, c))
        below = sol.x <= a
        pde_stop_below = bool(np.all(sol.stopping[below & sol.decision]))
        disc = {
            str(y0): log_norm_bridge(n, 16, a, c, y0=y0, law=False).stops_at_once for y0 in (-0.5, 0.0, 0.3)
        }
        row = {
            "width": n,
            "m": 0.5 - 1 / n,
            "boundary": cf.boundary if cf.boundary is not None else math.nan,
            "side": cf.stopping_side,
            "closed_stop_at_once": cf.stop_at_once_below_target,
            "pde_stop_below_target": pde_stop_below,
            "discrete_stops_at_once": disc,
        }
        # the finite-horizon chain at L = 8, horizon 6 (the regression's problem)
        chain, _ = linear_resnet_stopping_problem(n, 8, a, c, y0=0.0)
        fin = solve_stopping(chain.with_horizon(48))
        row["finite_value"] = fin.value()
        row["finite_stops_at_once"] = bool(fin.depth_law().pmf[0] == 1.0)
        if n in (1, 2, 4):
            row["regression"] = regression_run(ctx, n, 8, 48, 0.0, n_paths, 20, max(n_paths // 5, 100))
        rows.append(row)
    return {"rows": rows}


def cdf_order(pde: dict) -> tuple[np.ndarray, np.ndarray, float]:
    """Time steps, errors and fitted order of the survival-equation depth law against the IG law."""
    cdf_err = as_floats([r["error"] for r in pde["cdf"]])
    cdf_steps = as_floats([r["steps"] for r in pde["cdf"]])
    return cdf_steps, cdf_err, -loglog_slope(cdf_steps, cdf_err)


def walk_rates(drow: list, s: float) -> tuple[Any, ...]:
    """Errors of the finite-L walk against the limit and their fitted slopes in L (fit on L >= 16)."""
    Ls = as_floats([r["L"] for r in drow])
    thr_err = as_floats([float(r["threshold_limit"]) - float(r["threshold"]) for r in drow])
    val_err = as_floats([float(r["value_limit"]) - float(r["value"]) for r in drow])
    dep_err = as_floats([float(r["expected_depth"]) - float(r["expected_depth_limit"]) for r in drow])
    ks = as_floats([r["ks"] for r in drow])
    fit = Ls >= 16
    s_thr = loglog_slope(Ls[fit], thr_err[fit])
    const = thr_err * np.sqrt(Ls) / s
    s_val = loglog_slope(Ls[fit], val_err[fit])
    s_dep = loglog_slope(Ls[fit], dep_err[fit])
    kfit = fit & np.isfinite(ks)
    s_ks = loglog_slope(Ls[kfit], ks[kfit])
    return Ls, thr_err, val_err, dep_err, ks, fit, const, s_thr, s_val, s_dep, s_ks
