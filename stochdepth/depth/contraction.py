r"""docs/science.md §B5: the noiseless contraction, continuous depth and its discrete-depth analogue.

Without noise, a residual network that contracts towards a target :math:`y` at rate :math:`\kappa`
(distance :math:`d_t=d_0e^{-\kappa t}`), with gain :math:`-d^2` and cost :math:`c` per unit depth, is a
deterministic stopping problem solved in closed form:

* :func:`noiseless_contraction` -- stop iff :math:`|d|\le d^\star=\sqrt{c/(2\kappa)}`, value and optimal
  time in finite and infinite horizon, and the same problem as a first-order obstacle problem for
  :func:`~stochdepth.freeboundary.solve_obstacle` (:meth:`NoiselessContraction.problem`);
* :func:`contraction_stopping_depth` -- the optimal depth of the discrete analogue
  :math:`h_{l+1}=h_l-\alpha(h_l-y)` (one-step look-ahead is optimal: the problem is monotone, B2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_array, check_int, check_real, float_errors_as_numerical
from .._results import Result
from ..freeboundary import Natural, ObstacleProblem, StationaryObstacleProblem, UniformGrid

__all__ = ["NoiselessContraction", "contraction_stopping_depth", "noiseless_contraction"]


@dataclass(frozen=True, eq=False, repr=False)
class NoiselessContraction(Result):
    r"""docs/science.md §B5: stopping :math:`\dot d=-\kappa d` with gain :math:`-d^2` and cost rate :math:`c`.

    Attributes
    ----------
    kappa, cost : float
        :math:`\kappa>0` and :math:`c>0`.
    boundary : float
        :math:`d^\star=\sqrt{c/(2\kappa)}`: stop as soon as :math:`|d|\le d^\star`.
    """

    kappa: float
    cost: float
    boundary: float

    def stopping_time(self, d: Any, t1: float | None = None) -> np.ndarray | float:
        r"""Optimal time :math:`s^\star=\min\{T,\ \max(0,\ \ln(2\kappa d^2/c)/(2\kappa))\}`."""
        dd = check_array("d", d, ndim=None)
        with np.errstate(divide="ignore"):
            s = np.maximum(0.0, np.log(2 * self.kappa * dd**2 / self.cost) / (2 * self.kappa))
        if t1 is not None:
            s = np.minimum(s, check_real("t1", t1, lo=0.0))
        return float(s) if s.ndim == 0 else s

    def value(self, d: Any, t1: float | None = None) -> np.ndarray | float:
        r"""Value :math:`\max_{0\le s\le T}\{-d^2e^{-2\kappa s}-cs\}` (time to go :math:`T`, default
        :math:`\infty`).

        With :math:`T=\infty` and :math:`|d|>d^\star`:
        :math:`V(d)=-\frac{c}{2\kappa}\big(1+\ln\frac{2\kappa d^2}{c}\big)`.
        """
        dd = check_array("d", d, ndim=None)
        s = np.asarray(self.stopping_time(dd, t1))
        out = -(dd**2) * np.exp(-2 * self.kappa * s) - self.cost * s
        return float(out) if out.ndim == 0 else out

    def problem(
        self, upper: float, *, t1: float | None = None, n_nodes: int = 401
    ) -> ObstacleProblem | StationaryObstacleProblem:
        r"""The same problem for the PDE solver on :math:`d\in[0,\mathrm{upper}]` (uniform grid).

        Zero volatility: both edges are :class:`Natural` (the flow enters the domain at ``upper`` and
        stops at 0); upwinding is automatic.
        """
        hi = check_real("upper", upper, lo=0.0, lo_open=True)
        grid = UniformGrid(0.0, hi, check_int("n_nodes", n_nodes, min=3))
        k = self.kappa

        def gain(x: np.ndarray) -> np.ndarray:
            return -(x**2)

        def gain_derivative(x: np.ndarray) -> np.ndarray:
            return -2.0 * x

        if t1 is None:
            return StationaryObstacleProblem(
                gain,
                lambda x: -k * x,
                0.0,
                grid,
                cost=self.cost,
                left=Natural(),
                right=Natural(),
                gain_derivative=gain_derivative,
            )
        return ObstacleProblem(
            gain,
            lambda t, x: -k * x,
            0.0,
            t1,
            grid,
            cost=self.cost,
            left=Natural(),
            right=Natural(),
            gain_derivative=gain_derivative,
        )


@float_errors_as_numerical
def noiseless_contraction(kappa: float, cost: float) -> NoiselessContraction:
    r"""Closed form of docs/science.md §B5 (noiseless continuous depth).

    For :math:`d_t=d_0e^{-\kappa t}`, gain :math:`-d^2` and cost :math:`c`: stopping at time :math:`s`
    pays :math:`-d^2e^{-2\kappa s}-cs`, concave in :math:`s`, maximal at
    :math:`s^\star=\ln(2\kappa d^2/c)/(2\kappa)` when positive. Hence stop iff
    :math:`|d|\le d^\star=\sqrt{c/(2\kappa)}`, and in continuation
    :math:`V(d)=-\frac{c}{2\kappa}\big(1+\ln\frac{2\kappa d^2}{c}\big)`.

    Parameters
    ----------
    kappa : float
        Contraction rate :math:`\kappa>0`.
    cost : float
        Cost per unit depth :math:`c>0`.

    Notes
    -----
    Reference: docs/science.md §B5 [derived]; re-derived by smooth fit in
    :mod:`stochdepth.symbolic.smooth_fit`
    (variable :math:`u=\ln d`).

    Examples
    --------
    >>> from stochdepth.depth import noiseless_contraction
    >>> nc = noiseless_contraction(2.0, 0.1)
    >>> round(nc.boundary, 6), round(nc.value(1.0), 6)
    (0.158114, -0.117222)
    """
    k = check_real("kappa", kappa, lo=0.0, lo_open=True)
    c = check_real("cost", cost, lo=0.0, lo_open=True)
    return NoiselessContraction(k, c, math.sqrt(c / (2.0 * k)))


@float_errors_as_numerical
def contraction_stopping_depth(d0: float, alpha: float, cost: float) -> int:
    r"""Optimal depth of B5's discrete analogue :math:`h_{l+1}=h_l-\alpha(h_l-y)`, gain :math:`-|h-y|^2`.

    .. math::
        \tau^\star=\max\Big(0,\ \Big\lceil\frac{\ln\big(c/[(1-(1-\alpha)^2)\,d_0^2]\big)}{2\ln(1-\alpha)}
        \Big\rceil\Big),

    with :math:`d_0=|h_0-y|` and cost :math:`c` per layer: the one-step gain
    :math:`d_l^2-d_{l+1}^2=(1-(1-\alpha)^2)d_l^2` decreases, so the problem is monotone and the one-step
    look-ahead rule (stop when the gain of one more layer is at most :math:`c`) is optimal.

    Parameters
    ----------
    d0 : float
        Initial distance :math:`d_0\ge0`.
    alpha : float
        Step :math:`0<\alpha<1`.
    cost : float
        Cost per layer :math:`c>0`.

    Notes
    -----
    Reference: docs/science.md §B5 [derived] and B2 (one-step look-ahead in the monotone case, classical).

    Examples
    --------
    >>> from stochdepth.depth import contraction_stopping_depth
    >>> contraction_stopping_depth(1.0, 0.1, 0.01)
    14
    """
    d = check_real("d0", d0, lo=0.0)
    a = check_real("alpha", alpha, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    c = check_real("cost", cost, lo=0.0, lo_open=True)
    if d == 0.0:
        return 0
    ratio = math.log(c / ((1.0 - (1.0 - a) ** 2) * d * d)) / (2.0 * math.log(1.0 - a))
    return max(0, math.ceil(ratio))
