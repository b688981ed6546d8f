r"""Theorem book, docs/science.md §B1: the optimal depth as an optimal stopping problem (the model).

The Snell envelope gives the value, :math:`\tau^\star=\min\{l:U_l=Z_l\}` is the smallest optimal time,
and the infinite-horizon value is the increasing limit of the finite horizons. The library's solvers
(:mod:`stochdepth.stopping`) are checked against computations written here from the definitions: brute
force over every stopping rule, enumeration of every path of small chains, the backward recursion on the
tree of histories. The small chains and their paths (:class:`Chain`, :func:`enumerate_paths`,
:func:`chain_snell`, on the references of :mod:`stochdepth.testing`) serve B2 as well.

Random problems are drawn with numpy from :func:`~theory.common.stream` and mix random draws with fixed
edge cases (ties, a chain that must wait through a loss), so each wrong variant is rejected for every
seed. Conventions: :mod:`theory.common`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from stochdepth.stopping import (
    BackwardInduction,
    MarkovStoppingProblem,
    PolicyIteration,
    ValueIteration,
    solve_stopping,
)
from stochdepth.testing.generators import random_lattice_chain, random_lattice_problem
from stochdepth.testing.references import HistoryPaths, brute_force_rules, enumerate_histories, tree_snell

from .book import Claim, Verdict, claim
from .common import (
    EXACT_TOL,
    TIE,
    Criteria,
    params,
    stream,
)

__all__ = ["CLAIMS", "Chain", "chain_snell", "enumerate_paths", "late_chain", "random_chain", "tie_chain"]

# ----------------------------------------------------------------------------------------------------
# Small finite-horizon chains and their paths (B1, B2)
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
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


def random_chain(rng: np.random.Generator, S: int, L: int, *, min_cost: float = 0.0) -> Chain:
    """A lattice chain (:func:`stochdepth.testing.generators.random_lattice_chain`): exact ties between
    stopping and continuing occur often."""
    return Chain(*random_lattice_chain(rng, S, L, min_cost=min_cost))


def tie_chain() -> Chain:
    """A chain with an exact tie at layer 0: from state 0, stopping pays 0 and continuing pays
    :math:`-\\tfrac14+\\tfrac12\\cdot0+\\tfrac12\\cdot\\tfrac12=0`; both are optimal, the smallest optimal
    time stops at once."""
    P = np.array([[[0.5, 0.5], [0.0, 1.0]]])
    return Chain(P, np.array([[0.0, 0.5], [0.0, 0.5]]), np.array([0.25]), np.array([1.0, 0.0]), "tie")


def late_chain() -> Chain:
    """A deterministic chain 0 -> 1 -> 2 with gains 0, -1, 2 and cost 0.1: waiting through a loss pays
    (optimal value 1.8 at layer 2), the myopic rule stops at once (value 0)."""
    P = np.repeat(np.array([[[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]]), 2, axis=0)
    g = np.repeat(np.array([[0.0, -1.0, 2.0]]), 3, axis=0)
    return Chain(P, g, np.array([0.1, 0.1]), np.array([1.0, 0.0, 0.0]), "wait-through-a-loss")


def enumerate_paths(ch: Chain) -> HistoryPaths:
    """Every path of the chain (:func:`stochdepth.testing.references.enumerate_histories`)."""
    return enumerate_histories(ch.P, ch.payoffs, ch.mu)


def chain_snell(ch: Chain, *, envelope: str = "max", rule: str = "smallest") -> tuple[float, np.ndarray]:
    """The Snell envelope on the tree of histories and its stopping time on every path, with the wrong
    variants (:func:`stochdepth.testing.references.tree_snell`)."""
    return tree_snell(ch.P, ch.payoffs, ch.mu, envelope=envelope, rule=rule, tie=TIE)


def _library_tau(ch: Chain, paths: HistoryPaths) -> tuple[float, np.ndarray]:
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
    chains = [tie_chain(), late_chain()]
    for k in range(p["n_random"]):
        S, L = _SHAPES[k % len(_SHAPES)]
        chains.append(random_chain(rng, S, L))
    out = []
    for ch in chains:
        paths = enumerate_paths(ch)
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
        v_tree, tau = chain_snell(ch, envelope=envelope)
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
        _, tau = chain_snell(ch, rule=rule)
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
    crit.add(
        "library_tau_star_is_the_same", lib_mismatch == 0, problems_differing=lib_mismatch, consistency=True
    )
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
    # evidence, not a consistency check: V is identified independently as the limit of the finite-horizon
    # values (criterion above), and the claimed equation (typed here) is evaluated on it
    crit.add("value_solves_bellman_equation", worst_fixed <= 1e-9, max_residual=worst_fixed)
    crit.add("tau_star_attains_the_value", worst_rule <= 1e-9, max_gap=worst_rule)
    crit.add("value_iteration_agrees", worst_vi <= 1e-9, max_gap_beyond_certificates=worst_vi)
    crit.add("library_finite_horizons_agree", worst_lib <= 1e-9, max_gap=worst_lib, consistency=True)
    crit.headline(limit_gap=max(worst_limit, 0.0), certified=max(errors), horizons=max(horizons))
    return crit.verdict("finite horizons + PolicyIteration + ValueIteration")


#: The claims of this section, in the order of the science.
CLAIMS: tuple[Claim, ...] = (_check_b1_snell, _check_b1_smallest, _check_b1_infinite)
