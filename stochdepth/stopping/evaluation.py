r"""Exact evaluation of stopping rules on finite Markov chains.

A *rule* is a table of stopping regions: ``(L + 1, S)`` booleans in finite horizon, or ``(S,)`` for a
stationary rule in infinite horizon. This module computes its exact value and the law of its stopping
time (used by the solvers of :mod:`.markov` and by :meth:`~stochdepth.stopping.Policy.evaluate`), and the
linear algebra behind them: which states can reach a set, the restricted systems
:math:`(I-\beta P_{II})x=b`, the moments of exit times and absorption probabilities.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla

from .._checks import check_int, check_real
from . import _kernels as K
from .problems import MarkovStoppingProblem
from .results import DepthLaw
from .transitions import Chain

__all__ = [
    "absorption_probability",
    "expected_exit_time",
    "reach",
    "solve_restricted",
    "stopping_law",
    "stopping_value",
]


def stopping_law(
    problem: MarkovStoppingProblem,
    stop: np.ndarray,
    mu: np.ndarray,
    *,
    max_depth: int = 100_000,
    tail_tol: float = 1e-12,
) -> DepthLaw:
    """Exact law of the first layer at which the chain enters the stopping regions ``stop``.

    ``stop`` is ``(L + 1, S)`` (finite horizon; the last row is ignored: the horizon forces a stop) or
    ``(S,)`` for a stationary rule in infinite horizon (see
    :meth:`stochdepth.stopping.MarkovSolution.depth_law`).
    """
    max_depth = check_int("max_depth", max_depth, min=1)
    tail_tol = check_real("tail_tol", tail_tol, lo=0.0)
    chain = problem.chain
    if stop.ndim == 2:
        L = stop.shape[0] - 1
        pmf = np.zeros(L + 1)
        cur = mu
        for l in range(L):
            pmf[l] = cur[stop[l]].sum()
            cur = chain.push(l, cur, ~stop[l])
        pmf[L] = cur.sum()
        return DepthLaw.from_pmf(pmf)
    m1, m2 = expected_exit_time(chain, stop, moments=2)
    support = mu > 0
    mean = float(mu[support] @ m1[support]) if np.all(np.isfinite(m1[support])) else math.inf
    second = float(mu[support] @ m2[support]) if math.isfinite(mean) else math.inf
    # mass that never stops: P(tau = inf) = 1 - P(reach the stopping set), solved exactly
    never = 0.0
    if not math.isfinite(mean):
        never = max(0.0, 1.0 - float(mu @ absorption_probability(chain, stop)))
    pmf_list = []
    cur = mu
    keep = ~stop
    for _ in range(max_depth + 1):
        pmf_list.append(float(cur[stop].sum()))
        cur = chain.push(0, cur, keep)
        if cur.sum() - never <= tail_tol:
            break
    tail = float(cur.sum())
    return DepthLaw.from_pmf(np.array(pmf_list), tail=tail, mean=mean, second=second)


def absorption_probability(chain: Chain, stop: np.ndarray) -> np.ndarray:
    """Probability of ever entering ``stop`` from each state (minimal solution of h = P h off ``stop``)."""
    P = chain.csr(0)
    h = stop.astype(float)
    R = reach(P, stop, ~stop)
    idx = np.nonzero(R)[0]
    if idx.size:
        didx = np.nonzero(stop)[0]
        rhs = P[idx][:, didx] @ np.ones(didx.size)
        h[idx] = solve_restricted(P, idx, 1.0, rhs)
    return np.clip(h, 0.0, 1.0)


def stopping_value(problem: MarkovStoppingProblem, stop: np.ndarray, mu: np.ndarray) -> float:
    r"""Exact :math:`\mathbb E Z_\tau` (layer-0 units) of the rule "stop in ``stop``" from ``mu``.

    Finite horizon: forward propagation. Infinite horizon (stationary ``stop``): the linear system
    :math:`(I-\beta P_{CC})v_C=-c+\beta P_{CD}g_D`. Returns ``-inf`` when the rule misses its stopping
    set with positive probability and costs are positive.
    """
    chain = problem.chain
    beta = problem.discount
    if stop.ndim == 2:
        L = stop.shape[0] - 1
        total = 0.0
        cur = mu
        states = np.arange(problem.n_states)
        for l in range(L + 1):
            here = stop[l] if l < L else np.ones(problem.n_states, bool)
            if np.any(here & (cur > 0)):
                z = problem.payoffs(np.full(problem.n_states, l), states)
                total += float(cur[here] @ z[here])
            if l < L:
                cur = chain.push(l, cur, ~stop[l])
        return total
    g = problem.gains[0]
    c = float(problem.costs[0])
    v = g.astype(float).copy()
    C = ~stop
    if C.any():
        P = chain.csr(0)
        if beta == 1.0:
            (m1,) = expected_exit_time(chain, stop)
            if np.any(np.isinf(m1) & (mu > 0)):
                return -math.inf if c > 0 else math.nan
            idx = np.nonzero(C & np.isfinite(m1))[0]
        else:
            idx = np.nonzero(C)[0]
        didx = np.nonzero(stop)[0]
        rhs = -c + beta * (P[idx][:, didx] @ g[didx] if didx.size else np.zeros(idx.size))
        v[idx] = solve_restricted(P, idx, beta, rhs)
    support = mu > 0
    return float(mu[support] @ v[support])


def reach(P: sp.csr_array, target: np.ndarray, through: np.ndarray) -> np.ndarray:
    """States of ``through`` that can reach ``target`` along transitions that stay in ``through``.

    One breadth-first search, O(nnz), on the reversed graph of the positive transitions
    out of ``through``, started from all of ``target`` at once (a virtual source linked to each).
    """
    P = sp.csr_array(P)
    n = P.shape[0]
    rows = np.repeat(np.arange(n), np.diff(P.indptr))
    edge = (P.data > 0) & through[rows]
    src, dst = rows[edge], P.indices[edge]
    starts = np.nonzero(target)[0]
    # reversed edges dst -> src, and the virtual source n -> every target state
    head = np.concatenate([dst, np.full(starts.size, n)])
    tail = np.concatenate([src, starts])
    G = sp.csr_array((np.ones(head.size), (head, tail)), shape=(n + 1, n + 1))
    order = csgraph.breadth_first_order(G, n, directed=True, return_predecessors=False)
    reached = np.zeros(n + 1, dtype=bool)
    reached[order] = True
    return reached[:n] & through


def solve_restricted(P: sp.csr_array, idx: np.ndarray, beta: float, rhs: np.ndarray) -> np.ndarray:
    r"""Solve :math:`(I-\beta P_{II})x=\text{rhs}` on the index set ``idx``.

    The matrix is an M-matrix. Banded systems (narrow, or with a mostly filled band: random walks on
    grids) use a numba banded elimination without pivoting (work :math:`O(n\,k_lk_u)`, single-threaded,
    deterministic); others SuperLU. The last factorisation is kept with ``P``: policy evaluation, the
    certificate and the exit-time moments of one stopping set share it. A singular system raises
    :class:`numpy.linalg.LinAlgError`.
    """
    idx = np.asarray(idx, dtype=np.int64)
    digest = hashlib.blake2b(idx.tobytes(), digest_size=16).digest()
    key = (float(beta), idx.size, digest, P.nnz, float(P.data.sum()))  # a changed matrix is refactorised
    cached = getattr(P, "_stochdepth_lu", None)
    if cached is not None and cached[0] == key:
        solve = cached[1]
    else:
        solve = _factorise(P, idx, beta)
        with contextlib.suppress(AttributeError):  # a matrix type without attributes: no cache
            P._stochdepth_lu = (key, solve)  # type: ignore[union-attr]
    return solve(np.array(rhs, dtype=float))


def _factorise(P: sp.csr_array, idx: np.ndarray, beta: float) -> Callable[[np.ndarray], np.ndarray]:
    A = (sp.identity(idx.size, format="csr") - beta * P[idx][:, idx]).tocoo()
    A.sum_duplicates()  # unique (row, col) pairs: the band can be filled by plain assignment
    n = idx.size
    r, c, v = A.row, A.col, A.data
    kl = int(max(0, np.max(r - c))) if v.size else 0
    ku = int(max(0, np.max(c - r))) if v.size else 0
    band = kl + ku + 1
    # banded elimination (no fill outside the band) when the band is narrow or mostly filled
    if n > 64 and (band * 4 < n or v.size >= 0.25 * n * band):
        a = np.zeros((n, band))
        a[r, c - r + kl] = v
        if not K.banded_mmatrix_factor(a, kl, ku):
            raise np.linalg.LinAlgError("singular system: some states never leave the set")

        def banded(x: np.ndarray) -> np.ndarray:
            K.banded_lu_solve(a, kl, ku, x)
            return x

        return banded
    return spla.splu(A.tocsc()).solve


def expected_exit_time(
    chain: Chain, stop: np.ndarray, *, beta: float = 1.0, moments: int = 1
) -> tuple[np.ndarray, ...]:
    r"""Moments of the (discounted) time to reach the set ``stop`` of a homogeneous chain.

    :math:`m=0` on the stopping set and :math:`m=1+\beta Pm` elsewhere (first moment); for ``moments=2``
    also :math:`\mathbb E\tau^2` (with :math:`\beta=1`): :math:`m_2=1+P(2m+m_2)`. States from which the
    set is missed with positive probability get ``inf``.

    Parameters
    ----------
    chain : Chain
        Homogeneous transitions.
    stop : numpy.ndarray
        Boolean stopping set.
    beta : float, optional
        Discount :math:`\beta\in(0,1]` (first moment only).
    moments : {1, 2}
        Number of moments returned.
    """
    P = chain.csr(0)
    n = chain.n_states
    cont = ~stop
    m1 = np.zeros(n)
    if not cont.any():
        return (m1,) if moments == 1 else (m1, np.zeros(n))
    if beta < 1.0:
        ok = cont.copy()
    else:
        can = reach(P, stop, cont)
        lost = cont & ~can  # cannot reach the stopping set: tau = inf
        bad = reach(P, lost, cont) if lost.any() else np.zeros(n, bool)
        ok = cont & ~bad
        m1[bad] = math.inf
    idx = np.nonzero(ok)[0]
    if idx.size:
        m1[idx] = solve_restricted(P, idx, beta, np.ones(idx.size))
    if moments == 1:
        return (m1,)
    m2 = np.where(np.isinf(m1), math.inf, 0.0)
    if idx.size:
        Pm = P[idx][:, idx] @ m1[idx]
        m2[idx] = solve_restricted(P, idx, 1.0, 1.0 + 2.0 * Pm)
    return m1, m2
