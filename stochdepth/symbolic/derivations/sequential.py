r"""The sequential (depth-then-width) limits of docs/science.md §A6 derived from the McKean--Vlasov generator.

One neuron of the depth-first limit is a Brownian motion run with a deterministic clock; Itô's formula
for :math:`\bar x^2` (one input) and :math:`\bar x_a\bar x_b` (two inputs) gives the variance ODE
(:func:`derive_variance_ode`) and the kernel and correlation ODEs (:func:`derive_kernel_ode`), with the
Gaussian expectations done exactly for piecewise-polynomial activations
(:func:`gaussian_expectation`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..._results import Result
from ...activations import Activation
from ..expressions import as_expr, short
from ..ito_formula import ItoResult, ito
from ..sdes import SymbolicSDE
from .limit import SYMBOLS, sympy_activation

__all__ = ["KernelODE", "VarianceODE", "derive_kernel_ode", "derive_variance_ode", "gaussian_expectation"]


# ----------------------------------------------------------------------------------------------------
# Gaussian expectations
# ----------------------------------------------------------------------------------------------------


def _phi(z: sp.Expr) -> sp.Expr:
    return sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)


def _one_sided(expr: sp.Expr, z: sp.Symbol) -> tuple[sp.Expr, sp.Expr, sp.Dummy]:
    """``expr`` on ``z > 0`` and on ``z < 0``, written in a positive dummy ``w`` (``z = w``, ``z = -w``)."""
    w = sp.Dummy("w", positive=True)
    return expr.subs(z, w), expr.subs(z, -w), w


def gaussian_expectation(expr: Any, z: sp.Symbol) -> tuple[sp.Expr, bool]:
    r""":math:`\mathbb E\,h(Z)`, :math:`Z\sim\mathcal N(0,1)`, exactly when :math:`h` is piecewise polynomial.

    .. math::
        \mathbb E\,h(Z)=\int_0^\infty\big(h(w)+h(-w)\big)\,\frac{e^{-w^2/2}}{\sqrt{2\pi}}\,dw.

    The split at 0 resolves ``Max``/``Heaviside``/``Piecewise`` with a kink at 0 (positively homogeneous
    activations); when both halves are polynomial in :math:`w` the integral is done by sympy, otherwise an
    unevaluated :class:`sympy.Integral` is returned (evaluate it by quadrature).

    Parameters
    ----------
    expr : sympy expression
        :math:`h(z)`.
    z : sympy.Symbol
        The integration variable.

    Returns
    -------
    (sympy.Expr, bool)
        The expectation and whether it is in closed form.

    Examples
    --------
    >>> import sympy as sp
    >>> from stochdepth.symbolic import gaussian_expectation
    >>> z = sp.Symbol("z", real=True)
    >>> gaussian_expectation(sp.Max(z, 0) ** 2, z)
    (1/2, True)
    """
    h = as_expr("expr", expr)
    if not isinstance(z, sp.Symbol):
        raise TypeError(f"z must be a sympy Symbol, got {type(z).__name__}")
    pos, neg, w = _one_sided(h, z)
    if pos.is_polynomial(w) and neg.is_polynomial(w):
        val = sp.integrate(sp.expand((pos + neg) * _phi(w)), (w, 0, sp.oo))
        return sp.simplify(val), True
    return sp.Integral(h * _phi(z), (z, -sp.oo, sp.oo)), False


# ----------------------------------------------------------------------------------------------------
# The variance ODE
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class VarianceODE(Result):
    r"""The variance ODE of the sequential (depth-then-width) limit, :math:`\dot q=\mathbb E\phi(\sqrt qZ)^2`.

    Attributes
    ----------
    activation : str
    q, t, q0 : sympy.Symbol
        Variance, depth-time, initial variance.
    rhs : sympy.Expr
        :math:`M_2(q)=\mathbb E_Z\phi(\sqrt qZ)^2` (an unevaluated Integral when not in closed form).
    closed_form : bool
        Whether ``rhs`` is in closed form.
    solution : sympy.Expr or None
        :math:`q(t)` with :math:`q(0)=q_0` (``None`` when not found in closed form).
    generator_step : ItoResult
        Itô's formula for :math:`\bar x^2` under :math:`d\bar X=\sqrt m\,d\beta` (its drift is :math:`m`).
    claim : str
    """

    activation: str
    q: sp.Symbol
    t: sp.Symbol
    q0: sp.Symbol
    rhs: sp.Expr
    closed_form: bool
    solution: sp.Expr | None
    generator_step: ItoResult
    claim: str

    def __repr__(self) -> str:
        return (
            f"VarianceODE(activation={self.activation!r}, dq/dt = {short(self.rhs)}, "
            f"q(t) = {self.solution}, claim={self.claim!r})"
        )


@functools.lru_cache(maxsize=32)
def derive_variance_ode(activation: Any = "relu") -> VarianceODE:
    r"""The variance ODE of docs/science.md §A6 from the McKean--Vlasov generator.

    One neuron of the depth-first limit follows :math:`d\bar X_t=\sqrt{m_t}\,d\beta_t` with
    :math:`m_t=\mathbb E\phi(\bar X_t)^2` deterministic, so :math:`\bar X_t` is Gaussian (a Brownian
    motion run with a deterministic clock, from a Gaussian start), :math:`\bar X_t\sim\mathcal N(0,q_t)`.
    Itô's formula for :math:`\bar x^2` gives the drift :math:`m`, hence

    .. math::
        \dot q_t=\mathbb E_Z\big[\phi(\sqrt{q_t}Z)^2\big],\qquad q(0)=q_0,

    with the Gaussian expectation done by :func:`gaussian_expectation`. Linear: :math:`q_t=q_0e^t`;
    ReLU: :math:`q_t=q_0e^{t/2}`; tanh, GELU: no closed form (the Integral is returned).

    Parameters
    ----------
    activation : str or Activation, default "relu"

    Returns
    -------
    VarianceODE

    Notes
    -----
    Verifies docs/science.md §A6 [seed; formulas derived].

    Examples
    --------
    >>> from stochdepth.symbolic import derive_variance_ode
    >>> derive_variance_ode("relu").solution
    q_0*exp(t/2)
    """
    act = sympy_activation(activation)
    q, t, q0 = SYMBOLS["q"], SYMBOLS["t"], SYMBOLS["q0"]
    xb = sp.Symbol("xbar", real=True)
    m = sp.Symbol("m", nonnegative=True)
    mv = SymbolicSDE([xb], [0], [[sp.sqrt(m)]], params=[m], name="McKean-Vlasov neuron")
    step = ito(mv, xb**2)
    z = sp.Symbol("z", real=True)
    m2, closed = gaussian_expectation(act.sympy(sp.sqrt(q) * z) ** 2, z)
    rhs = step.drift.subs(m, m2)
    rhs = sp.simplify(rhs) if closed else rhs
    solution = None
    if closed:
        qf = sp.Function("q")
        ode = sp.Eq(qf(t).diff(t), rhs.subs(q, qf(t)))
        try:
            sol = sp.dsolve(ode, qf(t), ics={qf(0): q0})
        except (NotImplementedError, ValueError):  # pragma: no cover - sympy could not solve
            sol = None
        if isinstance(sol, sp.Eq):
            solution = sp.simplify(sol.rhs)
    return VarianceODE(
        act.name, q, t, q0, rhs, closed, solution, step, "docs/science.md §A6 [seed; formulas derived]"
    )


# ----------------------------------------------------------------------------------------------------
# The kernel ODE of two inputs
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class KernelODE(Result):
    r"""The covariance (kernel) ODE of two inputs in the sequential limit and its correlation ODE.

    Attributes
    ----------
    activation : str
    q_aa, q_bb : sympy.Symbol
        Variances of the two inputs' neurons.
    c : sympy.Symbol
        Their correlation, :math:`q_{ab}=c\sqrt{q_{aa}q_{bb}}`.
    kernel : sympy.Expr
        :math:`K=\mathbb E[\phi(U)\phi(V)]` as a function of ``q_aa, q_bb, c`` (a Piecewise in the sign of
        :math:`c`, or an unevaluated Integral).
    closed_form : bool
    rhs : tuple of sympy.Expr
        :math:`(\dot q_{aa},\dot q_{bb},\dot q_{ab})`.
    correlation_rhs : sympy.Expr
        :math:`\dot c=K/\sqrt{q_{aa}q_{bb}}-\frac c2(\dot q_{aa}/q_{aa}+\dot q_{bb}/q_{bb})`.
    generator_step : ItoResult
        Itô's formula for :math:`\bar x_a\bar x_b` under the two-input McKean--Vlasov diffusion.
    claim : str
    """

    activation: str
    q_aa: sp.Symbol
    q_bb: sp.Symbol
    c: sp.Symbol
    kernel: sp.Expr
    closed_form: bool
    rhs: tuple[sp.Expr, sp.Expr, sp.Expr]
    correlation_rhs: sp.Expr
    generator_step: ItoResult
    claim: str

    def __repr__(self) -> str:
        return (
            f"KernelODE(activation={self.activation!r}, dc/dt = {short(self.correlation_rhs)}, "
            f"claim={self.claim!r})"
        )


def _bivariate_kinked(act: Activation, qa: sp.Symbol, qb: sp.Symbol, sign: int) -> sp.Expr | None:
    r""":math:`\mathbb E\phi(\sqrt{q_a}Z_1)\phi(\sqrt{q_b}(cZ_1+sZ_2))`, :math:`s=\sqrt{1-c^2}`, for a
    piecewise-polynomial :math:`\phi` with its kink at 0, on :math:`c>0` (``sign=1``), :math:`c<0`
    (``sign=-1``) or :math:`c=0` (``sign=0``), as a function of the symbol ``c`` (None if :math:`\phi` is not
    of that kind).

    Sympy integrates reliably when the signs are known, so the integrals are taken with a positive symbol
    :math:`m=|c|` and a positive symbol :math:`s`, and :math:`s=\sqrt{1-c^2}` is substituted at the end.
    """
    u = sp.Symbol("u", real=True)
    phi_pos, phi_neg, w = _one_sided(act.sympy(u), u)
    if not (phi_pos.is_polynomial(w) and phi_neg.is_polynomial(w)):
        return None
    m = sp.Symbol("m", positive=True)
    s = sp.Symbol("s", positive=True)
    c_val = sign * m if sign != 0 else sp.S.Zero
    s_val = s if sign != 0 else sp.S.One
    z1 = sp.Dummy("z1", positive=True)
    z2 = sp.Symbol("z2", real=True)
    total: sp.Expr = sp.S.Zero
    for s1 in (1, -1):
        # U = sqrt(qa) * s1 * z1 with z1 > 0: phi(U) = phi_pos(sqrt(qa) z1) or phi_neg(sqrt(qa) z1)
        outer_poly = (phi_pos if s1 == 1 else phi_neg).subs(w, sp.sqrt(qa) * z1)
        if outer_poly == 0:
            continue
        edge = -c_val * s1 * z1 / s_val  # V > 0  <=>  z2 > edge
        for s2 in (1, -1):
            inner_phi = phi_pos if s2 == 1 else phi_neg
            if inner_phi == 0:
                continue
            # V = sqrt(qb) (c s1 z1 + s z2); phi(V) = phi_pos(V) on V > 0 and phi_neg(-V) on V < 0
            v_abs = s2 * sp.sqrt(qb) * (c_val * s1 * z1 + s_val * z2)
            integrand = sp.expand(inner_phi.subs(w, v_abs) * _phi(z2))
            inner = sp.integrate(integrand, (z2, edge, sp.oo) if s2 == 1 else (z2, -sp.oo, edge))
            total += sp.integrate(sp.expand(outer_poly * sp.expand(inner) * _phi(z1)), (z1, 0, sp.oo))
    c = sp.Symbol("c", real=True)
    total = sp.simplify(total)
    if total.has(sp.Integral):  # pragma: no cover - sympy could not integrate
        return None
    if sign == 0:
        return total
    total = total.subs(s, sp.sqrt(1 - m**2)).subs(m, sign * c)
    # inverse-trigonometric identities valid on the branch (0 < c < 1, resp. -1 < c < 0), to put the
    # branches in one form: atan(sqrt(1-c^2)/c) = acos(c) (- pi for c < 0), atan(c/sqrt(1-c^2)) = asin(c)
    # = pi/2 - acos(c)
    root = sp.sqrt(1 - c**2)
    total = total.subs(
        {
            sp.atan(root / c): sp.acos(c) - (sp.pi if sign < 0 else 0),
            sp.atan(c / root): sp.pi / 2 - sp.acos(c),
        }
    )
    return sp.simplify(total)


@functools.lru_cache(maxsize=32)
def derive_kernel_ode(activation: Any = "relu") -> KernelODE:
    r"""The kernel ODE of docs/science.md §A6 for two inputs, and the correlation ODE, from the generator.

    The two-input McKean--Vlasov diffusion :math:`d(\bar X^a,\bar X^b)=\Sigma_t^{1/2}d\beta_t` with
    :math:`\Sigma=\begin{pmatrix}\mathbb E\phi(\bar X^a)^2&\mathbb E\phi(\bar X^a)\phi(\bar X^b)\\
    \cdot&\mathbb E\phi(\bar X^b)^2\end{pmatrix}` (a Cholesky factor is used for :math:`\Sigma^{1/2}`)
    gives by Itô's formula for :math:`\bar x_a\bar x_b` the drift :math:`\Sigma_{ab}`, hence

    .. math::
        \dot q_{ab}=\mathbb E[\phi(U)\phi(V)],\quad (U,V)\sim\mathcal N\Big(0,\begin{pmatrix}q_{aa}&q_{ab}\\
        q_{ab}&q_{bb}\end{pmatrix}\Big),\qquad
        \dot c=\frac{\dot q_{ab}}{\sqrt{q_{aa}q_{bb}}}-\frac c2\Big(\frac{\dot q_{aa}}{q_{aa}}+
        \frac{\dot q_{bb}}{q_{bb}}\Big).

    The Gaussian expectation is computed by sympy for piecewise-polynomial activations with a kink at 0
    (linear, ReLU, leaky ReLU), writing :math:`U=\sqrt{q_{aa}}Z_1`,
    :math:`V=\sqrt{q_{bb}}(cZ_1+\sqrt{1-c^2}Z_2)` and integrating region by region, separately for
    :math:`c>0`, :math:`c<0` and :math:`c=0` (sympy integrates reliably only with known signs). The branches
    come out with :math:`\arctan(\sqrt{1-c^2}/c)` and :math:`\arctan(c/\sqrt{1-c^2})`, which the
    identities :math:`\arctan(\sqrt{1-c^2}/c)=\arccos c` (:math:`c>0`; :math:`\arccos c-\pi` for
    :math:`c<0`) and :math:`\arctan(c/\sqrt{1-c^2})=\frac\pi2-\arccos c` put in one form; when the three
    branches agree a single expression is returned. ReLU gives the arc-cosine kernel
    :math:`\frac12\sqrt{q_{aa}q_{bb}}\,f(c)`, :math:`f(c)=\frac1\pi(\sqrt{1-c^2}+c(\pi-\arccos c))`, and
    :math:`\dot c=\frac12(f(c)-c)`.

    Parameters
    ----------
    activation : str or Activation, default "relu"

    Returns
    -------
    KernelODE

    Notes
    -----
    Verifies docs/science.md §A6 [seed; formulas derived] (the arc-cosine kernel: Cho & Saul, NeurIPS 2009).
    Takes a few seconds for ReLU (sympy integration; cached per activation).
    """
    act = sympy_activation(activation)
    qa = sp.Symbol("q_aa", positive=True)
    qb = sp.Symbol("q_bb", positive=True)
    c = sp.Symbol("c", real=True)
    # generator step: d(x_a x_b) has drift Sigma_ab
    xa, xb = sp.symbols("xbar_a xbar_b", real=True)
    kaa, kbb = sp.symbols("k_aa k_bb", positive=True)
    kab = sp.Symbol("k_ab", real=True)
    chol = sp.Matrix([[sp.sqrt(kaa), 0], [kab / sp.sqrt(kaa), sp.sqrt(kbb - kab**2 / kaa)]])
    mv = SymbolicSDE([xa, xb], [0, 0], chol, params=[kaa, kbb, kab], name="two-input McKean-Vlasov")
    step = ito(mv, xa * xb)
    z = sp.Symbol("z", real=True)
    m2a, closed_a = gaussian_expectation(act.sympy(sp.sqrt(qa) * z) ** 2, z)
    m2b = m2a.subs(qa, qb)
    u = sp.Symbol("u", real=True)
    z1, z2 = sp.symbols("z_1 z_2", real=True)
    s = sp.sqrt(1 - c**2)
    closed = False
    if closed_a and act.sympy(u).is_polynomial(u):  # smooth polynomial: integrate over the plane
        integrand = sp.expand(act.sympy(sp.sqrt(qa) * z1) * act.sympy(sp.sqrt(qb) * (c * z1 + s * z2)))
        inner = sp.integrate(integrand * _phi(z2), (z2, -sp.oo, sp.oo))
        kernel = sp.simplify(sp.integrate(sp.expand(inner) * _phi(z1), (z1, -sp.oo, sp.oo)))
        closed = True
    elif closed_a:  # piecewise polynomial with a kink at 0: region by region, per sign of c
        k_pos = _bivariate_kinked(act, qa, qb, 1)
        k_neg = _bivariate_kinked(act, qa, qb, -1) if k_pos is not None else None
        k_zero = _bivariate_kinked(act, qa, qb, 0) if k_neg is not None else None
        if k_pos is not None and k_neg is not None and k_zero is not None:
            closed = True
            if sp.simplify(k_pos - k_neg) == 0 and sp.simplify(k_pos.subs(c, 0) - k_zero) == 0:
                kernel = k_pos  # one formula on the whole interval -1 < c < 1
            else:
                kernel = sp.Piecewise((k_pos, c > 0), (k_neg, c < 0), (k_zero, True))
    if not closed:
        kernel = sp.Integral(
            act.sympy(sp.sqrt(qa) * z1) * act.sympy(sp.sqrt(qb) * (c * z1 + s * z2)) * _phi(z1) * _phi(z2),
            (z1, -sp.oo, sp.oo),
            (z2, -sp.oo, sp.oo),
        )
    rhs = (
        ito(mv, xa**2).drift.subs(kaa, m2a),
        ito(mv, xb**2).drift.subs(kbb, m2b),
        step.drift.subs(kab, kernel),
    )
    if closed:
        corr = sp.simplify(kernel / sp.sqrt(qa * qb) - c / 2 * (rhs[0] / qa + rhs[1] / qb))
    else:
        corr = kernel / sp.sqrt(qa * qb) - c / 2 * (rhs[0] / qa + rhs[1] / qb)
    return KernelODE(
        act.name, qa, qb, c, kernel, closed, rhs, corr, step, "docs/science.md §A6 [seed; formulas derived]"
    )
