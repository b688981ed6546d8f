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
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp
from scipy import stats as st

from stochdepth.random import as_seed_sequence

from .book import Verdict

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

#: Agreement threshold in standard errors (the book's convention, see :func:`theory.book.within`).
Z_MAX = 5.0
#: Smallest p-value of a goodness-of-fit test that still counts as agreement.
P_MIN = 1e-6


def stream(seed: int, *key: Any) -> np.random.SeedSequence:
    """An independent, reproducible seed sequence for the simulation labelled ``key`` of a check."""
    label = zlib.crc32(repr(key).encode())
    return as_seed_sequence([int(seed) % 2**32, label])


def params(level: str, quick: Mapping[str, Any], full: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of ``level`` (``full`` overrides ``quick`` key by key)."""
    out = dict(quick)
    if level == "full":
        out.update(full)
    return out


def plain(value: Any, digits: int = 6) -> Any:
    """A plain Python value for the evidence: floats rounded to ``digits`` significant digits, short
    lists, strings for sympy expressions."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v) or v == 0.0:
            return v
        return float(f"{v:.{digits}g}")
    if isinstance(value, sp.Basic):
        return str(value)
    if isinstance(value, np.ndarray):
        return [plain(v, digits) for v in value.ravel().tolist()]
    if isinstance(value, (list, tuple)):
        return [plain(v, digits) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v, digits) for k, v in value.items()}
    return value if isinstance(value, str) else str(value)


class Criteria:
    """Named pass/fail criteria of a check, with their evidence.

    ``add(name, ok, **numbers)`` records one criterion; its numbers go into the evidence under
    ``name.key`` (or ``name`` for a single ``value``). ``note(**numbers)`` records context (sample sizes,
    derived values) that is not a criterion. :meth:`verdict` passes iff at least one criterion was
    recorded and every criterion passed; the evidence lists the criteria's numbers first, then the notes,
    then ``criteria`` (their count) and ``failed`` (the names of the failed ones, moved to the front
    when not empty, so that a failure reads first in the book's table).
    """

    def __init__(self) -> None:
        self.evidence: dict[str, Any] = {}
        self.notes: dict[str, Any] = {}
        self.failed: list[str] = []
        self.n_criteria = 0

    def note(self, **numbers: Any) -> None:
        """Evidence that is not a criterion (context, derived values)."""
        for k, v in numbers.items():
            self.notes[k] = plain(v)

    def add(self, name: str, ok: bool, **numbers: Any) -> bool:
        """Record the criterion ``name`` (passed iff ``ok``) with its numbers; return ``ok``."""
        ok = bool(ok)
        self.n_criteria += 1
        for k, v in numbers.items():
            self.evidence[name if k == "value" else f"{name}.{k}"] = plain(v)
        if not ok:
            self.failed.append(name)
        return ok

    def verdict(self, method: str) -> Verdict:
        """The :class:`~theory.book.Verdict` of the recorded criteria."""
        evidence = {**self.evidence, **self.notes, "criteria": self.n_criteria, "failed": list(self.failed)}
        if self.failed:
            evidence = {"failed": evidence.pop("failed"), **evidence}
        return Verdict(not self.failed and self.n_criteria > 0, method, evidence)


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
