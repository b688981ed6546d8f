r"""Symbolic SDEs and Itô's formula.

Two descriptions of an Itô diffusion :math:`dX_t=b(t,X_t)\,dt+\sigma(t,X_t)\,dW_t`:

* :class:`SymbolicSDE` -- a state of *given* dimension :math:`d` (a list of sympy symbols), a drift column
  :math:`b` (:math:`d\times1`) and a diffusion matrix :math:`\sigma` (:math:`d\times m`);
* :class:`ExchangeableSDE` -- a state of *symbolic* dimension :math:`n` whose coordinates are
  exchangeable, :math:`dX^i=b(X^i,S)\,dt+s(S)\,dB^i` with :math:`B` an :math:`n`-dimensional Brownian motion
  and :math:`S` coordinate sums :math:`\sum_i g(X^i)` (:class:`CoordinateSum`). The limit diffusions of
  random residual networks, :math:`dX=\|\phi(X)\|/\sqrt n\,dB` (SCIENCE.md A3), are of this kind; the
  coordinates may be split into blocks of symbolic size with a fixed sign (the active set of a ReLU
  network).

:func:`ito` applies Itô's formula to a scalar function :math:`f(t,X)`:

.. math::
    df(t,X_t)=\Big(\partial_tf+\sum_ib_i\,\partial_if+\tfrac12\sum_{i,j}(\sigma\sigma^\top)_{ij}\,
    \partial_{ij}f\Big)dt+\nabla f^\top\sigma\,dW_t,

and :func:`generator` returns :math:`\mathcal Af=b\cdot\nabla f+\frac12\operatorname{tr}(\sigma\sigma^\top
\nabla^2f)`. Both need :math:`f\in C^2`. Functions built from ``Max``, ``Min``, ``Abs``, ``Heaviside``,
``sign`` or ``Piecewise`` are refused unless ``regularity="C1-lipschitz-gradient"`` is declared; then
the function is checked to be continuous with a continuous gradient across every kink (so, being
piecewise :math:`C^2`, it has a locally Lipschitz gradient), and the second derivatives are taken in
the almost-everywhere sense (Dirac masses dropped). That is Itô's formula for :math:`W^{2,\infty}_{loc}`
functions, with no local-time term: the distributional Hessian of a :math:`C^1` piecewise-:math:`C^2`
function has no singular part, and the process spends zero Lebesgue time on a kink surface
:math:`\{a(X)=0\}` wherever :math:`a(X)` has non-zero quadratic variation (occupation-times formula).
Example: :math:`\sum_i(x_i)_+^2` (SCIENCE.md A5). Functions whose gradient jumps (:math:`(x)_+`,
:math:`|x|`) need a local time and are refused in both modes.

References
----------
Øksendal, *Stochastic Differential Equations*, 6th ed., Springer 2003, Thm 4.2.1 (Itô's formula) and
Thm 7.3.3 (generator); Krylov, *Controlled Diffusion Processes*, Springer 1980, sec. 2.10 (Itô's formula
for functions in :math:`W^2_{d,loc}`); Revuz & Yor, *Continuous Martingales and Brownian Motion*,
ch. VI (local times, occupation-times formula).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .._checks import check_choice
from .._results import Result

__all__ = [
    "REGULARITIES",
    "Block",
    "CoordinateSum",
    "ExchangeableSDE",
    "ItoResult",
    "SymbolicSDE",
    "generator",
    "ito",
]

#: Accepted values of the ``regularity`` declaration of :func:`ito` and :func:`generator`.
REGULARITIES = ("C2", "C1-lipschitz-gradient")

# Functions with a kink or a jump: f is not C^2 where their argument vanishes.
_KINKED = (sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign, sp.Piecewise)
# Functions with jumps everywhere on a lattice or distributions: never acceptable in f.
_DISCONTINUOUS = (sp.floor, sp.ceiling, sp.frac, sp.Mod, sp.DiracDelta)


# ----------------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------------


def _short(expr: Any) -> str:
    text = str(expr)
    return text if len(text) <= 120 else text[:117] + "..."


def as_expr(name: str, value: Any) -> sp.Expr:
    """Convert ``value`` (a sympy expression or a real number) to a scalar sympy expression.

    Strings are refused (``sympify`` of a string evaluates code); matrices and non-expressions raise
    ``TypeError`` naming ``name``.
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
        raise TypeError(f"{name} must be a scalar sympy expression, got {type(expr).__name__} {_short(expr)}")
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
            raise TypeError(f"{name} must contain sympy Symbols only, got {type(s).__name__} {_short(s)}")
    if not out and not allow_empty:
        raise ValueError(f"{name} must hold at least one Symbol, got an empty sequence")
    if len(set(out)) != len(out):
        dup = sorted({str(s) for s in out if out.count(s) > 1})
        raise ValueError(f"{name} must hold distinct Symbols, got duplicates {dup}")
    return out


def _check_declared(what: str, expr: Any, declared: set[sp.Symbol]) -> None:
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


def _nonsmooth_atoms(expr: sp.Basic) -> set[sp.Basic]:
    return set(expr.atoms(*_KINKED))


def _drop_dirac(expr: sp.Basic) -> sp.Basic:
    """Second derivatives in the a.e. sense: remove Dirac masses, reduce powers of Heaviside."""
    expr = expr.replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.S.Zero)
    return expr.replace(
        lambda e: e.is_Pow and isinstance(e.base, sp.Heaviside) and e.exp.is_integer and e.exp.is_positive,
        lambda e: e.base,
    )


def _indicator(what: str, cond: Any) -> sp.Expr:
    """An almost-everywhere indicator of a condition, in Heaviside functions."""
    if cond is sp.true or cond == True:  # noqa: E712 - sympy's true
        return sp.S.One
    if cond is sp.false or cond == False:  # noqa: E712
        return sp.S.Zero
    if isinstance(cond, (sp.StrictGreaterThan, sp.GreaterThan)):
        return sp.Heaviside(cond.lhs - cond.rhs)
    if isinstance(cond, (sp.StrictLessThan, sp.LessThan)):
        return sp.Heaviside(cond.rhs - cond.lhs)
    if isinstance(cond, sp.Eq):
        return sp.S.Zero  # a null set
    if isinstance(cond, sp.Ne):
        return sp.S.One
    if isinstance(cond, sp.And):
        return sp.Mul(*[_indicator(what, c) for c in cond.args])
    if isinstance(cond, sp.Or):
        return 1 - sp.Mul(*[1 - _indicator(what, c) for c in cond.args])
    if isinstance(cond, sp.Not):
        return 1 - _indicator(what, cond.args[0])
    raise ValueError(f"{what}: cannot read the Piecewise condition {cond} as a kink surface")


def _piecewise_heaviside(what: str, pw: sp.Piecewise) -> sp.Expr:
    """Piecewise((e1, c1), (e2, c2), ...) = e1 1{c1} + (1 - 1{c1}) (e2 1{c2} + ...), a.e."""
    out: sp.Expr = sp.S.Zero
    for e, c in reversed(pw.args):
        ind = _indicator(what, c)
        out = e * ind + (1 - ind) * out
    return sp.expand(out)


def _kink_form(what: str, expr: sp.Expr) -> sp.Expr:
    """Rewrite Max/Min/Abs/sign/Piecewise as Heaviside functions (raises if that is not possible)."""
    out = expr.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: _piecewise_heaviside(what, e))
    out = out.rewrite(sp.Heaviside)
    out = out.replace(lambda e: isinstance(e, sp.sign), lambda e: 2 * sp.Heaviside(e.args[0]) - 1)
    left = out.atoms(sp.Max, sp.Min, sp.Abs, sp.Piecewise)
    if left:
        raise ValueError(
            f"{what}: cannot put {sorted(map(str, left))} into Heaviside form to check the regularity; "
            "write the kinks with Max/Min/Abs/Heaviside of explicit arguments"
        )
    return out


def _surfaces(expr: sp.Expr) -> list[sp.Expr]:
    """Arguments ``a`` of the Heaviside functions in ``expr`` (kink surfaces ``a = 0``), up to sign."""
    out: list[sp.Expr] = []
    for h in expr.atoms(sp.Heaviside):
        a = h.args[0]
        if a.could_extract_minus_sign():
            a = -a
        if a not in out:
            out.append(a)
    return sorted(out, key=sp.default_sort_key)


def _side(expr: sp.Expr, a: sp.Expr, positive: bool) -> sp.Expr:
    """``expr`` on the side ``a > 0`` (``positive``) or ``a < 0`` of the surface ``a = 0``."""

    def value(h: sp.Heaviside) -> sp.Expr:
        arg = h.args[0]
        return sp.S.One if (arg == a) == positive else sp.S.Zero

    return expr.replace(lambda e: isinstance(e, sp.Heaviside) and (e.args[0] in (a, -a)), value)


def _jump_vanishes(what: str, expr: sp.Expr, a: sp.Expr, variables: Sequence[sp.Symbol]) -> bool:
    """Whether ``expr`` is continuous across ``a = 0`` (its one-sided values agree on the surface)."""
    jump = sp.simplify(_side(expr, a, True) - _side(expr, a, False))
    if jump == 0:
        return True
    candidates = [v for v in variables if v in a.free_symbols]
    if not candidates:  # the switch depends on parameters only: not a kink in the state
        return True
    v = candidates[0]
    sols = sp.solve(sp.Eq(a, 0), v, dict=False)
    if not sols:
        raise ValueError(f"{what}: cannot solve the kink surface {a} = 0 for {v} to check the regularity")
    return all(sp.simplify(jump.subs(v, s)) == 0 for s in sols)


def _continuity_check(
    what: str, f: sp.Expr, variables: Sequence[sp.Symbol], order: int
) -> tuple[sp.Expr, str]:
    """Check that ``f`` and its derivatives up to ``order`` are continuous across every kink surface.

    Returns the Heaviside form of ``f`` and an empty string, or the form and a message naming the first
    discontinuity found (``"f"``, ``"gradient"`` or ``"hessian"`` jumps).
    """
    if f.atoms(*_DISCONTINUOUS):
        bad = sorted(map(str, f.atoms(*_DISCONTINUOUS)))
        raise ValueError(f"{what} contains {bad}: it is not continuous, Itô's formula does not apply")
    g = _kink_form(what, f)
    surfaces = _surfaces(g)
    layers: list[tuple[str, list[sp.Expr]]] = [("f", [g])]
    if order >= 1:
        grad = [_drop_dirac(sp.diff(g, v)) for v in variables]
        layers.append(("gradient", grad))
        if order >= 2:
            hess = [_drop_dirac(sp.diff(d, v)) for d in grad for v in variables]
            layers.append(("hessian", hess))
    for a in surfaces:
        for label, exprs in layers:
            for e in exprs:
                if not _jump_vanishes(what, e, a, variables):
                    return g, f"{label}:{a}"
    return g, ""


def check_c1_lipschitz_gradient(what: str, f: sp.Expr, variables: Sequence[sp.Symbol]) -> sp.Expr:
    """Check that ``f`` is continuous with a continuous gradient across its kinks; return its kink form.

    ``f`` is first rewritten with Heaviside functions. For every kink surface :math:`\\{a=0\\}`, the
    one-sided values of :math:`f` and of each :math:`\\partial f/\\partial x_i` must agree on the surface.
    A piecewise-:math:`C^2` function passing this test is :math:`C^1` with a locally Lipschitz gradient.

    Raises
    ------
    ValueError
        If ``f`` jumps (Itô's formula fails), or its gradient jumps (a local-time term would be
        needed), or the check cannot be carried out.
    """
    g, problem = _continuity_check(what, f, variables, 1)
    if problem.startswith("f:"):
        raise ValueError(
            f"{what} = {_short(f)} jumps across {problem[2:]} = 0: it is not continuous, "
            "Itô's formula does not apply"
        )
    if problem:
        raise ValueError(
            f"{what} = {_short(f)} is not C^1 with a Lipschitz gradient: its gradient jumps across "
            f"{problem.split(':', 1)[1]} = 0, so Itô's formula needs a local-time term there (Itô-Tanaka), "
            "which is not supported"
        )
    return g


def _check_regularity(what: str, f: sp.Expr, variables: Sequence[sp.Symbol], regularity: str) -> sp.Expr:
    """Validate ``regularity`` for ``f``; return the form of ``f`` to differentiate.

    Under ``"C2"`` a function written with kinks is accepted when it is in fact :math:`C^2` (e.g.
    :math:`|x|^3`): continuous with continuous first and second derivatives across every kink.
    """
    if not isinstance(regularity, str):
        raise TypeError(f"regularity must be a str, one of {list(REGULARITIES)}, got {regularity!r}")
    check_choice("regularity", regularity, REGULARITIES)
    relevant = [v for v in variables if v in f.free_symbols]
    if f.atoms(*_DISCONTINUOUS):
        bad = sorted(map(str, f.atoms(*_DISCONTINUOUS)))
        raise ValueError(f"{what} contains {bad}: it is not continuous, Itô's formula does not apply")
    kinks = {k for k in _nonsmooth_atoms(f) if k.free_symbols & set(relevant)}
    if not kinks:
        return f
    if regularity == "C2":
        try:
            g, problem = _continuity_check(what, f, relevant, 2)
        except ValueError:
            problem = "undecided"
        if not problem:
            return g
        raise ValueError(
            f"{what} = {_short(f)} is not C^2 (it contains {sorted(map(str, kinks))[:4]}); "
            "Itô's formula needs f in C^2. If f is C^1 with a Lipschitz gradient (e.g. "
            "sum_i Max(x_i, 0)**2), declare it with regularity='C1-lipschitz-gradient': second derivatives "
            "are then taken almost everywhere and the result holds without local time"
        )
    return check_c1_lipschitz_gradient(what, f, relevant)


def _simplify(expr: sp.Expr, enabled: bool) -> sp.Expr:
    if not enabled:
        return expr
    out = sp.simplify(sp.factor_terms(sp.together(expr)))
    return out


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
        _check_declared("drift", drift, declared)
        _check_declared("diffusion", diffusion, declared)
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
        vals = _param_values(values, self.params, require_all=False)
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


def _param_values(values: Any, params: Sequence[sp.Symbol], *, require_all: bool) -> dict[sp.Symbol, sp.Expr]:
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
    The limit diffusion of a linear network, :math:`dX=\|X\|/\sqrt n\,dB` (SCIENCE.md A3):

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
                f"but it depends on the coordinate {x} itself: {_short(self._volatility)}"
            )
        b = drift(x, self.sum) if callable(drift) and not isinstance(drift, sp.Basic) else drift
        self._drift = as_expr("drift", b)
        declared = self.declared_symbols()
        _check_declared("volatility", self._volatility, declared)
        _check_declared("drift", self._drift, declared | {x})
        for s in self.coordinate_sums(self._volatility) | self.coordinate_sums(self._drift):
            _check_declared(f"summand of {s}", s.summand.expr, declared | set(s.summand.variables))

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
        vals = _param_values(values, self._params, require_all=False)
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
            f"ItoResult(\n  f = {_short(self.f)}\n  drift = {_short(self.drift)}\n"
            f"  volatility = {_short(self.volatility)}\n  regularity = {self.regularity}\n)"
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
        a local-time term (see the module notes), e.g. for :math:`\sum_i(x_i)_+^2`.
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
    _check_declared("f", f, sde.declared_symbols())
    g = _check_regularity("f", f, sde.state, regularity)
    ae = g is not f  # kinks declared: derivatives in the a.e. sense
    xs = sde.state
    grad = sp.Matrix([sp.diff(g, v) for v in xs])
    hess = sp.Matrix(len(xs), len(xs), lambda i, j: sp.diff(grad[i], xs[j]))
    if ae:
        grad = grad.applyfunc(_drop_dirac)
        hess = hess.applyfunc(_drop_dirac)
    a = sde.diffusion * sde.diffusion.T
    gen = (sde.drift.T * grad)[0] + sp.Rational(1, 2) * sum(
        a[i, j] * hess[i, j] for i in range(len(xs)) for j in range(len(xs))
    )
    dt = sp.diff(g, sde.time) if sde.time is not None else sp.S.Zero
    row = grad.T * sde.diffusion
    qv = (row * row.T)[0]
    if ae:
        gen, dt = _drop_dirac(gen), _drop_dirac(dt)
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
    Reference: Øksendal (2003), Thm 7.3.3. For the limit diffusion of SCIENCE.md A3,
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
            if kinked and _nonsmooth_atoms(u):
                u = _drop_dirac(_kink_form("summand", u))
            total += self.block_sum(k, u)
        return total

    def block_sum(self, k: int, h: sp.Expr) -> sp.Expr:
        """sum_{i in B_k} h(x_i, S) for h depending on the block coordinate and on sums."""
        y = self.coords[k]
        size = self.sde.blocks[k].size
        h = sp.expand(h, deep=False, power_base=False, power_exp=False, log=False)
        if h.atoms(sp.Heaviside):
            h = _drop_dirac(h)
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
        return _drop_dirac(first), _drop_dirac(second)


def _ito_exchangeable(sde: ExchangeableSDE, f: Any, *, regularity: str, simplify: bool) -> ItoResult:
    f = as_expr("f", f)
    x = sde.coordinate
    if x in f.free_symbols:
        raise ValueError(
            f"f must be a function of coordinate sums (built with sde.sum), params and time, but it contains "
            f"the coordinate {x} outside a sum: {_short(f)}"
        )
    _check_declared("f", f, sde.declared_symbols())
    if not isinstance(regularity, str):
        raise TypeError(f"regularity must be a str, one of {list(REGULARITIES)}, got {regularity!r}")
    check_choice("regularity", regularity, REGULARITIES)
    sums = sorted(sde.coordinate_sums(f), key=sp.default_sort_key)
    # the outer function of the sums must be smooth; the summands may have kinks (declared)
    outer = f.subs({s: sp.Dummy() for s in sums})
    if _nonsmooth_atoms(outer) or outer.atoms(*_DISCONTINUOUS):
        raise ValueError(
            f"f = {_short(f)} is not a smooth function of its coordinate sums; only the summands may have "
            "kinks (declared with regularity='C1-lipschitz-gradient')"
        )
    kinked = False
    for s in sums:
        g = s.summand.expr
        v = s.summand.variables[0]
        _check_declared(f"summand of {s}", g, sde.declared_symbols() | {v})
        if _nonsmooth_atoms(g) or g.atoms(*_DISCONTINUOUS):
            _check_regularity(f"the summand {g} of f", g, [v], regularity)
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
