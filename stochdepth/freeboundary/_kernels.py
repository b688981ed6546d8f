r"""numba kernels of the 1-D solvers: tridiagonal LCP solvers and the theta-scheme time march.

Tridiagonal matrices are stored as three bands of length ``N``: ``lo[i]`` multiplies ``v[i-1]`` (``lo[0]``
unused), ``di[i]`` multiplies ``v[i]``, ``up[i]`` multiplies ``v[i+1]`` (``up[N-1]`` unused). The LCP is

.. math::
    v\ge g,\qquad w=Mv-q\ge0,\qquad w_i\,(v_i-g_i)=0,

equivalently :math:`\min(Mv-q,\ v-g)=0`; its natural residual :math:`\max_i|\min(w_i,v_i-g_i)|` is what
the solvers report. The slow numpy references live in :mod:`stochdepth.testing.references.freeboundary`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Method codes of :func:`solve_lcp_tridiagonal` (the public objects map onto these).
PSOR_CODE = 0
BS_LOWER_CODE = 1  # Brennan-Schwartz, stopping region below the boundary (small x)
BS_UPPER_CODE = 2  # Brennan-Schwartz, stopping region above the boundary (large x)
BS_AUTO_CODE = 3  # both sweeps, the one with the smaller residual
PDAS_CODE = 4  # primal-dual active set = policy iteration


#: Relative pivot size below which an elimination is declared singular.
PIVOT_TOL = 1e-12


@njit(cache=True, nogil=True)
def thomas(lo, di, up, rhs, out, cp, dp):  # pragma: no cover - compiled
    """Solve the tridiagonal system (no pivoting: M-matrices and diagonally dominant rows only).

    Returns False (leaving ``out`` undefined) if a pivot is below ``PIVOT_TOL`` relative to its row:
    the matrix is singular to working precision.
    """
    n = di.size
    if abs(di[0]) <= PIVOT_TOL * (abs(up[0]) if n > 1 else 1.0) or di[0] == 0.0:
        return False
    cp[0] = up[0] / di[0] if n > 1 else 0.0
    dp[0] = rhs[0] / di[0]
    for i in range(1, n):
        m = di[i] - lo[i] * cp[i - 1]
        if abs(m) <= PIVOT_TOL * (abs(di[i]) + abs(lo[i] * cp[i - 1])):
            return False
        cp[i] = up[i] / m if i < n - 1 else 0.0
        dp[i] = (rhs[i] - lo[i] * dp[i - 1]) / m
    out[n - 1] = dp[n - 1]
    for i in range(n - 2, -1, -1):
        out[i] = dp[i] - cp[i] * out[i + 1]
    return True


@njit(cache=True, nogil=True)
def natural_residual(lo, di, up, q, g, v):  # pragma: no cover - compiled
    r""":math:`\max_i|\min((Mv-q)_i,\ v_i-g_i)|`."""
    n = di.size
    res = 0.0
    for i in range(n):
        w = di[i] * v[i] - q[i]
        if i > 0:
            w += lo[i] * v[i - 1]
        if i < n - 1:
            w += up[i] * v[i + 1]
        gap = v[i] - g[i]
        m = w if w < gap else gap
        if abs(m) > res:
            res = abs(m)
    return res


@njit(cache=True, nogil=True)
def lcp_psor(lo, di, up, q, g, v, omega, tol, max_iter):  # pragma: no cover - compiled
    """Projected SOR (Cryer 1971) in place on ``v``; returns iterations, negative if not converged."""
    n = di.size
    for i in range(n):
        if v[i] < g[i]:
            v[i] = g[i]
    for it in range(max_iter):
        err = 0.0
        for i in range(n):
            s = q[i]
            if i > 0:
                s -= lo[i] * v[i - 1]
            if i < n - 1:
                s -= up[i] * v[i + 1]
            new = v[i] + omega * (s / di[i] - v[i])
            if new < g[i]:
                new = g[i]
            d = abs(new - v[i])
            if d > err:
                err = d
            v[i] = new
        if err <= tol:
            return it + 1
    return -max_iter


@njit(cache=True, nogil=True)
def lcp_brennan_schwartz(lo, di, up, q, g, v, upper, dd, qq):  # pragma: no cover - compiled
    """Brennan--Schwartz (1977) elimination + projected substitution, in place on ``v``.

    ``upper=False``: the stopping region is a set of small ``x`` (elimination of the upper band from the
    top, projected forward substitution); ``upper=True``: mirrored. Exact for one-sided problems with an
    M-matrix (Jaillet, Lamberton & Lapeyre 1990, Thm. 4.1). Returns 1, or 0 if the elimination meets a
    pivot below ``PIVOT_TOL`` (singular matrix).
    """
    n = di.size
    if not upper:
        dd[n - 1] = di[n - 1]
        qq[n - 1] = q[n - 1]
        for i in range(n - 2, -1, -1):
            if abs(dd[i + 1]) <= PIVOT_TOL * abs(di[i + 1]) or dd[i + 1] == 0.0:
                return 0
            f = up[i] / dd[i + 1]
            dd[i] = di[i] - f * lo[i + 1]
            qq[i] = q[i] - f * qq[i + 1]
        if abs(dd[0]) <= PIVOT_TOL * abs(di[0]) or dd[0] == 0.0:
            return 0
        x = qq[0] / dd[0]
        v[0] = x if x > g[0] else g[0]
        for i in range(1, n):
            x = (qq[i] - lo[i] * v[i - 1]) / dd[i]
            v[i] = x if x > g[i] else g[i]
    else:
        dd[0] = di[0]
        qq[0] = q[0]
        for i in range(1, n):
            if abs(dd[i - 1]) <= PIVOT_TOL * abs(di[i - 1]) or dd[i - 1] == 0.0:
                return 0
            f = lo[i] / dd[i - 1]
            dd[i] = di[i] - f * up[i - 1]
            qq[i] = q[i] - f * qq[i - 1]
        if abs(dd[n - 1]) <= PIVOT_TOL * abs(di[n - 1]) or dd[n - 1] == 0.0:
            return 0
        x = qq[n - 1] / dd[n - 1]
        v[n - 1] = x if x > g[n - 1] else g[n - 1]
        for i in range(n - 2, -1, -1):
            x = (qq[i] - up[i] * v[i + 1]) / dd[i]
            v[i] = x if x > g[i] else g[i]
    return 1


@njit(cache=True, nogil=True)
def lcp_policy_iteration(lo, di, up, q, g, v, max_iter, work):  # pragma: no cover - compiled
    r"""Primal-dual active set / Howard policy iteration, in place on ``v`` (warm start from ``v``).

    The active (stopping) set is :math:`\{i: v_i-g_i<(Mv-q)_i\}` (ties continue); rows of active nodes are
    replaced by
    :math:`v_i=g_i` and the linear system solved; repeat until the set is unchanged. For an M-matrix the
    iterates are monotone and the loop ends after at most ``N + 1`` solves (Bokanowski, Maroso & Zidani,
    *SIAM J. Numer. Anal.* 47 (2009), Thm. 2.1 and sec. 3). Returns iterations, negative if ``max_iter``
    was reached first.

    ``work`` has shape ``(7, N)``.
    """
    n = di.size
    a = work[0]
    b = work[1]
    c = work[2]
    r = work[3]
    cp = work[4]
    dp = work[5]
    act = work[6]  # 1.0 active (stop), 0.0 inactive
    for i in range(n):
        w = di[i] * v[i] - q[i]
        if i > 0:
            w += lo[i] * v[i - 1]
        if i < n - 1:
            w += up[i] * v[i + 1]
        act[i] = 1.0 if v[i] - g[i] < w else 0.0
    for it in range(max_iter):
        for i in range(n):
            if act[i] > 0.5:
                a[i] = 0.0
                b[i] = 1.0
                c[i] = 0.0
                r[i] = g[i]
            else:
                a[i] = lo[i]
                b[i] = di[i]
                c[i] = up[i]
                r[i] = q[i]
        if not thomas(a, b, c, r, v, cp, dp):
            return 0
        changed = False
        for i in range(n):
            w = di[i] * v[i] - q[i]
            if i > 0:
                w += lo[i] * v[i - 1]
            if i < n - 1:
                w += up[i] * v[i + 1]
            new = 1.0 if v[i] - g[i] < w else 0.0
            if new != act[i]:
                changed = True
                act[i] = new
        if not changed:
            # on the final active set v = g exactly; clean round-off below the obstacle elsewhere
            for i in range(n):
                if v[i] < g[i]:
                    v[i] = g[i]
            return it + 1
    return -max_iter


@njit(cache=True, nogil=True)
def solve_lcp_tridiagonal(method, lo, di, up, q, g, v, omega, tol, max_iter, work):  # pragma: no cover
    """Dispatch on ``method`` (codes above); ``work`` has shape ``(9, N)``. Returns iterations."""
    if method == PSOR_CODE:
        return lcp_psor(lo, di, up, q, g, v, omega, tol, max_iter)
    if method == BS_LOWER_CODE:
        return lcp_brennan_schwartz(lo, di, up, q, g, v, False, work[0], work[1])
    if method == BS_UPPER_CODE:
        return lcp_brennan_schwartz(lo, di, up, q, g, v, True, work[0], work[1])
    if method == BS_AUTO_CODE:
        alt = work[2]
        if lcp_brennan_schwartz(lo, di, up, q, g, v, False, work[0], work[1]) == 0:
            return 0
        if lcp_brennan_schwartz(lo, di, up, q, g, alt, True, work[0], work[1]) == 0:
            return 0
        if natural_residual(lo, di, up, q, g, alt) < natural_residual(lo, di, up, q, g, v):
            for i in range(di.size):
                v[i] = alt[i]
        return 2
    return lcp_policy_iteration(lo, di, up, q, g, v, max_iter, work[2:9])


@njit(cache=True, nogil=True)
def theta_march(
    times, thetas, lo, di, up, src, dirichlet, dvals, g, method, omega, tol, max_iter, value, iters, resid
):  # pragma: no cover - compiled
    r"""Backward theta-scheme march with one LCP per step.

    Parameters (all float64 unless stated)
    ----------------------------------------
    times : (n_t,) increasing time nodes; ``value[n_t - 1]`` holds the terminal data on entry.
    thetas : (n_t - 1,) theta of the step from ``times[k + 1]`` to ``times[k]``.
    lo, di, up, src : (K, N) operator bands and source at each time node (``K == 1``: time-independent).
    dirichlet : (N,) bool, rows replaced by ``v_i = dvals[k, i]``.
    dvals : (n_t, N) Dirichlet values.
    g : (N,) obstacle.
    value : (n_t, N) output.
    iters, resid : (n_t - 1,) outputs: LCP iterations (negative: not converged) and natural residual.

    Returns False as soon as a step meets a singular system (``iters[k] == 0``), True otherwise.
    """
    n_t = times.size
    n = g.size
    k_dep = lo.shape[0] > 1
    mlo = np.empty(n)
    mdi = np.empty(n)
    mup = np.empty(n)
    q = np.empty(n)
    v = np.empty(n)
    work = np.empty((9, n))
    for k in range(n_t - 2, -1, -1):
        dt = times[k + 1] - times[k]
        th = thetas[k]
        ko = k + 1 if k_dep else 0
        kn = k if k_dep else 0
        old = value[k + 1]
        for i in range(n):
            if dirichlet[i]:
                mlo[i] = 0.0
                mdi[i] = 1.0
                mup[i] = 0.0
                q[i] = dvals[k, i]
            else:
                lv = di[ko, i] * old[i]
                if i > 0:
                    lv += lo[ko, i] * old[i - 1]
                if i < n - 1:
                    lv += up[ko, i] * old[i + 1]
                q[i] = old[i] + (1.0 - th) * dt * (lv + src[ko, i]) + th * dt * src[kn, i]
                mlo[i] = -th * dt * lo[kn, i]
                mdi[i] = 1.0 - th * dt * di[kn, i]
                mup[i] = -th * dt * up[kn, i]
            v[i] = old[i]
        it = solve_lcp_tridiagonal(method, mlo, mdi, mup, q, g, v, omega, tol, max_iter, work)
        iters[k] = it
        if it == 0:
            return False
        resid[k] = natural_residual(mlo, mdi, mup, q, g, v)
        for i in range(n):
            value[k, i] = v[i]
    return True
