r"""The ReLU network (docs/science.md §A5) derived from its limit diffusion.

With :math:`\mu` active coordinates (a block of positive and a block of negative coordinates of symbolic
sizes), Itô's formula under the declared :math:`C^1`-with-Lipschitz-gradient exception gives the
post-activation norm (:func:`derive_relu_post_norm_sde`) and its logarithm
(:func:`derive_relu_log_post_norm_sde`); averaging over the active count at initialisation gives the
drift :math:`D(n)` (:func:`derive_relu_log_drift`), which changes sign between widths 3 and 4
(:func:`derive_relu_critical_width`).
"""

from __future__ import annotations

import functools
from typing import Any

import sympy as sp

from ..._checks import check_memory
from ..expressions import as_expr
from .limit import COORDINATE, SYMBOLS, DerivedSDE, as_width, derive_by_ito, exchangeable_limit_diffusion

__all__ = [
    "derive_relu_critical_width",
    "derive_relu_log_drift",
    "derive_relu_log_post_norm_sde",
    "derive_relu_post_norm_sde",
]


def _width_and_mu(n: Any, mu: Any) -> tuple[sp.Expr, sp.Expr]:
    """The width and the active count, checked: ``mu`` is at least 1 and at most ``n`` when both are known."""
    nn = as_width(n)
    if mu is None:
        return nn, SYMBOLS["mu"]
    m = as_expr("mu", mu)
    if m.is_positive is False:
        raise ValueError(f"mu must be >= 1 (a live network has an active unit), got {m}")
    if (m - nn).is_positive:
        raise ValueError(f"mu must be at most the width n = {nn} (active coordinates), got {m}")
    return nn, m


@functools.lru_cache(maxsize=64)
def derive_relu_post_norm_sde(n: Any = None, mu: Any = None) -> DerivedSDE:
    r"""Itô's formula for :math:`\rho=\|\phi(X)\|`, :math:`\phi=` ReLU, with :math:`\mu` active coordinates.

    .. math::
        d\rho=\frac{\mu-1}{2n}\,\rho\,dt+\frac{\rho}{\sqrt n}\,d\beta.

    :math:`\sum_i(x_i)_+^2` is :math:`C^1` with a Lipschitz gradient, which :func:`ito` checks, so the
    formula holds without local time (the active set may change along the path; the drift at each time
    uses the current :math:`\mu_t`).

    Parameters
    ----------
    n : int, sympy expression or None
        Width (default symbolic).
    mu : int, sympy expression or None
        Number of active (positive) coordinates, :math:`1\le\mu\le n` (default the symbol ``mu``).

    Returns
    -------
    DerivedSDE
        In the variable ``rho`` (positive).

    Notes
    -----
    Verifies docs/science.md §A5 [derived].
    """
    nn, m = _width_and_mu(n, mu)
    sde = exchangeable_limit_diffusion(nn, "relu", active=m)
    P = sde.sum(sp.Max(COORDINATE, 0) ** 2)
    return derive_by_ito(
        sde,
        sp.sqrt(P),
        sp.Symbol("rho", positive=True),
        "docs/science.md §A5 [derived]",
        regularity="C1-lipschitz-gradient",
    )


@functools.lru_cache(maxsize=64)
def derive_relu_log_post_norm_sde(n: Any = None, mu: Any = None) -> DerivedSDE:
    r"""Itô's formula for :math:`\log\|\phi(X)\|`, :math:`\phi=` ReLU, with :math:`\mu` active coordinates.

    .. math::
        d\log\|\phi(X_t)\|=\frac{\mu_t-2}{2n}\,dt+\frac{1}{\sqrt n}\,d\widehat W_t,

    i.e. the ReLU norm identity :math:`\|\phi(X_t)\|=\|\phi(X_0)\|\exp\big(\widehat W_t/\sqrt n+\frac1n
    \int_0^t(\frac{\mu_s}2-1)ds\big)`. Width 1 (:math:`\mu=1`): :math:`d\log X=-\frac12dt+dW`, i.e.
    :math:`X_t=X_0e^{B_t-t/2}` for :math:`X_0>0`.

    Parameters
    ----------
    n : int, sympy expression or None
        Width (default symbolic).
    mu : int, sympy expression or None
        Active count :math:`\mu\ge1` (default the symbol ``mu``).

    Returns
    -------
    DerivedSDE
        In the variable ``y`` (real).

    Notes
    -----
    Verifies docs/science.md §A5 [derived] (the regularity exception is checked, not assumed).

    Examples
    --------
    >>> from stochdepth.symbolic import derive_relu_log_post_norm_sde
    >>> d = derive_relu_log_post_norm_sde()
    >>> d.drift, d.volatility
    ((mu - 2)/(2*n), 1/sqrt(n))
    """
    nn, m = _width_and_mu(n, mu)
    sde = exchangeable_limit_diffusion(nn, "relu", active=m)
    P = sde.sum(sp.Max(COORDINATE, 0) ** 2)
    return derive_by_ito(
        sde,
        sp.log(P) / 2,
        sp.Symbol("y", real=True),
        "docs/science.md §A5 [derived]",
        regularity="C1-lipschitz-gradient",
    )


def derive_relu_log_drift(n: Any = None) -> sp.Expr:
    r"""The initial drift of the log post-activation norm of a live ReLU network, :math:`D(n)`.

    At initialisation the signs of the :math:`n` coordinates are fair coins, so
    :math:`\mu\sim\mathrm{Binomial}(n,\frac12)`, and a live network has :math:`\mu\ge1`. Averaging the
    drift :math:`(\mu-2)/(2n)` of :func:`derive_relu_log_post_norm_sde` with a symbolic sum:

    .. math::
        D(n)=\sum_{\mu=1}^{n}\binom n\mu\frac{2^{-n}}{1-2^{-n}}\,\frac{\mu-2}{2n}
        =\frac{1}{4(1-2^{-n})}-\frac1n.

    Parameters
    ----------
    n : int, sympy expression or None
        Width (default symbolic).

    Returns
    -------
    sympy.Expr
        :math:`D(n)` (an exact rational for integer ``n``).

    Notes
    -----
    Verifies docs/science.md §A5 [seed; this reading derived]: :math:`D(3)=-1/21<0<D(4)=1/60`.

    Examples
    --------
    >>> from stochdepth.symbolic import derive_relu_log_drift
    >>> derive_relu_log_drift(3), derive_relu_log_drift(4)
    (-1/21, 1/60)
    """
    nn = as_width(n)
    if nn.is_Integer:
        # the exact rational has 2^n - 1 in its denominator: n bits for each of its two integers
        check_memory("n", int(nn), 0.25, "the exact rational D(n)", hint="lower n, or pass n=None (symbolic)")
    total = _relu_log_drift_symbolic()
    ns = SYMBOLS["n"]
    return sp.simplify(total.subs(ns, nn)) if nn != ns else total


@functools.lru_cache(maxsize=1)
def _relu_log_drift_symbolic() -> sp.Expr:
    k = sp.Symbol("k", integer=True, positive=True)
    ns = SYMBOLS["n"]
    drift = derive_relu_log_post_norm_sde(ns, k).drift
    weight = sp.binomial(ns, k) / (2**ns - 1)  # P(mu = k | mu >= 1)
    total = sp.Sum(weight * drift, (k, 1, ns)).doit()
    return sp.simplify(sp.powsimp(sp.expand(total)))


def derive_relu_critical_width() -> int:
    r"""The smallest width at which a live ReLU network's log post-activation norm drifts upwards.

    With :math:`D(n)` from :func:`derive_relu_log_drift`: :math:`D(n)<0` for :math:`n\le3` and
    :math:`D(n)>0` for :math:`n\ge4`. Proof carried out here: :math:`D(1),\dots,D(4)` are computed exactly,
    and for :math:`n\ge4` sympy simplifies :math:`D(n)-(\frac14-\frac1n)` to :math:`\frac{1}{4(2^n-1)}>0`
    while :math:`\frac14-\frac1n\ge0`.

    Returns
    -------
    int
        4.

    Raises
    ------
    RuntimeError
        If a step of the proof fails (it does not: the tests run it).

    Notes
    -----
    Verifies docs/science.md §A5, the change of regime between widths 3 and 4 [seed; this reading derived].
    """
    ns = SYMBOLS["n"]
    D = derive_relu_log_drift(ns)
    gap = sp.simplify(D - (sp.Rational(1, 4) - 1 / ns))
    if not (gap.is_positive and sp.simplify(gap - 1 / (4 * (2**ns - 1))) == 0):  # pragma: no cover
        raise RuntimeError(f"the tail bound of D(n) failed: D(n) - (1/4 - 1/n) = {gap}")
    head = [derive_relu_log_drift(w) for w in (1, 2, 3, 4)]
    if not (all(v.is_negative for v in head[:3]) and head[3].is_positive):  # pragma: no cover
        raise RuntimeError(f"unexpected signs of D(1..4) = {head}")
    return 4
