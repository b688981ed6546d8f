r"""Theorem book, docs/science.md §A3: the limit, a zero-drift diffusion.

The Euler weak and strong depth errors, Itô's formula for the squared norm, the shared clock of the
coordinates and the non-Gaussian law at finite width. Symbolic derivations (:mod:`stochdepth.symbolic`)
are checked against Monte Carlo on the SDE integrator (:mod:`stochdepth.sde`, :mod:`stochdepth.limits`)
and on networks. Conventions: :mod:`theory.common`.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import sympy as sp

from .book import Claim, Verdict, claim
from .common import (
    ALPHA,
    Z_MAX,
    Criteria,
    gaussian_expectation,
    half_order_decay,
    mean_se,
    output_neuron,
    params,
    root_mean_square,
    stream,
)

__all__ = ["CLAIMS"]


def _rate_fit_agrees(fitted: float, se: float, chi2_p: float, n_resolved: int, rate: float) -> bool:
    """A fitted convergence rate confirms ``rate``: at least three resolved levels, an acceptable fit
    (chi-square p-value at least ALPHA) and the fitted rate within Z_MAX standard errors of ``rate``."""
    return n_resolved >= 3 and chi2_p >= ALPHA and abs(fitted - rate) <= Z_MAX * se


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
        crit.add(
            f"mc_{act}",
            _rate_fit_agrees(rate_hat, se, chi2_p, n_res, rate),
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
    ok = _rate_fit_agrees(r, se, chi2_p, n_res, rate)
    crit.add("mc_relu", ok, fitted_rate=r, rate_se=se, fit_chi2_p=chi2_p, rms=rms)
    crit.note(steps=list(p["steps"]), paths_per_pair=p["m"], claimed_rate=rate)
    return crit.verdict("symbolic local errors (GBM step) + monte carlo RMS rate fit")


_A3_CHUNK = 4000  # paths per simulation chunk (bounded memory at level full; one chunk at level quick)


@functools.lru_cache(maxsize=8)
def _a3_chunk(seed: int, activation: str, n_steps: int, size: int, index: int, width: int = 4) -> np.ndarray:
    """States of the limit diffusion at every Euler step, ``(size, n_steps + 1, width)`` (stochdepth.sde)."""
    from stochdepth.limits import simulate_limit
    from stochdepth.networks import preactivations

    res = simulate_limit(
        np.ones(3),
        width,
        activation,
        1.0,
        n_steps=n_steps,
        n_paths=size,
        record=np.arange(n_steps + 1),
        observe=[preactivations()],
        rng=stream(seed, "A3-paths", activation, n_steps, width, index),
    )
    return res["preactivations"].samples[..., 0]


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
        "dX = |phi(X)|/sqrt(n) dB (docs/science.md §A3), phi Lipschitz",
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
        r, r_se = root_mean_square(d[:, 0] ** 2)
        rms.append(r)
        rms_se.append(r_se)
    ok, slope, se = half_order_decay(p["steps"], rms, rms_se)
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
    return output_neuron(
        np.ones(1), width, depth, activation, m, stream(seed, "A3-neuron", activation, width, depth)
    )


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
        crit.add(f"{act}_not_gaussian", pv < ALPHA, ks_pvalue=pv, kurtosis=float(np.mean(z**4)))
    pv = two_sample_test(std["relu"], std["tanh"], method=ks).pvalue
    crit.add("relu_vs_tanh_differ", pv < ALPHA, ks_pvalue=pv)
    crit.note(order=order, networks=p["m"], width=p["width"], depth=p["depth"])
    return crit.verdict("symbolic kurtosis of the linear scale mixture + monte carlo goodness-of-fit tests")


#: The claims of this section, in the order of the science.
CLAIMS: tuple[Claim, ...] = (
    _check_a3_weak,
    _check_a3_strong,
    _check_a3_second_moment,
    _check_a3_clock,
    _check_a3_non_gaussian,
)
