r"""Shared machinery of the Part B claims (SCIENCE.md B1, B2, B5, B6): streams, criteria, convergence.

Every check of :mod:`theory.claims_b` and :mod:`theory.claims_b_continuous` collects *criteria* (named
pass/fail decisions with the numbers behind them) in a :class:`Criteria` object and turns them into a
:class:`theory.book.Verdict`. The conventions are the book's:

* Monte Carlo agreement within :data:`Z_MAX` = 5 standard errors (intervals are widened to 5 standard
  errors per side), so a correct claim passes for any seed;
* exact computations (Snell envelopes, brute force, path enumeration) agree to a rounding tolerance
  :data:`EXACT_TOL` relative to the magnitudes involved;
* a discretised solver "agrees" with a claimed limit when its discrepancy vanishes at the predicted rate
  (:func:`convergence`): the log-log slope of the discrepancy against the step lies within
  :data:`RATE_BAND` of the predicted order, *and* Richardson extrapolation removes most of it (the
  extrapolated discrepancy is at most :data:`RICHARDSON_SHARE` of the finest one). A wrong limit leaves a
  discrepancy that does not vanish: slope near 0 and nothing for the extrapolation to remove.

Randomness: a check receives one integer ``seed``; each of its random draws comes from
:func:`stream`\ ``(seed, *key)``, a :class:`numpy.random.SeedSequence` derived from the seed and a label,
so that computations cached under ``(level, seed)`` (``functools.lru_cache``) are shared between a claim's
check and the checks of its wrong variants, which only change the comparison.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as st

from ._common import Z_MAX, Criteria, params, plain, stream

__all__ = [
    "EXACT_TOL",
    "LEVEL_5SD",
    "RATE_BAND",
    "RICHARDSON_SHARE",
    "Z_MAX",
    "Criteria",
    "close",
    "convergence",
    "params",
    "plain",
    "stream",
]

#: Two-sided confidence level of a 5-standard-error interval, :math:`1-2\Phi(-5)`.
LEVEL_5SD = float(1.0 - 2.0 * st.norm.sf(Z_MAX))
#: Relative rounding tolerance of exact computations (sums of a few thousand terms of order 1).
EXACT_TOL = 1e-9
#: Largest distance between a measured convergence order and the predicted one.
RATE_BAND = 0.25
#: Largest share of the finest discrepancy that may survive Richardson extrapolation.
RICHARDSON_SHARE = 0.25


def close(a: float, b: float, tol: float = EXACT_TOL) -> bool:
    """``|a - b| <= tol * (1 + |a| + |b|)``: agreement of exact computations up to rounding."""
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= tol * (1.0 + abs(a) + abs(b))


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
