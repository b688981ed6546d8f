r"""random.sequential-limits: Sequential limits and kernels

docs/science.md §A6: width-first and depth-first limits reach the variance ODE, fluctuations of order n^-1/2,
McKean-Vlasov particles, and the ReLU correlation ODE against finite networks.

.. math::
    \dot q_t=\mathbb E_Z\,\phi(\sqrt{q_t}Z)^2,\qquad q_l=q_{l-1}+\tfrac1L\,\mathbb E_Z\,
    \phi(\sqrt{q_{l-1}}Z)^2,\qquad \dot c=\tfrac12(f(c)-c)\ \text{(ReLU)}.

Per-neuron variance over a grid of :math:`(n,L)` against the width-first recursion and (after
Richardson extrapolation in :math:`L`) the ODE, :math:`\mathrm{Var}\log\|X_1\|\sim c/n`,
McKean--Vlasov particles against the ODE, and the ReLU correlation and covariance of finite networks
against the kernel ODE.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as st

from stochdepth import plot
from stochdepth.testing.tolerance import Z_MAX

from ..experiment import Report
from ..formatting import max_abs, table
from ..runner import Check, Context
from .common import SLOPE_TOL

__all__ = ["SIZES", "Result", "Sizes", "checks", "compute", "report"]


@dataclass(frozen=True)
class Sizes:
    """Sizes of the commutation grid (``grid_*``), fluctuation scale (``fluct_*``), McKean-Vlasov
    particles (``mv_*``) and ReLU correlation (``corr_*``, sizes as ``(width, depth)``) studies."""

    grid_activations: tuple[str, ...]
    grid_widths: tuple[int, ...]
    grid_depths: tuple[int, ...]
    grid_networks: int
    fluct_activations: tuple[str, ...]
    fluct_widths: tuple[int, ...]
    fluct_depth: int
    fluct_paths: int
    mv_activations: tuple[str, ...]
    mv_steps: int
    mv_particles: int
    mv_clouds: int
    corr_c0: tuple[float, ...]
    corr_sizes: tuple[tuple[int, int], ...]
    corr_networks: int


SIZES: dict[str, Sizes] = {
    "quick": Sizes(
        grid_activations=("linear", "relu"),
        grid_widths=(2, 8, 32, 128),
        grid_depths=(4, 16, 64),
        grid_networks=10_000,
        fluct_activations=("linear", "relu"),
        fluct_widths=(8, 32, 128),
        fluct_depth=32,
        fluct_paths=10_000,
        mv_activations=("relu", "tanh"),
        mv_steps=400,
        mv_particles=5000,
        mv_clouds=64,
        corr_c0=(-0.9, -0.5, 0.0, 0.5, 0.9),
        corr_sizes=((16, 16), (64, 64)),
        corr_networks=4000,
    ),
    "full": Sizes(
        grid_activations=("linear", "relu", "tanh"),
        grid_widths=(2, 8, 32, 128, 512),
        grid_depths=(4, 16, 64, 256),
        grid_networks=40_000,
        fluct_activations=("linear", "relu", "tanh"),
        fluct_widths=(16, 64, 256, 1024),
        fluct_depth=64,
        fluct_paths=40_000,
        mv_activations=("linear", "relu", "tanh", "gelu"),
        mv_steps=1000,
        mv_particles=20_000,
        mv_clouds=128,
        corr_c0=(-0.9, -0.6, -0.3, 0.0, 0.3, 0.6, 0.9),
        corr_sizes=((16, 16), (64, 64), (256, 256)),
        corr_networks=20_000,
    ),
}


@dataclass(frozen=True)
class Result:
    """Per activation the variance grid, fluctuations and particle moments; per ``(n, L)`` the ReLU
    correlations of finite networks."""

    sizes: Sizes
    grids: dict[str, dict[str, Any]]
    fluct: dict[str, dict[str, Any]]
    mv: dict[str, dict[str, Any]]
    corr: dict[tuple[int, int], dict[str, Any]]


# ----------------------------------------------------------------------------------------------------
# compute
# ----------------------------------------------------------------------------------------------------


def _grid(ctx: Context, act: str, widths: tuple, depths: tuple, N: int) -> dict[str, Any]:
    from stochdepth.limits import commutation_grid

    g = commutation_grid(widths, depths, act, n_paths=N, rng=ctx.rng(f"grid/{act}"))
    return {"variance": g.variance, "stderr": g.stderr, "width_first": g.width_first, "ode": g.ode}


def _fluct(ctx: Context, act: str, widths: tuple, L: int, N: int) -> dict[str, Any]:
    from stochdepth.limits import fluctuation_scale

    fs = fluctuation_scale(widths, act, depth=L, n_paths=N, rng=ctx.rng(f"fluct/{act}"))
    return {
        "mean": fs.mean,
        "mean_se": fs.mean_stderr,
        "var": fs.var,
        "var_se": fs.var_stderr,
        "width_first_mean": fs.width_first_mean,
    }


def _mv(ctx: Context, act: str, steps: int, P: int, C: int) -> dict[str, Any]:
    from stochdepth.limits import mckean_vlasov

    r = mckean_vlasov(act, 1.0, 1.0, n_steps=steps, n_paths=P, n_clouds=C, rng=ctx.rng(f"mv/{act}"))
    x = r.particles
    m2 = np.mean(x**2, axis=1)
    kurt = np.mean(x**4, axis=1) / m2**2
    return {
        "times": r.times,
        "m2": r.second_moment,
        "se": r.stderr,
        "ode": r.ode,
        "recursion": r.recursion,
        "kurt": float(kurt.mean()),
        "kurt_se": float(kurt.std(ddof=1) / math.sqrt(C)),
    }


def _corr(ctx: Context, c0s: tuple, n: int, L: int, N: int) -> dict[str, Any]:
    from stochdepth.networks import gram, sample_network

    rows = []
    record = [L // 4, L // 2, L]
    for c0 in c0s:
        X = np.array([[1.0, c0], [0.0, math.sqrt(1.0 - c0 * c0)]])
        res = sample_network(
            X,
            n,
            L,
            "relu",
            n_paths=N,
            record=record,
            observe=gram(),
            rng=ctx.rng(f"corr/c{c0:g}/n{n}/L{L}"),
        )
        G = res["gram"].samples  # (N, 3, 2, 2)
        a, b, c = G[:, :, 0, 0], G[:, :, 1, 1], G[:, :, 0, 1]
        A, B, Cm = a.mean(axis=0), b.mean(axis=0), c.mean(axis=0)
        corr = Cm / np.sqrt(A * B)
        infl = c / np.sqrt(A * B) - 0.5 * corr * (a / A + b / B)  # delta method for the ratio of means
        rows.append(
            {
                "c0": c0,
                "times": res.times,
                "corr": corr,
                "se": infl.std(axis=0, ddof=1) / math.sqrt(N),
                "q_ab": Cm,
                "q_ab_se": c.std(axis=0, ddof=1) / math.sqrt(N),
            }
        )
    return {"rows": rows, "n": n, "L": L}


def compute(sizes: Sizes, ctx: Context) -> Result:
    """The four sub-studies, each cached under a key that names its sizes."""
    gw, gd, gN = sizes.grid_widths, sizes.grid_depths, sizes.grid_networks
    grids = {}
    for act in sizes.grid_activations:
        key = f"grid-{act}-N{gN}-n" + "-".join(map(str, gw)) + "-L" + "-".join(map(str, gd))
        grids[act] = ctx.cached(key, functools.partial(_grid, ctx, act, gw, gd, gN))
    fw, fL, fN = sizes.fluct_widths, sizes.fluct_depth, sizes.fluct_paths
    fl = {}
    for act in sizes.fluct_activations:
        key = f"fluct-{act}-N{fN}-L{fL}-" + "-".join(map(str, fw))
        fl[act] = ctx.cached(key, functools.partial(_fluct, ctx, act, fw, fL, fN))
    mS, mP, mC = sizes.mv_steps, sizes.mv_particles, sizes.mv_clouds
    mv = {
        act: ctx.cached(f"mv-{act}-S{mS}-P{mP}-C{mC}", functools.partial(_mv, ctx, act, mS, mP, mC))
        for act in sizes.mv_activations
    }
    c0s, cN = sizes.corr_c0, sizes.corr_networks
    corr = {}
    for n, L in sizes.corr_sizes:
        key = f"corr-n{n}-L{L}-N{cN}-" + "-".join(f"{c:g}" for c in c0s)
        corr[(n, L)] = ctx.cached(key, functools.partial(_corr, ctx, c0s, n, L, cN))
    return Result(sizes, grids, fl, mv, corr)


# ----------------------------------------------------------------------------------------------------
# analysis shared by checks and report
# ----------------------------------------------------------------------------------------------------


def _grid_arrays(g: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    v, se = np.asarray(g["variance"], dtype=float), np.asarray(g["stderr"], dtype=float)
    return v, se, np.asarray(g["width_first"], dtype=float), float(g["ode"])


def _richardson(result: Result) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Depth first: Richardson extrapolation in L at each width (removes the O(1/L) depth error)."""
    gd = result.sizes.grid_depths
    out = {}
    for act, g in result.grids.items():
        if act == "linear":
            continue
        v, se, _, _ = _grid_arrays(g)
        r = gd[-1] / gd[-2]
        v_inf = (r * v[:, -1] - v[:, -2]) / (r - 1)
        se_inf = np.sqrt((r * se[:, -1]) ** 2 + se[:, -2] ** 2) / (r - 1)
        out[act] = (v_inf, se_inf)
    return out


def _corr_z(result: Result) -> tuple[dict[tuple[int, int], list[float]], list[list[Any]]]:
    """z-scores of the correlation and covariance against the kernel ODE per (n, L), and table rows."""
    from stochdepth.limits import kernel_ode, relu_correlation

    rows = []
    zc_all: dict[tuple[int, int], list[float]] = {}
    for (n, L), res in result.corr.items():
        zc = zc_all.setdefault((n, L), [])
        for r in res["rows"]:
            t = np.asarray(r["times"], dtype=float)
            ref = np.asarray(relu_correlation(float(r["c0"]), t), dtype=float)
            Q0 = np.array([[1.0, r["c0"]], [r["c0"], 1.0]]) / 2.0
            qref = kernel_ode("relu", Q0, t)[:, 0, 1]
            zc += list((np.asarray(r["corr"], dtype=float) - ref) / np.asarray(r["se"], dtype=float))
            zc += list((np.asarray(r["q_ab"], dtype=float) - qref) / np.asarray(r["q_ab_se"], dtype=float))
            rows.append(
                [
                    n,
                    L,
                    f"{r['c0']:g}",
                    f"{float(r['corr'][-1]):.4f} ± {float(r['se'][-1]):.4f}",
                    f"{ref[-1]:.4f}",
                    f"{float(r['q_ab'][-1]):.4f} ± {float(r['q_ab_se'][-1]):.4f}",
                    f"{qref[-1]:.4f}",
                ]
            )
    return zc_all, rows


# ----------------------------------------------------------------------------------------------------
# checks
# ----------------------------------------------------------------------------------------------------


def _grid_checks(result: Result) -> list[Check]:
    gw, gd, gN = result.sizes.grid_widths, result.sizes.grid_depths, result.sizes.grid_networks
    richardson = _richardson(result)
    out = []
    for act, g in result.grids.items():
        v, se, wf, ode = _grid_arrays(g)
        if act == "linear":
            z_all = (v - wf[None, :]) / se
            out.append(
                Check(
                    "linear: per-neuron variance = (1 + 1/L)^L q0 at every (n, L)",
                    max_abs(z_all) <= Z_MAX,
                    f"{gN} networks per point, n in {list(gw)}, L in {list(gd)}: max |z| vs the width-first "
                    f"recursion = {max_abs(z_all):.2f}, required <= {Z_MAX:g} (exact for every width)",
                )
            )
            continue
        z_wf = (v[-1] - wf) / se[-1]
        out.append(
            Check(
                f"{act}: width first, then depth (n -> inf at each L reaches q_L, q_L -> ODE)",
                max_abs(z_wf) <= Z_MAX,
                f"at n = {gw[-1]}, {gN} networks: z vs q_L = "
                + ", ".join(f"L={L}: {z:+.2f}" for L, z in zip(gd, z_wf))
                + f" (required |z| <= {Z_MAX:g}); q_L - q_ode = "
                + ", ".join(f"{q - ode:+.2e}" for q in wf)
                + " (O(1/L): L (q_L - q_ode) = "
                + ", ".join(f"{L * (q - ode):+.3f}" for L, q in zip(gd, wf))
                + ")",
            )
        )
        v_inf, se_inf = richardson[act]
        z_df = (v_inf[-1] - ode) / se_inf[-1]
        out.append(
            Check(
                f"{act}: depth first, then width (L -> inf at each n, then n -> inf, reaches the ODE)",
                abs(z_df) <= Z_MAX,
                f"Richardson extrapolation to L = inf from L = {gd[-2]}, {gd[-1]}: v(n, inf) = "
                + ", ".join(f"n={n}: {a:.4f} ± {b:.4f}" for n, a, b in zip(gw, v_inf, se_inf))
                + f"; at n = {gw[-1]}: z vs q_ode = {ode:.4f} is {z_df:+.2f}, required |z| <= {Z_MAX:g}. "
                f"Finite-width gap at n = {gw[0]}: {v_inf[0] - ode:+.4f} ± {se_inf[0]:.4f}",
            )
        )
    return out


def _fluct_checks(result: Result) -> list[Check]:
    from stochdepth.limits import linear_log_norm_moments
    from stochdepth.stats import weak_error_fit

    fw, fL, fN = result.sizes.fluct_widths, result.sizes.fluct_depth, result.sizes.fluct_paths
    out = []
    for act, f in result.fluct.items():
        var, vse = np.asarray(f["var"], dtype=float), np.asarray(f["var_se"], dtype=float)
        shown = f"depth {fL}, {fN} networks: n Var = " + ", ".join(
            f"{n}: {n * a:.4f}" for n, a in zip(fw, var)
        )
        if act == "linear":
            exact = np.array([linear_log_norm_moments(n, 1.0, depth=fL).var for n in fw])
            z = (var - exact) / vse
            out.append(
                Check(
                    "linear: Var log|X_1|/|X_0| = 1/n (exact finite-depth value)",
                    max_abs(z) <= Z_MAX,
                    shown + f"; max |z| vs the exact finite-depth variance = {max_abs(z):.2f}, required <= "
                    f"{Z_MAX:g}",
                )
            )
        else:
            fit = weak_error_fit(fw, list(zip(var, vse)), reference=0.0)
            out.append(
                Check(
                    f"{act}: Var log|X_1|/|X_0| ~ c/n (fluctuations of order n^-1/2)",
                    math.isfinite(fit.rate) and abs(fit.rate - 1.0) <= SLOPE_TOL,
                    shown
                    + f"; fitted Var ~ n^(-{fit.rate:.3f} ± {fit.rate_stderr:.3f}), required |rate - 1| <= "
                    f"{SLOPE_TOL}",
                )
            )
    return out


def _mv_checks(result: Result) -> list[Check]:
    mS, mP, mC = result.sizes.mv_steps, result.sizes.mv_particles, result.sizes.mv_clouds
    out = []
    for act, m in result.mv.items():
        m2, se = np.asarray(m["m2"], dtype=float), np.asarray(m["se"], dtype=float)
        rec, ode = np.asarray(m["recursion"], dtype=float), np.asarray(m["ode"], dtype=float)
        z_rec = (m2[1:] - rec[1:]) / se[1:]
        z_ode = (m2[-1] - ode[-1]) / se[-1]
        z_k = (m["kurt"] - 3.0) / m["kurt_se"]
        # the standard errors come from the spread of mC clouds: Student t with mC - 1 degrees of freedom,
        # thresholded at the tail probability of 5 normal standard errors
        crit = float(st.t.ppf(st.norm.cdf(Z_MAX), mC - 1))
        out.append(
            Check(
                f"{act}: McKean-Vlasov particles follow the variance ODE and stay Gaussian",
                max_abs(z_rec) <= crit and abs(z_ode) <= crit and abs(z_k) <= crit,
                f"{mC} clouds of {mP} particles, {mS} steps: max |t| of E X^2 vs the scheme's recursion over "
                f"{len(z_rec)} times = {max_abs(z_rec):.2f}; at t = 1, E X^2 = {m2[-1]:.5f} ± {se[-1]:.5f} "
                f"vs ODE {ode[-1]:.5f} (t {z_ode:+.2f}; step error of the scheme {rec[-1] - ode[-1]:+.1e}); "
                f"kurtosis {m['kurt']:.4f} ± {m['kurt_se']:.4f} vs 3 (t {z_k:+.2f}); required |t| <= "
                f"{crit:.2f} (Student t, {mC - 1} dof, the tail probability of {Z_MAX:g} normal stderr)",
            )
        )
    return out


def _corr_check(result: Result) -> Check:
    c0s, cN = result.sizes.corr_c0, result.sizes.corr_networks
    zc_all, _ = _corr_z(result)
    nL_max = result.sizes.corr_sizes[-1]
    return Check(
        "ReLU: correlation and covariance of finite networks follow the kernel ODE",
        max_abs(zc_all[nL_max]) <= Z_MAX,
        f"at n = {nL_max[0]}, L = {nL_max[1]}, {cN} networks per c0 in {list(c0s)}, t in {{1/4, 1/2, 1}}: "
        "max |z| of the correlation vs dc/dt = (f(c) - c)/2 and of Q_ab vs kernel_ode = "
        f"{max_abs(zc_all[nL_max]):.2f} over "
        f"{len(zc_all[nL_max])} comparisons, required <= {Z_MAX:g}; smaller sizes: "
        + ", ".join(f"n={n}, L={L}: {max_abs(z):.2f}" for (n, L), z in zc_all.items() if (n, L) != nL_max),
    )


def checks(result: Result) -> list[Check]:
    """The commutation grid, the fluctuation scale, McKean-Vlasov particles and the ReLU kernel."""
    return _grid_checks(result) + _fluct_checks(result) + _mv_checks(result) + [_corr_check(result)]


# ----------------------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------------------


def _tables(result: Result) -> list[str]:
    s = result.sizes
    gw, gd = s.grid_widths, s.grid_depths
    rows = []
    for act, g in result.grids.items():
        v, se, wf, ode = _grid_arrays(g)
        for i, n in enumerate(gw):
            rows.append([act, n] + [f"{v[i, j]:.4f} ± {se[i, j]:.4f}" for j in range(len(gd))])
        rows.append([act, "∞ (width first q_L)"] + [f"{q:.4f}" for q in wf])
        rows.append([act, "ODE q_t1"] + [f"{ode:.4f}"] * len(gd))
    tables = [
        table(
            ["activation", "width n"] + [f"L={L}" for L in gd],
            rows,
            caption=f"Per-neuron variance E|Y_L|^2/n at t = 1, q0 = 1 ({s.grid_networks} networks per point)",
        )
    ]
    rows = []
    for act, f in result.fluct.items():
        var, vse = np.asarray(f["var"], dtype=float), np.asarray(f["var_se"], dtype=float)
        for i, n in enumerate(s.fluct_widths):
            rows.append(
                [
                    act,
                    n,
                    f"{var[i]:.5f} ± {vse[i]:.5f}",
                    f"{n * var[i]:.3f} ± {n * vse[i]:.3f}",
                    f"{float(f['mean'][i]):.4f} ± {float(f['mean_se'][i]):.4f}",
                    f"{float(f['width_first_mean']):.4f}",
                ]
            )
    tables.append(
        table(
            ["activation", "n", "Var log-ratio", "n Var", "mean log-ratio", "width-first mean"],
            rows,
            caption=f"Fluctuations at finite width: R = log(|Y_L|/|Y_0|) at t = 1, depth {s.fluct_depth}, "
            f"{s.fluct_paths} networks",
        )
    )
    rows = []
    for act, m in result.mv.items():
        m2, se = np.asarray(m["m2"], dtype=float), np.asarray(m["se"], dtype=float)
        rec, ode = np.asarray(m["recursion"], dtype=float), np.asarray(m["ode"], dtype=float)
        rows.append(
            [
                act,
                f"{m2[-1]:.5f} ± {se[-1]:.5f}",
                f"{rec[-1]:.5f}",
                f"{ode[-1]:.5f}",
                f"{m['kurt']:.4f} ± {m['kurt_se']:.4f}",
            ]
        )
    tables.append(
        table(
            ["activation", "particles E X_1^2", "scheme recursion", "ODE q_1", "kurtosis"],
            rows,
            caption=f"McKean-Vlasov particles ({s.mv_clouds} x {s.mv_particles}, {s.mv_steps} steps), q0 = 1",
        )
    )
    tables.append(
        table(
            ["n", "L", "c0", "correlation at t = 1", "ODE", "Q_ab at t = 1", "kernel ODE"],
            _corr_z(result)[1],
            caption=f"ReLU kernel: finite networks ({s.corr_networks} per point) vs the sequential limit, "
            "q0 = 1/2",
        )
    )
    return tables


def _variance_panels(axes: Any, result: Result, act: str) -> None:
    """Per-neuron variance of ``act`` against 1/n and against 1/L."""
    from stochdepth.limits import width_first_recursion

    gw, gd = result.sizes.grid_widths, result.sizes.grid_depths
    v, se, wf, ode = _grid_arrays(result.grids[act])
    richardson = _richardson(result)
    ax = axes[0, 0]
    cols = plot.palette(len(gd))
    inv_n = 1.0 / np.asarray(gw, dtype=float)
    for j, (c, L) in enumerate(zip(cols, gd)):
        ax.errorbar(
            inv_n, v[:, j], yerr=plot.Z95 * se[:, j], fmt="o-", color=c, ms=4, capsize=2, label=f"$L={L}$"
        )
        ax.axhline(wf[j], color=c, ls=":", lw=1)
    ax.axhline(ode, color="k", ls="--", lw=0.8, label="ODE $q_1$")
    ax.set_xscale("log")
    plot.finish(
        ax,
        xlabel="$1/n$",
        ylabel=r"$\mathbb{E}\|Y_L\|^2/n$",
        title=f"{act}: variance against $1/n$",
    )
    ax = axes[0, 1]
    cols = plot.sequential(len(gw))
    inv_L = 1.0 / np.asarray(gd, dtype=float)
    for i, (c, n) in enumerate(zip(cols, gw)):
        ax.errorbar(inv_L, v[i], yerr=plot.Z95 * se[i], fmt="o-", color=c, ms=4, capsize=2, label=f"$n={n}$")
        if act in richardson:
            vi, si = richardson[act]
            ax.errorbar(
                [0.0], [vi[i]], yerr=[plot.Z95 * si[i]], fmt="D", color=c, mfc="none", ms=5, capsize=2
            )
    Lint = np.unique(np.geomspace(gd[0], 4096, 80).astype(int))
    ax.plot(
        1.0 / Lint,
        [width_first_recursion(act, 1.0, int(L))[-1] for L in Lint],
        "k-",
        lw=1,
        label="width first $q_L$",
    )
    ax.plot([0.0], [ode], "k*", ms=10, label="ODE $q_1$")
    plot.finish(
        ax,
        xlabel="$1/L$",
        ylabel=r"$\mathbb{E}\|Y_L\|^2/n$",
        title=f"{act}: variance against $1/L$",
    )


def _correlation_panel(ax: Any, result: Result) -> None:
    """The ReLU correlation map c_t - c0 of finite networks against the ODE."""
    from stochdepth.limits import relu_correlation

    corr, nL_max = result.corr, result.sizes.corr_sizes[-1]
    cc = np.linspace(-1.0, 1.0, 201)
    tcols = plot.palette(3)
    tvals = np.asarray(next(iter(corr.values()))["rows"][0]["times"], dtype=float)
    for j, (tval, c) in enumerate(zip(tvals, tcols)):
        ax.plot(
            cc,
            [relu_correlation(float(x), float(tval)) - x for x in cc],
            "-",
            color=c,
            lw=1,
            label=f"ODE, $t={tval:g}$",
        )
        for (n, L), res in corr.items():
            big = (n, L) == nL_max
            c0 = np.array([r["c0"] for r in res["rows"]])
            shift = 0.012 * (list(corr).index((n, L)) - (len(corr) - 1) / 2)
            ax.errorbar(
                c0 + shift,
                [float(r["corr"][j]) - r["c0"] for r in res["rows"]],
                yerr=[plot.Z95 * float(r["se"][j]) for r in res["rows"]],
                fmt="o" if big else "x",
                color=c,
                ms=4,
                mfc="none",
                capsize=1.5,
                label=(f"$n={n}$, $L={L}$" if j == len(tvals) - 1 else None),
            )
    ax.axhline(0.0, color="0.6", lw=0.6)
    plot.finish(
        ax,
        xlabel="input correlation $c_0$",
        ylabel="$c_t - c_0$",
        title="ReLU correlation map",
    )


def report(result: Result, ctx: Context) -> Report:
    """Four tables, the grid and kernel metrics, and a figure of the first nonlinear activation."""
    zc_all, _ = _corr_z(result)
    metrics = {
        "grid": {
            act: {
                "variance": g["variance"],
                "stderr": g["stderr"],
                "width_first": g["width_first"],
                "ode": g["ode"],
            }
            for act, g in result.grids.items()
        },
        "corr_max_z": {f"n={n},L={L}": max_abs(z) for (n, L), z in zc_all.items()},
    }
    acts = result.sizes.grid_activations
    act = next((a for a in acts if a != "linear"), acts[0])
    fig, axes = plot.figure(ncols=3, width=3.6, height=3.0)
    with plot.style():
        _variance_panels(axes, result, act)
        _correlation_panel(axes[0, 2], result)
    figure = ctx.savefig(fig, "random_sequential_limits")
    return Report(metrics=metrics, tables=_tables(result), figures=[figure])


#: The figures ``report`` saves (``python -m validation figures NAME`` redraws one).
FIGURES = ("random_sequential_limits",)
