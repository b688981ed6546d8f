r"""The regularity rules of Itô's formula: which functions :func:`~stochdepth.symbolic.ito` accepts.

Itô's formula needs :math:`f\in C^2`. Functions built from ``Max``, ``Min``, ``Abs``, ``Heaviside``,
``sign`` or ``Piecewise`` are refused unless ``regularity="C1-lipschitz-gradient"`` is declared; then
the function is checked to be continuous with a continuous gradient across every kink (so, being
piecewise :math:`C^2`, it has a locally Lipschitz gradient), and the second derivatives are taken in
the almost-everywhere sense (Dirac masses dropped). That is Itô's formula for :math:`W^{2,\infty}_{loc}`
functions, with no local-time term: the distributional Hessian of a :math:`C^1` piecewise-:math:`C^2`
function has no singular part, and the process spends zero Lebesgue time on a kink surface
:math:`\{a(X)=0\}` wherever :math:`a(X)` has non-zero quadratic variation (occupation-times formula).
Example: :math:`\sum_i(x_i)_+^2` (docs/science.md §A5). Functions whose gradient jumps (:math:`(x)_+`,
:math:`|x|`) need a local time and are refused in both modes. A function written with kinks that is in
fact :math:`C^2` (e.g. :math:`|x|^3`) passes under ``"C2"``.

The check rewrites the kinks as Heaviside functions (:func:`kink_form`) and compares the one-sided
values of :math:`f` and of its derivatives on every kink surface (:func:`check_c1_lipschitz_gradient`,
:func:`check_regularity`).

References
----------
Krylov, *Controlled Diffusion Processes*, Springer 1980, sec. 2.10 (Itô's formula for functions in
:math:`W^2_{d,loc}`); Revuz & Yor, *Continuous Martingales and Brownian Motion*, ch. VI (local times,
occupation-times formula).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy as sp

from .._checks import check_choice
from .expressions import short

__all__ = [
    "DISCONTINUOUS",
    "REGULARITIES",
    "check_c1_lipschitz_gradient",
    "check_regularity",
    "drop_dirac",
    "kink_form",
    "nonsmooth_atoms",
]


#: Accepted values of the ``regularity`` declaration of :func:`ito` and :func:`generator`.
REGULARITIES = ("C2", "C1-lipschitz-gradient")


# Functions with a kink or a jump: f is not C^2 where their argument vanishes.
_KINKED = (sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign, sp.Piecewise)


# Functions with jumps everywhere on a lattice or distributions: never acceptable in f.
DISCONTINUOUS = (sp.floor, sp.ceiling, sp.frac, sp.Mod, sp.DiracDelta)


def nonsmooth_atoms(expr: sp.Basic) -> set[sp.Basic]:
    return set(expr.atoms(*_KINKED))


def drop_dirac(expr: sp.Basic) -> sp.Basic:
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


def kink_form(what: str, expr: sp.Expr) -> sp.Expr:
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
    if f.atoms(*DISCONTINUOUS):
        bad = sorted(map(str, f.atoms(*DISCONTINUOUS)))
        raise ValueError(f"{what} contains {bad}: it is not continuous, Itô's formula does not apply")
    g = kink_form(what, f)
    surfaces = _surfaces(g)
    layers: list[tuple[str, list[sp.Expr]]] = [("f", [g])]
    if order >= 1:
        grad = [drop_dirac(sp.diff(g, v)) for v in variables]
        layers.append(("gradient", grad))
        if order >= 2:
            hess = [drop_dirac(sp.diff(d, v)) for d in grad for v in variables]
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
            f"{what} = {short(f)} jumps across {problem[2:]} = 0: it is not continuous, "
            "Itô's formula does not apply"
        )
    if problem:
        raise ValueError(
            f"{what} = {short(f)} is not C^1 with a Lipschitz gradient: its gradient jumps across "
            f"{problem.split(':', 1)[1]} = 0, so Itô's formula needs a local-time term there (Itô-Tanaka), "
            "which is not supported"
        )
    return g


def check_regularity(what: str, f: sp.Expr, variables: Sequence[sp.Symbol], regularity: str) -> sp.Expr:
    """Validate ``regularity`` for ``f``; return the form of ``f`` to differentiate.

    Under ``"C2"`` a function written with kinks is accepted when it is in fact :math:`C^2` (e.g.
    :math:`|x|^3`): continuous with continuous first and second derivatives across every kink.
    """
    if not isinstance(regularity, str):
        raise TypeError(f"regularity must be a str, one of {list(REGULARITIES)}, got {regularity!r}")
    check_choice("regularity", regularity, REGULARITIES)
    relevant = [v for v in variables if v in f.free_symbols]
    if f.atoms(*DISCONTINUOUS):
        bad = sorted(map(str, f.atoms(*DISCONTINUOUS)))
        raise ValueError(f"{what} contains {bad}: it is not continuous, Itô's formula does not apply")
    kinks = {k for k in nonsmooth_atoms(f) if k.free_symbols & set(relevant)}
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
            f"{what} = {short(f)} is not C^2 (it contains {sorted(map(str, kinks))[:4]}); "
            "Itô's formula needs f in C^2. If f is C^1 with a Lipschitz gradient (e.g. "
            "sum_i Max(x_i, 0)**2), declare it with regularity='C1-lipschitz-gradient': second derivatives "
            "are then taken almost everywhere and the result holds without local time"
        )
    return check_c1_lipschitz_gradient(what, f, relevant)
