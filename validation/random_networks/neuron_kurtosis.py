r"""The kurtosis of a neuron of the linear network (docs/science.md §A4), for ``random.linear-closed-forms``.

The exact finite-depth value derived here, its Monte Carlo estimate with a delta-method standard error,
the comparison of both with the limit :math:`3e^{4t/n}`, and the figure panel.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats as st

from stochdepth import plot

from ..runner import Context

__all__ = ["exact_neuron_kurtosis", "kurtosis_panel", "kurtosis_points", "sample_kurtosis"]


def exact_neuron_kurtosis(n: int, layer: int, h: float) -> float:
    r"""Kurtosis of one neuron of the linear network after ``layer`` layers of step ``h`` (derived here).

    The direction of :math:`Y_l` is uniform on the sphere and independent of its norm
    :math:`\|Y_l\|=\|Y_0\|R_l`, :math:`R_l^2=\prod_{j\le l}\xi_j` (rotation invariance, docs/science.md
    §A4), and
    :math:`Y_0` is Gaussian (kurtosis 3), so
    :math:`\mathrm{kurt}\,Y^i_l=3\,\mathbb E R_l^4/(\mathbb E R_l^2)^2=3\,(\mathbb E\xi^2/(\mathbb E\xi)^2)^l`
    with :math:`\xi=\frac hn\chi'^2_n(n/h)` (stochdepth.limits.linear): the moments come from scipy's
    non-central chi-square. As :math:`h=t/l\to0` this tends to :math:`3e^{4t/n}`.
    """
    mean, var = st.ncx2.stats(n, n / h, moments="mv")
    e1 = h / n * float(mean)
    e2 = (h / n) ** 2 * (float(var) + float(mean) ** 2)
    return 3.0 * math.exp(layer * (math.log(e2) - 2.0 * math.log(e1)))


def sample_kurtosis(ctx: Context, widths: tuple, L: int, N: int, n_law: int) -> dict[str, Any]:
    """Fourth and second moments of the neurons of ``N`` linear networks at five depths (kurtosis with a
    delta-method standard error) and one-sample KS tests of neuron 0 of the first ``n_law`` networks."""
    from stochdepth.limits import linear_neuron_law
    from stochdepth.montecarlo import Observable
    from stochdepth.networks import neuron, sample_network
    from stochdepth.stats import one_sample_test

    t1 = 2.0
    record = [L // 16, L // 8, L // 4, L // 2, L]
    m2 = Observable("m2", lambda s: np.mean(s**2, axis=-2))
    m4 = Observable("m4", lambda s: np.mean(s**4, axis=-2))
    rows = []
    for n in widths:
        res = sample_network(
            np.ones(1),
            n,
            L,
            "linear",
            n_paths=N,
            t1=t1,
            record=record,
            observe=[m2, m4, neuron(0)],
            rng=ctx.rng(f"kurtosis/n{n}"),
        )
        a, b = res["m4"].samples[:, :, 0], res["m2"].samples[:, :, 0]
        M2, M4 = b.mean(axis=0), a.mean(axis=0)
        K = M4 / M2**2
        # delta method: influence of (a, b) on K = E a / (E b)^2
        infl = a / M2**2 - 2.0 * M4 * b / M2**3
        se = infl.std(axis=0, ddof=1) / math.sqrt(N)
        x = res["neuron_0"].samples[:n_law, :, 0]
        for j, (layer, t) in enumerate(zip(res.layers, res.times)):
            rows.append(
                {
                    "n": n,
                    "t": float(t),
                    "K": float(K[j]),
                    "se": float(se[j]),
                    "exact_L": exact_neuron_kurtosis(n, int(layer), t1 / L),
                    "ks_p": one_sample_test(x[:, j], linear_neuron_law(n, float(t))).pvalue,
                }
            )
    return {"rows": rows, "L": L, "t1": t1, "n_law": min(N, n_law)}


def kurtosis_points(ku: dict[str, Any]) -> dict[str, Any]:
    """Kurtosis points against the exact finite-depth value and the limit 3 exp(4t/n).

    Only points with t/n <= 1/8 are checked (``zk``, ``zlim``, ``checked``); ``limits`` is the limit at
    every point and ``conv`` the distance of the exact value at depth 2^20 to it.
    """
    from stochdepth.limits import linear_neuron_law

    rows, zk, zlim, checked, limits = [], [], [], [], []
    for r in ku["rows"]:
        lim = 3.0 + float(linear_neuron_law(r["n"], r["t"]).stats(moments="k"))
        z = (r["K"] - r["exact_L"]) / r["se"]
        tame = r["t"] / r["n"] <= 0.125
        if tame:
            zk.append(z)
            zlim.append((r["K"] - lim) / r["se"])
            checked.append(f"n={r['n']} t={r['t']:g}")
        limits.append(lim)
        rows.append(
            [
                r["n"],
                f"{r['t']:g}",
                f"{r['K']:.3f} ± {r['se']:.3f}",
                f"{lim:.3f}",
                f"{r['exact_L']:.3f}",
                f"{z:+.2f}",
                f"{(r['K'] - lim) / r['se']:+.2f}",
                "yes" if tame else "no (t/n > 1/8)",
            ]
        )
    # the exact finite-depth kurtosis tends to 3 exp(4t/n) (deterministic, from the same formula)
    conv = [
        abs(exact_neuron_kurtosis(r["n"], 2**20, r["t"] / 2**20) / lim - 1.0)
        for r, lim in zip(ku["rows"], limits)
    ]
    return {"rows": rows, "zk": zk, "zlim": zlim, "checked": checked, "limits": limits, "conv": conv}


def kurtosis_panel(ax: Any, ku: dict[str, Any], kw: tuple[int, ...], kL: int, kN: int) -> None:
    """Kurtosis of a neuron against t: Monte Carlo points (open where unchecked) and 3 exp(4t/n)."""
    cols = plot.sequential(len(kw))
    tt = np.linspace(0.0, float(ku["t1"]), 200)
    for c, n in zip(cols, kw):
        ax.plot(tt, 3.0 * np.exp(4.0 * tt / n), "-", color=c, lw=1.2, label=f"$3e^{{4t/n}}$, $n={n}$")
        pts = [r for r in ku["rows"] if r["n"] == n]
        t = np.array([r["t"] for r in pts])
        K = np.array([r["K"] for r in pts])
        se = np.array([r["se"] for r in pts])
        tame = t / n <= 0.125
        ax.errorbar(t[tame], K[tame], yerr=plot.Z95 * se[tame], fmt="o", color=c, ms=4, capsize=2)
        if np.any(~tame):
            ax.errorbar(
                t[~tame], K[~tame], yerr=plot.Z95 * se[~tame], fmt="o", color=c, mfc="none", ms=4, capsize=2
            )
    ax.plot([], [], "o", color="0.4", mfc="none", ms=4, label="not checked ($t/n>1/8$)")
    ax.set_yscale("log")
    plot.finish(
        ax,
        xlabel="depth-time $t$",
        ylabel="kurtosis of a neuron",
        title="Kurtosis of a neuron (linear)",
    )
