r"""random.relu-facts: ReLU: norm identity, dead set, width 3/4 regime, long-depth decay

docs/science.md §A5: the post-activation norm identity, dead fraction 2^-n, D(n) and its sign change between
widths 3 and 4, the sign of the mean log-ratio on [0, 1], and the eventual decay of every width.

.. math::
    \|\phi(X_t)\|=\|\phi(X_0)\|\exp\Big(\tfrac1{\sqrt n}\widehat W_t+\tfrac1n\int_0^t
    \big(\tfrac{\mu_s}2-1\big)ds\Big),\qquad D(n)=\frac1{4(1-2^{-n})}-\frac1n.

Checks the identity's residual along Euler paths (:math:`\to0` like :math:`L^{-1/2}`), the dead
fraction :math:`2^{-n}` and absorption, finite-depth deaths at width 1 against their exact law,
:math:`D(n)` exactly and by Monte Carlo, the sign of the mean log-ratio on :math:`[0,1]` for
:math:`n=1..8`, and the eventual decay of every width over long depth.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import numpy as np
from scipy import stats as st

from stochdepth import plot
from stochdepth.testing.tolerance import ALPHA, Z_MAX

from ..experiment import Report
from ..formatting import fmt_p, max_abs, table
from ..runner import Check, Context
from .common import INPUTS, holm

__all__ = ["SIZES", "Result", "Sizes", "checks", "compute", "report"]

#: The widths of the dead-fraction, drift and regime studies.
_WIDTHS = range(1, 9)


@dataclass(frozen=True)
class Sizes:
    """Sizes of the regime on [0, 1], the norm identity, the dead set, the drift and the long-depth
    studies."""

    regime_paths: int
    identity_width: int
    identity_steps: tuple[int, ...]
    identity_paths: int
    dead_networks: int
    dead_depth: int
    dead_sweep_depths: tuple[int, ...]
    drift_paths: int
    long_widths: tuple[int, ...]
    long_t1: float
    long_steps: int
    long_paths: int


SIZES: dict[str, Sizes] = {
    "quick": Sizes(
        regime_paths=20_000,
        identity_width=4,
        identity_steps=(25, 100, 400, 1600),
        identity_paths=4000,
        dead_networks=20_000,
        dead_depth=16,
        dead_sweep_depths=(4, 16, 64),
        drift_paths=200_000,
        long_widths=(4, 5, 6),
        long_t1=150.0,
        long_steps=3000,
        long_paths=16_000,
    ),
    "full": Sizes(
        regime_paths=200_000,
        identity_width=4,
        identity_steps=(25, 100, 400, 1600, 6400),
        identity_paths=20_000,
        dead_networks=200_000,
        dead_depth=16,
        dead_sweep_depths=(4, 16, 64, 256),
        drift_paths=2_000_000,
        long_widths=(4, 6, 8),
        long_t1=600.0,
        long_steps=30_000,
        long_paths=20_000,
    ),
}


@dataclass(frozen=True)
class Result:
    """The identity residuals, dead counts, Monte Carlo drifts (by width, ``[value, stderr]``) and the
    regimes on [0, 1] and over long depth."""

    sizes: Sizes
    identity: dict[str, Any]
    dead: dict[str, Any]
    drift_mc: dict[str, Any]
    regime: dict[str, Any]
    long_regime: dict[str, Any]


# ----------------------------------------------------------------------------------------------------
# compute
# ----------------------------------------------------------------------------------------------------


def _relu_identity(ctx: Context, n: int, steps: tuple, N: int) -> dict[str, Any]:
    from stochdepth.limits import relu_norm_identity

    rows = []
    for L in steps:
        c = relu_norm_identity(n, n_steps=L, n_paths=N, rng=ctx.rng(f"identity/L{L}"))
        r = c.lhs[:, -1] - c.martingale[:, -1] - c.drift[:, -1]
        ms = float(np.mean(r**2))
        rms = math.sqrt(ms)
        se = float(np.std(r**2, ddof=1)) / (2.0 * rms * math.sqrt(r.size))  # delta method for sqrt
        rows.append(
            {
                "L": L,
                "rms": rms,
                "se": se,
                "max": float(c.max_abs_error[-1]),
                "n_alive": c.n_alive,
                "n_died": c.n_died,
            }
        )
    return {"rows": rows}


def _relu_dead(ctx: Context, N: int, L: int, sweep: tuple) -> dict[str, Any]:
    from stochdepth.networks import dead, sample_network

    rows = []
    for n in _WIDTHS:
        res = sample_network(
            INPUTS[:, 0], n, L, "relu", n_paths=N, observe=dead("relu"), rng=ctx.rng(f"dead/n{n}")
        )
        d = res["dead"].samples[:, :, 0]
        rows.append(
            {
                "n": n,
                "L": L,
                "p0": float(d[:, 0].mean()),
                "pL": float(d[:, 1].mean()),
                "revived": int(np.count_nonzero((d[:, 0] == 1) & (d[:, 1] == 0))),
            }
        )
    sweep_rows = []
    for n in (1, 2, 3):
        for Ls in sweep:
            res = sample_network(
                INPUTS[:, 0],
                n,
                Ls,
                "relu",
                n_paths=N,
                observe=dead("relu"),
                rng=ctx.rng(f"dead-sweep/n{n}/L{Ls}"),
            )
            d = res["dead"].samples[:, :, 0]
            died = (d[:, 0] == 0) & (d[:, 1] == 1)
            sweep_rows.append(
                {
                    "n": n,
                    "L": Ls,
                    "died": float(died.mean()),
                    "died_se": float(died.std(ddof=1) / math.sqrt(N)),
                    "count": int(died.sum()),
                }
            )
    return {"rows": rows, "sweep": sweep_rows}


def _relu_drift_mc(ctx: Context, N: int) -> dict[str, Any]:
    from stochdepth.limits import relu_log_drift_mc

    out = {}
    for n in _WIDTHS:
        e = relu_log_drift_mc(n, n_paths=N, rng=ctx.rng(f"drift/n{n}"))
        out[str(n)] = [e.value, e.stderr]
    return out


def _regime_summary(reg: Any) -> dict[str, Any]:
    return {
        "widths": reg.widths,
        "times": reg.times,
        "mean": reg.mean,
        "stderr": reg.stderr,
        "sign": reg.sign,
        "final_z": reg.final_z,
        "peak_time": reg.peak_time,
        "peak_mean": reg.peak_mean,
        "n_alive": reg.n_alive,
        "n_died": reg.n_died,
        "n_steps": reg.n_steps,
        "t1": reg.t1,
    }


def _relu_regime_short(ctx: Context, N: int) -> dict[str, Any]:
    from stochdepth.limits import relu_regime

    return _regime_summary(relu_regime(list(_WIDTHS), 1.0, n_paths=N, n_times=21, rng=ctx.rng("regime")))


def _relu_regime_long(ctx: Context, widths: tuple, t1: float, steps: int, N: int) -> dict[str, Any]:
    from stochdepth.limits import relu_regime

    reg = relu_regime(list(widths), t1, n_steps=steps, n_paths=N, n_times=61, rng=ctx.rng("regime-long"))
    return _regime_summary(reg)


def compute(sizes: Sizes, ctx: Context) -> Result:
    """The five sub-studies, each cached under a key that names its sizes."""
    n_id, steps, N_id = sizes.identity_width, sizes.identity_steps, sizes.identity_paths
    idr = ctx.cached(
        f"identity-n{n_id}-N{N_id}-" + "-".join(map(str, steps)),
        functools.partial(_relu_identity, ctx, n_id, steps, N_id),
    )
    Nd, Ld, sweep = sizes.dead_networks, sizes.dead_depth, sizes.dead_sweep_depths
    de = ctx.cached(
        f"dead-N{Nd}-L{Ld}-" + "-".join(map(str, sweep)), functools.partial(_relu_dead, ctx, Nd, Ld, sweep)
    )
    Ndr = sizes.drift_paths
    mc = ctx.cached(f"drift-N{Ndr}", functools.partial(_relu_drift_mc, ctx, Ndr))
    Nr = sizes.regime_paths
    reg = ctx.cached(f"regime-N{Nr}", functools.partial(_relu_regime_short, ctx, Nr))
    lw, lt1, lsteps, lN = sizes.long_widths, sizes.long_t1, sizes.long_steps, sizes.long_paths
    lreg = ctx.cached(
        f"regime-long-N{lN}-T{lt1:g}-S{lsteps}-" + "-".join(map(str, lw)),
        functools.partial(_relu_regime_long, ctx, lw, lt1, lsteps, lN),
    )
    return Result(sizes, idr, de, mc, reg, lreg)


# ----------------------------------------------------------------------------------------------------
# analysis shared by checks and report
# ----------------------------------------------------------------------------------------------------


def _exact_drifts() -> dict[int, Fraction]:
    from stochdepth.limits import relu_log_drift

    return {n: relu_log_drift(n, exact=True) for n in _WIDTHS}


def _dead_z(result: Result) -> tuple[list[float], list[list[Any]]]:
    """z-scores of the dead fraction at layer 0 against 2^-n, and the table rows."""
    from stochdepth.limits import relu_dead_probability

    Nd = result.sizes.dead_networks
    z_dead, rows = [], []
    for r in result.dead["rows"]:
        p = relu_dead_probability(r["n"])
        z = (r["p0"] - p) / math.sqrt(p * (1 - p) / Nd)
        z_dead.append(z)
        rows.append([r["n"], f"{p:.5f}", f"{r['p0']:.5f}", f"{z:+.2f}", f"{r['pL']:.5f}", r["revived"]])
    return z_dead, rows


def _regime_arrays(reg: dict[str, Any]) -> tuple[list[int], np.ndarray, np.ndarray]:
    widths = [int(w) for w in reg["widths"]]
    return widths, np.asarray(reg["mean"], dtype=float), np.asarray(reg["stderr"], dtype=float)


# ----------------------------------------------------------------------------------------------------
# checks
# ----------------------------------------------------------------------------------------------------


def _identity_and_dead_checks(result: Result) -> list[Check]:
    from stochdepth.stats import weak_error_fit

    s = result.sizes
    idr = result.identity
    fit = weak_error_fit(s.identity_steps, [(r["rms"], r["se"]) for r in idr["rows"]], reference=0.0)
    Nd = s.dead_networks
    z_dead, _ = _dead_z(result)
    de = result.dead
    revived = sum(r["revived"] for r in de["rows"])
    n_dead0 = sum(round(r["p0"] * Nd) for r in de["rows"])
    # Width 1: a live network is Y_l = Y_{l-1} (1 + W_l / sqrt(L)), W_l ~ N(0, 1), and dies at the first
    # W_l <= -sqrt(L); it is alive at layer 0 with probability 1/2, so (derived)
    # P(alive at 0, dead at L) = (1 - Phi(sqrt(L))^L) / 2, which vanishes like L Phi(-sqrt(L)) / 2.
    w1 = [r for r in de["sweep"] if r["n"] == 1]
    exact = [0.5 * -math.expm1(r["L"] * st.norm.logcdf(math.sqrt(r["L"]))) for r in w1]
    pw = {
        f"L={r['L']}": st.binomtest(r["count"], Nd, e).pvalue if e > 0 else float(r["count"] == 0)
        for r, e in zip(w1, exact)
    }
    fam_d = holm(pw)
    return [
        Check(
            "post-activation norm identity: residual -> 0 like L^(-1/2) (no local-time term)",
            math.isfinite(fit.rate) and abs(fit.rate - 0.5) <= 0.1,
            f"rms over live paths of log|phi(Y_1)|/|phi(Y_0)| - M_1 - A_1 for width {s.identity_width}, "
            f"{s.identity_paths} paths: "
            + ", ".join(f"L={r['L']}: {r['rms']:.4g}" for r in idr["rows"])
            + f"; fitted rate {fit.rate:.3f} ± {fit.rate_stderr:.3f} (status {fit.status.value}), required "
            "within 0.1 of 1/2 (a local-time term would leave a non-vanishing residual, rate 0)",
        ),
        Check(
            "dead fraction at initialisation = 2^-n (n = 1..8)",
            max_abs(z_dead) <= Z_MAX,
            f"{Nd} networks per width: z = (fraction - 2^-n)/sqrt(2^-n (1 - 2^-n)/N) = "
            + ", ".join(f"{v:+.2f}" for v in z_dead)
            + f"; required |z| <= {Z_MAX:g}",
        ),
        Check(
            "the dead set is absorbing",
            revived == 0,
            f"networks dead at layer 0 but alive at layer {s.dead_depth}: {revived} of {n_dead0}",
            consistency=True,
        ),
        Check(
            "width 1: finite-depth deaths follow (1 - Phi(sqrt L)^L)/2, vanishing with depth",
            not fam_d.any_rejected,
            f"{Nd} networks per depth: "
            + ", ".join(f"L={r['L']}: {r['count']} deaths, expected {e * Nd:.3g}" for r, e in zip(w1, exact))
            + "; exact binomial tests, Holm-adjusted p = "
            + ", ".join(fmt_p(a) for a in fam_d.adjusted)
            + f", required > {ALPHA:g}",
        ),
    ]


def _drift_checks(result: Result) -> list[Check]:
    D = _exact_drifts()
    signs_ok = all(D[n] < 0 for n in (1, 2, 3)) and all(D[n] > 0 for n in range(4, 9))
    mc, Ndr = result.drift_mc, result.sizes.drift_paths
    zs = {n: (mc[str(n)][0] - float(D[n])) / mc[str(n)][1] for n in _WIDTHS}
    zero_z = {n: mc[str(n)][0] / mc[str(n)][1] for n in (3, 4)}
    return [
        Check(
            "D(n) = 1/(4(1 - 2^-n)) - 1/n changes sign between widths 3 and 4 (exact)",
            signs_ok and D[3] == Fraction(-1, 21) and D[4] == Fraction(1, 60),
            "D(n) = "
            + ", ".join(f"{n}: {D[n]}" for n in _WIDTHS)
            + " (exact rationals); D(3) = -1/21, D(4) = 1/60",
            consistency=True,
        ),
        Check(
            "Monte Carlo D(n) = exact D(n), with the sign change resolved",
            max_abs(list(zs.values())) <= Z_MAX and zero_z[3] < -Z_MAX and zero_z[4] > Z_MAX,
            f"relu_log_drift_mc ({Ndr} paths, control variate): z vs exact = "
            + ", ".join(f"{n}: {v:+.2f}" for n, v in zs.items())
            + f" (required |z| <= {Z_MAX:g}); D(3) = {mc['3'][0]:.5f} ± {mc['3'][1]:.5f} (z vs 0 "
            f"{zero_z[3]:.1f}), "
            f"D(4) = {mc['4'][0]:.5f} ± {mc['4'][1]:.5f} (z vs 0 {zero_z[4]:+.1f}); required beyond "
            f"{Z_MAX:g}",
        ),
    ]


def _regime_checks(result: Result) -> list[Check]:
    reg = result.regime
    widths, mean, se = _regime_arrays(reg)
    expected = [-1 if n <= 3 else 1 for n in widths]
    sign = [int(s) for s in reg["sign"]]
    final_z = np.asarray(reg["final_z"], dtype=float)
    lt1, lsteps, lN = result.sizes.long_t1, result.sizes.long_steps, result.sizes.long_paths
    lwidths, lmean, lse = _regime_arrays(result.long_regime)
    ltimes = np.asarray(result.long_regime["times"], dtype=float)
    details, ok = [], True
    for i, n in enumerate(lwidths):
        j = int(np.argmax(lmean[i]))
        peak_z = lmean[i, j] / lse[i, j] if lse[i, j] > 0 else 0.0
        end_z = lmean[i, -1] / lse[i, -1]
        ok &= peak_z >= Z_MAX and ltimes[j] < lt1 and end_z <= -Z_MAX
        details.append(
            f"n={n}: peak {lmean[i, j]:+.3f} ± {lse[i, j]:.3f} at t={ltimes[j]:g}, "
            f"{lmean[i, -1]:+.3f} ± {lse[i, -1]:.3f} at t={lt1:g}"
        )
    return [
        Check(
            "mean log post-norm ratio over t in [0, 1]: negative for n <= 3, positive for n >= 4",
            sign == expected and bool(np.all(np.abs(final_z) >= Z_MAX)),
            f"{result.sizes.regime_paths} networks per width, depth {reg['n_steps']}: "
            "E[log(|phi(X_1)|/|phi(X_0)|) | alive] = "
            + ", ".join(f"n={n}: {mean[i, -1]:+.4f} ± {se[i, -1]:.4f}" for i, n in enumerate(widths))
            + f"; every point resolved at {Z_MAX:g} stderr has the expected sign (signs {sign}, expected "
            f"{expected}) and |z| at t = 1 >= {Z_MAX:g} (min {float(np.min(np.abs(final_z))):.1f}). "
            "Reference means of docs/science.md §A5.4: -0.0506 ± 0.0001 (n=3), +0.0144 ± 0.0001 (n=4).",
        ),
        Check(
            "over long depth every width eventually decays",
            bool(ok),
            f"ReLU networks of depth {lsteps} over t in [0, {lt1:g}] (step {lt1 / lsteps:g}), {lN} networks "
            "per width: "
            + "; ".join(details)
            + f". Required: a positive peak (z >= {Z_MAX:g}) before t1 and a negative end "
            f"value (z <= -{Z_MAX:g})",
        ),
    ]


def checks(result: Result) -> list[Check]:
    """Norm identity, dead set (fraction, absorption, width-1 deaths), D(n), the two regimes."""
    return _identity_and_dead_checks(result) + _drift_checks(result) + _regime_checks(result)


# ----------------------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------------------


def _tables(result: Result) -> list[str]:
    Nd, Ld = result.sizes.dead_networks, result.sizes.dead_depth
    _, dead_rows = _dead_z(result)
    D = _exact_drifts()
    mc = result.drift_mc
    widths, mean, se = _regime_arrays(result.regime)
    sign = [int(s) for s in result.regime["sign"]]
    final_z = np.asarray(result.regime["final_z"], dtype=float)
    return [
        table(
            ["n", "2^-n", "dead at layer 0", "z", f"dead at layer {Ld}", "revived"],
            dead_rows,
            caption=f"Dead ReLU networks ({Nd} networks per width)",
        ),
        table(
            ["n", "L", "fraction dying during the network", "count"],
            [
                [r["n"], r["L"], f"{r['died']:.5f} ± {r['died_se']:.5f}", r["count"]]
                for r in result.dead["sweep"]
            ],
            caption=f"Deaths at finite depth ({Nd} networks each)",
        ),
        table(
            ["n", "D(n)", "D(n) Monte Carlo", "mean log-ratio at t = 1", "z", "sign over [0, 1]"],
            [
                [
                    n,
                    str(D[n]),
                    f"{mc[str(n)][0]:+.5f} ± {mc[str(n)][1]:.5f}",
                    f"{mean[i, -1]:+.5f} ± {se[i, -1]:.5f}",
                    f"{final_z[i]:+.1f}",
                    sign[i],
                ]
                for i, n in enumerate(widths)
            ],
            caption="Change of regime between widths 3 and 4",
        ),
    ]


def _regime(data: dict[str, Any], keep: Any = None) -> SimpleNamespace:
    """A kept regime in the attributes of a ``ReluRegime`` (for ``plot.width_regime``), optionally only
    the widths in ``keep``."""
    widths, mean, se = _regime_arrays(data)
    rows = np.array([keep is None or n in keep for n in widths], dtype=bool)
    times = np.asarray(data["times"], dtype=float)
    return SimpleNamespace(widths=np.asarray(widths)[rows], times=times, mean=mean[rows], stderr=se[rows])


def _figure(result: Result, ctx: Context) -> str:
    """The regime on [0, 1], a zoom on widths 2..5 and the long-depth decay."""
    D = _exact_drifts()
    fig, axes = plot.figure(ncols=3, width=3.6, height=3.0)
    for ax, keep in ((axes[0, 0], None), (axes[0, 1], (2, 3, 4, 5))):
        reg = _regime(result.regime, keep)
        plot.width_regime(reg, axes=ax)
        tt = reg.times[reg.times <= 0.4]
        with plot.style():
            for i, n in enumerate(reg.widths):
                guide = r"$D(n)\,t$" if i == 0 else None
                ax.plot(tt, float(D[int(n)]) * tt, ":", color="k", lw=0.8, label=guide)
    plot.finish(axes[0, 0], title="Regime on $[0, 1]$", legend={"ncol": 2, "loc": "lower left"})
    plot.finish(axes[0, 1], title="Widths 2 to 5", ylim=(-0.08, 0.08), legend={"loc": "lower left"})
    ax = axes[0, 2]
    long = _regime(result.long_regime)
    plot.width_regime(long, axes=ax)
    with plot.style():
        for n, m in zip(long.widths, long.mean):
            j = int(np.argmax(m))
            ax.plot(long.times[j], m[j], "v", color="k", ms=5, label="peak" if n == long.widths[0] else None)
    plot.finish(ax, title="Long depth")
    return ctx.savefig(fig, "random_relu_facts")


def report(result: Result, ctx: Context) -> Report:
    """Identity and drift metrics, three tables and the regime figure."""
    from stochdepth.stats import weak_error_fit

    idr = result.identity
    fit = weak_error_fit(
        result.sizes.identity_steps, [(r["rms"], r["se"]) for r in idr["rows"]], reference=0.0
    )
    D = _exact_drifts()
    z_dead, _ = _dead_z(result)
    _, mean, se = _regime_arrays(result.regime)
    _, lmean, _ = _regime_arrays(result.long_regime)
    metrics = {
        "identity": {"rate": fit.rate, "rate_stderr": fit.rate_stderr, "rows": idr["rows"]},
        "D_exact": {n: str(D[n]) for n in D},
        "D_mc": result.drift_mc,
        "regime_t1_mean": mean[:, -1],
        "regime_t1_se": se[:, -1],
        "dead_z": z_dead,
        "long_peak_time": result.long_regime["peak_time"],
        "long_end_mean": lmean[:, -1],
    }
    return Report(metrics=metrics, tables=_tables(result), figures=[_figure(result, ctx)])


#: The figures ``report`` saves (``python -m validation figures NAME`` redraws one).
FIGURES = ("random_relu_facts",)
