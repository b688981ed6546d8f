r"""Slow, direct numpy implementations of the two-sample statistics.

They work on the samples themselves (sorting and ``searchsorted``), independently of the label-sequence
kernels of :mod:`stochdepth.stats._kernels`, and serve as references in the tests.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _st

__all__ = ["ad_2samp", "cvm_2samp", "ks_2samp", "lattice_ks_sf"]


def ks_2samp(x: np.ndarray, y: np.ndarray) -> float:
    """:math:`D = \\sup_t |F_x(t) - F_y(t)|` from the two empirical distribution functions."""
    xs, ys = np.sort(x), np.sort(y)
    t = np.concatenate([xs, ys])
    fx = np.searchsorted(xs, t, side="right") / xs.size
    fy = np.searchsorted(ys, t, side="right") / ys.size
    return float(np.max(np.abs(fx - fy)))


def cvm_2samp(x: np.ndarray, y: np.ndarray) -> float:
    """Anderson's (1962) :math:`T = U/(n m N) - (4nm-1)/(6N)` with mid-ranks."""
    n, m = x.size, y.size
    big_n = n + m
    r = _st.rankdata(np.concatenate([np.sort(x), np.sort(y)]))
    u = n * np.sum((r[:n] - np.arange(1, n + 1)) ** 2) + m * np.sum((r[n:] - np.arange(1, m + 1)) ** 2)
    return float(u / (n * m * big_n) - (4 * n * m - 1) / (6 * big_n))


def ad_2samp(x: np.ndarray, y: np.ndarray, *, midrank: bool = True) -> float:
    """Scholz & Stephens (1987) two-sample :math:`A^2_{akN}` (eq. 7) or :math:`A^2_{kN}` (eq. 6),
    summed over both samples as written in the paper."""
    z = np.sort(np.concatenate([x, y]))
    big_n = z.size
    zstar = np.unique(z)
    lj = np.searchsorted(z, zstar, side="right") - np.searchsorted(z, zstar, side="left")
    total = 0.0
    for s in (np.sort(x), np.sort(y)):
        ni = s.size
        if midrank:
            bj = np.searchsorted(z, zstar, side="left") + lj / 2.0
            mij = (
                np.searchsorted(s, zstar, side="right")
                - (np.searchsorted(s, zstar, side="right") - np.searchsorted(s, zstar, side="left")) / 2.0
            )
            inner = lj / big_n * (big_n * mij - bj * ni) ** 2 / (bj * (big_n - bj) - big_n * lj / 4.0)
            total += inner.sum() / ni
        else:
            bj = np.cumsum(lj)[:-1]
            mij = np.searchsorted(s, zstar[:-1], side="right")
            inner = lj[:-1] / big_n * (big_n * mij - bj * ni) ** 2 / (bj * (big_n - bj))
            total += inner.sum() / ni
    return float(total * (big_n - 1) / big_n) if midrank else float(total)


def lattice_ks_sf(m: int, n: int, d_int: int) -> float:
    """Brute force :math:`P(m n D_{m,n} \\ge d)`: enumerate every placement of the ``m`` x-labels among
    the ``m + n`` sorted positions (small ``m, n`` only)."""
    from itertools import combinations

    total = 0
    hits = 0
    for pos in combinations(range(m + n), m):
        labels = np.zeros(m + n, dtype=np.int64)
        labels[list(pos)] = 1
        i = np.cumsum(labels)
        j = np.arange(1, m + n + 1) - i
        if np.max(np.abs(i * n - j * m)) >= d_int:
            hits += 1
        total += 1
    return hits / total
