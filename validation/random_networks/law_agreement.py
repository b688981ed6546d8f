r"""random.law-agreement: Explicit weights, exact law and the limit SDE agree in law

docs/science.md §A2 and C1: finite random ResNets with explicit weights (numpy; torch when available), the
exact-in-law Gram-factor sampler and the Euler-Maruyama scheme of the limit SDE at step 1/L have the same law;
against the limit at a fine step the network differs by its O(1/L) depth error.

By A2 the network of depth :math:`L` with explicit weights, the Gram-factor sampler and the
Euler--Maruyama scheme of :math:`dX=\|\phi(X)\|\,dB/\sqrt n` at step :math:`1/L` have the same law,

.. math:: Y_l\overset d=Y_{l-1}+\tfrac1{\sqrt{nL}}\,Z_l\,C_{l-1}^\top,\qquad C_{l-1}C_{l-1}^\top=G_{l-1}.

Checks: (i) a Holm family of two-sample KS (exact) and permutation Cramér--von Mises tests over the
configurations, sampler pairs and observables, FWER :data:`~stochdepth.testing.tolerance.ALPHA`; (ii)
against the limit SDE at a fine step the tests resolve the depth error at :math:`L=1`; (iii) at the
largest depth the difference is below their resolution. The Wasserstein distance to the fine-step limit
is tabulated against :math:`L`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from stochdepth import plot
from stochdepth.testing.tolerance import ALPHA

from ..experiment import Report
from ..formatting import fmt, fmt_p, fmt_pm, loglog_slope, table
from ..runner import Check, Context
from .common import INPUTS, holm, torch_sampler

__all__ = ["SIZES", "Result", "Sizes", "checks", "compute", "report"]


@dataclass(frozen=True)
class Sizes:
    """Sizes of the experiment.

    ``law_configs`` are ``(width n, depth L, inputs k, activation)``; ``depth_configs`` are
    ``(width, activation)`` of the depth-error study against the limit SDE at ``depth_fine_steps``.
    """

    law_configs: tuple[tuple[int, int, int, str], ...]
    law_networks: int
    law_permutations: int
    depth_configs: tuple[tuple[int, str], ...]
    depth_depths: tuple[int, ...]
    depth_fine_steps: int
    depth_networks: int


SIZES: dict[str, Sizes] = {
    "quick": Sizes(
        law_configs=(
            (4, 16, 1, "relu"),
            (2, 32, 1, "linear"),
            (3, 16, 1, "tanh"),
            (8, 8, 2, "relu"),
            (16, 16, 2, "gelu"),
        ),
        law_networks=4000,
        law_permutations=999,
        depth_configs=((2, "linear"), (4, "relu")),
        depth_depths=(1, 2, 4, 8, 16, 32),
        depth_fine_steps=512,
        depth_networks=20_000,
    ),
    "full": Sizes(
        law_configs=(
            (4, 64, 1, "relu"),
            (2, 128, 1, "linear"),
            (3, 64, 1, "tanh"),
            (32, 32, 1, "gelu"),
            (8, 32, 2, "relu"),
            (16, 64, 3, "tanh"),
            (64, 16, 2, "relu"),
        ),
        law_networks=20_000,
        law_permutations=1999,
        depth_configs=((2, "linear"), (4, "relu"), (3, "tanh")),
        depth_depths=(1, 2, 4, 8, 16, 32, 64, 128),
        depth_fine_steps=2048,
        depth_networks=100_000,
    ),
}

_QQ_PROBS = (np.arange(200) + 0.5) / 200


@dataclass(frozen=True)
class Result:
    """Two-sample tests per configuration and the depth error per (width, activation).

    ``configs`` maps ``(n, L, k, activation)`` to its tests (``tests``), log-ratio quantiles (``qq``) and
    sampler names; ``depth`` maps ``(n, activation)`` to the noise floor and per-depth rows.
    """

    sizes: Sizes
    configs: dict[tuple[int, int, int, str], dict[str, Any]]
    depth: dict[tuple[int, str], dict[str, Any]]
    torch_available: bool
    torch_note: str


# ----------------------------------------------------------------------------------------------------
# compute
# ----------------------------------------------------------------------------------------------------


def _law_observables(S: np.ndarray) -> dict[str, np.ndarray]:
    """Observables of states ``(N, 3, n, k)`` recorded at layers ``[0, L/2, L]``."""
    from stochdepth.networks import gram, log_norms

    ln = log_norms()(S)  # (N, 3, k)
    obs = {
        "log_ratio": ln[:, 2, 0] - ln[:, 0, 0],
        "mid_log_norm": ln[:, 1, 0],
        "neuron": S[:, 2, 0, 0],
    }
    if S.shape[-1] > 1:
        g = gram()(S[:, 2])  # (N, k, k)
        obs["cosine"] = g[:, 0, 1] / np.sqrt(g[:, 0, 0] * g[:, 1, 1])
    return obs


def _sample_states(
    ctx: Context, X: np.ndarray, n: int, L: int, act: str, N: int, device: str, tag: str
) -> tuple[dict[str, np.ndarray], dict[str, Any], str]:
    """Pre-activations at layers ``[0, L/2, L]`` from every sampler (and the limit SDE when k = 1)."""
    from stochdepth.limits import simulate_limit
    from stochdepth.networks import ExactLaw, ExplicitWeights, preactivations, sample_network

    record = [0, L // 2, L]
    samplers: dict[str, Any] = {"exact": ExactLaw(), "numpy": ExplicitWeights()}
    torch, torch_note = torch_sampler(device)
    if torch is not None:
        samplers["torch"] = torch
    states: dict[str, np.ndarray] = {}
    for name, sampler in samplers.items():
        if name == "torch":
            from stochdepth.nn import sample_torch_network

            res = sample_torch_network(
                X,
                n,
                L,
                act,
                n_paths=N,
                record=record,
                observe=preactivations(),
                device=device,
                rng=ctx.rng(f"{tag}/{name}"),
            )
        else:
            res = sample_network(
                X,
                n,
                L,
                act,
                n_paths=N,
                sampler=sampler,
                record=record,
                observe=preactivations(),
                rng=ctx.rng(f"{tag}/{name}"),
            )
        states[name] = res["preactivations"].samples
    if X.shape[1] == 1:
        res = simulate_limit(
            X[:, 0],
            n,
            act,
            n_steps=L,
            n_paths=N,
            record=record,
            observe=preactivations(),
            rng=ctx.rng(f"{tag}/sde"),
        )
        states["sde"] = res["preactivations"].samples
    return states, samplers, torch_note


def _law_config(
    ctx: Context, n: int, L: int, k: int, act: str, N: int, B: int, device: str
) -> dict[str, Any]:
    from stochdepth.stats import CramerVonMises, two_sample_test

    X = INPUTS[:, :k].copy()
    tag = f"{act}-n{n}-L{L}-k{k}"
    states, samplers, torch_note = _sample_states(ctx, X, n, L, act, N, device, tag)
    obs = {name: _law_observables(S) for name, S in states.items()}
    pairs = [
        (a, b)
        for a, b in (("numpy", "exact"), ("torch", "exact"), ("sde", "exact"), ("numpy", "sde"))
        if a in obs and b in obs
    ]
    tests = []
    for a, b in pairs:
        for o in obs[a]:
            x, y = obs[a][o], obs[b][o]
            ks = two_sample_test(x, y)
            cvm = two_sample_test(
                x, y, method=CramerVonMises(n_permutations=B), rng=ctx.rng(f"{tag}/{a}-{b}/{o}/perm")
            )
            tests.append(
                {
                    "pair": f"{a} vs {b}",
                    "observable": o,
                    "ks_stat": ks.statistic,
                    "ks_p": ks.pvalue,
                    "cvm_stat": cvm.statistic,
                    "cvm_p": cvm.pvalue,
                }
            )
    return {
        "tests": tests,
        "qq": {name: np.quantile(v["log_ratio"], _QQ_PROBS) for name, v in obs.items()},
        "samplers": {name: getattr(s, "name", name) for name, s in samplers.items()},
        "torch_note": torch_note,
    }


def _depth_config(ctx: Context, n: int, act: str, depths: tuple, fine: int, N: int, B: int) -> dict[str, Any]:
    """Log-norm ratio of networks of depth L against the limit SDE at a fine step."""
    from stochdepth.limits import simulate_limit
    from stochdepth.networks import log_norms, sample_network
    from stochdepth.stats import CramerVonMises, two_sample_test, wasserstein_distance

    x = INPUTS[:, 0].copy()
    tag = f"depth-{act}-n{n}"

    def fine_ratio(name: str) -> np.ndarray:
        res = simulate_limit(
            x, n, act, n_steps=fine, n_paths=N, observe=log_norms(), rng=ctx.rng(f"{tag}/{name}")
        )
        v = res["log_norms"].samples[:, :, 0]
        return v[:, -1] - v[:, 0]

    ref, ref2 = fine_ratio("fine-a"), fine_ratio("fine-b")
    rows = []
    for L in depths:
        res = sample_network(x, n, L, act, n_paths=N, observe=log_norms(), rng=ctx.rng(f"{tag}/L{L}"))
        v = res["log_norms"].samples[:, :, 0]
        r = v[:, -1] - v[:, 0]
        ks = two_sample_test(r, ref)
        cvm = two_sample_test(
            r, ref, method=CramerVonMises(n_permutations=B), rng=ctx.rng(f"{tag}/L{L}/perm")
        )
        diff = r.mean() - ref.mean()
        diff_se = math.sqrt(r.var(ddof=1) / r.size + ref.var(ddof=1) / ref.size)
        rows.append(
            {
                "L": L,
                "w1": wasserstein_distance(r, ref),
                "ks_p": ks.pvalue,
                "cvm_p": cvm.pvalue,
                "mean_diff": diff,
                "mean_diff_se": diff_se,
            }
        )
    return {"floor": wasserstein_distance(ref, ref2), "rows": rows, "fine": fine}


def compute(sizes: Sizes, ctx: Context) -> Result:
    """Every sampler at every configuration, and networks of growing depth against the fine-step limit."""
    N, B = sizes.law_networks, sizes.law_permutations
    torch, torch_note = torch_sampler(ctx.device)
    dev_tag = ctx.device if torch is not None else "notorch"
    configs = {}
    for n, L, k, act in sizes.law_configs:
        key = f"law-{act}-n{n}-L{L}-k{k}-N{N}-B{B}-{dev_tag}"
        configs[(n, L, k, act)] = ctx.cached(
            key, functools.partial(_law_config, ctx, n, L, k, act, N, B, ctx.device)
        )
    depths, fine, Nd = sizes.depth_depths, sizes.depth_fine_steps, sizes.depth_networks
    depth = {}
    for n, act in sizes.depth_configs:
        key = f"depth-{act}-n{n}-N{Nd}-B{B}-fine{fine}-" + "-".join(map(str, depths))
        depth[(n, act)] = ctx.cached(key, functools.partial(_depth_config, ctx, n, act, depths, fine, Nd, B))
    return Result(sizes, configs, depth, torch is not None, torch_note)


# ----------------------------------------------------------------------------------------------------
# checks
# ----------------------------------------------------------------------------------------------------


def _test_name(n: int, L: int, k: int, act: str, t: dict[str, Any]) -> str:
    return f"{act} n={n} L={L} k={k}: {t['pair']}, {t['observable']}"


def _law_family(result: Result) -> tuple[dict[str, float], Any]:
    """The p-values of every "same law" test and their Holm family."""
    pvals: dict[str, float] = {}
    for (n, L, k, act), res in result.configs.items():
        for t in res["tests"]:
            base = _test_name(n, L, k, act, t)
            pvals[base + " [KS]"] = float(t["ks_p"])
            pvals[base + " [CvM]"] = float(t["cvm_p"])
    return pvals, holm(pvals)


def checks(result: Result) -> list[Check]:
    """Same law across samplers; the depth error resolved at the coarsest depth, unresolved at the finest."""
    s = result.sizes
    N, B = s.law_networks, s.law_permutations
    pvals, fam = _law_family(result)
    n_ks = sum(name.endswith("[KS]") for name in pvals)
    n_cvm = len(pvals) - n_ks
    worst = fam.names[int(np.argmin(fam.adjusted))]
    out = [
        Check(
            "same law: explicit weights = exact law = Euler at step 1/L",
            not fam.any_rejected,
            f"{len(pvals)} two-sample tests ({n_ks} Kolmogorov-Smirnov with exact p-values, {n_cvm} "
            f"Cramer-von Mises with {B} permutations, p >= 1/{B + 1}) over {len(s.law_configs)} (n, L, k, "
            f"activation) configurations, {N} networks per sampler; Holm-adjusted p-values: min "
            f"{fmt_p(fam.adjusted.min())} "
            f"({worst}), required > {ALPHA:g}; smallest raw p {fmt_p(fam.pvalues.min())}. The KS tests carry "
            "the 1e-6 resolution; permutation p-values cannot go below their floor and corroborate.",
        )
    ]
    depths, fine, Nd = s.depth_depths, s.depth_fine_steps, s.depth_networks
    coarse_p = {
        f"{act} n={n} L={res['rows'][0]['L']}": float(res["rows"][0]["ks_p"])
        for (n, act), res in result.depth.items()
    }
    out.append(
        Check(
            "the tests resolve the O(1/L) depth error at the coarsest depth",
            all(p < ALPHA for p in coarse_p.values()),
            f"network at depth {depths[0]} vs the limit SDE at step 1/{fine}, log-norm ratio, {Nd} samples "
            "each: KS p = "
            + ", ".join(f"{fmt_p(p)} ({name})" for name, p in coarse_p.items())
            + f"; required < {ALPHA:g} (the tests have power against a law that is off by the depth error)",
        )
    )
    fine_p: dict[str, float] = {}
    for (n, act), res in result.depth.items():
        last = res["rows"][-1]
        fine_p[f"{act} n={n} L={last['L']} [KS]"] = float(last["ks_p"])
        fine_p[f"{act} n={n} L={last['L']} [CvM]"] = float(last["cvm_p"])
    fam_fine = holm(fine_p)
    out.append(
        Check(
            "at the finest depth the network matches the fine-step limit within the tests' resolution",
            not fam_fine.any_rejected,
            f"network at depth {depths[-1]} vs the limit SDE at step 1/{fine} ({Nd} samples each): "
            "Holm-adjusted p-values "
            + ", ".join(f"{name}: {fmt_p(a)}" for name, a in zip(fam_fine.names, fam_fine.adjusted))
            + f"; required > {ALPHA:g}",
        )
    )
    return out


# ----------------------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------------------


def _w1_slopes(result: Result) -> dict[str, float]:
    """Log-log slope of W1(L) over the depths where W1 exceeds 3x its noise floor."""
    slopes = {}
    for (n, act), res in result.depth.items():
        floor = float(res["floor"])
        Ls = np.array([r["L"] for r in res["rows"]], dtype=float)
        w1 = np.array([float(r["w1"]) for r in res["rows"]])
        above = w1 > 3 * floor
        if np.count_nonzero(above) >= 2:
            slopes[f"{act} n={n}"] = loglog_slope(Ls[above], w1[above])
    return slopes


def _law_table(result: Result) -> str:
    N = result.sizes.law_networks
    pvals, fam = _law_family(result)
    adj = dict(zip(fam.names, fam.adjusted))
    rows = []
    for (n, L, k, act), res in result.configs.items():
        for t in res["tests"]:
            base = _test_name(n, L, k, act, t)
            rows.append(
                [
                    f"{act}, n={n}, L={L}, k={k}",
                    t["pair"],
                    t["observable"],
                    fmt_p(t["ks_p"]),
                    fmt_p(adj[base + " [KS]"]),
                    fmt_p(t["cvm_p"]),
                    fmt_p(adj[base + " [CvM]"]),
                ]
            )
    return table(
        ["configuration", "samplers", "observable", "KS p", "KS p (Holm)", "CvM p", "CvM p (Holm)"],
        rows,
        caption=f"Same law: two-sample tests, {N} networks per sampler, Holm over all {len(pvals)} tests",
    )


def _depth_table(result: Result) -> str:
    fine, Nd = result.sizes.depth_fine_steps, result.sizes.depth_networks
    rows = []
    for (n, act), res in result.depth.items():
        floor = float(res["floor"])
        for r in res["rows"]:
            rows.append(
                [
                    f"{act}, n={n}",
                    r["L"],
                    fmt(r["w1"], 3),
                    fmt(floor, 2),
                    fmt_p(r["ks_p"]),
                    fmt_p(r["cvm_p"]),
                    fmt_pm(r["mean_diff"], r["mean_diff_se"], 2),
                ]
            )
    return table(
        ["network", "depth L", "W1 to limit", "W1 noise floor", "KS p", "CvM p", "mean difference"],
        rows,
        caption=f"Depth error: log-norm ratio of depth-L networks vs the limit SDE at step 1/{fine} "
        f"({Nd} samples each; the floor is W1 between two independent fine-step samples)",
    )


def _qq_panel(ax: Any, n: int, L: int, k: int, act: str, res: dict[str, Any], N: int) -> None:
    markers = {
        "numpy": ("o", "numpy weights"),
        "torch": ("s", "torch weights"),
        "sde": ("^", "Euler, step $1/L$"),
    }
    ref = np.asarray(res["qq"]["exact"], dtype=float)
    # sampling error of a difference of two independent sample quantiles: sqrt(2 p (1 - p) / N) / f(q_p),
    # with 1 / f(q_p) = dq/dp read off the exact-law quantile curve; pointwise 95% band
    band = plot.Z95 * np.sqrt(2.0 * _QQ_PROBS * (1.0 - _QQ_PROBS) / N) * np.gradient(ref, _QQ_PROBS)
    with plot.style():
        ax.fill_between(ref, -band, band, color="0.85", lw=0, label="95% band, one law")
        for colour, (name, (m, label)) in zip(plot.palette(3), markers.items()):
            if name in res["qq"]:
                diff = np.asarray(res["qq"][name], dtype=float) - ref
                ax.plot(ref, diff, m, ms=3, mfc="none", color=colour, label=label)
        ax.axhline(0.0, color="k", lw=0.7)
    ax.set_ylim(-4 * float(np.median(band)), 4 * float(np.median(band)))
    plot.finish(
        ax,
        xlabel=r"exact-law quantile of $\log(\|Y_L\|/\|Y_0\|)$",
        ylabel="quantile $-$ exact-law quantile",
        title=f"{act}, $n={n}$, $L={L}$, $k={k}$",
        legend={"loc": "upper left"},
    )


def _figure(result: Result, ctx: Context) -> str:
    """QQ plots of two configurations and the depth-error distance against L."""
    depths = result.sizes.depth_depths
    qq_items = list(result.configs.items())[:2]
    fig, axes = plot.figure(ncols=len(qq_items) + 1)
    for ax, ((n, L, k, act), res) in zip(axes[0], qq_items):
        _qq_panel(ax, n, L, k, act, res, result.sizes.law_networks)
    ax = axes[0, -1]
    with plot.style():
        for c, ((n, act), res) in zip(plot.palette(len(result.depth)), result.depth.items()):
            Ls = [r["L"] for r in res["rows"]]
            ax.loglog(Ls, [float(r["w1"]) for r in res["rows"]], "o-", color=c, label=f"{act}, $n={n}$")
            ax.axhline(float(res["floor"]), color=c, ls=":", lw=1, label=f"noise floor, {act}")
        ls = np.array([depths[0], depths[-1]], dtype=float)
        w0 = max(float(res["rows"][0]["w1"]) for res in result.depth.values())
        ax.loglog(ls, w0 * ls[0] / ls, "k--", lw=0.8, label="slope $-1$")
    plot.finish(ax, xlabel="depth $L$", ylabel="$W_1$(network, limit)", title="Depth error of the law")
    return ctx.savefig(fig, "random_law_agreement")


def report(result: Result, ctx: Context) -> Report:
    """The test family and depth-error tables, metrics, notes on torch and the SDE, and one figure."""
    s = result.sizes
    pvals, fam = _law_family(result)
    first = next(iter(result.configs.values()))
    used = sorted({name for res in result.configs.values() for name in res["samplers"]} | {"sde"})
    slopes = _w1_slopes(result)
    metrics = {
        "law": {
            "n_tests": len(pvals),
            "min_holm_adjusted": float(fam.adjusted.min()),
            "min_raw_p": float(fam.pvalues.min()),
            "networks_per_sampler": s.law_networks,
            "permutations": s.law_permutations,
            "samplers": used,
            "torch": first["samplers"].get("torch"),
        },
        "depth_error": {
            f"{act} n={n}": {
                "floor": float(res["floor"]),
                "L": [r["L"] for r in res["rows"]],
                "w1": [float(r["w1"]) for r in res["rows"]],
                "ks_p": [float(r["ks_p"]) for r in res["rows"]],
            }
            for (n, act), res in result.depth.items()
        },
        "depth_error_w1_slopes": slopes,
    }
    if not result.torch_available:
        notes = [f"Torch explicit weights were not compared: {result.torch_note}."]
    else:
        notes = [f"Torch explicit weights ran as `{first['samplers']['torch']}`."]
    notes.append(
        "For k > 1 inputs the Euler scheme of the matrix SDE is the exact-law sampler itself "
        "(stochdepth.limits.simulate_limit delegates to it), so the independent SDE integrator enters the "
        "comparisons for k = 1 only."
    )
    if slopes:
        notes.append(
            "Fitted log-log slope of W1(L) over the depths where W1 exceeds 3x its noise floor: "
            + ", ".join(f"{name}: {v:.2f}" for name, v in slopes.items())
            + " (a law distance need not decay at the weak rate 1 before the asymptotic regime; the weak "
            "rate itself is measured in random.weak-error)."
        )
    return Report(
        metrics=metrics,
        tables=[_law_table(result), _depth_table(result)],
        figures=[_figure(result, ctx)],
        notes=notes,
    )


#: The figures ``report`` saves (``python -m validation figures NAME`` redraws one).
FIGURES = ("random_law_agreement",)
