"""Input conversion and checks shared by the symbolic layer.

Every public function of :mod:`stochdepth.symbolic` turns its arguments into sympy objects here, with
errors that name the argument: :func:`as_expr` (a scalar expression or a real number), :func:`as_symbols`
(distinct symbols), :func:`check_declared` (no symbol the SDE does not know) and :func:`param_values`
(``{parameter or its name: value}``). :func:`short` abbreviates an expression for error messages.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

__all__ = ["as_expr", "as_symbols", "check_declared", "param_values", "short"]


def short(expr: Any) -> str:
    text = str(expr)
    return text if len(text) <= 120 else text[:117] + "..."


def as_expr(name: str, value: Any) -> sp.Expr:
    """Convert ``value`` (a sympy expression or a real number) to a scalar sympy expression.

    Strings are refused (``sympify`` of a string evaluates code); matrices and non-expressions raise
    ``TypeError`` naming ``name``; NaN and infinities (``nan``, ``oo``, ``zoo``) raise ``ValueError``.
    """
    if isinstance(value, str):
        raise TypeError(
            f"{name} must be a sympy expression or a number, not a str ({value!r}); build it "
            "from sympy symbols"
        )
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a sympy expression or a number, got bool {value!r}")
    if isinstance(value, (sp.MatrixBase, np.ndarray, list, tuple)):
        raise TypeError(f"{name} must be a scalar expression, got {type(value).__name__}")
    if isinstance(value, (numbers.Number, np.number)) and not isinstance(value, sp.Basic):
        if isinstance(value, (complex, np.complexfloating)):
            raise TypeError(f"{name} must be real, got {value!r}")
        value = sp.nsimplify(value) if isinstance(value, (int, np.integer)) else sp.Float(float(value))
    try:
        expr = sp.sympify(value, strict=True)
    except (sp.SympifyError, TypeError) as exc:
        raise TypeError(f"{name} must be a sympy expression or a number, got {type(value).__name__}") from exc
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"{name} must be a scalar sympy expression, got {type(expr).__name__} {short(expr)}")
    if expr.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise ValueError(f"{name} must be finite, got {short(expr)}")
    return expr


def as_symbols(name: str, value: Any, *, allow_empty: bool = True) -> tuple[sp.Symbol, ...]:
    """Convert a symbol or a sequence of distinct symbols to a tuple, with clear errors."""
    if isinstance(value, sp.Symbol):
        value = (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a sympy Symbol or a sequence of Symbols, got {type(value).__name__}")
    out = tuple(value)
    for s in out:
        if not isinstance(s, sp.Symbol):
            raise TypeError(f"{name} must contain sympy Symbols only, got {type(s).__name__} {short(s)}")
    if not out and not allow_empty:
        raise ValueError(f"{name} must hold at least one Symbol, got an empty sequence")
    if len(set(out)) != len(out):
        dup = sorted({str(s) for s in out if out.count(s) > 1})
        raise ValueError(f"{name} must hold distinct Symbols, got duplicates {dup}")
    return out


def check_declared(what: str, expr: Any, declared: set[sp.Symbol]) -> None:
    missing = set(expr.free_symbols) - declared
    if missing:
        names = sorted(str(s) for s in missing)
        same_name = [str(s) for s in missing if any(str(d) == str(s) for d in declared)]
        hint = ""
        if same_name:
            hint = (
                f" (symbols {same_name} share a name with declared ones but differ in their assumptions, "
                "e.g. real=True: use the very same Symbol objects)"
            )
        raise ValueError(
            f"{what} contains the symbols {names}, which are not declared: symbols missing from the state, "
            f"params= or time= of the SDE{hint}"
        )


def param_values(values: Any, params: Sequence[sp.Symbol], *, require_all: bool) -> dict[sp.Symbol, sp.Expr]:
    """Normalise ``{param or its name: value}`` into ``{Symbol: sympy number or expression}``."""
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise TypeError(f"values must be a mapping {{parameter: value}}, got {type(values).__name__}")
    by_name = {str(p): p for p in params}
    out: dict[sp.Symbol, sp.Expr] = {}
    for key, val in values.items():
        sym = key if isinstance(key, sp.Symbol) else by_name.get(key) if isinstance(key, str) else None
        if sym is None or sym not in params:
            raise ValueError(
                f"values has the key {key!r}, which is not a parameter of the SDE "
                f"(parameters: {[str(p) for p in params]})"
            )
        if isinstance(val, (numbers.Real, np.floating, np.integer)) and not isinstance(val, (bool, np.bool_)):
            v = float(val)
            if not np.isfinite(v):
                raise ValueError(f"value of parameter {sym} must be finite, got {v}")
        out[sym] = as_expr(f"value of parameter {sym}", val)
    if require_all:
        missing = [str(p) for p in params if p not in out]
        if missing:
            raise ValueError(f"values must give every parameter a number; missing {missing}")
    return out
