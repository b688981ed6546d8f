r"""depth.b2-bounds: Finite optimal depth: the three bounds of B2

docs/science.md §B2 and C3: bounded gains, summable residuals and geometric diminishing returns on random
residual families and Markov chains; tightness E[tau*]/bound; violated hypotheses are flagged.

Bounded gains, summable residuals and geometric diminishing returns on random residual families that
satisfy their hypotheses and on random Markov chains: every conclusion holds, the tightness
:math:`\mathbb E\tau^\star/\text{bound}` is measured (median, 90 % quantile, maximum); families that violate
a hypothesis are flagged whenever a conclusion fails, and two constructed counterexamples show that the
hypotheses matter.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from stochdepth import plot
from stochdepth.testing.generators import random_markov_problem, random_residual_family

from ..experiment import Report
from ..formatting import as_floats, fmt, table
from ..runner import Check, Context, TaskOutput

__all__ = ["SIZES", "Result", "Sizes", "checks", "compute", "report"]


@dataclass(frozen=True)
class Sizes:
    """Random residual families satisfying / violating the hypotheses, and random Markov chains."""

    families: int
    violating: int
    chains: int


SIZES: dict[str, Sizes] = {
    "quick": Sizes(families=300, violating=300, chains=200),
    "full": Sizes(families=2000, violating=2000, chains=1000),
}


@dataclass(frozen=True)
class Result:
    """Bound records of every family and chain, and of the two counterexamples."""

    sizes: Sizes
    satisfying: list
    violating: list
    chains: list
    counterexamples: dict


_BOUND_NAMES = ("bounded gains", "summable residuals", "geometric")


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
        prob, info = random_residual_family(gen)
        sat.append({"info": info, "bounds": _family_bounds(prob, info)})
    viol = []
    for k in range(n_viol):
        prob, info = random_residual_family(gen, ("growth", "lipschitz")[k % 2])
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


def compute(sizes: Sizes, ctx: Context) -> Result:
    """Bounds on random families and chains (cached by size) and on the two counterexamples."""
    n_sat, n_viol, n_chains = sizes.families, sizes.violating, sizes.chains
    data = ctx.cached(
        f"families-{n_sat}-{n_viol}-{n_chains}", functools.partial(_b2_compute, ctx, n_sat, n_viol, n_chains)
    )
    cx = ctx.cached("counterexamples", _counterexamples)
    return Result(sizes, data["satisfying"], data["violating"], data["chains"], cx)


def _col(recs: list, name: str, key: str) -> np.ndarray:
    return as_floats([r["bounds"][name][key] for r in recs])


def _flags(recs: list, name: str, key: str) -> np.ndarray:
    return np.array([bool(r["bounds"][name][key]) for r in recs])


def _violations(viol: list) -> tuple[int, dict[str, int], dict[str, int], dict[str, int]]:
    """Violating families: failed conclusions (all, and without a flagged hypothesis) and detections."""
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
    return silent, silent_by, failed, detected


def checks(result: Result) -> list[Check]:
    """Each bound holds where its hypotheses do; failures on violating families are never silent."""
    out = TaskOutput()
    sat, viol, chains = result.satisfying, result.violating, result.chains
    chain_holds = np.array([bool(r["holds"]) for r in chains])
    chain_hyp = np.array([bool(r["hypotheses_hold"]) for r in chains])
    bg_holds = _flags(sat, "bounded gains", "holds")
    out.check(
        "bounded gains: E tau* <= (E sup G - E G_0) / c",
        bool(bg_holds.all() and chain_holds.all()),
        f"holds on {int(bg_holds.sum())}/{len(sat)} random deterministic residual families (E tau* from the "
        f"pathwise maximum, exact) and on {int(chain_holds.sum())}/{len(chains)} random Markov chains "
        "(finite "
        f"and infinite horizon; E sup G and E tau* exact), S = 3..20 states, costs c_l >= c > 0",
    )
    sr = _flags(sat, "summable residuals", "holds")
    out.check(
        "summable residuals: E tau* <= L_g S / c",
        bool(sr.all()),
        f"holds on {int(sr.sum())}/{len(sat)} families (d = 1..4, L = 5..40 layers, 8..32 inputs each, "
        "declared "
        "residual bounds C rho^l >= sup_h |f_l(h)|, three kinds of L_g-Lipschitz gains)",
    )
    geo = _flags(sat, "geometric", "holds")
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
        consistency=True,
    )
    # violating families: a failed conclusion must come with a flagged hypothesis
    silent, _silent_by, failed, _detected = _violations(viol)
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
    bg_v = _flags(viol, "bounded gains", "holds")
    out.check(
        "the bounded-gains bound needs no residual hypothesis: it holds on the violating families too",
        bool(bg_v.all()),
        f"holds on {int(bg_v.sum())}/{len(viol)} violating families (its proof uses c > 0 only: "
        "E G_0 <= V* <= E sup G - c E tau*)",
    )
    lip, gro = result.counterexamples["lipschitz"], result.counterexamples["growth"]
    out.check(
        "counterexamples: the hypotheses matter and the failure is reported",
        (not lip["holds"])
        and "lipschitz_consistent" in lip["flagged"]
        and (not gro["holds"])
        and "geometric_decay" in gro["flagged"],
        "(a) gain 8|h - 50| declared 1-Lipschitz, h += 0.2 per layer, cost 1, L = 15: each layer gains "
        f"8 * 0.2 = 1.6 > 1, so tau* = L = 15 (solved: {fmt(lip['expected_depth'])}) > "
        "L_g S / c = 0.2 * 15 = 3 "
        f"(reported bound {fmt(lip['bound'])}); flagged {lip['flagged']}, observed Lipschitz ratio "
        f"{fmt(lip['observed_lipschitz'])}. (b) residuals 0.2 * 1.3^l declared C = 0.2, rho = 0.6, cost 0.1, "
        "L = 12: l_bar = ceil(ln(0.1/0.2)/ln 0.6) = 2 but each layer gains 0.2 * 1.3^l > 0.1, so tau* = 12 "
        f"(solved: {fmt(gro['max_depth'])}, bound {fmt(gro['bound'])}); flagged {gro['flagged']}",
        consistency=True,
    )
    return out.checks


def report(result: Result, ctx: Context) -> Report:
    """Tightness and violation tables, the metrics and the tightness figure."""
    out = Report()
    sat, viol, chains = result.satisfying, result.violating, result.chains
    silent, silent_by, failed, detected = _violations(viol)
    # tightness
    rows = []
    tight: dict[str, dict[str, float]] = {}
    for name in _BOUND_NAMES:
        t = _col(sat, name, "tightness")
        bound = _col(sat, name, "bound")
        depth = _col(sat, name, "expected_depth")
        if name == "bounded gains":
            t_all = np.concatenate([t, as_floats([r["tightness"] for r in chains])])
            bound = np.concatenate([bound, as_floats([r["bound"] for r in chains])])
            depth = np.concatenate([depth, as_floats([r["expected_depth"] for r in chains])])
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
                fmt(med, 3),
                fmt(q90, 3),
                fmt(mx, 3),
                fmt(np.median(bound), 3),
                fmt(np.median(depth), 3),
            ]
        )
    gmx = _quantiles(_col(sat, "geometric", "max_tightness"))
    tight["geometric"]["max_over_paths"] = {"median": gmx[0], "q90": gmx[1], "max": gmx[2]}
    rows.append(
        ["geometric, max tau* / l_bar", len(sat), "", fmt(gmx[0], 3), fmt(gmx[1], 3), fmt(gmx[2], 3), "", ""]
    )
    out.tables.append(
        table(
            ["bound", "problems", "finite ratio", "median", "q90", "max", "median bound", "median E tau*"],
            rows,
            caption="Tightness E[tau*]/bound on problems satisfying the hypotheses (1 = tight; a bound of 0 "
            "gives no ratio)",
        )
    )
    out.tables.append(
        table(
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
    fig, axes = plot.figure(3, 2, width=3.6, height=3.0)
    cols = plot.palette(3)
    passed, failed, counter = (plot.outcome(k) for k in ("pass", "fail", "counterexample"))
    for j, name in enumerate(_BOUND_NAMES):
        ax = axes[0, j]
        t = as_floats([r["bounds"][name]["tightness"] for r in sat])
        t = t[np.isfinite(t)]
        n_zero = int(np.sum(t <= 0))
        bins = np.logspace(-4, 0, 25)
        with plot.style():
            lab = f"residual families ({t.size})"
            ax.hist(np.clip(t[t > 0], 1e-4, 1.0), bins=bins, color=cols[j], alpha=0.8, label=lab)
            if name == "bounded gains":
                tc = as_floats([r["tightness"] for r in chains])
                tc = tc[np.isfinite(tc)]
                n_zero += int(np.sum(tc <= 0))
                lab = f"Markov chains ({tc.size})"
                ax.hist(
                    np.clip(tc[tc > 0], 1e-4, 1.0), bins=bins, histtype="step", color="k", lw=1.5, label=lab
                )
            if name == "geometric":
                tm = as_floats([r["bounds"][name]["max_tightness"] for r in sat])
                tm = tm[np.isfinite(tm) & (tm > 0)]
                lab = "max over paths / bound"
                ax.hist(np.clip(tm, 1e-4, 1.0), bins=bins, histtype="step", color="k", lw=1.5, label=lab)
        plot.finish(
            ax,
            xscale="log",
            xlabel=f"tightness ({n_zero} at 0 not shown)",
            ylabel="problems",
            title=f"{name}: " + r"$\mathbb{E}\tau^\star$ / bound",
        )
        ax = axes[1, j]
        key = "max_depth" if name == "geometric" else "expected_depth"
        with plot.style():
            for recs, hypotheses in ((sat, True), (viol, False)):
                bnd = as_floats([r["bounds"][name]["bound"] for r in recs])
                dep = as_floats([r["bounds"][name][key] for r in recs])
                ok = np.array([bool(r["bounds"][name]["holds"]) for r in recs], dtype=bool)
                fin = np.isfinite(bnd)
                if hypotheses:  # a bound exceeded under its hypotheses is a failure
                    style = {**passed, "color": cols[j]}
                    ax.plot(
                        bnd[fin & ok],
                        dep[fin & ok],
                        ls="none",
                        ms=3,
                        alpha=0.6,
                        label="hypotheses hold",
                        **{k: v for k, v in style.items() if k != "linestyle"},
                    )
                    bad = fin & ~ok
                    if bad.any():
                        ax.plot(
                            bnd[bad],
                            dep[bad],
                            ls="none",
                            label=f"bound fails ({bad.sum()})",
                            **{k: v for k, v in failed.items() if k != "linestyle"},
                        )
                else:  # intended counterexamples: the hypotheses are violated on purpose
                    ax.plot(
                        bnd[fin],
                        dep[fin],
                        ls="none",
                        ms=4,
                        label=f"counterexamples ({(fin & ~ok).sum()} exceed)",
                        **{k: v for k, v in counter.items() if k != "linestyle"},
                    )
            lim = ax.get_xlim()[1]
            ax.plot([0, lim], [0, lim], color="k", lw=0.8, ls="--", label="depth = bound")
        plot.finish(
            ax,
            xscale="symlog",
            yscale="symlog",
            xlabel="bound (layers)",
            ylabel=r"$\max\tau^\star$ (layers)"
            if name == "geometric"
            else r"$\mathbb{E}\tau^\star$ (layers)",
        )
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_yscale("symlog", linthresh=1.0)
    return ctx.savefig(fig, "depth_b2_tightness")


#: The figures ``report`` saves (``python -m validation figures NAME`` redraws one).
FIGURES = ("depth_b2_tightness",)
