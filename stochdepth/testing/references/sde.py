r"""Slow pure-python references of the SDE integrators' numba kernels.

They run the Euler--Maruyama and Milstein updates on the python versions of the coefficient functions
(``py_func`` of a jitted function), drawing the same standard normals in the same order as the kernels
(path, step, noise component), so that the tests can compare the kernels with them to rounding.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ...sde import SDE

__all__ = ["reference_levels", "reference_paths"]


def _py(fn: Any) -> Any:
    return getattr(fn, "py_func", fn)


def _reference_step(sde: SDE, milstein: bool, t: float, h: float, x: np.ndarray, dw: np.ndarray) -> None:
    dim = sde.dim
    b = np.zeros(dim)
    if sde.drift is not None:
        _py(sde.drift)(t, x, b)
    s = np.zeros(sde.diffusion_shape)
    _py(sde.diffusion)(t, x, s)
    if sde.noise == "diagonal":
        inc = s * dw
    elif sde.noise == "scalar":
        inc = s * dw[0]
    elif sde.noise == "isotropic":
        inc = s[0] * dw
    else:
        inc = s @ dw
    if milstein:
        ds = np.zeros(dim)
        _py(sde.diffusion_derivative)(t, x, ds)
        if sde.noise == "scalar":
            inc = inc + ds * 0.5 * (dw[0] ** 2 - h)
        else:
            inc = inc + 0.5 * s[:dim] * ds * (dw[:dim] ** 2 - h)
    x += inc + b * h


def reference_paths(
    sde: SDE,
    milstein: bool,
    x0: np.ndarray,
    t0: float,
    dt: float,
    n_steps: int,
    rec: np.ndarray,
    gen: np.random.Generator,
) -> np.ndarray:
    """Pure-python version of the path kernel (same random numbers): ``(m, len(rec), dim)``."""
    m = x0.shape[0]
    out = np.empty((m, len(rec), sde.dim))
    for p in range(m):
        x = np.array(x0[p], dtype=float)
        path = [x.copy()]
        for k in range(n_steps):
            dw = np.array([math.sqrt(dt) * gen.standard_normal() for _ in range(sde.noise_dim)])
            _reference_step(sde, milstein, t0 + k * dt, dt, x, dw)
            path.append(x.copy())
        out[p] = np.asarray(path)[rec]
    return out


def reference_levels(
    sde: SDE,
    milstein: bool,
    x0: np.ndarray,
    t0: float,
    t1: float,
    steps: np.ndarray,
    rec_coarse: np.ndarray,
    gen: np.random.Generator,
) -> np.ndarray:
    """Pure-python coupled levels: fine increments drawn first, coarse ones summed from them.

    Returns ``(m, len(rec_coarse), n_levels, dim)``.
    """
    m = x0.shape[0]
    n_fine = int(steps[-1])
    dt = (t1 - t0) / n_fine
    out = np.empty((m, len(rec_coarse), len(steps), sde.dim))
    for p in range(m):
        dws = np.array(
            [[math.sqrt(dt) * gen.standard_normal() for _ in range(sde.noise_dim)] for _ in range(n_fine)]
        ).reshape(n_fine, sde.noise_dim)
        for lev, n in enumerate(steps):
            r = n_fine // int(n)
            x = np.array(x0[p], dtype=float)
            path = [x.copy()]
            for k in range(int(n)):
                dw = dws[k * r : (k + 1) * r].sum(axis=0)
                _reference_step(sde, milstein, t0 + k * r * dt, r * dt, x, dw)
                path.append(x.copy())
            out[p, :, lev] = np.asarray(path)[rec_coarse * (int(n) // int(steps[0]))]
    return out
