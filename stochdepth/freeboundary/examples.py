r"""Reference problems with known answers: the American put, the perpetual put, the noiseless contraction.

* :func:`american_put_problem` -- the American put under Black--Scholes in log-price
  :math:`x=\log S` (constant coefficients), the standard benchmark of obstacle-problem solvers;
* :func:`perpetual_american_put` -- its infinite-maturity closed form (McKean, *Ind. Manag. Rev.* 6
  (1965); Merton, *Bell J. Econ.* 4 (1973) 141-183, sec. 8);
* :func:`noiseless_contraction` -- SCIENCE.md B5: the noiseless continuous-depth problem
  :math:`\dot d=-\kappa d`, gain :math:`-d^2`, cost :math:`c`, solved in closed form (finite and infinite
  horizon), and :func:`contraction_stopping_depth`, its discrete-depth analogue
  :math:`h_{l+1}=h_l-\alpha(h_l-y)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_array, check_int, check_real
from .._results import Result
from .grids import StretchedGrid
from .problems import Natural, ObstacleProblem, StationaryObstacleProblem

__all__ = [
    "NoiselessContraction",
    "PerpetualPut",
    "american_put_problem",
    "contraction_stopping_depth",
    "noiseless_contraction",
    "perpetual_american_put",
]


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
    w = check_real("width", width, lo=0.0, lo_open=True)
    sd = vol * math.sqrt(t)
    sc = 0.5 * sd if scale is None else check_real("scale", scale, lo=0.0, lo_open=True)
    mu = r - q - 0.5 * vol**2
    half = w * sd + abs(mu) * t
    xk = math.log(k)
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


@dataclass(frozen=True, eq=False, repr=False)
class NoiselessContraction(Result):
    r"""SCIENCE.md B5: stopping :math:`\dot d=-\kappa d` with gain :math:`-d^2` and cost rate :math:`c`.

    Attributes
    ----------
    kappa, cost : float
        :math:`\kappa>0` and :math:`c>0`.
    boundary : float
        :math:`d^\star=\sqrt{c/(2\kappa)}`: stop as soon as :math:`|d|\le d^\star`.
    """

    kappa: float
    cost: float
    boundary: float

    def stopping_time(self, d: Any, t1: float | None = None) -> np.ndarray | float:
        r"""Optimal time :math:`s^\star=\min\{T,\ \max(0,\ \ln(2\kappa d^2/c)/(2\kappa))\}`."""
        dd = check_array("d", d, ndim=None)
        with np.errstate(divide="ignore"):
            s = np.maximum(0.0, np.log(2 * self.kappa * dd**2 / self.cost) / (2 * self.kappa))
        if t1 is not None:
            s = np.minimum(s, check_real("t1", t1, lo=0.0))
        return float(s) if s.ndim == 0 else s

    def value(self, d: Any, t1: float | None = None) -> np.ndarray | float:
        r"""Value :math:`\max_{0\le s\le T}\{-d^2e^{-2\kappa s}-cs\}` (time to go :math:`T`, default
        :math:`\infty`).

        With :math:`T=\infty` and :math:`|d|>d^\star`:
        :math:`V(d)=-\frac{c}{2\kappa}\big(1+\ln\frac{2\kappa d^2}{c}\big)`.
        """
        dd = check_array("d", d, ndim=None)
        s = np.asarray(self.stopping_time(dd, t1))
        out = -(dd**2) * np.exp(-2 * self.kappa * s) - self.cost * s
        return float(out) if out.ndim == 0 else out

    def problem(
        self, upper: float, *, t1: float | None = None, n_nodes: int = 401
    ) -> ObstacleProblem | StationaryObstacleProblem:
        r"""The same problem for the PDE solver on :math:`d\in[0,\mathrm{upper}]` (uniform grid).

        Zero volatility: both edges are :class:`Natural` (the flow enters the domain at ``upper`` and
        stops at 0); upwinding is automatic.
        """
        hi = check_real("upper", upper, lo=0.0, lo_open=True)
        from .grids import UniformGrid

        grid = UniformGrid(0.0, hi, check_int("n_nodes", n_nodes, min=3))
        k = self.kappa

        def gain(x: np.ndarray) -> np.ndarray:
            return -(x**2)

        def gain_derivative(x: np.ndarray) -> np.ndarray:
            return -2.0 * x

        if t1 is None:
            return StationaryObstacleProblem(
                gain,
                lambda x: -k * x,
                0.0,
                grid,
                cost=self.cost,
                left=Natural(),
                right=Natural(),
                gain_derivative=gain_derivative,
            )
        return ObstacleProblem(
            gain,
            lambda t, x: -k * x,
            0.0,
            t1,
            grid,
            cost=self.cost,
            left=Natural(),
            right=Natural(),
            gain_derivative=gain_derivative,
        )


def noiseless_contraction(kappa: float, cost: float) -> NoiselessContraction:
    r"""Closed form of SCIENCE.md B5 (noiseless continuous depth).

    For :math:`d_t=d_0e^{-\kappa t}`, gain :math:`-d^2` and cost :math:`c`: stopping at time :math:`s`
    pays :math:`-d^2e^{-2\kappa s}-cs`, concave in :math:`s`, maximal at
    :math:`s^\star=\ln(2\kappa d^2/c)/(2\kappa)` when positive. Hence stop iff
    :math:`|d|\le d^\star=\sqrt{c/(2\kappa)}`, and in continuation
    :math:`V(d)=-\frac{c}{2\kappa}\big(1+\ln\frac{2\kappa d^2}{c}\big)`.

    Parameters
    ----------
    kappa : float
        Contraction rate :math:`\kappa>0`.
    cost : float
        Cost per unit depth :math:`c>0`.

    Notes
    -----
    Reference: SCIENCE.md B5 [derived]; re-derived by smooth fit in :mod:`stochdepth.symbolic.smooth_fit`
    (variable :math:`u=\ln d`).

    Examples
    --------
    >>> from stochdepth.freeboundary import noiseless_contraction
    >>> nc = noiseless_contraction(2.0, 0.1)
    >>> round(nc.boundary, 6), round(nc.value(1.0), 6)
    (0.158114, -0.117222)
    """
    k = check_real("kappa", kappa, lo=0.0, lo_open=True)
    c = check_real("cost", cost, lo=0.0, lo_open=True)
    return NoiselessContraction(k, c, math.sqrt(c / (2.0 * k)))


def contraction_stopping_depth(d0: float, alpha: float, cost: float) -> int:
    r"""Optimal depth of B5's discrete analogue :math:`h_{l+1}=h_l-\alpha(h_l-y)`, gain :math:`-|h-y|^2`.

    .. math::
        \tau^\star=\max\Big(0,\ \Big\lceil\frac{\ln\big(c/[(1-(1-\alpha)^2)\,d_0^2]\big)}{2\ln(1-\alpha)}
        \Big\rceil\Big),

    with :math:`d_0=|h_0-y|` and cost :math:`c` per layer: the one-step gain
    :math:`d_l^2-d_{l+1}^2=(1-(1-\alpha)^2)d_l^2` decreases, so the problem is monotone and the one-step
    look-ahead rule (stop when the gain of one more layer is at most :math:`c`) is optimal.

    Parameters
    ----------
    d0 : float
        Initial distance :math:`d_0\ge0`.
    alpha : float
        Step :math:`0<\alpha<1`.
    cost : float
        Cost per layer :math:`c>0`.

    Notes
    -----
    Reference: SCIENCE.md B5 [derived] and B2 (one-step look-ahead in the monotone case, classical).

    Examples
    --------
    >>> from stochdepth.freeboundary import contraction_stopping_depth
    >>> contraction_stopping_depth(1.0, 0.1, 0.01)
    14
    """
    d = check_real("d0", d0, lo=0.0)
    a = check_real("alpha", alpha, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    c = check_real("cost", cost, lo=0.0, lo_open=True)
    if d == 0.0:
        return 0
    ratio = math.log(c / ((1.0 - (1.0 - a) ** 2) * d * d)) / (2.0 * math.log(1.0 - a))
    return max(0, math.ceil(ratio))
