"""Constructions the campaign builds itself that belong in the library (kept apart until they land there).

Each piece here duplicates, or is about to be moved into, a library module; when it lands, its import
replaces the local copy and this module shrinks:

* :func:`network_depths`: first-passage depths of simulated linear random ResNets with explicit weights
  (next to :class:`stochdepth.depth.LinearResNetSimulator`);
* :func:`residual_family`: random B2 deterministic residual families, satisfying or violating one
  hypothesis (a generator for :mod:`stochdepth.testing.generators`, on :mod:`stochdepth.depth`'s
  :func:`~stochdepth.depth.residual_path_problem`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "network_depths",
    "residual_family",
]


_GAIN_KINDS = ("distance", "smooth distance", "bounded score")


def residual_family(gen: np.random.Generator, violation: str = "") -> tuple[Any, dict[str, Any]]:
    r"""One deterministic residual family :math:`h_{l+1}=h_l+f_l(h_l)` on :math:`m` inputs.

    :math:`f_l(h)=C\tilde\rho^l\,s_l\,u_l(h)` with a unit direction field :math:`u_l=v/\|v\|`,
    :math:`v=\tanh(A_lh+b_l)` (random :math:`A_l, b_l`), so :math:`\sup_h\|f_l\|=C\tilde\rho^ls_l`. The gain
    is :math:`K L_g` times a 1-Lipschitz score: :math:`-\|h-y\|`, :math:`-\sqrt{1+\|h-y\|^2}` or the
    bounded :math:`\tanh(w\cdot(h-y))`. Declared: :math:`C`, :math:`\rho`, :math:`L_g`. Satisfying
    families have :math:`\tilde\rho=\rho<1`, :math:`s_l\in[\tfrac12,1]`, :math:`K=1`; ``"growth"`` has
    :math:`\tilde\rho\in[1.02,1.3]` (and :math:`s_l=1`), ``"lipschitz"`` has :math:`K\in[2,5]`.
    """
    from stochdepth.depth import residual_path_problem

    d = int(gen.integers(1, 5))
    L = int(gen.integers(5, 41))
    m = int(gen.integers(8, 33))
    C = float(gen.uniform(0.2, 3.0))
    rho = float(gen.uniform(0.3, 0.95))
    cost = float(math.exp(gen.uniform(math.log(0.005), math.log(0.5))))
    lg = float(gen.uniform(0.5, 2.0))
    kind = _GAIN_KINDS[int(gen.integers(0, len(_GAIN_KINDS)))]
    A = gen.normal(size=(L, d, d)) * 2.0
    b = gen.normal(size=(L, d))
    y = gen.normal(size=d)
    w = gen.normal(size=d)
    w /= np.linalg.norm(w)
    h0 = gen.normal(size=(m, d)) * 2.0
    shrink = np.ones(L) if violation else gen.uniform(0.5, 1.0, size=L)
    true_rho = float(gen.uniform(1.02, 1.3)) if violation == "growth" else rho
    steep = float(gen.uniform(2.0, 5.0)) if violation == "lipschitz" else 1.0
    slope = steep * lg

    def residual(l: int, h: np.ndarray) -> np.ndarray:
        v = np.tanh(h @ A[l].T + b[l])
        u = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-300)
        return C * true_rho**l * shrink[l] * u

    def gain(h: np.ndarray) -> np.ndarray:
        r = h - y
        if kind == "distance":
            return -slope * np.linalg.norm(r, axis=1)
        if kind == "smooth distance":
            return -slope * np.sqrt(1.0 + np.sum(r * r, axis=1))
        return slope * np.tanh(r @ w)

    prob = residual_path_problem(residual, gain, h0, L, cost)
    info = {"d": d, "L": L, "m": m, "C": C, "rho": rho, "cost": cost, "lipschitz": lg, "gain": kind}
    info["violation"] = violation
    return prob, info


def network_depths(
    width: int, depth: int, threshold: float, y0: float, n_paths: int, rng: int, max_layers: int
) -> np.ndarray:
    r"""Optimal depths of simulated linear networks with explicit weights: the first layer at which
    :math:`\log\|Y_l\|\ge` ``threshold`` (-1 when not reached within ``max_layers``: censored)."""
    from stochdepth.montecarlo import map_chunks

    scale = 1.0 / math.sqrt(width * depth)  # N(0, 1/n) weight entries, branch 1/sqrt(L)

    def job(start: int, stop: int, gen: np.random.Generator) -> np.ndarray:
        m = stop - start
        z = gen.standard_normal((m, width))
        Y = z * (math.exp(y0) / np.linalg.norm(z, axis=1, keepdims=True))
        tau = np.full(m, -1, dtype=np.int64)
        alive = np.arange(m)
        y = np.full(m, y0)
        for l in range(max_layers + 1):
            hit = y >= threshold
            tau[alive[hit]] = l
            alive, Y = alive[~hit], Y[~hit]
            if alive.size == 0 or l == max_layers:
                break
            W = gen.standard_normal((alive.size, width, width))
            Y = Y + scale * np.einsum("mij,mj->mi", W, Y)
            y = np.log(np.linalg.norm(Y, axis=1))
        return tau

    return np.concatenate(map_chunks(job, rng, n_paths, chunk_size=2048))
