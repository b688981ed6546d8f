r"""Theorem book, docs/science.md §A1: the network and its branch scaling.

A residual branch scaled by :math:`L^{-1/2}` is the only scaling whose depth limit is neither explosive nor
frozen. Checked by symbolic limits in :math:`L`, the exact finite-depth value of the linear network, and
Monte Carlo on the library's exact-law samplers with fits in :math:`L`. Conventions: :mod:`theory.common`.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp

from stochdepth.networks import (
    squared_norms,
)

from .book import Claim, Verdict, claim
from .common import (
    ALPHA,
    Z_MAX,
    Criteria,
    log_slope,
    mean_se,
    network_samples,
    params,
    stream,
    wls,
)

__all__ = ["CLAIMS"]


@functools.cache
def _a1_energy(
    seed: int, activation: str, alpha: float, depth: int, width: int, m: int
) -> tuple[float, float]:
    r""":math:`R=\mathbb E\|Y_L-Y_0\|^2/\|Y_0\|^2=\mathbb E\|Y_L\|^2/\|Y_0\|^2-1` for branch scale
    :math:`L^{-\alpha}` (the network of horizon :math:`t_1=L^{1-2\alpha}`), mean and standard error."""
    s = network_samples(
        np.ones(1),
        width,
        depth,
        activation,
        m,
        squared_norms(),
        stream(seed, "A1", activation, alpha, depth, width),
        t1=depth ** (1.0 - 2.0 * alpha),
    )[:, :, 0]
    return mean_se(s[:, -1] / s[:, 0] - 1.0)


@claim(
    "A1.branch-scaling",
    tags=("seed", "derived"),
    title="The 1/sqrt(L) branch scaling is the only one with a non-trivial depth limit",
    statement=r"Y_l=Y_{l-1}+L^{-\alpha}W_l\phi(Y_{l-1}):\quad R_\alpha(L)=\frac{\mathbb E\|Y_L-Y_0\|^2}"
    r"{\|Y_0\|^2}\xrightarrow[L\to\infty]{}\begin{cases}\infty&\alpha<\frac12\\ R_\infty\in(0,\infty)"
    r"&\alpha=\frac12\\ 0&\alpha>\frac12\end{cases}",
    hypotheses=(
        "W_in entries N(0,1/d), W_l entries N(0,1/n), independent, no biases (docs/science.md §A1)",
        "fixed width n; phi = ReLU or linear",
        "linear: R_alpha(L) = (1+L^{-2 alpha})^L - 1 exactly (discrete identity of A2 with step "
        "h = L^{-2 alpha}); branch scale L^{-alpha} = the network of horizon t1 = L^{1-2 alpha}",
    ),
    method="symbolic limits + monte carlo (exact-law networks) + fits in L",
    wrong={"exponent 0.6": {"exponent": 0.6}, "exponent 0.4": {"exponent": 0.4}},
)
def _check_a1_scaling(level: str, seed: int, *, exponent: float = 0.5) -> Verdict:
    p = params(
        level,
        quick={"depths": (16, 64, 256), "m": 20_000, "width": 8},
        full={"depths": (16, 32, 64, 128, 256, 512), "m": 100_000},
    )
    delta = 0.1
    alphas = {
        "explode": round(exponent - delta, 10),
        "critical": round(exponent, 10),
        "freeze": round(exponent + delta, 10),
    }
    crit = Criteria()
    crit.note(claimed_exponent=exponent, width=p["width"], depths=list(p["depths"]), networks=p["m"])

    # (1) symbolic: log R_alpha(L) ~ L log(1 + c L^{-2 alpha}), c = 1 (linear, exact) or 1/2 (ReLU,
    # width-first), has limit oo / c / 0 below / at / above the critical exponent.
    L = sp.Symbol("L", positive=True)
    for c, name in ((sp.Integer(1), "linear"), (sp.Rational(1, 2), "relu_width_first")):
        lims = {
            k: sp.limit(L * sp.log(1 + c * L ** (-2 * sp.nsimplify(a))), L, sp.oo) for k, a in alphas.items()
        }
        ok = (
            lims["explode"] is sp.oo
            and lims["freeze"] == 0
            and lims["critical"].is_positive
            and lims["critical"].is_finite
        )
        crit.add(f"symbolic_{name}", ok, value=[str(lims[k]) for k in ("explode", "critical", "freeze")])

    # (2) Monte Carlo on ReLU and linear networks
    from stochdepth.limits import linear_exact_mean_square

    for act in ("relu", "linear"):
        est = {
            k: [_a1_energy(seed, act, a, L_, p["width"], p["m"]) for L_ in p["depths"]]
            for k, a in alphas.items()
        }
        depths = np.array(p["depths"], dtype=float)
        if act == "linear":  # the exact finite-depth value (1 + L^{-2 alpha})^L - 1, every width
            zs = [
                (v - (linear_exact_mean_square(p["width"], int(L_), L_ ** (1 - 2 * a)) - 1.0)) / s
                for k, a in alphas.items()
                for L_, (v, s) in zip(p["depths"], est[k])
            ]
            crit.add("linear_exact_z", max(abs(z) for z in zs) <= Z_MAX, max_abs=max(abs(z) for z in zs))
        for k in ("explode", "freeze"):
            vals = np.array([v for v, _ in est[k]])
            ses = np.array([s for _, s in est[k]])
            if np.any(vals <= 0):
                crit.add(f"{act}_{k}", False, values=vals)
                continue
            slope, se = log_slope(depths, vals, ses)
            ok = slope / se >= Z_MAX if k == "explode" else slope / se <= -Z_MAX
            crit.add(f"{act}_{k}", ok, alpha=alphas[k], loglog_slope=slope, slope_se=se, R_at_depths=vals)
        # at the critical exponent: R(L) = R_inf + b/L (+ c/L^2): the Euler weak error of A3
        vals = np.array([v for v, _ in est["critical"]])
        ses = np.array([s for _, s in est["critical"]])
        basis = [np.ones_like, lambda u: 1.0 / u] + ([lambda u: 1.0 / u**2] if len(depths) >= 5 else [])
        fit = wls(depths, vals, ses, basis)
        r_inf, r_se = float(fit["beta"][0]), float(math.sqrt(fit["cov"][0, 0]))
        ok = fit["p"] >= ALPHA and r_inf / r_se >= Z_MAX
        crit.add(
            f"{act}_critical",
            ok,
            alpha=alphas["critical"],
            R_inf=r_inf,
            R_inf_se=r_se,
            fit_pvalue=fit["p"],
            R_at_depths=vals,
        )
    return crit.verdict("symbolic limits + monte carlo (exact-law networks) + fits in L")


#: The claims of this section, in the order of the science.
CLAIMS: tuple[Claim, ...] = (_check_a1_scaling,)
