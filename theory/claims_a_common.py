r"""Shared machinery of the Part A claims (SCIENCE.md A1--A6): streams, statistics, evidence.

Every check of :mod:`theory.claims_a` collects *criteria* (named pass/fail decisions with the numbers
behind them) in a :class:`Criteria` object and turns them into a :class:`theory.book.Verdict`. The
statistical criteria follow one convention, the book's: Monte Carlo agreement within 5 standard errors
(``|z| <= 5``), goodness-of-fit p-values above :data:`P_MIN` = 1e-6, and "significant" meaning
``|z| >= 5``; so a correct claim passes for any seed and a wrong one fails for any seed once the
sample is large enough to resolve it.

Randomness: a check receives one integer ``seed``; each of its simulations draws from
:func:`stream`\ ``(seed, *key)``, a :class:`numpy.random.SeedSequence` derived from the seed and a label,
so that simulations are independent of each other and reproducible, and so that a simulation cached
under ``(level, seed, key)`` (``functools.lru_cache``) is shared between a claim's check and the checks
of its wrong variants (which only change the comparison, not the simulation).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp
from scipy import stats as st

from ._common import P_MIN, Z_MAX, Criteria, params, plain, stream

__all__ = [
    "P_MIN",
    "Z_MAX",
    "Criteria",
    "gaussian_expectation",
    "log_slope",
    "mean_se",
    "params",
    "plain",
    "stream",
    "sympy_equal_on_grid",
    "wls",
]

# ----------------------------------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------------------------------


def mean_se(x: Any) -> tuple[float, float]:
    """Sample mean and its standard error."""
    a = np.asarray(x, dtype=float).ravel()
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(a.size))


def wls(x: Any, y: Any, se: Any, basis: Sequence[Callable[[np.ndarray], np.ndarray]]) -> dict[str, Any]:
    r"""Weighted least squares :math:`y\approx\sum_j\beta_jf_j(x)` with independent errors ``se``.

    Returns the coefficients, their covariance, the chi-square, its degrees of freedom and p-value
    (``p = 1`` when there are no degrees of freedom).
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    w = 1.0 / np.asarray(se, dtype=float)
    A = np.column_stack([f(xa) for f in basis])
    Aw, yw = A * w[:, None], ya * w
    beta, *_ = np.linalg.lstsq(Aw, yw, rcond=None)
    cov = np.linalg.inv(Aw.T @ Aw)
    resid = yw - Aw @ beta
    chi2 = float(resid @ resid)
    dof = int(ya.size - len(basis))
    p = float(st.chi2.sf(chi2, dof)) if dof > 0 else 1.0
    return {"beta": beta, "cov": cov, "chi2": chi2, "dof": dof, "p": p}


def log_slope(x: Any, y: Any, se: Any) -> tuple[float, float]:
    r"""Slope of :math:`\log y` against :math:`\log x` (weighted, delta method
    :math:`\mathrm{se}(\log y)=\mathrm{se}(y)/y`) and its standard error. ``y`` must be positive."""
    ya = np.asarray(y, dtype=float)
    fit = wls(
        np.log(np.asarray(x, dtype=float)),
        np.log(ya),
        np.asarray(se, dtype=float) / ya,
        [np.ones_like, lambda u: u],
    )
    return float(fit["beta"][1]), float(math.sqrt(fit["cov"][1, 1]))


def sympy_equal_on_grid(
    expr: sp.Expr,
    symbols: Sequence[sp.Symbol],
    claimed: Callable[..., float],
    grid: Sequence[Sequence[float]],
    *,
    rtol: float = 1e-10,
) -> tuple[bool, float]:
    """Compare a derived sympy expression with a claimed numeric formula on a grid of points.

    Returns whether they agree to ``rtol`` (relative, with an absolute floor of ``rtol``) at every point,
    and the largest discrepancy. A claimed formula given as a Python callable is compared point by point,
    so claims (and their wrong variants) need not be sympy expressions.
    """
    f = sp.lambdify(list(symbols), expr, modules=["mpmath", "math"])
    worst = 0.0
    for point in grid:
        derived = float(f(*point))
        value = float(claimed(*point))
        worst = max(worst, abs(derived - value) / max(1.0, abs(derived)))
    return worst <= rtol, worst


def gaussian_expectation(expr: Any, w: sp.Symbol, var: Any) -> sp.Expr:
    r""":math:`\mathbb E\,h(W)` for :math:`W\sim\mathcal N(0,\sigma^2)`, :math:`h` a sum of terms
    :math:`c\,W^ke^{aW}` (exactly, by the moment generating function).

    .. math::
        \mathbb E\big[W^ke^{aW}\big]=\frac{d^k}{da^k}\,e^{a^2\sigma^2/2}.

    A small exact rule used by the symbolic parts of the checks (``sympy.stats`` is correct but takes
    seconds per expectation).

    Raises
    ------
    ValueError
        If a term is not of that form.
    """
    a = sp.Dummy("a")
    var = sp.sympify(var)
    total = sp.S.Zero
    for term in sp.Add.make_args(sp.expand(sp.powsimp(sp.expand(expr), combine="exp"))):
        coeff, dep = term.as_independent(w, as_Add=False)
        k, lin = 0, sp.S.Zero
        for f in sp.Mul.make_args(dep):
            if f == w:
                k += 1
            elif f.is_Pow and f.base == w and f.exp.is_Integer and f.exp > 0:
                k += int(f.exp)
            elif isinstance(f, sp.exp) or (f.is_Pow and isinstance(f.base, sp.exp)):
                arg = sp.expand(f.args[0] if isinstance(f, sp.exp) else f.base.args[0] * f.exp)
                c1 = arg.coeff(w, 1)
                rest = sp.expand(arg - c1 * w)
                if rest.has(w):
                    raise ValueError(f"exponent not linear in {w}: {arg}")
                lin += c1
                coeff *= sp.exp(rest)
            elif f != 1:
                raise ValueError(f"cannot take the Gaussian expectation of the factor {f}")
        total += coeff * sp.diff(sp.exp(a**2 * var / 2), a, k).subs(a, lin)
    return sp.simplify(total)
