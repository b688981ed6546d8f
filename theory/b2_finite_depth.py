r"""Theorem book, docs/science.md §B2: finite optimal depth.

The three finite-depth bounds (bounded gains, summable residuals, geometric diminishing returns) and the
optimality of one-step look-ahead in the monotone case. Random residual families satisfying each
hypothesis, tight families that reach the bounds, and families that violate a hypothesis (where the
conclusion must fail) are checked against the library's bounds (:mod:`stochdepth.stopping`) and against
the bounds computed here from the definitions. The random chains come from
:mod:`stochdepth.testing.generators` (monotone chains by construction); the residual families follow the
constructions of :mod:`stochdepth.testing.strategies` but are drawn with numpy from the seed (the book
runs without hypothesis).
Conventions: :mod:`theory.common`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stochdepth.depth import residual_path_problem
from stochdepth.stopping import (
    BackwardInduction,
    MarkovStoppingProblem,
    OneStepLookAhead,
    PathStoppingProblem,
    bounded_gains_bound,
    geometric_depth_bound,
    is_monotone,
    solve_stopping,
    summable_residuals_bound,
)
from stochdepth.testing.generators import random_lattice_problem, random_monotone_problem

from .b1_model import chain_snell, enumerate_paths, random_chain
from .book import Claim, Verdict, claim
from .common import (
    EXACT_TOL,
    TIE,
    Criteria,
    at_most,
    close,
    params,
    stream,
)

__all__ = ["CLAIMS", "own_bounds", "pathwise_tau", "straight_family", "violating_family"]

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


def straight_family(rng: np.random.Generator, *, geometric: bool) -> _Family:
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


def violating_family(rng: np.random.Generator, kind: str) -> _Family:
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


def pathwise_tau(prob: PathStoppingProblem) -> np.ndarray:
    """Smallest maximiser of each deterministic path's payoff (the optimal depth of that input)."""
    Z = prob.payoffs
    top = Z.max(axis=1, keepdims=True)
    return np.argmax(top - TIE * (1.0 + np.abs(top)) <= Z, axis=1)


def own_bounds(
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
    tau = pathwise_tau(prob)
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
    out["tight-constant"] = [straight_family(rng, geometric=False) for _ in range(p["n_tight"])]
    out["tight-geometric"] = [straight_family(rng, geometric=True) for _ in range(p["n_tight"])]
    out["steep-gain"] = [violating_family(rng, "steep-gain") for _ in range(p["n_tight"])]
    out["growing"] = [violating_family(rng, "growing") for _ in range(p["n_tight"])]
    return out


@functools.lru_cache(maxsize=8)
def _b2_chains(level: str, seed: int) -> list[dict[str, Any]]:
    """Small chains with costs >= 1/8 (bounded gains), solved by path enumeration and by the library."""
    p = params(level, quick={"n_random": 18}, full={"n_random": 120})
    rng = np.random.default_rng(stream(seed, "B2", "chains"))
    out = []
    for k in range(p["n_random"]):
        S, L = ((2, 3), (3, 3), (3, 4), (4, 2))[k % 4]
        ch = random_chain(rng, S, L, min_cost=0.125)
        paths = enumerate_paths(ch)
        _, tau = chain_snell(ch)
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
    return PathStoppingProblem(
        np.zeros((1, L + 1)), gains, costs, deterministic=True, gains_observed=True
    ), c0


def _summary(values: list[float]) -> list[float]:
    """[min, median, max] of measured tightnesses."""
    return [min(values), float(np.median(values)), max(values)]


@dataclass
class _BoundTally:
    """One expected-depth bound checked over many problems against the library's version of it.

    ``add`` counts the problems where the bound (scaled by ``factor``) fails, where the library's
    bound fails although its hypotheses hold, and where the two disagree; it keeps the tightness
    ``E tau* / bound`` of each kind of problem with a positive bound.
    """

    factor: float
    own_bad: int = 0
    lib_bad: int = 0
    mismatch: int = 0
    tight: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, e_tau: float, bound: float, lib: Any) -> None:
        self.own_bad += not at_most(e_tau, self.factor * bound)
        lib_depth = lib.expected_depth.value
        self.lib_bad += not (lib.hypotheses_hold and at_most(lib_depth, self.factor * lib.bound))
        self.mismatch += not (close(bound, lib.bound) and close(e_tau, lib_depth))
        if bound > 0:
            self.tight.setdefault(kind, []).append(e_tau / bound)

    def note_tightness(self, crit: Criteria) -> None:
        crit.note(**{f"tightness_{k}": _summary(v) for k, v in self.tight.items()})

    def headline(self, crit: Criteria) -> None:
        crit.headline(violations=self.own_bad, tightness=max(max(v) for v in self.tight.values()))


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
    tally = _BoundTally(factor)
    kinds = (*_KINDS, "tight-constant", "tight-geometric")
    for kind in kinds:
        for f in fams[kind]:
            own = own_bounds(f.problem, f.lipschitz, f.envelope)
            tally.add(kind, own["e_tau"], own["bounded"], bounded_gains_bound(f.problem))
    for r in chains:
        tally.add("chains", r["e_tau"], r["esup_minus_g0"] / r["c"], r["library"])
    cex, c0 = _decreasing_cost_family(np.random.default_rng(stream(seed, "B2", "decreasing-costs")))
    cex_tau = float(pathwise_tau(cex)[0])
    cex_bound = float(cex.gains[0, -1] - cex.gains[0, 0]) / c0
    n = sum(len(fams[k]) for k in kinds) + len(chains)
    crit.note(problems=n, factor=factor, chains=len(chains))
    tally.note_tightness(crit)
    crit.add("holds_on_every_problem", tally.own_bad == 0, violations=tally.own_bad)
    crit.add("library_bound_holds_with_hypotheses", tally.lib_bad == 0, violations=tally.lib_bad)
    crit.add(
        "library_agrees_with_enumeration", tally.mismatch == 0, mismatches=tally.mismatch, consistency=True
    )
    crit.add(
        "positive_cost_floor_is_needed",
        cex_tau > cex_bound,
        counterexample_tau=cex_tau,
        bound_with_c0=cex_bound,
        consistency=True,
    )
    tally.headline(crit)
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
    tally = _BoundTally(factor)
    hyp_bad = 0
    kinds = (*_KINDS, "tight-constant", "tight-geometric")
    for kind in kinds:
        for f in fams[kind]:
            prob = f.problem
            norms = np.linalg.norm(np.diff(prob.features, axis=1), axis=2)
            hyp_bad += int(np.any(norms > f.envelope[None, :] * (1 + 1e-9) + 1e-12))
            own = own_bounds(prob, f.lipschitz, f.envelope)
            lib = summable_residuals_bound(prob, f.lipschitz, residual_bounds=f.envelope)
            tally.add(kind, own["e_tau"], own["summable"], lib)
    steep = fams["steep-gain"]
    fails = flagged = 0
    for f in steep:
        own = own_bounds(f.problem, f.lipschitz, f.envelope)
        lib = summable_residuals_bound(f.problem, f.lipschitz, residual_bounds=f.envelope)
        fails += own["e_tau"] > own["summable"]
        flagged += not lib.hypotheses["lipschitz_consistent"] and not lib.holds
    crit.note(families=sum(len(fams[k]) for k in kinds), factor=factor)
    tally.note_tightness(crit)
    crit.add("families_satisfy_hypotheses", hyp_bad == 0, violations=hyp_bad, consistency=True)
    crit.add("holds_on_every_family", tally.own_bad == 0, violations=tally.own_bad)
    crit.add("library_bound_holds_with_hypotheses", tally.lib_bad == 0, violations=tally.lib_bad)
    crit.add("library_agrees", tally.mismatch == 0, mismatches=tally.mismatch, consistency=True)
    crit.add(
        "lipschitz_hypothesis_is_needed",
        fails == len(steep) and flagged == len(steep),
        steep_gain_failures=fails,
        flagged_by_library=flagged,
        consistency=True,
    )
    tally.headline(crit)
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
            own = own_bounds(prob, f.lipschitz, f.envelope, f.C, f.rho)
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
    crit.add("library_agrees", mismatch == 0, mismatches=mismatch, consistency=True)
    crit.add(
        "decay_hypothesis_is_needed",
        fails == len(grow) and flagged == len(grow),
        growing_failures=fails,
        flagged_by_library=flagged,
        consistency=True,
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
    crit.add("own_recursions_agree_with_library", agree, consistency=True)
    crit.add("monotonicity_is_needed", len(worse) >= 1, counterexamples=len(worse), consistency=True)
    crit.headline(gap_monotone=gap, losses_non_monotone=len(worse))
    return crit.verdict("exact recursions + OneStepLookAhead + is_monotone")


#: The claims of this section, in the order of the science.
CLAIMS: tuple[Claim, ...] = (_check_b2_bounded, _check_b2_summable, _check_b2_geometric, _check_b2_osla)
