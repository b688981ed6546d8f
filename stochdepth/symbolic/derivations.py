r"""Closed forms of SCIENCE.md re-derived by sympy from the limit diffusion itself.

Every function here starts from an SDE -- the limit diffusion :math:`dX=\|\phi(X)\|/\sqrt n\,dB` of a
width-:math:`n` random residual network (SCIENCE.md A3), or the McKean--Vlasov diffusion of its
sequential limit (A6) -- applies Itô's formula (:func:`~stochdepth.symbolic.ito`) and simplifies. Nothing
below types in the result it derives; the tests compare each derivation with the closed form as
SCIENCE.md states it, and with a deliberately wrong variant that must be told apart.

Symbolic width. Sympy cannot differentiate with respect to a symbolic number of coordinates, so the
derivations in width :math:`n` use :class:`~stochdepth.symbolic.ExchangeableSDE`: the state enters through
coordinate sums such as :math:`\sum_ix_i^2`, and the coordinates may be split into blocks of symbolic
size with a fixed sign. For ReLU we take the active set as a block of :math:`\mu` positive coordinates
and :math:`n-\mu` negative ones (a "generic fixed active set", symbolic in both :math:`n` and
:math:`\mu`): this gives the drift as a function of :math:`\mu`, which the average over
:math:`\mu\sim\mathrm{Binomial}(n,\frac12)` in :func:`derive_relu_log_drift` needs. (Without blocks, the
same derivation returns :math:`\mu` as the coordinate sum :math:`\sum_i\mathbf 1\{x_i>0\}`; the tests
check that both agree, and that both agree with the finite-dimensional Itô formula for every small
:math:`n` and sign pattern.)

Provenance: each function says which claim of SCIENCE.md it verifies and with which tag.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from scipy import stats as _st

from .._checks import check_int
from .._results import Result
from ..activations import Activation, get_activation
from .core import (
    Block,
    CoordinateSum,
    ExchangeableSDE,
    ItoResult,
    SymbolicSDE,
    _short,
    as_expr,
    ito,
)

__all__ = [
    "SYMBOLS",
    "DerivedSDE",
    "GaussianLaw",
    "KernelODE",
    "MomentODE",
    "VarianceODE",
    "derive_kernel_ode",
    "derive_linear_log_norm_law",
    "derive_linear_log_norm_sde",
    "derive_linear_norm_moment",
    "derive_linear_norm_sde",
    "derive_moment_ode",
    "derive_relu_critical_width",
    "derive_relu_log_drift",
    "derive_relu_log_post_norm_sde",
    "derive_relu_post_norm_sde",
    "derive_squared_norm_sde",
    "derive_variance_ode",
    "exchangeable_limit_diffusion",
    "gaussian_expectation",
    "limit_diffusion",
]

#: The symbols used by the derivations, after SCIENCE.md: width ``n``, active count ``mu``, depth-time
#: ``t``, moment order ``p``, variance ``q`` and initial variance ``q0``.
SYMBOLS = {
    "n": sp.Symbol("n", integer=True, positive=True),
    "mu": sp.Symbol("mu", integer=True, positive=True),
    "t": sp.Symbol("t", nonnegative=True),
    "p": sp.Symbol("p", real=True),
    "q": sp.Symbol("q", positive=True),
    "q0": sp.Symbol("q_0", positive=True),
}

_X = sp.Symbol("x", real=True)


def _width(n: Any) -> sp.Expr:
    """``None`` -> the symbol n; an int >= 1; or a sympy expression that may be a positive integer."""
    if n is None:
        return SYMBOLS["n"]
    if isinstance(n, sp.Basic):
        if n.is_positive is False or n.is_integer is False:
            raise ValueError(
                f"n must be a positive integer or a symbol declared integer=True, positive=True, got {n}"
            )
        return n
    return sp.Integer(check_int("n", n, min=1))


def _activation(activation: Any) -> Activation:
    act = get_activation(activation)
    if act.sympy_fn is None:
        raise ValueError(f"activation {act.name!r} has no sympy form (Activation.sympy_fn); give one")
    return act


# ----------------------------------------------------------------------------------------------------
# The limit diffusion
# ----------------------------------------------------------------------------------------------------


def limit_diffusion(n: int, activation: Any = "linear") -> SymbolicSDE:
    r"""The limit diffusion of a width-:math:`n` random ResNet as a :class:`SymbolicSDE` (:math:`n` given).

    .. math::
        dX_t=\frac{\|\phi(X_t)\|}{\sqrt n}\,dB_t,\qquad X_t\in\mathbb R^n,

    state :math:`x_1,\dots,x_n` (real symbols), zero drift, diffusion :math:`\|\phi(x)\|/\sqrt n\,I_n`.

    Parameters
    ----------
    n : int
        Width, :math:`n\ge1`.
    activation : str or Activation, default "linear"
        :math:`\phi`; needs a sympy form.

    Returns
    -------
    SymbolicSDE

    Notes
    -----
    SCIENCE.md A3 [seed; exact statement derived].

    Examples
    --------
    >>> from stochdepth.symbolic import limit_diffusion, to_sde
    >>> sde = limit_diffusion(3, "relu")
    >>> to_sde(sde).noise
    'isotropic'
    """
    d = check_int("n", n, min=1)
    act = _activation(activation)
    xs = tuple(sp.Symbol(f"x_{i}", real=True) for i in range(1, d + 1))
    s = sp.sqrt(sp.Add(*[act.sympy(x) ** 2 for x in xs]) / d)
    return SymbolicSDE(xs, [0] * d, s * sp.eye(d), name=f"{act.name} limit diffusion, n={d}")


def exchangeable_limit_diffusion(
    n: Any = None, activation: Any = "linear", *, active: Any = None
) -> ExchangeableSDE:
    r"""The limit diffusion in symbolic width, :math:`dX^i=\sqrt{\tfrac1n\sum_j\phi(X^j)^2}\,dB^i`.

    Parameters
    ----------
    n : int, sympy expression or None
        Width (default the symbol :math:`n`, integer and positive).
    activation : str or Activation, default "linear"
    active : sympy expression, int or None
        If given, restrict to states with exactly ``active`` positive coordinates (a block of
        ``active`` positive and ``n - active`` negative coordinates): the active set of a ReLU network.

    Returns
    -------
    ExchangeableSDE

    Notes
    -----
    SCIENCE.md A3. The coordinate symbol is a real ``x``.
    """
    nn = _width(n)
    act = _activation(activation)
    blocks = None
    if active is not None:
        mu = as_expr("active", active)
        if mu.is_negative or (mu - nn).is_positive:
            raise ValueError(f"active must lie in [0, n], got {mu}")
        blocks = [Block(mu, 1), Block(nn - mu, -1)]
    return ExchangeableSDE(
        nn,
        lambda s: sp.sqrt(s(lambda x: act.sympy(x) ** 2) / nn),
        coordinate=_X,
        blocks=blocks,
        name=f"{act.name} limit diffusion",
    )


# ----------------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class DerivedSDE(Result):
    r"""A scalar SDE derived by Itô's formula: :math:`dY=\text{drift}\,dt+\text{volatility}\,d\beta`.

    :math:`\beta` is a one-dimensional Brownian motion (Lévy's characterisation of the martingale part).

    Attributes
    ----------
    process : sympy.Expr
        :math:`Y` as a function of the original state (coordinate sums for symbolic width).
    variable : sympy.Symbol
        The name of :math:`Y` in ``drift`` and ``volatility``.
    drift, volatility : sympy.Expr
        Coefficients, functions of ``variable`` and of the parameters (width, active count ...).
    claim : str
        The SCIENCE.md claim it verifies, with its provenance tag.
    ito : ItoResult
        The full Itô computation in the original state.
    """

    process: sp.Expr
    variable: sp.Symbol
    drift: sp.Expr
    volatility: sp.Expr
    claim: str
    ito: ItoResult

    def __repr__(self) -> str:
        return (
            f"DerivedSDE(\n  d{self.variable} = ({_short(self.drift)}) dt + ({_short(self.volatility)}) dβ\n"
            f"  {self.variable} = {_short(self.process)}\n  claim = {self.claim}\n)"
        )

    def as_symbolic_sde(self) -> SymbolicSDE:
        """The derived one-dimensional SDE as a :class:`SymbolicSDE` (for :func:`to_sde`,
        :func:`to_obstacle_coefficients`); every other free symbol becomes a parameter."""
        params = sorted(
            (self.drift.free_symbols | self.volatility.free_symbols) - {self.variable},
            key=sp.default_sort_key,
        )
        return SymbolicSDE(
            [self.variable], [self.drift], [[self.volatility]], params=params, name=f"d{self.variable}"
        )


@dataclass(frozen=True, eq=False, repr=False)
class GaussianLaw(Result):
    r"""A normal law :math:`\mathcal N(\text{mean},\text{variance})` with symbolic parameters.

    Attributes
    ----------
    mean, variance : sympy.Expr
    claim : str
    """

    mean: sp.Expr
    variance: sp.Expr
    claim: str

    def __repr__(self) -> str:
        return f"GaussianLaw(mean={self.mean}, variance={self.variance}, claim={self.claim!r})"

    def frozen(self, values: dict[Any, Any] | None = None) -> Any:
        """The :func:`scipy.stats.norm` frozen law once every symbol has a value (``{symbol: number}``)."""
        vals = {} if values is None else dict(values)
        m = self.mean.subs(vals)
        v = self.variance.subs(vals)
        if m.free_symbols or v.free_symbols:
            left = sorted(map(str, m.free_symbols | v.free_symbols))
            raise ValueError(f"values must give every symbol a number; missing {left}")
        var = float(v)
        if not var >= 0:
            raise ValueError(f"the variance must be >= 0, got {var}")
        return _st.norm(loc=float(m), scale=float(np.sqrt(var)))


def _express(expr: sp.Expr, process: sp.Expr, variable: sp.Symbol) -> sp.Expr:
    """Rewrite ``expr`` (a function of the coordinate sums of ``process``) in terms of ``variable``."""
    sums = sorted(process.atoms(CoordinateSum), key=sp.default_sort_key)
    if len(sums) != 1 or not (expr.atoms(CoordinateSum) <= set(sums)):
        return expr
    (S,) = sums
    u = sp.Dummy("u", positive=True)
    sol = sp.solve(sp.Eq(variable, process.subs(S, u)), u)
    if len(sol) != 1:
        return expr
    return sp.simplify(expr.subs(S, sol[0]))


def _derived(
    sde: Any, process: sp.Expr, variable: sp.Symbol, claim: str, *, regularity: str = "C2"
) -> DerivedSDE:
    res = ito(sde, process, regularity=regularity)
    drift = _express(res.drift, process, variable)
    vol = _express(res.volatility, process, variable)
    return DerivedSDE(process, variable, drift, vol, claim, res)


# ----------------------------------------------------------------------------------------------------
# Linear network (SCIENCE.md A4)
# ----------------------------------------------------------------------------------------------------


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
    Derives SCIENCE.md A4 [derived] (the GBM law of the norm) from A3.

    Examples
    --------
    >>> from stochdepth.symbolic import derive_linear_norm_sde
    >>> d = derive_linear_norm_sde()
    >>> d.drift, d.volatility
    (r*(n - 1)/(2*n), r/sqrt(n))
    """
    sde = exchangeable_limit_diffusion(n, "linear")
    S = sde.sum(_X**2)
    return _derived(sde, sp.sqrt(S), sp.Symbol("r", positive=True), "SCIENCE.md A4 [derived]")


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
        :math:`s=1/\sqrt n` are the inputs of SCIENCE.md B6.

    Notes
    -----
    Derives SCIENCE.md A4 [derived].

    Examples
    --------
    >>> from stochdepth.symbolic import derive_linear_log_norm_sde
    >>> d = derive_linear_log_norm_sde(4)
    >>> d.drift, d.volatility
    (1/4, 1/2)
    """
    sde = exchangeable_limit_diffusion(n, "linear")
    S = sde.sum(_X**2)
    return _derived(sde, sp.log(S) / 2, sp.Symbol("y", real=True), "SCIENCE.md A4 [derived]")


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
    Verifies SCIENCE.md A4 [derived].

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
        sp.simplify(d.drift * tt), sp.simplify(d.volatility**2 * tt), "SCIENCE.md A4 [derived]"
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
    Verifies SCIENCE.md A4 [derived] (moments of the norm) via :func:`derive_moment_ode`.

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
        sde = ExchangeableSDE(sde.n, sde.volatility, coordinate=_X, params=extra, name=sde.name)
    S = sde.sum(_X**2)
    ode = derive_moment_ode(sde, S ** (pp / 2))
    if not ode.closed:  # pragma: no cover - closes for every p
        raise ValueError("the moment ODE of ||X||^p does not close")
    return sp.simplify(sp.exp(ode.matrix[0, 0] * tt))


@functools.lru_cache(maxsize=64)
def derive_squared_norm_sde(n: Any = None, activation: Any = "linear") -> DerivedSDE:
    r"""Itô's formula for :math:`\|X\|^2` under the limit diffusion of any activation.

    .. math::
        d\|X_t\|^2=\|\phi(X_t)\|^2\,dt+\frac{2}{\sqrt n}\,\|X_t\|\,\|\phi(X_t)\|\,d\beta_t,

    hence :math:`\mathbb E\|X_t\|^2=\mathbb E\|X_0\|^2+\int_0^t\mathbb E\|\phi(X_s)\|^2ds` (SCIENCE.md A3
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
    S = sde.sum(_X**2)
    return _derived(sde, S, sp.Symbol("v", nonnegative=True), "SCIENCE.md A3 [derived]")


# ----------------------------------------------------------------------------------------------------
# ReLU network (SCIENCE.md A5)
# ----------------------------------------------------------------------------------------------------


def _mu(mu: Any) -> sp.Expr:
    if mu is None:
        return SYMBOLS["mu"]
    m = as_expr("mu", mu)
    if m.is_positive is False:
        raise ValueError(f"mu must be >= 1 (a live network has an active unit), got {m}")
    return m


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
    Verifies SCIENCE.md A5 [derived].
    """
    nn, m = _width(n), _mu(mu)
    sde = exchangeable_limit_diffusion(nn, "relu", active=m)
    P = sde.sum(sp.Max(_X, 0) ** 2)
    return _derived(
        sde,
        sp.sqrt(P),
        sp.Symbol("rho", positive=True),
        "SCIENCE.md A5 [derived]",
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
    Verifies SCIENCE.md A5 [derived] (the regularity exception is checked, not assumed).

    Examples
    --------
    >>> from stochdepth.symbolic import derive_relu_log_post_norm_sde
    >>> d = derive_relu_log_post_norm_sde()
    >>> d.drift, d.volatility
    ((mu - 2)/(2*n), 1/sqrt(n))
    """
    nn, m = _width(n), _mu(mu)
    sde = exchangeable_limit_diffusion(nn, "relu", active=m)
    P = sde.sum(sp.Max(_X, 0) ** 2)
    return _derived(
        sde,
        sp.log(P) / 2,
        sp.Symbol("y", real=True),
        "SCIENCE.md A5 [derived]",
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
    Verifies SCIENCE.md A5 [seed; this reading derived]: :math:`D(3)=-1/21<0<D(4)=1/60`.

    Examples
    --------
    >>> from stochdepth.symbolic import derive_relu_log_drift
    >>> derive_relu_log_drift(3), derive_relu_log_drift(4)
    (-1/21, 1/60)
    """
    nn = _width(n)
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
    Verifies SCIENCE.md A5, the change of regime between widths 3 and 4 [seed; this reading derived].
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


# ----------------------------------------------------------------------------------------------------
# Moment ODEs
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class MomentODE(Result):
    r"""A linear moment ODE :math:`\frac{d}{dt}\mathbb E F(X_t)=M\,\mathbb E F(X_t)` (when it closes).

    Attributes
    ----------
    functions : tuple of sympy.Expr
        :math:`F=(F_1,\dots,F_k)`.
    drifts : tuple of sympy.Expr
        :math:`\partial_tF_j+\mathcal AF_j` from Itô's formula.
    matrix : sympy.Matrix or None
        :math:`M` (free of the state), or ``None`` when the system does not close.
    closed : bool
        Whether every drift lies in the span of :math:`F` with state-free coefficients.
    time : sympy.Symbol
    """

    functions: tuple[sp.Expr, ...]
    drifts: tuple[sp.Expr, ...]
    matrix: sp.Matrix | None
    closed: bool
    time: sp.Symbol

    def __repr__(self) -> str:
        m = None if self.matrix is None else self.matrix.tolist()
        return f"MomentODE(functions={list(self.functions)}, matrix={m}, closed={self.closed})"

    def solution(self, initial: Any = None) -> sp.Matrix:
        r""":math:`\mathbb E F(X_t)=e^{Mt}\,\mathbb E F(X_0)` (``initial`` defaults to symbols ``EF_j(0)``).

        Raises
        ------
        ValueError
            If the ODE does not close.
        """
        if not self.closed or self.matrix is None:
            raise ValueError("the moment ODE does not close: no solution in terms of these functions")
        k = len(self.functions)
        if initial is None:
            init = sp.Matrix([sp.Symbol(f"EF{j + 1}(0)") for j in range(k)])
        else:
            init = sp.Matrix(list(initial) if not isinstance(initial, sp.MatrixBase) else initial)
            if init.shape != (k, 1):
                raise ValueError(f"initial must hold {k} value(s), got shape {init.shape}")
        return sp.simplify((self.matrix * self.time).exp() * init)


def derive_moment_ode(
    sde: SymbolicSDE | ExchangeableSDE,
    f: Any,
    *,
    basis: tuple[Any, ...] = (),
    regularity: str = "C2",
) -> MomentODE:
    r"""Moment ODE of :math:`F=(f,\text{basis}...)`: does :math:`\frac{d}{dt}\mathbb EF=M\,\mathbb EF` close?

    For each :math:`F_j`, Itô's formula gives :math:`\frac{d}{dt}\mathbb EF_j(X_t)=\mathbb E[(\partial_t+
    \mathcal A)F_j]` (for martingale parts that are true martingales). The system closes when
    :math:`(\partial_t+\mathcal A)F_j=\sum_kM_{jk}F_k` with :math:`M` free of the state: the coefficients
    are found by evaluating at sample states and solving a linear system, then *verified symbolically*.

    Parameters
    ----------
    sde : SymbolicSDE or ExchangeableSDE
    f : sympy expression
    basis : tuple of sympy expressions, optional
        Further functions allowed in the closure (keyword-only).
    regularity : {"C2", "C1-lipschitz-gradient"}
        Passed to :func:`ito`.

    Returns
    -------
    MomentODE

    Notes
    -----
    Used for SCIENCE.md A4 [derived] (:math:`\mathbb E\|X_t\|^p`) and A3 (:math:`\mathbb E\|X_t\|^2`).

    Examples
    --------
    >>> import sympy as sp
    >>> from stochdepth.symbolic import SymbolicSDE, derive_moment_ode
    >>> x = sp.Symbol("x", real=True)
    >>> ou = SymbolicSDE([x], [-x], [[1]])          # Ornstein-Uhlenbeck
    >>> derive_moment_ode(ou, x**2, basis=(sp.S.One,)).matrix
    Matrix([
    [-2, 1],
    [ 0, 0]])
    """
    funcs = (as_expr("f", f), *(as_expr("basis entry", b) for b in basis))
    drifts = tuple(ito(sde, F, regularity=regularity).drift for F in funcs)
    t = sde.time if sde.time is not None else SYMBOLS["t"]
    if isinstance(sde, ExchangeableSDE):
        state: list[sp.Basic] = sorted(
            set().union(*(e.atoms(CoordinateSum) for e in funcs + drifts)), key=sp.default_sort_key
        )
    else:
        state = list(sde.state)
    dummies = [sp.Dummy(f"s{i}", positive=True) for i in range(len(state))]
    to_dummy = dict(zip(state, dummies))
    F_d = [F.xreplace(to_dummy) for F in funcs]
    G_d = [G.xreplace(to_dummy) for G in drifts]
    k = len(funcs)
    M = sp.zeros(k, k)
    closed = True
    # candidate coefficients from k generic sample states (exact rationals), then a symbolic check
    points = [
        {d: sp.Rational(3 + 2 * i + 5 * j, 2 + i + 3 * j) for j, d in enumerate(dummies)} for i in range(k)
    ]
    A = sp.Matrix(k, k, lambda i, i2: F_d[i2].subs(points[i]))
    for j in range(k):
        b = sp.Matrix([G_d[j].subs(pt) for pt in points])
        try:
            coeffs = [sp.simplify(e) for e in A.LUsolve(b)]
        except (ValueError, ZeroDivisionError, sp.matrices.exceptions.NonInvertibleMatrixError):
            closed = False
            break
        rest = sp.simplify(G_d[j] - sum(ci * Fi for ci, Fi in zip(coeffs, F_d)))
        if rest != 0 or any(e.free_symbols & set(dummies) for e in coeffs):
            closed = False
            break
        for i2, ci in enumerate(coeffs):
            M[j, i2] = ci
    return MomentODE(funcs, drifts, sp.ImmutableMatrix(M) if closed else None, closed, t)


# ----------------------------------------------------------------------------------------------------
# Gaussian expectations and the sequential limits (SCIENCE.md A6)
# ----------------------------------------------------------------------------------------------------


def _phi(z: sp.Expr) -> sp.Expr:
    return sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)


def _one_sided(expr: sp.Expr, z: sp.Symbol) -> tuple[sp.Expr, sp.Expr, sp.Dummy]:
    """``expr`` on ``z > 0`` and on ``z < 0``, written in a positive dummy ``w`` (``z = w``, ``z = -w``)."""
    w = sp.Dummy("w", positive=True)
    return expr.subs(z, w), expr.subs(z, -w), w


def gaussian_expectation(expr: Any, z: sp.Symbol) -> tuple[sp.Expr, bool]:
    r""":math:`\mathbb E\,h(Z)`, :math:`Z\sim\mathcal N(0,1)`, exactly when :math:`h` is piecewise polynomial.

    .. math::
        \mathbb E\,h(Z)=\int_0^\infty\big(h(w)+h(-w)\big)\,\frac{e^{-w^2/2}}{\sqrt{2\pi}}\,dw.

    The split at 0 resolves ``Max``/``Heaviside``/``Piecewise`` with a kink at 0 (positively homogeneous
    activations); when both halves are polynomial in :math:`w` the integral is done by sympy, otherwise an
    unevaluated :class:`sympy.Integral` is returned (evaluate it by quadrature).

    Parameters
    ----------
    expr : sympy expression
        :math:`h(z)`.
    z : sympy.Symbol
        The integration variable.

    Returns
    -------
    (sympy.Expr, bool)
        The expectation and whether it is in closed form.

    Examples
    --------
    >>> import sympy as sp
    >>> from stochdepth.symbolic import gaussian_expectation
    >>> z = sp.Symbol("z", real=True)
    >>> gaussian_expectation(sp.Max(z, 0) ** 2, z)
    (1/2, True)
    """
    h = as_expr("expr", expr)
    if not isinstance(z, sp.Symbol):
        raise TypeError(f"z must be a sympy Symbol, got {type(z).__name__}")
    pos, neg, w = _one_sided(h, z)
    if pos.is_polynomial(w) and neg.is_polynomial(w):
        val = sp.integrate(sp.expand((pos + neg) * _phi(w)), (w, 0, sp.oo))
        return sp.simplify(val), True
    return sp.Integral(h * _phi(z), (z, -sp.oo, sp.oo)), False


@dataclass(frozen=True, eq=False, repr=False)
class VarianceODE(Result):
    r"""The variance ODE of the sequential (depth-then-width) limit, :math:`\dot q=\mathbb E\phi(\sqrt qZ)^2`.

    Attributes
    ----------
    activation : str
    q, t, q0 : sympy.Symbol
        Variance, depth-time, initial variance.
    rhs : sympy.Expr
        :math:`M_2(q)=\mathbb E_Z\phi(\sqrt qZ)^2` (an unevaluated Integral when not in closed form).
    closed_form : bool
        Whether ``rhs`` is in closed form.
    solution : sympy.Expr or None
        :math:`q(t)` with :math:`q(0)=q_0` (``None`` when not found in closed form).
    generator_step : ItoResult
        Itô's formula for :math:`\bar x^2` under :math:`d\bar X=\sqrt m\,d\beta` (its drift is :math:`m`).
    claim : str
    """

    activation: str
    q: sp.Symbol
    t: sp.Symbol
    q0: sp.Symbol
    rhs: sp.Expr
    closed_form: bool
    solution: sp.Expr | None
    generator_step: ItoResult
    claim: str

    def __repr__(self) -> str:
        return (
            f"VarianceODE(activation={self.activation!r}, dq/dt = {_short(self.rhs)}, "
            f"q(t) = {self.solution}, claim={self.claim!r})"
        )


@functools.lru_cache(maxsize=32)
def derive_variance_ode(activation: Any = "relu") -> VarianceODE:
    r"""The variance ODE of SCIENCE.md A6 from the McKean--Vlasov generator.

    One neuron of the depth-first limit follows :math:`d\bar X_t=\sqrt{m_t}\,d\beta_t` with
    :math:`m_t=\mathbb E\phi(\bar X_t)^2` deterministic, so :math:`\bar X_t` is Gaussian (a Brownian
    motion run with a deterministic clock, from a Gaussian start), :math:`\bar X_t\sim\mathcal N(0,q_t)`.
    Itô's formula for :math:`\bar x^2` gives the drift :math:`m`, hence

    .. math::
        \dot q_t=\mathbb E_Z\big[\phi(\sqrt{q_t}Z)^2\big],\qquad q(0)=q_0,

    with the Gaussian expectation done by :func:`gaussian_expectation`. Linear: :math:`q_t=q_0e^t`;
    ReLU: :math:`q_t=q_0e^{t/2}`; tanh, GELU: no closed form (the Integral is returned).

    Parameters
    ----------
    activation : str or Activation, default "relu"

    Returns
    -------
    VarianceODE

    Notes
    -----
    Verifies SCIENCE.md A6 [seed; formulas derived].

    Examples
    --------
    >>> from stochdepth.symbolic import derive_variance_ode
    >>> derive_variance_ode("relu").solution
    q_0*exp(t/2)
    """
    act = _activation(activation)
    q, t, q0 = SYMBOLS["q"], SYMBOLS["t"], SYMBOLS["q0"]
    xb = sp.Symbol("xbar", real=True)
    m = sp.Symbol("m", nonnegative=True)
    mv = SymbolicSDE([xb], [0], [[sp.sqrt(m)]], params=[m], name="McKean-Vlasov neuron")
    step = ito(mv, xb**2)
    z = sp.Symbol("z", real=True)
    m2, closed = gaussian_expectation(act.sympy(sp.sqrt(q) * z) ** 2, z)
    rhs = step.drift.subs(m, m2)
    rhs = sp.simplify(rhs) if closed else rhs
    solution = None
    if closed:
        qf = sp.Function("q")
        ode = sp.Eq(qf(t).diff(t), rhs.subs(q, qf(t)))
        try:
            sol = sp.dsolve(ode, qf(t), ics={qf(0): q0})
        except (NotImplementedError, ValueError):  # pragma: no cover - sympy could not solve
            sol = None
        if isinstance(sol, sp.Eq):
            solution = sp.simplify(sol.rhs)
    return VarianceODE(
        act.name, q, t, q0, rhs, closed, solution, step, "SCIENCE.md A6 [seed; formulas derived]"
    )


@dataclass(frozen=True, eq=False, repr=False)
class KernelODE(Result):
    r"""The covariance (kernel) ODE of two inputs in the sequential limit and its correlation ODE.

    Attributes
    ----------
    activation : str
    q_aa, q_bb : sympy.Symbol
        Variances of the two inputs' neurons.
    c : sympy.Symbol
        Their correlation, :math:`q_{ab}=c\sqrt{q_{aa}q_{bb}}`.
    kernel : sympy.Expr
        :math:`K=\mathbb E[\phi(U)\phi(V)]` as a function of ``q_aa, q_bb, c`` (a Piecewise in the sign of
        :math:`c`, or an unevaluated Integral).
    closed_form : bool
    rhs : tuple of sympy.Expr
        :math:`(\dot q_{aa},\dot q_{bb},\dot q_{ab})`.
    correlation_rhs : sympy.Expr
        :math:`\dot c=K/\sqrt{q_{aa}q_{bb}}-\frac c2(\dot q_{aa}/q_{aa}+\dot q_{bb}/q_{bb})`.
    generator_step : ItoResult
        Itô's formula for :math:`\bar x_a\bar x_b` under the two-input McKean--Vlasov diffusion.
    claim : str
    """

    activation: str
    q_aa: sp.Symbol
    q_bb: sp.Symbol
    c: sp.Symbol
    kernel: sp.Expr
    closed_form: bool
    rhs: tuple[sp.Expr, sp.Expr, sp.Expr]
    correlation_rhs: sp.Expr
    generator_step: ItoResult
    claim: str

    def __repr__(self) -> str:
        return (
            f"KernelODE(activation={self.activation!r}, dc/dt = {_short(self.correlation_rhs)}, "
            f"claim={self.claim!r})"
        )


def _bivariate_kinked(act: Activation, qa: sp.Symbol, qb: sp.Symbol, sign: int) -> sp.Expr | None:
    r""":math:`\mathbb E\phi(\sqrt{q_a}Z_1)\phi(\sqrt{q_b}(cZ_1+sZ_2))`, :math:`s=\sqrt{1-c^2}`, for a
    piecewise-polynomial :math:`\phi` with its kink at 0, on :math:`c>0` (``sign=1``), :math:`c<0`
    (``sign=-1``) or :math:`c=0` (``sign=0``), as a function of the symbol ``c`` (None if :math:`\phi` is not
    of that kind).

    Sympy integrates reliably when the signs are known, so the integrals are taken with a positive symbol
    :math:`m=|c|` and a positive symbol :math:`s`, and :math:`s=\sqrt{1-c^2}` is substituted at the end.
    """
    u = sp.Symbol("u", real=True)
    phi_pos, phi_neg, w = _one_sided(act.sympy(u), u)
    if not (phi_pos.is_polynomial(w) and phi_neg.is_polynomial(w)):
        return None
    m = sp.Symbol("m", positive=True)
    s = sp.Symbol("s", positive=True)
    c_val = sign * m if sign != 0 else sp.S.Zero
    s_val = s if sign != 0 else sp.S.One
    z1 = sp.Dummy("z1", positive=True)
    z2 = sp.Symbol("z2", real=True)
    total: sp.Expr = sp.S.Zero
    for s1 in (1, -1):
        # U = sqrt(qa) * s1 * z1 with z1 > 0: phi(U) = phi_pos(sqrt(qa) z1) or phi_neg(sqrt(qa) z1)
        outer_poly = (phi_pos if s1 == 1 else phi_neg).subs(w, sp.sqrt(qa) * z1)
        if outer_poly == 0:
            continue
        edge = -c_val * s1 * z1 / s_val  # V > 0  <=>  z2 > edge
        for s2 in (1, -1):
            inner_phi = phi_pos if s2 == 1 else phi_neg
            if inner_phi == 0:
                continue
            # V = sqrt(qb) (c s1 z1 + s z2); phi(V) = phi_pos(V) on V > 0 and phi_neg(-V) on V < 0
            v_abs = s2 * sp.sqrt(qb) * (c_val * s1 * z1 + s_val * z2)
            integrand = sp.expand(inner_phi.subs(w, v_abs) * _phi(z2))
            inner = sp.integrate(integrand, (z2, edge, sp.oo) if s2 == 1 else (z2, -sp.oo, edge))
            total += sp.integrate(sp.expand(outer_poly * sp.expand(inner) * _phi(z1)), (z1, 0, sp.oo))
    c = sp.Symbol("c", real=True)
    total = sp.simplify(total)
    if total.has(sp.Integral):  # pragma: no cover - sympy could not integrate
        return None
    if sign == 0:
        return total
    total = total.subs(s, sp.sqrt(1 - m**2)).subs(m, sign * c)
    # inverse-trigonometric identities valid on the branch (0 < c < 1, resp. -1 < c < 0), to put the
    # branches in one form: atan(sqrt(1-c^2)/c) = acos(c) (- pi for c < 0), atan(c/sqrt(1-c^2)) = asin(c)
    # = pi/2 - acos(c)
    root = sp.sqrt(1 - c**2)
    total = total.subs(
        {
            sp.atan(root / c): sp.acos(c) - (sp.pi if sign < 0 else 0),
            sp.atan(c / root): sp.pi / 2 - sp.acos(c),
        }
    )
    return sp.simplify(total)


@functools.lru_cache(maxsize=32)
def derive_kernel_ode(activation: Any = "relu") -> KernelODE:
    r"""The kernel ODE of SCIENCE.md A6 for two inputs, and the correlation ODE, from the generator.

    The two-input McKean--Vlasov diffusion :math:`d(\bar X^a,\bar X^b)=\Sigma_t^{1/2}d\beta_t` with
    :math:`\Sigma=\begin{pmatrix}\mathbb E\phi(\bar X^a)^2&\mathbb E\phi(\bar X^a)\phi(\bar X^b)\\
    \cdot&\mathbb E\phi(\bar X^b)^2\end{pmatrix}` (a Cholesky factor is used for :math:`\Sigma^{1/2}`)
    gives by Itô's formula for :math:`\bar x_a\bar x_b` the drift :math:`\Sigma_{ab}`, hence

    .. math::
        \dot q_{ab}=\mathbb E[\phi(U)\phi(V)],\quad (U,V)\sim\mathcal N\Big(0,\begin{pmatrix}q_{aa}&q_{ab}\\
        q_{ab}&q_{bb}\end{pmatrix}\Big),\qquad
        \dot c=\frac{\dot q_{ab}}{\sqrt{q_{aa}q_{bb}}}-\frac c2\Big(\frac{\dot q_{aa}}{q_{aa}}+
        \frac{\dot q_{bb}}{q_{bb}}\Big).

    The Gaussian expectation is computed by sympy for piecewise-polynomial activations with a kink at 0
    (linear, ReLU, leaky ReLU), writing :math:`U=\sqrt{q_{aa}}Z_1`,
    :math:`V=\sqrt{q_{bb}}(cZ_1+\sqrt{1-c^2}Z_2)` and integrating region by region, separately for
    :math:`c>0`, :math:`c<0` and :math:`c=0` (sympy integrates reliably only with known signs). The branches
    come out with :math:`\arctan(\sqrt{1-c^2}/c)` and :math:`\arctan(c/\sqrt{1-c^2})`, which the
    identities :math:`\arctan(\sqrt{1-c^2}/c)=\arccos c` (:math:`c>0`; :math:`\arccos c-\pi` for
    :math:`c<0`) and :math:`\arctan(c/\sqrt{1-c^2})=\frac\pi2-\arccos c` put in one form; when the three
    branches agree a single expression is returned. ReLU gives the arc-cosine kernel
    :math:`\frac12\sqrt{q_{aa}q_{bb}}\,f(c)`, :math:`f(c)=\frac1\pi(\sqrt{1-c^2}+c(\pi-\arccos c))`, and
    :math:`\dot c=\frac12(f(c)-c)`.

    Parameters
    ----------
    activation : str or Activation, default "relu"

    Returns
    -------
    KernelODE

    Notes
    -----
    Verifies SCIENCE.md A6 [seed; formulas derived] (the arc-cosine kernel: Cho & Saul, NeurIPS 2009).
    Takes a few seconds for ReLU (sympy integration; cached per activation).
    """
    act = _activation(activation)
    qa = sp.Symbol("q_aa", positive=True)
    qb = sp.Symbol("q_bb", positive=True)
    c = sp.Symbol("c", real=True)
    # generator step: d(x_a x_b) has drift Sigma_ab
    xa, xb = sp.symbols("xbar_a xbar_b", real=True)
    kaa, kbb = sp.symbols("k_aa k_bb", positive=True)
    kab = sp.Symbol("k_ab", real=True)
    chol = sp.Matrix([[sp.sqrt(kaa), 0], [kab / sp.sqrt(kaa), sp.sqrt(kbb - kab**2 / kaa)]])
    mv = SymbolicSDE([xa, xb], [0, 0], chol, params=[kaa, kbb, kab], name="two-input McKean-Vlasov")
    step = ito(mv, xa * xb)
    z = sp.Symbol("z", real=True)
    m2a, closed_a = gaussian_expectation(act.sympy(sp.sqrt(qa) * z) ** 2, z)
    m2b = m2a.subs(qa, qb)
    u = sp.Symbol("u", real=True)
    z1, z2 = sp.symbols("z_1 z_2", real=True)
    s = sp.sqrt(1 - c**2)
    closed = False
    if closed_a and act.sympy(u).is_polynomial(u):  # smooth polynomial: integrate over the plane
        integrand = sp.expand(act.sympy(sp.sqrt(qa) * z1) * act.sympy(sp.sqrt(qb) * (c * z1 + s * z2)))
        inner = sp.integrate(integrand * _phi(z2), (z2, -sp.oo, sp.oo))
        kernel = sp.simplify(sp.integrate(sp.expand(inner) * _phi(z1), (z1, -sp.oo, sp.oo)))
        closed = True
    elif closed_a:  # piecewise polynomial with a kink at 0: region by region, per sign of c
        k_pos = _bivariate_kinked(act, qa, qb, 1)
        k_neg = _bivariate_kinked(act, qa, qb, -1) if k_pos is not None else None
        k_zero = _bivariate_kinked(act, qa, qb, 0) if k_neg is not None else None
        if k_pos is not None and k_neg is not None and k_zero is not None:
            closed = True
            if sp.simplify(k_pos - k_neg) == 0 and sp.simplify(k_pos.subs(c, 0) - k_zero) == 0:
                kernel = k_pos  # one formula on the whole interval -1 < c < 1
            else:
                kernel = sp.Piecewise((k_pos, c > 0), (k_neg, c < 0), (k_zero, True))
    if not closed:
        kernel = sp.Integral(
            act.sympy(sp.sqrt(qa) * z1) * act.sympy(sp.sqrt(qb) * (c * z1 + s * z2)) * _phi(z1) * _phi(z2),
            (z1, -sp.oo, sp.oo),
            (z2, -sp.oo, sp.oo),
        )
    rhs = (
        ito(mv, xa**2).drift.subs(kaa, m2a),
        ito(mv, xb**2).drift.subs(kbb, m2b),
        step.drift.subs(kab, kernel),
    )
    if closed:
        corr = sp.simplify(kernel / sp.sqrt(qa * qb) - c / 2 * (rhs[0] / qa + rhs[1] / qb))
    else:
        corr = kernel / sp.sqrt(qa * qb) - c / 2 * (rhs[0] / qa + rhs[1] / qb)
    return KernelODE(
        act.name, qa, qb, c, kernel, closed, rhs, corr, step, "SCIENCE.md A6 [seed; formulas derived]"
    )
