"""Strategies for American and Bermudan puts with their European closed form and grid references."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as hst

from ..._checks import check_int, check_real
from ..._results import Result

if TYPE_CHECKING:  # pragma: no cover
    from hypothesis.strategies import SearchStrategy

    from ...stopping.finance import GridPrice

__all__ = ["AmericanPut", "american_options"]


@dataclass(frozen=True, eq=False, repr=False)
class AmericanPut(Result):
    r"""A put option under Black--Scholes--Merton with its European, Bermudan and American prices.

    :math:`dS=(r-q)S\,dt+\sigma S\,dW` under the pricing measure, payoff :math:`(K-S)^+`. The European
    price is the closed form

    .. math::
        P_E=Ke^{-rT}\Phi(-d_2)-Se^{-qT}\Phi(-d_1),\qquad
        d_{1,2}=\frac{\ln(S/K)+(r-q\pm\sigma^2/2)T}{\sigma\sqrt T};

    the Bermudan one (exercise at :math:`t_l=lT/L`, :math:`l=0..L`) and the American one are computed by
    the library (a grid Snell envelope and the obstacle-problem PDE). Exercise rights are nested, so
    :math:`(K-S)^+\le P_A` and :math:`P_E\le P_B\le P_A`.

    Attributes
    ----------
    spot, strike, rate, volatility, maturity, dividend : float
        :math:`S_0, K, r, \sigma, T, q`.
    n_dates : int
        Number :math:`L` of exercise dates after 0 of the Bermudan version.

    References
    ----------
    Black & Scholes (1973), Merton (1973) (European closed form); Wilmott, Dewynne & Howison (1993),
    ch. 9 (American put as an obstacle problem).
    """

    spot: float
    strike: float
    rate: float
    volatility: float
    maturity: float
    dividend: float
    n_dates: int

    def intrinsic(self) -> float:
        """Immediate exercise value :math:`(K-S_0)^+`."""
        return max(self.strike - self.spot, 0.0)

    def european(self) -> float:
        """Black--Scholes--Merton put price (closed form above)."""
        from scipy.special import ndtr

        S, K, r, q, T, s = self.spot, self.strike, self.rate, self.dividend, self.maturity, self.volatility
        sd = s * math.sqrt(T)
        d1 = (math.log(S / K) + (r - q + 0.5 * s * s) * T) / sd
        d2 = d1 - sd
        return float(K * math.exp(-r * T) * ndtr(-d2) - S * math.exp(-q * T) * ndtr(-d1))

    def american_problem(self, *, n_nodes: int = 401) -> Any:
        """The American put in log-price (:func:`~stochdepth.freeboundary.american_put_problem`)."""
        from ...freeboundary import american_put_problem

        return american_put_problem(
            self.strike, self.rate, self.volatility, self.maturity, dividend=self.dividend, n_nodes=n_nodes
        )

    def american(self, *, n_nodes: int = 401, n_steps: int | None = None) -> float:
        """American price by Crank--Nicolson (Rannacher start) and Brennan--Schwartz on ``n_nodes`` nodes,
        ``n_steps`` time steps (default ``n_nodes // 4``), read at :math:`\\log S_0`."""
        from ...freeboundary import BrennanSchwartz, CrankNicolson, solve_obstacle

        n = check_int("n_nodes", n_nodes, min=5)
        steps = max(n // 4, 4) if n_steps is None else check_int("n_steps", n_steps, min=1)
        sol = solve_obstacle(
            self.american_problem(n_nodes=n),
            scheme=CrankNicolson(n_steps=steps),
            lcp=BrennanSchwartz(side="lower"),
        )
        return float(sol.value_at(0.0, math.log(self.spot)))

    def bermudan(self, *, points_per_sd: int = 8) -> GridPrice:
        """Bermudan price with ``n_dates`` dates (:func:`~stochdepth.stopping.finance.bermudan_put_grid`)."""
        from ...stopping.finance import bermudan_put_grid

        return bermudan_put_grid(self.spot, self.strike, **self._dates(), points_per_sd=points_per_sd)

    def process(self) -> Any:
        """The asset at the exercise dates (:class:`~stochdepth.stopping.finance.GeometricBrownianMotion`)."""
        from ...stopping.finance import GeometricBrownianMotion

        return GeometricBrownianMotion(self.spot, **self._dates())

    def _dates(self) -> dict[str, Any]:
        """The market and the exercise dates, as the keyword arguments of the Bermudan pricers."""
        return {
            "rate": self.rate,
            "volatility": self.volatility,
            "maturity": self.maturity,
            "n_dates": self.n_dates,
            "dividend": self.dividend,
        }


def american_options(
    *,
    max_maturity: float = 2.0,
    max_dates: int = 12,
    max_rate: float = 0.1,
    max_dividend: float = 0.05,
    max_moneyness: float = 2.0,
) -> SearchStrategy[AmericanPut]:
    r"""Put options (:class:`AmericanPut`) with random Black--Scholes--Merton parameters.

    :math:`K=100`, :math:`\sigma\in[0.1,0.5]`, :math:`T\in[0.1,` ``max_maturity`` :math:`]`,
    :math:`r\in[0,` ``max_rate`` :math:`]` (:math:`r=0` included: then early exercise is worthless and
    :math:`P_A=P_E`), :math:`q\in[0,` ``max_dividend`` :math:`]`, spot
    :math:`S_0=Ke^{z\sigma\sqrt T}` with :math:`|z|\le` ``max_moneyness`` (in and out of the money by up to
    that many standard deviations, inside the default PDE domain), :math:`1\le L\le` ``max_dates``.

    Parameters
    ----------
    max_maturity : float, optional
        Largest :math:`T` (``>= 0.1``).
    max_dates : int, optional
        Largest number of Bermudan exercise dates (``>= 1``).
    max_rate, max_dividend : float, optional
        Largest :math:`r` and :math:`q` (``>= 0``).
    max_moneyness : float, optional
        Largest :math:`|\ln(S_0/K)|/(\sigma\sqrt T)`, in ``[0, 4]``.

    Returns
    -------
    hypothesis strategy of AmericanPut

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(american_options(max_dates=4))
    ... def check(opt):
    ...     assert opt.european() >= 0.0 and opt.bermudan(points_per_sd=4).value > 0.0
    >>> check()
    """
    max_T = check_real("max_maturity", max_maturity, lo=0.1)
    max_L = check_int("max_dates", max_dates, min=1)
    r_hi = check_real("max_rate", max_rate, lo=0.0)
    q_hi = check_real("max_dividend", max_dividend, lo=0.0)
    z_hi = check_real("max_moneyness", max_moneyness, lo=0.0, hi=4.0)

    @hst.composite
    def draw_option(draw: Any) -> AmericanPut:
        vol = draw(hst.floats(0.1, 0.5))
        T = draw(hst.floats(0.1, max_T))
        r = draw(hst.floats(0.0, r_hi)) if r_hi > 0 else 0.0
        q = draw(hst.floats(0.0, q_hi)) if q_hi > 0 else 0.0
        z = draw(hst.floats(-z_hi, z_hi)) if z_hi > 0 else 0.0
        L = draw(hst.integers(1, max_L))
        K = 100.0
        return AmericanPut(K * math.exp(z * vol * math.sqrt(T)), K, r, vol, T, q, L)

    return draw_option()
