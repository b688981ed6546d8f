r"""numba kernels of :mod:`stochdepth.limits`, with slow pure-python references for the tests.

* :func:`relu_path_kernel` -- the ReLU network of width :math:`n` in its Euler form (docs/science.md §A2),
  :math:`Y_{l+1}=Y_l+\|\phi(Y_l)\|\sqrt{h/n}\,Z_l`, started at an isotropic Gaussian, kept in the log
  domain (the state is renormalised every step; :math:`\phi` is positively homogeneous). Along each path
  it accumulates the two terms of the post-activation norm identity (docs/science.md §A5),

  .. math::
      M_l=\frac1{\sqrt n}\sum_{j<l}\frac{\langle\phi(Y_j),\Delta B_j\rangle}{\|\phi(Y_j)\|},\qquad
      A_l=\frac1n\sum_{j<l}\Big(\frac{\mu_j}2-1\Big)h,\qquad \Delta B_j=\sqrt h\,Z_j,

  next to :math:`\log\|\phi(Y_l)\|-\log\|\phi(Y_0)\|`.
* :func:`make_mckean_vlasov_kernel` -- interacting particles :math:`X^j_{k+1}=X^j_k+
  \big(\frac1N\sum_i\phi(X^i_k)^2\big)^{1/2}\sqrt h\,Z^j_k` (docs/science.md §A6).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

#: status codes of :func:`relu_path_kernel`
ALIVE, DEAD_AT_START, DIED = 0, 1, 2


@numba.njit(cache=True, nogil=True)
def relu_path_kernel(
    gen: Any,
    n: int,
    n_steps: int,
    h: float,
    rec: np.ndarray,
    log_ratio: np.ndarray,
    mart: np.ndarray,
    drift: np.ndarray,
    status: np.ndarray,
) -> None:  # pragma: no cover - numba (the python reference is tested against it)
    """Fill ``(m, len(rec))`` arrays for ``m = status.size`` ReLU paths (see the module docstring)."""
    m = status.size
    n_rec = rec.size
    y = np.empty(n)
    z = np.empty(n)
    sq_h = math.sqrt(h)
    inv_sqrt_n = 1.0 / math.sqrt(n)
    for p in range(m):
        for i in range(n):
            y[i] = gen.standard_normal()
        post = 0.0
        for i in range(n):
            if y[i] > 0.0:
                post += y[i] * y[i]
        if post == 0.0:
            status[p] = DEAD_AT_START
            for r in range(n_rec):
                log_ratio[p, r] = 0.0
                mart[p, r] = 0.0
                drift[p, r] = 0.0
            continue
        status[p] = ALIVE
        log_post0 = 0.5 * math.log(post)
        log_scale = 0.0
        mt = 0.0
        at = 0.0
        r = 0
        dead = False
        for k in range(n_steps + 1):
            if r < n_rec and rec[r] == k:
                if dead:
                    log_ratio[p, r] = -np.inf
                else:
                    log_ratio[p, r] = log_scale + 0.5 * math.log(post) - log_post0
                mart[p, r] = mt
                drift[p, r] = at
                r += 1
            if k == n_steps or r == n_rec:
                break
            if dead:
                continue
            s = math.sqrt(post)
            mu = 0
            inner = 0.0
            for i in range(n):
                z[i] = gen.standard_normal()
                if y[i] > 0.0:
                    mu += 1
                    inner += y[i] * z[i]
            mt += inner / s * sq_h * inv_sqrt_n
            at += (0.5 * mu - 1.0) * h / n
            step = s * sq_h * inv_sqrt_n
            norm2 = 0.0
            for i in range(n):
                y[i] += step * z[i]
                norm2 += y[i] * y[i]
            nrm = math.sqrt(norm2)
            post = 0.0
            for i in range(n):
                y[i] /= nrm
                if y[i] > 0.0:
                    post += y[i] * y[i]
            log_scale += math.log(nrm)
            if post == 0.0:
                dead = True
                status[p] = DIED


def relu_path_reference(
    gen: np.random.Generator, n: int, n_steps: int, h: float, rec: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Slow numpy reference of :func:`relu_path_kernel` (same draws in the same order, no renormalising)."""
    n_rec = rec.size
    out = [np.zeros((m, n_rec)) for _ in range(3)]
    status = np.zeros(m, dtype=np.int64)
    for p in range(m):
        y = np.array([gen.standard_normal() for _ in range(n)])
        phi = np.maximum(y, 0.0)
        if not np.any(phi > 0):
            status[p] = DEAD_AT_START
            continue
        lp0 = math.log(np.linalg.norm(phi))
        mt = at = 0.0
        for k in range(n_steps + 1):
            if k in rec:
                r = int(np.searchsorted(rec, k))
                nphi = np.linalg.norm(np.maximum(y, 0.0))
                out[0][p, r] = math.log(nphi) - lp0 if nphi > 0 else -np.inf
                out[1][p, r] = mt
                out[2][p, r] = at
            if k == n_steps or k >= rec[-1]:
                break
            phi = np.maximum(y, 0.0)
            s = np.linalg.norm(phi)
            if s == 0.0:
                continue
            z = np.array([gen.standard_normal() for _ in range(n)])
            mt += float(phi @ z) / s * math.sqrt(h / n)
            at += (0.5 * np.count_nonzero(y > 0) - 1.0) * h / n
            y = y + s * math.sqrt(h / n) * z
            if not np.any(y > 0):
                status[p] = DIED
    return out[0], out[1], out[2], status


_MV_CACHE: dict[Any, Any] = {}


def make_mckean_vlasov_kernel(phi: Any) -> Any:
    """Kernel ``(gen, x, n_steps, h, rec, m2, m4, n_zero)`` for the particle system of activation ``phi``.

    Specialised per activation (the scalar numba function is captured), compiled once per process.
    """
    if phi in _MV_CACHE:
        return _MV_CACHE[phi]

    @numba.njit(nogil=True)
    def kernel(
        gen: Any, x: np.ndarray, n_steps: int, h: float, rec: np.ndarray, m2: np.ndarray, m4: np.ndarray
    ) -> None:  # pragma: no cover - numba
        big_n = x.size
        sq_h = math.sqrt(h)
        r = 0
        for k in range(n_steps + 1):
            if r < rec.size and rec[r] == k:
                s2 = 0.0
                s4 = 0.0
                for j in range(big_n):
                    v = x[j] * x[j]
                    s2 += v
                    s4 += v * v
                m2[r] = s2 / big_n
                m4[r] = s4 / big_n
                r += 1
            if k == n_steps:
                break
            acc = 0.0
            for j in range(big_n):
                v = phi(x[j])
                acc += v * v
            step = math.sqrt(acc / big_n) * sq_h
            for j in range(big_n):
                x[j] += step * gen.standard_normal()

    _MV_CACHE[phi] = kernel
    return kernel


def mckean_vlasov_reference(
    fn: Any, gen: np.random.Generator, x: np.ndarray, n_steps: int, h: float
) -> np.ndarray:
    """Slow reference: the particles after ``n_steps`` (numpy activation ``fn``; same draws in order)."""
    x = np.array(x, dtype=float)
    for _ in range(n_steps):
        step = math.sqrt(float(np.mean(fn(x) ** 2))) * math.sqrt(h)
        x = x + step * np.array([gen.standard_normal() for _ in range(x.size)])
    return x
