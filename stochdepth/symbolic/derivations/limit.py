r"""The limit diffusion of a random ResNet (docs/science.md §A3) and the results of the derivations.

:func:`limit_diffusion` writes the limit diffusion :math:`dX=\|\phi(X)\|/\sqrt n\,dB` in a given width,
:func:`exchangeable_limit_diffusion` in symbolic width. A derivation by Itô's formula of a scalar process
returns a :class:`DerivedSDE`; a Gaussian law with symbolic parameters is a :class:`GaussianLaw`.
:data:`SYMBOLS` holds the symbols all derivations share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from scipy import stats as _st

from ..._checks import check_int, check_memory
from ..._results import Result
from ...activations import Activation, get_activation
from ..expressions import as_expr, short
from ..ito_formula import ItoResult, ito
from ..sdes import Block, CoordinateSum, ExchangeableSDE, SymbolicSDE

__all__ = [
    "COORDINATE",
    "SYMBOLS",
    "DerivedSDE",
    "GaussianLaw",
    "as_width",
    "derive_by_ito",
    "exchangeable_limit_diffusion",
    "limit_diffusion",
    "sympy_activation",
]


#: The symbols used by the derivations, after docs/science.md: width ``n``, active count ``mu``, depth-time
#: ``t``, moment order ``p``, variance ``q`` and initial variance ``q0``.
SYMBOLS = {
    "n": sp.Symbol("n", integer=True, positive=True),
    "mu": sp.Symbol("mu", integer=True, positive=True),
    "t": sp.Symbol("t", nonnegative=True),
    "p": sp.Symbol("p", real=True),
    "q": sp.Symbol("q", positive=True),
    "q0": sp.Symbol("q_0", positive=True),
}


#: The real coordinate ``x`` of the one-dimensional derivations (a sympy symbol).
COORDINATE = sp.Symbol("x", real=True)


def as_width(n: Any) -> sp.Expr:
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


def sympy_activation(activation: Any) -> Activation:
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
    docs/science.md §A3 [seed; exact statement derived].

    Examples
    --------
    >>> from stochdepth.symbolic import limit_diffusion, to_sde
    >>> sde = limit_diffusion(3, "relu")
    >>> to_sde(sde).noise
    'isotropic'
    """
    d = check_int("n", n, min=1)
    # n symbols and an n x n matrix of sympy expressions (some hundreds of bytes an entry)
    check_memory(
        "n * n",
        d * d,
        256,
        "the symbolic diffusion matrix",
        hint="lower n, or use exchangeable_limit_diffusion",
    )
    act = sympy_activation(activation)
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
    docs/science.md §A3. The coordinate symbol is a real ``x``.
    """
    nn = as_width(n)
    act = sympy_activation(activation)
    blocks = None
    if active is not None:
        mu = as_expr("active", active)
        if mu.is_negative or (mu - nn).is_positive:
            raise ValueError(f"active must lie in [0, n], got {mu}")
        blocks = [Block(mu, 1), Block(nn - mu, -1)]
    return ExchangeableSDE(
        nn,
        lambda s: sp.sqrt(s(lambda x: act.sympy(x) ** 2) / nn),
        coordinate=COORDINATE,
        blocks=blocks,
        name=f"{act.name} limit diffusion",
    )


# ----------------------------------------------------------------------------------------------------
# Results of the derivations
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
        The docs/science.md claim it verifies, with its provenance tag.
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
            f"DerivedSDE(\n  d{self.variable} = ({short(self.drift)}) dt + ({short(self.volatility)}) dβ\n"
            f"  {self.variable} = {short(self.process)}\n  claim = {self.claim}\n)"
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


def derive_by_ito(
    sde: Any, process: sp.Expr, variable: sp.Symbol, claim: str, *, regularity: str = "C2"
) -> DerivedSDE:
    res = ito(sde, process, regularity=regularity)
    drift = _express(res.drift, process, variable)
    vol = _express(res.volatility, process, variable)
    return DerivedSDE(process, variable, drift, vol, claim, res)
