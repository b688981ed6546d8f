r"""Theorem book, docs/science.md §A6: sequential limits and kernels [seed; formulas derived].

Conventions: :mod:`theory.common`. Depth first then width: one neuron
tends to the McKean--Vlasov diffusion, Gaussian with variance :math:`\dot q=\mathbb E\phi(\sqrt qZ)^2`;
width first then depth: the Euler scheme of the same ODE; two inputs: the kernel ODE (ReLU: arc-cosine
kernel, :math:`\dot c=\frac12(f(c)-c)`); both orders reach the same covariance, and at finite width the
depth limit keeps fluctuations of order :math:`n^{-1/2}` (linear: :math:`\mathrm{Var}\log\|X_t\|=t/n`).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import sympy as sp
from scipy import integrate

from .book import Claim, Verdict, claim
from .common import (
    Z_MAX,
    Criteria,
    log_slope,
    network_samples,
    params,
    stream,
    sympy_equal_on_grid,
    wls,
)

__all__ = ["CLAIMS"]

_SEQ_TAGS = ("seed", "derived")


def _m2_quad(activation: str, q: float) -> float:
    r""":math:`\mathbb E\phi(\sqrt qZ)^2` by adaptive quadrature (scipy ``quad``), independent of the
    library's fixed Gauss--Legendre rule."""
    from stochdepth.activations import get_activation

    fn = get_activation(activation).fn
    s = math.sqrt(max(q, 0.0))

    def f(z: float) -> float:
        return float(fn(np.array(s * z)) ** 2) * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)

    return (
        integrate.quad(f, -np.inf, 0.0, epsabs=1e-14, epsrel=1e-12)[0]
        + integrate.quad(f, 0.0, np.inf, epsabs=1e-14, epsrel=1e-12)[0]
    )


def _ode(rhs: Any, y0: float, t: float) -> float:
    sol = integrate.solve_ivp(
        lambda _t, y: [rhs(y[0])], (0.0, t), [y0], method="DOP853", rtol=1e-12, atol=1e-14
    )
    return float(sol.y[0, -1])


@functools.cache
def _mv(
    seed: int, activation: str, n_steps: int, n_particles: int, n_clouds: int
) -> tuple[float, float, float]:
    from stochdepth.limits import mckean_vlasov

    r = mckean_vlasov(
        activation,
        1.0,
        1.0,
        n_steps=n_steps,
        n_paths=n_particles,
        n_clouds=n_clouds,
        n_times=2,
        rng=stream(seed, "A6-mv", activation, n_steps, n_particles),
    )
    return float(r.second_moment[-1]), float(r.stderr[-1]), float(r.recursion[-1])


@claim(
    "A6.variance-ode",
    tags=_SEQ_TAGS,
    title="Sequential limit: the neuron variance solves q' = E phi(sqrt(q) Z)^2 (linear e^t, ReLU e^{t/2})",
    statement=r"\dot q_t=\mathbb E_Z\big[\phi(\sqrt{q_t}Z)^2\big],\quad q_0=\frac{\|x\|^2}{d}:\qquad "
    r"q_t=q_0e^t\ (\text{linear}),\quad q_t=q_0e^{t/2}\ (\text{ReLU})",
    hypotheses=(
        "McKean-Vlasov neuron d Xbar = sqrt(E phi(Xbar)^2) d beta (propagation of chaos)",
        "tanh: no closed form; its ODE is solved here with an independent quadrature of M_2",
        "MC: interacting particles (64 clouds of 4000; SE from the spread between clouds), 200 "
        "Euler steps (their error is added to the tolerance), q0 = 1, t = 1",
    ),
    method="symbolic ODE solution + independent ODE solver + McKean-Vlasov particles",
    wrong={"ReLU rate 1": {"rates": {"linear": 1.0, "relu": 1.0}}},
)
def _check_a6_variance(level: str, seed: int, *, rates: Any = None) -> Verdict:
    from stochdepth.limits import variance_ode
    from stochdepth.symbolic import derive_variance_ode

    rates = rates or {"linear": 1.0, "relu": 0.5}
    p = params(
        level,
        quick={"n_steps": 200, "n_particles": 4000, "n_clouds": 64},
        full={"n_steps": 400, "n_particles": 20_000, "n_clouds": 128},
    )
    crit = Criteria()
    claimed: dict[str, float] = {}
    for act, rate in rates.items():
        d = derive_variance_ode(act)
        q0, t = d.q0, d.t
        ok, err = sympy_equal_on_grid(
            d.solution,
            (q0, t),
            lambda a, b, r=rate: a * math.exp(r * b),
            [(a, b) for a in (0.5, 1.0, 3.0) for b in (0.0, 0.5, 1.0, 2.0)],
        )
        solver = max(
            abs(float(variance_ode(act, a, b, closed_form=False)) - a * math.exp(rate * b))
            / (a * math.exp(rate * b))
            for a in (0.5, 3.0)
            for b in (0.5, 2.0)
        )
        crit.add(
            f"{act}_closed_form",
            ok and solver <= 1e-9,
            derived=d.solution,
            symbolic_discrepancy=err,
            solver_rel_error=solver,
        )
        claimed[act] = math.exp(rate)
    d = derive_variance_ode("tanh")
    q_indep = _ode(lambda q: _m2_quad("tanh", q), 1.0, 1.0)
    q_lib = float(variance_ode("tanh", 1.0, 1.0))
    crit.add(
        "tanh_two_solvers",
        not d.closed_form and abs(q_indep - q_lib) <= 1e-8 * q_lib,
        library=q_lib,
        independent=q_indep,
    )
    claimed["tanh"] = q_indep
    for act, q1 in claimed.items():
        v, se, rec = _mv(seed, act, p["n_steps"], p["n_particles"], p["n_clouds"])
        depth_err = abs(rec - float(variance_ode(act, 1.0, 1.0)))  # Euler error of the particle scheme
        crit.add(f"mc_{act}", abs(v - q1) <= Z_MAX * se + depth_err, value=v, se=se, claimed=q1)
    crit.note(**p)
    return crit.verdict("symbolic ODE solution + independent ODE solver + McKean-Vlasov particles")


@claim(
    "A6.width-first-euler",
    tags=_SEQ_TAGS,
    title="Width first then depth: the variance recursion is the Euler scheme of the ODE (first order)",
    statement=r"q_l=q_{l-1}+\frac1L\,\mathbb E\phi\big(\sqrt{q_{l-1}}Z\big)^2\ \Rightarrow\ "
    r"q_L-q_1^{\rm ODE}=\frac{C}{L}+O(L^{-2}),\ C\ne0",
    hypotheses=(
        "ReLU: q_L = q0 (1 + 1/(2L))^L solved symbolically",
        "tanh, GELU: recursion vs ODE solution at L = 16 .. 512; the scaled error L^p e(L) must "
        "settle (|log2 of its last doubling ratio| < 0.1, i.e. an O(1/L) next-order term)",
    ),
    method="symbolic recurrence + limit, numeric convergence order (tanh, GELU)",
    wrong={"second order": {"order": 2}},
)
def _check_a6_width_first(level: str, seed: int, *, order: int = 1) -> Verdict:
    from stochdepth.limits import variance_ode, width_first_recursion
    from stochdepth.symbolic import derive_variance_ode

    crit = Criteria()
    d = derive_variance_ode("relu")
    qf = sp.Function("q")
    l = sp.Symbol("l", integer=True, nonnegative=True)
    L = sp.Symbol("L", positive=True)
    h = 1 / L
    rec = sp.rsolve(qf(l + 1) - qf(l) - h * d.rhs.subs(d.q, qf(l)), qf(l), {qf(0): d.q0})
    qL = sp.simplify(rec.subs(l, L))
    exact = d.solution.subs(d.t, 1)
    lim = sp.limit(L**order * (exact - qL), L, sp.oo)
    crit.add(
        "symbolic_relu",
        bool(lim.is_finite and lim.is_nonzero),
        q_L=qL,
        value=f"lim L^{order} (q_ode - q_L) = {lim}",
    )
    depths = (16, 32, 64, 128, 256, 512)
    for act in ("tanh", "gelu"):
        ode = float(variance_ode(act, 1.0, 1.0))
        err = np.array([abs(width_first_recursion(act, 1.0, L_)[-1] - ode) for L_ in depths])
        scaled = err * np.array(depths, float) ** order
        drift = float(np.log2(scaled[-1] / scaled[-2]))
        crit.add(f"numeric_{act}", abs(drift) < 0.1, scaled_errors=scaled, last_log2_ratio=drift)
    crit.note(claimed_order=order)
    return crit.verdict("symbolic recurrence + limit, numeric convergence order (tanh, GELU)")


def _default_f(c: float) -> float:
    c = min(max(c, -1.0), 1.0)
    return (math.sqrt(1 - c * c) + c * (math.pi - math.acos(c))) / math.pi


@functools.cache
def _relu_kernel_quad(qa: float, qb: float, c: float) -> float:
    r""":math:`\mathbb E[\phi(U)\phi(V)]` by quadrature over :math:`U=\sqrt{q_a}Z_1` of the closed-form inner
    mean :math:`\mathbb E(\mu+\sigma Z)_+=\mu\Phi(\mu/\sigma)+\sigma\varphi(\mu/\sigma)`, with
    :math:`V\mid Z_1\sim\mathcal N(\sqrt{q_b}cZ_1,\,q_b(1-c^2))` (an independent route to the kernel)."""
    sb = math.sqrt(qb * (1 - c * c))
    inv_sqrt2pi = 1.0 / math.sqrt(2.0 * math.pi)

    def f(z: float) -> float:
        mu = math.sqrt(qb) * c * z
        if sb > 0:
            u = mu / sb
            inner = mu * 0.5 * math.erfc(-u / math.sqrt(2.0)) + sb * inv_sqrt2pi * math.exp(-0.5 * u * u)
        else:
            inner = max(mu, 0.0)
        return math.sqrt(qa) * z * inner * inv_sqrt2pi * math.exp(-0.5 * z * z)

    return integrate.quad(f, 0.0, np.inf, epsabs=1e-13, epsrel=1e-11)[0]


@functools.cache
def _two_input_gram(seed: int, width: int, depth: int, m: int, c0: float) -> np.ndarray:
    from stochdepth.networks import gram

    x = math.sqrt(2.0) * np.array([[1.0, c0], [0.0, math.sqrt(1 - c0 * c0)]])  # q0 = |x|^2 / d = 1
    Q = network_samples(
        x, width, depth, "relu", m, gram(), stream(seed, "A6-kernel", width, depth, c0), record=[depth]
    )[:, 0]
    return np.column_stack([Q[:, 0, 0], Q[:, 0, 1], Q[:, 1, 1]])


@claim(
    "A6.kernel-ode",
    tags=_SEQ_TAGS,
    title="Two inputs: the ReLU arc-cosine kernel and the correlation ODE c' = (f(c) - c)/2",
    statement=r"\dot q_{ab}=\mathbb E[\phi(U)\phi(V)]=\tfrac12\sqrt{q_{aa}q_{bb}}\,f(c),\ "
    r"f(c)=\tfrac1\pi\big(\sqrt{1-c^2}+c(\pi-\arccos c)\big),\qquad \dot c=\tfrac12\big(f(c)-c\big)",
    hypotheses=(
        "(U, V) centred Gaussian with covariance q_t; ReLU",
        "MC: 1000 networks of width 512 and depth 64, c0 = 0.2, q0 = 1, t = 1 (ratio of mean Gram "
        "entries); the depth error of the 2-input recursion is added to the tolerance",
    ),
    method="symbolic kernel + independent quadrature + two ODE solvers + wide networks",
    wrong={"correlation rate 1": {"correlation_rate": 1.0}, "linear kernel": {"kernel_f": lambda c: c}},
)
def _check_a6_kernel(
    level: str, seed: int, *, kernel_f: Any = None, correlation_rate: float = 0.5
) -> Verdict:
    from stochdepth.activations import RELU
    from stochdepth.limits import kernel_ode, relu_correlation
    from stochdepth.symbolic import derive_kernel_ode

    kernel_f = kernel_f or _default_f
    p = params(
        level, quick={"m": 1000, "width": 512, "depth": 64}, full={"m": 8000, "width": 1024, "depth": 128}
    )
    crit = Criteria()
    k = derive_kernel_ode("relu")
    grid = [(a, b, c) for a in (0.5, 2.0) for b in (1.0, 3.0) for c in (-0.9, -0.3, 0.0, 0.2, 0.7, 0.99)]
    ok_k, err_k = sympy_equal_on_grid(
        k.kernel,
        (k.c, k.q_aa, k.q_bb),
        lambda c, a, b: 0.5 * math.sqrt(a * b) * kernel_f(c),
        [(c, a, b) for a, b, c in grid],
    )
    ok_c, err_c = sympy_equal_on_grid(
        k.correlation_rhs, (k.c,), lambda c: correlation_rate * (kernel_f(c) - c), [(c,) for *_, c in grid]
    )
    crit.add(
        "symbolic",
        ok_k and ok_c,
        kernel=k.kernel,
        correlation_rhs=k.correlation_rhs,
        max_discrepancy=max(err_k, err_c),
    )
    quad_err = max(abs(_relu_kernel_quad(a, b, c) - 0.5 * math.sqrt(a * b) * kernel_f(c)) for a, b, c in grid)
    lib_err = max(
        abs(float(RELU.kernel(a, b, c * math.sqrt(a * b))) - _relu_kernel_quad(a, b, c)) for a, b, c in grid
    )
    crit.add(
        "quadrature", quad_err <= 1e-9 and lib_err <= 1e-9, claimed_vs_quad=quad_err, library_vs_quad=lib_err
    )
    c0 = 0.2
    ts = (0.5, 1.0, 2.0)
    claimed_c = [_ode(lambda c: correlation_rate * (kernel_f(c) - c), c0, t) for t in ts]
    Q = kernel_ode("relu", [[1.0, c0], [c0, 1.0]], list(ts))
    from_q = [float(q[0, 1] / math.sqrt(q[0, 0] * q[1, 1])) for q in Q]
    scalar = [float(relu_correlation(c0, t)) for t in ts]
    solvers = max(max(abs(a - b), abs(a - c)) for a, b, c in zip(claimed_c, from_q, scalar))
    crit.add("ode_solvers", solvers <= 1e-8, claimed=claimed_c, kernel_ode=from_q, max_discrepancy=solvers)
    # wide networks: c = mean(Q_ab) / sqrt(mean(Q_aa) mean(Q_bb)), delta-method SE
    G = _two_input_gram(seed, p["width"], p["depth"], p["m"], c0)
    a, b, c = G.mean(axis=0)
    chat = b / math.sqrt(a * c)
    grad = np.array([-0.5 * chat / a, 1.0 / math.sqrt(a * c), -0.5 * chat / c])
    se = math.sqrt(float(grad @ (np.cov(G.T) / G.shape[0]) @ grad))
    Qr = np.array([[1.0, c0], [c0, 1.0]])
    for _ in range(p["depth"]):  # the 2-input width-first recursion (library kernel): depth error
        K = RELU.kernel(
            np.array([Qr[0, 0], Qr[0, 0], Qr[1, 1]]),
            np.array([Qr[0, 0], Qr[1, 1], Qr[1, 1]]),
            np.array([Qr[0, 0], Qr[0, 1], Qr[1, 1]]),
        )
        Qr = Qr + np.array([[K[0], K[1]], [K[1], K[2]]]) / p["depth"]
    depth_err = abs(Qr[0, 1] / math.sqrt(Qr[0, 0] * Qr[1, 1]) - from_q[1])
    crit.add(
        "mc_networks",
        abs(chat - claimed_c[1]) <= Z_MAX * se + depth_err,
        correlation=chat,
        se=se,
        claimed=claimed_c[1],
        depth_error=depth_err,
    )
    crit.note(networks=p["m"], width=p["width"], depth=p["depth"], c0=c0)
    return crit.verdict("symbolic kernel + independent quadrature + two ODE solvers + wide networks")


@functools.cache
def _fluct(seed: int, activation: str, widths: tuple[int, ...], depth: int, m: int) -> Any:
    from stochdepth.limits import fluctuation_scale

    return fluctuation_scale(
        list(widths),
        activation,
        depth=depth,
        n_paths=m,
        rng=stream(seed, "A6-fluct", activation, widths, depth),
    )


@claim(
    "A6.fluctuations",
    tags=_SEQ_TAGS,
    title="At finite width the depth limit fluctuates at order n^{-1/2}: Var log|X_t| = t/n (linear)",
    statement=r"\mathrm{Var}\log\frac{\|X_t\|}{\|X_0\|}=\frac tn\ (\text{linear}),\qquad "
    r"\mathrm{Var}\log\frac{\|X_t\|}{\|X_0\|}\asymp n^{-1}\ (\text{ReLU}),\ \text{vs }0\text{ width first}",
    hypotheses=(
        "networks of depth 128 (linear) / 64 (ReLU), t = 1; linear: the exact finite-depth variance "
        "bounds the depth error",
        "ReLU: the order is resolved when the 5-SE interval of the exponent of Var in n (two largest "
        "widths) lies strictly between the neighbouring half-integer orders",
    ),
    method="symbolic law + monte carlo variances over widths (exact-law networks)",
    wrong={"variance t/n^2": {"variance": lambda n, t: t / n**2}, "exponent 2": {"exponent": 2}},
)
def _check_a6_fluct(level: str, seed: int, *, variance: Any = None, exponent: float = 1.0) -> Verdict:
    from stochdepth.limits import linear_log_norm_moments
    from stochdepth.symbolic import derive_linear_log_norm_law

    variance = variance or (lambda n, t: t / n)
    p = params(
        level,
        quick={"m": 10_000, "lin_widths": (2, 8, 32), "relu_widths": (4, 16, 64)},
        full={"m": 100_000, "relu_widths": (16, 64, 256)},
    )
    crit = Criteria()
    law = derive_linear_log_norm_law()
    n_s, t_s = sorted(law.variance.free_symbols, key=lambda s: s.name)
    ok, err = sympy_equal_on_grid(
        law.variance, (n_s, t_s), variance, [(n, t) for n in (1, 2, 4, 16) for t in (0.5, 1.0, 3.0)]
    )
    crit.add("symbolic", ok, derived=law.variance, max_discrepancy=err)
    fs = _fluct(seed, "linear", p["lin_widths"], 128, p["m"])
    zs = []
    for i, n in enumerate(fs.widths):
        bias = abs(linear_log_norm_moments(int(n), 1.0, depth=fs.depth).var - 1.0 / n)
        zs.append((abs(fs.var[i] - variance(int(n), 1.0)) - bias) / fs.var_stderr[i])
    crit.add("mc_linear", max(zs) <= Z_MAX, var=fs.var, var_se=fs.var_stderr, excess_z=zs)
    fr = _fluct(seed, "relu", p["relu_widths"], 64, p["m"])
    zpos = fr.var / fr.var_stderr
    slope, se = log_slope(fr.widths[-2:].astype(float), fr.var[-2:], fr.var_stderr[-2:])
    lo, hi = -slope - Z_MAX * se, -slope + Z_MAX * se
    ok_order = exponent - 0.5 < lo and hi < exponent + 0.5
    crit.add("mc_relu_positive", bool(np.all(zpos >= Z_MAX)), var=fr.var, n_var=fr.width_times_var)
    crit.add("mc_relu_order", ok_order, exponent=-slope, exponent_se=se)
    crit.note(networks=p["m"], width_first_variance=0.0)
    return crit.verdict("symbolic law + monte carlo variances over widths (exact-law networks)")


@functools.cache
def _grid(seed: int, activation: str, widths: tuple[int, ...], depths: tuple[int, ...], m: int) -> Any:
    from stochdepth.limits import commutation_grid

    return commutation_grid(
        list(widths),
        list(depths),
        activation,
        n_paths=m,
        rng=stream(seed, "A6-grid", activation, widths, depths),
    )


@claim(
    "A6.commutation",
    tags=_SEQ_TAGS,
    title="Both limit orders reach the same covariance (1/sqrt(L) branches)",
    statement=r"\lim_{n\to\infty}\lim_{L\to\infty}\frac{\mathbb E\|Y_L\|^2}{n}=\lim_{L\to\infty}"
    r"\lim_{n\to\infty}\frac{\mathbb E\|Y_L\|^2}{n}=q_1,\qquad \dot q=M_2(q),\ M_2^{\rm ReLU}(q)=\frac q2",
    hypotheses=(
        "Hayou & Yang (ICML 2023) [seed-adjacent]: the same limit along every joint path",
        "linear: E|Y_L|^2/n = q0 (1+1/L)^L for every n (both orders agree at every grid point)",
        "ReLU: at each depth L the n -> oo extrapolation (v = a + b/n) equals the width-first q_L",
    ),
    method="monte carlo grids of widths and depths + exact recursions and ODE",
    wrong={"ReLU second moment q": {"second_moment": lambda q: q}},
)
def _check_a6_commutation(level: str, seed: int, *, second_moment: Any = None) -> Verdict:
    second_moment = second_moment or (lambda q: 0.5 * q)
    p = params(
        level,
        quick={"m": 4000, "widths": (4, 16, 64), "depths": (4, 16, 64)},
        full={"m": 40_000, "widths": (4, 16, 64, 256), "depths": (4, 16, 64, 256)},
    )
    crit = Criteria()
    lin = _grid(seed, "linear", (2, 8, 32), (4, 16, 64), p["m"])
    zl = float(np.max(np.abs(lin.gap_width_first / lin.stderr)))
    crit.add("linear_every_point", zl <= Z_MAX, max_abs_z=zl)
    g = _grid(seed, "relu", p["widths"], p["depths"], p["m"])
    inv_n = 1.0 / g.widths.astype(float)
    for j, L in enumerate(g.depths):
        fit = wls(inv_n, g.variance[:, j], g.stderr[:, j], [np.ones_like, lambda u: u])
        a, a_se = float(fit["beta"][0]), float(math.sqrt(fit["cov"][0, 0]))
        q = 1.0
        for _ in range(int(L)):
            q += second_moment(q) / L
        crit.add(
            f"relu_L{L}",
            abs(a - q) <= Z_MAX * a_se and fit["p"] >= 1e-6,
            extrapolated=a,
            se=a_se,
            width_first=q,
            fit_p=fit["p"],
        )
    q_ode = _ode(second_moment, 1.0, 1.0)
    crit.note(ode_limit=q_ode, width_first_at_depths=g.width_first, networks=p["m"])
    return crit.verdict("monte carlo grids of widths and depths + exact recursions and ODE")


#: The claims of this section, in the order of the science.
CLAIMS: tuple[Claim, ...] = (
    _check_a6_variance,
    _check_a6_width_first,
    _check_a6_kernel,
    _check_a6_fluct,
    _check_a6_commutation,
)
