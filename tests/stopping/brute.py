"""Brute-force references for small stopping problems (independent of the library's solvers).

:func:`tree_snell` computes the Snell envelope on the tree of *histories* of a chain (no Markov reduction):
the value is ``max(Z_l, E[U_{l+1} | history])`` at every node, and the smallest optimal stopping time stops
at the first node where ``Z_l`` reaches the continuation value (ties stop, up to a relative rounding
tolerance). Exponential in the horizon: for a handful of states and layers only.
"""

from __future__ import annotations

import numpy as np

from stochdepth.stopping import MarkovStoppingProblem

TIE = 1e-11


def _payoff(prob: MarkovStoppingProblem, l: int, s: int) -> float:
    return float(prob.payoffs(np.array([l]), np.array([s]))[0])


def tree_snell(prob: MarkovStoppingProblem) -> tuple[float, np.ndarray]:
    """(value, law of tau*) by recursion over histories, from the problem's initial law."""
    L = prob.horizon
    assert L is not None
    n = prob.n_states
    mats = [
        prob.chain.dense[prob.chain._k(l)] if prob.chain.dense is not None else prob.chain.csr(l).toarray()
        for l in range(L)
    ]
    pmf = np.zeros(L + 1)

    def envelope(l: int, s: int) -> tuple[float, float]:
        """(U_l, |scale|) at a node; does not depend on the path before s (checked by the recursion)."""
        z = _payoff(prob, l, s)
        if l == L:
            return z, abs(z)
        cont = 0.0
        scale = 0.0
        for t in range(n):
            p = mats[l][s, t]
            if p > 0:
                u, _ = envelope(l + 1, t)
                cont += p * u
                scale += p * abs(u)
        return max(z, cont), abs(z) + scale

    def walk(l: int, s: int, prob_path: float) -> None:
        z = _payoff(prob, l, s)
        if l == L:
            pmf[L] += prob_path
            return
        cont = 0.0
        scale = 0.0
        for t in range(n):
            p = mats[l][s, t]
            if p > 0:
                u, _ = envelope(l + 1, t)
                cont += p * u
                scale += p * abs(u)
        if z >= cont - TIE * (abs(z) + scale):
            pmf[l] += prob_path
            return
        for t in range(n):
            p = mats[l][s, t]
            if p > 0:
                walk(l + 1, t, prob_path * p)

    mu = prob.initial_law()
    value = 0.0
    for s in range(n):
        if mu[s] > 0:
            value += mu[s] * envelope(0, s)[0]
            walk(0, s, mu[s])
    return value, pmf


def enumerate_markov_rules(prob: MarkovStoppingProblem) -> float:
    """Best value over all deterministic Markov stopping rules (2^(S L) of them) by exact evaluation."""
    L = prob.horizon
    assert L is not None
    n = prob.n_states
    mu0 = prob.initial_law()
    best = -np.inf
    for code in range(2 ** (n * L)):
        bits = [(code >> k) & 1 for k in range(n * L)]
        stop = np.array(bits, dtype=bool).reshape(L, n)
        total = 0.0
        mu = mu0.copy()
        for l in range(L + 1):
            here = stop[l] if l < L else np.ones(n, bool)
            z = prob.payoffs(np.full(n, l), np.arange(n))
            total += float(mu[here] @ z[here])
            if l < L:
                mu = prob.chain.push(l, mu, ~stop[l])
        best = max(best, total)
    return best
