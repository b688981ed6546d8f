"""Hypothesis strategies for stopping problems (reusable; the lead may move public ones to
``stochdepth.strategies``).

* :func:`stochastic_matrices` -- row-stochastic matrices with some exact zeros;
* :func:`markov_problems` -- small random finite-horizon chains (homogeneous or layer-dependent, with
  random gains, costs, discount and initial law), small enough for brute force;
* :func:`infinite_problems` -- homogeneous chains with ``c > 0`` or ``beta < 1`` (finite value);
* :func:`monotone_problems` -- chains whose one-step look-ahead sets are absorbing (by construction);
* :func:`residual_families` -- deterministic residual networks ``h_{l+1} = h_l + f_l(h_l)`` with
  ``sup ||f_l|| <= C rho^l`` and a 1-Lipschitz gain (``satisfying=True``), or families that violate a
  hypothesis of SCIENCE.md B2 (growing residuals, or a gain steeper than the declared constant).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as hst

from stochdepth.stopping import MarkovStoppingProblem, residual_path_problem

__all__ = [
    "ResidualFamily",
    "infinite_problems",
    "markov_problems",
    "monotone_problems",
    "residual_families",
    "stochastic_matrices",
]

# gains and costs on a coarse grid so that exact ties (which must stop) happen often
_values = hst.integers(-8, 8).map(lambda k: k / 4.0)


@hst.composite
def stochastic_matrices(draw: Any, n: int) -> np.ndarray:
    """An ``(n, n)`` row-stochastic matrix with integer weights (zeros included) normalised per row."""
    rows = []
    for _ in range(n):
        w = np.array(draw(hst.lists(hst.integers(0, 4), min_size=n, max_size=n)), dtype=float)
        if w.sum() == 0:
            w[draw(hst.integers(0, n - 1))] = 1.0
        rows.append(w / w.sum())
    return np.array(rows)


@hst.composite
def markov_problems(draw: Any, max_states: int = 4, max_horizon: int = 4) -> MarkovStoppingProblem:
    """A small random finite-horizon problem with an initial law."""
    n = draw(hst.integers(1, max_states))
    L = draw(hst.integers(1, max_horizon))
    layer_dep = draw(hst.booleans())
    P = (
        np.stack([draw(stochastic_matrices(n)) for _ in range(L)])
        if layer_dep
        else draw(stochastic_matrices(n))
    )
    per_layer_gains = draw(hst.booleans())
    g = np.array(draw(hst.lists(_values, min_size=n * (L + 1), max_size=n * (L + 1)))).reshape(L + 1, n)
    gains = g if per_layer_gains else g[0]
    costs: Any
    if draw(hst.booleans()):
        costs = float(draw(hst.integers(0, 4))) / 8.0
    else:
        costs = np.array(draw(hst.lists(hst.integers(0, 4), min_size=L, max_size=L)), dtype=float) / 8.0
    discount = draw(hst.sampled_from([1.0, 1.0, 0.9]))
    w = np.array(draw(hst.lists(hst.integers(0, 3), min_size=n, max_size=n)), dtype=float)
    if w.sum() == 0:
        w[0] = 1.0
    return MarkovStoppingProblem(P, gains, costs, horizon=L, discount=discount, initial=w / w.sum())


@hst.composite
def infinite_problems(draw: Any, max_states: int = 6) -> MarkovStoppingProblem:
    """A homogeneous infinite-horizon problem: ``c > 0`` (``beta`` in {1, 0.95}) or ``c = 0, beta < 1``."""
    n = draw(hst.integers(1, max_states))
    P = draw(stochastic_matrices(n))
    g = np.array(draw(hst.lists(_values, min_size=n, max_size=n)))
    beta = draw(hst.sampled_from([1.0, 0.95]))
    c = draw(hst.integers(1 if beta == 1.0 else 0, 4)) / 8.0
    w = np.array(draw(hst.lists(hst.integers(0, 3), min_size=n, max_size=n)), dtype=float)
    if w.sum() == 0:
        w[-1] = 1.0
    return MarkovStoppingProblem(P, g, c, discount=beta, initial=w / w.sum())


@hst.composite
def monotone_problems(draw: Any, max_states: int = 6, max_horizon: int = 6) -> MarkovStoppingProblem:
    """Monotone problems by construction: an upward chain on ``0..n-1`` (state ``n - 1`` absorbing) whose
    one-step gain ``d(s) = E[g(s') | s] - g(s) - c`` is non-increasing in ``s``. The look-ahead set
    ``{d <= 0}`` is then an up-set, closed under upward moves (Chow, Robbins & Siegmund 1971, §3.5)."""
    n = draw(hst.integers(2, max_states))
    L = draw(hst.integers(1, max_horizon))
    c = draw(hst.integers(1, 4)) / 8.0
    P = np.zeros((n, n))
    for s in range(n - 1):
        w = np.array(draw(hst.lists(hst.integers(0, 3), min_size=n - s, max_size=n - s)), dtype=float)
        w[0] = min(w[0], 2.0)
        if w[1:].sum() == 0:
            w[1] = 1.0  # always some chance to move up
        P[s, s:] = w / w.sum()
    P[n - 1, n - 1] = 1.0
    # target one-step gains: non-increasing, d(n-1) = -c (absorbing top), all >= -c
    d = np.sort(
        np.array(draw(hst.lists(hst.integers(-1, 6), min_size=n - 1, max_size=n - 1)), dtype=float) / 4.0
    )[::-1]
    d = np.maximum(d, -c)
    d = np.concatenate([d, [-c]])
    g = np.zeros(n)
    g[n - 1] = draw(_values)
    for s in range(n - 2, -1, -1):
        # d(s) = sum_{s' > s} P g(s') + P(s, s) g(s) - g(s) - c
        up = P[s, s + 1 :] @ g[s + 1 :]
        g[s] = (up - c - d[s]) / (1.0 - P[s, s])
    w = np.array(draw(hst.lists(hst.integers(0, 3), min_size=n, max_size=n)), dtype=float)
    if w.sum() == 0:
        w[0] = 1.0
    return MarkovStoppingProblem(P, g, c, horizon=L, initial=w / w.sum())


@dataclass(frozen=True)
class ResidualFamily:
    """A drawn residual family and the constants it was built with."""

    problem: Any
    lipschitz: float
    C: float
    rho: float
    cost: float
    satisfying: bool
    violation: str


def _unit_field(A: np.ndarray, b: np.ndarray, h: np.ndarray) -> np.ndarray:
    """A vector field of norm <= 1: tanh(h A^T + b) scaled into the unit ball."""
    v = np.tanh(h @ A.T + b)
    nrm = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(nrm, 1.0)


@hst.composite
def residual_families(draw: Any, satisfying: bool = True) -> ResidualFamily:
    """Deterministic residual networks with gain ``-||h - y||`` (1-Lipschitz).

    ``satisfying=True``: ``f_l = C rho^l u_l(h)`` with ``||u_l|| <= 1``, ``rho < 1``. Otherwise one
    hypothesis is violated: ``"growth"`` (``rho > 1``: residuals grow, the declared envelope uses a
    smaller rate) or ``"lipschitz"`` (the gain is ``-K ||h - y||`` with ``K > 1`` but declared 1).
    """
    d = draw(hst.integers(1, 3))
    L = draw(hst.integers(1, 25))
    m = draw(hst.integers(1, 12))
    seed = draw(hst.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    C = draw(hst.floats(0.1, 3.0))
    rho = draw(hst.floats(0.3, 0.95))
    cost = draw(hst.floats(0.01, 1.0))
    violation = "" if satisfying else draw(hst.sampled_from(["growth", "lipschitz"]))
    true_rho = draw(hst.floats(1.05, 1.3)) if violation == "growth" else rho
    K = draw(hst.floats(2.0, 5.0)) if violation == "lipschitz" else 1.0
    A = rng.normal(size=(L, d, d)) * 2
    b = rng.normal(size=(L, d))
    y = rng.normal(size=d)
    h0 = rng.normal(size=(m, d)) * 2

    def residual(l: int, h: np.ndarray) -> np.ndarray:
        return C * true_rho**l * _unit_field(A[l], b[l], h)

    def gain(h: np.ndarray) -> np.ndarray:
        return -K * np.linalg.norm(h - y, axis=1)

    prob = residual_path_problem(residual, gain, h0, L, cost)
    return ResidualFamily(prob, 1.0, C, rho, cost, satisfying, violation)
