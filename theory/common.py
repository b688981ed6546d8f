r"""What every section of the theorem book shares: streams, level parameters, criteria, small statistics.

Every check collects *criteria* (named pass/fail decisions with the numbers behind them) in a
:class:`Criteria` object and turns them into a :class:`theory.book.Verdict`. The thresholds are the
project's tolerance policy (:mod:`stochdepth.testing.tolerance`), so a correct claim passes for any seed
and a wrong one fails for any seed once the sample resolves it:

* Monte Carlo agreement within :data:`Z_MAX` = 5 standard errors (intervals widened to 5 standard errors
  per side), and "significant" meaning ``|z| >= 5``;
* goodness of fit and two-sample tests reject only at p < :data:`ALPHA` = 1e-6;
* exact computations (Snell envelopes, brute force, path enumeration) agree to a rounding tolerance
  :data:`EXACT_TOL` relative to the magnitudes involved (:func:`close`, :func:`at_most`);
* a discretised solver "agrees" with a claimed limit when its discrepancy vanishes at the predicted rate
  (:func:`convergence`): the log-log slope of the discrepancy against the step lies within
  :data:`RATE_BAND` of the predicted order, *and* Richardson extrapolation removes most of it (the
  extrapolated discrepancy is at most :data:`RICHARDSON_SHARE` of the finest one). A wrong limit leaves a
  discrepancy that does not vanish: slope near 0 and nothing for the extrapolation to remove.

Randomness: a check receives one integer ``seed``; each of its random draws comes from
:func:`stream`\ ``(seed, *key)``, a :class:`numpy.random.SeedSequence` derived from the seed and a label,
so that draws are independent and reproducible, and a computation cached under ``(level, seed, key)``
(``functools.lru_cache``) is shared between a claim's check and the checks of its wrong variants, which
only change the comparison.
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
from stochdepth.testing.tolerance import ALPHA, Z_MAX

from .book import Verdict

__all__ = [
    "ALPHA",
    "EXACT_TOL",
    "LEVEL_5SD",
    "RATE_BAND",
    "RICHARDSON_SHARE",
    "TIE",
    "Z_MAX",
    "Criteria",
    "at_most",
    "close",
    "convergence",
    "gaussian_expectation",
    "log_slope",
    "mean_se",
    "params",
    "plain",
    "stream",
    "sympy_equal_on_grid",
    "wls",
]

#: Two-sided confidence level of a 5-standard-error interval, :math:`1-2\Phi(-5)`.
LEVEL_5SD = float(1.0 - 2.0 * st.norm.sf(Z_MAX))
#: Relative rounding tolerance of exact computations (sums of a few thousand terms of order 1).
EXACT_TOL = 1e-9
#: Relative tolerance for ties of the recursions written in the book (the library uses 1e-11).
TIE = 1e-10
#: Largest distance between a measured convergence order and the predicted one.
RATE_BAND = 0.25
#: Largest share of the finest discrepancy that may survive Richardson extrapolation.
RICHARDSON_SHARE = 0.25


# ----------------------------------------------------------------------------------------------------
# Streams, levels, evidence
# ----------------------------------------------------------------------------------------------------


def stream(seed: int, *key: Any) -> np.random.SeedSequence:
    """An independent, reproducible seed sequence for the computation labelled ``key`` of a check."""
    label = zlib.crc32(repr(key).encode())
    return as_seed_sequence([int(seed) % 2**32, label])


def network_samples(
    x: Any,
    width: int,
    depth: int,
    activation: str,
    m: int,
    observable: Any,
    rng: np.random.SeedSequence,
    *,
    sampler: str = "exact",
    **options: Any,
) -> np.ndarray:
    """The samples of one observable over ``m`` random networks (``stochdepth.networks.sample_network``).

    ``sampler="explicit"`` multiplies explicit weight matrices, anything else uses the library's default
    (exact-in-law) sampler; ``options`` (``record``, ``t1``) go to ``sample_network`` unchanged.
    """
    from stochdepth.networks import ExplicitWeights, sample_network

    res = sample_network(
        x,
        width,
        depth,
        activation,
        n_paths=m,
        observe=[observable],
        sampler=ExplicitWeights() if sampler == "explicit" else None,
        rng=rng,
        **options,
    )
    return res[observable.name].samples


def output_neuron(
    x: Any, width: int, depth: int, activation: str, m: int, rng: np.random.SeedSequence
) -> np.ndarray:
    """The first coordinate of the output ``X_depth`` of ``m`` random networks of the library's sampler."""
    from stochdepth.networks import neuron

    return network_samples(x, width, depth, activation, m, neuron(0), rng, record=[depth])[:, 0, 0]


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
    ``name.key`` (or ``name`` for a single ``value``). ``headline(**numbers)`` records the few numbers
    that summarise the check (shown first, so the one-line summary of ``python -m theory`` shows them);
    ``note(**numbers)`` records context (sample sizes, derived values, measured tightness) that is not a
    criterion. ``add(name, ok, consistency=True, ...)`` records a *consistency check*: a criterion that
    holds by construction (the library's result against the same formula typed again, a property the
    code enforces, a solver's residual, a policy against the envelope of the same chain). It must pass
    like any criterion, but it is not evidence for the claim: it is counted apart.

    :meth:`verdict` passes iff at least one criterion was recorded and every criterion passed; the
    evidence lists ``failed`` first when a criterion failed, then the headline, the criteria's numbers,
    the notes, ``criteria`` (the number of evidence criteria) and ``consistency`` (the names of the
    consistency checks); the verdict carries them as :attr:`~theory.book.Verdict.n_evidence` and
    :attr:`~theory.book.Verdict.consistency`.
    """

    def __init__(self) -> None:
        self.head: dict[str, Any] = {}
        self.evidence: dict[str, Any] = {}
        self.notes: dict[str, Any] = {}
        self.failed: list[str] = []
        self.n_criteria = 0
        self.consistency: dict[str, bool] = {}

    def headline(self, **numbers: Any) -> None:
        """The few numbers that summarise the check (shown first)."""
        for k, v in numbers.items():
            self.head[k] = plain(v, 4)

    def note(self, **numbers: Any) -> None:
        """Evidence that is not a criterion (context, derived values)."""
        for k, v in numbers.items():
            self.notes[k] = plain(v)

    def add(self, name: str, ok: bool, *, consistency: bool = False, **numbers: Any) -> bool:
        """Record the criterion ``name`` (passed iff ``ok``) with its numbers; return ``ok``.

        ``consistency=True``: a check that holds by construction, recorded apart (not evidence)."""
        ok = bool(ok)
        if consistency:
            self.consistency[name] = ok
        else:
            self.n_criteria += 1
        for k, v in numbers.items():
            self.evidence[name if k == "value" else f"{name}.{k}"] = plain(v)
        if not ok:
            self.failed.append(name)
        return ok

    def verdict(self, method: str) -> Verdict:
        """The :class:`~theory.book.Verdict` of the recorded criteria."""
        evidence = {
            **({"failed": list(self.failed)} if self.failed else {}),
            **self.head,
            **self.evidence,
            **self.notes,
            "criteria": self.n_criteria,
            "consistency": list(self.consistency),
            "failed": list(self.failed),
        }
        passed = not self.failed and self.n_criteria + len(self.consistency) > 0
        return Verdict(
            passed, method, evidence, consistency=dict(self.consistency), n_evidence=self.n_criteria
        )


# ----------------------------------------------------------------------------------------------------
# Exact comparisons and convergence
# ----------------------------------------------------------------------------------------------------


def close(a: float, b: float, tol: float = EXACT_TOL) -> bool:
    """``|a - b| <= tol * (1 + |a| + |b|)``: agreement of exact computations up to rounding."""
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= tol * (1.0 + abs(a) + abs(b))


def at_most(a: float, b: float) -> bool:
    """``a <= b`` up to rounding."""
    return a <= b + EXACT_TOL * (1.0 + abs(a) + abs(b))


def convergence(
    crit: Criteria,
    name: str,
    steps: Sequence[float],
    approximations: Sequence[float],
    claimed: float,
    order: float,
    *,
    band: float = RATE_BAND,
    share: float = RICHARDSON_SHARE,
) -> bool:
    r"""Criterion: discretised ``approximations`` (at decreasing ``steps``) converge to ``claimed``.

    With :math:`e_k=|A_k-\text{claimed}|`, the least-squares slope of :math:`\log e_k` against
    :math:`\log h_k` must lie within ``band`` of ``order``, and the Richardson extrapolation of the two
    finest approximations for an error :math:`b\,h^{\text{order}}`,

    .. math::
        R=\frac{A_K-\rho A_{K-1}}{1-\rho},\qquad \rho=(h_K/h_{K-1})^{\text{order}},

    must satisfy :math:`|R-\text{claimed}|\le` ``share`` :math:`\cdot e_K`: the discrepancy is the
    discretisation error of the predicted form, not an offset. Both numbers go into the evidence.
    """
    h = np.asarray(steps, dtype=float)
    a = np.asarray(approximations, dtype=float)
    err = np.abs(a - claimed)
    if not np.all(np.isfinite(a)) or np.any(err == 0):
        ok = bool(np.all(np.isfinite(a)) and np.all(err == 0))
        crit.add(name, ok, approximations=a, claimed=claimed, errors=err)
        return ok
    slope = float(np.polyfit(np.log(h), np.log(err), 1)[0])
    rho = (h[-1] / h[-2]) ** order
    rich = (a[-1] - rho * a[-2]) / (1.0 - rho)
    ok = abs(slope - order) <= band and abs(rich - claimed) <= share * err[-1]
    crit.add(
        name,
        ok,
        steps=h,
        errors=err,
        order=slope,
        predicted_order=order,
        richardson=rich,
        richardson_error=abs(rich - claimed),
    )
    return ok


# ----------------------------------------------------------------------------------------------------
# Statistics and symbolic helpers
# ----------------------------------------------------------------------------------------------------


def mean_se(x: Any) -> tuple[float, float]:
    """Sample mean and its standard error."""
    a = np.asarray(x, dtype=float).ravel()
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(a.size))


def root_mean_square(squares: Any) -> tuple[float, float]:
    """Root of the sample mean of ``squares`` and its standard error (delta method: se(mean) / (2 rms))."""
    ms, ms_se = mean_se(squares)
    return math.sqrt(ms), ms_se / (2 * math.sqrt(ms))


def half_order_decay(steps: Any, rms: Any, rms_se: Any) -> tuple[bool, float, float]:
    r"""Whether pathwise RMS errors vanish like :math:`N^{-1/2}` in the number of steps ``N``.

    Returns ``(ok, slope, se)``: the weighted log-log slope of ``rms`` against ``steps``
    (:func:`log_slope`) and its standard error; ``ok`` when the slope lies within :data:`Z_MAX` standard
    errors of -1/2 *and* is resolved as negative at :data:`Z_MAX` standard errors.
    """
    slope, se = log_slope(np.asarray(steps, dtype=float), np.array(rms), np.array(rms_se))
    return abs(slope + 0.5) <= Z_MAX * se and slope / se <= -Z_MAX, slope, se


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
