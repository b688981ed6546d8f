"""Argument checks and small numerical helpers shared by the modules of :mod:`stochdepth.limits`."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special

from .._checks import check_array, check_int, check_real


def check_width(width: Any) -> int:
    """The width ``n`` of a network: an int ``>= 1``."""
    return check_int("width", width, min=1)


def check_time(t: Any, name: str = "t") -> float:
    """A depth-time: a finite real ``>= 0``."""
    return check_real(name, t, lo=0.0)


def check_times(t: Any, name: str = "t") -> np.ndarray:
    """Depth-times as a float array (any shape), finite and ``>= 0``."""
    arr = check_array(name, t, ndim=None)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got min {float(arr.min())}")
    return arr


def check_q0(q0: Any) -> float:
    """An initial per-neuron variance: finite real ``>= 0``."""
    return check_real("q0", q0, lo=0.0)


def check_widths(widths: Any, name: str = "widths") -> np.ndarray:
    """One int or a 1-d sequence of ints ``>= 1`` (widths or depths) as an ``int64`` array."""
    w = np.atleast_1d(check_array(name, widths, ndim=(0, 1), dtype=None, min_size=1))
    return np.array([check_int(f"{name}[{i}]", v, min=1) for i, v in enumerate(w.tolist())], dtype=np.int64)


def check_n_paths(n_paths: Any) -> int:
    """A number of Monte Carlo paths from which a mean and its standard error are formed: ``>= 2``."""
    return check_int("n_paths", n_paths, min=2)


def even_record(n_steps: int, n_times: int) -> np.ndarray:
    """About ``n_times`` equally spaced step indices in ``[0, n_steps]`` (rounded; duplicates removed).

    More than ``n_steps + 1`` times give every step (the same indices, without building a longer list).
    """
    n_times = min(n_times, n_steps + 1)
    return np.unique(np.round(np.linspace(0, n_steps, n_times)).astype(np.int64))


def lambertw_exp(logz: np.ndarray) -> np.ndarray:
    r"""Principal branch :math:`W(e^{\ell})` of the Lambert function for real ``logz`` :math:`=\ell`.

    Works for arguments far beyond the float range (``exp(logz)`` may overflow): for large :math:`\ell`
    it solves :math:`w+\log w=\ell` by Newton's method.
    """
    logz = np.asarray(logz, dtype=float)
    out = np.empty_like(logz)
    small = logz < 600.0
    if np.any(small):
        out[small] = special.lambertw(np.exp(logz[small])).real
    big = ~small
    if np.any(big):
        ell = logz[big]
        w = ell - np.log(ell)
        for _ in range(50):
            step = (w + np.log(w) - ell) / (1.0 + 1.0 / w)
            w = w - step
            if np.all(np.abs(step) <= 1e-15 * w):
                break
        out[big] = w
    return out


def logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """``log(sum(exp(a), axis=-1))`` computed stably (rows of ``-inf`` give ``-inf``)."""
    m = np.max(a, axis=-1)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.sum(np.exp(a - safe[..., None]), axis=-1))


def mills_hazard(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""The normal hazard :math:`h(z)=\varphi(z)/\Phi(-z)` and :math:`h(z)-z`, both accurate for all ``z``.

    For :math:`z>4` the difference uses the continued fraction
    :math:`h(z)-z=1/(z+2/(z+3/(z+\dots)))` (the Laplace continued fraction of Mills' ratio), which avoids
    the cancellation of :math:`h(z)-z` for large :math:`z`.
    """
    z = np.asarray(z, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        h = math.sqrt(2.0 / math.pi) / special.erfcx(z / math.sqrt(2.0))
        big = z > 4.0
        zb = np.where(big, z, 5.0)
        frac = zb.copy()
        for k in range(40, 1, -1):
            frac = zb + k / frac
        diff = np.where(big, 1.0 / frac, h - z)
        h = np.where(np.isinf(z), np.inf, h)
    return h, diff


def sinh_trapezoid_log(
    logf: Callable[[np.ndarray], np.ndarray],
    center: np.ndarray,
    scale: np.ndarray,
    halfwidth: np.ndarray,
    step: float = 0.03,
) -> np.ndarray:
    r"""``log`` of :math:`\int f(g)\,dg` for log-concave-like integrands given in log form, row-wise.

    Substitutes :math:`g=c+\sigma\sinh v` (fine resolution :math:`\sigma` near the centre :math:`c`,
    geometrically coarser away from it) and applies the trapezoidal rule in :math:`v`, which converges
    exponentially fast for analytic integrands decaying at both ends (Takahasi & Mori's
    single-exponential transformation). ``halfwidth`` bounds the distance from the centre beyond which
    the integrand is negligible; ``logf`` maps an array ``(m, k)`` of abscissae to log-integrands.
    """
    center = np.asarray(center, dtype=float)
    scale = np.asarray(scale, dtype=float)
    vmax = float(np.max(np.arcsinh(np.asarray(halfwidth) / scale))) + 1.0
    j = np.arange(-math.ceil(vmax / step), math.ceil(vmax / step) + 1)
    v = j * step
    g = center[..., None] + scale[..., None] * np.sinh(v)
    logw = np.log(scale)[..., None] + np.log(np.cosh(v)) + math.log(step)
    return logsumexp_rows(logf(g) + logw)
