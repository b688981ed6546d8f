r"""The theorem book, Part A: random residual networks at fixed width and infinite depth (SCIENCE.md A1--A6).

Every claim of SCIENCE.md A1--A6 is registered here as a :class:`theory.book.Claim`; this module holds
A1--A3 and imports the others (A4 :mod:`theory.claims_a_linear`, A5 :mod:`theory.claims_a_relu`, A6
:mod:`theory.claims_a_sequential`). Each check verifies its claim in at least two independent ways --
a symbolic derivation (:mod:`stochdepth.symbolic`) or an exact closed form, *and* Monte Carlo on the
library's simulators (:mod:`stochdepth.networks`, :mod:`stochdepth.sde`, :mod:`stochdepth.limits`) --
and takes keyword arguments that replace the claimed formula, constant or hypothesis; the registered
``wrong`` variants pass deliberately wrong ones, which the check must reject.

Conventions (see :mod:`theory.claims_a_common`): agreement within 5 standard errors, goodness-of-fit
p-values above 1e-6, significance at 5 standard errors; simulations are cached per ``(level, seed)`` so
that the wrong variants reuse them and only change the comparison.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import sympy as sp

from stochdepth.networks import (
    ExplicitWeights,
    post_squared_norms,
    sample_network,
    squared_norms,
)

from .book import Verdict, claim
from .claims_a_common import (
    P_MIN,
    Z_MAX,
    Criteria,
    gaussian_expectation,
    log_slope,
    mean_se,
    params,
    stream,
    wls,
)

__all__: list[str] = []

# ----------------------------------------------------------------------------------------------------
# A1. The network and its branch scaling
# ----------------------------------------------------------------------------------------------------


@functools.cache
def _a1_energy(
    seed: int, activation: str, alpha: float, depth: int, width: int, m: int
) -> tuple[float, float]:
    r""":math:`R=\mathbb E\|Y_L-Y_0\|^2/\|Y_0\|^2=\mathbb E\|Y_L\|^2/\|Y_0\|^2-1` for branch scale
    :math:`L^{-\alpha}` (the network of horizon :math:`t_1=L^{1-2\alpha}`), mean and standard error."""
    res = sample_network(
        np.ones(1),
        width,
        depth,
        activation,
        n_paths=m,
        t1=depth ** (1.0 - 2.0 * alpha),
        observe=[squared_norms()],
        rng=stream(seed, "A1", activation, alpha, depth, width),
    )
    s = res["squared_norms"].samples[:, :, 0]
    return mean_se(s[:, -1] / s[:, 0] - 1.0)


@claim(
    "A1.branch-scaling",
    tags=("seed", "derived"),
    title="The 1/sqrt(L) branch scaling is the only one with a non-trivial depth limit",
    statement=r"Y_l=Y_{l-1}+L^{-\alpha}W_l\phi(Y_{l-1}):\quad R_\alpha(L)=\frac{\mathbb E\|Y_L-Y_0\|^2}"
    r"{\|Y_0\|^2}\xrightarrow[L\to\infty]{}\begin{cases}\infty&\alpha<\frac12\\ R_\infty\in(0,\infty)"
    r"&\alpha=\frac12\\ 0&\alpha>\frac12\end{cases}",
    hypotheses=(
        "W_in entries N(0,1/d), W_l entries N(0,1/n), independent, no biases (SCIENCE.md A1)",
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
        ok = fit["p"] >= P_MIN and r_inf / r_se >= Z_MAX
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


# ----------------------------------------------------------------------------------------------------
# A2. The network is an Euler scheme, in law
# ----------------------------------------------------------------------------------------------------

_A2_INPUTS = np.array([[1.0, 0.75], [0.0, 0.75 * math.sqrt(3.0)], [0.0, 0.0]])  # |x2| = 1.5, cos = 1/2


def _a2_formula_sampler(
    X: np.ndarray, width: int, depth: int, m: int, rng: Any, *, factor: str, gram_of: str
) -> np.ndarray:
    r"""SCIENCE.md A2's formula, implemented here independently of the library (numpy, vectorised):

    :math:`Y_0=W_{\rm in}X`, :math:`Y_l=Y_{l-1}+\frac1{\sqrt{nL}}Z_lC_{l-1}^\top` with
    :math:`C C^\top=G=\phi(Y)^\top\phi(Y)` (symmetric square root from ``eigh``, valid for singular
    :math:`G`). ``factor="diagonal"`` and ``gram_of="preactivations"`` are the wrong variants (independent
    noise per input; the Gram matrix of the pre-activations)."""
    gen = np.random.Generator(np.random.SFC64(rng))
    d, k = X.shape
    Y = gen.standard_normal((m, width, d)) @ X / math.sqrt(d)
    for _ in range(depth):
        P = np.maximum(Y, 0.0) if gram_of == "post-activations" else Y
        G = np.einsum("mia,mib->mab", P, P)
        if factor == "gram":
            w, V = np.linalg.eigh(G)
            C = V * np.sqrt(np.clip(w, 0.0, None))[:, None, :]
        else:
            C = np.zeros_like(G)
            idx = np.arange(k)
            C[:, idx, idx] = np.sqrt(G[:, idx, idx])
        Z = gen.standard_normal((m, width, k))
        Y = Y + np.einsum("mia,mba->mib", Z, C) / math.sqrt(width * depth)
    return Y


def _a2_observables(Y: np.ndarray) -> dict[str, np.ndarray]:
    n1 = np.linalg.norm(Y[..., 0], axis=-1)
    n2 = np.linalg.norm(Y[..., 1], axis=-1)
    return {
        "log_norm_1": np.log(n1),
        "log_norm_2": np.log(n2),
        "cosine": np.einsum("mi,mi->m", Y[..., 0], Y[..., 1]) / (n1 * n2),
        "neuron": Y[:, 0, 0],
    }


@functools.cache
def _a2_library_samples(seed: int, sampler: str, width: int, depth: int, m: int) -> dict[str, np.ndarray]:
    res = sample_network(
        _A2_INPUTS,
        width,
        depth,
        "relu",
        n_paths=m,
        sampler=ExplicitWeights() if sampler == "explicit" else None,
        record=[depth],
        rng=stream(seed, "A2", sampler, width, depth),
    )
    return _a2_observables(res["preactivations"].samples[:, 0])


@claim(
    "A2.euler-in-law",
    tags="derived",
    title="A random ResNet is, in law, the Euler scheme driven by Gram factors",
    statement=r"Y_l\overset d=Y_{l-1}+\frac{1}{\sqrt{nL}}\,Z_lC_{l-1}^\top,\quad C_{l-1}C_{l-1}^\top="
    r"G_{l-1}=\phi(Y_{l-1})^\top\phi(Y_{l-1}),\quad Z_l\sim\mathcal N(0,I_n\otimes I_k)\ \text{i.i.d.}",
    hypotheses=(
        "W_l v ~ N(0, |v|^2 I/n) given the past, W_l independent of the past",
        "k = 2 inputs through the same weights (|x1| = 1, |x2| = 1.5, cosine 1/2), ReLU, n = 6, L = 12",
        "C any factor of G (the law of Z C^T depends on C C^T only); G may be singular",
    ),
    method="monte carlo: two-sample KS (explicit weights vs exact-law sampler vs the formula), Holm",
    wrong={
        "independent noise per input": {"factor": "diagonal"},
        "Gram of pre-activations": {"gram_of": "preactivations"},
    },
)
def _check_a2_euler(
    level: str, seed: int, *, factor: str = "gram", gram_of: str = "post-activations"
) -> Verdict:
    from stochdepth.stats import KolmogorovSmirnov, holm, two_sample_test

    p = params(level, quick={"m": 20_000, "width": 6, "depth": 12}, full={"m": 200_000})
    ref = _a2_library_samples(seed, "explicit", p["width"], p["depth"], p["m"])
    exact = _a2_library_samples(seed, "exact", p["width"], p["depth"], p["m"])
    Y = _a2_formula_sampler(
        _A2_INPUTS,
        p["width"],
        p["depth"],
        p["m"],
        stream(seed, "A2", "formula", factor, gram_of),
        factor=factor,
        gram_of=gram_of,
    )
    formula = _a2_observables(Y)
    crit = Criteria()
    crit.note(networks=p["m"], width=p["width"], depth=p["depth"], factor=factor, gram_of=gram_of)
    ks = KolmogorovSmirnov(exact=False)
    names, pvals = [], []
    for other, sample in (("exact_law", exact), ("formula", formula)):
        for key in ref:
            names.append(f"{other}:{key}")
            pvals.append(two_sample_test(ref[key], sample[key], method=ks).pvalue)
    h = holm(pvals, alpha=P_MIN)
    for group in ("exact_law", "formula"):
        idx = [i for i, nm in enumerate(names) if nm.startswith(group)]
        crit.add(
            f"{group}_vs_explicit",
            not np.any(h.rejected[idx]),
            min_holm_p=float(np.min(h.adjusted[idx])),
            pvalues=[float(pvals[i]) for i in idx],
        )
    return crit.verdict(
        "monte carlo: two-sample KS (explicit weights vs exact-law sampler vs the formula), Holm"
    )


def _a2_symbolic_identity(factor: float, pre: bool, n: int = 2) -> tuple[bool, str]:
    r""":math:`\mathbb E_W\|y+sWv\|^2` for :math:`W` with i.i.d. :math:`\mathcal N(0,1/n)` entries, by the
    Gaussian moments of the entries, against the claimed :math:`\|y\|^2+c\,s^2\|v\|^2` (``pre``: with
    :math:`\|y\|^2` in place of :math:`\|v\|^2`)."""
    W = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"w_{i}{j}", real=True))
    y = sp.Matrix(sp.symbols(f"y_0:{n}", real=True))
    v = sp.Matrix(sp.symbols(f"v_0:{n}", real=True))
    s = sp.Symbol("s", positive=True)
    z = y + s * W * v
    expr = sp.expand((z.T * z)[0])
    for w in W:  # E w = 0, E w^2 = 1/n, independent entries
        expr = gaussian_expectation(expr, w, sp.Rational(1, n))
    derived = sp.simplify(expr)
    yy, vv = (y.T * y)[0], (v.T * v)[0]
    claimed = yy + sp.nsimplify(factor) * s**2 * (yy if pre else vv)
    return sp.simplify(derived - claimed) == 0, str(derived)


@functools.cache
def _a2_layer_norms(
    seed: int, activation: str, sampler: str, width: int, depth: int, m: int
) -> tuple[np.ndarray, ...]:
    res = sample_network(
        np.ones(2),
        width,
        depth,
        activation,
        n_paths=m,
        sampler=ExplicitWeights() if sampler == "explicit" else None,
        record=np.arange(depth + 1),
        observe=[squared_norms(), post_squared_norms(activation)],
        rng=stream(seed, "A2-identity", activation, sampler, width, depth),
    )
    return res["squared_norms"].samples[:, :, 0], res["post_squared_norms"].samples[:, :, 0]


@claim(
    "A2.mean-square-identity",
    tags="derived",
    title="Exact layer identity of the mean squared norm",
    statement=r"\mathbb E\|Y_l\|^2=\mathbb E\|Y_{l-1}\|^2+\frac1L\,\mathbb E\|\phi(Y_{l-1})\|^2,"
    r"\quad l=1,\dots,L",
    hypotheses=(
        "any activation, any width and depth (exact, not asymptotic)",
        "checked for ReLU and tanh, n = 4, L = 8, with both samplers",
    ),
    method="symbolic (Gaussian moments of W) + monte carlo per layer (exact-law and explicit weights)",
    wrong={"factor 1/2": {"factor": 0.5}, "pre-activation norm": {"increment": "preactivations"}},
)
def _check_a2_identity(
    level: str, seed: int, *, factor: float = 1.0, increment: str = "post-activations"
) -> Verdict:
    p = params(level, quick={"m": 20_000, "width": 4, "depth": 8}, full={"m": 400_000})
    pre = increment == "preactivations"
    crit = Criteria()
    ok, derived = _a2_symbolic_identity(factor, pre)
    crit.add("symbolic", ok, derived="E|y + sWv|^2 = " + derived)
    L = p["depth"]
    for act in ("relu", "tanh"):
        for sampler in ("exact", "explicit"):
            sq, post = _a2_layer_norms(seed, act, sampler, p["width"], L, p["m"])
            inc = sq if pre else post
            D = np.diff(sq, axis=1) - factor / L * inc[:, :-1]  # per layer, mean zero under the claim
            m_, se_ = D.mean(axis=0), D.std(axis=0, ddof=1) / math.sqrt(D.shape[0])
            z = m_ / se_
            tot, tot_se = mean_se(D.sum(axis=1))
            zmax = float(max(np.max(np.abs(z)), abs(tot / tot_se)))
            crit.add(f"{act}_{sampler}", zmax <= Z_MAX, max_abs_z=zmax, total=tot, total_se=tot_se)
    crit.note(networks=p["m"], width=p["width"], depth=L)
    return crit.verdict(
        "symbolic (Gaussian moments of W) + monte carlo per layer (exact-law, explicit weights)"
    )


# ----------------------------------------------------------------------------------------------------
# A3. The limit diffusion
# ----------------------------------------------------------------------------------------------------


@claim(
    "A3.weak-error-rate",
    tags="classical",
    title="The depth error of a random ResNet is the Euler weak error: O(1/L)",
    statement=r"\big|\mathbb E f(Y_L)-\mathbb E f(X_1)\big|=O(L^{-1})\quad\text{(Euler--Maruyama, smooth }f)",
    hypotheses=(
        "f = |x|^2 (ReLU; tanh at level full), n = 4, x = (1,1,1)",
        "coupled levels L -> 2L on fresh paths per pair (Giles 2008)",
        "linear: E|Y_L|^2 = |Y_0|^2 (1+1/L)^L exactly",
    ),
    method="symbolic series of the exact linear error + monte carlo rate fit with CI",
    wrong={"rate 1/2": {"rate": 0.5}},
)
def _check_a3_weak(level: str, seed: int, *, rate: float = 1.0) -> Verdict:
    p = params(
        level,
        quick={"steps": (8, 16, 32, 64, 128), "m": 100_000, "activations": ("relu",)},
        full={"steps": (16, 32, 64, 128, 256), "m": 1_000_000, "activations": ("relu", "tanh")},
    )
    crit = Criteria()
    L = sp.Symbol("L", positive=True)
    lim = sp.limit(L ** sp.nsimplify(rate) * (sp.E - (1 + 1 / L) ** L), L, sp.oo)
    crit.add(
        "symbolic_linear",
        bool(lim.is_finite and lim.is_positive),
        value=f"lim L^{rate} (e - (1+1/L)^L) = {lim}",
    )
    for act in p["activations"]:
        rate_hat, se, status, chi2_p, n_res = _a3_weak_fit(seed, act, p["steps"], p["m"])
        ok = n_res >= 3 and chi2_p >= P_MIN and abs(rate_hat - rate) <= Z_MAX * se
        crit.add(
            f"mc_{act}",
            ok,
            fitted_rate=rate_hat,
            rate_se=se,
            z=(rate_hat - rate) / se,
            resolved_levels=n_res,
            fit_chi2_p=chi2_p,
            status=status,
        )
    crit.note(steps=list(p["steps"]), paths_per_pair=p["m"], claimed_rate=rate)
    return crit.verdict("symbolic series of the exact linear error + monte carlo rate fit (coupled levels)")


@functools.cache
def _a3_weak_fit(
    seed: int, activation: str, steps: tuple[int, ...], m: int
) -> tuple[float, float, str, float, int]:
    from stochdepth.limits import weak_error_study
    from stochdepth.sde import squared_norm

    study = weak_error_study(
        np.ones(3),
        4,
        activation,
        steps=steps,
        n_paths=m,
        observe=[squared_norm()],
        rng=stream(seed, "A3-weak", activation, steps),
    )
    fit = study.fits["squared_norm"]
    return (
        float(fit.rate),
        float(fit.rate_stderr),
        fit.status.value,
        float(fit.chi2_pvalue),
        int(fit.resolved.sum()),
    )


@functools.cache
def _a3_strong_fit(seed: int, steps: tuple[int, ...], m: int) -> tuple[float, float, float, int, list[float]]:
    from stochdepth.limits import limit_sde
    from stochdepth.networks import sample_input_layer
    from stochdepth.random import spawn
    from stochdepth.sde import EulerMaruyama, coordinate, simulate_levels
    from stochdepth.stats import weak_error_fit

    def x0(gen: np.random.Generator, k: int) -> np.ndarray:
        return sample_input_layer(np.ones(3), 4, k, gen)[:, :, 0]

    sde = limit_sde(4, "relu")
    rms, ses = [], []
    for k, ss in enumerate(spawn(stream(seed, "A3-strong", steps), len(steps) - 1)):
        res = simulate_levels(
            sde,
            EulerMaruyama(),
            1.0,
            (steps[k], steps[k + 1]),
            x0,
            n_paths=m,
            observe=[coordinate(0)],
            rng=ss,
        )
        d = res["x0"].differences
        mu = float(d.mean[-1, 0])
        c2, c3, c4 = (float(c[-1, 0]) for c in d.central)
        s2 = c2 + mu**2  # E D^2 (D = fine - coarse on the same Brownian path)
        s4 = c4 + 4 * mu * c3 + 6 * mu**2 * c2 + mu**4
        rms.append(math.sqrt(s2))
        ses.append(math.sqrt(max(s4 - s2**2, 0.0) / m) / (2 * math.sqrt(s2)))
    fit = weak_error_fit(np.array(steps[:-1]), list(zip(rms, ses)), reference=0.0)
    return float(fit.rate), float(fit.rate_stderr), float(fit.chi2_pvalue), int(fit.resolved.sum()), rms


@claim(
    "A3.strong-error-rate",
    tags="classical",
    title="Strong (pathwise) depth error of the Euler scheme: O(L^{-1/2})",
    statement=r"\Big(\mathbb E\big|Y^{(L)}_{L}-X_1\big|^2\Big)^{1/2}=O(L^{-1/2})",
    hypotheses=(
        "ReLU limit diffusion, n = 4; one coordinate; coupled levels L, 2L on the same path",
        "Milstein's fundamental theorem: local mean error O(h^{p1}), local mean-square error "
        "O(h^{p2}), p1 >= p2 + 1/2 => global order p2 - 1/2",
    ),
    method="symbolic local errors (GBM step) + monte carlo RMS rate fit with CI",
    wrong={"rate 1": {"rate": 1.0}},
)
def _check_a3_strong(level: str, seed: int, *, rate: float = 0.5) -> Verdict:
    p = params(
        level,
        quick={"steps": (8, 16, 32, 64, 128), "m": 20_000},
        full={"steps": (16, 32, 64, 128, 256, 512), "m": 100_000},
    )
    crit = Criteria()
    # one Euler step of the width-1 linear diffusion dX = X dW from X_0 = 1, against the exact GBM
    h = sp.Symbol("h", positive=True)
    W = sp.Symbol("W", real=True)
    err = sp.exp(W - h / 2) - (1 + W)
    mean_err = gaussian_expectation(err, W, h)
    ms_err = gaussian_expectation(err**2, W, h)
    lead = sp.limit(ms_err / h**2, h, 0)
    p2 = 1  # mean-square error ~ h^2 => local RMS order 1
    global_order = sp.Rational(p2) - sp.Rational(1, 2)
    ok = mean_err == 0 and lead.is_positive and lead.is_finite and global_order == sp.nsimplify(rate)
    crit.add(
        "symbolic",
        ok,
        local_mean_error=str(mean_err),
        local_mean_square=str(ms_err),
        global_order=str(global_order),
    )
    r, se, chi2_p, n_res, rms = _a3_strong_fit(seed, p["steps"], p["m"])
    ok = n_res >= 3 and chi2_p >= P_MIN and abs(r - rate) <= Z_MAX * se
    crit.add("mc_relu", ok, fitted_rate=r, rate_se=se, fit_chi2_p=chi2_p, rms=rms)
    crit.note(steps=list(p["steps"]), paths_per_pair=p["m"], claimed_rate=rate)
    return crit.verdict("symbolic local errors (GBM step) + monte carlo RMS rate fit")


_A3_CHUNK = 4000  # paths per simulation chunk (bounded memory at level full; one chunk at level quick)


@functools.lru_cache(maxsize=8)
def _a3_chunk(seed: int, activation: str, n_steps: int, size: int, index: int, width: int = 4) -> np.ndarray:
    """States of the limit diffusion at every Euler step, ``(size, n_steps + 1, width)`` (stochdepth.sde)."""
    from stochdepth.limits import simulate_limit
    from stochdepth.sde import state

    res = simulate_limit(
        np.ones(3),
        width,
        activation,
        1.0,
        n_steps=n_steps,
        n_paths=size,
        record=np.arange(n_steps + 1),
        observe=[state()],
        rng=stream(seed, "A3-paths", activation, n_steps, width, index),
    )
    return res["state"].samples


def _a3_paths(seed: int, activation: str, n_steps: int, m: int) -> Any:
    """The ``m`` paths in chunks of :data:`_A3_CHUNK` (each chunk its own stream)."""
    for index, start in enumerate(range(0, m, _A3_CHUNK)):
        yield _a3_chunk(seed, activation, n_steps, min(_A3_CHUNK, m - start), index)


def _phi_np(activation: str) -> Any:
    from stochdepth.activations import get_activation

    return get_activation(activation).fn


def _phi_sp(activation: str) -> Any:
    from stochdepth.activations import get_activation

    return get_activation(activation).sympy


@claim(
    "A3.second-moment-identity",
    tags=("seed", "derived"),
    title="Ito for |X|^2: E|X_t|^2 = E|X_0|^2 + int_0^t E|phi(X_s)|^2 ds",
    statement=r"d\|X_t\|^2=\|\phi(X_t)\|^2dt+\tfrac{2}{\sqrt n}\|X_t\|\,\|\phi(X_t)\|\,d\beta_t"
    r"\ \Rightarrow\ "
    r"\mathbb E\|X_t\|^2=\mathbb E\|X_0\|^2+\int_0^t\mathbb E\|\phi(X_s)\|^2ds",
    hypotheses=(
        "dX = |phi(X)|/sqrt(n) dB (SCIENCE.md A3), phi Lipschitz",
        "symbolic: any width (exchangeable coordinates) and n = 3; MC: tanh and ReLU, n = 4",
    ),
    method="symbolic Ito (symbolic width and n = 3) + monte carlo on the SDE integrator",
    wrong={"drift |X|^2 for every phi": {"drift": lambda x, fx: x**2}},
)
def _check_a3_second_moment(level: str, seed: int, *, drift: Any = None) -> Verdict:
    from stochdepth.symbolic import (
        derive_squared_norm_sde,
        exchangeable_limit_diffusion,
        ito,
        limit_diffusion,
    )

    summand = drift if drift is not None else (lambda x, fx: fx**2)
    p = params(level, quick={"m": 4000, "n_steps": 128}, full={"m": 40_000, "n_steps": 256})
    crit = Criteria()
    for act in ("linear", "relu", "tanh"):
        phi = _phi_sp(act)
        sym = derive_squared_norm_sde(None, act)
        sde = exchangeable_limit_diffusion(None, act)
        claimed = sde.sum(lambda x, phi=phi: summand(x, phi(x)))
        ok_sym = sp.simplify(sym.drift.subs(sym.variable, sym.process) - claimed) == 0
        sde3 = limit_diffusion(3, act)
        res3 = ito(sde3, sum(x**2 for x in sde3.state))
        ok3 = sp.simplify(res3.drift - sum(summand(x, phi(x)) for x in sde3.state)) == 0
        crit.add(f"symbolic_{act}", ok_sym and ok3, drift=str(sym.drift.subs(sym.variable, sym.process)))
    h = 1.0 / p["n_steps"]
    for act in ("tanh", "relu"):
        parts = []
        for X in _a3_paths(seed, act, p["n_steps"], p["m"]):
            fx = _phi_np(act)(X[:, :-1])
            parts.append(
                np.einsum("mi,mi->m", X[:, -1], X[:, -1])
                - np.einsum("mi,mi->m", X[:, 0], X[:, 0])
                - h * summand(X[:, :-1], fx).sum(axis=(1, 2))
            )
        mean, se = mean_se(np.concatenate(parts))
        crit.add(f"mc_{act}", abs(mean / se) <= Z_MAX, defect=mean, defect_se=se, z=mean / se)
    crit.note(paths=p["m"], euler_steps=p["n_steps"])
    return crit.verdict("symbolic Ito (symbolic width and n = 3) + monte carlo on the SDE integrator")


@claim(
    "A3.shared-clock",
    tags=("seed", "derived"),
    title="Generator |phi(x)|^2/(2n) Laplacian: every coordinate runs on one clock A(t)",
    statement=r"\mathcal Af=\frac{\|\phi(x)\|^2}{2n}\Delta f,\qquad [X^i,X^j]_t=\delta_{ij}A(t),\quad "
    r"A(t)=\frac1n\int_0^t\|\phi(X_s)\|^2ds,\quad X_t=X_0+\widetilde W_{A(t)}",
    hypotheses=(
        "tanh limit diffusion, n = 4 (symbolic: n = 3, ReLU and tanh)",
        "realised quadratic variation of the Euler scheme converges to A pathwise at rate sqrt(h)",
    ),
    method="symbolic generator + monte carlo realised quadratic (co)variations at two step sizes",
    wrong={"one clock per coordinate": {"clock": "per-coordinate"}},
)
def _check_a3_clock(level: str, seed: int, *, clock: str = "shared") -> Verdict:
    from stochdepth.symbolic import generator, limit_diffusion

    p = params(level, quick={"m": 4000, "steps": (32, 128)}, full={"m": 40_000, "steps": (32, 128, 512)})
    crit = Criteria()
    for act in ("relu", "tanh"):
        sde = limit_diffusion(3, act)
        x = sde.state
        f = x[0] ** 2 * x[1] + x[1] * x[2] ** 3 + sp.sin(x[0] - x[2])
        phi = _phi_sp(act)
        if clock == "shared":
            claimed = sum(phi(v) ** 2 for v in x) / (2 * len(x)) * sum(sp.diff(f, v, 2) for v in x)
        else:
            claimed = sum(phi(v) ** 2 / 2 * sp.diff(f, v, 2) for v in x)
        ok = sp.simplify(generator(sde, f) - claimed) == 0
        crit.add(f"symbolic_generator_{act}", ok)
    rms, rms_se = [], []
    for N in p["steps"]:
        h = 1.0 / N
        d_parts, cross_parts = [], []
        for X in _a3_paths(seed, "tanh", N, p["m"]):
            n = X.shape[-1]
            dX = np.diff(X, axis=1)
            qv = np.einsum("mki,mki->mi", dX, dX)  # realised quadratic variation per coordinate
            phi2 = np.tanh(X[:, :-1]) ** 2
            if clock == "shared":
                clocks = np.repeat((h * phi2.sum(axis=(1, 2)) / n)[:, None], n, axis=1)
            else:
                clocks = h * phi2.sum(axis=1)
            d_parts.append(qv - clocks)
            cross_parts.append(np.einsum("mk,mk->m", dX[..., 0], dX[..., 1]))
        d = np.concatenate(d_parts)
        zs = [mean_se(d[:, i]) for i in range(d.shape[1])]
        cz = mean_se(np.concatenate(cross_parts))
        zmax = max(max(abs(a / b) for a, b in zs), abs(cz[0] / cz[1]))
        crit.add(f"qv_mean_N{N}", zmax <= Z_MAX, max_abs_z=zmax)
        sq = d[:, 0] ** 2
        ms, ms_se = mean_se(sq)
        rms.append(math.sqrt(ms))
        rms_se.append(ms_se / (2 * math.sqrt(ms)))
    slope, se = log_slope(np.array(p["steps"], dtype=float), np.array(rms), np.array(rms_se))
    ok = abs(slope + 0.5) <= Z_MAX * se and slope / se <= -Z_MAX
    crit.add("pathwise_rate", ok, rms=rms, slope=slope, slope_se=se)
    crit.note(paths=p["m"], steps=list(p["steps"]), clock=clock)
    return crit.verdict("symbolic generator + monte carlo realised quadratic (co)variations")


@functools.cache
def _a3_neurons(seed: int, activation: str, order: str, width: int, depth: int, m: int) -> np.ndarray:
    if order == "width-first":  # the McKean-Vlasov (width-first) neuron: interacting particles
        from stochdepth.limits import mckean_vlasov

        n_clouds = 8
        res = mckean_vlasov(
            activation,
            1.0,
            1.0,
            n_steps=depth,
            n_paths=m // n_clouds,
            n_clouds=n_clouds,
            rng=stream(seed, "A3-mv", activation, depth, m),
        )
        return res.particles.ravel()
    from stochdepth.networks import neuron

    res = sample_network(
        np.ones(1),
        width,
        depth,
        activation,
        n_paths=m,
        record=[depth],
        observe=[neuron(0)],
        rng=stream(seed, "A3-neuron", activation, width, depth),
    )
    return res["neuron_0"].samples[:, 0, 0]


@claim(
    "A3.non-gaussian",
    tags="seed",
    title="At finite width the depth limit is not Gaussian, and its law depends on phi",
    statement=r"X^i_1\ \text{is not Gaussian for finite }n\text{; its law depends on }\phi\quad"
    r"(\text{linear: }\operatorname{kurt}X^i_t=3e^{4t/n}>3)",
    hypotheses=(
        "depth first (L -> oo at fixed n), n = 3, t = 1, networks of depth 64",
        "tested: standardised neuron vs N(0,1) (KS with estimated location and scale: "
        "conservative), ReLU vs tanh standardised neurons (two-sample KS)",
    ),
    method="symbolic kurtosis of the linear scale mixture + monte carlo goodness-of-fit tests",
    wrong={"width-first neurons": {"order": "width-first"}},
)
def _check_a3_non_gaussian(level: str, seed: int, *, order: str = "depth-first") -> Verdict:
    from scipy import stats as st

    from stochdepth.stats import KolmogorovSmirnov, two_sample_test

    p = params(level, quick={"m": 20_000, "width": 3, "depth": 64}, full={"m": 200_000, "depth": 256})
    crit = Criteria()
    # symbolic: X = sigma0 Z e^G, G ~ N((1/2 - 1/n) t, t/n): kurt = E Z^4 E e^{4G} / (E e^{2G})^2
    n, t = sp.Symbol("n", positive=True), sp.Symbol("t", positive=True)
    g = sp.Symbol("g", real=True)
    mu, var = (sp.Rational(1, 2) - 1 / n) * t, t / n
    kurt = sp.simplify(
        3
        * gaussian_expectation(sp.exp(4 * g), g, var)
        * sp.exp(4 * mu)
        / (gaussian_expectation(sp.exp(2 * g), g, var) * sp.exp(2 * mu)) ** 2
    )
    n_eff = sp.oo if order == "width-first" else p["width"]
    k_val = sp.limit(kurt.subs(t, 1), n, n_eff) if n_eff is sp.oo else kurt.subs({n: n_eff, t: 1})
    crit.add(
        "symbolic_linear_kurtosis",
        bool(sp.simplify(k_val - 3).is_positive),
        kurtosis=str(kurt),
        at_width=float(k_val),
    )
    ks = KolmogorovSmirnov(exact=False)
    std = {}
    for act in ("linear", "relu", "tanh"):
        x = _a3_neurons(seed, act, order, p["width"], p["depth"], p["m"])
        z = (x - x.mean()) / x.std(ddof=1)
        std[act] = z
        pv = float(st.kstest(z, "norm").pvalue)
        crit.add(f"{act}_not_gaussian", pv < P_MIN, ks_pvalue=pv, kurtosis=float(np.mean(z**4)))
    pv = two_sample_test(std["relu"], std["tanh"], method=ks).pvalue
    crit.add("relu_vs_tanh_differ", pv < P_MIN, ks_pvalue=pv)
    crit.note(order=order, networks=p["m"], width=p["width"], depth=p["depth"])
    return crit.verdict("symbolic kurtosis of the linear scale mixture + monte carlo goodness-of-fit tests")


# The other Part A claims register themselves on import.
from . import claims_a_linear, claims_a_relu, claims_a_sequential  # noqa: E402, F401
