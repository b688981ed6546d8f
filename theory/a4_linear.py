r"""Theorem book, docs/science.md §A4: closed forms of the linear network, :math:`\phi(x)=x` [derived].

Conventions: :mod:`theory.common`. In the depth limit the norm of the
linear network is a geometric Brownian motion, :math:`\log(\|X_t\|/\|X_0\|)\sim\mathcal N((\frac12-
\frac1n)t,\frac tn)`; its direction is a spherical Brownian motion independent of the norm; one neuron is a
Gaussian scale mixture; and at finite depth the squared norm is an exact multiplicative random walk.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import sympy as sp
from scipy import stats as st

from stochdepth.networks import (
    log_norms,
    preactivations,
    squared_norms,
)

from .book import Claim, Verdict, claim
from .common import (
    ALPHA,
    Z_MAX,
    Criteria,
    gaussian_expectation,
    mean_se,
    network_samples,
    output_neuron,
    params,
    stream,
    sympy_equal_on_grid,
)

__all__ = ["CLAIMS"]

_N, _T, _P = (
    sp.Symbol("n", integer=True, positive=True),
    sp.Symbol("t", nonnegative=True),
    sp.Symbol("p", real=True),
)


def _default_drift(n: float) -> float:
    return 0.5 - 1.0 / n


def _default_variance(n: float) -> float:
    return 1.0 / n


@functools.cache
def _walk(seed: int, width: int, depth: int, m: int) -> np.ndarray:
    """Samples of the exact log-norm walk :math:`\\log(\\|Y_L\\|/\\|Y_0\\|)` (docs/science.md §A4.5)."""
    from stochdepth.networks import sample_linear_log_norm

    w = sample_linear_log_norm(width, depth, n_paths=m, rng=stream(seed, "A4-walk", width, depth))
    return w.log_ratio[:, -1]


@functools.cache
def _network_log_ratio(seed: int, width: int, depth: int, m: int, sampler: str = "exact") -> np.ndarray:
    rng = stream(seed, "A4-net", width, depth, sampler)
    s = network_samples(np.ones(3), width, depth, "linear", m, log_norms(), rng, sampler=sampler)[:, :, 0]
    return s[:, -1] - s[:, 0]


def _var_se(x: np.ndarray) -> tuple[float, float]:
    d = x - x.mean()
    v = float(np.mean(d**2))
    return float(x.var(ddof=1)), math.sqrt(max(float(np.mean(d**4)) - v * v, 0.0) / x.size)


@claim(
    "A4.norm-lognormal",
    tags="derived",
    title="Linear network: the norm is a geometric Brownian motion (log-normal ratio)",
    statement=r"\|X_t\|=\|X_0\|\exp\Big(\big(\tfrac12-\tfrac1n\big)t+\tfrac{1}{\sqrt n}W_t\Big),\qquad "
    r"\log\frac{\|X_t\|}{\|X_0\|}\sim\mathcal N\Big(\big(\tfrac12-\tfrac1n\big)t,\ \frac tn\Big)",
    hypotheses=(
        "phi(x) = x, dX = |X| dB / sqrt(n); W a 1-d Brownian motion independent of X_0",
        "MC at t = 1: exact log-norm walk (L = 512; n = 2, 4, 16) and exact-law networks "
        "(L = 128, n = 4); their depth error is below 0.5 SE (exact finite-L cumulants)",
    ),
    method="symbolic Ito + library law + monte carlo KS and moment tests (walk and networks)",
    wrong={"no Ito correction": {"drift": lambda n: 0.5}, "variance t": {"variance": lambda n: 1.0}},
)
def _check_a4_lognormal(level: str, seed: int, *, drift: Any = None, variance: Any = None) -> Verdict:
    from stochdepth.limits import linear_log_norm_moments, linear_norm_ratio_law
    from stochdepth.stats import one_sample_test
    from stochdepth.symbolic import derive_linear_log_norm_law

    drift = drift or _default_drift
    variance = variance or _default_variance
    p = params(
        level,
        quick={"m": 20_000, "walk_depth": 512, "net_depth": 128, "widths": (2, 4, 16)},
        full={"m": 200_000, "walk_depth": 2048, "net_depth": 512},
    )
    crit = Criteria()
    law = derive_linear_log_norm_law()
    grid = [(n, t) for n in (1, 2, 3, 4, 8, 16) for t in (0.5, 1.0, 2.0)]
    ok_m, err_m = sympy_equal_on_grid(law.mean, (_N, _T), lambda n, t: drift(n) * t, grid)
    ok_v, err_v = sympy_equal_on_grid(law.variance, (_N, _T), lambda n, t: variance(n) * t, grid)
    crit.add(
        "symbolic", ok_m and ok_v, mean=law.mean, variance=law.variance, max_discrepancy=max(err_m, err_v)
    )
    lib_err = max(
        max(abs(math.log(lw.kwds["scale"]) - drift(n) * t), abs(lw.kwds["s"] ** 2 - variance(n) * t))
        for n, t in grid
        for lw in [linear_norm_ratio_law(n, t)]
    )
    crit.add("library_law", lib_err <= 1e-12, max_discrepancy=lib_err, consistency=True)
    samples = {
        f"walk_n{n}": (n, p["walk_depth"], _walk(seed, n, p["walk_depth"], p["m"])) for n in p["widths"]
    }
    samples["network_n4"] = (4, p["net_depth"], _network_log_ratio(seed, 4, p["net_depth"], p["m"]))
    for name, (n, L, x) in samples.items():
        claimed = st.norm(loc=drift(n), scale=math.sqrt(variance(n)))
        pv = one_sample_test(x, claimed).pvalue
        m_, m_se = mean_se(x)
        v_, v_se = _var_se(x)
        zm, zv = (m_ - drift(n)) / m_se, (v_ - variance(n)) / v_se
        exact = linear_log_norm_moments(n, 1.0, depth=L)
        ok = pv >= ALPHA and abs(zm) <= Z_MAX and abs(zv) <= Z_MAX
        crit.add(
            name,
            ok,
            ks_p=pv,
            z_mean=zm,
            z_var=zv,
            depth_bias_in_se=max(abs(exact.mean - 0.5 + 1 / n) / m_se, abs(exact.var - 1 / n) / v_se),
        )
    crit.note(samples=p["m"])
    return crit.verdict("symbolic Ito + library law + monte carlo KS and moment tests (walk and networks)")


def _default_moment(n: float, p: float, t: float) -> float:
    return math.exp(p * (0.5 - 1.0 / n) * t + p * p * t / (2.0 * n))


@claim(
    "A4.norm-moments",
    tags="derived",
    title="Linear network: moments of the norm ratio; E|X_t|^2 = |X_0|^2 e^t for every width",
    statement=r"\mathbb E\Big(\frac{\|X_t\|}{\|X_0\|}\Big)^p=\exp\Big(p\big(\tfrac12-\tfrac1n\big)t+"
    r"\frac{p^2t}{2n}\Big),\qquad \mathbb E\|X_t\|^2=\|X_0\|^2e^t\ \ \forall n",
    hypotheses=(
        "phi(x) = x; moment ODE of |x|^p under the generator (closes for every p)",
        "MC: exact log-norm walk, L = 512, n = 2, 4, 16, p = 1, 2, t = 1",
    ),
    method="symbolic moment ODE + monte carlo moments of the exact walk",
    wrong={"no convexity term": {"moment": lambda n, p, t: math.exp(p * (0.5 - 1.0 / n) * t)}},
)
def _check_a4_moments(level: str, seed: int, *, moment: Any = None) -> Verdict:
    from stochdepth.symbolic import derive_linear_norm_moment

    moment = moment or _default_moment
    p = params(
        level,
        quick={"m": 20_000, "walk_depth": 512, "widths": (2, 4, 16)},
        full={"m": 200_000, "walk_depth": 2048},
    )
    crit = Criteria()
    expr = derive_linear_norm_moment()
    n_s, p_s, t_s = sorted(expr.free_symbols, key=lambda s: s.name)
    grid = [(n, q, t) for n in (1, 2, 3, 8) for q in (-1.0, 1.0, 2.0, 3.0) for t in (0.5, 1.0)]
    ok, err = sympy_equal_on_grid(expr, (n_s, p_s, t_s), moment, grid)
    crit.add("symbolic", ok, derived=expr, max_discrepancy=err)
    two = sp.simplify(expr.subs(p_s, 2))
    crit.add("symbolic_every_width", two == sp.exp(t_s), p2=two)
    worst = 0.0
    for n in p["widths"]:
        x = _walk(seed, n, p["walk_depth"], p["m"])
        for q in (1.0, 2.0):
            v, se = mean_se(np.exp(q * x))
            z = (v - moment(n, q, 1.0)) / se
            worst = max(worst, abs(z))
            crit.note(**{f"mc_n{n}_p{int(q)}": v, f"mc_n{n}_p{int(q)}_z": z})
    crit.add("mc_moments", worst <= Z_MAX, max_abs_z=worst)
    crit.note(samples=p["m"], walk_depth=p["walk_depth"])
    return crit.verdict("symbolic moment ODE + monte carlo moments of the exact walk")


@functools.cache
def _direction_samples(seed: int, width: int, depth: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    Y = network_samples(
        np.ones(3), width, depth, "linear", m, preactivations(), stream(seed, "A4-direction", width, depth)
    )[..., 0]  # (m, 2, n)
    y0, y1 = Y[:, 0], Y[:, 1]
    r0, r1 = np.linalg.norm(y0, axis=1), np.linalg.norm(y1, axis=1)
    return np.einsum("mi,mi->m", y0, y1) / (r0 * r1), np.log(r1 / r0)


@claim(
    "A4.direction",
    tags="derived",
    title="Linear network: the direction is a spherical Brownian motion independent of the norm",
    statement=r"u_t=\frac{X_t}{\|X_t\|}:\ \ \mathbb E\langle u_t,u_0\rangle=e^{-\frac{n-1}{2n}t},\qquad "
    r"d\big\langle u,\log\|X\|\big\rangle_t=0\ \ (u\perp\|X\|)",
    hypotheses=(
        "phi(x) = x; spherical BM on S^{n-1} run at speed 1/n (generator |x|^2/(2n) Laplacian)",
        "symbolic: n = 2, 3, 4; MC: exact-law networks L = 256, n = 3, 6, t = 1",
    ),
    method="symbolic generator and covariation + monte carlo mean cosine and correlation test",
    wrong={"unit-speed spherical BM": {"rate": lambda n: (n - 1) / 2.0}},
)
def _check_a4_direction(level: str, seed: int, *, rate: Any = None) -> Verdict:
    from stochdepth.symbolic import generator, limit_diffusion

    rate = rate or (lambda n: (n - 1) / (2.0 * n))
    p = params(level, quick={"m": 20_000, "depth": 256, "widths": (3, 6)}, full={"m": 200_000, "depth": 1024})
    crit = Criteria()
    for n in (2, 3, 4):
        sde = limit_diffusion(n, "linear")
        x = sde.state
        r = sp.sqrt(sum(v**2 for v in x))
        f = x[0] / r
        ok_gen = sp.simplify(generator(sde, f) + sp.nsimplify(rate(n)) * f) == 0
        ok_cov = sp.simplify(sum(v * sp.diff(f, v) for v in x)) == 0  # grad f . x = 0: no covariation
        crit.add(f"symbolic_n{n}", ok_gen and ok_cov, generator_ok=ok_gen, covariation_zero=ok_cov)
    for n in p["widths"]:
        cos, logr = _direction_samples(seed, n, p["depth"], p["m"])
        v, se = mean_se(cos)
        z = (v - math.exp(-rate(n))) / se
        corr = float(np.corrcoef(cos, logr)[0, 1])
        zc = corr * math.sqrt(cos.size)  # ~ N(0, 1) under independence
        crit.add(f"mc_n{n}", abs(z) <= Z_MAX and abs(zc) <= Z_MAX, mean_cos=v, z_mean=z, corr=corr, z_corr=zc)
    crit.note(networks=p["m"], depth=p["depth"])
    return crit.verdict("symbolic generator and covariation + monte carlo mean cosine and correlation")


def _xi_moments(n: Any, a2: Any, factor: Any) -> tuple[sp.Expr, sp.Expr]:
    r""":math:`\mathbb E\xi` and :math:`\mathbb E\xi^2` for :math:`\xi=` ``factor(g, chi2, a2)``, :math:`g\sim
    \mathcal N(0,1)\perp\chi^2_{n-1}`, exactly (Gaussian MGF in :math:`g`, raw moments of
    :math:`\chi^2_k`: :math:`k`, :math:`k(k+2)`, ...)."""
    g = sp.Symbol("g", real=True)
    c = sp.Symbol("c", nonnegative=True)
    k = n - 1
    out = []
    for power in (1, 2):
        e_g = sp.expand(gaussian_expectation(sp.expand(sp.nsimplify(factor(g, c, a2)) ** power), g, 1))
        poly = sp.Poly(e_g, c)
        total = sp.S.Zero
        for (j,), coeff in poly.terms():
            mom = sp.S.One
            for i in range(j):
                mom *= k + 2 * i
            total += coeff * mom
        out.append(sp.simplify(total))
    return out[0], out[1]


def _default_factor(g: Any, chi2: Any, a2: Any) -> Any:
    return (1 + g * a2**0.5) ** 2 + a2 * chi2


def _default_mean_square(L: float, t1: float) -> float:
    return (1.0 + t1 / L) ** L


@functools.cache
def _finite_depth_ratio(seed: int, sampler: str, width: int, depth: int, m: int) -> tuple[float, float]:
    rng = stream(seed, "A4-finite", sampler, width, depth)
    s = network_samples(np.ones(3), width, depth, "linear", m, squared_norms(), rng, sampler=sampler)[:, :, 0]
    return mean_se(s[:, -1] / s[:, 0])


@functools.cache
def _first_layer_log_factor(seed: int, width: int, depth: int, m: int) -> np.ndarray:
    s = network_samples(
        np.ones(3),
        width,
        depth,
        "linear",
        m,
        log_norms(),
        stream(seed, "A4-layer", width, depth),
        record=[0, 1],
    )[:, :, 0]
    return 2.0 * (s[:, 1] - s[:, 0])


@claim(
    "A4.finite-depth-walk",
    tags="derived",
    title="Linear network at finite depth: an exact multiplicative random walk of the squared norm",
    statement=r"\|Y_l\|^2=\|Y_{l-1}\|^2\xi_l,\ \ \xi_l=\Big(1+\frac{g_l}{\sqrt{nL}}\Big)^2"
    r"+\frac{\chi^2_{n-1,l}}{nL}"
    r"\ \text{i.i.d.},\qquad \mathbb E\|Y_L\|^2=\Big(1+\frac1L\Big)^L\|Y_0\|^2",
    hypotheses=(
        "phi(x) = x, any width n and depth L (exact)",
        "MC: n = 3, L = 1, 2, 4, 16 (both samplers), the walk vs the network at L = 4, one layer's "
        "factor vs the exact non-central chi-square law",
    ),
    method="symbolic E xi + monte carlo (both samplers, two-sample and one-sample KS)",
    wrong={
        "limit value e": {"mean_square": lambda L, t1: math.exp(t1)},
        "no chi-square part": {"factor": lambda g, chi2, a2: (1 + g * a2**0.5) ** 2},
    },
)
def _check_a4_finite(level: str, seed: int, *, mean_square: Any = None, factor: Any = None) -> Verdict:
    from stochdepth.limits import LinearLogFactorLaw
    from stochdepth.stats import KolmogorovSmirnov, one_sample_test, two_sample_test

    mean_square = mean_square or _default_mean_square
    factor = factor or _default_factor
    p = params(
        level, quick={"m": 20_000, "width": 3, "depths": (1, 2, 4, 16), "walk_depth": 4}, full={"m": 400_000}
    )
    n = p["width"]
    crit = Criteria()
    ns, a2 = sp.Symbol("n", positive=True), sp.Symbol("a2", positive=True)
    e1, _ = _xi_moments(ns, a2, factor)
    h = sp.Symbol("h", positive=True)
    e1h = sp.simplify(e1.subs(a2, h / ns))
    L_s, t_s = sp.Symbol("L", positive=True), sp.Symbol("t1", positive=True)
    derived = e1h.subs(h, t_s / L_s) ** L_s
    grid = [(L, t1, w) for L in (1, 2, 4, 16) for t1 in (0.5, 1.0) for w in (1, 3, 8)]
    ok, err = sympy_equal_on_grid(derived, (L_s, t_s, ns), lambda L, t1, w: mean_square(L, t1), grid)
    crit.add("symbolic", ok, E_xi=e1h, max_discrepancy=err)
    worst = 0.0
    for sampler in ("exact", "explicit"):
        for L in p["depths"]:
            v, se = _finite_depth_ratio(seed, sampler, n, L, p["m"])
            z = (v - mean_square(L, 1.0)) / se
            worst = max(worst, abs(z))
            crit.note(**{f"{sampler}_L{L}": v, f"{sampler}_L{L}_z": z})
    crit.add("mc_mean_square", worst <= Z_MAX, max_abs_z=worst)
    # the walk with the claimed factor (drawn here) against the network and the library's walk
    L = p["walk_depth"]
    gen = np.random.Generator(np.random.SFC64(stream(seed, "A4-claimed-walk", n, L)))
    g = gen.standard_normal((p["m"], L))
    chi = gen.chisquare(n - 1, (p["m"], L))
    claimed_walk = 0.5 * np.log(factor(g, chi, 1.0 / (n * L))).sum(axis=1)
    net = _network_log_ratio(seed, n, L, p["m"])
    ks = KolmogorovSmirnov(exact=False)
    p1 = two_sample_test(claimed_walk, net, method=ks).pvalue
    p2 = two_sample_test(_walk(seed, n, L, p["m"]), net, method=ks).pvalue
    e_sq = np.exp(2 * claimed_walk)
    v, se = mean_se(e_sq)
    crit.add("claimed_walk_vs_network", p1 >= ALPHA, ks_p=p1)
    crit.add("library_walk_vs_network", p2 >= ALPHA, ks_p=p2)
    p3 = one_sample_test(_first_layer_log_factor(seed, n, L, p["m"]), LinearLogFactorLaw(n, L, 1.0)).pvalue
    crit.add("one_layer_vs_exact_law", p3 >= ALPHA, ks_p=p3)
    crit.note(claimed_walk_mean_square=v, claimed_walk_mean_square_se=se, samples=p["m"])
    return crit.verdict("symbolic E xi + monte carlo (both samplers, two-sample and one-sample KS)")


@functools.cache
def _neuron_samples(seed: int, width: int, depth: int, m: int) -> np.ndarray:
    return output_neuron(np.ones(4), width, depth, "linear", m, stream(seed, "A4-neuron", width, depth))


@claim(
    "A4.neuron-law",
    tags="derived",
    title="Linear network: one neuron is a Gaussian scale mixture, variance e^t, kurtosis 3e^{4t/n}",
    statement=r"X^i_t\overset d=\sigma_0Ze^{G_t},\ G_t\sim\mathcal N\big((\tfrac12-\tfrac1n)t,"
    r"\tfrac tn\big):\quad "
    r"\operatorname{Var}X^i_t=\sigma_0^2e^t,\quad\operatorname{kurt}X^i_t=3e^{4t/n}",
    hypotheses=(
        "phi(x) = x; X_0 = W_in x isotropic, sigma0^2 = |x|^2/d = 1",
        "MC: exact-law networks n = 8, L = 128, t = 1; the exact finite-depth values "
        "(1+1/L)^L and 3 (E xi^2)^L/(E xi)^{2L} bound the depth error",
    ),
    method="symbolic scale-mixture moments + monte carlo moments with delta-method SE + KS vs library law",
    wrong={"kurtosis 3e^{2t/n}": {"kurtosis": lambda n, t: 3.0 * math.exp(2.0 * t / n)}},
)
def _check_a4_neuron(level: str, seed: int, *, kurtosis: Any = None, variance: Any = None) -> Verdict:
    from stochdepth.limits import LinearNeuronLaw
    from stochdepth.stats import one_sample_test
    from stochdepth.symbolic import derive_linear_log_norm_law

    kurtosis = kurtosis or (lambda n, t: 3.0 * math.exp(4.0 * t / n))
    variance = variance or math.exp
    p = params(level, quick={"m": 100_000, "width": 8, "depth": 128}, full={"m": 1_000_000, "depth": 512})
    n, L = p["width"], p["depth"]
    crit = Criteria()
    law = derive_linear_log_norm_law()
    G = sp.Symbol("G", real=True)
    mgf2 = gaussian_expectation(sp.exp(2 * G), G, law.variance) * sp.exp(2 * law.mean)
    mgf4 = gaussian_expectation(sp.exp(4 * G), G, law.variance) * sp.exp(4 * law.mean)
    kurt = sp.simplify(3 * mgf4 / mgf2**2)  # E Z^4 = 3
    grid = [(w, t) for w in (1, 2, 4, 8) for t in (0.5, 1.0, 2.0)]
    ok_k, err_k = sympy_equal_on_grid(kurt, (_N, _T), kurtosis, grid)
    ok_v, err_v = sympy_equal_on_grid(sp.simplify(mgf2), (_N, _T), lambda w, t: variance(t), grid)
    crit.add(
        "symbolic",
        ok_k and ok_v,
        kurtosis=kurt,
        variance=sp.simplify(mgf2),
        max_discrepancy=max(err_k, err_v),
    )
    # exact finite-depth values (the depth error of the comparison)
    ns, a2 = sp.Symbol("n", positive=True), sp.Symbol("a2", positive=True)
    e1, e2 = _xi_moments(ns, a2, _default_factor)
    e1v, e2v = (float(e.subs({ns: n, a2: 1.0 / (n * L)})) for e in (e1, e2))
    var_L, kurt_L = e1v**L, 3.0 * e2v**L / e1v ** (2 * L)
    var_inf, kurt_inf = math.e, float(kurt.subs({_N: n, _T: 1}))
    x = _neuron_samples(seed, n, L, p["m"])
    x2, x4 = x * x, x**4
    m2, m4 = float(x2.mean()), float(x4.mean())
    c = np.cov(np.vstack([x4, x2])) / x.size
    K = m4 / m2**2
    grad = np.array([1.0 / m2**2, -2.0 * m4 / m2**3])
    K_se = math.sqrt(float(grad @ c @ grad))
    m2_se = math.sqrt(c[1, 1])
    ok_var = abs(m2 - variance(1.0)) <= Z_MAX * m2_se + abs(var_L - var_inf)
    ok_kurt = abs(K - kurtosis(n, 1.0)) <= Z_MAX * K_se + abs(kurt_L - kurt_inf)
    crit.add("mc_variance", ok_var, value=m2, se=m2_se, exact_finite_depth=var_L)
    crit.add("mc_kurtosis", ok_kurt, value=K, se=K_se, exact_finite_depth=kurt_L, claimed=kurtosis(n, 1.0))
    # one-sample KS against the library's scale-mixture law (cdf interpolated on 4001 sample quantiles)
    lib = LinearNeuronLaw(n, 1.0, 1.0)
    nodes = np.unique(np.quantile(x, np.linspace(0.0, 1.0, 4001)))
    cdf_nodes = lib.cdf(nodes)
    pv = one_sample_test(x, lambda u: np.interp(u, nodes, cdf_nodes)).pvalue
    crit.add("ks_library_law", pv >= ALPHA, ks_p=pv)
    crit.note(networks=p["m"], width=n, depth=L)
    return crit.verdict(
        "symbolic scale-mixture moments + monte carlo moments (delta-method SE) + KS vs library"
    )


#: The claims of this section, in the order of the science.
CLAIMS: tuple[Claim, ...] = (
    _check_a4_lognormal,
    _check_a4_moments,
    _check_a4_direction,
    _check_a4_finite,
    _check_a4_neuron,
)
