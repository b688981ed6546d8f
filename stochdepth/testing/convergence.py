r"""Convergence orders: the order of a discretisation error fitted on a refinement sequence.

A discretised solver agrees with a closed form when its error *vanishes at the predicted rate*, not when
it happens to be small at one resolution (a grid that contains the answer makes it zero by
construction). :func:`fitted_order` fits :math:`\log e_k=\log C+p\log h_k` by least squares on the errors
:math:`e_k>0` at steps :math:`h_k`, with the standard error of the slope from the residuals and a
Student-t interval; :meth:`ConvergenceOrder.agrees` accepts a predicted order :math:`p^\star` when

.. math::
    |\hat p-p^\star|\le \text{band}+t_{k-2}\,\mathrm{se}(\hat p)
    \quad\text{and}\quad \hat p-t_{k-2}\,\mathrm{se}(\hat p)>0,

i.e. the interval widened by ``band`` (pre-asymptotic curvature of the log-log line) contains the
prediction, and the decay is resolved. An error that does not vanish (a wrong limit, an offset) has a
fitted order near 0 and fails both.

For a method whose error depends on where the answer falls in its grid cell (a free boundary between
nodes), use for :math:`e_k` the worst error over several positions in the cell: the fitted order of that
envelope is the order of the method's error bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["RATE_BAND", "ConvergenceOrder", "fitted_order"]

#: Allowance for the curvature of the log-log line before the asymptotic regime (in units of order).
RATE_BAND: float = 0.25


@dataclass(frozen=True)
class ConvergenceOrder:
    """A fitted convergence order.

    Attributes
    ----------
    order : float
        Least-squares slope :math:`\\hat p` of log error against log step.
    stderr : float
        Its standard error (from the residuals; 0 with two points).
    interval : tuple of float
        :math:`\\hat p\\pm t\\,\\mathrm{se}` at the confidence level of :func:`fitted_order`.
    constant : float
        :math:`\\hat C` of :math:`e\\approx\\hat C h^{\\hat p}`.
    """

    order: float
    stderr: float
    interval: tuple[float, float]
    constant: float

    def agrees(self, predicted: float, band: float = RATE_BAND) -> bool:
        """Whether the fitted order matches ``predicted`` (see the module docstring)."""
        lo, hi = self.interval
        return lo - band <= predicted <= hi + band and lo > 0.0

    def describe(self) -> str:
        """``"order 1.02 (interval 0.95 to 1.09)"``."""
        return f"order {self.order:.3g} (interval {self.interval[0]:.3g} to {self.interval[1]:.3g})"


def fitted_order(steps: Any, errors: Any, *, level: float = 0.99) -> ConvergenceOrder:
    """Fit ``errors ~ C * steps**p`` on a refinement sequence (see the module docstring).

    Parameters
    ----------
    steps, errors : array_like
        At least 3 positive steps (grid spacings, time steps, 1/depth) and the positive errors against
        the exact answer.
    level : float, default 0.99
        Confidence level of the Student-t interval of the order.

    Returns
    -------
    ConvergenceOrder

    Examples
    --------
    >>> import numpy as np
    >>> h = 0.1 / 2.0 ** np.arange(5)
    >>> fit = fitted_order(h, 3.0 * h**2 * (1 + 0.05 * np.array([1, -1, 1, -1, 1])))
    >>> round(fit.order, 2), fit.agrees(2.0), fit.agrees(1.0)
    (2.0, True, False)
    """
    h = np.asarray(steps, dtype=float).ravel()
    e = np.asarray(errors, dtype=float).ravel()
    if h.size != e.size or h.size < 3:
        raise ValueError(f"steps and errors must have the same length >= 3, got {h.size} and {e.size}")
    if not (np.all(np.isfinite(h)) and np.all(h > 0)):
        raise ValueError("steps must be finite and positive")
    if not (np.all(np.isfinite(e)) and np.all(e > 0)):
        raise ValueError("errors must be finite and positive (an error of exactly 0 has no order)")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    fit = stats.linregress(np.log(h), np.log(e))
    t = float(stats.t.ppf(0.5 + level / 2.0, h.size - 2))
    se = float(fit.stderr)
    return ConvergenceOrder(
        float(fit.slope), se, (fit.slope - t * se, fit.slope + t * se), math.exp(float(fit.intercept))
    )
