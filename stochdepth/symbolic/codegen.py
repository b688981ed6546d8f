r"""From sympy to fast callables: numpy functions, numba kernels, SDEs and obstacle coefficients.

A model written symbolically runs in the library's numerical engines without hand translation:

* :func:`to_numpy` -- a vectorised numpy function of an expression or a matrix (broadcasting its
  arguments, checking that no NaN leaves silently);
* :func:`to_numba` -- a scalar ``numba.njit`` function of an expression, callable from other kernels;
* :func:`to_sde` -- a :class:`stochdepth.sde.SDE` with numba coefficients ``f(t, x, out)`` generated from
  a :class:`~stochdepth.symbolic.SymbolicSDE` or an :class:`~stochdepth.symbolic.ExchangeableSDE`, its
  noise structure detected (scalar, diagonal, isotropic, general) and, for commutative noise, the
  derivative Milstein needs;
* :func:`to_obstacle_coefficients` -- numpy drift, volatility, gain and gain derivative of a
  one-dimensional model for the obstacle problems of :mod:`stochdepth.freeboundary`.

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

from .._checks import NumericalError, check_finite_result, check_real
from .._results import Result
from .core import (
    CoordinateSum,
    ExchangeableSDE,
    SymbolicSDE,
    _param_values,
    _short,
    as_expr,
    as_symbols,
)

__all__ = [
    "NumpyFunction",
    "ObstacleCoefficients",
    "detect_noise",
    "to_numba",
    "to_numpy",
    "to_obstacle_coefficients",
    "to_sde",
]

_counter = itertools.count()


# ----------------------------------------------------------------------------------------------------
# Validation shared by the translators
# ----------------------------------------------------------------------------------------------------


def _check_translatable(what: str, expr: sp.Basic) -> None:
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
        return f"NumpyFunction({_short(self.expr)}, symbols={list(self.symbols)})"

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
            check_finite_result(f"evaluating {_short(self.expr)}", out)
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
    vals = _numeric_values(values, params)
    for e in exprs:
        _check_translatable("expr", e)
        _free_check("expr", e, set(args) | set(vals))
    pars = tuple(vals)
    body = exprs[0] if shape is None else exprs
    fn = sp.lambdify(args + pars, body, modules=["scipy", "numpy"], cse=True)
    return NumpyFunction(whole, args, vals, bool(check_finite), fn, shape)


def _numeric_values(values: Any, params: Sequence[sp.Symbol]) -> dict[sp.Symbol, float]:
    """``{symbol or name: number}`` -> ``{Symbol: float}``, restricted to ``params``; extra keys raise."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise TypeError(f"values must be a mapping {{symbol: number}}, got {type(values).__name__}")
    by_name = {str(p): p for p in params}
    out: dict[sp.Symbol, float] = {}
    for key, val in values.items():
        sym = key if isinstance(key, sp.Symbol) else by_name.get(key) if isinstance(key, str) else None
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
# numba
# ----------------------------------------------------------------------------------------------------


class _NumbaPrinter(PythonCodePrinter):
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


def _source_lines(assignments: list[tuple[str, sp.Expr]], printer: _NumbaPrinter, indent: str) -> list[str]:
    lines = []
    for name, e in assignments:
        try:
            code = printer.doprint(e)
        except PrintMethodNotImplementedError as exc:
            raise TypeError(f"cannot translate {_short(e)} to numba code: {exc}".splitlines()[0]) from exc
        lines.append(f"{indent}{name} = {code}")
    return lines


def _compile(src: str, fname: str, namespace: dict[str, Any], *, jit: bool = True) -> Any:
    """Exec ``src`` (registered in linecache for readable tracebacks) and njit the function ``fname``."""
    filename = f"<stochdepth.symbolic generated {next(_counter)}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(keepends=True), filename)
    ns = {"math": math, "np": np, **namespace}
    exec(compile(src, filename, "exec"), ns)
    fn = ns[fname]
    fn.__stochdepth_source__ = src
    return numba.njit(nogil=True)(fn) if jit else fn


def _cse(exprs: list[sp.Expr]) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    repl, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_c"), optimizations="basic")
    return list(repl), list(reduced)


def _rename(exprs: list[sp.Expr], mapping: Mapping[sp.Symbol, sp.Symbol]) -> list[sp.Expr]:
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
    vals = _numeric_values(values, params)
    _check_translatable("expr", e)
    _free_check("expr", e, set(args) | set(vals))
    names = {a: sp.Symbol(f"_a{i}") for i, a in enumerate(args)}
    pnames = {p: sp.Symbol(f"_p{i}") for i, p in enumerate(vals)}
    (e_r,) = _rename([e], {**names, **pnames})
    repl, (final,) = _cse([e_r])
    printer = _NumbaPrinter()
    lines = [f"def _f({', '.join(str(names[a]) for a in args)}):"]
    lines += _source_lines([(str(s), v) for s, v in repl], printer, "    ")
    lines += _source_lines([("_out", final)], printer, "    ")
    lines.append("    return float(_out)")
    ns = {str(pnames[p]): float(v) for p, v in vals.items()}
    fn = _compile("\n".join(lines) + "\n", "_f", ns)
    try:
        fn.compile(tuple([numba.float64] * len(args)))
    except numba.core.errors.NumbaError as exc:
        raise TypeError(f"numba cannot compile {_short(e)}: {str(exc).splitlines()[0]}") from exc
    return fn


# ----------------------------------------------------------------------------------------------------
# SDE
# ----------------------------------------------------------------------------------------------------


def _is_zero(e: sp.Expr) -> bool:
    return e == 0 or sp.simplify(e) == 0


def detect_noise(sde: SymbolicSDE) -> str:
    r"""The noise structure of a :class:`SymbolicSDE`, in the terms of :class:`stochdepth.sde.SDE`.

    * :math:`m=1`: ``"scalar"``;
    * square diagonal :math:`\sigma` with :math:`s_i` depending on :math:`(t,x_i)` only: ``"diagonal"``
      (commutative: Milstein applies);
    * square diagonal with identical entries: ``"isotropic"`` (the limit diffusions of SCIENCE.md A3);
    * other square diagonal: ``"diagonal"``;
    * otherwise ``"general"``.
    """
    if not isinstance(sde, SymbolicSDE):
        raise TypeError(f"sde must be a SymbolicSDE, got {type(sde).__name__}")
    sig = sde.diffusion
    d, m = sig.shape
    if m == 1:
        return "scalar"
    if d == m and all(_is_zero(sig[i, j]) for i in range(d) for j in range(d) if i != j):
        own = all(not (sig[i, i].free_symbols & (set(sde.state) - {sde.state[i]})) for i in range(d))
        if own:
            return "diagonal"
        if all(_is_zero(sig[i, i] - sig[0, 0]) for i in range(1, d)):
            return "isotropic"
        return "diagonal"
    return "general"


def _sde_kernel(
    name: str,
    outputs: list[tuple[str, sp.Expr]],
    state: Sequence[sp.Symbol],
    time: sp.Symbol | None,
    values: Mapping[sp.Symbol, float],
) -> Any:
    """Generate ``name(t, x, out)`` writing each expression of ``outputs`` to its ``out[...]`` slot."""
    xs = {s: sp.Symbol(f"_x{i}") for i, s in enumerate(state)}
    ps = {p: sp.Symbol(f"_p{i}") for i, p in enumerate(values)}
    ren = {**xs, **ps}
    if time is not None:
        ren[time] = sp.Symbol("t")
    exprs = _rename([e for _, e in outputs], ren)
    repl, reduced = _cse(exprs)
    used = set().union(*(e.free_symbols for e in reduced), *(v.free_symbols for _, v in repl))
    printer = _NumbaPrinter()
    lines = [f"def {name}(t, x, out):"]
    lines += [f"    {xs[s]} = x[{i}]" for i, s in enumerate(state) if xs[s] in used]
    lines += _source_lines([(str(s), v) for s, v in repl], printer, "    ")
    lines += _source_lines([(slot, e) for (slot, _), e in zip(outputs, reduced)], printer, "    ")
    ns = {str(ps[p]): float(v) for p, v in values.items()}
    return _compile("\n".join(lines) + "\n", name, ns, jit=False)


def to_sde(
    sde: SymbolicSDE | ExchangeableSDE,
    values: Mapping[Any, Any] | None = None,
    *,
    noise: str | None = None,
    name: str | None = None,
) -> Any:
    r"""Compile a symbolic SDE into a :class:`stochdepth.sde.SDE` for :func:`stochdepth.sde.simulate`.

    .. math::
        dX_t=b(t,X_t)\,dt+\sigma(t,X_t)\,dW_t\ \longmapsto\ \texttt{drift(t, x, out)},\
        \texttt{diffusion(t, x, out)}\ [,\ \texttt{diffusion\_derivative(t, x, out)}]

    Parameters
    ----------
    sde : SymbolicSDE or ExchangeableSDE
        For an :class:`ExchangeableSDE` the width must be an integer once ``values`` are substituted;
        its kernels loop over the coordinates (code size independent of the width), with isotropic noise.
    values : mapping, optional
        Numbers for every parameter (``{symbol or name: value}``).
    noise : {"scalar", "diagonal", "isotropic", "general"} or None
        Noise structure (keyword-only); default :func:`detect_noise`. A structure the diffusion matrix
        does not have raises ``ValueError`` (e.g. a non-square matrix for ``"diagonal"``).
    name : str, optional
        Label of the SDE (default the symbolic SDE's name).

    Returns
    -------
    stochdepth.sde.SDE
        With ``diffusion_derivative`` for commutative noise: :math:`\partial s_i/\partial x_i` (diagonal
        noise with :math:`s_i` depending on :math:`x_i` only), :math:`(s\cdot\nabla)s` (scalar noise),
        :math:`ds/dx` (isotropic noise in dimension 1); Milstein then applies.

    Raises
    ------
    ValueError
        Missing or unknown parameter values, a noise structure the diffusion does not have, a
        non-integer width, or a sign pattern (blocks) of an :class:`ExchangeableSDE`.
    TypeError
        Expressions numba cannot compile.

    Notes
    -----
    Kloeden & Platen (1992), sec. 10.3 (commutative noise and the Milstein scheme).

    Examples
    --------
    Geometric Brownian motion, written symbolically and simulated:

    >>> import numpy as np, sympy as sp
    >>> from stochdepth.symbolic import SymbolicSDE, to_sde
    >>> from stochdepth.sde import Milstein, simulate
    >>> x, a, b = sp.symbols("x a b", positive=True)
    >>> gbm = to_sde(SymbolicSDE([x], [a * x], [[b * x]], params=[a, b]), {a: 0.05, b: 0.2})
    >>> gbm.noise, gbm.commutative
    ('scalar', True)
    >>> res = simulate(gbm, Milstein(), 1.0, 50, np.array([1.0]), n_paths=1000, rng=1)
    """
    from ..sde import SDE  # the integrators' package (imported lazily: symbolic stays light)

    if isinstance(sde, ExchangeableSDE):
        return _exchangeable_to_sde(sde, values, noise=noise, name=name)
    if not isinstance(sde, SymbolicSDE):
        raise TypeError(f"sde must be a SymbolicSDE or an ExchangeableSDE, got {type(sde).__name__}")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    vals_sym = _param_values(values, sde.params, require_all=True)
    vals = {p: float(v) for p, v in vals_sym.items()}
    for p, v in vals.items():
        check_real(f"value of parameter {p}", v)
    for what, mat in (("drift", sde.drift), ("diffusion", sde.diffusion)):
        for e in mat:
            _check_translatable(what, e)
    detected = detect_noise(sde)
    kind = detected if noise is None else _check_noise(sde, noise)
    d, m = sde.diffusion.shape
    sig = sde.diffusion
    drift = None
    if not all(_is_zero(e) for e in sde.drift):
        drift = _sde_kernel(
            "drift", [(f"out[{i}]", sde.drift[i]) for i in range(d)], sde.state, sde.time, vals
        )
    deriv_exprs: list[sp.Expr] | None = None
    if kind == "scalar":
        diff_out = [(f"out[{i}]", sig[i, 0]) for i in range(d)]
        col = [sig[i, 0] for i in range(d)]
        deriv_exprs = [sum(col[j] * sp.diff(col[i], sde.state[j]) for j in range(d)) for i in range(d)]
    elif kind == "diagonal":
        diff_out = [(f"out[{i}]", sig[i, i]) for i in range(d)]
        if detected == "diagonal" and all(
            not (sig[i, i].free_symbols & (set(sde.state) - {sde.state[i]})) for i in range(d)
        ):
            deriv_exprs = [sp.diff(sig[i, i], sde.state[i]) for i in range(d)]
    elif kind == "isotropic":
        diff_out = [("out[0]", sig[0, 0])]
        if d == 1:
            deriv_exprs = [sp.diff(sig[0, 0], sde.state[0])]
    else:
        diff_out = [(f"out[{i}, {j}]", sig[i, j]) for i in range(d) for j in range(m)]
    deriv_exprs = None if deriv_exprs is None else [_drop_kinks(e) for e in deriv_exprs]
    diffusion = _sde_kernel("diffusion", diff_out, sde.state, sde.time, vals)
    derivative = None
    if deriv_exprs is not None:
        derivative = _sde_kernel(
            "diffusion_derivative",
            [(f"out[{i}]", e) for i, e in enumerate(deriv_exprs)],
            sde.state,
            sde.time,
            vals,
        )
    return SDE(
        drift,
        diffusion,
        d,
        noise=kind,
        noise_dim=m if kind == "general" else None,
        diffusion_derivative=derivative,
        name=sde.name if name is None else name,
    )


def _drop_kinks(e: sp.Expr) -> sp.Expr:
    """Derivatives of kinked coefficients in the a.e. sense (drop Dirac masses)."""
    return e.replace(lambda a: isinstance(a, sp.DiracDelta), lambda a: sp.S.Zero)


def _check_noise(sde: SymbolicSDE, noise: Any) -> str:
    if not isinstance(noise, str):
        raise TypeError(f"noise must be a str or None, got {type(noise).__name__}")
    kinds = ("scalar", "diagonal", "isotropic", "general")
    if noise not in kinds:
        raise ValueError(f"noise must be one of {list(kinds)} or None, got {noise!r}")
    sig = sde.diffusion
    d, m = sig.shape
    if noise == "scalar" and m != 1:
        raise ValueError(
            f"noise='scalar' needs a ({d} x 1) diffusion (one Brownian motion), got shape {sig.shape}"
        )
    if noise in ("diagonal", "isotropic"):
        if d != m:
            raise ValueError(
                f"noise={noise!r} needs a square ({d} x {d}) diagonal diffusion matrix, got the "
                f"non-square shape {sig.shape}"
            )
        off = [(i, j) for i in range(d) for j in range(d) if i != j and not _is_zero(sig[i, j])]
        if off:
            raise ValueError(
                f"noise={noise!r} needs a diagonal diffusion matrix, but entry {off[0]} is {sig[off[0]]}"
            )
        if noise == "isotropic" and not all(_is_zero(sig[i, i] - sig[0, 0]) for i in range(d)):
            raise ValueError("noise='isotropic' needs equal diagonal entries s(t, x) I")
    return noise


def _exchangeable_to_sde(sde: ExchangeableSDE, values: Any, *, noise: str | None, name: str | None) -> Any:
    from ..sde import SDE

    vals_sym = _param_values(values, sde.params, require_all=True)
    concrete = sde.subs(vals_sym)
    n = concrete.n
    if not (n.is_Integer and int(n) >= 1):
        raise ValueError(f"the width n must be a positive integer once values are given, got {n}")
    if len(concrete.blocks) != 1 or concrete.blocks[0].sign is not None:
        raise ValueError(
            "an ExchangeableSDE with a sign pattern (blocks) is not an SDE of its own; "
            "use the one without blocks"
        )
    if noise not in (None, "isotropic"):
        raise ValueError(f"an ExchangeableSDE has isotropic noise, got noise={noise!r}")
    d = int(n)
    if d == 1:  # one coordinate: the finite form gives the Milstein derivative too
        return to_sde(concrete.expand(), None, noise=None, name=name)
    x = concrete.coordinate
    sums = sorted(
        concrete.coordinate_sums(concrete.volatility) | concrete.coordinate_sums(concrete.drift),
        key=sp.default_sort_key,
    )
    acc = {s: sp.Symbol(f"_s{i}") for i, s in enumerate(sums)}
    xi = sp.Symbol("_xi")
    t_ren = {concrete.time: sp.Symbol("t")} if concrete.time is not None else {}
    printer = _NumbaPrinter()

    def loop_lines() -> list[str]:
        if not sums:
            return []
        lines = [f"    {acc[s]} = 0.0" for s in sums]
        lines.append("    for _i in range(x.shape[0]):")
        lines.append("        _xi = x[_i]")
        for s in sums:
            g = s.summand(xi).xreplace(t_ren)
            _check_translatable("coordinate sum", g)
            (line,) = _source_lines([("_term", g)], printer, "        ")
            lines += [line, f"        {acc[s]} += _term"]
        return lines

    vol = concrete.volatility.xreplace(acc).xreplace(t_ren)
    _check_translatable("volatility", vol)
    src = ["def diffusion(t, x, out):", *loop_lines()]
    src += _source_lines([("out[0]", vol)], printer, "    ")
    diffusion = _compile("\n".join(src) + "\n", "diffusion", {}, jit=False)
    drift = None
    if not _is_zero(concrete.drift):
        b = concrete.drift.xreplace(acc).xreplace(t_ren).subs(x, xi)
        _check_translatable("drift", b)
        src = [
            "def drift(t, x, out):",
            *loop_lines(),
            "    for _i in range(x.shape[0]):",
            "        _xi = x[_i]",
        ]
        src += _source_lines([("out[_i]", b)], printer, "        ")
        drift = _compile("\n".join(src) + "\n", "drift", {}, jit=False)
    return SDE(drift, diffusion, d, noise="isotropic", name=concrete.name if name is None else name)


# ----------------------------------------------------------------------------------------------------
# Obstacle problems
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class ObstacleCoefficients(Result):
    r"""Numpy coefficients of a one-dimensional stopping problem for :mod:`stochdepth.freeboundary`.

    Each coefficient is a number (when constant) or a vectorised callable, ``f(x)`` for a stationary
    problem and ``f(t, x)`` otherwise.

    Attributes
    ----------
    gain : callable
        :math:`g(x)`.
    drift, volatility : float or callable
        :math:`b` and :math:`|\sigma|=\sqrt{\sigma\sigma^\top}` (the law depends on
        :math:`\sigma\sigma^\top` only).
    cost, rate : float or callable
        Running cost :math:`c` and discount rate :math:`r`.
    gain_derivative : callable
        :math:`g'(x)` (a.e. for kinked gains), for smooth-fit diagnostics.
    stationary : bool
        Whether the callables take ``x`` only.
    variable : sympy.Symbol
        The state variable.
    """

    gain: Callable[..., Any]
    drift: Any
    volatility: Any
    cost: Any
    rate: Any
    gain_derivative: Callable[..., Any]
    stationary: bool
    variable: sp.Symbol

    def __repr__(self) -> str:
        return (
            f"ObstacleCoefficients(variable={self.variable}, stationary={self.stationary}, "
            f"drift={self.drift!r}, volatility={self.volatility!r}, cost={self.cost!r}, rate={self.rate!r})"
        )

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``StationaryObstacleProblem`` / ``ObstacleProblem`` (add the grid, ...)."""
        return {
            "gain": self.gain,
            "drift": self.drift,
            "volatility": self.volatility,
            "cost": self.cost,
            "rate": self.rate,
            "gain_derivative": self.gain_derivative,
        }


def to_obstacle_coefficients(
    sde: Any,
    gain: Any,
    values: Mapping[Any, Any] | None = None,
    *,
    cost: Any = 0,
    rate: Any = 0,
    stationary: bool | None = None,
) -> ObstacleCoefficients:
    r"""Numpy coefficients :math:`b,\sigma,g,c,r` of a 1-D stopping problem written symbolically.

    The value :math:`V(t,x)=\sup_\tau\mathbb E[e^{-\int r}g(X_\tau)-\int e^{-\int r}c\,ds]` of the
    diffusion :math:`dX=b\,dt+\sigma\,dW` solves
    :math:`\min\{-\partial_tV-bV'-\frac12\sigma^2V''+rV+c,\ V-g\}=0`
    (SCIENCE.md B5); this function produces what :class:`stochdepth.freeboundary.StationaryObstacleProblem`
    and :class:`~stochdepth.freeboundary.ObstacleProblem` take.

    Parameters
    ----------
    sde : SymbolicSDE (dimension 1) or DerivedSDE
        The state equation (a :class:`~stochdepth.symbolic.DerivedSDE`, e.g. the log-norm SDE of a linear
        network, is converted with its ``as_symbolic_sde``).
    gain : sympy expression
        :math:`g(x)` in the state variable (and parameters).
    values : mapping, optional
        Numbers for every parameter of the SDE, the gain, the cost and the rate.
    cost, rate : sympy expression or number, default 0
        Running cost :math:`c(t,x)` and discount :math:`r(t,x)\ge0` (keyword-only).
    stationary : bool or None
        ``True``: callables of ``x`` (the coefficients must not depend on time); ``False``: of ``(t, x)``;
        ``None`` (default): stationary unless something depends on time.

    Returns
    -------
    ObstacleCoefficients

    Raises
    ------
    ValueError
        For a state of dimension other than 1, missing values, time dependence in a stationary problem.

    Examples
    --------
    SCIENCE.md B6 for a linear network of width 8, gain :math:`-(y-a)^2`, cost :math:`c`:

    >>> import sympy as sp
    >>> from stochdepth.symbolic import derive_linear_log_norm_sde, to_obstacle_coefficients
    >>> d = derive_linear_log_norm_sde(8)
    >>> a, c = sp.symbols("a c", real=True)
    >>> coef = to_obstacle_coefficients(d, -(d.variable - a) ** 2, {a: 1.0, c: 0.1}, cost=c)
    >>> coef.drift, coef.volatility, coef.cost
    (0.375, 0.3535533905932738, 0.1)
    """
    from .derivations import DerivedSDE

    if isinstance(sde, DerivedSDE):
        sde = sde.as_symbolic_sde()
    if not isinstance(sde, SymbolicSDE):
        raise TypeError(
            f"sde must be a one-dimensional SymbolicSDE or a DerivedSDE, got {type(sde).__name__}"
        )
    if sde.dim != 1:
        raise ValueError(f"to_obstacle_coefficients needs a one-dimensional state, got dimension {sde.dim}")
    (xv,) = sde.state
    g = as_expr("gain", gain)
    c_e, r_e = as_expr("cost", cost), as_expr("rate", rate)
    b = sde.drift[0]
    vol = sp.simplify(sp.sqrt(sum(e**2 for e in sde.diffusion)))
    t = sde.time
    exprs = {"drift": b, "volatility": vol, "cost": c_e, "rate": r_e}
    allowed = {xv} | ({t} if t is not None else set())
    others = set().union(*(e.free_symbols for e in [g, *exprs.values()])) - allowed
    vals = _numeric_values(values, sorted(others, key=sp.default_sort_key))
    missing = sorted(map(str, others - set(vals)))
    if missing:
        raise ValueError(f"values must give a number to every parameter; missing {missing}")
    timed = t is not None and any(t in e.free_symbols for e in exprs.values())
    if t is not None and t in g.free_symbols:
        raise ValueError("gain must not depend on time")
    if stationary is None:
        stat = not timed
    elif isinstance(stationary, bool):
        stat = stationary
        if stat and timed:
            raise ValueError("stationary=True but a coefficient depends on time")
    else:
        raise TypeError(f"stationary must be True, False or None, got {stationary!r}")
    t_sym = t if t is not None else sp.Symbol("t")
    args = (xv,) if stat else (t_sym, xv)

    def coefficient(what: str, e: sp.Expr) -> Any:
        e = e.subs({k: v for k, v in vals.items()})
        if not e.free_symbols:
            val = float(e)
            if not math.isfinite(val):
                raise NumericalError(f"{what} evaluates to {val}")
            return val
        return to_numpy(e, args)

    out = {k: coefficient(k, e) for k, e in exprs.items()}
    if isinstance(out["volatility"], float) and out["volatility"] < 0:  # pragma: no cover - sqrt >= 0
        raise ValueError("volatility must be >= 0")
    g_num = g.subs(vals)
    dg = sp.diff(g_num, xv)
    dg = dg.replace(lambda a: isinstance(a, sp.DiracDelta), lambda a: sp.S.Zero)
    return ObstacleCoefficients(
        to_numpy(g_num, (xv,)),
        out["drift"],
        out["volatility"],
        out["cost"],
        out["rate"],
        to_numpy(dg, (xv,)),
        stat,
        xv,
    )
