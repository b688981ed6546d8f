r"""From sympy to fast callables: vectorised numpy functions and numba kernels.

* :func:`to_numpy` -- a vectorised numpy function of an expression or a matrix (broadcasting its
  arguments, checking that no NaN leaves silently);
* :func:`to_numba` -- a scalar ``numba.njit`` function of an expression, callable from other kernels.

The numba machinery here (:class:`NumbaPrinter`, :func:`source_lines`, :func:`compile_source`) also
generates the SDE coefficient kernels of :mod:`stochdepth.symbolic.coefficients`.

Code generation: sympy's Python printer (``math`` functions, which numba compiles) with common
subexpressions eliminated (:func:`sympy.cse`); parameters are bound as global constants of the generated
module (numba freezes them at compile time, exactly, without printing floats). The generated kernels
are compiled with ``numba.njit(nogil=True)``; they are not cached on disk (numba can only cache functions
that live in a file), so each costs a compilation per process, as any user function passed to the
integrators does (docs/architecture.md).
"""

from __future__ import annotations

import itertools
import linecache
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import sympy as sp
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.pycode import PythonCodePrinter

from .._checks import check_finite_result, check_real
from .._results import Result
from .expressions import as_expr, as_symbols, short
from .sdes import CoordinateSum

__all__ = [
    "NumbaPrinter",
    "NumpyFunction",
    "check_translatable",
    "common_subexpressions",
    "compile_source",
    "numeric_values",
    "rename_symbols",
    "source_lines",
    "to_numba",
    "to_numpy",
]


_counter = itertools.count()


# ----------------------------------------------------------------------------------------------------
# Validation shared by the translators
# ----------------------------------------------------------------------------------------------------


def check_translatable(what: str, expr: sp.Basic) -> None:
    undefined = expr.atoms(sp.core.function.AppliedUndef)
    if undefined:
        raise TypeError(
            f"{what} contains undefined functions {sorted(map(str, undefined))}: give them a "
            "formula before translating"
        )
    if expr.atoms(sp.DiracDelta):
        raise ValueError(f"{what} contains DiracDelta, a distribution, which has no pointwise value")
    if expr.atoms(sp.Integral, sp.Sum, sp.Derivative):
        bad = sorted(map(str, expr.atoms(sp.Integral, sp.Sum, sp.Derivative)))[:2]
        raise ValueError(f"{what} contains unevaluated {bad}: evaluate them (doit()) before translating")
    if expr.atoms(CoordinateSum):
        raise ValueError(
            f"{what} contains coordinate sums of symbolic width; use to_sde for an "
            "ExchangeableSDE, or expand() it first"
        )


def _free_check(what: str, expr: sp.Basic, allowed: set[sp.Symbol]) -> None:
    missing = set(expr.free_symbols) - allowed
    if missing:
        raise ValueError(
            f"{what} contains the symbols {sorted(map(str, missing))}, which are neither arguments nor given "
            "values: symbols missing from symbols= / values="
        )


def numeric_values(
    values: Any, params: Sequence[sp.Symbol], args: Sequence[sp.Symbol] = ()
) -> dict[sp.Symbol, float]:
    """``{symbol or name: number}`` -> ``{Symbol: float}``, restricted to ``params``; extra keys raise,
    and so does a key that is one of the function's arguments ``args`` (an argument cannot be bound)."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise TypeError(f"values must be a mapping {{symbol: number}}, got {type(values).__name__}")
    by_name = {str(p): p for p in (*params, *args)}
    out: dict[sp.Symbol, float] = {}
    for key, val in values.items():
        sym = key if isinstance(key, sp.Symbol) else by_name.get(key) if isinstance(key, str) else None
        if sym in args:
            raise ValueError(
                f"values binds {sym}, which is also an argument in symbols: a symbol is either an "
                "argument of the function or a fixed value, not both"
            )
        if sym is None:
            raise ValueError(
                f"values has the key {key!r}, which is not a free symbol of the expression "
                f"(free symbols besides the arguments: {[str(p) for p in params]})"
            )
        if isinstance(val, sp.Basic):
            if val.free_symbols:
                raise ValueError(f"value of {sym} must be a number, got {val}")
            val = float(val)
        out[sym] = check_real(f"value of {sym}", val)
    return out


# ----------------------------------------------------------------------------------------------------
# numpy
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class NumpyFunction(Result):
    r"""A vectorised numpy function of a sympy expression (scalar) or matrix.

    Calling it with arrays broadcasts them; a scalar expression returns an array of the broadcast shape,
    a matrix expression of shape ``(r, c)`` returns ``(*broadcast_shape, r, c)``. Float64 throughout.

    Attributes
    ----------
    expr : sympy.Expr or sympy.Matrix
    symbols : tuple of sympy.Symbol
        Argument order.
    values : dict
        Numbers bound to the remaining symbols.
    check_finite : bool
        Whether a non-finite output raises :class:`~stochdepth.NumericalError`.
    """

    expr: Any
    symbols: tuple[sp.Symbol, ...]
    values: dict[sp.Symbol, float]
    check_finite: bool
    _fn: Callable[..., Any] = field(repr=False)
    _shape: tuple[int, int] | None = field(repr=False)

    def __repr__(self) -> str:
        return f"NumpyFunction({short(self.expr)}, symbols={list(self.symbols)})"

    def __call__(self, *args: Any) -> np.ndarray:
        if len(args) != len(self.symbols):
            raise TypeError(
                f"expected {len(self.symbols)} argument(s) {[str(s) for s in self.symbols]}, got {len(args)}"
            )
        arrays = []
        for s, a in zip(self.symbols, args):
            arr = np.asarray(a)
            if arr.dtype == object or arr.dtype.kind in "USVc":
                raise TypeError(f"argument {s} must be a real numeric array, got dtype {arr.dtype}")
            arrays.append(arr.astype(np.float64, copy=False))
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        with np.errstate(all="ignore"):
            raw = self._fn(*arrays, *self.values.values())
        if self._shape is None:
            out = np.array(np.broadcast_to(np.asarray(raw, dtype=np.float64), shape))
        else:
            r, c = self._shape
            parts = [np.broadcast_to(np.asarray(v, dtype=np.float64), shape) for v in raw]
            out = np.stack(parts, axis=-1).reshape(*shape, r, c) if parts else np.zeros((*shape, r, c))
        if self.check_finite:
            check_finite_result(f"evaluating {short(self.expr)}", out)
        return out


def to_numpy(
    expr: Any,
    symbols: Any,
    values: Mapping[Any, Any] | None = None,
    *,
    check_finite: bool = True,
) -> NumpyFunction:
    r"""Translate a sympy expression (or matrix) into a vectorised numpy function.

    .. math::
        f(\text{symbols}) \mapsto \texttt{f(*arrays)}

    Parameters
    ----------
    expr : sympy expression, sympy Matrix or nested list of expressions
    symbols : sympy.Symbol or sequence of sympy.Symbol
        The arguments, in order.
    values : mapping, optional
        Numbers for the other free symbols (``{symbol or name: value}``), bound exactly as float64.
    check_finite : bool, default True
        Raise :class:`~stochdepth.NumericalError` if an output is NaN or infinite (keyword-only).

    Returns
    -------
    NumpyFunction

    Raises
    ------
    ValueError
        If ``expr`` has free symbols that are neither in ``symbols`` nor in ``values``, or contains
        distributions (DiracDelta) or unevaluated integrals.
    TypeError
        For undefined functions or objects of the wrong kind.

    Notes
    -----
    Uses :func:`sympy.lambdify` with the scipy and numpy modules (special functions from
    :mod:`scipy.special`) and common-subexpression elimination. ``Heaviside(0)`` is sympy's ``1/2``.

    Examples
    --------
    >>> import sympy as sp
    >>> from stochdepth.symbolic import to_numpy
    >>> x, a = sp.symbols("x a", real=True)
    >>> f = to_numpy(a * sp.Max(x, 0) ** 2, x, {a: 2.0})
    >>> f([-1.0, 0.5, 3.0])
    array([ 0. ,  0.5, 18. ])
    """
    args = as_symbols("symbols", symbols, allow_empty=False)
    if isinstance(expr, (list, tuple, sp.MatrixBase)):
        mat = sp.Matrix(expr)
        exprs = [as_expr("expr entry", e) for e in mat]
        shape: tuple[int, int] | None = (int(mat.shape[0]), int(mat.shape[1]))
        whole: Any = sp.ImmutableMatrix(mat)
    else:
        exprs = [as_expr("expr", expr)]
        shape = None
        whole = exprs[0]
    params = sorted(set().union(*(e.free_symbols for e in exprs)) - set(args), key=sp.default_sort_key)
    vals = numeric_values(values, params, args)
    for e in exprs:
        check_translatable("expr", e)
        _free_check("expr", e, set(args) | set(vals))
    pars = tuple(vals)
    body = exprs[0] if shape is None else exprs
    fn = sp.lambdify(args + pars, body, modules=["scipy", "numpy"], cse=True)
    return NumpyFunction(whole, args, vals, bool(check_finite), fn, shape)


# ----------------------------------------------------------------------------------------------------
# numba
# ----------------------------------------------------------------------------------------------------


class NumbaPrinter(PythonCodePrinter):
    """Python code printer restricted to what numba compiles in nopython mode."""

    def __init__(self) -> None:
        super().__init__({"strict": True, "fully_qualified_modules": True, "standard": "python3"})

    def _print_Heaviside(self, expr: Any) -> str:
        arg = self._print(expr.args[0])
        h0 = self._print(sp.Float(expr.pargs[1] if len(expr.pargs) > 1 else sp.S.Half))
        return f"(1.0 if ({arg}) > 0 else (0.0 if ({arg}) < 0 else {h0}))"

    def _print_sign(self, expr: Any) -> str:
        arg = self._print(expr.args[0])
        return f"(1.0 if ({arg}) > 0 else (-1.0 if ({arg}) < 0 else 0.0))"

    def _print_Max(self, expr: Any) -> str:
        args = [f"float({self._print(a)})" for a in expr.args]
        return "max(" + ", ".join(args) + ")"

    def _print_Min(self, expr: Any) -> str:
        args = [f"float({self._print(a)})" for a in expr.args]
        return "min(" + ", ".join(args) + ")"

    def _print_Rational(self, expr: Any) -> str:
        return f"({expr.p}/{expr.q})"

    def _print_Float(self, expr: Any) -> str:
        return repr(float(expr))


def source_lines(assignments: list[tuple[str, sp.Expr]], printer: NumbaPrinter, indent: str) -> list[str]:
    lines = []
    for name, e in assignments:
        try:
            code = printer.doprint(e)
        except PrintMethodNotImplementedError as exc:
            raise TypeError(f"cannot translate {short(e)} to numba code: {exc}".splitlines()[0]) from exc
        lines.append(f"{indent}{name} = {code}")
    return lines


def compile_source(src: str, fname: str, namespace: dict[str, Any], *, jit: bool = True) -> Any:
    """Exec ``src`` (registered in linecache for readable tracebacks) and njit the function ``fname``."""
    filename = f"<stochdepth.symbolic generated {next(_counter)}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(keepends=True), filename)
    ns = {"math": math, "np": np, **namespace}
    exec(compile(src, filename, "exec"), ns)
    fn = ns[fname]
    fn.__stochdepth_source__ = src
    return numba.njit(nogil=True)(fn) if jit else fn


def common_subexpressions(exprs: list[sp.Expr]) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    repl, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_c"), optimizations="basic")
    return list(repl), list(reduced)


def rename_symbols(exprs: list[sp.Expr], mapping: Mapping[sp.Symbol, sp.Symbol]) -> list[sp.Expr]:
    return [sp.sympify(e).xreplace(dict(mapping)) for e in exprs]


def to_numba(expr: Any, symbols: Any, values: Mapping[Any, Any] | None = None) -> Any:
    r"""Translate a scalar sympy expression into a ``numba.njit`` function of float arguments.

    Parameters
    ----------
    expr : sympy expression
    symbols : sympy.Symbol or sequence of sympy.Symbol
        Arguments in order (each a float64 at call time).
    values : mapping, optional
        Numbers for the other free symbols, bound as compile-time constants.

    Returns
    -------
    numba dispatcher
        ``f(*floats) -> float``; usable inside other numba functions. Its generated source is
        ``f.py_func.__stochdepth_source__``.

    Raises
    ------
    ValueError, TypeError
        As :func:`to_numpy`; ``TypeError`` also for functions numba cannot compile.

    Examples
    --------
    >>> import sympy as sp
    >>> from stochdepth.symbolic import to_numba
    >>> x = sp.Symbol("x", real=True)
    >>> gelu = to_numba(x * (1 + sp.erf(x / sp.sqrt(2))) / 2, x)
    >>> round(gelu(1.0), 6)
    0.841345
    """
    args = as_symbols("symbols", symbols, allow_empty=False)
    e = as_expr("expr", expr)
    params = sorted(e.free_symbols - set(args), key=sp.default_sort_key)
    vals = numeric_values(values, params, args)
    check_translatable("expr", e)
    _free_check("expr", e, set(args) | set(vals))
    names = {a: sp.Symbol(f"_a{i}") for i, a in enumerate(args)}
    pnames = {p: sp.Symbol(f"_p{i}") for i, p in enumerate(vals)}
    (e_r,) = rename_symbols([e], {**names, **pnames})
    repl, (final,) = common_subexpressions([e_r])
    printer = NumbaPrinter()
    lines = [f"def _f({', '.join(str(names[a]) for a in args)}):"]
    lines += source_lines([(str(s), v) for s, v in repl], printer, "    ")
    lines += source_lines([("_out", final)], printer, "    ")
    lines.append("    return float(_out)")
    ns = {str(pnames[p]): float(v) for p, v in vals.items()}
    fn = compile_source("\n".join(lines) + "\n", "_f", ns)
    try:
        fn.compile(tuple([numba.float64] * len(args)))
    except numba.core.errors.NumbaError as exc:
        raise TypeError(f"numba cannot compile {short(e)}: {str(exc).splitlines()[0]}") from exc
    return fn
