r"""QuantLib's American put as an external reference for the obstacle solvers.

QuantLib is an optional dependency (the ``validation`` extra: ``pip install 'stochdepth[validation]'``
or ``pip install QuantLib``); it is imported when a function here is called, never at import time.

The reference is the ``QdFpAmericanEngine`` with its high-precision scheme (the fixed-point iteration
of Andersen, Lake & Offengenden 2016 for the exercise boundary), far more accurate than the
finite-difference grids it is compared with. QuantLib works with dates: the maturity is rounded to a
whole number of days and measured Actual/365, and :attr:`QuantLibPut.tau` is the year fraction it
actually priced, which a comparison must use as its own maturity.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = ["QuantLibPut", "american_put", "require_quantlib"]


def require_quantlib() -> ModuleType:
    """The ``QuantLib`` module, or an :class:`ImportError` that says how to install it."""
    try:
        import QuantLib
    except ImportError as exc:
        raise ImportError(
            "the QuantLib reference needs QuantLib, part of the 'validation' extra of stochdepth: "
            "pip install 'stochdepth[validation]' (or pip install QuantLib)"
        ) from exc
    return QuantLib


@dataclass(frozen=True)
class QuantLibPut:
    """An American put priced by QuantLib.

    Attributes
    ----------
    price : float
        The high-precision price.
    tau : float
        The year fraction QuantLib priced (the maturity rounded to whole days, Actual/365).
    process : QuantLib.BlackScholesMertonProcess
        The process, to price the same option with another engine.
    option : QuantLib.VanillaOption
        The option, its pricing engine set to the high-precision one.
    """

    price: float
    tau: float
    process: Any
    option: Any


def american_put(
    spot: float, strike: float, rate: float, dividend: float, volatility: float, maturity: float
) -> QuantLibPut:
    r"""QuantLib's high-precision price of an American put under Black--Scholes--Merton.

    :math:`dS=(r-q)S\,dt+\sigma S\,dW`, payoff :math:`(K-S)^+` exercisable at any time up to the
    maturity; flat rate, dividend yield and volatility; evaluation date 2025-01-01.

    Parameters
    ----------
    spot, strike : float
        :math:`S_0` and :math:`K`.
    rate, dividend, volatility : float
        :math:`r`, :math:`q` and :math:`\sigma` (annual, continuously compounded).
    maturity : float
        :math:`T` in years, rounded to whole days.

    Returns
    -------
    QuantLibPut

    Raises
    ------
    ImportError
        When QuantLib is not installed (see :func:`require_quantlib`).

    References
    ----------
    Andersen, Lake & Offengenden, "High-performance American option pricing", J. Comput. Finance 20(1),
    2016.
    """
    ql = require_quantlib()
    today = ql.Date(1, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    expiry = today + ql.Period(round(maturity * 365), ql.Days)
    tau = dc.yearFraction(today, expiry)
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, dividend, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), volatility, dc)),
    )
    option = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Put, strike), ql.AmericanExercise(today, expiry)
    )
    option.setPricingEngine(ql.QdFpAmericanEngine(process, ql.QdFpAmericanEngine.highPrecisionScheme()))
    return QuantLibPut(float(option.NPV()), float(tau), process, option)
