r"""Moment ODEs of a symbolic SDE: does :math:`\frac{d}{dt}\mathbb EF(X_t)=M\,\mathbb EF(X_t)` close?

Used for the moments of the norm of a linear network (docs/science.md §A4) and for
:math:`\mathbb E\|X_t\|^2` (A3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..._results import Result
from ..expressions import as_expr
from ..ito_formula import ito
from ..sdes import CoordinateSum, ExchangeableSDE, SymbolicSDE
from .limit import SYMBOLS

__all__ = ["MomentODE", "derive_moment_ode"]


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
    Used for docs/science.md §A4 [derived] (:math:`\mathbb E\|X_t\|^p`) and A3 (:math:`\mathbb E\|X_t\|^2`).

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
