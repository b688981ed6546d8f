r"""Stationary 1-D optimal stopping with constant coefficients, solved exactly by smooth fit (sympy).

For :math:`dX=b\,dt+\sigma\,dW` (constants), discount :math:`r\ge0`, cost rate :math:`c` and gain :math:`g`,
the value of the infinite-horizon problem :math:`V(x)=\sup_\tau\mathbb E_x[e^{-r\tau}g(X_\tau)-
\int_0^\tau e^{-rs}c\,ds]` with a one-sided stopping region solves the free-boundary problem
(Peskir & Shiryaev, *Optimal Stopping and Free-Boundary Problems*, 2006, ch. IV, sec. 9)

.. math::
    \tfrac12\sigma^2V''+bV'-rV=c \ \text{ in the continuation region},\qquad
    V(x^\star)=g(x^\star)\ \text{(value matching)},\qquad V'(x^\star)=g'(x^\star)\ \text{(smooth fit)}.

The stopping region is :math:`\{x\ge x^\star\}` (``stopping_side="upper"``) or :math:`\{x\le x^\star\}`
(``"lower"``), so the continuation region is a half-line. The recipe, carried out in sympy:

1. the general solution of the ODE, :math:`V=V_p+\sum_kC_k\varphi_k`, from :func:`sympy.dsolve`
   (first order when :math:`\sigma=0`, the noiseless case);
2. **growth condition** (explicit rule): on the unbounded side of the continuation region, a homogeneous
   solution :math:`\varphi_k` whose logarithmic derivative :math:`\varphi_k'/\varphi_k` tends to a rate
   :math:`\lambda_k` with :math:`\lambda_k\to` *growth towards that end* (:math:`\lambda_k<0` at
   :math:`-\infty`, :math:`\lambda_k>0` at :math:`+\infty`) is excluded: values of stopping problems with
   polynomially bounded gains grow at most polynomially, which an exponential would violate. Polynomial
   terms (:math:`\lambda_k=0`) are kept. The excluded terms are recorded in the result;
3. value matching and smooth fit, solved for the remaining constants and :math:`x^\star`: the constants
   linearly, then the scalar equation for :math:`x^\star` by :func:`sympy.solve` (closed form) or, when
   that fails and the data are numeric, by :func:`sympy.nsolve` from a ``guess``;
4. the result is verified (numeric data): :math:`V\ge g` on the continuation side and
   :math:`\tfrac12\sigma^2g''+bg'-rg-c\le0` on the stopping side, the variational inequalities of the
   verification theorem; and lambdified for fast numpy evaluation.

If the system has more unknowns than equations (the continuation region would never be left, e.g. a drift
pointing away from the boundary without discount) a :class:`ValueError` says so: the one-sided structure
is then wrong (try the other side, or stopping at once may be optimal).

Closed forms it reproduces: docs/science.md §B6 (:math:`y^\star=a-c/(2m)`, :math:`V` linear below
:math:`y^\star`), the perpetual American put (McKean 1965, Merton 1973) in log-price, and the noiseless
problem of docs/science.md §B5 in the variable :math:`u=\log d`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import sympy

from .._checks import check_choice, check_real
from .._results import Result

__all__ = ["SmoothFitSolution", "solve_smooth_fit"]


def _sympify(name: str, value: Any, x: sympy.Symbol, values: dict[sympy.Symbol, sympy.Expr]) -> sympy.Expr:
    """A parameter as a sympy expression.

    A non-zero number becomes a placeholder symbol with the number's sign as assumption (its value is
    recorded in ``values`` and substituted at the end): the algebra then runs on exact symbols, which
    avoids float noise (e.g. ``exp(3e-15 x)`` terms) and sympy's rationalisation of float exponents.
    Zero stays a structural zero (no noise, no discount, no cost).
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number or a sympy expression, got bool")
    if isinstance(value, sympy.Basic):  # sympy numbers stay exact
        expr = sympy.sympify(value)
        if x in expr.free_symbols:
            raise ValueError(f"{name} must be constant (free of {x}), got {expr}")
        return expr
    if isinstance(value, (numbers.Real, np.floating, np.integer)):
        f = check_real(name, value)
        if f == 0.0:
            return sympy.Integer(0)
        sym = sympy.Symbol(f"{name}_", positive=True)
        values[sym] = sympy.Float(abs(f)) if not f.is_integer() else sympy.Integer(int(abs(f)))
        return sym if f > 0 else -sym
    raise TypeError(f"{name} must be a number or a sympy expression, got {type(value).__name__}")


def _assumed_sign(e: sympy.Expr) -> int | None:
    """Sign of ``e`` known from sympy's assumptions alone (0, 1 or -1), ``None`` when they do not decide."""
    if e.is_zero:
        return 0
    if e.is_positive:
        return 1
    if e.is_negative:
        return -1
    return None


def _sign(expr: sympy.Expr, values: Mapping[sympy.Symbol, sympy.Expr] | None = None) -> int | None:
    """Sign of ``expr`` from sympy's assumptions, else (all symbols valued) from its numeric value."""
    for e in (expr, sympy.cancel(expr)):
        sign = _assumed_sign(e)
        if sign is not None:
            return sign
    e = expr if values is None else expr.subs(values)
    if e.free_symbols:
        e = sympy.simplify(e)
        sign = _assumed_sign(e)
        if sign is not None:
            return sign
    if not e.free_symbols:
        v = complex(e.evalf())
        if abs(v.imag) > 1e-12 * (1 + abs(v.real)):
            return None
        return 0 if v.real == 0 else (1 if v.real > 0 else -1)
    return None


def _rates(phis: list[sympy.Expr], x: sympy.Symbol, end: Any) -> list[sympy.Expr]:
    """Asymptotic exponential rate of each basis function (limit of its logarithmic derivative)."""
    out = []
    for phi in phis:
        lam = sympy.cancel(sympy.powsimp(sympy.diff(phi, x) / phi))
        if x in lam.free_symbols:
            lam = sympy.limit(lam, x, end)
        out.append(lam)
    return out


def _signs(
    rates: list[sympy.Expr],
    d2: sympy.Expr,
    b: sympy.Expr,
    r: sympy.Expr,
    values: Mapping[sympy.Symbol, sympy.Expr],
) -> list[int]:
    signs = [_sign(rt, values) for rt in rates]
    if None in signs and len(rates) == 2 and d2.is_positive and r.is_positive:
        # the rates are the roots of d2 l^2 + b l - r = 0; with r > 0 they have opposite signs and the
        # positive one is (-b + sqrt(b^2 + 4 d2 r)) / (2 d2) (Vieta), whatever the sign of b
        plus = (-b + sympy.sqrt(b**2 + 4 * d2 * r)) / (2 * d2)
        minus = (-b - sympy.sqrt(b**2 + 4 * d2 * r)) / (2 * d2)
        found = [1 if rt.equals(plus) else (-1 if rt.equals(minus) else None) for rt in rates]
        if None not in found and found[0] != found[1]:
            signs = found
    if None in signs:
        bad = rates[signs.index(None)]
        raise ValueError(
            f"cannot decide the sign of the exponential rate {bad}: give numbers, or sympy symbols with "
            "assumptions (e.g. sympy.Symbol('m', positive=True))"
        )
    return [int(s) for s in signs]  # type: ignore[arg-type]


def _real(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a lambdified function: real float array, or ``None`` where it is genuinely complex."""

    def wrapped(arr: Any) -> Any:
        out = np.asarray(fn(arr))
        if np.iscomplexobj(out):
            if np.any(np.abs(out.imag) > 1e-9 * (1.0 + np.abs(out.real))):
                return None
            out = out.real
        return np.asarray(out, dtype=float)

    return wrapped


@dataclass(frozen=True, eq=False, repr=False)
class SmoothFitSolution(Result):
    r"""Closed-form (or nsolve) solution of a stationary constant-coefficient stopping problem.

    Attributes
    ----------
    variable : sympy.Symbol
        The state variable :math:`x`.
    boundary : sympy.Expr
        :math:`x^\star` (a number when the data are numeric).
    continuation_value : sympy.Expr
        :math:`V(x)` in the continuation region (the ODE solution with the constants solved).
    gain : sympy.Expr
        :math:`g(x)` (the value in the stopping region).
    stopping_side : {"upper", "lower"}
        Stopping region :math:`\{x\ge x^\star\}` or :math:`\{x\le x^\star\}`.
    general_solution : sympy.Expr
        The ODE's general solution from :func:`sympy.dsolve` (constants ``C1``, ``C2``).
    excluded : tuple of sympy.Expr
        Homogeneous solutions removed by the growth condition.
    constants : dict
        Values of the kept integration constants.
    method : {"closed form", "nsolve"}
        How the boundary equation was solved.
    verified : bool or None
        Numeric check of the variational inequalities (``None`` while symbolic parameters remain).
    candidates : tuple of sympy.Expr
        All roots of the boundary equation that passed the filters (the first is ``boundary``).
    """

    variable: sympy.Symbol
    boundary: sympy.Expr
    continuation_value: sympy.Expr
    gain: sympy.Expr
    stopping_side: str
    general_solution: sympy.Expr
    excluded: tuple[sympy.Expr, ...]
    constants: dict[sympy.Symbol, sympy.Expr]
    method: str
    verified: bool | None
    candidates: tuple[sympy.Expr, ...] = ()
    generator: tuple[sympy.Expr, sympy.Expr, sympy.Expr, sympy.Expr] = field(default=(), repr=False)

    @property
    def free_symbols(self) -> set[sympy.Symbol]:
        """Parameters still symbolic (besides the state variable)."""
        syms = self.boundary.free_symbols | self.continuation_value.free_symbols | self.gain.free_symbols
        return syms - {self.variable}

    def subs(self, values: Mapping[Any, Any]) -> SmoothFitSolution:
        """Substitute parameter values (``{symbol: number}``) and re-verify when fully numeric."""

        def s(e: sympy.Expr) -> sympy.Expr:
            return sympy.sympify(e).subs(values)

        new = SmoothFitSolution(
            variable=self.variable,
            boundary=s(self.boundary),
            continuation_value=s(self.continuation_value),
            gain=s(self.gain),
            stopping_side=self.stopping_side,
            general_solution=s(self.general_solution),
            excluded=tuple(s(e) for e in self.excluded),
            constants={k: s(v) for k, v in self.constants.items()},
            method=self.method,
            verified=None,
            candidates=tuple(s(c) for c in self.candidates),
            generator=tuple(s(e) for e in self.generator),  # type: ignore[arg-type]
        )
        if not new.free_symbols:
            object.__setattr__(new, "verified", new.verify())
        return new

    def _require_numeric(self) -> None:
        if self.free_symbols:
            names = ", ".join(sorted(str(s) for s in self.free_symbols))
            raise ValueError(f"symbolic parameters remain ({names}); call .subs({{...}}) with numbers first")

    @cached_property
    def boundary_value(self) -> float:
        r""":math:`x^\star` as a float."""
        self._require_numeric()
        return float(sympy.re(self.boundary.evalf()))

    @cached_property
    def _functions(self) -> tuple[Callable[..., Any], ...]:
        self._require_numeric()
        x = self.variable
        vc, g = self.continuation_value, self.gain
        fns = [sympy.lambdify(x, e, modules="numpy") for e in (vc, g, sympy.diff(vc, x), sympy.diff(g, x))]
        return tuple(fns)

    def _piecewise(self, xs: Any, i_cont: int, i_stop: int) -> np.ndarray | float:
        arr = np.asarray(xs, dtype=float)
        fc, fs = self._functions[i_cont], self._functions[i_stop]
        xb = self.boundary_value
        cont = arr < xb if self.stopping_side == "upper" else arr > xb
        vc = np.broadcast_to(np.asarray(fc(arr), dtype=float), arr.shape)
        vs = np.broadcast_to(np.asarray(fs(arr), dtype=float), arr.shape)
        out = np.where(cont, vc, vs)
        return float(out) if out.ndim == 0 else out

    def value(self, x: Any) -> np.ndarray | float:
        """:math:`V(x)` (numpy, vectorised): the ODE solution in continuation, the gain in stopping."""
        return self._piecewise(x, 0, 1)

    def derivative(self, x: Any) -> np.ndarray | float:
        """:math:`V'(x)` (continuous at the boundary by smooth fit)."""
        return self._piecewise(x, 2, 3)

    def verify(self, span: float = 10.0, n_points: int = 401) -> bool:
        r"""Check the variational inequalities on ``n_points`` points within ``span`` of the boundary.

        :math:`V-g\ge0` on the continuation side and :math:`\tfrac12\sigma^2g''+bg'-rg-c\le0` on the
        stopping side (tolerance :math:`10^{-9}` relative), plus value matching and smooth fit at
        :math:`x^\star`. Together with the growth rule these are the hypotheses of the verification
        theorem (Peskir & Shiryaev 2006, ch. IV, sec. 9).
        """
        self._require_numeric()
        xb = self.boundary_value
        h = np.linspace(0.0, span, n_points)[1:]
        xc = xb - h if self.stopping_side == "upper" else xb + h
        xs = xb + h if self.stopping_side == "upper" else xb - h
        if abs(complex(self.boundary.evalf()).imag) > 1e-12 * (1.0 + abs(xb)):
            return False
        fc, fg, dc, dg = (_real(f) for f in self._functions)
        with np.errstate(over="ignore", invalid="ignore"):
            vc, vg = fc(xc), fg(xc)
            if vc is None or vg is None:
                return False
            gap = vc - vg
            scale = 1.0 + np.abs(vg)
            ok_cont = bool(np.all(~np.isfinite(gap) | (gap >= -1e-9 * scale)))
            x = self.variable
            d2, b, r, c = self.generator
            lg = sympy.lambdify(
                x,
                d2 * sympy.diff(self.gain, x, 2) + b * sympy.diff(self.gain, x) - r * self.gain - c,
                "numpy",
            )
            lval = _real(lg)(xs)
            gs = fg(xs)
            parts = [fc(xb), fg(xb), dc(xb), dg(xb)]
            if lval is None or gs is None or any(p is None for p in parts):
                return False
            lval = np.broadcast_to(lval, xs.shape)
            ok_stop = bool(np.all(~np.isfinite(lval) | (lval <= 1e-9 * (1.0 + np.abs(gs)))))
            v_c, v_g, d_c, d_g = (float(p) for p in parts)
            vm = abs(v_c - v_g) <= 1e-9 * (1 + abs(v_g))
            sf = abs(d_c - d_g) <= 1e-7 * (1 + abs(d_g))
        return ok_cont and ok_stop and vm and sf


def solve_smooth_fit(
    gain: Any,
    drift: Any,
    volatility: Any,
    *,
    variable: sympy.Symbol | None = None,
    rate: Any = 0,
    cost: Any = 0,
    stopping_side: str = "upper",
    guess: float | None = None,
) -> SmoothFitSolution:
    r"""Solve a stationary constant-coefficient stopping problem by value matching and smooth fit.

    .. math::
        \tfrac12\sigma^2V''+bV'-rV=c\ \text{ on the continuation half-line},\qquad
        V(x^\star)=g(x^\star),\quad V'(x^\star)=g'(x^\star).

    Parameters
    ----------
    gain : sympy expression or callable
        :math:`g(x)`: an expression in ``variable`` or a function mapping a sympy symbol to an expression.
    drift, volatility : number or sympy expression
        Constants :math:`b` and :math:`\sigma\ge0` (symbols allowed; give them sign assumptions).
        ``volatility=0`` is the first-order (noiseless) problem, which needs ``drift != 0``.
    variable : sympy.Symbol, optional
        State variable (default a real symbol ``x``; required when ``gain`` is an expression in another
        symbol).
    rate : number or sympy expression, default 0
        Discount :math:`r\ge0`.
    cost : number or sympy expression, default 0
        Running cost :math:`c`.
    stopping_side : {"upper", "lower"}, default "upper"
        Stopping region :math:`\{x\ge x^\star\}` (continuation extends to :math:`-\infty`) or
        :math:`\{x\le x^\star\}`.
    guess : float, optional
        Starting point of :func:`sympy.nsolve`, used when no closed form is found (numeric data only).

    Returns
    -------
    SmoothFitSolution

    Raises
    ------
    ValueError
        Underdetermined or overdetermined smooth-fit system (wrong ``stopping_side`` for this drift, or
        stopping at once is optimal), no admissible root, undecidable signs of symbolic rates, or no
        closed form and no ``guess``.

    Notes
    -----
    The growth rule and the verification are described in the module docstring. Reference: Peskir &
    Shiryaev (2006), ch. IV; docs/science.md §B5-B6 (derived closed forms this function re-derives).

    Examples
    --------
    docs/science.md §B6 (log-norm of a linear ResNet: drift :math:`m`, volatility :math:`s`, gain
    :math:`-(y-a)^2`, cost :math:`c`):

    >>> import sympy
    >>> from stochdepth.symbolic.smooth_fit import solve_smooth_fit
    >>> y, a = sympy.Symbol("y", real=True), sympy.Symbol("a", real=True)
    >>> m, s, c = sympy.symbols("m s c", positive=True)
    >>> sol = solve_smooth_fit(-(y - a) ** 2, m, s, variable=y, cost=c)
    >>> sol.boundary
    a - c/(2*m)
    >>> sympy.factor(sol.continuation_value - (-(sol.boundary - a) ** 2 + c / m * (y - sol.boundary)))
    0
    >>> num = sol.subs({a: 1, m: sympy.Rational(1, 4), s: sympy.Rational(1, 2), c: sympy.Rational(1, 10)})
    >>> num.boundary_value, num.verified
    (0.8, True)
    """
    side = check_choice("stopping_side", stopping_side, ["upper", "lower"])
    x = variable if variable is not None else sympy.Symbol("x", real=True)
    if not isinstance(x, sympy.Symbol):
        raise TypeError(f"variable must be a sympy Symbol, got {type(x).__name__}")
    g = _gain_expression(gain, x)
    values: dict[sympy.Symbol, sympy.Expr] = {}
    b, sig, r, c = _constant_coefficients(drift, volatility, rate, cost, x, values)
    if guess is not None:
        guess = check_real("guess", guess)
    d2 = sig**2 / 2
    general, consts = _general_solution(b, sig, r, c, x)
    particular = general.subs({k: 0 for k in consts})
    k, phi, excluded = _growth_rule(general, consts, x, side, (d2, b, sig, r), values)
    xs = sympy.Symbol("x_star", real=True)
    vc = particular + k * phi
    kval, eq = _boundary_equation(vc, g, x, xs, k)
    roots, method = _boundary_roots(eq, xs, values, guess)

    def num(e: sympy.Expr) -> sympy.Expr:
        return sympy.sympify(e).subs(values)

    cands = []
    for rt in roots:
        cand = SmoothFitSolution(
            variable=x,
            boundary=num(sympy.simplify(rt)),
            continuation_value=num(sympy.simplify(vc.subs(k, kval).subs(xs, rt))),
            gain=g,
            stopping_side=side,
            general_solution=num(general),
            excluded=tuple(num(e) for e in excluded),
            constants={k: num(sympy.simplify(kval.subs(xs, rt)))},
            method=method,
            verified=None,
            generator=(num(d2), num(b), num(r), num(c)),
        )
        if not cand.free_symbols:
            ok = cand.verify()
            object.__setattr__(cand, "verified", ok)
            if not ok:
                continue
        cands.append(cand)
    if not cands:
        raise ValueError(
            f"no root of the smooth-fit equation gives a value satisfying the variational inequalities "
            f"(roots {roots}); the one-sided structure with stopping_side={side!r} is not optimal here"
        )
    best = cands[0]
    object.__setattr__(best, "candidates", tuple(cd.boundary for cd in cands))
    return best


# ----------------------------------------------------------------------------------------------------
# The steps of solve_smooth_fit
# ----------------------------------------------------------------------------------------------------


def _gain_expression(gain: Any, x: sympy.Symbol) -> sympy.Expr:
    """The gain as a sympy expression in ``x`` (from an expression or a callable of ``x``)."""
    if callable(gain) and not isinstance(gain, sympy.Basic):
        g = sympy.sympify(gain(x))
    elif isinstance(gain, sympy.Basic):
        g = sympy.sympify(gain)
    else:
        raise TypeError(f"gain must be a sympy expression or a callable, got {type(gain).__name__}")
    if x not in g.free_symbols:
        raise ValueError(f"gain must depend on the variable {x}, got {g}")
    return g


def _constant_coefficients(
    drift: Any, volatility: Any, rate: Any, cost: Any, x: sympy.Symbol, values: dict[sympy.Symbol, sympy.Expr]
) -> tuple[sympy.Expr, sympy.Expr, sympy.Expr, sympy.Expr]:
    """Drift, volatility, rate and cost as sympy constants (numbers become placeholders: :func:`_sympify`)."""
    b = _sympify("drift", drift, x, values)
    sig = _sympify("volatility", volatility, x, values)
    r = _sympify("rate", rate, x, values)
    c = _sympify("cost", cost, x, values)
    if sig.is_negative:
        raise ValueError(f"volatility must be >= 0, got {sig}")
    if r.is_negative:
        raise ValueError(f"rate must be >= 0, got {r}")
    return b, sig, r, c


def _general_solution(
    b: sympy.Expr, sig: sympy.Expr, r: sympy.Expr, c: sympy.Expr, x: sympy.Symbol
) -> tuple[sympy.Expr, list[sympy.Symbol]]:
    """The general solution of the ODE in the continuation region and its integration constants."""
    d2 = sig**2 / 2
    V = sympy.Function("V")
    if sig.is_zero:
        if b.is_zero:
            raise ValueError("volatility=0 needs a non-zero drift (otherwise the state never moves)")
        ode = b * V(x).diff(x) - r * V(x) - c
    else:
        ode = d2 * V(x).diff(x, 2) + b * V(x).diff(x) - r * V(x) - c
    general = sympy.dsolve(ode, V(x)).rhs
    consts = sorted(
        (s for s in general.free_symbols if s.name.startswith("C") and s.name[1:].isdigit()),
        key=lambda s: s.name,
    )
    return general, consts


def _growth_rule(
    general: sympy.Expr,
    consts: list[sympy.Symbol],
    x: sympy.Symbol,
    side: str,
    coefficients: tuple[sympy.Expr, sympy.Expr, sympy.Expr, sympy.Expr],
    values: Mapping[sympy.Symbol, sympy.Expr],
) -> tuple[sympy.Symbol, sympy.Expr, tuple[sympy.Expr, ...]]:
    """Exclude the homogeneous solutions that grow exponentially towards the unbounded end.

    ``coefficients`` are :math:`(\\sigma^2/2, b, \\sigma, r)`. Returns the one kept constant, its
    homogeneous solution and the excluded ones; raises unless exactly one constant is kept.
    """
    d2, b, sig, r = coefficients
    phis = [sympy.diff(general, k) for k in consts]
    end = -sympy.oo if side == "upper" else sympy.oo
    direction = -1 if side == "upper" else 1
    signs = _signs(_rates(phis, x, end), d2, b, r, values)
    kept = [(k, p) for k, p, sg in zip(consts, phis, signs) if sg * direction <= 0]
    excluded = tuple(p for p, sg in zip(phis, signs) if sg * direction > 0)
    if len(kept) != 1:
        raise ValueError(
            f"the smooth-fit system has {len(kept) + 1} unknowns (constants {[str(k) for k, _ in kept]} and "
            f"the boundary) for 2 equations: with drift {b.subs(values)}, volatility {sig.subs(values)}, "
            "rate "
            f"{r.subs(values)} a continuation region "
            f"{'below' if side == 'upper' else 'above'} the boundary is not a well-posed one-sided problem "
            "(try the other stopping_side; stopping at once may be optimal)"
        )
    k, phi = kept[0]
    return k, phi, excluded


def _boundary_equation(
    vc: sympy.Expr, g: sympy.Expr, x: sympy.Symbol, xs: sympy.Symbol, k: sympy.Symbol
) -> tuple[sympy.Expr, sympy.Expr]:
    """Value matching solved for the constant ``k`` (a function of the boundary ``xs``), and the smooth-fit
    equation in ``xs`` that remains (``(constant, equation)``)."""
    # value matching is linear in the constant: solve it, then smooth fit gives one equation in x_star
    kval = sympy.solve(sympy.Eq(vc.subs(x, xs), g.subs(x, xs)), k)
    if len(kval) != 1:
        raise ValueError(f"value matching does not determine {k} (got {kval})")
    kval = sympy.simplify(kval[0])
    eq = sympy.simplify((sympy.diff(vc, x) - sympy.diff(g, x)).subs(x, xs).subs(k, kval))
    return kval, eq


def _boundary_roots(
    eq: sympy.Expr, xs: sympy.Symbol, values: Mapping[sympy.Symbol, sympy.Expr], guess: float | None
) -> tuple[list[sympy.Expr], str]:
    """Real roots of the smooth-fit equation: in closed form, else by :func:`sympy.nsolve` from ``guess``."""
    method = "closed form"
    try:
        roots = sympy.solve(eq, xs)
    except NotImplementedError:
        roots = []
    roots = [rt for rt in roots if rt.is_real is not False and not rt.has(sympy.I)]
    if not roots:
        eq = eq.subs(values)
        free = eq.free_symbols - {xs}
        if free or guess is None:
            raise ValueError(
                f"no closed-form boundary for the equation {eq} = 0; give numeric parameters and a guess"
            )
        roots = [sympy.nsolve(eq, xs, guess)]
        method = "nsolve"
    return roots, method
