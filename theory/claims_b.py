r"""The theorem book, Part B: the optimal depth of a network as an optimal stopping problem.

Every claim of SCIENCE.md B1, B2, B5 and B6 is registered here as a :class:`theory.book.Claim` (B3-B4,
the torch depth regularisers and transformers, are not part of the book yet). This module holds the
discrete-depth claims B1 (Snell envelope, smallest optimal stopping time, infinite horizon) and B2 (the
three finite-depth bounds and one-step look-ahead) and imports :mod:`theory.claims_b_continuous`
(B5 free boundaries, B6 the bridge to infinite-depth random networks).

Each check verifies its claim in at least two independent ways: the library's solvers
(:mod:`stochdepth.stopping`) *and* computations written here from the definitions -- brute force over
every stopping rule, enumeration of every path of small chains, plain backward recursions on the tree of
histories. The checks take keyword arguments that replace the claimed formula, rule or hypothesis; the
registered ``wrong`` variants pass deliberately wrong ones (the Snell envelope without the max, a bound
divided by 2, one-step look-ahead declared optimal without monotonicity, ...), which the check rejects.

Conventions (see :mod:`theory.claims_b_common`): exact computations agree up to rounding; random problem
families are drawn from :func:`~theory.claims_b_common.stream`\ ``(seed, ...)`` and cached per
``(level, seed)`` so that the wrong variants reuse them and only change the comparison. Every family
mixes random draws with fixed edge cases (ties, tight instances, counterexamples), so each wrong variant
is rejected for every seed. The random chains come from :mod:`stochdepth.testing.generators` (exact
zeros and ties, monotone chains by construction), drawn with numpy from the seed, so the book runs
without hypothesis (a test extra); the residual families follow the constructions of
:mod:`stochdepth.testing.strategies` (geometric / summable / bounded). The test suite checks
the book's bound formulas on the strategies' own families as well.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from stochdepth.depth import residual_path_problem
from stochdepth.stopping import (
    BackwardInduction,
    MarkovStoppingProblem,
    OneStepLookAhead,
    PathStoppingProblem,
    PolicyIteration,
    ValueIteration,
    bounded_gains_bound,
    geometric_depth_bound,
    is_monotone,
    solve_stopping,
    summable_residuals_bound,
)
from stochdepth.testing.generators import (
    random_lattice_chain,
    random_lattice_problem,
    random_monotone_problem,
)
from stochdepth.testing.references import HistoryPaths, brute_force_rules, enumerate_histories, tree_snell

from .book import Verdict, claim
from .claims_b_common import EXACT_TOL, Criteria, close, params, stream

__all__: list[str] = []

#: Relative tolerance for ties of the recursions written here (the library uses 1e-11).
TIE = 1e-10

# ----------------------------------------------------------------------------------------------------
# Small finite-horizon chains and their paths (B1, B2)
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chain:
    r"""A finite-horizon chain: transitions ``P`` ``(L, S, S)``, gains ``g`` ``(L + 1, S)``, costs ``c``
    ``(L,)`` and initial law ``mu`` ``(S,)``; payoff :math:`Z_l=g_l(s_l)-\sum_{k<l}c_k`."""

    P: np.ndarray
    g: np.ndarray
    c: np.ndarray
    mu: np.ndarray
    name: str = "random"

    @property
    def S(self) -> int:
        return int(self.g.shape[1])

    @property
    def L(self) -> int:
        return int(self.c.shape[0])

    @property
    def cum(self) -> np.ndarray:
        """Accumulated costs :math:`\\sum_{k<l}c_k`, ``l = 0..L``."""
        return np.concatenate([[0.0], np.cumsum(self.c)])

    @property
    def payoffs(self) -> np.ndarray:
        """Payoffs :math:`Z_l(s)=g_l(s)-\\sum_{k<l}c_k`, shape ``(L + 1, S)``."""
        return self.g - self.cum[:, None]

    def problem(self) -> MarkovStoppingProblem:
        return MarkovStoppingProblem(self.P, self.g, self.c, self.L, initial=self.mu)


def _random_chain(rng: np.random.Generator, S: int, L: int, *, min_cost: float = 0.0) -> _Chain:
    """A lattice chain (:func:`stochdepth.testing.generators.random_lattice_chain`): exact ties between
    stopping and continuing occur often."""
    return _Chain(*random_lattice_chain(rng, S, L, min_cost=min_cost))


def _tie_chain() -> _Chain:
    """A chain with an exact tie at layer 0: from state 0, stopping pays 0 and continuing pays
    :math:`-\\tfrac14+\\tfrac12\\cdot0+\\tfrac12\\cdot\\tfrac12=0`; both are optimal, the smallest optimal
    time stops at once."""
    P = np.array([[[0.5, 0.5], [0.0, 1.0]]])
    return _Chain(P, np.array([[0.0, 0.5], [0.0, 0.5]]), np.array([0.25]), np.array([1.0, 0.0]), "tie")


def _late_chain() -> _Chain:
    """A deterministic chain 0 -> 1 -> 2 with gains 0, -1, 2 and cost 0.1: waiting through a loss pays
    (optimal value 1.8 at layer 2), the myopic rule stops at once (value 0)."""
    P = np.repeat(np.array([[[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]]), 2, axis=0)
    g = np.repeat(np.array([[0.0, -1.0, 2.0]]), 3, axis=0)
    return _Chain(P, g, np.array([0.1, 0.1]), np.array([1.0, 0.0, 0.0]), "wait-through-a-loss")


def _enumerate_paths(ch: _Chain) -> HistoryPaths:
    """Every path of the chain (:func:`stochdepth.testing.references.enumerate_histories`)."""
    return enumerate_histories(ch.P, ch.payoffs, ch.mu)


def _tree_snell(ch: _Chain, *, envelope: str = "max", rule: str = "smallest") -> tuple[float, np.ndarray]:
    """The Snell envelope on the tree of histories and its stopping time on every path, with the wrong
    variants (:func:`stochdepth.testing.references.tree_snell`)."""
    return tree_snell(ch.P, ch.payoffs, ch.mu, envelope=envelope, rule=rule, tie=TIE)


def _library_tau(ch: _Chain, paths: HistoryPaths) -> tuple[float, np.ndarray]:
    """Value and smallest optimal stopping time of the library's Markov backward induction on the paths."""
    sol = solve_stopping(ch.problem(), BackwardInduction())
    stop = sol.stop[np.arange(ch.L + 1)[None, :], paths.states]  # (N, L + 1)
    return sol.value(), stop.argmax(axis=1)


def _path_value(paths: HistoryPaths, tau: np.ndarray) -> float:
    return float(paths.prob @ paths.Z[np.arange(tau.size), tau])


# (S, L) shapes whose stopping rules can all be enumerated: at most 2^14 rules
_SHAPES = ((2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (4, 1))


@functools.lru_cache(maxsize=8)
def _b1_finite(level: str, seed: int) -> dict[str, Any]:
    """Brute force, tree recursion and library solve on small chains (cached for the variants)."""
    p = params(level, quick={"n_random": 24}, full={"n_random": 150})
    rng = np.random.default_rng(stream(seed, "B1", "chains"))
    chains = [_tie_chain(), _late_chain()]
    for k in range(p["n_random"]):
        S, L = _SHAPES[k % len(_SHAPES)]
        chains.append(_random_chain(rng, S, L))
    out = []
    for ch in chains:
        paths = _enumerate_paths(ch)
        values, taus = brute_force_rules(paths)
        v_lib, tau_lib = _library_tau(ch, paths)
        out.append(
            {"chain": ch, "paths": paths, "values": values, "taus": taus, "v_lib": v_lib, "tau_lib": tau_lib}
        )
    return {"problems": out, "n_rules": int(sum(r["values"].size for r in out))}


@claim(
    "B1.snell-envelope",
    tags=("seed", "classical"),
    title="The Snell envelope gives the value of optimal stopping (Markov case: backward induction)",
    statement=r"U_L=Z_L,\quad U_l=\max\big(Z_l,\ \mathbb E[U_{l+1}\mid\mathcal F_l]\big),\qquad"
    r"V^\star=\sup_{\tau\le L}\mathbb EZ_\tau=\mathbb EU_0;\qquad V_l(h)=\max\{g_l(h),-c_l+"
    r"\mathbb E[V_{l+1}(h_{l+1})\mid h_l=h]\}",
    hypotheses=(
        "finite horizon L; Z_l = G_l - sum_{k<l} c_k integrable (finite chains: bounded)",
        "stopping times adapted to the history F_l = sigma(s_0..s_l) (not only to the current state)",
    ),
    method="brute force over every stopping rule + history-tree recursion + library backward induction",
    wrong={"snell envelope without the max": {"envelope": "no-max"}},
)
def _check_b1_snell(level: str, seed: int, *, envelope: str = "max") -> Verdict:
    data = _b1_finite(level, seed)
    crit = Criteria()
    worst_tree = worst_lib = worst_tau = 0.0
    for r in data["problems"]:
        ch, paths = r["chain"], r["paths"]
        best = float(np.max(r["values"]))
        v_tree, tau = _tree_snell(ch, envelope=envelope)
        worst_tree = max(worst_tree, abs(v_tree - best) / (1.0 + abs(best)))
        worst_lib = max(worst_lib, abs(r["v_lib"] - best) / (1.0 + abs(best)))
        worst_tau = max(worst_tau, abs(_path_value(paths, tau) - best) / (1.0 + abs(best)))
    crit.note(
        problems=len(data["problems"]),
        rules_enumerated=data["n_rules"],
        shapes=[f"S={S},L={L}" for S, L in _SHAPES],
        envelope=envelope,
    )
    crit.add("envelope_equals_brute_force", worst_tree <= EXACT_TOL, max_rel_gap=worst_tree)
    crit.add("markov_backward_induction_equals_brute_force", worst_lib <= EXACT_TOL, max_rel_gap=worst_lib)
    crit.add("envelope_stopping_time_attains_it", worst_tau <= EXACT_TOL, max_rel_gap=worst_tau)
    crit.headline(rules=data["n_rules"], max_gap=max(worst_tree, worst_lib))
    return crit.verdict("brute force (all rules) + history tree + BackwardInduction")


@claim(
    "B1.smallest-optimal",
    tags=("seed", "classical"),
    title="tau* = min{l : U_l = Z_l} is optimal and the smallest optimal stopping time",
    statement=r"\tau^\star=\min\{l:U_l=Z_l\}:\quad\mathbb EZ_{\tau^\star}=V^\star,\qquad"
    r"\mathbb EZ_\tau=V^\star\ \Rightarrow\ \tau^\star\le\tau\ \text{a.s.}",
    hypotheses=("finite horizon; ties U_l = Z_l stop",),
    method="brute force: no optimal rule stops before tau* on any path of positive probability",
    wrong={
        "ties continue (largest optimal time)": {"rule": "ties-continue"},
        "myopic rule declared optimal": {"rule": "myopic"},
    },
)
def _check_b1_smallest(level: str, seed: int, *, rule: str = "smallest") -> Verdict:
    data = _b1_finite(level, seed)
    crit = Criteria()
    worst_val = 0.0
    earlier = 0
    lib_mismatch = 0
    n_optimal = 0
    with_ties = 0
    for r in data["problems"]:
        ch, paths = r["chain"], r["paths"]
        best = float(np.max(r["values"]))
        _, tau = _tree_snell(ch, rule=rule)
        worst_val = max(worst_val, abs(_path_value(paths, tau) - best) / (1.0 + abs(best)))
        pos = paths.prob > 0
        optimal = r["values"] >= best - EXACT_TOL * (1.0 + abs(best))
        taus = r["taus"][optimal][:, pos]
        n_optimal += int(optimal.sum())
        distinct = {tuple(t) for t in taus.tolist()}
        with_ties += len(distinct) > 1
        # the claimed time is the smallest: no optimal rule stops strictly earlier on any path
        earlier += int(np.any(taus < tau[pos][None, :]))
        lib_mismatch += int(np.any(r["tau_lib"][pos] != tau[pos]))
    crit.note(
        problems=len(data["problems"]), optimal_rules=n_optimal, problems_with_several_optimal_times=with_ties
    )
    crit.add("claimed_time_is_optimal", worst_val <= EXACT_TOL, max_rel_gap=worst_val)
    crit.add("no_optimal_rule_stops_earlier", earlier == 0, problems_violating=earlier)
    crit.add("library_tau_star_is_the_same", lib_mismatch == 0, problems_differing=lib_mismatch)
    crit.headline(optimal_rules=n_optimal, earlier=earlier)
    return crit.verdict("brute force (all rules) + BackwardInduction regions")


# ----------------------------------------------------------------------------------------------------
# B1, infinite horizon
# ----------------------------------------------------------------------------------------------------


def _climb_problem() -> MarkovStoppingProblem:
    """Upward chain 0 -> 1 -> 2 (each move with probability 1/2), gains 0, 1/2, 1, cost 0.1: the value
    0.6 at state 0 is reached only in the limit of the horizons (V^(1)(0) = 0.15 < V^(2)(0) < ...)."""
    P = [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]
    return MarkovStoppingProblem(P, [0.0, 0.5, 1.0], 0.1, initial=0)


def _rule_value(P: np.ndarray, g: np.ndarray, c: float, stop: np.ndarray) -> np.ndarray:
    """Exact value of the stationary rule "stop in ``stop``": ``(I - P_CC) v_C = -c + P_CD g_D``."""
    v = g.astype(float).copy()
    C = ~stop
    if C.any():
        A = np.eye(int(C.sum())) - P[np.ix_(C, C)]
        v[C] = np.linalg.solve(A, -c + P[np.ix_(C, stop)] @ g[stop])
    return v


@functools.lru_cache(maxsize=8)
def _b1_infinite(level: str, seed: int) -> list[dict[str, Any]]:
    p = params(level, quick={"n_random": 12, "max_states": 8}, full={"n_random": 60, "max_states": 30})
    rng = np.random.default_rng(stream(seed, "B1", "infinite"))
    probs = [_climb_problem()] + [
        random_lattice_problem(rng, int(rng.integers(2, p["max_states"] + 1))) for _ in range(p["n_random"])
    ]
    out = []
    for prob in probs:
        P = prob.chain.csr(0).toarray()
        g = prob.gains_at(0).copy()
        c = prob.cost(0)
        pi = solve_stopping(prob, PolicyIteration())
        vi = solve_stopping(prob, ValueIteration(tol=1e-11))
        # finite horizons by the plain recursion v_{k+1} = max(g, -c + P v_k), v_0 = g
        hist = [g.copy()]
        v = g.copy()
        for _ in range(20_000):
            v = np.maximum(g, -c + P @ v)
            hist.append(v.copy())
            if float(np.max(pi.upper - v)) <= 1e-10:
                break
        lib_L = [1, 2, 5, 20]
        lib = {
            L: solve_stopping(prob.with_horizon(L), BackwardInduction()).values[0]
            for L in lib_L
            if len(hist) > L
        }
        out.append(
            {
                "P": P,
                "g": g,
                "c": c,
                "mu": prob.initial_law(),
                "pi": pi,
                "vi": vi,
                "finite": np.array(hist),
                "lib_finite": lib,
            }
        )
    return out


@claim(
    "B1.infinite-horizon",
    tags=("seed", "classical"),
    title="Infinite horizon: the value is the increasing limit of the finite-horizon envelopes",
    statement=r"V=\lim_{L\uparrow\infty}V^{(L)},\quad V^{(L)}\le V^{(L+1)},\quad V=\max\{g,-c+PV\},"
    r"\quad\tau^\star=\min\{l:V(s_l)=g(s_l)\}\ \text{attains}\ V",
    hypotheses=(
        "E sup_l Z_l^+ < oo (bounded gains) and Z_l -> -oo (cost c > 0 per layer)",
        "homogeneous finite chain",
    ),
    method="finite horizons up to the certified gap + policy iteration + value iteration + rule value",
    wrong={
        "decreasing limit": {"direction": -1},
        "Bellman equation without the max": {"bellman": "no-max"},
    },
)
def _check_b1_infinite(level: str, seed: int, *, direction: int = 1, bellman: str = "max") -> Verdict:
    data = _b1_infinite(level, seed)
    crit = Criteria()
    mono_bad = above_upper = 0
    worst_limit = worst_fixed = worst_rule = worst_lib = worst_vi = 0.0
    gaps, horizons, errors = [], [], []
    for r in data:
        pi, vi, fin, g, c, P = r["pi"], r["vi"], r["finite"], r["g"], r["c"], r["P"]
        V = pi.values
        steps = np.diff(fin, axis=0)
        tol = 1e-12 * (1.0 + np.abs(fin[1:]))
        if direction > 0:
            mono_bad += int(np.any(steps < -tol))
        else:
            mono_bad += int(np.any(steps > tol))
        above_upper += int(np.any(fin > pi.upper + 1e-12 * (1 + np.abs(pi.upper))))
        worst_limit = max(worst_limit, float(np.max(np.abs(fin[-1] - V))) - pi.error_bound)
        rhs = np.maximum(g, -c + P @ V) if bellman == "max" else -c + P @ V
        worst_fixed = max(worst_fixed, float(np.max(np.abs(V - rhs))))
        worst_rule = max(worst_rule, float(np.max(np.abs(_rule_value(P, g, c, pi.stop) - V))))
        worst_vi = max(worst_vi, float(np.max(np.abs(vi.values - V))) - vi.error_bound - pi.error_bound)
        for L, vl in r["lib_finite"].items():
            worst_lib = max(worst_lib, float(np.max(np.abs(vl - fin[L]))))
        gaps.append(float(r["mu"] @ (V - fin[0])))
        horizons.append(fin.shape[0] - 1)
        errors.append(pi.error_bound)
    crit.note(
        problems=len(data),
        max_certified_error=max(errors),
        horizons_to_certified_gap=[min(horizons), max(horizons)],
    )
    crit.note(value_minus_stopping_at_once=[min(gaps), max(gaps)])
    crit.add(
        "finite_horizon_values_monotone" if direction > 0 else "finite_horizon_values_decreasing",
        mono_bad == 0,
        problems_violating=mono_bad,
    )
    crit.add("finite_horizons_below_certified_upper_bound", above_upper == 0, problems_violating=above_upper)
    crit.add("limit_of_horizons_is_the_value", worst_limit <= 1e-9, max_gap_beyond_certificate=worst_limit)
    crit.add("value_solves_bellman_equation", worst_fixed <= 1e-9, max_residual=worst_fixed)
    crit.add("tau_star_attains_the_value", worst_rule <= 1e-9, max_gap=worst_rule)
    crit.add("value_iteration_agrees", worst_vi <= 1e-9, max_gap_beyond_certificates=worst_vi)
    crit.add("library_finite_horizons_agree", worst_lib <= 1e-9, max_gap=worst_lib)
    crit.headline(limit_gap=max(worst_limit, 0.0), certified=max(errors), horizons=max(horizons))
    return crit.verdict("finite horizons + PolicyIteration + ValueIteration")


# ----------------------------------------------------------------------------------------------------
# B2. Finite optimal depth: residual families
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Family:
    r"""Deterministic residual paths :math:`h_{l+1}=h_l+f_l(h_l)` from several inputs, gain
    :math:`G_l=g(h_l)`, with the constants *declared* for the B2 hypotheses: Lipschitz constant
    :math:`L_g`, envelope :math:`\sup_h\|f_l(h)\|\le e_l` and, for geometric envelopes
    :math:`e_l=C\rho^l`, the constants :math:`C,\rho` (``rho = nan`` otherwise)."""

    problem: PathStoppingProblem
    lipschitz: float
    envelope: np.ndarray
    C: float
    rho: float
    kind: str


def _toward(h: np.ndarray, y: np.ndarray, size: float) -> np.ndarray:
    """A step of length ``min(size, |y - h|)`` from ``h`` towards ``y`` (never overshooting)."""
    d = y[None, :] - h
    nrm = np.linalg.norm(d, axis=1, keepdims=True)
    return d * np.minimum(1.0, size / np.maximum(nrm, 1e-300))


def _random_family(rng: np.random.Generator, kind: str) -> _Family:
    r"""A random family satisfying the hypotheses of its ``kind``:

    ``f_l(h) = e_l s_l(h) u_l(h)``: a unit direction ``u_l = tanh(A_l h + b_l)`` normalised, a scale
    ``s_l in (0, 1]`` varying with ``h``, and the envelope ``e_l = C rho^l`` (``"geometric"``),
    ``C (l + 1)^{-q}`` with ``q in [1.1, 3]`` (``"summable"``, not geometric) or ``C`` (``"bounded"``: no
    diminishing returns, bounded gain ``-L_g tanh||h - y||``); the other gains are ``-L_g ||h - y||``.
    1 to 3 dimensions, 1 to 25 layers, 12 inputs, ``L_g in [0.5, 2]``, cost in [0.01, 1].
    """
    d = int(rng.integers(1, 4))
    L = int(rng.integers(1, 26))
    C = float(rng.uniform(0.1, 3.0))
    lip = float(rng.uniform(0.5, 2.0))
    cost = float(rng.uniform(0.01, 1.0))
    layers = np.arange(L, dtype=float)
    rho = math.nan
    if kind == "geometric":
        rho = float(rng.uniform(0.3, 0.95))
        env = C * rho**layers
    elif kind == "summable":
        env = C * (layers + 1.0) ** (-float(rng.uniform(1.1, 3.0)))
    else:
        env = np.full(L, C)
    A = rng.normal(size=(L, d, d)) * 2.0
    b = rng.normal(size=(L, d))
    w = rng.normal(size=(L, d))
    y = rng.normal(size=d)
    h0 = y + rng.normal(size=(12, d)) * 2.0

    def residual(l: int, h: np.ndarray) -> np.ndarray:
        v = np.tanh(h @ A[l].T + b[l])
        u = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-300)
        return env[l] * 0.5 * (1.0 + np.tanh(h @ w[l]))[:, None] * u

    if kind == "bounded":
        gain = lambda h: -lip * np.tanh(np.linalg.norm(h - y, axis=1))  # noqa: E731
    else:
        gain = lambda h: -lip * np.linalg.norm(h - y, axis=1)  # noqa: E731
    return _Family(residual_path_problem(residual, gain, h0, L, cost), lip, env, C, rho, kind)


def _straight_family(rng: np.random.Generator, *, geometric: bool) -> _Family:
    r"""A tight instance. Each input walks straight towards the target ``y`` with steps of the declared
    length (``delta`` constant, or ``C rho^l``) and the gain ``-||h - y||`` grows by exactly the step.

    Constant steps: ``h_0`` at distance ``L delta`` from ``y`` and cost ``c = u delta`` (``u`` in
    [0.6, 0.95]): every layer pays, ``tau* = L``, and both the bounded-gains and the summable-residuals
    bound equal ``L delta / c = L / u``: tightness ``u``. Geometric steps (target out of reach): layer
    ``l`` pays ``C rho^l - c``, so ``tau* = ceil(ln(c / C) / ln(rho)) = l_bar``: tightness 1.
    """
    d = int(rng.integers(1, 3))
    dirs = rng.normal(size=(6, d))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    y = rng.normal(size=d)
    if geometric:
        C = float(rng.uniform(0.5, 3.0))
        rho = float(rng.uniform(0.5, 0.9))
        cost = float(C * rng.uniform(0.02, 0.3))
        lbar = math.ceil(math.log(cost / C) / math.log(rho))
        L = lbar + int(rng.integers(5, 30))
        h0 = y[None, :] + dirs * (2.0 * C / (1.0 - rho))  # the walk covers at most C / (1 - rho)
        env = C * rho ** np.arange(L, dtype=float)
        kind = "tight-geometric"
    else:
        C, rho = float(rng.uniform(0.05, 0.5)), math.nan
        L = int(rng.integers(2, 30))
        cost = float(C * rng.uniform(0.6, 0.95))
        h0 = y[None, :] + dirs * (L * C)
        env = np.full(L, C)
        kind = "tight-constant"
    prob = residual_path_problem(
        lambda l, h: _toward(h, y, env[l]), lambda h: -np.linalg.norm(h - y, axis=1), h0, L, cost
    )
    return _Family(prob, 1.0, env, C, rho, kind)


def _violating_family(rng: np.random.Generator, kind: str) -> _Family:
    r"""Counterexamples: a hypothesis is violated and the conclusion fails.

    ``"steep-gain"``: steps ``delta`` towards a far target, gain ``-K||h - y||`` declared 1-Lipschitz,
    cost ``c = u delta`` with ``1 < u < K``: every layer pays ``K delta - c > 0`` so ``tau* = L``, above
    the summable bound ``L delta / c = L / u``. ``"growing"``: steps ``C r^l`` with ``r > 1`` declared as
    ``C rho^l``, ``rho < 1``, cost ``C / 2``: every layer pays, ``tau* = L > l_bar``.
    """
    y = np.zeros(1)
    h0 = np.full((1, 1), 1e3)
    L = int(rng.integers(12, 25))
    if kind == "steep-gain":
        delta = float(rng.uniform(0.05, 0.2))
        u = float(rng.uniform(1.2, 1.8))
        K = 2.0 * u
        prob = residual_path_problem(
            lambda l, h: _toward(h, y, delta), lambda h: -K * np.linalg.norm(h - y, axis=1), h0, L, u * delta
        )
        return _Family(prob, 1.0, np.full(L, delta), delta, math.nan, kind)
    C = float(rng.uniform(0.2, 1.0))
    rho, grow = float(rng.uniform(0.3, 0.7)), float(rng.uniform(1.05, 1.3))
    prob = residual_path_problem(
        lambda l, h: _toward(h, y, C * grow**l), lambda h: -np.linalg.norm(h - y, axis=1), h0, L, 0.5 * C
    )
    return _Family(prob, 1.0, C * rho ** np.arange(L, dtype=float), C, rho, kind)


def _pathwise_tau(prob: PathStoppingProblem) -> np.ndarray:
    """Smallest maximiser of each deterministic path's payoff (the optimal depth of that input)."""
    Z = prob.payoffs
    top = Z.max(axis=1, keepdims=True)
    return np.argmax(top - TIE * (1.0 + np.abs(top)) <= Z, axis=1)


def _own_bounds(
    prob: PathStoppingProblem,
    lipschitz: float,
    envelope: np.ndarray,
    C: float = math.nan,
    rho: float = math.nan,
) -> dict[str, float]:
    r"""The three B2 bounds of a deterministic residual family from its declared constants, computed here
    from the definitions, with the optimal depths (pathwise smallest maximisers).

    Keys: ``e_tau`` :math:`=\mathbb E\tau^\star`, ``max_tau``, ``bounded``
    :math:`=(\mathbb E\sup G-\mathbb EG_0)/c`, ``summable`` :math:`=L_g\sum_le_l/c`, ``ratio``
    :math:`=\ln(c/(L_gC))/\ln\rho` (``nan`` without geometric constants), whose rounding up (at least 0)
    is :math:`\bar l`."""
    tau = _pathwise_tau(prob)
    c = float(prob.costs.min())
    G = prob.gains
    geometric = math.isfinite(rho) and 0.0 < rho < 1.0 and C > 0.0
    return {
        "e_tau": float(np.mean(tau)),
        "max_tau": float(np.max(tau)),
        "bounded": float(np.mean(G.max(axis=1) - G[:, 0])) / c,
        "summable": lipschitz * float(np.sum(envelope)) / c,
        "ratio": math.log(c / (lipschitz * C)) / math.log(rho) if geometric else math.nan,
    }


_KINDS = ("geometric", "summable", "bounded")


@functools.lru_cache(maxsize=8)
def _b2_families(level: str, seed: int) -> dict[str, list[_Family]]:
    p = params(level, quick={"n_random": 15, "n_tight": 4}, full={"n_random": 150, "n_tight": 20})
    rng = np.random.default_rng(stream(seed, "B2", "families"))
    out = {kind: [_random_family(rng, kind) for _ in range(p["n_random"])] for kind in _KINDS}
    out["tight-constant"] = [_straight_family(rng, geometric=False) for _ in range(p["n_tight"])]
    out["tight-geometric"] = [_straight_family(rng, geometric=True) for _ in range(p["n_tight"])]
    out["steep-gain"] = [_violating_family(rng, "steep-gain") for _ in range(p["n_tight"])]
    out["growing"] = [_violating_family(rng, "growing") for _ in range(p["n_tight"])]
    return out


@functools.lru_cache(maxsize=8)
def _b2_chains(level: str, seed: int) -> list[dict[str, Any]]:
    """Small chains with costs >= 1/8 (bounded gains), solved by path enumeration and by the library."""
    p = params(level, quick={"n_random": 18}, full={"n_random": 120})
    rng = np.random.default_rng(stream(seed, "B2", "chains"))
    out = []
    for k in range(p["n_random"]):
        S, L = ((2, 3), (3, 3), (3, 4), (4, 2))[k % 4]
        ch = _random_chain(rng, S, L, min_cost=0.125)
        paths = _enumerate_paths(ch)
        _, tau = _tree_snell(ch)
        esup = float(paths.prob @ ch.g[np.arange(L + 1)[None, :], paths.states].max(axis=1))
        eg0 = float(ch.mu @ ch.g[0])
        out.append(
            {
                "esup_minus_g0": esup - eg0,
                "c": float(ch.c.min()),
                "e_tau": float(paths.prob @ tau),
                "library": bounded_gains_bound(ch.problem()),
            }
        )
    return out


def _decreasing_cost_family(rng: np.random.Generator) -> tuple[PathStoppingProblem, float]:
    r"""Counterexample to dropping :math:`c_l\ge c>0`: costs :math:`c_k=c_0\rho^k` shrink while each layer
    gains :math:`2c_k`, so :math:`\tau^\star=L`, but the bound computed with :math:`c=c_0` (a constant the
    costs do not respect) is :math:`2(1-\rho^L)/(1-\rho)<L`. Returns the problem and :math:`c_0`."""
    L = int(rng.integers(12, 25))
    c0, rho = float(rng.uniform(0.05, 0.5)), float(rng.uniform(0.3, 0.7))
    costs = c0 * rho ** np.arange(L)
    gains = np.concatenate([[0.0], np.cumsum(2.0 * costs)])[None, :]
    return PathStoppingProblem(np.zeros((1, L + 1)), gains, costs, deterministic=True), c0


def _le(a: float, b: float) -> bool:
    """``a <= b`` up to rounding."""
    return a <= b + EXACT_TOL * (1.0 + abs(a) + abs(b))


def _summary(values: list[float]) -> list[float]:
    """[min, median, max] of measured tightnesses."""
    return [min(values), float(np.median(values)), max(values)]


@claim(
    "B2.bounded-gains",
    tags=("seed", "derived"),
    title="Bounded gains: E tau* <= (E sup_l G_l - E G_0) / c",
    statement=r"G_l\le\bar G,\ c_l\ge c>0\ \Longrightarrow\ \mathbb E\tau^\star\le"
    r"\frac{\mathbb E\sup_lG_l-\mathbb EG_0}{c}",
    hypotheses=(
        "gains bounded above (E sup_l G_l < oo); every layer costs c_l >= c > 0; no discount",
        "proof (derived): E G_0 <= V* = E[G_tau* - sum_{k<tau*} c_k] <= E sup_l G_l - c E tau*",
    ),
    method="random chains (path enumeration) and residual families + library bounded_gains_bound; tightness",
    wrong={"bound divided by 2": {"factor": 0.5}},
)
def _check_b2_bounded(level: str, seed: int, *, factor: float = 1.0) -> Verdict:
    fams = _b2_families(level, seed)
    chains = _b2_chains(level, seed)
    crit = Criteria()
    own_bad = lib_bad = mismatch = 0
    tight: dict[str, list[float]] = {}
    kinds = (*_KINDS, "tight-constant", "tight-geometric")
    for kind in kinds:
        for f in fams[kind]:
            own = _own_bounds(f.problem, f.lipschitz, f.envelope)
            lib = bounded_gains_bound(f.problem)
            own_bad += not _le(own["e_tau"], factor * own["bounded"])
            lib_bad += not (lib.hypotheses_hold and _le(lib.expected_depth.value, factor * lib.bound))
            mismatch += not (
                close(own["bounded"], lib.bound) and close(own["e_tau"], lib.expected_depth.value)
            )
            if own["bounded"] > 0:
                tight.setdefault(kind, []).append(own["e_tau"] / own["bounded"])
    for r in chains:
        bound = r["esup_minus_g0"] / r["c"]
        lib = r["library"]
        own_bad += not _le(r["e_tau"], factor * bound)
        lib_bad += not (lib.hypotheses_hold and _le(lib.expected_depth.value, factor * lib.bound))
        mismatch += not (close(bound, lib.bound) and close(r["e_tau"], lib.expected_depth.value))
        if bound > 0:
            tight.setdefault("chains", []).append(r["e_tau"] / bound)
    cex, c0 = _decreasing_cost_family(np.random.default_rng(stream(seed, "B2", "decreasing-costs")))
    cex_tau = float(_pathwise_tau(cex)[0])
    cex_bound = float(cex.gains[0, -1] - cex.gains[0, 0]) / c0
    n = sum(len(fams[k]) for k in kinds) + len(chains)
    crit.note(problems=n, factor=factor, chains=len(chains))
    crit.note(**{f"tightness_{k}": _summary(v) for k, v in tight.items()})
    crit.add("holds_on_every_problem", own_bad == 0, violations=own_bad)
    crit.add("library_bound_holds_with_hypotheses", lib_bad == 0, violations=lib_bad)
    crit.add("library_agrees_with_enumeration", mismatch == 0, mismatches=mismatch)
    crit.add(
        "positive_cost_floor_is_needed",
        cex_tau > cex_bound,
        counterexample_tau=cex_tau,
        bound_with_c0=cex_bound,
    )
    crit.headline(violations=own_bad, tightness=max(max(v) for v in tight.values()))
    return crit.verdict("path enumeration + bounded_gains_bound")


@claim(
    "B2.summable-residuals",
    tags=("seed", "derived"),
    title="Summable residuals: E tau* <= L_g S / c",
    statement=r"G_l=g(h_l),\ |g(h)-g(h')|\le L_g\|h-h'\|,\ S=\sum_l\sup_h\|f_l(h)\|<\infty\ \Longrightarrow\ "
    r"\mathbb E\tau^\star\le\frac{L_gS}{c}",
    hypotheses=(
        "h_{l+1} = h_l + f_l(h_l) (deterministic given the input); costs c_l >= c > 0",
        "proof (derived): G_tau - G_0 <= L_g sum_{k<tau} ||f_k|| <= L_g S, then as for bounded gains",
    ),
    method="random and tight residual families (pathwise optima) + library summable_residuals_bound",
    wrong={"bound divided by 2": {"factor": 0.5}},
)
def _check_b2_summable(level: str, seed: int, *, factor: float = 1.0) -> Verdict:
    fams = _b2_families(level, seed)
    crit = Criteria()
    own_bad = lib_bad = mismatch = hyp_bad = 0
    tight: dict[str, list[float]] = {}
    kinds = (*_KINDS, "tight-constant", "tight-geometric")
    for kind in kinds:
        for f in fams[kind]:
            prob = f.problem
            norms = np.linalg.norm(np.diff(prob.features, axis=1), axis=2)
            hyp_bad += int(np.any(norms > f.envelope[None, :] * (1 + 1e-9) + 1e-12))
            own = _own_bounds(prob, f.lipschitz, f.envelope)
            lib = summable_residuals_bound(prob, f.lipschitz, residual_bounds=f.envelope)
            own_bad += not _le(own["e_tau"], factor * own["summable"])
            lib_bad += not (lib.hypotheses_hold and _le(lib.expected_depth.value, factor * lib.bound))
            mismatch += not (
                close(own["summable"], lib.bound) and close(own["e_tau"], lib.expected_depth.value)
            )
            tight.setdefault(kind, []).append(own["e_tau"] / own["summable"])
    steep = fams["steep-gain"]
    fails = flagged = 0
    for f in steep:
        own = _own_bounds(f.problem, f.lipschitz, f.envelope)
        lib = summable_residuals_bound(f.problem, f.lipschitz, residual_bounds=f.envelope)
        fails += own["e_tau"] > own["summable"]
        flagged += not lib.hypotheses["lipschitz_consistent"] and not lib.holds
    crit.note(families=sum(len(fams[k]) for k in kinds), factor=factor)
    crit.note(**{f"tightness_{k}": _summary(v) for k, v in tight.items()})
    crit.add("families_satisfy_hypotheses", hyp_bad == 0, violations=hyp_bad)
    crit.add("holds_on_every_family", own_bad == 0, violations=own_bad)
    crit.add("library_bound_holds_with_hypotheses", lib_bad == 0, violations=lib_bad)
    crit.add("library_agrees", mismatch == 0, mismatches=mismatch)
    crit.add(
        "lipschitz_hypothesis_is_needed",
        fails == len(steep) and flagged == len(steep),
        steep_gain_failures=fails,
        flagged_by_library=flagged,
    )
    crit.headline(violations=own_bad, tightness=max(max(v) for v in tight.values()))
    return crit.verdict("pathwise optima + summable_residuals_bound")


@claim(
    "B2.geometric-depth",
    tags=("seed", "derived"),
    title="Geometric diminishing returns: tau* <= l_bar almost surely, monotone beyond l_bar",
    statement=r"\sup_h\|f_l(h)\|\le C\rho^l,\ \rho<1\ \Longrightarrow\ \tau^\star\le\bar l="
    r"\max\Big(0,\Big\lceil\frac{\ln(c/(L_gC))}{\ln\rho}\Big\rceil\Big)\ \text{a.s.},\quad"
    r"Z_{l+1}\le Z_l\ (l\ge\bar l)",
    hypotheses=(
        "one L_g-Lipschitz gain for all layers, no noise; costs c_l >= c > 0; finite or infinite horizon",
        "proof (derived): Z_{l+1} - Z_l <= L_g C rho^l - c <= 0 for l >= l_bar",
    ),
    method="random and tight residual families (pathwise optima, a.s. over inputs) + geometric_depth_bound",
    wrong={"l_bar - 1": {"offset": -1}, "floor instead of ceiling": {"rounding": "floor"}},
)
def _check_b2_geometric(level: str, seed: int, *, offset: int = 0, rounding: str = "ceil") -> Verdict:
    fams = _b2_families(level, seed)
    crit = Criteria()
    own_bad = lib_bad = mismatch = mono_bad = 0
    tight: dict[str, list[float]] = {}
    unbound = 0
    rnd = math.ceil if rounding == "ceil" else math.floor
    kinds = ("geometric", "tight-geometric")
    for kind in kinds:
        for f in fams[kind]:
            prob = f.problem
            own = _own_bounds(prob, f.lipschitz, f.envelope, f.C, f.rho)
            lbar = max(0, rnd(own["ratio"])) + offset
            own_bad += own["max_tau"] > lbar
            dZ = np.diff(prob.payoffs, axis=1)[:, max(lbar, 0) :]
            mono_bad += int(np.any(dZ > TIE * (1.0 + np.abs(prob.payoffs).max())))
            lib = geometric_depth_bound(prob, f.lipschitz, f.rho, C=f.C)
            lib_bad += not (lib.hypotheses_hold and lib.max_depth <= lib.bound + offset)
            mismatch += lib.bound != max(0, math.ceil(own["ratio"] - 1e-12))
            mismatch += own["max_tau"] != lib.max_depth
            unbound += own["max_tau"] < prob.horizon
            if lbar > 0:
                tight.setdefault(kind, []).append(own["max_tau"] / lbar)
    grow = fams["growing"]
    fails = flagged = 0
    for f in grow:
        lib = geometric_depth_bound(f.problem, f.lipschitz, f.rho, C=f.C)
        fails += not lib.holds
        flagged += not lib.hypotheses["geometric_decay"]
    crit.note(
        families=sum(len(fams[k]) for k in kinds),
        offset=offset,
        rounding=rounding,
        families_stopping_before_horizon=unbound,
    )
    crit.note(**{f"max_tightness_{k}": _summary(v) for k, v in tight.items()})
    crit.add("tau_star_below_l_bar_on_every_input", own_bad == 0, violations=own_bad)
    crit.add("payoff_non_increasing_beyond_l_bar", mono_bad == 0, violations=mono_bad)
    crit.add("library_bound_holds_with_hypotheses", lib_bad == 0, violations=lib_bad)
    crit.add("library_agrees", mismatch == 0, mismatches=mismatch)
    crit.add(
        "decay_hypothesis_is_needed",
        fails == len(grow) and flagged == len(grow),
        growing_failures=fails,
        flagged_by_library=flagged,
    )
    crit.headline(violations=own_bad, tightness=max(max(v) for v in tight.values()))
    return crit.verdict("pathwise optima + geometric_depth_bound")


# ----------------------------------------------------------------------------------------------------
# B2. One-step look-ahead
# ----------------------------------------------------------------------------------------------------


def _osla_counterexample() -> MarkovStoppingProblem:
    """Deterministic 0 -> 1 -> 2, gains 0, 0, 1, cost 0.1: one step ahead looks useless from 0 (gain 0 at
    cost 0.1), so look-ahead stops at once (value 0) while two steps pay 1 - 0.2 = 0.8. Not monotone: the
    look-ahead set {0, 2} is left from 0."""
    P = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
    return MarkovStoppingProblem(P, [0.0, 0.0, 1.0], 0.1, horizon=2, initial=0)


def _own_osla_and_snell(prob: MarkovStoppingProblem) -> tuple[float, float, bool]:
    """(look-ahead value, Snell value, monotone?) by plain numpy recursions on a homogeneous chain."""
    P = prob.chain.csr(0).toarray()
    g = prob.gains_at(0)
    c = prob.cost(0)
    L = prob.horizon
    assert L is not None
    mu = prob.initial_law()
    look = g >= -c + P @ g - TIE * (1.0 + np.abs(g) + np.abs(P @ g))
    # look-ahead value by forward propagation of the running sub-probability
    val, run = 0.0, mu.copy()
    for l in range(L):
        val += float(run[look] @ g[look]) - l * c * float(run[look].sum())
        run = np.where(look, 0.0, run) @ P
    val += float(run @ g) - L * c * float(run.sum())
    V = g.copy()
    for _ in range(L):
        V = np.maximum(g, -c + P @ V)
    monotone = bool(np.all(P[look][:, ~look] == 0.0))
    return val, float(mu @ V), monotone


@functools.lru_cache(maxsize=8)
def _b2_osla(level: str, seed: int) -> dict[str, list[dict[str, Any]]]:
    p = params(level, quick={"n_random": 30}, full={"n_random": 300})
    rng = np.random.default_rng(stream(seed, "B2", "osla"))
    out: dict[str, list[dict[str, Any]]] = {"monotone": [], "non-monotone": []}
    probs = [random_monotone_problem(rng) for _ in range(p["n_random"])]
    probs += [_osla_counterexample()]
    probs += [
        random_lattice_problem(rng, int(rng.integers(2, 6)), horizon=int(rng.integers(2, 7)))
        for _ in range(p["n_random"])
    ]
    for prob in probs:
        osla, snell, mono = _own_osla_and_snell(prob)
        rec = {
            "osla": osla,
            "snell": snell,
            "monotone": mono,
            "lib_osla": OneStepLookAhead.fit(prob).evaluate(prob).value.value,
            "lib_snell": solve_stopping(prob, BackwardInduction()).value(),
            "lib_monotone": is_monotone(prob),
        }
        out["monotone" if mono else "non-monotone"].append(rec)
    return out


@claim(
    "B2.one-step-look-ahead",
    tags=("classical",),
    title="One-step look-ahead is optimal in the monotone case (and only there)",
    statement=r"\tau_{\rm OSLA}=\min\{l:g_l(h_l)\ge\mathbb E[g_{l+1}(h_{l+1})\mid\mathcal F_l]-c_l\},\quad"
    r"A_l\ \text{absorbing}\ \Longrightarrow\ \mathbb EZ_{\tau_{\rm OSLA}}=V^\star",
    hypotheses=(
        "monotone case: the look-ahead sets A_l are absorbing (Chow, Robbins & Siegmund 1971, Thm. 3.5)",
        "finite horizon, finite chains",
    ),
    method="monotone and non-monotone chains: own recursions + OneStepLookAhead + BackwardInduction",
    wrong={"look-ahead optimal without monotonicity": {"assume_monotone": False}},
)
def _check_b2_osla(level: str, seed: int, *, assume_monotone: bool = True) -> Verdict:
    data = _b2_osla(level, seed)
    crit = Criteria()
    scope = data["monotone"] if assume_monotone else data["monotone"] + data["non-monotone"]
    gap = max(r["snell"] - r["osla"] for r in scope)
    lib_gap = max(r["lib_snell"] - r["lib_osla"] for r in scope)
    worse = [r["snell"] - r["osla"] for r in data["non-monotone"] if r["snell"] - r["osla"] > 1e-9]
    agree = all(
        close(r["osla"], r["lib_osla"])
        and close(r["snell"], r["lib_snell"])
        and r["monotone"] == r["lib_monotone"]
        for r in data["monotone"] + data["non-monotone"]
    )
    crit.note(
        monotone_problems=len(data["monotone"]),
        non_monotone_problems=len(data["non-monotone"]),
        non_monotone_where_look_ahead_loses=len(worse),
        largest_loss_non_monotone=max(worse) if worse else 0.0,
        assume_monotone=assume_monotone,
    )
    crit.add("look_ahead_attains_snell_value", gap <= EXACT_TOL, max_gap=gap)
    crit.add("library_look_ahead_attains_snell_value", lib_gap <= EXACT_TOL, max_gap=lib_gap)
    crit.add("own_recursions_agree_with_library", agree)
    crit.add("monotonicity_is_needed", len(worse) >= 1, counterexamples=len(worse))
    crit.headline(gap_monotone=gap, losses_non_monotone=len(worse))
    return crit.verdict("exact recursions + OneStepLookAhead + is_monotone")


from . import claims_b_continuous as _continuous  # noqa: E402,F401  (registers B5 and B6)
