r"""Brute-force references for small finite-horizon stopping problems on chains (docs/science.md §B1),
independent of the library's solvers.

* :func:`enumerate_histories`: every path :math:`(s_0,\dots,s_L)` of a chain with its probability and
  payoffs, and the index of each history :math:`(s_0,\dots,s_l)`, :math:`l<L`;
* :func:`brute_force_rules`: the value and stopping layers of *every* stopping rule (a stop/continue
  decision on each history), :math:`2^{\#\text{histories}}` of them;
* :func:`tree_snell`: the Snell envelope on the tree of histories (no Markov reduction) and its
  stopping time on every path, with the wrong variants the theorem book rejects.

The inputs are arrays: transitions ``(L, S, S)``, Markov payoffs ``(L + 1, S)`` (:math:`Z_l=z_l(s_l)`)
and an initial law ``(S,)``; :func:`problem_arrays` extracts them from a
:class:`~stochdepth.stopping.MarkovStoppingProblem`. Everything is exponential in the horizon: a handful
of states and layers only.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ...stopping import MarkovStoppingProblem

__all__ = [
    "HistoryPaths",
    "brute_force_rules",
    "enumerate_histories",
    "problem_arrays",
    "stopping_law",
    "tree_snell",
]

#: Relative tolerance of the ties between stopping and continuing (sums of a few terms of order 1).
TIE = 1e-10


@dataclass(frozen=True)
class HistoryPaths:
    """Every path of a chain, in lexicographic order (first layer most significant).

    Attributes
    ----------
    states : ndarray, shape (N, L + 1)
        The states of each path, :math:`N=S^{L+1}`.
    prob : ndarray, shape (N,)
        Probability of each path.
    Z : ndarray, shape (N, L + 1)
        Payoff :math:`Z_l` along each path.
    hist : ndarray, shape (N, L)
        Index of the history :math:`(s_0..s_l)` among all ``n_hist`` histories of length ``< L + 1``.
    n_hist : int
        Number of histories :math:`\\sum_{l<L}S^{l+1}`.
    """

    states: np.ndarray
    prob: np.ndarray
    Z: np.ndarray
    hist: np.ndarray
    n_hist: int


def problem_arrays(prob: MarkovStoppingProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(transitions (L, S, S), payoffs (L + 1, S), initial (S,))`` of a finite-horizon problem."""
    L = prob.horizon
    if L is None:
        raise ValueError("problem_arrays needs a finite horizon, got an infinite-horizon problem")
    S = prob.n_states
    P = np.stack([prob.chain.csr(l).toarray() for l in range(L)])
    Z = np.stack([prob.payoffs(np.full(S, l), np.arange(S)) for l in range(L + 1)])
    return P, Z, prob.initial_law()


def enumerate_histories(transitions: np.ndarray, payoffs: np.ndarray, initial: np.ndarray) -> HistoryPaths:
    """Every path of the chain with its probability, payoffs and history indices."""
    P, z, mu = np.asarray(transitions), np.asarray(payoffs), np.asarray(initial)
    L, S = P.shape[0], P.shape[1]
    states = np.array(list(itertools.product(range(S), repeat=L + 1)), dtype=np.int64)
    prob = mu[states[:, 0]].copy()
    for l in range(L):
        prob *= P[l, states[:, l], states[:, l + 1]]
    Z = z[np.arange(L + 1)[None, :], states]
    hist = np.empty((states.shape[0], L), dtype=np.int64)
    code = np.zeros(states.shape[0], dtype=np.int64)
    offset = 0
    for l in range(L):
        code = code * S + states[:, l]
        hist[:, l] = offset + code
        offset += S ** (l + 1)
    return HistoryPaths(states, prob, Z, hist, offset)


def brute_force_rules(paths: HistoryPaths) -> tuple[np.ndarray, np.ndarray]:
    r"""Value and stopping layers of *every* stopping rule (a stop/continue decision on each history):
    ``(values (R,), tau (R, N))`` with :math:`R=2^{\text{n\_hist}}`."""
    H = paths.n_hist
    L = paths.Z.shape[1] - 1
    rules = ((np.arange(2**H, dtype=np.int64)[:, None] >> np.arange(H)[None, :]) & 1).astype(bool)
    stop = rules[:, paths.hist]  # (R, N, L)
    tau = np.where(stop.any(axis=2), stop.argmax(axis=2), L)
    z = np.take_along_axis(np.broadcast_to(paths.Z, (rules.shape[0], *paths.Z.shape)), tau[:, :, None], 2)
    return (z[:, :, 0] * paths.prob[None, :]).sum(axis=1), tau


def tree_snell(
    transitions: np.ndarray,
    payoffs: np.ndarray,
    initial: np.ndarray,
    *,
    envelope: str = "max",
    rule: str = "smallest",
    tie: float = TIE,
) -> tuple[float, np.ndarray]:
    r"""Snell envelope on the tree of histories (no Markov reduction) and its stopping time on every path.

    ``envelope="max"``: :math:`U_L=Z_L`, :math:`U_l=\max(Z_l,\mathbb E[U_{l+1}\mid\mathcal F_l])` (the
    claim); ``"no-max"``: :math:`U_l=\mathbb E[U_{l+1}\mid\mathcal F_l]` (a wrong variant).
    ``rule="smallest"``: :math:`\tau=\min\{l:U_l=Z_l\}` (the claim); ``"ties-continue"``:
    :math:`\min\{l:Z_l>\mathbb E[U_{l+1}\mid\mathcal F_l]\}`; ``"myopic"``:
    :math:`\min\{l:Z_l\ge\mathbb E[Z_{l+1}\mid\mathcal F_l]\}` (wrong variants). Equalities hold up to
    ``tie`` relative to :math:`1+|Z_l|+|\mathbb E[U_{l+1}\mid\mathcal F_l]|`.

    Returns :math:`\mathbb EU_0` and :math:`\tau` on the paths of :func:`enumerate_histories`.
    """
    P, z, mu = np.asarray(transitions), np.asarray(payoffs), np.asarray(initial)
    L, S = P.shape[0], P.shape[1]

    def payoff(l: int) -> np.ndarray:
        return np.broadcast_to(z[l], (S,) * (l + 1))

    U = payoff(L).copy()
    stops: list[np.ndarray] = [np.ones((S,) * (L + 1), dtype=bool)] * (L + 1)
    for l in range(L - 1, -1, -1):
        cont = (U * P[l]).sum(axis=-1)  # E[U_{l+1} | s_0..s_l]: P_l acts on the last two axes
        zl = payoff(l)
        scale = 1.0 + np.abs(zl) + np.abs(cont)
        U = np.maximum(zl, cont) if envelope == "max" else cont.copy()
        if rule == "smallest":
            stop = np.abs(U - zl) <= tie * scale
        elif rule == "ties-continue":
            stop = zl > cont + tie * scale
        elif rule == "myopic":
            nxt = (payoff(l + 1) * P[l]).sum(axis=-1)
            stop = zl >= nxt - tie * scale
        else:
            raise ValueError(f"unknown rule {rule!r}")
        stops[l] = np.broadcast_to(stop.reshape(stop.shape + (1,) * (L - l)), (S,) * (L + 1))
    table = np.stack([s.reshape(-1) for s in stops], axis=1)  # (N, L + 1), paths in lexicographic order
    tau = table.argmax(axis=1)
    return float(mu @ U), tau


def stopping_law(paths: HistoryPaths, tau: np.ndarray) -> np.ndarray:
    """The law of a stopping layer given on every path: ``pmf[l] = P(tau = l)``, ``l = 0..L``."""
    return np.bincount(tau, weights=paths.prob, minlength=paths.Z.shape[1])
