"""Slow references of the random-network kernels (:mod:`stochdepth.networks`).

They replay the documented draw order of the numba kernels with plain numpy/python code, so the kernels
can be compared to them path by path (not only in law).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ...activations import Activation

__all__ = ["reference_exact", "reference_factor", "reference_log_norm_walk"]


def reference_factor(G: np.ndarray, rtol: float) -> tuple[np.ndarray, int]:
    """Pivoted semidefinite Cholesky, written independently in vectorised numpy (slow reference)."""
    G = np.array(G, dtype=float)
    k = G.shape[0]
    S = G.copy()
    C = np.zeros((k, k))
    active = np.diag(G) > 0
    rank = 0
    while rank < k and active.any():
        diag = np.where(active, np.diag(S), -np.inf)
        p = int(np.argmax(diag))
        if not diag[p] > 0:
            break
        active[p] = False
        d = math.sqrt(S[p, p])
        C[p, rank] = d
        idx = np.flatnonzero(active)
        C[idx, rank] = (S[idx, p] / S[p, p]) * d
        S[np.ix_(idx, idx)] -= np.outer(C[idx, rank], C[idx, rank])
        active[idx[np.diag(S)[idx] <= rtol * np.diag(G)[idx]]] = False
        rank += 1
    return C, rank


def reference_exact(
    X: np.ndarray,
    width: int,
    depth: int,
    act: Activation,
    t1: float,
    layers: np.ndarray,
    m: int,
    gen: np.random.Generator,
    rtol: float,
) -> np.ndarray:
    """Slow reference of the ExactLaw kernel: same draw order, plain numpy, no rescaling."""
    d, k = X.shape
    C0, r0 = reference_factor(X.T @ X / d, rtol)
    scale = math.sqrt(t1 / (width * depth))
    out = np.empty((m, len(layers), width, k))
    for net in range(m):
        Y = gen.standard_normal((width, r0)) @ C0[:, :r0].T
        if layers[0] == 0:
            out[net, 0] = Y
        for l in range(1, int(layers[-1]) + 1):
            Phi = act.fn(Y)
            C, r = reference_factor(Phi.T @ Phi, rtol)
            if k == 1:  # the k = 1 kernel draws n normals whenever phi(Y) != 0
                r = 1 if np.any(Phi != 0) else 0
                C = np.array([[math.sqrt(float(np.sum(Phi**2)))]])
            Y = Y + scale * (gen.standard_normal((width, r)) @ C[:, :r].T)
            if l in layers:
                out[net, list(layers).index(l)] = Y
    return out


def reference_log_norm_walk(width: int, depth: int, t1: float, layers: np.ndarray, m: int, gen) -> np.ndarray:
    """Slow reference of the log-norm walk: xi = (1 + c g)^2 + c^2 chi2_{n-1}, one path at a time."""
    c = math.sqrt(t1 / (depth * width))
    out = np.empty((m, len(layers)))
    for p in range(m):
        acc = 0.0
        if layers[0] == 0:
            out[p, 0] = 0.0
        for l in range(1, int(layers[-1]) + 1):
            g = gen.standard_normal()
            chi2 = 2.0 * gen.standard_gamma(0.5 * (width - 1)) if width > 1 else 0.0
            acc += 0.5 * math.log((1.0 + c * g) ** 2 + c * c * chi2)
            if l in layers:
                out[p, list(layers).index(l)] = acc
    return out
