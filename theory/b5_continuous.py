r"""Theorem book, docs/science.md §B5: continuous depth and free boundaries.

The obstacle problem of a noisy contraction (Ornstein-Uhlenbeck, no closed form), the noiseless closed
form and its discrete analogue. Independent solvers: the obstacle problem on grids that do not know the
answer (:mod:`stochdepth.freeboundary`), the Snell envelope of exact Gaussian Markov chains that converge
to the diffusion (with the convergence rate in the evidence), smooth fit, brute force where the problem is
deterministic. Claimed formulas are functions of their inputs; the keyword arguments of each check
replace them by the registered wrong variants. Conventions: :mod:`theory.common`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp
from scipy import sparse
from scipy import stats as st

from stochdepth.depth import contraction_stopping_depth, noiseless_contraction, residual_path_problem
from stochdepth.freeboundary import Natural, StationaryObstacleProblem, UniformGrid, solve_obstacle
from stochdepth.stopping import MarkovStoppingProblem, PathwiseMaximum, PolicyIteration, solve_stopping
from stochdepth.symbolic import solve_smooth_fit

from .book import Claim, Verdict, claim
from .common import (
    Criteria,
    convergence,
    params,
    stream,
)

__all__ = ["CLAIMS", "ou_chain"]

# ----------------------------------------------------------------------------------------------------
# B5. The obstacle problem, on a noisy contraction (Ornstein-Uhlenbeck) without closed form
# ----------------------------------------------------------------------------------------------------

#: dh = -kappa h dt + sigma dW, gain -h^2, cost c per unit depth; domain [0, H] (symmetric problem).
_OU = {"kappa": 1.0, "sigma": 0.5, "cost": 0.1, "upper": 4.0}
_OU_POINTS = (0.5, 1.0)


def _ou_obstacle(n_nodes: int, lower: float = 0.0) -> Any:
    k, sig, c, H = _OU["kappa"], _OU["sigma"], _OU["cost"], _OU["upper"]
    prob = StationaryObstacleProblem(
        lambda x: -(x**2),
        lambda x: -k * x,
        sig,
        UniformGrid(lower, H, n_nodes),
        cost=c,
        gain_derivative=lambda x: -2.0 * x,
    )
    return solve_obstacle(prob)


def ou_chain(dt: float, points_per_sd: int = 8, half_width: float = 3.0) -> tuple[np.ndarray, Any]:
    r"""The OU process observed every ``dt`` as a Markov chain on a symmetric grid: the exact transition
    :math:`h'\sim\mathcal N(he^{-\kappa dt},\sigma^2(1-e^{-2\kappa dt})/(2\kappa))` integrated over the
    grid cells (the two outer cells take the tails); cost ``c dt`` per step. Returns (grid, solution)."""
    k, sig, c = _OU["kappa"], _OU["sigma"], _OU["cost"]
    sd = sig * math.sqrt(-math.expm1(-2.0 * k * dt) / (2.0 * k))
    delta = sd / points_per_sd
    K = math.ceil(half_width / delta)
    x = delta * np.arange(-K, K + 1)
    mean = x * math.exp(-k * dt)
    band = 10 * points_per_sd
    centre = np.rint((mean - x[0]) / delta).astype(np.int64)
    cols = centre[:, None] + np.arange(-band, band + 1)[None, :]
    cols = np.clip(cols, 0, x.size - 1)
    lo = np.where(cols == 0, -np.inf, x[cols] - delta / 2)
    hi = np.where(cols == x.size - 1, np.inf, x[cols] + delta / 2)
    pr = st.norm.cdf((hi - mean[:, None]) / sd) - st.norm.cdf((lo - mean[:, None]) / sd)
    # clipped columns repeat an edge cell: keep each (row, col) once
    first = np.ones_like(cols, dtype=bool)
    first[:, 1:] = cols[:, 1:] != cols[:, :-1]
    rows = np.repeat(np.arange(x.size), cols.shape[1]).reshape(cols.shape)
    P = sparse.csr_array((pr[first], (rows[first], cols[first])), shape=(x.size, x.size))
    P = sparse.csr_array(P.multiply(1.0 / P.sum(axis=1)[:, None]))
    prob = MarkovStoppingProblem(P, -(x**2), c * dt)
    return x, solve_stopping(prob, PolicyIteration())


@functools.lru_cache(maxsize=4)
def _b5_ou(level: str) -> dict[str, Any]:
    p = params(
        level,
        quick={"nodes": (401, 801, 1601), "dts": (1 / 16, 1 / 32, 1 / 64)},
        full={"nodes": (401, 801, 1601, 3201), "dts": (1 / 16, 1 / 32, 1 / 64, 1 / 128)},
    )
    pdes = [_ou_obstacle(n) for n in p["nodes"]]
    chains = [ou_chain(dt) for dt in p["dts"]]
    k, sig, c = _OU["kappa"], _OU["sigma"], _OU["cost"]
    myopic = math.sqrt((sig**2 + c) / (2.0 * k))  # where A g - c changes sign
    return {
        "p": p,
        "pdes": pdes,
        "chains": chains,
        "myopic_boundary": myopic,
        "myopic": _ou_obstacle(801, myopic),
    }


def _one_sided_jump(sol: Any, gain_derivative: Callable[[float], float]) -> tuple[float, float, float]:
    r"""(boundary ``b``, :math:`|V'(b^+)-g'(b)|`, bracket half-width) of a stationary solution whose
    stopping region lies below the boundary: :math:`V'(b^+)` from the quadratic through the first three
    continuation nodes, evaluated at the sub-grid boundary estimate."""
    fb = sol.free_boundary
    x, V = sol.x, sol.value
    j = int(np.flatnonzero(~sol.stopping & (x > fb.location))[0])
    b = float(fb.location)
    coef = np.polyfit(x[j : j + 3] - b, V[j : j + 3], 2)
    return b, abs(float(coef[1]) - gain_derivative(b)), float(fb.error)


@claim(
    "B5.obstacle-problem",
    tags=("seed", "classical"),
    title="Continuous depth: the value solves the obstacle problem, with smooth fit on the free boundary",
    statement=r"V(h)=\sup_\tau\mathbb E_h[g(h_\tau)-c\tau]:\quad\min\{-\mathcal AV+c,\ V-g\}=0,\quad"
    r"V'=g'\ \text{on}\ \partial\{V>g\}",
    hypotheses=(
        "dh = -kappa h dt + sigma dW (kappa = 1, sigma = 0.5: non-degenerate), gain -h^2, cost c = 0.1",
        "infinite horizon, stationary; no closed form: the reference is the discrete Snell envelope of the "
        "exactly sampled process as the depth step dt -> 0",
    ),
    method="LCP vs Snell envelopes of exact OU chains (dt -> 0, rates) + smooth-fit jump under refinement",
    wrong={"free boundary where A g = c (myopic)": {"formulation": "myopic"}},
)
def _check_b5_obstacle(level: str, seed: int, *, formulation: str = "obstacle") -> Verdict:
    data = _b5_ou(level)
    crit = Criteria()
    fine = data["pdes"][-1]
    if formulation == "obstacle":
        claimed_value = lambda x: fine.value_at(x)  # noqa: E731
        claimed_boundary = float(fine.free_boundary.location)
    elif formulation == "myopic":
        my = data["myopic"]
        b = data["myopic_boundary"]

        def claimed_value(x: Any) -> Any:
            xx = np.asarray(x, dtype=float)
            return np.where(xx <= b, -(xx**2), my.value_at(np.maximum(xx, b)))

        claimed_boundary = b
    else:
        raise ValueError(f"unknown formulation {formulation!r}")
    dts = np.array(data["p"]["dts"])
    for x0 in _OU_POINTS:
        approx = [float(np.interp(x0, x, sol.values)) for x, sol in data["chains"]]
        convergence(crit, f"chain_value_at_{x0}", dts, approx, float(claimed_value(x0)), 1.0)
    bounds = [float(np.max(x[sol.stop & (x >= 0)])) for x, sol in data["chains"]]
    convergence(crit, "chain_boundary", dts, bounds, claimed_boundary, 0.5)
    # variational inequalities and smooth fit on the PDE side
    worst_res = max(s.residual for s in data["pdes"])
    below = all(bool(np.all(s.value >= s.gain - 1e-12)) for s in data["pdes"])
    crit.add("pde_lcp_solved", worst_res <= 1e-8 and below, max_residual=worst_res, consistency=True)
    jumps = [_one_sided_jump(s, lambda b: -2.0 * b) for s in data["pdes"]]
    k, sig, c = _OU["kappa"], _OU["sigma"], _OU["cost"]
    # V''(b+) from the ODE (sigma^2/2) V'' - kappa b V' = c with V'(b) = g'(b) = -2b; g'' = -2: a boundary
    # known to +-e moves the measured slope mismatch by at most |V''(b+) - g''| e
    curv = [abs(2.0 * (c - 2.0 * k * b * b) / sig**2 + 2.0) for b, _, _ in jumps]
    ok = all(j <= K * e for (_, j, e), K in zip(jumps[-2:], curv[-2:])) and jumps[-1][1] < jumps[0][1]
    crit.add(
        "smooth_fit",
        ok,
        derivative_jumps=[j for _, j, _ in jumps],
        allowed=[K * e for (_, _, e), K in zip(jumps, curv)],
        nodes=list(data["p"]["nodes"]),
    )
    crit.note(
        formulation=formulation,
        pde_boundary=float(fine.free_boundary.location),
        myopic_boundary=data["myopic_boundary"],
        noiseless_boundary=math.sqrt(c / (2 * k)),
    )
    crit.headline(boundary=float(fine.free_boundary.location), value_at_1=float(claimed_value(1.0)))
    return crit.verdict("LCP + exact OU chains (dt -> 0) + smooth fit")


# ----------------------------------------------------------------------------------------------------
# B5. The noiseless closed form and its discrete analogue
# ----------------------------------------------------------------------------------------------------


def _noiseless_claim(q: float, offset: float) -> tuple[Callable[..., Any], Callable[..., Any]]:
    r"""Claimed boundary :math:`\sqrt{c/(q\kappa)}` and continuation value
    :math:`-\frac{c}{q\kappa}(\text{offset}+\ln\frac{q\kappa d^2}{c})` (the claim: ``q = 2``, ``offset = 1``);
    the functions accept numbers or sympy expressions."""

    qs, offs = sp.nsimplify(q), sp.nsimplify(offset)

    def boundary(kappa: Any, c: Any) -> Any:
        return sp.sqrt(c / (qs * kappa)) if isinstance(kappa, sp.Basic) else math.sqrt(c / (q * kappa))

    def value(d: Any, kappa: Any, c: Any) -> Any:
        if isinstance(d, sp.Basic):
            return -c / (qs * kappa) * (offs + sp.log(qs * kappa * d**2 / c))
        dd = np.asarray(d, dtype=float)
        b = boundary(kappa, c)
        with np.errstate(divide="ignore"):
            cont = -c / (q * kappa) * (offset + np.log(q * kappa * dd**2 / c))
        return np.where(np.abs(dd) > b, cont, -(dd**2))

    return boundary, value


@functools.lru_cache(maxsize=4)
def _b5_noiseless(level: str) -> dict[str, Any]:
    kappa, c = 2.0, 0.1
    p = params(level, quick={"nodes": (101, 201, 401, 801)}, full={"nodes": (101, 201, 401, 801, 1601, 3201)})
    pdes = []
    for n in p["nodes"]:
        prob = StationaryObstacleProblem(
            lambda x: -(x**2),
            lambda x: -kappa * x,
            0.0,
            UniformGrid(0.0, 2.0, n),
            cost=c,
            left=Natural(),
            right=Natural(),
            gain_derivative=lambda x: -2.0 * x,
        )
        pdes.append(solve_obstacle(prob))
    u = sp.Symbol("u", real=True)
    ks, cs = sp.symbols("kappa c", positive=True)
    sym = solve_smooth_fit(-sp.exp(2 * u), -ks, 0, variable=u, cost=cs, stopping_side="lower")
    # brute force over deterministic stopping times s (the problem has no noise)
    s = np.linspace(0.0, 6.0, 600_001)
    ds = np.array([0.05, 0.15, 0.3, 0.6, 1.0, 1.7])
    brute = np.array([np.max(-(d**2) * np.exp(-2 * kappa * s) - c * s) for d in ds])
    return {
        "kappa": kappa,
        "c": c,
        "nodes": p["nodes"],
        "pdes": pdes,
        "sym": sym,
        "syms": (u, ks, cs),
        "ds": ds,
        "brute": brute,
    }


@claim(
    "B5.noiseless-closed-form",
    tags=("derived",),
    title="Noiseless contraction: stop when |d| <= sqrt(c/(2 kappa)); value in closed form",
    statement=r"d_t=d_0e^{-\kappa t},\ g=-d^2:\quad\text{stop iff }|d|\le\sqrt{\frac{c}{2\kappa}},\qquad"
    r"V(d)=-\frac{c}{2\kappa}\Big(1+\ln\frac{2\kappa d^2}{c}\Big)\ \ (|d|>\sqrt{c/(2\kappa)})",
    hypotheses=("no noise; cost c > 0 per unit depth; infinite horizon",),
    method="brute force over stopping times + symbolic smooth fit (u = log d) + first-order PDE (rate)",
    wrong={
        "boundary sqrt(c/kappa)": {"boundary_q": 1.0},
        "value without the 1": {"value_offset": 0.0},
    },
)
def _check_b5_noiseless(
    level: str, seed: int, *, boundary_q: float = 2.0, value_offset: float = 1.0
) -> Verdict:
    data = _b5_noiseless(level)
    kappa, c = data["kappa"], data["c"]
    bnd, val = _noiseless_claim(boundary_q, value_offset)
    crit = Criteria()
    # (1) brute force over s on a grid of step 1e-5: the maximum is found to ~1e-9
    claimed = val(data["ds"], kappa, c)
    gap = float(np.max(np.abs(claimed - data["brute"])))
    crit.add("brute_force_value", gap <= 1e-8, max_gap=gap)
    b = bnd(kappa, c)
    s = np.linspace(0.0, 1.0, 100_001)
    inside = [float(s[np.argmax(-(d**2) * np.exp(-2 * kappa * s) - c * s)]) for d in (0.999 * b, 1.001 * b)]
    crit.add(
        "brute_force_boundary", inside[0] == 0.0 and inside[1] > 0.0, optimal_times_around_boundary=inside
    )
    # (2) symbolic smooth fit in u = log d: du = -kappa dt, gain -e^{2u}
    u, ks, cs = data["syms"]
    sym = data["sym"]
    d = sp.Symbol("d", positive=True)
    db = sp.simplify(sp.exp(sym.boundary) - bnd(ks, cs))
    dv = sp.simplify(sp.expand_log(sym.continuation_value.subs(u, sp.log(d)) - val(d, ks, cs), force=True))
    crit.add("symbolic_boundary", db == 0, difference=db)
    crit.add("symbolic_value", dv == 0, difference=dv)
    # (3) PDE, first-order upwind: value and boundary converge to the claim at rate h
    hs = np.array([2.0 / (n - 1) for n in data["nodes"]])
    for x0 in (0.5, 1.0):
        approx = [float(sol.value_at(x0)) for sol in data["pdes"]]
        convergence(crit, f"pde_value_at_{x0}", hs, approx, float(val(x0, kappa, c)), 1.0)
    fb = [sol.free_boundary for sol in data["pdes"]]
    misses = [abs(f.location - b) - f.error for f in fb]
    crit.add(
        "pde_boundary_in_bracket",
        max(misses) <= 0.0,
        locations=[f.location for f in fb],
        brackets=[f.error for f in fb],
        claimed=b,
    )
    lib = noiseless_contraction(kappa, c)
    crit.note(library_boundary=lib.boundary, library_value_at_1=lib.value(1.0), claimed_boundary=b)
    crit.headline(boundary=b, pde_boundary=fb[-1].location)
    return crit.verdict("brute force + sympy smooth fit + LCP (rate)")


def _discrete_claim(log_factor: float, rounding: str) -> Callable[[float, float, float], int]:
    r"""Claimed :math:`\tau^\star=\max(0,\lceil\ln(c/[(1-(1-\alpha)^2)d_0^2])/(k\ln(1-\alpha))\rceil)`,
    ``k = log_factor`` (the claim: 2)."""
    rnd = math.ceil if rounding == "ceil" else math.floor

    def tau(d0: float, alpha: float, c: float) -> int:
        return max(
            0,
            rnd(math.log(c / ((1.0 - (1.0 - alpha) ** 2) * d0 * d0)) / (log_factor * math.log(1.0 - alpha))),
        )

    return tau


@functools.lru_cache(maxsize=8)
def _b5_discrete(level: str, seed: int) -> dict[str, Any]:
    p = params(level, quick={"n": 200, "n_library": 25}, full={"n": 5000, "n_library": 200})
    rng = np.random.default_rng(stream(seed, "B5", "discrete"))
    d0 = np.exp(rng.uniform(math.log(0.01), math.log(10.0), p["n"]))
    alpha = rng.uniform(0.01, 0.9, p["n"])
    c = np.exp(rng.uniform(math.log(1e-4), math.log(1.0), p["n"]))
    # horizon from the B2 geometric bound (residuals alpha d0 (1-alpha)^l, gain 2 d0-Lipschitz on the path)
    lbar = np.maximum(0, np.ceil(np.log(c / (2 * d0 * alpha * d0)) / np.log(1 - alpha))).astype(int)
    horizon = lbar + 10
    tau, osla = np.empty(p["n"], int), np.empty(p["n"], int)
    for i in range(p["n"]):
        ls = np.arange(horizon[i] + 1)
        Z = -((1 - alpha[i]) ** (2 * ls)) * d0[i] ** 2 - c[i] * ls
        top = Z.max()
        tau[i] = int(np.argmax(top - 1e-12 * (1 + abs(top)) <= Z))
        improvement = -np.diff(-Z - c[i] * ls)  # d_l^2 - d_{l+1}^2, what one more layer gains
        stop = np.flatnonzero(improvement <= c[i])
        osla[i] = int(stop[0]) if stop.size else horizon[i]
    lib = []
    for i in range(p["n_library"]):
        prob = residual_path_problem(
            lambda l, h, a=alpha[i]: -a * h,
            lambda h: -(h[:, 0] ** 2),
            np.array([d0[i]]),
            int(horizon[i]),
            float(c[i]),
        )
        lib.append(int(solve_stopping(prob, PathwiseMaximum()).tau[0]))
    return {
        "d0": d0,
        "alpha": alpha,
        "c": c,
        "tau": tau,
        "osla": osla,
        "lib": np.array(lib),
        "horizon": horizon,
    }


@claim(
    "B5.discrete-analogue",
    tags=("derived",),
    title="Discrete analogue h_{l+1} = h_l - alpha (h_l - y): closed-form optimal depth",
    statement=r"\tau^\star=\Big\lceil\frac{\ln\big(c/[(1-(1-\alpha)^2)d_0^2]\big)}{2\ln(1-\alpha)}\Big\rceil"
    r"\ \ \text{(when positive, else 0)},\qquad"
    r"\frac{\tau^\star}{L}\to\frac{1}{2\kappa}\ln\frac{2\kappa d_0^2}{c}"
    r"\ \ (\alpha=\kappa/L,\ c\to c/L)",
    hypotheses=("gain -|h - y|^2, cost c per layer, 0 < alpha < 1, d_0 = |h_0 - y|",),
    method="exact discrete solver (pathwise maxima; library PathwiseMaximum) + look-ahead + continuum limit",
    wrong={"single log(1 - alpha)": {"log_factor": 1.0}, "floor instead of ceiling": {"rounding": "floor"}},
)
def _check_b5_discrete(level: str, seed: int, *, log_factor: float = 2.0, rounding: str = "ceil") -> Verdict:
    data = _b5_discrete(level, seed)
    claim_tau = _discrete_claim(log_factor, rounding)
    claimed = np.array([claim_tau(a, b, c) for a, b, c in zip(data["d0"], data["alpha"], data["c"])])
    crit = Criteria()
    n_lib = data["lib"].size
    crit.add(
        "equals_exact_optimum",
        int(np.sum(claimed != data["tau"])) == 0,
        mismatches=int(np.sum(claimed != data["tau"])),
    )
    crit.add(
        "equals_library_solver",
        int(np.sum(claimed[:n_lib] != data["lib"])) == 0,
        mismatches=int(np.sum(claimed[:n_lib] != data["lib"])),
    )
    crit.add(
        "equals_one_step_look_ahead",
        int(np.sum(claimed != data["osla"])) == 0,
        mismatches=int(np.sum(claimed != data["osla"])),
    )
    lib_formula = np.array(
        [contraction_stopping_depth(a, b, c) for a, b, c in zip(data["d0"], data["alpha"], data["c"])]
    )
    # continuum limit: alpha = kappa / L, cost c / L; tau* = L s* - kappa s*/2 - 1/4 + O(1/L) before rounding
    kappa, cc, d0 = 2.0, 0.1, 1.0
    s_star = math.log(2 * kappa * d0**2 / cc) / (2 * kappa)
    Ls = (10, 100, 1000, 10000)
    gaps = [abs(claim_tau(d0, kappa / L, cc / L) / L - s_star) for L in Ls]
    allowed = [(1.25 + kappa * s_star / 2) / L for L in Ls]
    crit.add(
        "continuum_limit", all(g <= a for g, a in zip(gaps[1:], allowed[1:])), gaps=gaps, allowed=allowed
    )
    crit.note(
        triples=int(claimed.size),
        largest_depth=int(data["tau"].max()),
        stop_at_once=int(np.sum(data["tau"] == 0)),
        library_formula_mismatches=int(np.sum(lib_formula != data["tau"])),
    )
    crit.headline(triples=int(claimed.size), mismatches=int(np.sum(claimed != data["tau"])))
    return crit.verdict("exact optimum + PathwiseMaximum + look-ahead + L -> oo")


#: The claims of this section, in the order of the science.
CLAIMS: tuple[Claim, ...] = (_check_b5_obstacle, _check_b5_noiseless, _check_b5_discrete)
