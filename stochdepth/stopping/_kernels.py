"""numba kernels of the stopping package (pure, preallocated outputs, float64).

Slow numpy references live in :mod:`stochdepth.testing.references.stopping`; the tests compare the two.

Conventions shared by every Bellman kernel: the continuation value at ``s`` is
``cont = -c + beta * sum_j P[s, j] V[j]``, its rounding scale ``scale = |c| + beta * sum_j P[s, j] |V[j]|``
and ``s`` is a stopping state when ``g[s] >= cont - tie_tol * (|g[s]| + scale)`` (ties stop,
docs/science.md §B1).
The value is ``max(g[s], cont)`` in every case, so the tie tolerance changes the stopping region only.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def banded_bellman_step_t(
    bt, lower, g, c, beta, tie_tol, v_next, vpad, acc, v_out, stop_out
):  # pragma: no cover
    """Bellman step with transposed bands ``bt[k, s] = P[s, s - lower + k]`` (SIMD-friendly layout).

    ``vpad`` (``S + w - 1``) and ``acc`` (``S``) are scratch. The products run band-outer, state-inner
    (a contiguous multiply-add the compiler vectorises); the rounding scale ``sum_k P |V|`` is bounded by
    ``max |V|`` and computed exactly only for near-ties.
    """
    w, n = bt.shape
    vmax = 0.0
    for j in range(lower):
        vpad[j] = 0.0
    for j in range(lower + n, n + w - 1):
        vpad[j] = 0.0
    for s in range(n):
        x = v_next[s]
        vpad[lower + s] = x
        ax = abs(x)
        if ax > vmax:
            vmax = ax
    for s in range(n):
        acc[s] = 0.0
    for k in range(w):
        row = bt[k]
        vk = vpad[k : k + n]
        for s in range(n):
            acc[s] += row[s] * vk[s]
    for s in range(n):
        cont = -c + beta * acc[s]
        gs = g[s]
        if gs >= cont:
            stop_out[s] = True
            v_out[s] = gs
        elif gs < cont - tie_tol * (abs(gs) + abs(c) + beta * vmax):
            stop_out[s] = False
            v_out[s] = cont
        else:  # near-tie: exact rounding scale
            aacc = 0.0
            for k in range(w):
                aacc += bt[k, s] * abs(vpad[s + k])
            stop_out[s] = gs >= cont - tie_tol * (abs(gs) + abs(c) + beta * aacc)
            v_out[s] = cont


@njit(cache=True, nogil=True)
def banded_backward_induction_t(bt, lower, gains, costs, beta, tie_tol, values, stop):  # pragma: no cover
    """Backward induction with transposed bands ``(Lb, w, S)`` (see :func:`banded_bellman_step_t`)."""
    n_layers = values.shape[0] - 1
    n = values.shape[1]
    lb = bt.shape[0]
    w = bt.shape[1]
    lg = gains.shape[0]
    vpad = np.empty(n + w - 1)
    acc = np.empty(n)
    gl = gains[lg - 1]
    for s in range(n):
        values[n_layers, s] = gl[s]
        stop[n_layers, s] = True
    for l in range(n_layers - 1, -1, -1):
        b = bt[l if lb > 1 else 0]
        g = gains[l if lg > 1 else 0]
        banded_bellman_step_t(
            b, lower, g, costs[l], beta, tie_tol, values[l + 1], vpad, acc, values[l], stop[l]
        )


@njit(cache=True, nogil=True, inline="always")
def accept_sweep(new, v):  # pragma: no cover
    """Copy a value-iteration sweep ``new`` into ``v``; returns the sup norm of the increment."""
    inc = 0.0
    for s in range(v.shape[0]):
        d = abs(new[s] - v[s])
        if d > inc:
            inc = d
        v[s] = new[s]
    return inc


@njit(cache=True, nogil=True)
def banded_value_iteration_t(bt, lower, g, c, beta, tie_tol, v, scratch, stop, n_iter):  # pragma: no cover
    """``n_iter`` value-iteration sweeps in place on ``v``; returns the sup norm of the last increment."""
    n = v.shape[0]
    w = bt.shape[0]
    vpad = np.empty(n + w - 1)
    acc = np.empty(n)
    inc = 0.0
    for _ in range(n_iter):
        banded_bellman_step_t(bt, lower, g, c, beta, tie_tol, v, vpad, acc, scratch, stop)
        inc = accept_sweep(scratch, v)
    return inc


@njit(cache=True, nogil=True)
def banded_push_rows(bands, lower, mu, rows, out):  # pragma: no cover
    """``out += mu[rows] @ P[rows]`` for a banded ``P``: the moves out of the listed states only."""
    n = mu.shape[0]
    w = bands.shape[1]
    for r in range(rows.shape[0]):
        s = rows[r]
        m = mu[s]
        if m == 0.0:
            continue
        k0 = max(lower - s, 0)
        k1 = min(n - s + lower, w)
        base = s - lower
        for k in range(k0, k1):
            out[base + k] += m * bands[s, k]


@njit(cache=True, nogil=True)
def banded_push(bands, lower, mu, keep, out):  # pragma: no cover
    """``out = (mu * keep) @ P`` for a banded ``P`` (``keep`` a boolean mask of continuing states)."""
    n = mu.shape[0]
    w = bands.shape[1]
    for j in range(n):
        out[j] = 0.0
    for s in range(n):
        if not keep[s]:
            continue
        m = mu[s]
        if m == 0.0:
            continue
        k0 = lower - s
        if k0 < 0:
            k0 = 0
        k1 = n - s + lower
        if k1 > w:
            k1 = w
        base = s - lower
        for k in range(k0, k1):
            out[base + k] += m * bands[s, k]


@njit(cache=True, nogil=True)
def csr_bellman_step(indptr, indices, data, g, c, beta, tie_tol, v_next, v_out, stop_out):  # pragma: no cover
    """One Bellman step with a CSR matrix."""
    n = v_next.shape[0]
    for s in range(n):
        acc = 0.0
        aacc = 0.0
        for q in range(indptr[s], indptr[s + 1]):
            x = v_next[indices[q]]
            p = data[q]
            acc += p * x
            aacc += p * abs(x)
        cont = -c + beta * acc
        gs = g[s]
        if gs >= cont - tie_tol * (abs(gs) + abs(c) + beta * aacc):
            stop_out[s] = True
            v_out[s] = gs if gs >= cont else cont
        else:
            stop_out[s] = False
            v_out[s] = cont


@njit(cache=True, nogil=True)
def csr_backward_induction(
    indptr, indices, data, gains, costs, beta, tie_tol, values, stop
):  # pragma: no cover
    """Backward induction for (possibly layer-dependent) CSR matrices stacked in one set of arrays.

    ``indptr`` is ``(Lb, S + 1)``: matrix ``k`` owns ``indices/data[indptr[k, 0]:indptr[k, S]]``
    (absolute offsets), with ``Lb`` 1 (homogeneous) or ``L``.
    """
    n_layers = values.shape[0] - 1
    n = values.shape[1]
    lb = indptr.shape[0]
    lg = gains.shape[0]
    gl = gains[lg - 1]
    for s in range(n):
        values[n_layers, s] = gl[s]
        stop[n_layers, s] = True
    for l in range(n_layers - 1, -1, -1):
        k = l if lb > 1 else 0
        ip = indptr[k]
        g = gains[l if lg > 1 else 0]
        csr_bellman_step(ip, indices, data, g, costs[l], beta, tie_tol, values[l + 1], values[l], stop[l])


@njit(cache=True, nogil=True)
def csr_value_iteration(
    indptr, indices, data, g, c, beta, tie_tol, v, scratch, stop, n_iter
):  # pragma: no cover
    """``n_iter`` value-iteration sweeps in place on ``v`` (CSR); returns the last increment's sup norm."""
    inc = 0.0
    for _ in range(n_iter):
        csr_bellman_step(indptr, indices, data, g, c, beta, tie_tol, v, scratch, stop)
        inc = accept_sweep(scratch, v)
    return inc


# ----------------------------------------------------------------------------------------------------
# Monte Carlo kernels
# ----------------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def gbm_paths(generator, log_s0, drift, chol, n_steps, out):  # pragma: no cover
    """Exact GBM paths: ``log S_{l+1} = log S_l + drift + chol @ Z`` (``out`` is ``(m, n_steps + 1, d)``).

    ``drift`` is ``(d,)`` (per step, already including ``-sigma^2/2``), ``chol`` the ``(d, d)`` lower
    Cholesky factor of the per-step log covariance. Normals are drawn from ``generator`` in path order.
    """
    m = out.shape[0]
    d = out.shape[2]
    z = np.empty(d)
    x = np.empty(d)
    for i in range(m):
        for j in range(d):
            x[j] = log_s0[i, j]
            out[i, 0, j] = np.exp(x[j])
        for l in range(n_steps):
            for j in range(d):
                z[j] = generator.standard_normal()
            for j in range(d):
                acc = drift[j]
                for k in range(j + 1):
                    acc += chol[j, k] * z[k]
                x[j] += acc
                out[i, l + 1, j] = np.exp(x[j])


@njit(cache=True, nogil=True)
def monomial_design(z, exponents, out):  # pragma: no cover
    """Design matrix of monomials: ``out[i, k] = prod_j z[i, j] ** exponents[k, j]``."""
    m, d = z.shape
    n_terms = exponents.shape[0]
    max_deg = 0
    for k in range(n_terms):
        for j in range(d):
            if exponents[k, j] > max_deg:
                max_deg = exponents[k, j]
    pw = np.empty((d, max_deg + 1))
    for i in range(m):
        for j in range(d):
            pw[j, 0] = 1.0
            for p in range(1, max_deg + 1):
                pw[j, p] = pw[j, p - 1] * z[i, j]
        for k in range(n_terms):
            acc = 1.0
            for j in range(d):
                e = exponents[k, j]
                if e > 0:
                    acc *= pw[j, e]
            out[i, k] = acc


@njit(cache=True, nogil=True)
def banded_mmatrix_factor(a, kl, ku):  # pragma: no cover
    """LU factors, in place, of a banded non-singular M-matrix (no pivoting); returns ``ok``.

    ``a`` is ``(n, kl + ku + 1)`` with ``a[i, j - i + kl] = A[i, j]``; it is overwritten by the factors
    (multipliers below the diagonal). Gaussian elimination without pivoting is stable for M-matrices and
    for row diagonally dominant matrices (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd
    ed., §9.5): ``I - beta P_CC`` is both. A non-positive pivot means the matrix is singular (some state
    never leaves the set): ``False`` is returned.
    """
    n = a.shape[0]
    for k in range(n):
        piv = a[k, kl]
        if not piv > 0.0:
            return False
        i_end = min(k + kl, n - 1)
        j_end = min(k + ku, n - 1)
        for i in range(k + 1, i_end + 1):
            f = a[i, k - i + kl] / piv
            a[i, k - i + kl] = f
            if f == 0.0:
                continue
            for j in range(k + 1, j_end + 1):
                a[i, j - i + kl] -= f * a[k, j - k + kl]
    return True


@njit(cache=True, nogil=True)
def banded_lu_solve(a, kl, ku, b):  # pragma: no cover
    """Solve ``A x = b`` in place on ``b`` from the factors of :func:`banded_mmatrix_factor`."""
    n = a.shape[0]
    for k in range(n):
        bk = b[k]
        if bk != 0.0:
            for i in range(k + 1, min(k + kl, n - 1) + 1):
                b[i] -= a[i, k - i + kl] * bk
    for k in range(n - 1, -1, -1):
        acc = b[k]
        j_end = min(k + ku, n - 1)
        for j in range(k + 1, j_end + 1):
            acc -= a[k, j - k + kl] * b[j]
        b[k] = acc / a[k, kl]
