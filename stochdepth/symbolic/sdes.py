r"""Symbolic SDEs: a state of given dimension, or exchangeable coordinates in symbolic dimension.

Two descriptions of an Itô diffusion :math:`dX_t=b(t,X_t)\,dt+\sigma(t,X_t)\,dW_t`:

* :class:`SymbolicSDE` -- a state of *given* dimension :math:`d` (a list of sympy symbols), a drift column
  :math:`b` (:math:`d\times1`) and a diffusion matrix :math:`\sigma` (:math:`d\times m`);
* :class:`ExchangeableSDE` -- a state of *symbolic* dimension :math:`n` whose coordinates are
  exchangeable, :math:`dX^i=b(X^i,S)\,dt+s(S)\,dB^i` with :math:`B` an :math:`n`-dimensional Brownian motion
  and :math:`S` coordinate sums :math:`\sum_i g(X^i)` (:class:`CoordinateSum`). The limit diffusions of
  random residual networks, :math:`dX=\|\phi(X)\|/\sqrt n\,dB` (docs/science.md §A3), are of this kind; the
  coordinates may be split into blocks (:class:`Block`) of symbolic size with a fixed sign (the active
  set of a ReLU network).

Itô's formula for both is in :mod:`stochdepth.symbolic.ito_formula`.

References
----------
Øksendal, *Stochastic Differential Equations*, 6th ed., Springer 2003, ch. 5 (Itô SDEs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .expressions import as_expr, as_symbols, check_declared, param_values, short

__all__ = ["Block", "CoordinateSum", "ExchangeableSDE", "SymbolicSDE"]


# ----------------------------------------------------------------------------------------------------
# SymbolicSDE
# ----------------------------------------------------------------------------------------------------


def _as_matrix(name: str, value: Any, rows: int, *, column: bool) -> sp.Matrix:
    if isinstance(value, str):
        raise TypeError(f"{name} must be a sympy Matrix or a (nested) sequence of expressions, not a str")
    if isinstance(value, sp.MatrixBase):
        mat = sp.Matrix(value)
    elif isinstance(value, (list, tuple, np.ndarray)):
        rows_in = list(value)
        if rows_in and all(isinstance(r, (list, tuple, np.ndarray, sp.MatrixBase)) for r in rows_in):
            mat = sp.Matrix([[as_expr(f"{name} entry", e) for e in list(r)] for r in rows_in])
        elif column or rows == len(rows_in) == 1:
            mat = sp.Matrix([as_expr(f"{name} entry", e) for e in rows_in])
        else:
            raise ValueError(
                f"{name} must be a {rows} x m matrix (a sympy Matrix or a list of rows), got a flat sequence "
                f"of length {len(rows_in)}; write [[s1], [s2], ...] for one Brownian motion"
            )
    else:
        mat = sp.Matrix([[as_expr(name, value)]])
    for e in mat:
        if not isinstance(e, sp.Expr):
            raise TypeError(f"{name} entries must be sympy expressions, got {type(e).__name__}")
    if column and mat.shape != (rows, 1):
        if mat.shape == (1, rows):
            mat = mat.T
        else:
            raise ValueError(
                f"{name} must be a ({rows} x 1) column (one entry per state symbol), got shape {mat.shape}"
            )
    if not column and mat.shape[0] != rows:
        raise ValueError(f"{name} must have {rows} rows (one per state symbol), got shape {mat.shape}")
    if mat.shape[1] < 1:
        raise ValueError(f"{name} must have at least one column, got shape {mat.shape}")
    return mat


@dataclass(frozen=True, eq=False, repr=False)
class SymbolicSDE:
    r"""An Itô SDE written in sympy: :math:`dX_t=b(t,X_t)\,dt+\sigma(t,X_t)\,dW_t` in :math:`\mathbb R^d`.

    Parameters
    ----------
    state : sequence of sympy.Symbol
        The coordinates :math:`x_1,\dots,x_d` (distinct symbols; a single Symbol for :math:`d=1`).
    drift : sympy Matrix (d x 1), sequence of d expressions, or expression (d = 1)
        :math:`b(t,x)`.
    diffusion : sympy Matrix (d x m), list of d rows, or expression (d = 1)
        :math:`\sigma(t,x)`; :math:`W` has dimension :math:`m`.
    params : sequence of sympy.Symbol, optional
        Parameters (keyword-only); numbers are given later (:func:`~stochdepth.symbolic.to_sde`,
        :meth:`subs`).
    time : sympy.Symbol or None, optional
        The time symbol if the coefficients depend on time (keyword-only).
    name : str, optional
        A label.

    Raises
    ------
    TypeError
        For objects of the wrong kind (strings, non-symbols in ``state``).
    ValueError
        For shape mismatches or for symbols in the coefficients that are neither state, params nor time.

    Notes
    -----
    Reference: Øksendal (2003), ch. 5 (Itô SDEs). The diffusion matrix need not be square; use
    :meth:`diagonal` for :math:`dX^i=b_i\,dt+s_i\,dW^i`.

    Examples
    --------
    Geometric Brownian motion :math:`dX=aX\,dt+bX\,dW`:

    >>> import sympy as sp
    >>> from stochdepth.symbolic import SymbolicSDE, ito
    >>> x, a, b = sp.symbols("x a b", positive=True)
    >>> gbm = SymbolicSDE([x], [a * x], [[b * x]], params=[a, b])
    >>> ito(gbm, sp.log(x)).drift
    a - b**2/2
    """

    state: tuple[sp.Symbol, ...]
    drift: sp.Matrix
    diffusion: sp.Matrix
    params: tuple[sp.Symbol, ...] = field(default=(), kw_only=True)
    time: sp.Symbol | None = field(default=None, kw_only=True)
    name: str = field(default="sde", kw_only=True)

    def __post_init__(self) -> None:
        state = as_symbols("state", self.state, allow_empty=False)
        params = as_symbols("params", self.params)
        if self.time is not None and not isinstance(self.time, sp.Symbol):
            raise TypeError(f"time must be a sympy Symbol or None, got {type(self.time).__name__}")
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {type(self.name).__name__}")
        overlap = set(state) & (set(params) | ({self.time} if self.time is not None else set()))
        if overlap:
            raise ValueError(
                f"symbols {sorted(map(str, overlap))} are declared both as state and as params/time"
            )
        d = len(state)
        drift = _as_matrix("drift", self.drift, d, column=True)
        diffusion = _as_matrix("diffusion", self.diffusion, d, column=False)
        declared = set(state) | set(params) | ({self.time} if self.time is not None else set())
        check_declared("drift", drift, declared)
        check_declared("diffusion", diffusion, declared)
        object.__setattr__(self, "state", state)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "drift", sp.ImmutableMatrix(drift))
        object.__setattr__(self, "diffusion", sp.ImmutableMatrix(diffusion))

    @classmethod
    def diagonal(
        cls,
        state: Sequence[sp.Symbol],
        drift: Any,
        diffusion: Sequence[Any],
        *,
        params: Sequence[sp.Symbol] = (),
        time: sp.Symbol | None = None,
        name: str = "sde",
    ) -> SymbolicSDE:
        r"""SDE with diagonal noise :math:`dX^i=b_i\,dt+s_i\,dW^i` (``diffusion`` = :math:`(s_1..s_d)`)."""
        state_t = as_symbols("state", state, allow_empty=False)
        if isinstance(diffusion, (str, bytes)) or not isinstance(diffusion, Iterable):
            diffusion = [diffusion]
        diag = [as_expr("diffusion entry", s) for s in diffusion]
        if len(diag) != len(state_t):
            raise ValueError(
                f"diffusion must hold one entry per state symbol ({len(state_t)}), got {len(diag)}"
            )
        return cls(state_t, drift, sp.diag(*diag), params=params, time=time, name=name)

    @property
    def dim(self) -> int:
        """State dimension :math:`d`."""
        return len(self.state)

    @property
    def noise_dim(self) -> int:
        """Dimension :math:`m` of the Brownian motion."""
        return int(self.diffusion.shape[1])

    @property
    def covariance(self) -> sp.Matrix:
        r"""The diffusion matrix :math:`a=\sigma\sigma^\top` (:math:`d\times d`)."""
        return sp.ImmutableMatrix(self.diffusion * self.diffusion.T)

    def declared_symbols(self) -> set[sp.Symbol]:
        """State, parameter and time symbols."""
        return set(self.state) | set(self.params) | ({self.time} if self.time is not None else set())

    def subs(self, values: Mapping[Any, Any]) -> SymbolicSDE:
        """Substitute values for (some) parameters; substituted parameters are removed from ``params``."""
        vals = param_values(values, self.params, require_all=False)
        return SymbolicSDE(
            self.state,
            self.drift.subs(vals),
            self.diffusion.subs(vals),
            params=[p for p in self.params if p not in vals],
            time=self.time,
            name=self.name,
        )

    def __repr__(self) -> str:
        return (
            f"SymbolicSDE(name={self.name!r}, state={list(self.state)}, drift={list(self.drift)}, "
            f"diffusion={self.diffusion.tolist()}, params={list(self.params)}, time={self.time})"
        )


# ----------------------------------------------------------------------------------------------------
# Exchangeable SDEs in symbolic dimension
# ----------------------------------------------------------------------------------------------------


class CoordinateSum(sp.Function):
    r"""The unevaluated coordinate sum :math:`\sum_{i}g(x_i)` of an :class:`ExchangeableSDE`.

    ``CoordinateSum(Lambda(x, g))`` sums over all coordinates; ``CoordinateSum(Lambda(x, g), k)`` over
    block ``k`` only (results of :func:`ito` may contain such block sums). Build it with
    :meth:`ExchangeableSDE.sum`.
    """

    nargs = (1, 2)

    @classmethod
    def eval(cls, *args: Any) -> None:
        lam = args[0]
        if not isinstance(lam, sp.Lambda) or len(lam.variables) != 1:
            raise TypeError(f"CoordinateSum needs a one-variable sympy Lambda, got {lam!r}")
        return None

    @property
    def summand(self) -> sp.Lambda:
        """The function :math:`g` as a one-variable Lambda."""
        return self.args[0]

    @property
    def block(self) -> int | None:
        """Block index, or ``None`` for a sum over all coordinates."""
        return int(self.args[1]) if len(self.args) > 1 else None

    def _eval_is_real(self) -> bool | None:
        return self.summand.expr.is_real

    def _eval_is_nonnegative(self) -> bool | None:
        return self.summand.expr.is_nonnegative

    def _sympystr(self, printer: Any) -> str:
        where = "i" if self.block is None else f"i in block {self.block}"
        x = self.summand.variables[0]
        return f"Sum[{where}]({printer.doprint(self.summand.expr.subs(x, sp.Symbol(f'{x}_i')))})"

    def _latex(self, printer: Any) -> str:
        x = self.summand.variables[0]
        body = printer.doprint(self.summand.expr.subs(x, sp.Symbol(f"{x}_i")))
        where = "i" if self.block is None else rf"i\in B_{{{self.block}}}"
        return rf"\sum_{{{where}}}\left({body}\right)"


@dataclass(frozen=True)
class Block:
    r"""A block of exchangeable coordinates: its (symbolic) size and the sign of its coordinates.

    Parameters
    ----------
    size : sympy expression or int
        Number of coordinates in the block (e.g. :math:`\mu` active ReLU units, :math:`n-\mu` inactive).
    sign : {1, -1, None}
        ``1``: the coordinates are positive, ``-1``: negative, ``None``: any real value.
    """

    size: Any
    sign: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", as_expr("Block.size", self.size))
        if self.sign not in (1, -1, None) or isinstance(self.sign, bool):
            raise ValueError(f"Block.sign must be 1, -1 or None, got {self.sign!r}")
        if self.size.is_negative:
            raise ValueError(f"Block.size must be >= 0, got {self.size}")


class ExchangeableSDE:
    r"""An SDE in symbolic dimension :math:`n` with exchangeable coordinates and isotropic noise.

    .. math::
        dX^i_t=b(t,X^i_t,S_t)\,dt+s(t,S_t)\,dB^i_t,\qquad i=1,\dots,n,

    with :math:`B` an :math:`n`-dimensional Brownian motion and :math:`S` a finite collection of
    coordinate sums :math:`\sum_ig(X^i)` (:class:`CoordinateSum`, built by :meth:`sum`). The coordinates
    may be split into :class:`Block` s of symbolic sizes with a fixed sign; a derivation then holds on the
    set of states with that sign pattern (e.g. a fixed active set of a ReLU network).

    Parameters
    ----------
    n : int or sympy expression
        Dimension (e.g. ``sympy.Symbol("n", integer=True, positive=True)``).
    volatility : sympy expression or callable
        :math:`s`: a function of coordinate sums, parameters and time (not of one coordinate). A callable
        is called with the SDE's :meth:`sum` method and returns the expression.
    drift : sympy expression or callable, optional
        Coordinatewise drift :math:`b(t,x,S)` written in ``coordinate`` (keyword-only; default 0). A
        callable gets ``(coordinate, sum)``.
    coordinate : sympy.Symbol, optional
        The generic coordinate :math:`x` (default a real symbol ``x``).
    blocks : sequence of Block, optional
        Partition of the coordinates; sizes must add up to ``n``. Default: one block of size ``n``.
    params : sequence of sympy.Symbol, optional
        Parameters. The symbols in ``n`` and the block sizes are added automatically.
    time : sympy.Symbol, optional
        Time symbol, if the coefficients depend on time.
    name : str, optional

    Notes
    -----
    Itô's formula in symbolic dimension (:func:`ito`): for :math:`f=F(S)`, every coordinate of block
    :math:`k` has the same partial derivatives as a function of its own value, so sums over the block of
    derivatives are again coordinate sums, which :func:`ito` re-expresses in terms of the known sums
    (or new block sums). This is exactly the finite-dimensional formula, grouped by exchangeability;
    the tests check it against :class:`SymbolicSDE` for every small :math:`n` and sign pattern.

    Examples
    --------
    The limit diffusion of a linear network, :math:`dX=\|X\|/\sqrt n\,dB` (docs/science.md §A3):

    >>> import sympy as sp
    >>> from stochdepth.symbolic import ExchangeableSDE, ito
    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> sde = ExchangeableSDE(n, lambda s: sp.sqrt(s(lambda x: x**2) / n))
    >>> res = ito(sde, sp.log(sde.sum(lambda x: x**2)) / 2)
    >>> res.drift, res.quadratic_variation
    ((n - 2)/(2*n), 1/n)
    """

    def __init__(
        self,
        n: Any,
        volatility: Any,
        *,
        drift: Any = 0,
        coordinate: sp.Symbol | None = None,
        blocks: Sequence[Block] | None = None,
        params: Sequence[sp.Symbol] = (),
        time: sp.Symbol | None = None,
        name: str = "exchangeable sde",
    ) -> None:
        if isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_)) and n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        n_expr = as_expr("n", n)
        if n_expr.is_positive is False or n_expr.is_integer is False:
            raise ValueError(
                f"n must be a positive integer (or a symbol declared integer and positive), got {n}"
            )
        x = sp.Symbol("x", real=True) if coordinate is None else coordinate
        if not isinstance(x, sp.Symbol):
            raise TypeError(f"coordinate must be a sympy Symbol, got {type(x).__name__}")
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        if time is not None and not isinstance(time, sp.Symbol):
            raise TypeError(f"time must be a sympy Symbol or None, got {type(time).__name__}")
        self._n = n_expr
        self._x = x
        self._time = time
        self._name = name
        if blocks is None:
            blocks = (Block(n_expr, None),)
        if isinstance(blocks, Block) or not isinstance(blocks, Iterable):
            raise TypeError("blocks must be a sequence of Block objects")
        blocks = tuple(blocks)
        if not blocks or not all(isinstance(b, Block) for b in blocks):
            raise TypeError(f"blocks must be a non-empty sequence of Block objects, got {blocks!r}")
        if sp.simplify(sum(b.size for b in blocks) - n_expr) != 0:
            raise ValueError(
                f"the block sizes {[str(b.size) for b in blocks]} must add up to n = {n_expr}, got "
                f"{sp.simplify(sum(b.size for b in blocks))}"
            )
        self._blocks = blocks
        structural = set(n_expr.free_symbols)
        for b in blocks:
            structural |= b.size.free_symbols
        params_t = as_symbols("params", params)
        self._params = tuple(params_t) + tuple(sorted(structural - set(params_t), key=sp.default_sort_key))
        if x in self._params or (time is not None and (time == x or time in self._params)):
            raise ValueError("coordinate, time and params must be different symbols")
        vol = (
            volatility(self.sum)
            if callable(volatility) and not isinstance(volatility, sp.Basic)
            else volatility
        )
        self._volatility = as_expr("volatility", vol)
        if x in self._volatility.free_symbols:
            raise ValueError(
                "volatility must be a function of coordinate sums, params and time (isotropic noise), "
                f"but it depends on the coordinate {x} itself: {short(self._volatility)}"
            )
        b = drift(x, self.sum) if callable(drift) and not isinstance(drift, sp.Basic) else drift
        self._drift = as_expr("drift", b)
        declared = self.declared_symbols()
        check_declared("volatility", self._volatility, declared)
        check_declared("drift", self._drift, declared | {x})
        for s in self.coordinate_sums(self._volatility) | self.coordinate_sums(self._drift):
            check_declared(f"summand of {s}", s.summand.expr, declared | set(s.summand.variables))

    # -- attributes ----------------------------------------------------------------------------------
    n = property(lambda self: self._n, doc="The dimension :math:`n`.")
    coordinate = property(lambda self: self._x, doc="The generic coordinate symbol :math:`x`.")
    blocks = property(lambda self: self._blocks, doc="The blocks of coordinates.")
    volatility = property(lambda self: self._volatility, doc="The isotropic volatility :math:`s`.")
    drift = property(lambda self: self._drift, doc="The coordinatewise drift :math:`b(t, x, S)`.")
    params = property(lambda self: self._params, doc="Parameter symbols (including those of n and sizes).")
    time = property(lambda self: self._time, doc="The time symbol or None.")
    name = property(lambda self: self._name, doc="Label.")

    def declared_symbols(self) -> set[sp.Symbol]:
        """Parameter and time symbols (the coordinate is bound inside sums)."""
        return set(self._params) | ({self._time} if self._time is not None else set())

    def sum(self, g: Any) -> CoordinateSum:
        r"""The coordinate sum :math:`\sum_{i=1}^n g(x_i)` (``g`` an expression in :attr:`coordinate` or
        a callable of it)."""
        expr = g(self._x) if callable(g) and not isinstance(g, sp.Basic) else g
        expr = as_expr("g", expr)
        return CoordinateSum(sp.Lambda(self._x, expr))

    @staticmethod
    def coordinate_sums(expr: sp.Basic) -> set[CoordinateSum]:
        """The :class:`CoordinateSum` atoms of ``expr``."""
        return set(expr.atoms(CoordinateSum))

    def subs(self, values: Mapping[Any, Any]) -> ExchangeableSDE:
        """Substitute values for parameters (including ``n`` and block sizes)."""
        vals = param_values(values, self._params, require_all=False)
        return ExchangeableSDE(
            self._n.subs(vals),
            self._volatility.subs(vals),
            drift=self._drift.subs(vals),
            coordinate=self._x,
            blocks=[Block(b.size.subs(vals), b.sign) for b in self._blocks],
            params=[p for p in self._params if p not in vals],
            time=self._time,
            name=self._name,
        )

    def expand(self) -> SymbolicSDE:
        r"""The same SDE as a :class:`SymbolicSDE` with coordinates :math:`x_1..x_n` (``n`` an integer).

        Only for a single block without a sign (a sign pattern is not an SDE in its own right).
        """
        if not (self._n.is_Integer and self._n >= 1):
            raise ValueError(f"expand needs an integer dimension n, got {self._n}; substitute it with subs()")
        if len(self._blocks) != 1 or self._blocks[0].sign is not None:
            raise ValueError("expand needs a single block without sign (got a sign pattern)")
        d = int(self._n)
        kw = {"real": True} if self._x.is_real else {}
        xs = tuple(sp.Symbol(f"{self._x}_{i}", **kw) for i in range(1, d + 1))

        def expand_sums(e: sp.Expr) -> sp.Expr:
            return e.replace(
                lambda a: isinstance(a, CoordinateSum),
                lambda a: sp.Add(*[a.summand(xi) for xi in xs]),
            )

        s = expand_sums(self._volatility)
        drift = [expand_sums(self._drift).subs(self._x, xi) for xi in xs]
        return SymbolicSDE(xs, drift, s * sp.eye(d), params=self._params, time=self._time, name=self._name)

    def __repr__(self) -> str:
        blocks = ", ".join(
            f"({b.size}, {'+' if b.sign == 1 else '-' if b.sign == -1 else 'any'})" for b in self._blocks
        )
        return (
            f"ExchangeableSDE(name={self._name!r}, n={self._n}, volatility={self._volatility}, "
            f"drift={self._drift}, blocks=[{blocks}], params={list(self._params)})"
        )
