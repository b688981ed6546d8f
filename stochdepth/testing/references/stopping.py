"""Plain numpy references of the discrete stopping kernels and of Longstaff-Schwartz.

They implement the same algorithms as the library in the most direct numpy way, without kernels,
chunking or condition checks, so that the tests can compare results and the benchmarks can measure
what the kernels buy.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ...stopping import MarkovStoppingProblem

__all__ = [
    "banded_backward_induction",
    "dense_backward_induction",
    "enumerate_markov_rules",
    "gbm_paths",
    "longstaff_schwartz_max_call",
]


def banded_backward_induction(
    bands: np.ndarray, lower: int, gains: np.ndarray, costs: np.ndarray, beta: float, tie_tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """Backward induction with banded transitions, vectorised over states (shifted slices per band)."""
    lb, n, w = bands.shape
    L = costs.shape[0]
    values = np.empty((L + 1, n))
    stop = np.empty((L + 1, n), dtype=bool)
    values[L] = gains[-1]
    stop[L] = True
    pad_lo, pad_hi = lower, w - 1 - lower
    for l in range(L - 1, -1, -1):
        b = bands[l if lb > 1 else 0]
        g = gains[l if gains.shape[0] > 1 else 0]
        vp = np.concatenate([np.zeros(pad_lo), values[l + 1], np.zeros(pad_hi)])
        ap = np.abs(vp)
        acc = np.zeros(n)
        aacc = np.zeros(n)
        for k in range(w):
            acc += b[:, k] * vp[k : k + n]
            aacc += b[:, k] * ap[k : k + n]
        cont = -costs[l] + beta * acc
        st = g >= cont - tie_tol * (np.abs(g) + abs(costs[l]) + beta * aacc)
        values[l] = np.maximum(g, cont)
        stop[l] = st
    return values, stop


def dense_backward_induction(P: np.ndarray, gains: np.ndarray, costs: np.ndarray, beta: float) -> np.ndarray:
    """Values of backward induction with dense matrices ``(L or 1, S, S)`` (matrix-vector products)."""
    L = costs.shape[0]
    v = gains[-1].copy()
    out = [v]
    for l in range(L - 1, -1, -1):
        g = gains[l if gains.shape[0] > 1 else 0]
        v = np.maximum(g, -costs[l] + beta * (P[l if P.shape[0] > 1 else 0] @ v))
        out.append(v)
    return np.array(out[::-1])


def gbm_paths(
    rng: np.random.Generator, s0: np.ndarray, drift: np.ndarray, chol: np.ndarray, n_steps: int, m: int
) -> np.ndarray:
    """Exact GBM paths ``(m, n_steps + 1, d)`` with numpy (cumulative sum of log increments)."""
    d = s0.size
    z = rng.standard_normal((m, n_steps, d))
    inc = drift + z @ chol.T
    logs = np.log(s0) + np.concatenate([np.zeros((m, 1, d)), np.cumsum(inc, axis=1)], axis=1)
    return np.exp(logs)


def _poly_design(x: np.ndarray, degree: int) -> np.ndarray:
    """Monomials of total degree <= ``degree`` in the columns of ``x`` (plain numpy)."""
    m, d = x.shape
    cols = [np.ones(m)]

    def rec(start: int, deg: int, cur: np.ndarray) -> None:
        if deg == 0:
            return
        for j in range(start, d):
            nxt = cur * x[:, j]
            cols.append(nxt)
            rec(j, deg - 1, nxt)

    rec(0, degree, np.ones(m))
    return np.stack(cols, axis=1)


def longstaff_schwartz_max_call(
    rng: np.random.Generator,
    spot: float,
    strike: float,
    rate: float,
    volatility: float,
    dividend: float,
    maturity: float,
    n_dates: int,
    n_assets: int,
    n_train: int,
    n_eval: int,
    degree: int = 3,
) -> tuple[float, float]:
    """Longstaff-Schwartz lower bound of a Bermudan max-call written plainly in numpy.

    Same algorithm as the library's :class:`~stochdepth.stopping.LongstaffSchwartz` with ``itm_only`` and a
    polynomial basis in the standardised sorted prices: simulate, regress backwards with ``lstsq``,
    evaluate the policy on independent paths. Returns (estimate, standard error) without control
    variates.
    """
    dt = maturity / n_dates
    drift = np.full(n_assets, (rate - dividend - 0.5 * volatility**2) * dt)
    chol = np.eye(n_assets) * volatility * math.sqrt(dt)
    s0 = np.full(n_assets, spot)
    disc = math.exp(-rate * dt) ** np.arange(n_dates + 1)

    def features(S: np.ndarray) -> np.ndarray:
        return -np.sort(-S, axis=-1)

    S = gbm_paths(rng, s0, drift, chol, n_dates, n_train)
    Z = np.maximum(S.max(axis=2) - strike, 0.0) * disc
    cash = Z[:, -1].copy()
    coefs = [None] * n_dates
    for l in range(n_dates - 1, -1, -1):
        itm = Z[:, l] > 0
        if itm.sum() == 0:
            continue
        x = features(S[itm, l])
        mu, sd = x.mean(axis=0), x.std(axis=0)
        sd[sd == 0] = 1.0
        B = _poly_design((x - mu) / sd, degree if l > 0 else 0)
        beta = np.linalg.lstsq(B, cash[itm], rcond=None)[0]
        coefs[l] = (mu, sd, beta)
        ex = Z[itm, l] >= B @ beta
        idx = np.nonzero(itm)[0][ex]
        cash[idx] = Z[idx, l]
    S = gbm_paths(rng, s0, drift, chol, n_dates, n_eval)
    Z = np.maximum(S.max(axis=2) - strike, 0.0) * disc
    out = Z[:, -1].copy()
    alive = np.ones(n_eval, dtype=bool)
    for l in range(n_dates):
        if coefs[l] is None:
            continue
        mu, sd, beta = coefs[l]
        cand = alive & (Z[:, l] > 0)
        x = features(S[cand, l])
        B = _poly_design((x - mu) / sd, degree if l > 0 else 0)
        ex = Z[cand, l] >= B @ beta
        idx = np.nonzero(cand)[0][ex]
        out[idx] = Z[idx, l]
        alive[idx] = False
    return float(out.mean()), float(out.std(ddof=1) / math.sqrt(n_eval))


def enumerate_markov_rules(prob: MarkovStoppingProblem) -> float:
    """Best value over all deterministic Markov stopping rules (2^(S L) of them) by exact evaluation.

    Exponential in ``S L``: for a handful of states and layers only.
    """
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
