r"""Theorem book, docs/science.md §B6: the optimal depth of an infinite-depth linear ResNet.

Threshold and value, the inverse Gaussian law of the optimal depth, and the width threshold, each by
independent solvers: symbolic (the SDE of the log-norm derived by Itô's formula, then value matching and
smooth fit, nothing of the closed form typed in), the obstacle problem with coefficients generated from
the symbolic SDE, the discrete Snell envelope of the exact finite-depth log-norm walk (depth to infinity),
regression Monte Carlo on simulated linear networks
(:class:`stochdepth.depth.LinearResNetSimulator`, an interval), and Monte Carlo with distribution-free
(DKW) bounds for laws. Conventions: :mod:`theory.common`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp
from scipy import stats as st

from stochdepth.depth import (
    LinearResNetSimulator,
    linear_resnet_optimal_depth,
    linear_resnet_stopping_problem,
    log_norm_bridge,
    simulate_stopping_depth,
)
from stochdepth.freeboundary import StationaryObstacleProblem, UniformGrid, solve_obstacle
from stochdepth.stopping import (
    BackwardInduction,
    LongstaffSchwartz,
    Polynomial,
    RegressionMartingale,
    SimulatedStoppingProblem,
    solve_stopping,
)
from stochdepth.symbolic import derive_linear_log_norm_sde, solve_smooth_fit, to_obstacle_coefficients
from stochdepth.testing.convergence import fitted_order

from .book import Claim, Verdict, claim
from .common import (
    LEVEL_5SD,
    Z_MAX,
    Criteria,
    convergence,
    params,
    stream,
)

__all__ = ["CLAIMS"]

# ----------------------------------------------------------------------------------------------------
# B6. The bridge: the optimal depth of a linear random ResNet
# ----------------------------------------------------------------------------------------------------

#: Width, target log-norm, cost per unit depth and start of the B6 checks.
_B6 = {"n": 16, "a": 0.5, "c": 0.2, "y0": 0.0}


def _b6_claim(q: float = 2.0) -> tuple[Callable[..., Any], Callable[..., Any]]:
    r"""Claimed threshold :math:`y^\star=a-c/(qm)` and value :math:`V(y)=g(y^\star)-\frac cm(y^\star-y)`
    below it, with :math:`m=\tfrac12-\tfrac1n` (the claim: ``q = 2``); numbers or sympy expressions."""

    qs = sp.nsimplify(q)

    def threshold(n: Any, a: Any, c: Any) -> Any:
        if isinstance(n, sp.Basic):
            return a - c / (qs * (sp.Rational(1, 2) - 1 / n))
        return a - c / (q * (0.5 - 1.0 / n))

    def value(y: Any, n: Any, a: Any, c: Any) -> Any:
        m = sp.Rational(1, 2) - 1 / sp.sympify(n) if isinstance(n, sp.Basic) else 0.5 - 1.0 / n
        ys = threshold(n, a, c)
        return -((ys - a) ** 2) - c / m * (ys - y)

    return threshold, value


@functools.lru_cache(maxsize=2)
def _b6_symbolic() -> dict[str, Any]:
    """Smooth fit for every width n = k + 3 >= 3 (k >= 0 an integer symbol), from the derived SDE."""
    k = sp.Symbol("k", integer=True, nonnegative=True)
    a = sp.Symbol("a", real=True)
    c = sp.Symbol("c", positive=True)
    sde = derive_linear_log_norm_sde(k + 3)
    y = sde.variable
    sol = solve_smooth_fit(-((y - a) ** 2), sde.drift, sde.volatility, variable=y, cost=c)
    return {"k": k, "a": a, "c": c, "y": y, "sde": sde, "sol": sol}


@functools.lru_cache(maxsize=4)
def _b6_coefficients(n: int) -> Any:
    """The obstacle problem's coefficients generated from the derived SDE
    (:func:`~stochdepth.symbolic.to_obstacle_coefficients`)."""
    a, c = _B6["a"], _B6["c"]
    sde = derive_linear_log_norm_sde(n)
    asym, csym = sp.Symbol("a", real=True), sp.Symbol("c", positive=True)
    return to_obstacle_coefficients(sde, -((sde.variable - asym) ** 2), {asym: a, csym: c}, cost=csym)


@functools.lru_cache(maxsize=64)
def _b6_pde(n: int, nodes: int, shift: float = 0.0) -> Any:
    """The obstacle problem on [a - 4, a + 2] + ``shift`` (a uniform grid that does not know the
    answer; shifting it by a fraction of a cell moves the answer inside its cell)."""
    a = _B6["a"]
    grid = UniformGrid(a - 4.0 + shift, a + 2.0 + shift, nodes)
    return solve_obstacle(StationaryObstacleProblem(grid=grid, **_b6_coefficients(n).kwargs()))


@functools.lru_cache(maxsize=8)
def _b6_discrete(level: str, n: int, law: bool) -> list[Any]:
    p = params(level, quick={"depths": (16, 32, 64)}, full={"depths": (16, 32, 64, 128, 256)})
    a, c, y0 = _B6["a"], _B6["c"], _B6["y0"]
    return [log_norm_bridge(n, L, a, c, y0=y0, points_per_sd=8, law=law) for L in p["depths"]]


@functools.lru_cache(maxsize=8)
def _b6_lsmc(level: str, seed: int) -> dict[str, Any]:
    p = params(
        level,
        quick={"per_unit": 64, "horizon": 3.5, "paths": 2500, "inner": 8, "degree": 3},
        full={"per_unit": 128, "horizon": 4.0, "paths": 10_000, "inner": 16, "degree": 4},
    )
    n, a, c = _B6["n"], _B6["a"], _B6["c"]
    h = 1.0 / p["per_unit"]
    L = round(p["horizon"] * p["per_unit"])
    prob = SimulatedStoppingProblem(LinearResNetSimulator(n, p["per_unit"], a, state="log_norm"), L, c * h)
    solver = LongstaffSchwartz(
        Polynomial(p["degree"]),
        n_paths=p["paths"],
        n_eval=p["paths"],
        dual=RegressionMartingale(n_inner=p["inner"], n_paths=p["paths"]),
        level=LEVEL_5SD,
    )
    res = solve_stopping(prob, solver, rng=stream(seed, "B6", "lsmc"))
    # the exact value of the same finite-depth, finite-horizon problem (Snell envelope of the walk)
    chain, _ = linear_resnet_stopping_problem(n, p["per_unit"], a, c, y0=_B6["y0"], points_per_sd=8)
    exact = solve_stopping(chain.with_horizon(L), BackwardInduction()).value()
    return {"p": p, "res": res, "exact_finite": exact, "layers": L}


@claim(
    "B6.threshold-value",
    tags=("derived",),
    title="Optimal depth of a linear random ResNet: threshold a - c/(2m) and value, across four solvers",
    statement=r"dY=m\,dt+s\,dW,\ m=\tfrac12-\tfrac1n,\ g=-(y-a)^2:\quad y^\star=a-\frac{c}{2m},\quad"
    r"V(y)=g(y^\star)-\frac cm(y^\star-y)\ \ (y<y^\star),\ \ n\ge3",
    hypotheses=(
        "Y = log ||X_t|| of the infinite-depth linear network (docs/science.md §A4), width n >= 3",
        "cost c per unit depth, infinite horizon",
        "numbers at n = 16, a = 0.5, c = 0.2, y0 = 0; symbolic for every width n >= 3",
    ),
    method="symbolic smooth fit (derived SDE) + PDE + discrete Snell envelope (L -> oo) + LSMC on networks",
    wrong={"threshold a - c/m": {"threshold_q": 1.0}},
)
def _check_b6_threshold(level: str, seed: int, *, threshold_q: float = 2.0) -> Verdict:
    thr, val = _b6_claim(threshold_q)
    n, a, c, y0 = _B6["n"], _B6["a"], _B6["c"], _B6["y0"]
    crit = Criteria()
    # (1) symbolic, every width n = k + 3
    sy = _b6_symbolic()
    k, asym, csym, y, sol = sy["k"], sy["a"], sy["c"], sy["y"], sy["sol"]
    db = sp.simplify(sol.boundary - thr(k + 3, asym, csym))
    dv = sp.simplify(sol.continuation_value - val(y, k + 3, asym, csym))
    crit.add("symbolic_threshold_all_widths", db == 0, derived=sol.boundary, difference=db)
    crit.add("symbolic_value_all_widths", dv == 0, difference=dv)
    crit.note(derived_drift=sy["sde"].drift, derived_volatility=sy["sde"].volatility)
    # (2) PDE on a grid that does not know the answer
    b_claim, v_claim = float(thr(n, a, c)), float(val(y0, n, a, c))
    pdes = [_b6_pde(n, N) for N in (401, 801)]
    fb = pdes[-1].free_boundary
    crit.add(
        "pde_threshold_in_bracket",
        abs(fb.location - b_claim) <= fb.error,
        location=fb.location,
        bracket=fb.error,
    )
    # V is affine in continuation and the gain quadratic, both exact for the scheme: the only error is the
    # boundary's position b_h, and V_b(y0) = g(b) - (c/m)(b - y0) is stationary in b at the optimum with
    # d^2/db^2 = g'' = -2, so |V_h(y0) - V(y0)| <= (b_h - b*)^2 <= error^2
    gaps = [abs(s.value_at(y0) - v_claim) for s in pdes]
    allowed = [s.free_boundary.error**2 + 1e-9 for s in pdes]
    crit.add("pde_value", all(g <= e for g, e in zip(gaps, allowed)), gaps=gaps, allowed=allowed)
    # the boundary error vanishes at order 1 in the spacing: worst error over eight positions of the
    # answer inside its cell (grids shifted by fractions of a cell), on a refinement sequence
    spacings, worst = [], []
    for N in (101, 201, 401, 801, 1601, 3201):
        h = 6.0 / (N - 1)
        fbs = [_b6_pde(n, N, (k + 0.5) / 8 * h).free_boundary for k in range(8)]
        spacings.append(h)
        worst.append(max(abs(f.location - b_claim) for f in fbs))
    order = fitted_order(spacings, worst)
    crit.add(
        "pde_threshold_order", order.agrees(1.0), order=order.order, interval=order.interval, errors=worst
    )
    # (3) discrete Snell envelope of the exact finite-L walk, L -> oo
    disc = _b6_discrete(level, n, False)
    hs = np.array([1.0 / r.depth for r in disc])
    convergence(crit, "discrete_value", hs, [r.value for r in disc], v_claim, 1.0)
    convergence(crit, "discrete_threshold", hs, [r.threshold for r in disc], b_claim, 0.5)
    crit.note(
        discrete_expected_depth=[r.expected_depth for r in disc],
        certified_errors=max(r.error_bound for r in disc),
    )
    # (4) regression Monte Carlo on simulated networks
    lsmc = _b6_lsmc(level, seed)
    res = lsmc["res"]
    lo = res.lower.value - Z_MAX * res.lower.stderr
    hi = res.upper.value + Z_MAX * res.upper.stderr
    crit.add(
        "lsmc_interval_contains_value",
        lo <= v_claim <= hi and res.upper_valid,
        interval=[lo, hi],
        claimed=v_claim,
        lower=res.lower.value,
        upper=res.upper.value,
    )
    crit.note(
        lsmc_networks=res.n_train + res.n_eval + res.n_dual,
        lsmc_layers=lsmc["layers"],
        lsmc_exact_finite_depth_value=lsmc["exact_finite"],
        lsmc_mean_depth=res.depth.mean.value / lsmc["p"]["per_unit"],
        claimed_threshold=b_claim,
        claimed_value=v_claim,
    )
    crit.headline(threshold=b_claim, value=v_claim, lsmc=[lo, hi])
    return crit.verdict("sympy + LCP + exact-walk Snell (L -> oo) + LSMC on networks")


def _ig(mean: float, shape: float) -> Any:
    """Inverse Gaussian with the given mean and shape (scipy: ``invgauss(mean / shape, scale=shape)``)."""
    return st.invgauss(mean / shape, scale=shape)


@functools.lru_cache(maxsize=8)
def _b6_depth_mc(level: str, seed: int) -> dict[str, Any]:
    p = params(level, quick={"paths": 20_000, "dt": 1e-2}, full={"paths": 200_000, "dt": 2.5e-3})
    n, a, c, y0 = _B6["n"], _B6["a"], _B6["c"], _B6["y0"]
    d = simulate_stopping_depth(
        n, a, c, y0, n_paths=p["paths"], dt=p["dt"], max_depth=20.0, rng=stream(seed, "B6", "depth")
    )
    return {"p": p, "depths": d}


@claim(
    "B6.depth-law",
    tags=("derived",),
    title="The optimal depth is inverse Gaussian: mean (y*-y0)/m, shape (y*-y0)^2/s^2",
    statement=r"\tau^\star=\inf\{t:Y_t\ge y^\star\}\sim\mathrm{IG}\Big(\frac{y^\star-y_0}{m},\ "
    r"\frac{(y^\star-y_0)^2}{s^2}\Big)\quad(y_0<y^\star,\ n\ge3)",
    hypotheses=(
        "first passage of dY = m dt + s dW, m = 1/2 - 1/n > 0, s = 1/sqrt(n); n = 16 in the numbers",
    ),
    method="symbolic Laplace transform (ODE) + Monte Carlo (DKW) + survival PDE + discrete laws (L -> oo)",
    wrong={"shape (y*-y0)^2/s": {"shape_power": 1.0}, "mean (y*-y0)/(2m)": {"mean_factor": 0.5}},
)
def _check_b6_depth_law(
    level: str, seed: int, *, shape_power: float = 2.0, mean_factor: float = 1.0
) -> Verdict:
    n, a, c, y0 = _B6["n"], _B6["a"], _B6["c"], _B6["y0"]
    m, s = 0.5 - 1.0 / n, 1.0 / math.sqrt(n)
    ystar = a - c / (2 * m)

    def claimed(delta: float) -> Any:
        return _ig(mean_factor * delta / m, delta**2 / s**shape_power)

    crit = Criteria()
    # (1) symbolic: E exp(-theta tau) = u(y0), (s^2/2) u'' + m u' = theta u, u(y*) = 1, u bounded below
    sy = _b6_symbolic()
    ksym, sde = sy["k"], sy["sde"]
    ms, ss = sde.drift, sde.volatility
    th = sp.Symbol("theta", positive=True)
    r = sp.Symbol("r", real=True)
    # u = exp(r (y - y*)) with (s^2/2) r^2 + m r = theta; boundedness as y -> -oo keeps the positive root
    roots = sp.solve(sp.Eq(ss**2 / 2 * r**2 + ms * r - th, 0), r)
    worst = 0.0
    for kk in (0, 1, 5, 13, 61):  # widths 3, 4, 8, 16, 64
        mm, sv = float(ms.subs(ksym, kk)), float(ss.subs(ksym, kk))
        for theta in (0.1, 1.0, 10.0):
            rate = max(float(rt.subs({ksym: kk, th: theta})) for rt in roots)
            for delta in (0.1, 0.5, 2.0):
                derived = math.exp(-rate * delta)
                mu_c, lam_c = mean_factor * delta / mm, delta**2 / sv**shape_power
                ig_lt = math.exp(lam_c / mu_c * (1.0 - math.sqrt(1.0 + 2.0 * mu_c**2 * theta / lam_c)))
                worst = max(worst, abs(derived - ig_lt))
    crit.add("symbolic_laplace_transform", worst <= 1e-12, max_gap=worst)
    # (2) Monte Carlo of the first passage (Brownian-bridge detection, dated at the end of its step):
    # tau <= D < tau + dt, so F(t - dt) <= P(D <= t) <= F(t); DKW (Massart) with failure probability 1e-6
    mc = _b6_depth_mc(level, seed)
    D, dt = mc["depths"], mc["p"]["dt"]
    law = claimed(ystar - y0)
    ts = np.linspace(0.02, 4.0, 200)
    emp = (D[:, None] <= ts).mean(axis=0)
    eps = math.sqrt(math.log(2 / 1e-6) / (2 * D.size))
    excess = float(max(np.max(emp - law.cdf(ts)), np.max(law.cdf(ts - dt) - emp)))
    crit.add("monte_carlo_dkw", excess <= eps, excess=excess, dkw_epsilon=eps, paths=D.size)
    # (3) survival PDE: P(tau <= t) against the claimed law at the PDE's own discrete boundary
    pde = _b6_pde(n, 801)
    j = int(np.argmin(np.abs(pde.x - y0)))
    stop_node = float(pde.x[np.flatnonzero(pde.stopping & (pde.x > y0))[0]])
    law_h = claimed(stop_node - pde.x[j])
    tq = np.array([0.25, 0.5, 1.0, 2.0])
    steps = (100, 200, 400)
    errs = [float(np.max(np.abs(pde.stopping_time_cdf(tq, n_steps=k)[:, j] - law_h.cdf(tq)))) for k in steps]
    convergence(crit, "pde_survival_cdf", [1.0 / k for k in steps], errs, 0.0, 1.0)
    # (4) discrete law of the exact finite-L walk: Kolmogorov distance to the claimed law -> 0 at rate 1/L
    disc = _b6_discrete(level, n, True)
    ks = []
    for rr in disc:
        F = np.cumsum(rr.depth_law.pmf)
        ks.append(float(np.max(np.abs(F - law.cdf(np.arange(F.size) / rr.depth)))))
    hs = [1.0 / rr.depth for rr in disc]
    convergence(crit, "discrete_law_kolmogorov", hs, ks, 0.0, 1.0)
    crit.note(
        claimed_mean=law.mean(), claimed_shape=(ystar - y0) ** 2 / s**shape_power, mc_mean=float(np.mean(D))
    )
    crit.headline(mean=law.mean(), shape=(ystar - y0) ** 2 / s**shape_power, dkw_excess=excess)
    return crit.verdict("sympy Laplace + MC (DKW) + survival PDE + exact-walk laws")


@functools.lru_cache(maxsize=4)
def _b6_widths(level: str) -> dict[int, dict[str, Any]]:
    a, c = _B6["a"], _B6["c"]
    out = {}
    for n in (1, 2, 3, 4):
        starts = (a - 2.0, a - 1.0, a - 0.3)
        bridge = [
            log_norm_bridge(n, 32, a, c, y0=y0, points_per_sd=6, law=False).stops_at_once for y0 in starts
        ]
        pde = _b6_pde(n, 401)
        inner = (pde.x <= a) & (pde.x > pde.x[0])
        sde = derive_linear_log_norm_sde(n)
        y, u = sde.variable, sp.Symbol("u", nonnegative=True)
        csym = sp.Symbol("c", positive=True)
        gen = sde.volatility**2 / 2 * (-2) + sde.drift * (-2 * (y - a)) - csym  # (A g - c)(y), g = -(y - a)^2
        below = sp.expand(gen.subs(y, a - u))  # y = a - u, u >= 0
        out[n] = {
            "bridge": bridge,
            "pde_stops_below": bool(np.all(pde.stopping[inner])),
            "generator_below": below,
            "generator_negative": bool(below.is_negative),
        }
    return out


@claim(
    "B6.width-threshold",
    tags=("derived",),
    title="Width threshold: for n <= 2 stopping at once is optimal below the target",
    statement=r"n\le2\ (m\le0):\ \tau^\star=0\ \ \forall y_0\le a;\qquad n\ge3:\ \text{continuation below }"
    r"y^\star=a-\frac{c}{2m}<a",
    hypotheses=("linear network log-norm, gain -(y-a)^2, cost c = 0.2, a = 0.5; widths 1..4",),
    method="discrete Snell envelope (L = 32) + PDE + symbolic sign of A g - c below the target",
    wrong={"threshold at width 3": {"max_width": 3}, "threshold at width 1": {"max_width": 1}},
)
def _check_b6_width(level: str, seed: int, *, max_width: int = 2) -> Verdict:
    data = _b6_widths(level)
    crit = Criteria()
    bad_bridge, bad_pde, bad_sym = [], [], []
    for n, r in data.items():
        claimed = n <= max_width
        if all(r["bridge"]) != claimed:
            bad_bridge.append(n)
        if r["pde_stops_below"] != claimed:
            bad_pde.append(n)
        # A g - c < 0 everywhere below the target is necessary for stopping at once there; where it is
        # positive, continuing is strictly better (so A g - c > 0 somewhere below a disproves it)
        if r["generator_negative"] != claimed:
            bad_sym.append(n)
    crit.add("discrete_snell_envelope", not bad_bridge, widths_disagreeing=bad_bridge)
    crit.add("pde_stopping_region", not bad_pde, widths_disagreeing=bad_pde)
    crit.add("symbolic_generator_sign", not bad_sym, widths_disagreeing=bad_sym)
    crit.note(
        max_width=max_width,
        generator_below_target={n: r["generator_below"] for n, r in data.items()},
        closed_form_boundary={n: linear_resnet_optimal_depth(n, _B6["a"], _B6["c"]).boundary for n in data},
    )
    crit.headline(max_width=max_width, disagreeing=sorted(set(bad_bridge + bad_pde + bad_sym)))
    return crit.verdict("exact-walk Snell + LCP regions + sympy sign of A g - c")


#: The claims of this section, in the order of the science.
CLAIMS: tuple[Claim, ...] = (_check_b6_threshold, _check_b6_depth_law, _check_b6_width)
