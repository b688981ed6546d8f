r"""The linear network (docs/science.md §A4) derived from its limit diffusion.

Itô's formula turns :math:`dX=\|X\|/\sqrt n\,dB` into the geometric Brownian motion of the norm
(:func:`derive_linear_norm_sde`), the drifted Brownian motion of the log-norm
(:func:`derive_linear_log_norm_sde`) and its Gaussian law (:func:`derive_linear_log_norm_law`); the moment
ODE of :math:`\|X\|^p` closes (:func:`derive_linear_norm_moment`). :func:`derive_squared_norm_sde` holds
for every activation (A3).
"""

from __future__ import annotations

import functools
from typing import Any

import sympy as sp

from ..expressions import as_expr
from ..sdes import ExchangeableSDE
from .limit import (
    COORDINATE,
    SYMBOLS,
    DerivedSDE,
    GaussianLaw,
    derive_by_ito,
    exchangeable_limit_diffusion,
)
from .moments import derive_moment_ode

__all__ = [
    "derive_linear_log_norm_law",
    "derive_linear_log_norm_sde",
    "derive_linear_norm_moment",
    "derive_linear_norm_sde",
    "derive_squared_norm_sde",
]


@functools.lru_cache(maxsize=64)
def derive_linear_norm_sde(n: Any = None) -> DerivedSDE:
    r"""Itô's formula for :math:`r=\|X\|` under the linear limit diffusion: a geometric Brownian motion.

    .. math::
        dr=\frac{n-1}{2n}\,r\,dt+\frac{r}{\sqrt n}\,d\beta.

    Parameters
    ----------
    n : int, sympy expression or None
        Width (default symbolic).

    Returns
    -------
    DerivedSDE
        In the variable ``r`` (positive).

    Notes
    -----
    Derives docs/science.md §A4 [derived] (the GBM law of the norm) from A3.

    Examples
    --------
    >>> from stochdepth.symbolic import derive_linear_norm_sde
    >>> d = derive_linear_norm_sde()
    >>> d.drift, d.volatility
    (r*(n - 1)/(2*n), r/sqrt(n))
    """
    sde = exchangeable_limit_diffusion(n, "linear")
    S = sde.sum(COORDINATE**2)
    return derive_by_ito(sde, sp.sqrt(S), sp.Symbol("r", positive=True), "docs/science.md §A4 [derived]")


@functools.lru_cache(maxsize=64)
def derive_linear_log_norm_sde(n: Any = None) -> DerivedSDE:
    r"""Itô's formula for :math:`y=\log\|X\|` under the linear limit diffusion: a drifted Brownian motion.

    .. math::
        d\log\|X_t\|=\Big(\frac12-\frac1n\Big)dt+\frac{1}{\sqrt n}\,d\beta_t.

    The diffusion of :math:`\log\|X\|` is the row :math:`x^\top/(\sqrt n\|x\|)`; its squared norm
    simplifies to the constant :math:`1/n`, so the martingale part is :math:`\beta/\sqrt n` with
    :math:`\beta` a one-dimensional Brownian motion (Lévy's characterisation).

    Parameters
    ----------
    n : int, sympy expression or None
        Width (default symbolic).

    Returns
    -------
    DerivedSDE
        In the variable ``y`` (real); drift :math:`m=\frac12-\frac1n` and volatility
        :math:`s=1/\sqrt n` are the inputs of docs/science.md §B6.

    Notes
    -----
    Derives docs/science.md §A4 [derived].

    Examples
    --------
    >>> from stochdepth.symbolic import derive_linear_log_norm_sde
    >>> d = derive_linear_log_norm_sde(4)
    >>> d.drift, d.volatility
    (1/4, 1/2)
    """
    sde = exchangeable_limit_diffusion(n, "linear")
    S = sde.sum(COORDINATE**2)
    return derive_by_ito(sde, sp.log(S) / 2, sp.Symbol("y", real=True), "docs/science.md §A4 [derived]")


def derive_linear_log_norm_law(n: Any = None, t: Any = None) -> GaussianLaw:
    r"""The law of :math:`\log(\|X_t\|/\|X_0\|)` for the linear limit diffusion, from its SDE.

    The log-norm SDE (:func:`derive_linear_log_norm_sde`) has constant coefficients :math:`m,s`, so
    :math:`\log\|X_t\|-\log\|X_0\|=mt+s\beta_t\sim\mathcal N(mt,s^2t)`:

    .. math::
        \log\frac{\|X_t\|}{\|X_0\|}\sim\mathcal N\Big(\big(\tfrac12-\tfrac1n\big)t,\ \frac tn\Big).

    Parameters
    ----------
    n : int, sympy expression or None
        Width (default symbolic).
    t : number, sympy expression or None
        Depth-time (default the symbol ``t``).

    Returns
    -------
    GaussianLaw

    Raises
    ------
    ValueError
        If ``t`` is negative.

    Notes
    -----
    Verifies docs/science.md §A4 [derived].

    Examples
    --------
    >>> from stochdepth.symbolic import derive_linear_log_norm_law
    >>> law = derive_linear_log_norm_law(4, 1)
    >>> law.mean, law.variance
    (1/4, 1/4)
    """
    tt = SYMBOLS["t"] if t is None else as_expr("t", t)
    if tt.is_negative:
        raise ValueError(f"t must be >= 0, got {tt}")
    d = derive_linear_log_norm_sde(n)
    if d.variable in d.drift.free_symbols | d.volatility.free_symbols:
        raise ValueError("the log-norm SDE does not have constant coefficients")  # pragma: no cover
    return GaussianLaw(
        sp.simplify(d.drift * tt), sp.simplify(d.volatility**2 * tt), "docs/science.md §A4 [derived]"
    )


def derive_linear_norm_moment(n: Any = None, p: Any = None, t: Any = None) -> sp.Expr:
    r"""The moment :math:`\mathbb E(\|X_t\|/\|X_0\|)^p` of the linear limit diffusion, from its moment ODE.

    The generator maps :math:`\|x\|^p` to :math:`c_p\|x\|^p`, so :math:`\frac{d}{dt}\mathbb E\|X_t\|^p=c_p\,
    \mathbb E\|X_t\|^p` closes and

    .. math::
        \mathbb E\Big(\frac{\|X_t\|}{\|X_0\|}\Big)^p=e^{c_pt},\qquad c_p=\frac{p(n+p-2)}{2n}
        =p\Big(\frac12-\frac1n\Big)+\frac{p^2}{2n};

    :math:`p=2` gives :math:`\mathbb E\|X_t\|^2=\|X_0\|^2e^t` for every width.

    Parameters
    ----------
    n : int, sympy expression or None
        Width (default symbolic).
    p : number, sympy expression or None
        Order (default the real symbol ``p``).
    t : number, sympy expression or None
        Depth-time (default ``t``).

    Returns
    -------
    sympy.Expr

    Notes
    -----
    Verifies docs/science.md §A4 [derived] (moments of the norm) via :func:`derive_moment_ode`.

    Examples
    --------
    >>> from stochdepth.symbolic import derive_linear_norm_moment
    >>> derive_linear_norm_moment(p=2)
    exp(t)
    """
    pp = SYMBOLS["p"] if p is None else as_expr("p", p)
    tt = SYMBOLS["t"] if t is None else as_expr("t", t)
    sde = exchangeable_limit_diffusion(n, "linear")
    extra = sorted(pp.free_symbols - set(sde.params), key=sp.default_sort_key)
    if extra:
        sde = ExchangeableSDE(sde.n, sde.volatility, coordinate=COORDINATE, params=extra, name=sde.name)
    S = sde.sum(COORDINATE**2)
    ode = derive_moment_ode(sde, S ** (pp / 2))
    if not ode.closed:  # pragma: no cover - closes for every p
        raise ValueError("the moment ODE of ||X||^p does not close")
    return sp.simplify(sp.exp(ode.matrix[0, 0] * tt))


@functools.lru_cache(maxsize=64)
def derive_squared_norm_sde(n: Any = None, activation: Any = "linear") -> DerivedSDE:
    r"""Itô's formula for :math:`\|X\|^2` under the limit diffusion of any activation.

    .. math::
        d\|X_t\|^2=\|\phi(X_t)\|^2\,dt+\frac{2}{\sqrt n}\,\|X_t\|\,\|\phi(X_t)\|\,d\beta_t,

    hence :math:`\mathbb E\|X_t\|^2=\mathbb E\|X_0\|^2+\int_0^t\mathbb E\|\phi(X_s)\|^2ds` (docs/science.md
    §A3
    [derived]); for the linear activation the drift is :math:`\|X\|^2` and the ODE closes to
    :math:`\mathbb E\|X_t\|^2=\mathbb E\|X_0\|^2e^t` (A4).

    Parameters
    ----------
    n : int, sympy expression or None
        Width (default symbolic).
    activation : str or Activation, default "linear"

    Returns
    -------
    DerivedSDE
        In the variable ``v`` (:math:`=\|X\|^2`); coefficients keep the coordinate sums they need.
    """
    sde = exchangeable_limit_diffusion(n, activation)
    S = sde.sum(COORDINATE**2)
    return derive_by_ito(sde, S, sp.Symbol("v", nonnegative=True), "docs/science.md §A3 [derived]")
