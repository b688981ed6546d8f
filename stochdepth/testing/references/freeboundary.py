r"""Slow pure-python/numpy references of the numba kernels, used by the tests.

* :func:`lcp_least_element` -- an LCP solver by a different principle: for an M-matrix the solution is
  the least element of the feasible set :math:`\{v\ge g,\ Mv\ge q\}` (Cottle, Pang & Stone 2009,
  Thm. 3.11.6), hence the minimiser of :math:`\sum_iv_i` over it: a linear program (scipy's HiGHS);
* :func:`psor_reference`, :func:`brennan_schwartz_reference`, :func:`policy_iteration_reference` --
  line-by-line python versions of the kernels (dense matrices);
* :func:`theta_march_reference` -- the theta-scheme march with dense matrices and any of the above.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import linprog

__all__ = [
    "brennan_schwartz_reference",
    "dense_from_bands",
    "lcp_least_element",
    "policy_iteration_reference",
    "psor_reference",
    "theta_march_reference",
]


def dense_from_bands(lo: np.ndarray, di: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Dense tridiagonal matrix from bands (``lo[i]`` left of the diagonal in row ``i``, ``up[i]`` right)."""
    n = di.size
    m = np.diag(np.asarray(di, dtype=float))
    for i in range(1, n):
        m[i, i - 1] = lo[i]
    for i in range(n - 1):
        m[i, i + 1] = up[i]
    return m


def lcp_least_element(m: np.ndarray, q: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Least element of ``{v >= g, M v >= q}`` by linear programming (M-matrices)."""
    n = q.size
    res = linprog(
        np.ones(n),
        A_ub=-m,
        b_ub=-q,
        bounds=list(zip(g, [None] * n)),
        method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    if not res.success:  # pragma: no cover - only for ill-posed test data
        raise RuntimeError(f"linprog failed: {res.message}")
    return np.asarray(res.x, dtype=float)


def psor_reference(
    m: np.ndarray, q: np.ndarray, g: np.ndarray, omega: float, tol: float, max_iter: int
) -> tuple[np.ndarray, int]:
    """Projected SOR, dense, python loops."""
    n = q.size
    v = np.maximum(np.array(g, dtype=float), g)
    for it in range(max_iter):
        err = 0.0
        for i in range(n):
            s = q[i] - sum(m[i, j] * v[j] for j in range(n) if j != i)
            new = max(g[i], v[i] + omega * (s / m[i, i] - v[i]))
            err = max(err, abs(new - v[i]))
            v[i] = new
        if err <= tol:
            return v, it + 1
    return v, -max_iter


def brennan_schwartz_reference(m: np.ndarray, q: np.ndarray, g: np.ndarray, upper: bool) -> np.ndarray:
    """Brennan--Schwartz on a dense tridiagonal matrix (eliminate, then projected substitution)."""
    if upper:  # mirror the problem
        return brennan_schwartz_reference(m[::-1, ::-1].copy(), q[::-1].copy(), g[::-1].copy(), False)[::-1]
    n = q.size
    a = np.array(m, dtype=float)
    b = np.array(q, dtype=float)
    for i in range(n - 2, -1, -1):  # remove the super-diagonal, bottom-up
        f = a[i, i + 1] / a[i + 1, i + 1]
        a[i] -= f * a[i + 1]
        b[i] -= f * b[i + 1]
    v = np.empty(n)
    for i in range(n):
        s = b[i] - (a[i, i - 1] * v[i - 1] if i > 0 else 0.0)
        v[i] = max(g[i], s / a[i, i])
    return v


def policy_iteration_reference(
    m: np.ndarray, q: np.ndarray, g: np.ndarray, v0: np.ndarray | None = None, max_iter: int | None = None
) -> tuple[np.ndarray, int]:
    """Howard's policy iteration with dense solves."""
    n = q.size
    v = np.array(g if v0 is None else v0, dtype=float)
    active = (v - g) < (m @ v - q)
    for it in range(n + 1 if max_iter is None else max_iter):
        a = np.where(active[:, None], np.eye(n), m)
        v = np.linalg.solve(a, np.where(active, g, q))
        new = (v - g) < (m @ v - q)
        if np.array_equal(new, active):
            return np.maximum(v, g), it + 1
        active = new
    return np.maximum(v, g), -(n + 1)


def theta_march_reference(
    times: np.ndarray,
    thetas: np.ndarray,
    lo: np.ndarray,
    di: np.ndarray,
    up: np.ndarray,
    src: np.ndarray,
    dirichlet: np.ndarray,
    dvals: np.ndarray,
    g: np.ndarray,
    terminal: np.ndarray,
    lcp: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] = lcp_least_element,
) -> np.ndarray:
    """The theta march of the freeboundary kernels with dense matrices and the given LCP solver."""
    n_t, n = times.size, g.size
    value = np.empty((n_t, n))
    value[-1] = terminal
    kdep = lo.shape[0] > 1
    eye = np.eye(n)
    for k in range(n_t - 2, -1, -1):
        dt = times[k + 1] - times[k]
        th = thetas[k]
        ko, kn = (k + 1, k) if kdep else (0, 0)
        l_old = dense_from_bands(lo[ko], di[ko], up[ko])
        l_new = dense_from_bands(lo[kn], di[kn], up[kn])
        old = value[k + 1]
        q = old + (1 - th) * dt * (l_old @ old + src[ko]) + th * dt * src[kn]
        m = eye - th * dt * l_new
        m[dirichlet] = eye[dirichlet]
        q[dirichlet] = dvals[k, dirichlet]
        value[k] = lcp(m, q, g)
    return value
