r"""Itô's formula and the generator of a symbolic SDE.

:func:`ito` applies Itô's formula to a scalar function :math:`f(t,X)` of the state of a
:class:`~stochdepth.symbolic.SymbolicSDE` or an :class:`~stochdepth.symbolic.ExchangeableSDE`:

.. math::
    df(t,X_t)=\Big(\partial_tf+\sum_ib_i\,\partial_if+\tfrac12\sum_{i,j}(\sigma\sigma^\top)_{ij}\,
    \partial_{ij}f\Big)dt+\nabla f^\top\sigma\,dW_t,

and :func:`generator` returns :math:`\mathcal Af=b\cdot\nabla f+\frac12\operatorname{tr}(\sigma\sigma^\top
\nabla^2f)`. Both need :math:`f\in C^2`, or the declared and checked :math:`C^1`-with-Lipschitz-gradient
exception (:mod:`stochdepth.symbolic.regularity`).

In symbolic dimension every coordinate of a block has the same partial derivatives as a function of its
own value, so the sums over a block of derivatives are again coordinate sums; the computation keeps
them as per-block sums and maps them back to the user's sums at the end.

References
----------
Øksendal, *Stochastic Differential Equations*, 6th ed., Springer 2003, Thm 4.2.1 (Itô's formula) and
Thm 7.3.3 (generator).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sympy as sp

from .._checks import check_choice
from .._results import Result
from .expressions import as_expr, check_declared, short
from .regularity import DISCONTINUOUS, REGULARITIES, check_regularity, drop_dirac, kink_form, nonsmooth_atoms
from .sdes import CoordinateSum, ExchangeableSDE, SymbolicSDE

__all__ = ["ItoResult", "generator", "ito"]


# ----------------------------------------------------------------------------------------------------
# Itô's formula
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class ItoResult(Result):
    r"""Itô's formula for a scalar function: :math:`df(t,X_t)=\text{drift}\,dt+\text{diffusion}\,dW_t`.

    Attributes
    ----------
    f : sympy.Expr
        The function.
    drift : sympy.Expr
        :math:`\partial_tf+\mathcal Af`.
    diffusion : sympy.Matrix or None
        The row :math:`\nabla f^\top\sigma` (:math:`1\times m`); ``None`` for an
        :class:`ExchangeableSDE` (its length is symbolic).
    quadratic_variation : sympy.Expr
        :math:`d\langle f(X)\rangle_t/dt=|\nabla f^\top\sigma|^2`.
    volatility : sympy.Expr
        :math:`\sqrt{\text{quadratic variation}}`: by Lévy's characterisation the martingale part is
        :math:`\int\text{volatility}\,d\beta` for a one-dimensional Brownian motion :math:`\beta`.
    regularity : str
        The regularity under which the formula was applied (``"C2"`` or ``"C1-lipschitz-gradient"``,
        in which case second derivatives are a.e. ones and the result holds without local time).
    generator : sympy.Expr
        :math:`\mathcal Af` (the drift without :math:`\partial_tf`).
    """

    f: sp.Expr
    drift: sp.Expr
    diffusion: sp.Matrix | None
    quadratic_variation: sp.Expr
    volatility: sp.Expr
    regularity: str
    generator: sp.Expr

    def __repr__(self) -> str:
        return (
            f"ItoResult(\n  f = {short(self.f)}\n  drift = {short(self.drift)}\n"
            f"  volatility = {short(self.volatility)}\n  regularity = {self.regularity}\n)"
        )


def ito(
    sde: SymbolicSDE | ExchangeableSDE,
    f: Any,
    *,
    regularity: str = "C2",
    simplify: bool = True,
) -> ItoResult:
    r"""Itô's formula: the drift and diffusion of :math:`f(t,X_t)`.

    .. math::
        df=\Big(\partial_tf+b\cdot\nabla f
        +\tfrac12\operatorname{tr}\big(\sigma\sigma^\top\nabla^2f\big)\Big)dt
        +\nabla f^\top\sigma\,dW.

    Parameters
    ----------
    sde : SymbolicSDE or ExchangeableSDE
    f : sympy expression
        A scalar function of the state (for an :class:`ExchangeableSDE`: of its coordinate sums),
        parameters and time.
    regularity : {"C2", "C1-lipschitz-gradient"}, default "C2"
        Declared regularity of ``f`` (keyword-only). ``"C2"`` refuses kinks (Max, Abs, Heaviside,
        Piecewise, ...). ``"C1-lipschitz-gradient"`` checks that ``f`` and its gradient are continuous
        across every kink and takes second derivatives almost everywhere: the result then holds without
        a local-time term (see :mod:`stochdepth.symbolic.regularity`), e.g. for :math:`\sum_i(x_i)_+^2`.
    simplify : bool, default True
        Simplify the results with sympy.

    Returns
    -------
    ItoResult

    Raises
    ------
    TypeError
        If ``sde`` is not a symbolic SDE or ``f`` is not a scalar expression.
    ValueError
        If ``f`` contains undeclared symbols, is not :math:`C^2` without the exception declared, or
        violates the declared exception (its gradient jumps: a local time would be needed).

    Notes
    -----
    Reference: Øksendal (2003), Thm 4.2.1; the :math:`C^1`-with-Lipschitz-gradient case: Krylov (1980),
    sec. 2.10. Derivations built on it are in :mod:`stochdepth.symbolic.derivations`.

    Examples
    --------
    >>> import sympy as sp
    >>> from stochdepth.symbolic import SymbolicSDE, ito
    >>> x = sp.Symbol("x", real=True)
    >>> bm = SymbolicSDE([x], [0], [[1]])
    >>> ito(bm, sp.Max(x, 0) ** 2, regularity="C1-lipschitz-gradient").drift
    Heaviside(x)
    """
    if isinstance(sde, ExchangeableSDE):
        return _ito_exchangeable(sde, f, regularity=regularity, simplify=simplify)
    if not isinstance(sde, SymbolicSDE):
        raise TypeError(f"sde must be a SymbolicSDE or an ExchangeableSDE, got {type(sde).__name__}")
    f = as_expr("f", f)
    check_declared("f", f, sde.declared_symbols())
    g = check_regularity("f", f, sde.state, regularity)
    ae = g is not f  # kinks declared: derivatives in the a.e. sense
    xs = sde.state
    grad = sp.Matrix([sp.diff(g, v) for v in xs])
    hess = sp.Matrix(len(xs), len(xs), lambda i, j: sp.diff(grad[i], xs[j]))
    if ae:
        grad = grad.applyfunc(drop_dirac)
        hess = hess.applyfunc(drop_dirac)
    a = sde.diffusion * sde.diffusion.T
    gen = (sde.drift.T * grad)[0] + sp.Rational(1, 2) * sum(
        a[i, j] * hess[i, j] for i in range(len(xs)) for j in range(len(xs))
    )
    dt = sp.diff(g, sde.time) if sde.time is not None else sp.S.Zero
    row = grad.T * sde.diffusion
    qv = (row * row.T)[0]
    if ae:
        gen, dt = drop_dirac(gen), drop_dirac(dt)
    gen_s = _simplify(gen, simplify)
    drift_s = _simplify(gen_s + dt, simplify) if dt != 0 else gen_s
    qv_s = _simplify(qv, simplify)
    row_s = row.applyfunc(lambda e: _simplify(e, simplify))
    vol = _simplify(sp.sqrt(qv_s), simplify)
    return ItoResult(f, drift_s, sp.ImmutableMatrix(row_s), qv_s, vol, regularity, gen_s)


def generator(
    sde: SymbolicSDE | ExchangeableSDE,
    f: Any,
    *,
    regularity: str = "C2",
    simplify: bool = True,
) -> sp.Expr:
    r"""The infinitesimal generator of the SDE applied to ``f``.

    .. math::
        \mathcal Af=b\cdot\nabla f+\tfrac12\operatorname{tr}(\sigma\sigma^\top\nabla^2f)

    (the time derivative of ``f``, if any, is *not* included).

    Parameters, errors and regularity rules are those of :func:`ito`.

    Notes
    -----
    Reference: Øksendal (2003), Thm 7.3.3. For the limit diffusion of docs/science.md §A3,
    :math:`\mathcal Af=\frac{\|\phi(x)\|^2}{2n}\Delta f`.

    Examples
    --------
    >>> import sympy as sp
    >>> from stochdepth.symbolic import SymbolicSDE, generator
    >>> x, y = sp.symbols("x y", real=True)
    >>> bm2 = SymbolicSDE([x, y], [0, 0], sp.eye(2))
    >>> generator(bm2, x**2 + y**2)
    2
    """
    return ito(sde, f, regularity=regularity, simplify=simplify).generator


def _simplify(expr: sp.Expr, enabled: bool) -> sp.Expr:
    if not enabled:
        return expr
    out = sp.simplify(sp.factor_terms(sp.together(expr)))
    return out


# ----------------------------------------------------------------------------------------------------
# Itô's formula in symbolic dimension
# ----------------------------------------------------------------------------------------------------


class _BlockSums:
    """Per-block coordinate sums of one computation: dummy symbols standing for sum_{i in B_k} u(x_i)."""

    def __init__(self, sde: ExchangeableSDE) -> None:
        self.sde = sde
        self.coords: list[sp.Dummy] = []
        for k, b in enumerate(sde.blocks):
            base = f"{sde.coordinate}{k}"
            if b.sign == 1:
                self.coords.append(sp.Dummy(base, positive=True))
            elif b.sign == -1:
                self.coords.append(sp.Dummy(base, negative=True))
            else:
                self.coords.append(sp.Dummy(base, real=True))
        self.table: list[list[tuple[sp.Expr, sp.Dummy]]] = [[] for _ in sde.blocks]

    def symbol(self, k: int, u: sp.Expr) -> sp.Expr:
        """Return an expression for sum_{i in B_k} u(x_i) (u written in the block coordinate)."""
        y = self.coords[k]
        for g, s in self.table[k]:
            if u == g:
                return s
            ratio = sp.simplify(u / g)
            if y not in ratio.free_symbols:
                return ratio * s
        assumptions = {"real": True}
        if u.is_nonnegative:
            assumptions["nonnegative"] = True
        s = sp.Dummy(f"S{k}_{len(self.table[k])}", **assumptions)
        self.table[k].append((u, s))
        return s

    def of(self, cs: CoordinateSum, kinked: bool) -> sp.Expr:
        """A user-level coordinate sum as a sum over blocks."""
        lam = cs.summand
        blocks = range(len(self.coords)) if cs.block is None else [cs.block]
        total: sp.Expr = sp.S.Zero
        for k in blocks:
            u = lam(self.coords[k])
            if kinked and nonsmooth_atoms(u):
                u = drop_dirac(kink_form("summand", u))
            total += self.block_sum(k, u)
        return total

    def block_sum(self, k: int, h: sp.Expr) -> sp.Expr:
        """sum_{i in B_k} h(x_i, S) for h depending on the block coordinate and on sums."""
        y = self.coords[k]
        size = self.sde.blocks[k].size
        h = sp.expand(h, deep=False, power_base=False, power_exp=False, log=False)
        if h.atoms(sp.Heaviside):
            h = drop_dirac(h)
        grouped: dict[sp.Expr, sp.Expr] = {}
        for term in sp.Add.make_args(h):
            coeff, u = term.as_independent(y, as_Add=False)
            grouped[u] = grouped.get(u, sp.S.Zero) + coeff
        out: sp.Expr = sp.S.Zero
        for u, coeff in grouped.items():
            if coeff == 0:
                continue
            out += coeff * (size * u if u.free_symbols.isdisjoint({y}) else self.symbol(k, u))
        return out

    def derivatives(self, F: sp.Expr, k: int) -> tuple[sp.Expr, sp.Expr]:
        """(d f / d x_i, d^2 f / d x_i^2) for a coordinate x_i of block k, as functions of its value."""
        y = self.coords[k]
        first: sp.Expr = sp.S.Zero
        second: sp.Expr = sp.S.Zero
        entries = [(g, s) for g, s in self.table[k] if s in F.free_symbols]
        for g, s in entries:
            dF = sp.diff(F, s)
            first += dF * sp.diff(g, y)
            second += dF * sp.diff(g, y, 2)
            for g2, s2 in entries:
                second += sp.diff(dF, s2) * sp.diff(g, y) * sp.diff(g2, y)
        return drop_dirac(first), drop_dirac(second)


def _ito_exchangeable(sde: ExchangeableSDE, f: Any, *, regularity: str, simplify: bool) -> ItoResult:
    f = as_expr("f", f)
    x = sde.coordinate
    if x in f.free_symbols:
        raise ValueError(
            f"f must be a function of coordinate sums (built with sde.sum), params and time, but it contains "
            f"the coordinate {x} outside a sum: {short(f)}"
        )
    check_declared("f", f, sde.declared_symbols())
    if not isinstance(regularity, str):
        raise TypeError(f"regularity must be a str, one of {list(REGULARITIES)}, got {regularity!r}")
    check_choice("regularity", regularity, REGULARITIES)
    sums = sorted(sde.coordinate_sums(f), key=sp.default_sort_key)
    # the outer function of the sums must be smooth; the summands may have kinks (declared)
    outer = f.subs({s: sp.Dummy() for s in sums})
    if nonsmooth_atoms(outer) or outer.atoms(*DISCONTINUOUS):
        raise ValueError(
            f"f = {short(f)} is not a smooth function of its coordinate sums; only the summands may have "
            "kinks (declared with regularity='C1-lipschitz-gradient')"
        )
    kinked = False
    for s in sums:
        g = s.summand.expr
        v = s.summand.variables[0]
        check_declared(f"summand of {s}", g, sde.declared_symbols() | {v})
        if nonsmooth_atoms(g) or g.atoms(*DISCONTINUOUS):
            check_regularity(f"the summand {g} of f", g, [v], regularity)
            kinked = True
    book = _BlockSums(sde)
    subs = {s: book.of(s, kinked) for s in sums}
    F = f.xreplace(subs)
    vol_sums = sde.coordinate_sums(sde.volatility) | sde.coordinate_sums(sde.drift)
    vol_subs = {s: book.of(s, False) for s in vol_sums}
    s2 = (sde.volatility**2).xreplace(vol_subs)
    drift_terms: sp.Expr = sp.S.Zero
    laplacian: sp.Expr = sp.S.Zero
    grad_sq: sp.Expr = sp.S.Zero
    n_blocks = len(sde.blocks)
    derivs = [book.derivatives(F, k) for k in range(n_blocks)]
    for k in range(n_blocks):
        d1, d2 = derivs[k]
        b_k = sde.drift.xreplace(vol_subs).subs(x, book.coords[k])
        if b_k != 0:
            drift_terms += book.block_sum(k, b_k * d1)
        laplacian += book.block_sum(k, d2)
        grad_sq += book.block_sum(k, d1**2)
    gen = drift_terms + sp.Rational(1, 2) * s2 * laplacian
    dt = sp.diff(F, sde.time) if sde.time is not None else sp.S.Zero
    qv = s2 * grad_sq
    back = _back_substitution(book, subs, sde)
    gen = _simplify(gen.xreplace(back), simplify)
    drift = _simplify(gen + dt.xreplace(back), simplify) if dt != 0 else gen
    qv = _simplify(qv.xreplace(back), simplify)
    vol = _simplify(sp.sqrt(qv), simplify)
    return ItoResult(f, drift, None, qv, vol, regularity, gen)


def _back_substitution(
    book: _BlockSums, subs: Mapping[CoordinateSum, sp.Expr], sde: ExchangeableSDE
) -> dict[sp.Dummy, sp.Expr]:
    """Map the computation's dummies back to the user's sums (or to readable block sums)."""
    back: dict[sp.Dummy, sp.Expr] = {}
    for user, expr in subs.items():
        if isinstance(expr, sp.Dummy) and expr not in back:
            back[expr] = user
    for k, entries in enumerate(book.table):
        for g, s in entries:
            if s not in back:
                lam = sp.Lambda(sde.coordinate, g.subs(book.coords[k], sde.coordinate))
                back[s] = CoordinateSum(lam, sp.Integer(k)) if len(sde.blocks) > 1 else CoordinateSum(lam)
    return back
