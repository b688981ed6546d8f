r"""Reference problems with known answers: the American put and the perpetual put.

* :func:`american_put_problem` -- the American put under Black--Scholes in log-price
  :math:`x=\log S` (constant coefficients), the standard benchmark of obstacle-problem solvers;
* :func:`perpetual_american_put` -- its infinite-maturity closed form (McKean, *Ind. Manag. Rev.* 6
  (1965); Merton, *Bell J. Econ.* 4 (1973) 141-183, sec. 8).

The obstacle problems of the optimal depth of networks (docs/science.md §B5, B6), with their closed forms,
are built in :mod:`stochdepth.depth`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_array, check_int, check_memory, check_real, float_errors_as_numerical
from .._results import Result
from .grids import StretchedGrid
from .problems import ObstacleProblem

__all__ = ["PerpetualPut", "american_put_problem", "perpetual_american_put"]

#: Smallest width of a grid's domain relative to the size of its coordinates (2**-30: its nodes are then
#: still thousands of float64 spacings apart).
_MIN_RELATIVE_WIDTH = 2.0**-30


@float_errors_as_numerical
def american_put_problem(
    strike: float,
    rate: float,
    volatility: float,
    maturity: float,
    *,
    dividend: float = 0.0,
    n_nodes: int = 801,
    width: float = 6.0,
    scale: float | None = None,
) -> ObstacleProblem:
    r"""The American put in log-price as an :class:`ObstacleProblem`.

    With :math:`x=\log S`: :math:`dX=(r-q-\tfrac12\sigma^2)dt+\sigma dW`, discount :math:`r`, gain
    :math:`(K-e^x)^+`, no running cost; the price at spot :math:`S_0` is ``value_at(0, log(S0))``.

    Parameters
    ----------
    strike : float
        :math:`K>0`.
    rate : float
        Interest rate :math:`r\ge0`.
    volatility : float
        :math:`\sigma>0`.
    maturity : float
        :math:`T>0` (years).
    dividend : float, default 0
        Continuous dividend yield :math:`q\ge0`.
    n_nodes : int, default 801
        Grid nodes (sinh-stretched around :math:`\log K`, with a node on it).
    width : float, default 6
        Half-width of the domain in standard deviations :math:`\sigma\sqrt T` (plus the drift
        :math:`|r-q-\sigma^2/2|T`); the edges are Dirichlet with the gain.
    scale : float, optional
        Stretching scale of the grid (default :math:`\sigma\sqrt T/2`).

    Returns
    -------
    ObstacleProblem

    Raises
    ------
    ValueError
        When the domain is too narrow for float64 around :math:`\log K` (a maturity so short that
        :math:`\sigma\sqrt T` is below about :math:`10^{-9}\log K`), naming ``maturity``.

    Notes
    -----
    Reference: Wilmott, Dewynne & Howison (1993), ch. 9; Jaillet, Lamberton & Lapeyre (1990).

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.freeboundary import american_put_problem, solve_obstacle, BrennanSchwartz
    >>> put = american_put_problem(100.0, 0.05, 0.2, 1.0)
    >>> round(solve_obstacle(put, lcp=BrennanSchwartz(side="lower")).value_at(0.0, np.log(100.0)), 4)
    6.0903
    """
    k = check_real("strike", strike, lo=0.0, lo_open=True)
    r = check_real("rate", rate, lo=0.0)
    vol = check_real("volatility", volatility, lo=0.0, lo_open=True)
    t = check_real("maturity", maturity, lo=0.0, lo_open=True)
    q = check_real("dividend", dividend, lo=0.0)
    n = check_int("n_nodes", n_nodes, min=3)
    check_memory("n_nodes", n, 8 * 16, "a solver's arrays on the grid")
    w = check_real("width", width, lo=0.0, lo_open=True)
    sd = vol * math.sqrt(t)
    sc = 0.5 * sd if scale is None else check_real("scale", scale, lo=0.0, lo_open=True)
    mu = r - q - 0.5 * vol**2
    half = w * sd + abs(mu) * t
    xk = math.log(k)
    if not 2.0 * half > _MIN_RELATIVE_WIDTH * abs(xk):
        raise ValueError(
            f"maturity={t:g} is too short for a float64 grid: the domain around log(strike) = {xk:.6g} has "
            f"width 2*(width*volatility*sqrt(maturity) + |rate - dividend - volatility**2/2|*maturity) = "
            f"{2.0 * half:.3g} (width={w:g}, volatility={vol:g}), below {_MIN_RELATIVE_WIDTH:.2g} of "
            f"|log(strike)|: too narrow for float64 to space {n} nodes; raise maturity (or volatility)"
        )
    grid = StretchedGrid(xk - half, xk + half, n, center=xk, scale=sc)

    def gain(x: np.ndarray) -> np.ndarray:
        return np.maximum(k - np.exp(x), 0.0)

    def gain_derivative(x: np.ndarray) -> np.ndarray:
        return np.where(x < xk, -np.exp(x), 0.0)

    return ObstacleProblem(gain, mu, vol, t, grid, rate=r, gain_derivative=gain_derivative)


@dataclass(frozen=True, eq=False, repr=False)
class PerpetualPut(Result):
    r"""Closed form of the perpetual American put.

    Attributes
    ----------
    strike, rate, volatility, dividend : float
        :math:`K, r, \sigma, q`.
    exponent : float
        :math:`\lambda<0`, the negative root of :math:`\tfrac12\sigma^2\lambda(\lambda-1)+(r-q)\lambda-r=0`.
    boundary : float
        Exercise boundary :math:`S^\star=K\lambda/(\lambda-1)`.
    """

    strike: float
    rate: float
    volatility: float
    dividend: float
    exponent: float
    boundary: float

    def value(self, spot: Any) -> np.ndarray | float:
        r""":math:`V(S)=(K-S^\star)(S/S^\star)^\lambda` for :math:`S>S^\star`, :math:`K-S` below."""
        s = check_array("spot", spot, ndim=None)
        if np.any(s <= 0):
            raise ValueError("spot must be > 0")
        out = np.where(
            s > self.boundary,
            (self.strike - self.boundary) * (s / self.boundary) ** self.exponent,
            self.strike - s,
        )
        return float(out) if out.ndim == 0 else out


@float_errors_as_numerical
def perpetual_american_put(
    strike: float, rate: float, volatility: float, *, dividend: float = 0.0
) -> PerpetualPut:
    r"""The perpetual American put: :math:`S^\star=K\lambda/(\lambda-1)`,
    :math:`V=(K-S^\star)(S/S^\star)^\lambda` above :math:`S^\star`.

    .. math::
        \lambda=\frac{-(r-q-\sigma^2/2)-\sqrt{(r-q-\sigma^2/2)^2+2\sigma^2r}}{\sigma^2}<0 .

    Parameters
    ----------
    strike : float
        :math:`K>0`.
    rate : float
        :math:`r>0` (with :math:`r=0` exercise is never optimal).
    volatility : float
        :math:`\sigma>0`.
    dividend : float, default 0
        :math:`q\ge0`.

    Notes
    -----
    Reference: McKean (1965); Merton (1973), sec. 8 (:math:`q=0`: :math:`\lambda=-2r/\sigma^2`).

    Examples
    --------
    >>> from stochdepth.freeboundary import perpetual_american_put
    >>> p = perpetual_american_put(100.0, 0.05, 0.2)
    >>> round(p.boundary, 4), round(p.value(100.0), 4)
    (71.4286, 12.32)
    """
    k = check_real("strike", strike, lo=0.0, lo_open=True)
    r = check_real("rate", rate, lo=0.0, lo_open=True)
    vol = check_real("volatility", volatility, lo=0.0, lo_open=True)
    q = check_real("dividend", dividend, lo=0.0)
    mu = r - q - 0.5 * vol**2
    lam = (-mu - math.sqrt(mu * mu + 2.0 * vol**2 * r)) / vol**2
    return PerpetualPut(k, r, vol, q, lam, k * lam / (lam - 1.0))
