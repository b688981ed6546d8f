r"""Validation campaign "optimal depth": SCIENCE.md Part B and Part C item 3 (stopping, continuous depth).

Five tasks, each calling the library (:mod:`stochdepth.stopping`, :mod:`stochdepth.freeboundary`,
:mod:`stochdepth.symbolic`) and turning its output into evidence: numbers with uncertainties, pass/fail
checks of each prediction, figures and Markdown tables.

``depth.b2-bounds``
    The three finite-depth bounds of SCIENCE.md B2 (bounded gains, summable residuals, geometric
    diminishing returns) on random residual families that satisfy their hypotheses and on random Markov
    chains: every conclusion holds, the tightness :math:`\mathbb E\tau^\star/\text{bound}` is measured
    (median, 90 % quantile, maximum); families that violate a hypothesis are flagged whenever a
    conclusion fails, and two constructed counterexamples show that the hypotheses matter.
``depth.b6-bridge``
    The optimal depth of the linear random ResNet (SCIENCE.md B6: gain :math:`-(y-a)^2` on the log-norm,
    cost :math:`c` per unit depth) by four solvers -- the closed form and its symbolic smooth-fit
    derivation, the obstacle-problem PDE, the exact Snell envelope of the finite-:math:`L` log-norm walk
    (convergence in :math:`L` with fitted rates) and regression Monte Carlo on simulated networks
    (interval :math:`[\text{lower},\text{upper}]`) -- for the threshold, the value, :math:`\mathbb
    E\tau^\star` and the inverse-Gaussian law of the depth (one-sample tests of simulated networks'
    optimal depths); and the width threshold (:math:`n\le2` stops at once).
``depth.b5-noiseless``
    SCIENCE.md B5: the noiseless contraction (boundary :math:`\sqrt{c/(2\kappa)}`, value) against the
    first-order upwind PDE with its fitted grid convergence order, the symbolic smooth fit in
    :math:`u=\log d`, and the discrete analogue's :math:`\tau^\star` formula against exact discrete solvers.
``depth.osla``
    One-step look-ahead is optimal on monotone problems and strictly worse on non-monotone ones (a
    constructed dip and the B6 chain itself); myopic rules (gain threshold, patience) against the Snell
    policy on a B6 chain (value-gap table).
``depth.benchmarks``
    External references reproduced within the methods' error bars: the Longstaff--Schwartz (2001) put,
    Bermudan max-calls on 2 and 5 assets (Andersen & Broadie 2004) with the 2-asset grid reference, and the
    American put PDE against QuantLib with fitted convergence orders.

Sizes come from :data:`SIZES` (one table per profile; tests shrink it). Every random number comes from
``ctx.rng(name)``; expensive pieces go through ``ctx.cached`` with keys that include their sizes.
Statistical checks are set at 5 standard errors or p-values above :math:`10^{-6}`, so they pass for any
seed; deterministic convergence checks compare fitted rates with the rates derived in the docstrings.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from scipy import stats as st

from stochdepth import Status
from stochdepth.testing.generators import random_markov_problem, random_monotone_problem
from stochdepth.testing.quantlib import american_put

from . import plotting
from .runner import Context, Task, TaskOutput

__all__ = ["B6", "CAMPAIGN", "SIZES", "tasks"]

CAMPAIGN = "optimal_depth"

#: p-value threshold of every single statistical test.
ALPHA = 1e-6
#: Half-width, in standard errors, of every z-score check and Monte Carlo bracket.
Z_MAX = 5.0
#: The B6 problem of the campaign: width n, target log-norm a, cost c per unit depth, start y0 = log|Y_0|.
#: m = 1/2 - 1/n = 0.375, s = 1/sqrt(8): y* = a - c/(2m) = 0.3667, E tau* = (y* - y0)/m = 0.978 (about one
#: paper network), IG shape (y* - y0)^2/s^2 = 1.076.
B6: dict[str, Any] = {"width": 8, "target": 0.5, "cost": 0.1, "y0": 0.0}
#: Continuity correction of a discretely monitored boundary, -zeta(1/2)/sqrt(2 pi) (Broadie, Glasserman &
#: Kou, Math. Finance 7 (1997) 325-349): the discrete threshold sits BETA_BGK s sqrt(h) below y*.
BETA_BGK = 0.5825971579390106
#: The B5 problem: contraction rate kappa and cost c (boundary sqrt(c/(2 kappa)) = 0.1581).
B5: dict[str, float] = {"kappa": 2.0, "cost": 0.1}

#: Sizes per profile. Keys are the same in both profiles; tests replace entries of ``SIZES["quick"]``.
SIZES: dict[str, dict[str, Any]] = {
    "quick": {
        # B2: random residual families (satisfying / violating) and random chains
        "b2_families": 300,
        "b2_violating": 300,
        "b2_chains": 200,
        # B6: discrete Snell envelope on the exact walk, depths L and the largest L with the depth law
        "b6_depths": (8, 16, 32, 64, 128),
        "b6_law_max_depth": 128,
        "b6_pde_nodes": (201, 401, 801),
        "b6_cdf_steps": (200, 400, 800, 1600),
        # regression Monte Carlo on simulated networks
        "b6_reg_depth": 8,
        "b6_reg_horizon": 6.0,
        "b6_reg_starts": (-0.5, 0.0, 0.45),
        "b6_reg_paths": 20_000,
        "b6_reg_inner": 50,
        "b6_reg_dual_paths": 2000,
        "b6_width_paths": 5000,
        # depth law of simulated networks (explicit weights)
        "b6_law_depth": 128,
        "b6_law_networks": 50_000,
        # B5
        "b5_nodes": (101, 201, 401, 801),
        "b5_horizon_nodes": (101, 201, 401),
        "b5_draws": 300,
        "b5_limit_depths": (100, 1000, 10_000),
        # one-step look-ahead and myopic rules
        "osla_monotone": 200,
        "osla_random": 200,
        "osla_depth": 16,
        "osla_horizon": 6.0,
        "osla_paths": 50_000,
        # external benchmarks
        "bench_put_paths": 100_000,
        "bench_put_dual": (300, 300),
        "bench_maxcall_paths": 50_000,
        "bench_maxcall_dual": (300, 150),
        "bench_tree_steps": (50,),
        "bench_pde_nodes": (101, 201, 401, 801),
    },
    "full": {
        "b2_families": 2000,
        "b2_violating": 2000,
        "b2_chains": 1000,
        "b6_depths": (8, 16, 32, 64, 128, 256, 512, 1024),
        "b6_law_max_depth": 256,
        "b6_pde_nodes": (201, 401, 801, 1601, 3201),
        "b6_cdf_steps": (200, 400, 800, 1600, 3200, 6400),
        "b6_reg_depth": 16,
        "b6_reg_horizon": 6.0,
        "b6_reg_starts": (-1.0, -0.5, -0.25, 0.0, 0.2, 0.45),
        "b6_reg_paths": 50_000,
        "b6_reg_inner": 100,
        "b6_reg_dual_paths": 5000,
        "b6_width_paths": 20_000,
        "b6_law_depth": 256,
        "b6_law_networks": 200_000,
        "b5_nodes": (101, 201, 401, 801, 1601, 3201),
        "b5_horizon_nodes": (101, 201, 401, 801),
        "b5_draws": 3000,
        "b5_limit_depths": (100, 1000, 10_000, 100_000),
        "osla_monotone": 2000,
        "osla_random": 2000,
        "osla_depth": 32,
        "osla_horizon": 6.0,
        "osla_paths": 50_000,
        "bench_put_paths": 200_000,
        "bench_put_dual": (500, 1000),
        "bench_maxcall_paths": 200_000,
        "bench_maxcall_dual": (500, 500),
        "bench_tree_steps": (50, 100),
        "bench_pde_nodes": (101, 201, 401, 801, 1601),
    },
}


# ----------------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------------


def _size(ctx: Context, key: str) -> Any:
    return ctx.pick(SIZES["quick"][key], SIZES["full"][key])


def _f(x: Any, digits: int = 4) -> str:
    """A number for tables and check details (``nan`` and strings pass through)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "nan"
    return f"{v:.{digits}g}"


def _p(x: Any) -> str:
    return _f(x, 2)


def _pm(value: Any, stderr: Any, digits: int = 5) -> str:
    return f"{_f(value, digits)} ± {_f(stderr, 2)}"


def _arr(values: Any) -> np.ndarray:
    """A float array from cached JSON (non-finite numbers come back as strings)."""
    return np.array([float(v) for v in values], dtype=float)


def _null_formatter() -> Any:
    from matplotlib.ticker import NullFormatter

    return NullFormatter()


def _save(ctx: Context, fig: Any, name: str) -> str:
    """``ctx.savefig`` once the figures folder exists (``Context.savefig`` does not create it)."""
    _ = ctx.figures  # the property creates <out>/figures
    return ctx.savefig(fig, name)


def _slope(x: Any, y: Any) -> float:
    """Least-squares slope of log|y| against log x (the fitted convergence rate)."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.abs(np.asarray(y, float))), 1)[0])


def _ks_critical(n: int) -> float:
    """Kolmogorov-Smirnov distance exceeded with probability ALPHA by n i.i.d. draws of the tested law."""
    return float(st.kstwo.isf(ALPHA, n))


def _b6_constants(width: int | None = None) -> dict[str, float]:
    """m, s, y*, E tau*, V(y0) and the IG shape of the B6 problem (closed forms, SCIENCE.md B6)."""
    n = B6["width"] if width is None else width
    a, c, y0 = B6["target"], B6["cost"], B6["y0"]
    m, s = 0.5 - 1.0 / n, 1.0 / math.sqrt(n)
    ystar = a - c / (2 * m) if m > 0 else math.nan
    out = {"m": m, "s": s, "ystar": ystar, "a": a, "c": c, "y0": y0}
    if m > 0 and ystar > y0:
        out["mean"] = (ystar - y0) / m
        out["shape"] = (ystar - y0) ** 2 / s**2
        out["value"] = -((ystar - a) ** 2) - c / m * (ystar - y0)
    return out


def _inverse_gaussian(mean: float, shape: float) -> Any:
    """IG(mean, shape) as scipy's ``invgauss(mean / shape, scale=shape)``."""
    return st.invgauss(mean / shape, scale=shape)


# ----------------------------------------------------------------------------------------------------
# 1. The bounds of B2
# ----------------------------------------------------------------------------------------------------

_GAIN_KINDS = ("distance", "smooth distance", "bounded score")
_BOUND_NAMES = ("bounded gains", "summable residuals", "geometric")


def _residual_family(gen: np.random.Generator, violation: str = "") -> tuple[Any, dict[str, Any]]:
    r"""One deterministic residual family :math:`h_{l+1}=h_l+f_l(h_l)` on :math:`m` inputs.

    :math:`f_l(h)=C\tilde\rho^l\,s_l\,u_l(h)` with a unit direction field :math:`u_l=v/\|v\|`,
    :math:`v=\tanh(A_lh+b_l)` (random :math:`A_l, b_l`), so :math:`\sup_h\|f_l\|=C\tilde\rho^ls_l`. The gain
    is :math:`K L_g` times a 1-Lipschitz score: :math:`-\|h-y\|`, :math:`-\sqrt{1+\|h-y\|^2}` or the
    bounded :math:`\tanh(w\cdot(h-y))`. Declared: :math:`C`, :math:`\rho`, :math:`L_g`. Satisfying
    families have :math:`\tilde\rho=\rho<1`, :math:`s_l\in[\tfrac12,1]`, :math:`K=1`; ``"growth"`` has
    :math:`\tilde\rho\in[1.02,1.3]` (and :math:`s_l=1`), ``"lipschitz"`` has :math:`K\in[2,5]`.
    """
    from stochdepth.depth import residual_path_problem

    d = int(gen.integers(1, 5))
    L = int(gen.integers(5, 41))
    m = int(gen.integers(8, 33))
    C = float(gen.uniform(0.2, 3.0))
    rho = float(gen.uniform(0.3, 0.95))
    cost = float(math.exp(gen.uniform(math.log(0.005), math.log(0.5))))
    lg = float(gen.uniform(0.5, 2.0))
    kind = _GAIN_KINDS[int(gen.integers(0, len(_GAIN_KINDS)))]
    A = gen.normal(size=(L, d, d)) * 2.0
    b = gen.normal(size=(L, d))
    y = gen.normal(size=d)
    w = gen.normal(size=d)
    w /= np.linalg.norm(w)
    h0 = gen.normal(size=(m, d)) * 2.0
    shrink = np.ones(L) if violation else gen.uniform(0.5, 1.0, size=L)
    true_rho = float(gen.uniform(1.02, 1.3)) if violation == "growth" else rho
    steep = float(gen.uniform(2.0, 5.0)) if violation == "lipschitz" else 1.0
    slope = steep * lg

    def residual(l: int, h: np.ndarray) -> np.ndarray:
        v = np.tanh(h @ A[l].T + b[l])
        u = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-300)
        return C * true_rho**l * shrink[l] * u

    def gain(h: np.ndarray) -> np.ndarray:
        r = h - y
        if kind == "distance":
            return -slope * np.linalg.norm(r, axis=1)
        if kind == "smooth distance":
            return -slope * np.sqrt(1.0 + np.sum(r * r, axis=1))
        return slope * np.tanh(r @ w)

    prob = residual_path_problem(residual, gain, h0, L, cost)
    info = {"d": d, "L": L, "m": m, "C": C, "rho": rho, "cost": cost, "lipschitz": lg, "gain": kind}
    info["violation"] = violation
    return prob, info


def _bound_record(b: Any) -> dict[str, Any]:
    rec = {
        "bound": b.bound,
        "expected_depth": b.expected_depth.value,
        "max_depth": b.max_depth,
        "tightness": b.tightness,
        "holds": b.holds,
        "hypotheses_hold": b.hypotheses_hold,
        "flagged": sorted(k for k, v in b.hypotheses.items() if not v),
    }
    if "max_tightness" in b.details:
        rec["max_tightness"] = b.details["max_tightness"]
    return rec


def _family_bounds(prob: Any, info: dict[str, Any]) -> dict[str, Any]:
    from stochdepth.stopping import bounded_gains_bound, geometric_depth_bound, summable_residuals_bound

    env = info["C"] * info["rho"] ** np.arange(info["L"], dtype=float)
    return {
        "bounded gains": _bound_record(bounded_gains_bound(prob)),
        "summable residuals": _bound_record(
            summable_residuals_bound(prob, info["lipschitz"], residual_bounds=env)
        ),
        "geometric": _bound_record(geometric_depth_bound(prob, info["lipschitz"], info["rho"], C=info["C"])),
    }


def _b2_compute(ctx: Context, n_sat: int, n_viol: int, n_chains: int) -> dict[str, Any]:
    from stochdepth.stopping import bounded_gains_bound

    gen = np.random.default_rng(ctx.rng("families"))
    sat = []
    for _ in range(n_sat):
        prob, info = _residual_family(gen)
        sat.append({"info": info, "bounds": _family_bounds(prob, info)})
    viol = []
    for k in range(n_viol):
        prob, info = _residual_family(gen, ("growth", "lipschitz")[k % 2])
        viol.append({"info": info, "bounds": _family_bounds(prob, info)})
    cgen = np.random.default_rng(ctx.rng("chains"))
    chains = []
    for _ in range(n_chains):
        prob = random_markov_problem(cgen)
        rec = _bound_record(bounded_gains_bound(prob))
        rec["horizon"] = prob.horizon
        rec["n_states"] = prob.n_states
        chains.append(rec)
    return {"satisfying": sat, "violating": viol, "chains": chains}


def _counterexamples() -> dict[str, Any]:
    r"""Two deterministic families that break a conclusion (derivations in the check details)."""
    from stochdepth.depth import residual_path_problem
    from stochdepth.stopping import geometric_depth_bound, summable_residuals_bound

    h0 = np.zeros((1, 1))
    # (a) gain 8 |h - 50| declared 1-Lipschitz, h moves +0.2 per layer, cost 1, L = 15
    a = residual_path_problem(
        lambda l, h: np.full_like(h, 0.2), lambda h: -8.0 * np.abs(h[:, 0] - 50.0), h0, 15, 1.0
    )
    ba = summable_residuals_bound(a, 1.0, residual_bounds=np.full(15, 0.2))
    # (b) residuals 0.2 * 1.3^l declared C = 0.2, rho = 0.6, L_g = 1, cost 0.1, L = 12
    g = residual_path_problem(
        lambda l, h: np.full_like(h, 0.2 * 1.3**l), lambda h: -np.abs(h[:, 0] - 1000.0), h0, 12, 0.1
    )
    bg = geometric_depth_bound(g, 1.0, 0.6, C=0.2)
    return {
        "lipschitz": {**_bound_record(ba), "observed_lipschitz": ba.details["observed_lipschitz"]},
        "growth": _bound_record(bg),
    }


def _quantiles(x: np.ndarray) -> tuple[float, float, float]:
    x = x[np.isfinite(x)]
    if not x.size:
        return math.nan, math.nan, math.nan
    return float(np.median(x)), float(np.quantile(x, 0.9)), float(np.max(x))


def _b2_bounds(ctx: Context) -> TaskOutput:
    out = TaskOutput()
    n_sat, n_viol, n_chains = _size(ctx, "b2_families"), _size(ctx, "b2_violating"), _size(ctx, "b2_chains")
    data = ctx.cached(
        f"families-{n_sat}-{n_viol}-{n_chains}", functools.partial(_b2_compute, ctx, n_sat, n_viol, n_chains)
    )
    sat, viol, chains = data["satisfying"], data["violating"], data["chains"]

    def col(recs: list, name: str, key: str) -> np.ndarray:
        return _arr([r["bounds"][name][key] for r in recs])

    def flags(recs: list, name: str, key: str) -> np.ndarray:
        return np.array([bool(r["bounds"][name][key]) for r in recs])

    chain_holds = np.array([bool(r["holds"]) for r in chains])
    chain_hyp = np.array([bool(r["hypotheses_hold"]) for r in chains])
    bg_holds = flags(sat, "bounded gains", "holds")
    out.check(
        "bounded gains: E tau* <= (E sup G - E G_0) / c",
        bool(bg_holds.all() and chain_holds.all()),
        f"holds on {int(bg_holds.sum())}/{len(sat)} random deterministic residual families (E tau* from the "
        f"pathwise maximum, exact) and on {int(chain_holds.sum())}/{len(chains)} random Markov chains "
        "(finite "
        f"and infinite horizon; E sup G and E tau* exact), S = 3..20 states, costs c_l >= c > 0",
    )
    sr = flags(sat, "summable residuals", "holds")
    out.check(
        "summable residuals: E tau* <= L_g S / c",
        bool(sr.all()),
        f"holds on {int(sr.sum())}/{len(sat)} families (d = 1..4, L = 5..40 layers, 8..32 inputs each, "
        "declared "
        "residual bounds C rho^l >= sup_h |f_l(h)|, three kinds of L_g-Lipschitz gains)",
    )
    geo = flags(sat, "geometric", "holds")
    out.check(
        "geometric diminishing returns: tau* <= l_bar on every path",
        bool(geo.all()),
        "max over paths of tau* <= l_bar = max(0, ceil(ln(c/(L_g C))/ln rho)) on "
        f"{int(geo.sum())}/{len(sat)} "
        "families (the bound is almost sure, so the maximum over inputs is checked, not the mean)",
    )
    hyp_ok = np.array([all(r["bounds"][b]["hypotheses_hold"] for b in _BOUND_NAMES) for r in sat])
    out.check(
        "no false alarms: the hypotheses of every satisfying family are reported as holding",
        bool(hyp_ok.all() and chain_hyp.all()),
        f"{int(hyp_ok.sum())}/{len(sat)} families and {int(chain_hyp.sum())}/{len(chains)} chains have every "
        "checked hypothesis (positive costs, undiscounted, Lipschitz consistency on the paths, declared "
        "residual envelope, decay rate below 1, deterministic paths) reported as holding",
    )
    # violating families: a failed conclusion must come with a flagged hypothesis
    silent = 0
    silent_by: dict[str, int] = {"growth": 0, "lipschitz": 0}
    failed: dict[str, int] = {}
    detected: dict[str, int] = {"growth": 0, "lipschitz": 0}
    for r in viol:
        kind = r["info"]["violation"]
        for name in ("summable residuals", "geometric"):
            b = r["bounds"][name]
            if not b["holds"]:
                failed[f"{name} ({kind})"] = failed.get(f"{name} ({kind})", 0) + 1
                silent += int(bool(b["hypotheses_hold"]))
                silent_by[kind] += int(bool(b["hypotheses_hold"]))
        flagged = set(r["bounds"]["summable residuals"]["flagged"]) | set(r["bounds"]["geometric"]["flagged"])
        if (kind == "growth" and {"geometric_decay", "residual_bounds_consistent"} & flagged) or (
            kind == "lipschitz" and "lipschitz_consistent" in flagged
        ):
            detected[kind] += 1
    n_fail = sum(failed.values())
    out.check(
        "violated hypotheses are never silent",
        silent == 0,
        f"{len(viol)} families violating one hypothesis (growing residuals rho > 1 declared as rho < 1, or a "
        "gain "
        f"2-5 times steeper than the declared L_g): {n_fail} conclusions fail ("
        + (", ".join(f"{k}: {v}" for k, v in sorted(failed.items())) or "none")
        + f"), of which {silent} without a flagged hypothesis (required: 0)",
    )
    bg_v = flags(viol, "bounded gains", "holds")
    out.check(
        "the bounded-gains bound needs no residual hypothesis: it holds on the violating families too",
        bool(bg_v.all()),
        f"holds on {int(bg_v.sum())}/{len(viol)} violating families (its proof uses c > 0 only: "
        "E G_0 <= V* <= E sup G - c E tau*)",
    )
    cx = ctx.cached("counterexamples", _counterexamples)
    lip, gro = cx["lipschitz"], cx["growth"]
    out.check(
        "counterexamples: the hypotheses matter and the failure is reported",
        (not lip["holds"])
        and "lipschitz_consistent" in lip["flagged"]
        and (not gro["holds"])
        and "geometric_decay" in gro["flagged"],
        "(a) gain 8|h - 50| declared 1-Lipschitz, h += 0.2 per layer, cost 1, L = 15: each layer gains "
        f"8 * 0.2 = 1.6 > 1, so tau* = L = 15 (solved: {_f(lip['expected_depth'])}) > L_g S / c = 0.2 * 15 = "
        "3 "
        f"(reported bound {_f(lip['bound'])}); flagged {lip['flagged']}, observed Lipschitz ratio "
        f"{_f(lip['observed_lipschitz'])}. (b) residuals 0.2 * 1.3^l declared C = 0.2, rho = 0.6, cost 0.1, "
        "L = 12: l_bar = ceil(ln(0.1/0.2)/ln 0.6) = 2 but each layer gains 0.2 * 1.3^l > 0.1, so tau* = 12 "
        f"(solved: {_f(gro['max_depth'])}, bound {_f(gro['bound'])}); flagged {gro['flagged']}",
    )

    # tightness
    rows = []
    tight: dict[str, dict[str, float]] = {}
    for name in _BOUND_NAMES:
        t = col(sat, name, "tightness")
        bound = col(sat, name, "bound")
        depth = col(sat, name, "expected_depth")
        if name == "bounded gains":
            t_all = np.concatenate([t, _arr([r["tightness"] for r in chains])])
            bound = np.concatenate([bound, _arr([r["bound"] for r in chains])])
            depth = np.concatenate([depth, _arr([r["expected_depth"] for r in chains])])
            label, count = "bounded gains (families + chains)", len(sat) + len(chains)
        else:
            t_all, label, count = t, name, len(sat)
        med, q90, mx = _quantiles(t_all)
        tight[name] = {"median": med, "q90": q90, "max": mx, "n_finite": int(np.isfinite(t_all).sum())}
        rows.append(
            [
                label,
                count,
                int(np.isfinite(t_all).sum()),
                _f(med, 3),
                _f(q90, 3),
                _f(mx, 3),
                _f(np.median(bound), 3),
                _f(np.median(depth), 3),
            ]
        )
    gmx = _quantiles(col(sat, "geometric", "max_tightness"))
    tight["geometric"]["max_over_paths"] = {"median": gmx[0], "q90": gmx[1], "max": gmx[2]}
    rows.append(
        ["geometric, max tau* / l_bar", len(sat), "", _f(gmx[0], 3), _f(gmx[1], 3), _f(gmx[2], 3), "", ""]
    )
    out.tables.append(
        plotting.table(
            ["bound", "problems", "finite ratio", "median", "q90", "max", "median bound", "median E tau*"],
            rows,
            caption="Tightness E[tau*]/bound on problems satisfying the hypotheses (1 = tight; a bound of 0 "
            "gives no ratio)",
        )
    )
    out.tables.append(
        plotting.table(
            [
                "violation",
                "families",
                "hypothesis flagged",
                "summable fails",
                "geometric fails",
                "silent fails",
            ],
            [
                [
                    kind,
                    sum(r["info"]["violation"] == kind for r in viol),
                    detected[kind],
                    failed.get(f"summable residuals ({kind})", 0),
                    failed.get(f"geometric ({kind})", 0),
                    silent_by[kind],
                ]
                for kind in ("growth", "lipschitz")
            ],
            caption="Families violating one hypothesis: how often the checker sees it and how often a "
            "conclusion actually fails",
        )
    )
    if detected["lipschitz"] < sum(r["info"]["violation"] == "lipschitz" for r in viol):
        out.notes.append(
            "A Lipschitz violation can stay invisible on the recorded paths (a gain steeper than declared "
            "only "
            "in directions the paths do not explore): then it cannot break the pathwise proof either, which "
            "is "
            "why 'never silent' holds although detection is below 100 %."
        )
    out.metrics["b2"] = {
        "families": len(sat),
        "violating": len(viol),
        "chains": len(chains),
        "tightness": tight,
        "violating_failures": failed,
        "violations_detected": detected,
        "silent_failures": silent,
    }
    out.figures.append(_b2_figure(ctx, sat, viol, chains))
    return out


def _b2_figure(ctx: Context, sat: list, viol: list, chains: list) -> str:
    fig, axes = plotting.figure(3, 2, width=4.2, height=3.3)
    cols = plotting.palette(3)
    for j, name in enumerate(_BOUND_NAMES):
        ax = axes[0, j]
        t = _arr([r["bounds"][name]["tightness"] for r in sat])
        t = t[np.isfinite(t)]
        n_zero = int(np.sum(t <= 0))
        bins = np.logspace(-4, 0, 25)
        lab = f"residual families ({t.size})"
        ax.hist(np.clip(t[t > 0], 1e-4, 1.0), bins=bins, color=cols[j], alpha=0.8, label=lab)
        if name == "bounded gains":
            tc = _arr([r["tightness"] for r in chains])
            tc = tc[np.isfinite(tc)]
            n_zero += int(np.sum(tc <= 0))
            lab = f"Markov chains ({tc.size})"
            ax.hist(np.clip(tc[tc > 0], 1e-4, 1.0), bins=bins, histtype="step", color="k", lw=1.5, label=lab)
        if name == "geometric":
            tm = _arr([r["bounds"][name]["max_tightness"] for r in sat])
            tm = tm[np.isfinite(tm) & (tm > 0)]
            lab = "max over paths / bound"
            ax.hist(np.clip(tm, 1e-4, 1.0), bins=bins, histtype="step", color="k", lw=1.5, label=lab)
        ax.set_xscale("log")
        ax.set_title(f"{name}: E[tau*] / bound ({n_zero} at 0 not shown)", fontsize=10)
        ax.set_xlabel("tightness (1 = the bound is attained)")
        ax.set_ylabel("problems")
        ax.legend(fontsize=7)
        ax = axes[1, j]
        for recs, style, label in ((sat, "o", "satisfying"), (viol, "x", "violating")):
            bnd = _arr([r["bounds"][name]["bound"] for r in recs])
            key = "max_depth" if name == "geometric" else "expected_depth"
            dep = _arr([r["bounds"][name][key] for r in recs])
            ok = np.array([bool(r["bounds"][name]["holds"]) for r in recs])
            fin = np.isfinite(bnd)
            if style == "o":
                ax.scatter(bnd[fin], dep[fin], s=8, color=cols[j], alpha=0.6, label=label)
            else:
                ax.scatter(
                    bnd[fin & ok], dep[fin & ok], s=10, marker="x", color="0.6", alpha=0.6, label=label
                )
                bad = fin & ~ok
                ax.scatter(
                    bnd[bad],
                    dep[bad],
                    s=14,
                    marker="x",
                    color="tab:red",
                    label=f"violating, fails ({bad.sum()})",
                )
        lim = ax.get_xlim()[1]
        ax.plot([0, lim], [0, lim], color="k", lw=0.8, ls="--", label="E[tau*] = bound")
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_xlabel("bound (layers)")
        ax.set_ylabel("max tau* (layers)" if name == "geometric" else "E[tau*] (layers)")
        ax.legend(fontsize=7)
    return _save(ctx, fig, "depth_b2_tightness")


# ----------------------------------------------------------------------------------------------------
# 2. The bridge of B6
# ----------------------------------------------------------------------------------------------------


def _b6_symbolic() -> dict[str, Any]:
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


def _b6_pde(nodes: tuple, steps: tuple) -> dict[str, Any]:
    """Stationary obstacle problem at several grid sizes; the depth law from the survival PDE."""
    from stochdepth.depth import linear_resnet_depth_problem, linear_resnet_optimal_depth
    from stochdepth.freeboundary import solve_obstacle

    n, a, c, y0 = B6["width"], B6["target"], B6["cost"], B6["y0"]
    cf = linear_resnet_optimal_depth(n, a, c)
    rows = []
    sol = None
    for N in nodes:
        sol = solve_obstacle(linear_resnet_depth_problem(n, a, c, n_nodes=N), throw=False)
        fb = sol.free_boundary
        x = sol.x
        # nodes outside the bracket of the boundary (and off the truncated lower edge region)
        # the Dirichlet edge at x[0] stops the process there: the truncation adds
        # (g - V)(x[0]) P_x(hit x[0] before y*) <= |g - V|(x[0]) exp(-kappa (x - x[0])), kappa = 2m/s^2 (scale
        # function); keep the nodes where that is below 1e-10, and those outside the boundary's bracket
        kappa = 2 * cf.drift / cf.volatility**2
        excess = abs(float(cf.gain(x[0]) - cf.value(x[0])))
        far = x - x[0] >= math.log(max(excess, 1e-300) * 1e10) / kappa
        away = (np.abs(x - cf.boundary) > 2 * fb.error) & far
        et = sol.expected_stopping_time()
        cont = x < cf.boundary - 2 * fb.error
        # E tau is affine in y on the continuation side: linear interpolation at y0 is exact there
        et_y0 = float(np.interp(y0, x, et))
        rows.append(
            {
                "nodes": N,
                "status": sol.status.value,
                "residual": sol.residual,
                "boundary": fb.location,
                "bracket": fb.error,
                "smooth_fit_gap": fb.smooth_fit_gap,
                "nodal_error": float(np.max(np.abs(sol.value[away] - cf.value(x[away])))),
                "value_y0": sol.value_at(y0),
                "expected_depth_y0": et_y0,
                "expected_depth_error": float(
                    np.max(np.abs(et[cont & away] - (cf.boundary - x[cont & away]) / cf.drift))
                ),
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


def _b6_discrete(depths: tuple, law_max: int) -> dict[str, Any]:
    """The exact Snell envelope of the finite-L log-norm walk at every depth L (SCIENCE.md A4, B6)."""
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


def _b6_regression_run(
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


def _network_depths(
    width: int, depth: int, threshold: float, y0: float, n_networks: int, rng: int, max_layers: int
) -> np.ndarray:
    r"""Optimal depths of simulated linear networks with explicit weights: the first layer at which
    :math:`\log\|Y_l\|\ge` ``threshold`` (-1 when not reached within ``max_layers``: censored)."""
    from stochdepth.montecarlo import map_chunks

    scale = 1.0 / math.sqrt(width * depth)  # N(0, 1/n) weight entries, branch 1/sqrt(L)

    def job(start: int, stop: int, gen: np.random.Generator) -> np.ndarray:
        m = stop - start
        z = gen.standard_normal((m, width))
        Y = z * (math.exp(y0) / np.linalg.norm(z, axis=1, keepdims=True))
        tau = np.full(m, -1, dtype=np.int64)
        alive = np.arange(m)
        y = np.full(m, y0)
        for l in range(max_layers + 1):
            hit = y >= threshold
            tau[alive[hit]] = l
            alive, Y = alive[~hit], Y[~hit]
            if alive.size == 0 or l == max_layers:
                break
            W = gen.standard_normal((alive.size, width, width))
            Y = Y + scale * np.einsum("mij,mj->mi", W, Y)
            y = np.log(np.linalg.norm(Y, axis=1))
        return tau

    return np.concatenate(map_chunks(job, rng, n_networks, chunk_size=2048))


def _jittered_cdf(pmf: np.ndarray) -> Any:
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


def _b6_depth_law(ctx: Context, L: int, N: int) -> dict[str, Any]:
    """Simulated networks stopped by the exact discrete Snell threshold: their depth law against the
    exact discrete law (exact KS test after jitter) and against the inverse Gaussian limit."""
    from stochdepth.depth import log_norm_bridge
    from stochdepth.stats import one_sample_test

    k = _b6_constants()
    n, a, c, y0 = B6["width"], B6["target"], B6["cost"], B6["y0"]
    r = log_norm_bridge(n, L, a, c, y0=y0)
    max_layers = 60 * L
    tau = _network_depths(n, L, r.threshold, y0, N, ctx.rng(f"law-L{L}"), max_layers)
    censored = int(np.sum(tau < 0))
    tau = tau[tau >= 0]
    u = np.random.default_rng(ctx.rng(f"jitter-L{L}")).random(tau.size)
    D = tau - u  # layers, continuous
    pmf = np.asarray(r.depth_law.pmf, dtype=float)
    G = _jittered_cdf(pmf)
    t_chain = one_sample_test(D, G)
    h = 1.0 / L
    ig = _inverse_gaussian(k["mean"], k["shape"])
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
        "critical": _ks_critical(int(tau.size)),
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


def _b6_width(ctx: Context, n_paths: int) -> dict[str, Any]:
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
            row["regression"] = _b6_regression_run(ctx, n, 8, 48, 0.0, n_paths, 20, max(n_paths // 5, 100))
        rows.append(row)
    return {"rows": rows}


def _b6_bridge(ctx: Context) -> TaskOutput:
    out = TaskOutput()
    k = _b6_constants()
    n, a, c, y0 = B6["width"], B6["target"], B6["cost"], B6["y0"]
    out.notes.append(
        f"Problem: width n = {n} (m = 1/2 - 1/n = {_f(k['m'])}, s = 1/sqrt(n) = {_f(k['s'])}), target a = "
        f"{a}, "
        f"cost c = {c} per unit depth, start y0 = log|Y_0| = {y0}. Closed form: y* = a - c/(2m) = "
        f"{_f(k['ystar'], 6)}, V(y0) = {_f(k['value'], 6)}, E tau* = {_f(k['mean'], 6)} (depth-time: 1 is "
        "the "
        f"whole paper network), depth ~ IG(mean {_f(k['mean'])}, shape {_f(k['shape'])})."
    )
    # --- 1. closed form and symbolic smooth fit
    sym = ctx.cached("symbolic", _b6_symbolic)
    out.check(
        "symbolic smooth fit re-derives the closed form",
        bool(sym["boundary_ok"] and sym["value_ok"] and sym["verified"] and sym["boundary_err"] < 1e-12)
        and sym["value_err"] < 1e-12,
        f"sympy (symbols a, m, s, c; growth rule excludes {sym['excluded']}): boundary {sym['boundary']}, "
        f"V = {sym['continuation_value']} below it (= g(y*) + (c/m)(y - y*): "
        f"{'yes' if sym['value_ok'] else 'NO'}); at n = {n}: verification theorem inequalities "
        f"{'hold' if sym['verified'] else 'FAIL'}, |y*_sym - y*| = {_f(sym['boundary_err'], 2)}, "
        f"max |V_sym - V| on 41 points = {_f(sym['value_err'], 2)} (required < 1e-12)",
    )
    # --- 2. PDE
    nodes, steps = _size(ctx, "b6_pde_nodes"), _size(ctx, "b6_cdf_steps")
    pde = ctx.cached(
        f"pde-{'-'.join(map(str, nodes))}-s{'-'.join(map(str, steps))}",
        functools.partial(_b6_pde, nodes, steps),
    )
    prow = pde["rows"]
    out.check(
        "PDE: the free boundary sits at y* within its grid bracket",
        all(
            abs(float(r["boundary"]) - k["ystar"]) <= float(r["bracket"])
            and Status(r["status"]) is Status.CONVERGED
            for r in prow
        ),
        "; ".join(
            f"N = {r['nodes']}: {_f(r['boundary'], 8)} (|error| "
            f"{_f(abs(float(r['boundary']) - k['ystar']), 2)} <= "
            f"bracket {_f(r['bracket'], 2)}; LCP residual {_f(r['residual'], 2)})"
            for r in prow
        ),
    )
    worst_nodal = max(float(r["nodal_error"]) for r in prow)
    worst_et = max(float(r["expected_depth_error"]) for r in prow)
    out.check(
        "PDE: value and expected depth exact at the nodes away from the boundary cell",
        worst_nodal < 1e-8 and worst_et < 1e-8 * max(1.0, k["mean"]),
        "V is affine (continuation) and quadratic (stopping), both reproduced exactly by second-order "
        "differences, so the only discretisation error is in the boundary cell: max nodal |V_pde - V| "
        f"= {_f(worst_nodal, 2)} and max |E_pde tau - (y* - y)/m| (Dynkin system) = {_f(worst_et, 2)} over "
        "all "
        "grids (required < 1e-8, round-off)",
    )
    cdf_err = _arr([r["error"] for r in pde["cdf"]])
    cdf_steps = _arr([r["steps"] for r in pde["cdf"]])
    p_cdf = -_slope(cdf_steps, cdf_err)
    out.check(
        "PDE: depth law from the survival equation converges to the inverse Gaussian at first order",
        0.8 <= p_cdf <= 1.2 and bool(np.all(np.diff(cdf_err) < 0)),
        f"max_t |P(tau <= t) - F_IG(t)| at y = {_f(pde['cdf_node'], 4)}, t in [0.05, 5], implicit Euler with "
        + ", ".join(f"{int(s)} steps: {_f(e, 3)}" for s, e in zip(cdf_steps, cdf_err))
        + f"; fitted order {_f(p_cdf, 3)} (implicit Euler: 1, required in [0.8, 1.2])",
    )
    # --- 3. discrete Snell envelope on the exact walk
    depths, law_max = _size(ctx, "b6_depths"), _size(ctx, "b6_law_max_depth")
    disc = ctx.cached(
        f"discrete-{'-'.join(map(str, depths))}-law{law_max}",
        functools.partial(_b6_discrete, depths, law_max),
    )
    drow = disc["rows"]
    Ls = _arr([r["L"] for r in drow])
    thr_err = _arr([float(r["threshold_limit"]) - float(r["threshold"]) for r in drow])
    val_err = _arr([float(r["value_limit"]) - float(r["value"]) for r in drow])
    dep_err = _arr([float(r["expected_depth"]) - float(r["expected_depth_limit"]) for r in drow])
    ks = _arr([r["ks"] for r in drow])
    fit = Ls >= 16
    s_thr = _slope(Ls[fit], thr_err[fit])
    const = thr_err * np.sqrt(Ls) / k["s"]
    out.check(
        "discrete: threshold error ~ BETA s L^-1/2 (discrete-monitoring correction)",
        bool(np.all(thr_err > 0)) and abs(s_thr + 0.5) <= 0.1 and abs(const[-1] - BETA_BGK) <= 0.03,
        f"y* - y*_L at L = {', '.join(str(int(x)) for x in Ls)}: {', '.join(_f(e, 3) for e in thr_err)}; "
        "fitted "
        f"slope (L >= 16) {_f(s_thr, 3)} (predicted -1/2, required within 0.1); (y* - y*_L) sqrt(L)/s = "
        f"{', '.join(_f(x, 4) for x in const)} -> BETA = -zeta(1/2)/sqrt(2 pi) = {_f(BETA_BGK, 4)} (Broadie-"
        "Glasserman-Kou; required within 0.03 at the largest L)",
    )
    s_val = _slope(Ls[fit], val_err[fit])
    out.check(
        "discrete: value error ~ L^-1",
        abs(s_val + 1.0) <= 0.15,
        f"V(y0) - V_L(y0): {', '.join(_f(e, 3) for e in val_err)}; fitted slope {_f(s_val, 3)} (predicted "
        "-1: the "
        "O(L^-1/2) threshold shift costs O(L^-1) at a maximum; required within 0.15)",
    )
    s_dep = _slope(Ls[fit], dep_err[fit])
    out.check(
        "discrete: expected depth error ~ L^-1",
        abs(s_dep + 1.0) <= 0.2,
        f"h E tau*_L - E tau*: {', '.join(_f(e, 3) for e in dep_err)}; fitted slope {_f(s_dep, 3)} "
        "(predicted -1: by "
        "Wald and the quadratic gain E y_tau = a - c/(2 m_L) with m_L = m + O(1/L); required within 0.2)",
    )
    kfit = fit & np.isfinite(ks)
    s_ks = _slope(Ls[kfit], ks[kfit])
    out.check(
        "discrete: the exact depth law converges to the inverse Gaussian",
        s_ks <= -0.5 and bool(np.all(np.diff(ks[np.isfinite(ks)]) < 0)),
        "Kolmogorov distance sup_l |P(tau*_L <= l) - F_IG(l/L)|: "
        + ", ".join(f"L = {int(x)}: {_f(v, 3)}" for x, v in zip(Ls, ks) if np.isfinite(v))
        + f"; fitted slope {_f(s_ks, 3)} (a threshold shift O(L^-1/2) bounds it by O(L^-1/2): required <= "
        "-1/2)",
    )
    eb = _arr([r["error_bound"] for r in drow])
    out.check(
        "discrete: the chain is solved far more accurately than the effects measured",
        bool(np.all(eb < 0.01 * np.abs(val_err))),
        f"certified value error bounds {', '.join(_f(e, 2) for e in eb)} < 1 % of |V - V_L| at every L",
    )
    # --- 4. regression Monte Carlo on simulated networks
    Lr, T = _size(ctx, "b6_reg_depth"), _size(ctx, "b6_reg_horizon")
    H = round(T * Lr)
    starts = _size(ctx, "b6_reg_starts")
    N, ni, nd = _size(ctx, "b6_reg_paths"), _size(ctx, "b6_reg_inner"), _size(ctx, "b6_reg_dual_paths")
    reg = []
    for ys in starts:
        reg.append(
            ctx.cached(
                f"regression-n{n}-L{Lr}-H{H}-y{ys}-N{N}-i{ni}-d{nd}",
                functools.partial(_b6_regression_run, ctx, n, Lr, H, float(ys), N, ni, nd),
            )
        )
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
            f"y0 = {r['y0']}: {_f(r['exact_finite'], 6)} in "
            f"[{_f(float(r['lower']) - Z_MAX * float(r['lower_se']), 6)}, "
            f"{_f(float(r['upper']) + Z_MAX * float(r['upper_se']), 6)}]"
            for r in reg
        ),
    )
    # --- 5. depth law of simulated networks
    Ll, Nl = _size(ctx, "b6_law_depth"), _size(ctx, "b6_law_networks")
    law = ctx.cached(f"depth-law-L{Ll}-N{Nl}", functools.partial(_b6_depth_law, ctx, Ll, Nl))
    out.check(
        "simulated networks follow the exact discrete optimal-depth law",
        float(law["p_chain"]) > ALPHA and int(law["censored"]) == 0,
        f"{law['networks']} width-{n} networks with explicit weights, L = {Ll}, stopped when log|Y_l| >= "
        "y*_L = "
        f"{_f(law['threshold'], 6)} (the exact Snell threshold); tau - U (U uniform) against the jittered "
        "exact "
        f"law of tau*_L: one-sample KS D = {_f(law['ks_chain'], 3)}, exact p = {_p(law['p_chain'])} "
        "(required > "
        f"{ALPHA:g}); censored at depth 60: {law['censored']}",
    )
    z = (float(law["mean"]) - float(law["mean_exact"])) / float(law["mean_se"])
    out.check(
        "mean optimal depth of the networks = exact E tau*_L",
        abs(z) <= Z_MAX,
        f"networks: {_pm(law['mean'], law['mean_se'])} (depth-time), exact chain {_f(law['mean_exact'], 6)}, "
        f"z = {_f(z, 3)} (required |z| <= 5); the limit (y* - y0)/m = {_f(law['mean_limit'], 6)}",
    )
    d_model, c_n = float(law["d_model"]), float(law["critical"])
    out.check(
        "the optimal depth of the networks is inverse Gaussian up to the discretisation",
        float(law["ks_ig"]) <= d_model + c_n,
        f"one-sample KS distance of the networks' depths to IG(mean {_f(k['mean'])}, shape "
        f"{_f(k['shape'])}): "
        f"D = {_f(law['ks_ig'], 3)} <= d(exact law at L = {Ll}, IG) + c_N = {_f(d_model, 3)} + {_f(c_n, 3)} "
        f"(c_N: KS critical value at p = {ALPHA:g} for N = {law['networks']}; triangle inequality)",
    )
    if d_model <= c_n / 4:
        out.check(
            "one-sample test: the networks' optimal depths are inverse Gaussian",
            float(law["p_ig"]) > ALPHA,
            f"Kolmogorov-Smirnov against IG(mean {_f(k['mean'])}, shape {_f(k['shape'])}) directly: D = "
            f"{_f(law['ks_ig'], 3)}, p = {_p(law['p_ig'])} (required > {ALPHA:g}); a valid test of the limit "
            "law "
            f"at this size because the discretisation distance d = {_f(d_model, 2)} is "
            f"{_f(c_n / d_model, 2)} "
            "times below the critical distance c_N",
        )
    else:
        out.notes.append(
            f"The plain one-sample KS test of the networks' depths against the inverse Gaussian (p = "
            f"{_p(law['p_ig'])}) is not a test of the limit law at this size: the discretisation distance "
            f"d = {_f(d_model, 2)} is not small against the critical distance c_N = {_f(c_n, 2)} (use a "
            "larger L)."
        )
    # --- 6. width threshold
    Nw = _size(ctx, "b6_width_paths")
    width = ctx.cached(f"width-N{Nw}", functools.partial(_b6_width, ctx, Nw))
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
    n3 = next(r for r in width["rows"] if int(r["width"]) == 3)
    if bool(n3["finite_stops_at_once"]):
        out.notes.append(
            "Width 3 sits next to the threshold: with unbounded depth continuing is optimal from y0 = 0, but "
            "with the horizon capped at depth 6 (L = 8) stopping at once is (exact V = "
            f"{_f(n3['finite_value'], 5)}"
            " = g(0)): the drift m = 1/6 is so weak that the paths not stopped by the horizon, forced to "
            "stop far "
            "below the target, cost more than continuing gains."
        )

    # --- tables
    last = drow[-1]
    ks_last = float(ks[np.isfinite(ks)][-1])
    reg_thr = next((float(r["threshold"]) for r in drow if int(r["L"]) == Lr), math.nan)
    reg0 = next((r for r in reg if float(r["y0"]) == y0), reg[0])
    pl = prow[-1]
    out.tables.append(
        plotting.table(
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
                    _f(k["ystar"], 6),
                    _f(sym["boundary_value"], 6),
                    f"{_f(pl['boundary'], 6)} ± {_f(pl['bracket'], 1)}",
                    _f(last["threshold"], 6),
                    "policy switch: "
                    + ", ".join(f"{_f(v, 4)} (t = {t})" for t, v in reg0.get("ls_threshold", {}).items())
                    + f" (exact at L = {Lr}: {_f(reg_thr, 4)})",
                ],
                [
                    f"V(y0 = {y0})",
                    _f(k["value"], 6),
                    _f(sym["value_y0"], 6),
                    _f(pl["value_y0"], 6),
                    _f(last["value"], 6),
                    f"[{_f(reg0['lower'], 5)} ± {_f(reg0['lower_se'], 1)}, {_f(reg0['upper'], 5)} ± "
                    f"{_f(reg0['upper_se'], 1)}] (exact at this L, H: {_f(reg0['exact_finite'], 6)})",
                ],
                [
                    "E tau* (depth-time)",
                    _f(k["mean"], 6),
                    _f((float(sym["boundary_value"]) - y0) / k["m"], 6),
                    _f(pl["expected_depth_y0"], 6),
                    _f(last["expected_depth"], 6),
                    f"policy: {_pm(reg0['depth_mean'], reg0['depth_se'], 4)} (exact: "
                    f"{_f(reg0['exact_depth_finite'], 4)})",
                ],
                [
                    "depth law",
                    "IG",
                    "IG",
                    f"KS to IG {_f(pde['cdf'][-1]['error'], 2)}",
                    f"KS to IG {_f(ks_last, 2)} (L = {int(Ls[np.isfinite(ks)][-1])})",
                    f"networks (L = {Ll}) vs exact: p = {_p(law['p_chain'])}",
                ],
            ],
            caption="The optimal depth of the linear random ResNet by four solvers (SCIENCE.md B6)",
        )
    )
    out.tables.append(
        plotting.table(
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
                    _f(r["threshold"], 6),
                    _f(cst, 4),
                    _f(r["value"], 7),
                    _f(ve, 3),
                    _f(r["expected_depth"], 6),
                    _f(de, 3),
                    _f(r["ks"], 3),
                    r["n_states"],
                    _f(r["error_bound"], 2),
                ]
                for r, cst, ve, de in zip(drow, const, val_err, dep_err)
            ],
            caption=f"Discrete Snell envelope on the exact finite-L log-norm walk (fitted slopes: threshold "
            f"{_f(s_thr, 3)}, value {_f(s_val, 3)}, E tau {_f(s_dep, 3)}, KS {_f(s_ks, 3)})",
        )
    )
    out.tables.append(
        plotting.table(
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
                    _f(_closed_value(float(r["y0"])), 6),
                    _f(r["exact_infinite"], 6),
                    _f(r["exact_finite"], 6),
                    _pm(r["lower"], r["lower_se"], 6),
                    _pm(r["upper"], r["upper_se"], 6),
                    _f(r["p_stop_at_once"], 3),
                    _pm(r["depth_mean"], r["depth_se"], 4),
                    _f(r["exact_depth_finite"], 4),
                    r["status"],
                ]
                for r in reg
            ],
            caption=f"Regression Monte Carlo on simulated width-{n} networks (L = {Lr}, horizon {H} layers); "
            "the "
            "upper bound is the nested regression martingale (a true upper bound)",
        )
    )
    out.tables.append(
        plotting.table(
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
                    _f(r["m"], 3),
                    _f(r["boundary"], 4),
                    r["side"],
                    r["closed_stop_at_once"],
                    sym["structure"].get(str(r["width"]), "boundary a - c/(2m)"),
                    r["pde_stop_below_target"],
                    ", ".join(str(v) for v in r["discrete_stops_at_once"].values()),
                    f"{_f(r['finite_value'], 5)} vs {_f(-(B6['target'] ** 2), 5)}",
                    (
                        f"{_f(r['regression']['p_stop_at_once'], 3)}, {_f(r['regression']['lower'], 5)} vs "
                        f"{_f(r['regression']['gain_y0'], 5)}"
                    )
                    if "regression" in r
                    else "",
                ]
                for r in width["rows"]
            ],
            caption="The width threshold of B6: for n <= 2 the log-norm has no upward drift and stopping at "
            "once is optimal below the target",
        )
    )
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
    out.figures.append(_b6_value_figure(ctx, sym, pde, disc, reg, k, Lr, T))
    out.figures.append(_b6_law_figure(ctx, law, k))
    out.figures.append(_b6_rate_figure(ctx, Ls, thr_err, val_err, dep_err, ks, k))
    return out


def _closed_value(y: float) -> float:
    from stochdepth.depth import linear_resnet_optimal_depth

    return float(linear_resnet_optimal_depth(B6["width"], B6["target"], B6["cost"]).value(y))


def _b6_value_figure(
    ctx: Context, sym: dict, pde: dict, disc: dict, reg: list, k: dict, r_L: int, r_T: float
) -> str:
    from stochdepth.depth import linear_resnet_optimal_depth

    cf = linear_resnet_optimal_depth(B6["width"], B6["target"], B6["cost"])
    fig, axes = plotting.figure(2, 1, width=5.2, height=3.8)
    ax, ad = axes[0, 0], axes[0, 1]
    ys = np.linspace(k["ystar"] - 1.5, k["a"] + 0.2, 400)
    ax.plot(ys, cf.value(ys), color="k", lw=2.2, label="closed form (smooth fit)")
    ax.plot(ys, -((ys - k["a"]) ** 2), color="0.6", lw=1, ls=":", label="gain g(y)")
    sy, sv = _arr(sym["plot_y"]), _arr(sym["plot_v"])
    keep = (sy >= ys[0]) & (sy <= ys[-1])
    sy, sv = sy[keep], sv[keep]
    ax.plot(sy, sv, "o", ms=3.5, mfc="none", color="tab:purple", label="symbolic (sympy)")
    py, pv = _arr(pde["plot_y"]), _arr(pde["plot_v"])
    ax.plot(py, pv, "--", color="tab:orange", lw=1.5, label=f"PDE (N = {pde['rows'][-1]['nodes']})")
    ad.plot(py, pv - cf.value(py), color="tab:orange", lw=1.5, label="PDE")
    for (L, cur), col in zip(disc["curves"].items(), ("tab:blue", "tab:cyan", "tab:green")):
        gy, gv = _arr(cur["y"]), _arr(cur["v"])
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
    return _save(ctx, fig, "depth_b6_value_functions")


def _b6_law_figure(ctx: Context, law: dict, k: dict) -> str:
    fig, axes = plotting.figure(2, 1, width=5.0, height=3.6)
    ax, ad = axes[0, 0], axes[0, 1]
    edges = _arr(law["hist_edges"])
    ax.stairs(
        _arr(law["hist"]),
        edges,
        color="tab:blue",
        lw=1.5,
        label=f"networks (L = {law['L']}, N = {law['networks']})",
    )
    ig = _inverse_gaussian(k["mean"], k["shape"])
    t = np.linspace(1e-3, edges[-1], 400)
    ax.plot(t, ig.pdf(t), color="k", lw=2, label=f"IG(mean {_f(k['mean'], 3)}, shape {_f(k['shape'], 3)})")
    pt, pp = _arr(law["pmf_t"]), _arr(law["pmf"])
    keep = pt <= edges[-1]
    ax.plot(pt[keep], pp[keep], ".", ms=3, color="tab:orange", label="exact discrete law / h")
    ax.set_xlabel("optimal depth (depth-time; 1 = one network)")
    ax.set_ylabel("density")
    ax.set_title("Law of the optimal depth")
    ax.legend(fontsize=7)
    et = _arr(law["ecdf_t"])
    ad.plot(et, _arr(law["ecdf_minus_ig"]), color="tab:blue", lw=1, label="networks: ECDF - F_IG")
    ad.plot(et, _arr(law["jit_minus_ig"]), color="tab:orange", lw=1.5, label="exact discrete law - F_IG")
    cN = float(law["critical"])
    jit = _arr(law["jit_minus_ig"])
    band = f"acceptance band of the exact-law KS test (p = {ALPHA:g})"
    ad.fill_between(et, jit - cN, jit + cN, color="0.85", label=band)
    ad.axhline(0.0, color="k", lw=0.6)
    ad.set_xlabel("depth-time t")
    ad.set_ylabel("CDF difference")
    ad.set_title("Distance to the inverse Gaussian")
    ad.legend(fontsize=7)
    return _save(ctx, fig, "depth_b6_depth_law")


def _b6_rate_figure(ctx: Context, Ls, thr_err, val_err, dep_err, ks, k) -> str:
    fig, axes = plotting.figure(2, 1, width=4.6, height=3.6)
    ax, ad = axes[0, 0], axes[0, 1]
    ax.loglog(Ls, thr_err, "o-", color="tab:blue", label="y* - y*_L (exact walk)")
    ax.loglog(Ls, BETA_BGK * k["s"] / np.sqrt(Ls), "k--", lw=1, label="BETA s L^-1/2 (BGK correction)")
    ax.set_xlabel("layers per unit depth L")
    ax.set_ylabel("threshold error")
    ax.set_title(f"Threshold error (slope {_f(_slope(Ls[Ls >= 16], thr_err[Ls >= 16]), 3)})")
    ax.legend(fontsize=7)
    ad.loglog(
        Ls, np.abs(val_err), "s-", label=f"|V - V_L| (slope {_f(_slope(Ls[Ls >= 16], val_err[Ls >= 16]), 3)})"
    )
    ad.loglog(
        Ls,
        np.abs(dep_err),
        "^-",
        label=f"|E tau - h E tau_L| (slope {_f(_slope(Ls[Ls >= 16], dep_err[Ls >= 16]), 3)})",
    )
    fin = np.isfinite(ks)
    kf = fin & (Ls >= 16)
    ad.loglog(Ls[fin], ks[fin], "d-", label=f"KS distance to IG (slope {_f(_slope(Ls[kf], ks[kf]), 3)})")
    ref = 0.5 * np.abs(val_err[0]) * Ls[0] / Ls
    ad.loglog(Ls, ref, "k:", lw=1, label="L^-1")
    ad.set_xlabel("layers per unit depth L")
    ad.set_ylabel("error")
    ad.set_title("Value, expected depth and law")
    ad.legend(fontsize=7)
    return _save(ctx, fig, "depth_b6_convergence")


# ----------------------------------------------------------------------------------------------------
# 3. The noiseless contraction of B5
# ----------------------------------------------------------------------------------------------------


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


def _b5_noiseless(ctx: Context) -> TaskOutput:
    out = TaskOutput()
    kappa, cost = B5["kappa"], B5["cost"]
    nodes, hnodes = _size(ctx, "b5_nodes"), _size(ctx, "b5_horizon_nodes")
    res = ctx.cached(
        f"continuous-{'-'.join(map(str, nodes))}-h{'-'.join(map(str, hnodes))}",
        functools.partial(_b5_compute, nodes, hnodes),
    )
    bstar = float(res["boundary"])
    out.notes.append(
        f"Problem: d_t = d_0 e^(-kappa t), gain -d^2, cost c per unit depth, kappa = {kappa}, c = {cost}: "
        "stop when "
        f"|d| <= sqrt(c/(2 kappa)) = {_f(bstar, 6)}; V(d) = -(c/(2 kappa))(1 + ln(2 kappa d^2/c)) above."
    )
    bad = [b for b in res["brute"] if abs(float(b["closed"]) - float(b["brute"])) > float(b["tol"])]
    out.check(
        "the closed form is the maximum over stopping times",
        not bad,
        "max_s [-d^2 e^(-2 kappa s) - c s] on 200001 times in [0, 5] against V(d): "
        + ", ".join(
            f"d = {b['d']}: {_f(abs(float(b['closed']) - float(b['brute'])), 2)}" for b in res["brute"]
        )
        + " (required <= |f''| ds^2/8, the grid error of a concave maximum)",
    )
    sym = res["symbolic"]
    out.check(
        "symbolic smooth fit in u = log d re-derives the boundary and the value",
        bool(sym["boundary_ok"] and sym["value_ok"] and sym["verified"]) and float(sym["error"]) < 1e-12,
        f"sympy: u* = {sym['boundary']} (e^u* = sqrt(c/(2 kappa)): {'yes' if sym['boundary_ok'] else 'NO'}), "
        f"V = {sym['value']} (= the closed form: {'yes' if sym['value_ok'] else 'NO'}); numeric verification "
        f"{'holds' if sym['verified'] else 'FAILS'}, max |V_sym - V| = {_f(sym['error'], 2)} (required < "
        "1e-12)",
    )
    rows = res["rows"]
    h = _arr([r["h"] for r in rows])
    err = _arr([r["error"] for r in rows])
    order = _slope(h, err)
    in_bracket = all(abs(float(r["boundary"]) - bstar) <= float(r["bracket"]) + float(r["h"]) for r in rows)
    out.check(
        "PDE (first-order upwind): first-order convergence to the closed form",
        0.85 <= order <= 1.15 and in_bracket and all(Status(r["status"]) is Status.CONVERGED for r in rows),
        "sup |V_h - V| on [0, 2]: "
        + ", ".join(f"h = {_f(x, 3)}: {_f(e, 3)}" for x, e in zip(h, err))
        + f"; fitted order {_f(order, 3)} (upwinding is first order; required in [0.85, 1.15]); free "
        "boundary "
        "within its bracket plus one cell at every grid: " + ("yes" if in_bracket else "NO"),
    )
    hh = _arr([r["h"] for r in res["hrows"]])
    he = _arr([r["error"] for r in res["hrows"]])
    horder = _slope(hh, he)
    out.check(
        "PDE with a finite horizon: first order in space and time together",
        0.8 <= horder <= 1.2,
        f"horizon T = {res['horizon']}, implicit Euler with as many steps as nodes: sup |V_h(0, .) - V_T| = "
        + ", ".join(f"{_f(e, 3)}" for e in he)
        + f"; fitted order {_f(horder, 3)} (required in [0.8, 1.2])",
    )
    nd, lim_depths = _size(ctx, "b5_draws"), _size(ctx, "b5_limit_depths")
    disc = ctx.cached(
        f"discrete-{nd}-{'-'.join(map(str, lim_depths))}",
        functools.partial(_b5_discrete, ctx, nd, lim_depths),
    )
    n_cases = sum(len(r["formula"]) for r in disc["rows"])
    mism_pw = sum(int(a != b) for r in disc["rows"] for a, b in zip(r["formula"], r["pathwise"]))
    mism_ch = sum(int(a != b) for r in disc["rows"] for a, b in zip(r["formula"], r["chain"]))
    ties = sum(int(r["ties"]) for r in disc["rows"])
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
        + ", ".join(f"{_f(r['scaled_error'], 4)} (L = {r['L']})" for r in lim)
        + f", s* = {_f(s_star, 6)}; derived: ratio = L s* - A + O(1/L) with A = 1/4 + kappa s*/2 = "
        f"{_f(A, 4)}, "
        f"and the ceiling adds [0, 1), so L (tau*/L - s*) must lie in [-A, 1 - A] = [{_f(-A, 4)}, "
        f"{_f(1 - A, 4)}] "
        "(0.01 allowed for the O(1/L) remainder, below 0.002 from L = 100)",
    )
    out.tables.append(
        plotting.table(
            ["nodes", "h", "sup error", "free boundary", "|x* - d*|", "bracket", "LCP residual"],
            [
                [
                    r["nodes"],
                    _f(r["h"], 3),
                    _f(r["error"], 3),
                    _f(r["boundary"], 6),
                    _f(abs(float(r["boundary"]) - bstar), 2),
                    _f(r["bracket"], 2),
                    _f(r["residual"], 2),
                ]
                for r in rows
            ],
            caption=f"Stationary noiseless problem by the upwind PDE (d* = {_f(bstar, 6)}; fitted order "
            f"{_f(order, 3)})",
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
    from stochdepth.depth import noiseless_contraction

    nc = noiseless_contraction(B5["kappa"], B5["cost"])
    fig, axes = plotting.figure(3, 1, width=4.2, height=3.4)
    ax = axes[0, 0]
    x, v = _arr(res["plot_x"]), _arr(res["plot_v"])
    ax.plot(x, nc.value(x), color="k", lw=2, label="closed form")
    ax.plot(x, v, "--", color="tab:orange", label=f"upwind PDE (N = {res['rows'][-1]['nodes']})")
    ax.plot(x, -(x**2), ":", color="0.5", label="gain -d^2")
    ax.axvline(bstar, color="k", lw=0.6, ls="--", label="boundary sqrt(c/(2 kappa))")
    ax.set_ylim(float(np.min(nc.value(x))) * 1.3, 0.01)
    ax.set_xlabel("distance d")
    ax.set_ylabel("V(d)")
    ax.set_title("B5: noiseless contraction")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    for key, lab, mk in (("rows", "stationary", "o-"), ("hrows", f"horizon {res['horizon']}", "s-")):
        hh = _arr([r["h"] for r in res[key]])
        ee = _arr([r["error"] for r in res[key]])
        ax.loglog(hh, ee, mk, label=f"{lab} (order {_f(_slope(hh, ee), 3)})")
    ax.set_xlabel("grid step h")
    ax.xaxis.set_minor_formatter(_null_formatter())
    ax.set_ylabel("sup |V_h - V|")
    ax.set_title("PDE convergence")
    ax.legend(fontsize=7)
    ax = axes[0, 2]
    f = np.concatenate([r["formula"] for r in disc["rows"]]).astype(float)
    p = np.concatenate([r["pathwise"] for r in disc["rows"]]).astype(float)
    ax.plot(f, p, "o", ms=3, alpha=0.5, label="pathwise maximum")
    top = max(float(f.max()), 1.0)
    ax.plot([0, top], [0, top], "k--", lw=0.8)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel("tau* (closed form)")
    ax.set_ylabel("tau* (exact discrete solver)")
    ax.set_title("Discrete analogue")
    ax.legend(fontsize=7)
    return _save(ctx, fig, "depth_b5_noiseless")


# ----------------------------------------------------------------------------------------------------
# 4. One-step look-ahead and myopic rules
# ----------------------------------------------------------------------------------------------------


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
    k = _b6_constants()
    thresholds = []
    for yl in np.linspace(k["ystar"] - 0.3, k["ystar"] + 0.1, 9):
        theta = -((a - yl) ** 2)
        e = GainThreshold(theta).evaluate(prob)
        thresholds.append(
            {"y_level": float(yl), "theta": theta, "value": e.value.value, "depth": e.depth.mean.value / L}
        )
    best = max(thresholds, key=lambda r: r["value"])
    for r in (thresholds[0], best, thresholds[-1]):
        label = f"gain threshold G >= {_f(r['theta'], 3)} (y >= {_f(r['y_level'], 3)})"
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


def _osla(ctx: Context) -> TaskOutput:
    out = TaskOutput()
    n_mono, n_rand = _size(ctx, "osla_monotone"), _size(ctx, "osla_random")
    ch = ctx.cached(f"chains-{n_mono}-{n_rand}", functools.partial(_osla_chains, ctx, n_mono, n_rand))
    mono = ch["monotone"]
    all_mono = all(bool(r["monotone"]) for r in mono)
    gaps = _arr([float(r["snell"]) - float(r["osla"]) for r in mono])
    scale = _arr([1.0 + abs(float(r["snell"])) for r in mono])
    n_fin = sum(bool(r["finite"]) for r in mono)
    out.check(
        "one-step look-ahead is optimal on monotone problems",
        all_mono and bool(np.all(np.abs(gaps) <= 1e-9 * scale)),
        f"{len(mono)} random monotone chains ({n_fin} finite horizon, {len(mono) - n_fin} infinite; upward "
        "moves, "
        f"non-increasing one-step gain), all recognised as monotone: {'yes' if all_mono else 'NO'}; max "
        "|V_Snell - "
        f"V_OSLA| = {_f(np.max(np.abs(gaps)), 2)} (exact evaluations; required <= 1e-9 (1 + |V|))",
    )
    b5 = ctx.cached("b5-chains", functools.partial(_osla_b5, ctx))
    b5_ok = all(bool(r["monotone"]) and float(r["osla_mean"]) == float(r["tau"]) for r in b5["rows"])
    out.check(
        "look-ahead on the B5 discrete analogue stops exactly at tau*",
        b5_ok,
        f"{len(b5['rows'])} deterministic contraction chains (alpha in [0.02, 0.8], c in [1e-3, 0.5], d0 in "
        "[0.1, 5]): monotone, and the look-ahead depth equals the closed-form tau* in every case",
    )
    dip = ctx.cached("dip", _dip_chain)
    out.check(
        "look-ahead is strictly worse on a non-monotone problem (constructed dip)",
        (not dip["monotone"]) and float(dip["osla"]) == 0.0 and abs(float(dip["snell"]) - 9.8) < 1e-12,
        "0 -> 1 -> 2 deterministically, gains (0, -1, 10), cost 0.1: look-ahead compares 0 with -1 - 0.1 and "
        f"stops at once (value {_f(dip['osla'])}), the optimum goes through the dip: 10 - 0.2 = 9.8 (solved "
        f"{_f(dip['snell'], 6)}); monotone: {dip['monotone']}",
    )
    L, T, Np = _size(ctx, "osla_depth"), _size(ctx, "osla_horizon"), _size(ctx, "osla_paths")
    b6 = ctx.cached(f"b6-L{L}-T{T}-N{Np}", functools.partial(_osla_b6, ctx, L, T, Np))
    rows = b6["rows"]
    snell = float(b6["snell"])
    osla_v = float(rows[1]["value"])
    out.check(
        "look-ahead is strictly worse on the B6 chain, which is not monotone",
        (not b6["monotone"]) and snell - osla_v > 10 * float(b6["error_bound"]) + 1e-12,
        f"exact walk of the width-{B6['width']} network, L = {L}, horizon {b6['H']} layers: the walk can "
        "fall "
        "back out of the look-ahead set (monotone: "
        f"{b6['monotone']}); V_Snell - V_OSLA = {_f(snell - osla_v, 3)} (both exact: backward induction and "
        f"exact policy evaluation, certified error {_f(b6['error_bound'], 2)}). Look-ahead stops at y >= "
        f"{_f(b6['osla_threshold'], 4)} (about a - (c + "
        f"s^2)/(2m) = {_f(B6['target'] - (B6['cost'] + 1 / B6['width']) / (2 * _b6_constants()['m']), 4)}), "
        "the "
        f"Snell policy at {_f(b6['snell_threshold'], 4)}: the optimal policy waits because the walk's noise "
        "makes continuing worth more than one step's expected gain",
    )
    rand = ch["random"]
    worse = _arr([float(r["snell"]) - float(r["osla"]) for r in rand])
    rscale = _arr([1.0 + abs(float(r["snell"])) for r in rand])
    n_nonmono = sum(not bool(r["monotone"]) for r in rand)
    strictly = int(np.sum(worse > 1e-9 * rscale))
    strict_all_nonmono = all(
        not bool(r["monotone"]) for r, w, sc in zip(rand, worse, rscale) if w > 1e-9 * sc
    )
    out.check(
        "no policy beats the Snell envelope (random chains)",
        bool(np.all(worse >= -1e-9 * rscale)),
        f"{len(rand)} random chains ({n_nonmono} not monotone): look-ahead value <= Snell value in all (min "
        f"V_Snell - V_OSLA = {_f(worse.min(), 2)}); strictly worse in {strictly}, all of them non-monotone: "
        f"{'yes' if strict_all_nonmono else 'NO'}",
    )
    exact_ok = all(float(r["value"]) <= snell + 1e-10 * (1 + abs(snell)) for r in rows if r["exact"])
    mc_ok = all(float(r["value"]) <= snell + Z_MAX * float(r["se"]) for r in rows if not r["exact"])
    smc = b6["snell_mc"]
    z_mc = (float(smc["value"]) - snell) / float(smc["se"])
    out.check(
        "myopic rules never beat the Snell policy on the B6 chain",
        exact_ok and mc_ok and abs(z_mc) <= Z_MAX,
        f"gain thresholds (exact) <= V_Snell = {_f(snell, 6)}; patience rules (Monte Carlo on {Np} chain "
        "paths) "
        f"<= V_Snell + 5 se; the Snell policy on the same paths: {_pm(smc['value'], smc['se'])} (z = "
        f"{_f(z_mc, 3)} against the exact value, required |z| <= 5)",
    )
    out.tables.append(
        plotting.table(
            ["policy", "value", "gap to Snell", "gap / se", "E depth (depth-time)", "evaluation"],
            [
                [
                    r["policy"],
                    _pm(r["value"], r["se"], 6) if not r["exact"] else _f(r["value"], 6),
                    _f(snell - float(r["value"]), 3),
                    _f((snell - float(r["value"])) / float(r["se"]), 3) if not r["exact"] else "",
                    _pm(r["depth"], r["depth_se"], 4) if not r["exact"] else _f(r["depth"], 4),
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
    fig, axes = plotting.figure(2, 1, width=5.0, height=3.6)
    ax = axes[0, 0]
    th = b6["thresholds"]
    ax.plot(
        [float(r["depth"]) for r in th],
        [float(r["value"]) for r in th],
        "o-",
        color="tab:green",
        ms=4,
        label="gain thresholds (exact)",
    )
    for r in b6["rows"]:
        if r["policy"].startswith("patience"):
            ax.errorbar(
                [float(r["depth"])],
                [float(r["value"])],
                yerr=[2 * float(r["se"])],
                fmt="s",
                color="tab:purple",
                ms=4,
            )
    ax.plot([], [], "s", color="tab:purple", label="patience(1, 2, 4, 8), ± 2 se")
    osla = b6["rows"][1]
    ax.plot(
        [float(osla["depth"])],
        [float(osla["value"])],
        "D",
        color="tab:orange",
        ms=7,
        label="one-step look-ahead",
    )
    sn = b6["rows"][0]
    ax.plot([float(sn["depth"])], [float(sn["value"])], "*", color="k", ms=14, label="Snell (optimal)")
    ax.set_xlabel("mean depth (depth-time)")
    ax.set_ylabel("value E[Z_tau]")
    ax.set_title(f"Stopping rules on the B6 chain (L = {b6['L']})")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    mono = np.array([bool(r["monotone"]) for r in rand])
    scale = _arr([1.0 + abs(float(r["snell"])) for r in rand])
    strict = worse > 1e-9 * scale
    bins = np.logspace(-7, 1, 33)
    lab = f"non-monotone: {int((strict & ~mono).sum())} of {int((~mono).sum())}"
    ax.hist(np.clip(worse[strict & ~mono], 1e-7, None), bins=bins, color="tab:red", alpha=0.7, label=lab)
    lab = f"monotone: {int((strict & mono).sum())} of {int(mono.sum())}"
    ax.hist(np.clip(worse[strict & mono], 1e-7, None), bins=bins, color="tab:blue", alpha=0.7, label=lab)
    ax.set_xscale("log")
    ax.set_xlabel("V_Snell - V_OSLA where look-ahead is strictly worse")
    ax.set_ylabel("random chains")
    ax.set_title(f"Random chains: look-ahead optimal on {int((~strict).sum())} of {worse.size}", fontsize=10)
    ax.legend(fontsize=7)
    return _save(ctx, fig, "depth_osla")


# ----------------------------------------------------------------------------------------------------
# 5. External benchmarks
# ----------------------------------------------------------------------------------------------------

#: Longstaff & Schwartz (2001), Rev. Financial Studies 14, Table 1: S0 = 36, K = 40, r = 0.06, sigma = 0.2,
#: T = 1, finite-difference value 4.478 (their simulation with 50 exercise dates per year: 4.472, s.e. 0.010).
LS2001 = {
    "spot": 36.0,
    "strike": 40.0,
    "rate": 0.06,
    "volatility": 0.2,
    "maturity": 1.0,
    "n_dates": 50,
    "value": 4.478,
}
#: Andersen & Broadie (2004), Management Science 50, sec. 5 (also Glasserman 2004, Table 8.1): Bermudan
#: max-call, r = 0.05, q = 0.1, sigma = 0.2, K = 100, T = 3, 9 exercise dates, independent assets; values
#: (2 decimals) for S0 = 90, 100, 110.
MAX_CALL = {"rate": 0.05, "volatility": 0.2, "maturity": 3.0, "n_dates": 9, "dividend": 0.1}
MAX_CALL_VALUES = {2: {90.0: 8.08, 100.0: 13.90, 110.0: 21.34}, 5: {90.0: 16.64, 100.0: 26.15, 110.0: 36.78}}
#: American puts for the PDE: (spot, strike, rate, dividend, volatility, maturity).
PUT_SETS = (
    (100.0, 100.0, 0.05, 0.00, 0.20, 1.0),
    (90.0, 100.0, 0.03, 0.01, 0.30, 0.5),
    (110.0, 100.0, 0.08, 0.02, 0.40, 2.0),
    (36.0, 40.0, 0.06, 0.00, 0.20, 1.0),
    (120.0, 100.0, 0.10, 0.05, 0.25, 3.0),
)


def _bench_put(ctx: Context, n_paths: int, dual: tuple) -> dict[str, Any]:
    from stochdepth.stopping import AndersenBroadie, LongstaffSchwartz, Polynomial, solve_stopping
    from stochdepth.stopping.finance import GeometricBrownianMotion, Put, bermudan_problem, bermudan_put_grid

    p = LS2001
    grid = bermudan_put_grid(
        p["spot"],
        p["strike"],
        rate=p["rate"],
        volatility=p["volatility"],
        maturity=p["maturity"],
        n_dates=p["n_dates"],
    )
    gbm = GeometricBrownianMotion(
        p["spot"], rate=p["rate"], volatility=p["volatility"], maturity=p["maturity"], n_dates=p["n_dates"]
    )
    ls = LongstaffSchwartz(
        Polynomial(3),
        n_paths=n_paths,
        n_eval=n_paths,
        itm_only=True,
        dual=AndersenBroadie(n_outer=dual[0], n_inner=dual[1]),
    )
    res = solve_stopping(
        bermudan_problem(gbm, Put(p["strike"])), ls, rng=ctx.rng(f"put-{n_paths}-{dual}"), throw=False
    )
    return {
        "grid": grid.value,
        "grid_error": grid.error_estimate,
        "lower": res.lower.value,
        "lower_se": res.lower.stderr,
        "lower_plain_se": res.lower_plain.stderr,
        "upper": res.upper.value,
        "upper_se": res.upper.stderr,
        "status": res.message or res.status.value,
    }


def _max_call_tree(spot: float, steps_per_date: int) -> float:
    r"""Bermudan max-call on two independent assets by a two-dimensional binomial lattice.

    Boyle, Evnine & Gibbs, *Rev. Financial Studies* 2 (1989) 241-250, with zero correlation: the product of
    two Cox-Ross-Rubinstein trees (:math:`u=e^{\sigma\sqrt{\Delta t}}`,
    :math:`p=(e^{(r-q)\Delta t}-u^{-1})/(u-u^{-1})`), exercise allowed at the dates only. Independent of the
    grid reference; its error is :math:`O(1/N)` and oscillates with the number of steps :math:`N`.
    """
    p = MAX_CALL
    per = int(steps_per_date)
    N = p["n_dates"] * per
    dt = p["maturity"] / N
    u = math.exp(p["volatility"] * math.sqrt(dt))
    q = (math.exp((p["rate"] - p["dividend"]) * dt) - 1 / u) / (u - 1 / u)
    disc = math.exp(-p["rate"] * dt)

    def payoff(n: int) -> np.ndarray:
        S = spot * u ** (2.0 * np.arange(n + 1) - n)
        return np.maximum(np.maximum(S[:, None], S[None, :]) - 100.0, 0.0)

    V = payoff(N)
    for n in range(N - 1, -1, -1):
        V = disc * (q * q * V[1:, 1:] + q * (1 - q) * (V[1:, :-1] + V[:-1, 1:]) + (1 - q) ** 2 * V[:-1, :-1])
        if n % per == 0:
            V = np.maximum(V, payoff(n))
    return float(V[0, 0])


def _bench_maxcall(
    ctx: Context, n_assets: int, spot: float, n_paths: int, dual: tuple, tree_steps: tuple
) -> dict[str, Any]:
    from stochdepth.stopping import AndersenBroadie, LongstaffSchwartz, Polynomial, solve_stopping
    from stochdepth.stopping.finance import (
        GeometricBrownianMotion,
        MaxCall,
        bermudan_max_call_grid,
        bermudan_problem,
    )

    gbm = GeometricBrownianMotion([spot] * n_assets, **MAX_CALL)
    ls = LongstaffSchwartz(
        Polynomial(3 if n_assets == 2 else 2),
        n_paths=n_paths,
        n_eval=n_paths,
        itm_only=True,
        dual=AndersenBroadie(n_outer=dual[0], n_inner=dual[1]),
    )
    res = solve_stopping(
        bermudan_problem(gbm, MaxCall(100.0)),
        ls,
        rng=ctx.rng(f"maxcall-{n_assets}-{spot}-{n_paths}-{dual}"),
        throw=False,
    )
    out = {
        "assets": n_assets,
        "spot": spot,
        "literature": MAX_CALL_VALUES[n_assets][spot],
        "lower": res.lower.value,
        "lower_se": res.lower.stderr,
        "upper": res.upper.value,
        "upper_se": res.upper.stderr,
        "status": res.message or res.status.value,
    }
    if n_assets == 2:
        g = bermudan_max_call_grid(spot, 100.0, **MAX_CALL)
        out["grid"], out["grid_error"] = g.value, g.error_estimate
        out["tree"] = {str(k * MAX_CALL["n_dates"]): _max_call_tree(spot, k) for k in tree_steps}
    return out


def _bench_pde(nodes: tuple) -> dict[str, Any]:
    from stochdepth.freeboundary import (
        BrennanSchwartz,
        CrankNicolson,
        Implicit,
        american_put_problem,
        solve_obstacle,
    )

    rows = []
    for spot, strike, rate, q, vol, T in PUT_SETS:
        ql_put = american_put(spot, strike, rate, q, vol, T)
        ref, tau = ql_put.price, ql_put.tau
        prices: dict[str, list[float]] = {}
        for name, scheme in (("crank-nicolson", CrankNicolson), ("implicit", Implicit)):
            prices[name] = []
            for N in nodes:
                prob = american_put_problem(strike, rate, vol, tau, dividend=q, n_nodes=N)
                sol = solve_obstacle(
                    prob, scheme=scheme(n_steps=max(N // 4, 1)), lcp=BrennanSchwartz(side="lower")
                )
                prices[name].append(sol.value_at(0.0, math.log(spot)))
        rows.append(
            {"params": [spot, strike, rate, q, vol, T], "tau": tau, "quantlib": ref, "prices": prices}
        )
    return {"nodes": list(nodes), "rows": rows}


def _benchmarks(ctx: Context) -> TaskOutput:
    out = TaskOutput()
    Np, dual = _size(ctx, "bench_put_paths"), _size(ctx, "bench_put_dual")
    put = ctx.cached(f"put-{Np}-{dual[0]}-{dual[1]}", functools.partial(_bench_put, ctx, Np, tuple(dual)))
    lit = LS2001["value"]
    out.check(
        "LS2001 put: the grid reference reproduces the published 4.478",
        abs(float(put["grid"]) - lit) <= 0.0005 + float(put["grid_error"]),
        "Bermudan put with 50 dates (S0 = 36, K = 40, r = 0.06, sigma = 0.2, T = 1) by the exact Snell "
        "envelope "
        f"of the log-price walk, Richardson-extrapolated: {_f(put['grid'], 7)} (error estimate "
        f"{_f(put['grid_error'], 2)}) vs 4.478 (3 decimals: rounding 0.0005)",
    )
    lo = float(put["lower"]) - Z_MAX * float(put["lower_se"])
    hi = float(put["upper"]) + Z_MAX * float(put["upper_se"])
    out.check(
        "LS2001 put: [lower, upper] brackets the published value and the grid reference",
        lo <= lit + 0.0005 and hi >= lit - 0.0005 and lo <= float(put["grid"]) <= hi,
        f"Longstaff-Schwartz (cubic, in-the-money paths, {Np} training and {Np} evaluation paths, martingale "
        f"control variates: se {_f(put['lower_se'], 2)} instead of {_f(put['lower_plain_se'], 2)}) lower "
        f"{_pm(put['lower'], put['lower_se'])}, Andersen-Broadie upper ({dual[0]} x {dual[1]}) "
        f"{_pm(put['upper'], put['upper_se'])}: [lower - 5 se, upper + 5 se] = [{_f(lo, 5)}, {_f(hi, 5)}] "
        f"contains 4.478 and {_f(put['grid'], 6)}",
    )
    Nm, mdual = _size(ctx, "bench_maxcall_paths"), _size(ctx, "bench_maxcall_dual")
    tree_steps = tuple(_size(ctx, "bench_tree_steps"))
    mc = []
    for n_assets in (2, 5):
        for spot in (90.0, 100.0, 110.0):
            mc.append(
                ctx.cached(
                    f"maxcall-{n_assets}-{spot}-{Nm}-{mdual[0]}-{mdual[1]}-t{'-'.join(map(str, tree_steps))}",
                    functools.partial(_bench_maxcall, ctx, n_assets, spot, Nm, tuple(mdual), tree_steps),
                )
            )
    two = [r for r in mc if "grid" in r]
    # the published values are lattice prices rounded to 2 decimals: 0.005 for the rounding and 0.005 for the
    # lattices' own O(1/N) error, whose size our tree shows (it moves by a few 1e-3 between step counts)
    grid_ok = all(
        abs(float(r["grid"]) - float(r["literature"])) <= 0.01 + 2 * float(r["grid_error"]) for r in two
    )
    tree_spread = max(
        max(_arr(list(r["tree"].values())).max(), float(r["grid"]))
        - min(_arr(list(r["tree"].values())).min(), float(r["grid"]))
        for r in two
    )
    out.check(
        "max-call, 2 assets: the product-grid reference reproduces the published values",
        grid_ok,
        "Snell envelope on a product grid of the two log-prices, Richardson-extrapolated: "
        + ", ".join(
            f"S0 = {int(r['spot'])}: {_f(r['grid'], 6)} (± {_f(r['grid_error'], 1)}) vs {r['literature']}, "
            "2-D binomial "
            "tree " + ", ".join(f"{_f(v, 6)} ({k} steps)" for k, v in r["tree"].items())
            for r in two
        )
        + " (required within 0.005 for the 2-decimal rounding + 0.005 for the published lattices' own error "
        "+ 2 "
        f"error estimates; largest spread between our grid and tree values: {_f(tree_spread, 2)})",
    )
    for r in two:
        if abs(float(r["grid"]) - float(r["literature"])) > 0.005:
            out.notes.append(
                f"Max-call on 2 assets at S0 = {int(r['spot'])}: the published {r['literature']} is off its "
                "own rounding "
                f"interval: our grid gives {_f(r['grid'], 6)} and our binomial tree "
                + ", ".join(f"{_f(v, 6)} ({k} steps)" for k, v in r["tree"].items())
                + "; the published numbers are binomial-lattice prices rounded to 2 decimals, and a "
                "lattice's "
                "O(1/N) error at practical step counts is a few 1e-3 here (our tree moves that much between "
                "step "
                "counts), enough to push the rounding to the other side."
            )
    brk = []
    ok = True
    for r in mc:
        lo = float(r["lower"]) - Z_MAX * float(r["lower_se"])
        hi = float(r["upper"]) + Z_MAX * float(r["upper_se"])
        refs = [float(r["literature"])] + ([float(r["grid"])] if "grid" in r else [])
        good = all(lo <= ref + 0.005 and hi >= ref - 0.005 for ref in refs)
        ok &= good
        brk.append((r, lo, hi, good))
    out.check(
        "max-call on 2 and 5 assets: [lower, upper] brackets the published values",
        ok,
        f"Longstaff-Schwartz ({Nm} paths; cubic basis of the sorted prices for 2 assets, quadratic for 5) "
        "and "
        f"Andersen-Broadie ({mdual[0]} x {mdual[1]}): "
        + "; ".join(
            f"{r['assets']} assets, S0 = {int(r['spot'])}: [{_f(lo, 5)}, {_f(hi, 5)}] "
            f"{'ok' if g else 'MISSES'}"
            for r, lo, hi, g in brk
        )
        + " (literature values carry 2 decimals: 0.005 rounding allowed)",
    )
    rows = [
        [
            "LS2001 put, 50 dates",
            "4.478",
            _f(put["grid"], 6),
            _pm(put["lower"], put["lower_se"]),
            _pm(put["upper"], put["upper_se"]),
            _f(float(put["upper"]) - float(put["lower"]), 3),
            "yes",
        ]
    ]
    for r, _lo, _hi, g in brk:
        rows.append(
            [
                f"max-call, {r['assets']} assets, S0 = {int(r['spot'])}",
                _f(r["literature"], 4),
                f"{_f(r['grid'], 6)} (tree: {', '.join(_f(v, 6) for v in r['tree'].values())})"
                if "grid" in r
                else "",
                _pm(r["lower"], r["lower_se"]),
                _pm(r["upper"], r["upper_se"]),
                _f(float(r["upper"]) - float(r["lower"]), 3),
                "yes" if g else "NO",
            ]
        )
    out.tables.append(
        plotting.table(
            [
                "benchmark",
                "literature",
                "grid reference",
                "lower ± se",
                "upper ± se",
                "gap",
                "bracketed (5 se)",
            ],
            rows,
            caption="Regression Monte Carlo brackets of the external optimal-stopping benchmarks",
        )
    )
    out.metrics["put"] = put
    out.metrics["max_call"] = mc
    # --- American put PDE vs QuantLib
    nodes = _size(ctx, "bench_pde_nodes")
    try:
        import QuantLib  # noqa: F401
    except ImportError as exc:
        out.notes.append(f"QuantLib is not installed ({exc}): the American put PDE was not compared with it.")
        out.figures.append(_bench_figure(ctx, brk, put, None))
        return out
    pde = ctx.cached(f"pde-{'-'.join(map(str, nodes))}", functools.partial(_bench_pde, nodes))
    Ns = _arr(pde["nodes"])
    orders: dict[str, list[float]] = {"crank-nicolson": [], "implicit": []}
    rich_ok = True
    trows = []
    for r in pde["rows"]:
        ref = float(r["quantlib"])
        for name in orders:
            e = _arr(r["prices"][name]) - ref
            orders[name].append(-_slope(Ns, e))
        cn = _arr(r["prices"]["crank-nicolson"])
        p = orders["crank-nicolson"][-1]
        est = abs(cn[-1] - cn[-2]) / (2.0**p - 1.0)
        rich_ok &= abs(cn[-1] - ref) <= 2 * est
        S, K, rate, q, vol, T = r["params"]
        trows.append(
            [
                f"S = {S:g}, K = {K:g}, r = {rate:g}, q = {q:g}, sigma = {vol:g}, T = {T:g}",
                _f(ref, 8),
                _f(cn[-1], 8),
                _f(cn[-1] - ref, 2),
                _f(est, 2),
                _f(orders["crank-nicolson"][-1], 3),
                _f(orders["implicit"][-1], 3),
            ]
        )
    cn_o, im_o = np.array(orders["crank-nicolson"]), np.array(orders["implicit"])
    out.check(
        "American put PDE vs QuantLib: second order (graded Crank-Nicolson), first order (implicit)",
        bool(np.all((cn_o >= 1.75) & (cn_o <= 2.25)) and np.all((im_o >= 0.85) & (im_o <= 1.15))),
        f"{len(pde['rows'])} parameter sets, nodes {', '.join(str(int(n)) for n in Ns)} with N/4 time steps, "
        "against "
        "QuantLib's QdFp engine (Andersen-Lake-Offengenden fixed point, high-precision scheme; its own error "
        "is far below ours: the errors keep their order down to the finest grid): fitted orders "
        "Crank-Nicolson "
        + ", ".join(_f(o, 3) for o in cn_o)
        + " (required in [1.75, 2.25]); implicit "
        + ", ".join(_f(o, 3) for o in im_o)
        + " (required in [0.85, 1.15])",
    )
    out.check(
        "American put PDE: the Richardson error estimate covers the true error",
        bool(rich_ok),
        f"|P_N - P_QL| <= 2 |P_N - P_(N/2)|/(2^p - 1) at N = {int(Ns[-1])} for every parameter set (p the "
        "fitted "
        "order): the a-posteriori error bar of the finest grid, with a safety factor 2, contains QuantLib",
    )
    out.tables.append(
        plotting.table(
            [
                "American put",
                "QuantLib",
                f"PDE (N = {int(Ns[-1])})",
                "error",
                "Richardson estimate",
                "order (CN)",
                "order (implicit)",
            ],
            trows,
            caption="American put by the obstacle-problem PDE (log-price, sinh grid, Brennan-Schwartz) "
            "against QuantLib",
        )
    )
    r36 = next(r for r in pde["rows"] if r["params"][:2] == [36.0, 40.0])
    out.notes.append(
        "LS2001's finite-difference value 4.478 is the 50-date Bermudan price (our grid: "
        f"{_f(put['grid'], 6)}); the "
        f"American (continuous exercise) put is higher: QuantLib {_f(r36['quantlib'], 6)}, our PDE "
        f"{_f(r36['prices']['crank-nicolson'][-1], 6)}."
    )
    out.metrics["american_put"] = {"orders_cn": cn_o, "orders_implicit": im_o, "rows": pde["rows"]}
    out.figures.append(_bench_figure(ctx, brk, put, pde))
    return out


def _bench_figure(ctx: Context, brk: list, put: dict, pde: dict | None) -> str:
    fig, axes = plotting.figure(2, 1, width=5.0, height=3.8)
    ax = axes[0, 0]
    items = [
        (
            "LS2001 put",
            float(put["lower"]),
            float(put["lower_se"]),
            float(put["upper"]),
            float(put["upper_se"]),
            4.478,
            float(put["grid"]),
        )
    ]
    for r, _lo, _hi, _g in brk:
        items.append(
            (
                f"max-call {r['assets']}, S0 = {int(r['spot'])}",
                float(r["lower"]),
                float(r["lower_se"]),
                float(r["upper"]),
                float(r["upper_se"]),
                float(r["literature"]),
                float(r["grid"]) if "grid" in r else math.nan,
            )
        )
    for i, (_name, lo, lse, hi, hse, lit, grid) in enumerate(items):
        ref = lit
        ax.plot(
            [(lo - Z_MAX * lse) / ref - 1, (hi + Z_MAX * hse) / ref - 1],
            [i, i],
            color="0.7",
            lw=6,
            solid_capstyle="butt",
        )
        ax.plot([lo / ref - 1, hi / ref - 1], [i, i], "|", color="tab:blue", ms=12, mew=2)
        ax.plot([0.0], [i], "k*", ms=9)
        if math.isfinite(grid):
            ax.plot([grid / ref - 1], [i], "o", mfc="none", color="tab:red", ms=7)
    ax.plot([], [], color="0.7", lw=6, label="[lower - 5 se, upper + 5 se]")
    ax.plot([], [], "|", color="tab:blue", ms=12, mew=2, label="lower, upper")
    ax.plot([], [], "k*", label="literature")
    ax.plot([], [], "o", mfc="none", color="tab:red", label="grid reference")
    ax.set_yticks(range(len(items)))
    ax.set_yticklabels([it[0] for it in items], fontsize=7)
    ax.axvline(0.0, color="k", lw=0.5)
    ax.set_xlabel("relative to the literature value")
    ax.set_title("Monte Carlo brackets")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    ax = axes[0, 1]
    if pde is None:
        ax.text(0.5, 0.5, "QuantLib not installed", ha="center", va="center", transform=ax.transAxes)
    else:
        Ns = _arr(pde["nodes"])
        cols = plotting.palette(len(pde["rows"]))
        for r, col in zip(pde["rows"], cols):
            ref = float(r["quantlib"])
            S, K = r["params"][:2]
            ax.loglog(
                Ns,
                np.abs(_arr(r["prices"]["crank-nicolson"]) - ref),
                "o-",
                color=col,
                label=f"CN, S = {S:g}, K = {K:g}",
            )
            ax.loglog(Ns, np.abs(_arr(r["prices"]["implicit"]) - ref), "x--", color=col, lw=0.8)
        ax.loglog(Ns, 0.5 / Ns, "k:", lw=1, label="N^-1 (implicit: dashed)")
        ax.loglog(Ns, 30.0 / Ns**2, "k-.", lw=1, label="N^-2")
        ax.set_xticks(Ns)
        ax.set_xticklabels([str(int(n)) for n in Ns])
        ax.xaxis.set_minor_formatter(_null_formatter())
        ax.set_xlabel("grid nodes N (N/4 time steps)")
        ax.set_ylabel("|price - QuantLib|")
        ax.set_title("American put PDE convergence")
        ax.legend(fontsize=6)
    return _save(ctx, fig, "depth_benchmarks")


# ----------------------------------------------------------------------------------------------------
# The task list
# ----------------------------------------------------------------------------------------------------


def tasks(profile: str) -> list[Task]:
    """The five tasks of the campaign (``profile`` is ``"quick"`` or ``"full"``; sizes from :data:`SIZES`)."""
    if profile not in SIZES:
        raise ValueError(f"profile must be one of {sorted(SIZES)}, got {profile!r}")
    spec = [
        (
            "depth.b2-bounds",
            "Finite optimal depth: the three bounds of B2",
            _b2_bounds,
            "SCIENCE.md B2 and C3: bounded gains, summable residuals and geometric diminishing returns on "
            "random "
            "residual families and Markov chains; tightness E[tau*]/bound; violated hypotheses are flagged.",
        ),
        (
            "depth.b6-bridge",
            "The optimal depth of the linear random ResNet by four solvers",
            _b6_bridge,
            "SCIENCE.md B6 and C3: closed form and symbolic smooth fit, the obstacle PDE, the Snell envelope "
            "of the "
            "exact finite-L walk (rates in L) and regression Monte Carlo on simulated networks agree on the "
            "threshold, value, expected depth and the inverse-Gaussian depth law; n <= 2 stops at once.",
        ),
        (
            "depth.b5-noiseless",
            "Continuous depth without noise: closed form, upwind PDE, discrete analogue",
            _b5_noiseless,
            "SCIENCE.md B5: boundary sqrt(c/(2 kappa)) and value against the first-order upwind PDE (grid "
            "convergence order) and the symbolic smooth fit; the discrete tau* formula against exact "
            "solvers.",
        ),
        (
            "depth.osla",
            "One-step look-ahead and myopic rules against the Snell policy",
            _osla,
            "SCIENCE.md B2 (last item): look-ahead is optimal on monotone problems and strictly worse on "
            "non-monotone ones; gain-threshold and patience rules against the Snell policy on a B6 chain.",
        ),
        (
            "depth.benchmarks",
            "External optimal-stopping benchmarks",
            _benchmarks,
            "Longstaff-Schwartz (2001) put and Andersen-Broadie (2004) max-calls bracketed by regression "
            "Monte "
            "Carlo; the American put PDE against QuantLib with fitted convergence orders.",
        ),
    ]
    return [Task(tid, title, CAMPAIGN, fn, description) for tid, title, fn, description in spec]
