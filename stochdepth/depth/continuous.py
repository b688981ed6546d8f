r"""B6, continuous half: the optimal depth of an infinite-depth linear random ResNet in closed form.

For the linear network at width :math:`n`, the log-norm :math:`Y_t=\log\|X_t\|` is a Brownian motion with
drift :math:`m=\tfrac12-\tfrac1n` and volatility :math:`s=1/\sqrt n` (docs/science.md §A4). Stopping at depth
:math:`t` pays :math:`g(Y_t)=-(Y_t-a)^2` (reach a target log-norm :math:`a`) minus :math:`c\,t`.

* :func:`linear_resnet_optimal_depth` -- the closed form (smooth fit): for :math:`n\ge3` stop when
  :math:`Y\ge y^\star=a-c/(2m)`, :math:`V(y)=g(y^\star)-\frac cm(y^\star-y)` below; the optimal depth
  from :math:`y_0<y^\star` is inverse Gaussian with mean :math:`(y^\star-y_0)/m` and shape
  :math:`(y^\star-y_0)^2/s^2`. For :math:`n\le2` (:math:`m\le0`) stopping at once is optimal below the
  target (for :math:`n=1` the continuation region is :math:`\{y>a+c\}`, left downwards; for :math:`n=2`
  it is empty).
* :func:`linear_resnet_depth_problem` -- the same problem for the generic PDE solver
  :func:`~stochdepth.freeboundary.solve_obstacle` (finite or infinite horizon).

The Monte Carlo of the optimal depth is :func:`stochdepth.depth.simulate_stopping_depth`; the
discrete-depth counterpart (Snell envelope of the exact finite-:math:`L` walk) is
:func:`stochdepth.depth.log_norm_bridge`. The functions here return plain numbers and scipy distributions
so the cross-checks are one line each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .._checks import check_array, check_int, check_memory, check_real
from .._results import Result
from ..freeboundary import ObstacleProblem, StationaryObstacleProblem, StretchedGrid

__all__ = [
    "LinearResNetDepth",
    "linear_resnet_depth_problem",
    "linear_resnet_optimal_depth",
]

#: Smallest width of a grid's domain relative to the size of its coordinates (2**-30: its nodes are then
#: still thousands of float64 spacings apart).
_MIN_RELATIVE_WIDTH = 2.0**-30


def _coefficients(width: int) -> tuple[float, float]:
    return 0.5 - 1.0 / width, 1.0 / math.sqrt(width)


@dataclass(frozen=True, eq=False, repr=False)
class LinearResNetDepth(Result):
    r"""Closed-form solution of the B6 stopping problem at width :math:`n`.

    Attributes
    ----------
    width : int
        :math:`n`.
    target, cost : float
        :math:`a` and :math:`c`.
    drift, volatility : float
        :math:`m=\tfrac12-\tfrac1n` and :math:`s=1/\sqrt n`.
    boundary : float or None
        The free boundary: :math:`y^\star=a-c/(2m)` (:math:`n\ge3`), :math:`a+c` (:math:`n=1`), ``None``
        (:math:`n=2`: no continuation region).
    stopping_side : {"above", "below", "everywhere"}
        Stopping region :math:`\{y\ge y^\star\}`, :math:`\{y\le y^\star\}`, or the whole line.
    stop_at_once_below_target : bool
        :math:`n\le2`: from any :math:`y_0\le a` the optimal depth is 0 (the width threshold).
    """

    width: int
    target: float
    cost: float
    drift: float
    volatility: float
    boundary: float | None
    stopping_side: str
    stop_at_once_below_target: bool

    def gain(self, y: Any) -> np.ndarray | float:
        """:math:`g(y)=-(y-a)^2`."""
        yy = check_array("y", y, ndim=None)
        out = -((yy - self.target) ** 2)
        return float(out) if out.ndim == 0 else out

    def continuation(self, y: Any) -> np.ndarray | bool:
        """Whether continuing is optimal at ``y`` (strictly inside the continuation region)."""
        yy = check_array("y", y, ndim=None)
        if self.boundary is None:
            out = np.zeros(yy.shape, dtype=bool)
        elif self.stopping_side == "above":
            out = yy < self.boundary
        else:
            out = yy > self.boundary
        return bool(out) if out.ndim == 0 else out

    def value(self, y: Any) -> np.ndarray | float:
        r""":math:`V(y)`: :math:`g(y^\star)+\frac cm(y-y^\star)` in continuation, else :math:`g(y)`."""
        yy = check_array("y", y, ndim=None)
        g = -((yy - self.target) ** 2)
        if self.boundary is None:
            out = g
        else:
            b = self.boundary
            line = -((b - self.target) ** 2) + self.cost / self.drift * (yy - b)
            out = np.where(self.continuation(yy), line, g)
        return float(out) if out.ndim == 0 else out

    def derivative(self, y: Any) -> np.ndarray | float:
        """:math:`V'(y)` (continuous at the boundary: smooth fit)."""
        yy = check_array("y", y, ndim=None)
        dg = -2.0 * (yy - self.target)
        out = dg if self.boundary is None else np.where(self.continuation(yy), self.cost / self.drift, dg)
        return float(out) if np.ndim(out) == 0 else out

    def expected_depth(self, y0: float) -> float:
        r""":math:`\mathbb E\tau^\star=|y^\star-y_0|/|m|` in continuation, 0 in the stopping region."""
        y = check_real("y0", y0)
        if not self.continuation(y):
            return 0.0
        assert self.boundary is not None
        return abs(self.boundary - y) / abs(self.drift)

    def depth_law(self, y0: float) -> Any:
        r"""Law of the optimal depth from :math:`y_0` as a frozen scipy distribution.

        In continuation: inverse Gaussian with mean :math:`\mu=\delta/|m|` and shape
        :math:`\lambda=\delta^2/s^2` (:math:`\delta=|y^\star-y_0|`), i.e.
        ``scipy.stats.invgauss(mu / lam, scale=lam)`` (scipy's ``invgauss(mu)`` has mean ``mu`` and shape 1,
        and ``scale`` multiplies both). In the stopping region: the point mass at 0.

        Reference: first passage of a drifted Brownian motion (Schrödinger 1915; Karatzas & Shreve 1991,
        eq. 3.5.12).
        """
        y = check_real("y0", y0)
        if not self.continuation(y):
            return stats.rv_discrete(name="immediate_stop", values=([0], [1.0]))
        assert self.boundary is not None
        delta = abs(self.boundary - y)
        mean = delta / abs(self.drift)
        shape = delta**2 / self.volatility**2
        return stats.invgauss(mean / shape, scale=shape)


def linear_resnet_optimal_depth(width: int, target: float, cost: float) -> LinearResNetDepth:
    r"""Closed-form optimal depth of docs/science.md §B6 (log-norm of a linear random ResNet).

    .. math::
        dY_t=m\,dt+s\,dW_t,\quad m=\tfrac12-\tfrac1n,\ s=\tfrac1{\sqrt n},\qquad
        V(y)=\sup_\tau\mathbb E_y\big[-(Y_\tau-a)^2-c\,\tau\big].

    Smooth fit on the tangent of the concave gain: :math:`V'=c/m=g'(y^\star)` gives
    :math:`y^\star=a-c/(2m)`. The variational inequalities hold: the generator applied to the gain is
    :math:`-s^2-2m(y-a)-c`, :math:`\le -s^2<0` on the stopping side, and the tangent lies above the gain.

    Parameters
    ----------
    width : int
        :math:`n\ge1`.
    target : float
        :math:`a`, target log-norm.
    cost : float
        :math:`c>0`, cost per unit depth-time.

    Returns
    -------
    LinearResNetDepth

    Notes
    -----
    Reference: docs/science.md §B6 [derived]; re-derived symbolically by
    :func:`stochdepth.symbolic.smooth_fit.solve_smooth_fit` and numerically by
    :func:`~stochdepth.freeboundary.solve_obstacle` in the tests.

    Examples
    --------
    >>> from stochdepth.depth import linear_resnet_optimal_depth
    >>> sol = linear_resnet_optimal_depth(8, 0.0, 0.1)
    >>> law = sol.depth_law(-1.0)
    >>> round(sol.boundary, 4), round(sol.expected_depth(-1.0), 4), round(float(law.mean()), 4)
    (-0.1333, 2.3111, 2.3111)
    >>> linear_resnet_optimal_depth(2, 0.0, 0.1).stop_at_once_below_target
    True
    """
    n = check_int("width", width, min=1)
    a = check_real("target", target)
    c = check_real("cost", cost, lo=0.0, lo_open=True)
    m, s = _coefficients(n)
    if n >= 3:
        return LinearResNetDepth(n, a, c, m, s, a - c / (2.0 * m), "above", False)
    if n == 1:
        return LinearResNetDepth(n, a, c, m, s, a - c / (2.0 * m), "below", True)
    return LinearResNetDepth(n, a, c, m, s, None, "everywhere", True)


def linear_resnet_depth_problem(
    width: int,
    target: float,
    cost: float,
    *,
    t1: float | None = None,
    lower: float | None = None,
    upper: float | None = None,
    n_nodes: int = 801,
    center: float | None = None,
) -> ObstacleProblem | StationaryObstacleProblem:
    r"""The B6 stopping problem as an obstacle problem for :func:`~stochdepth.freeboundary.solve_obstacle`.

    Parameters
    ----------
    width : int
        :math:`n\ge1`.
    target, cost : float
        :math:`a` and :math:`c>0`.
    t1 : float, optional
        Depth-time horizon :math:`T` (``1`` is the whole network of docs/science.md §A1); ``None``: unbounded
        depth (stationary problem).
    lower, upper : float, optional
        Domain; the defaults put the edges (Dirichlet: stop there) about 30 decay lengths
        :math:`s^2/(2|m|)` beyond the boundary on the continuation side (truncation error
        :math:`\approx e^{-30}`) and, for finite horizons, also beyond :math:`6s\sqrt T+|m|T`.
    n_nodes : int, default 801
        Nodes of the grid, sinh-stretched around the target :math:`a` (a datum of the problem). The grid
        is deliberately not built around the closed-form boundary, which then falls between nodes: the
        solver's boundary error is its discretisation error (first order in the spacing near the
        boundary), which the tests measure as a convergence rate.
    center : float, optional
        Where the grid is refined (a node sits there); default the target :math:`a`. Moving it by a
        fraction of the local spacing moves the closed-form boundary across a grid cell, which is how
        the convergence tests sample the worst position of the boundary in its cell.

    Returns
    -------
    StationaryObstacleProblem or ObstacleProblem

    Raises
    ------
    ValueError
        When the default domain is too narrow for float64 at the size of its coordinates (a target
        beyond about :math:`10^9`), naming ``target``.

    Examples
    --------
    >>> from stochdepth.depth import linear_resnet_depth_problem
    >>> from stochdepth.freeboundary import solve_obstacle
    >>> sol = solve_obstacle(linear_resnet_depth_problem(8, 0.0, 0.1))
    >>> round(sol.free_boundary.location, 2)
    -0.13
    """
    cf = linear_resnet_optimal_depth(width, target, cost)
    m, s = cf.drift, cf.volatility
    n = check_int("n_nodes", n_nodes, min=3)
    check_memory("n_nodes", n, 8 * 16, "a solver's arrays on the grid")
    spread = 0.0 if t1 is None else 6.0 * s * math.sqrt(check_real("t1", t1, lo=0.0, lo_open=True))
    spread += 0.0 if t1 is None else abs(m) * t1
    ell = s * s / (2.0 * abs(m)) if m != 0 else 1.0
    a = cf.target
    if cf.stopping_side == "above":
        assert cf.boundary is not None
        lo_d, hi_d = cf.boundary - max(30.0 * ell, spread + 1.0, 4.0), a + 1.0 + spread
    elif cf.stopping_side == "below":
        assert cf.boundary is not None
        lo_d, hi_d = a - 1.0 - spread, cf.boundary + max(30.0 * ell, spread + 1.0, 4.0)
    else:
        lo_d, hi_d = a - 3.0 - spread, a + 3.0 + spread
    if lower is None and upper is None and not hi_d - lo_d > _MIN_RELATIVE_WIDTH * max(abs(lo_d), abs(hi_d)):
        raise ValueError(
            f"target={a:g} is too far from 0 for a float64 grid: the domain around it, "
            f"[{lo_d:.6g}, {hi_d:.6g}], is {hi_d - lo_d:.3g} wide, below {_MIN_RELATIVE_WIDTH:.2g} of its "
            f"coordinates: too narrow for float64 to space {n} nodes; the problem is the same with the "
            "target and the log-norm shifted by a common constant: shift them near 0"
        )
    lo_d = lo_d if lower is None else check_real("lower", lower)
    hi_d = hi_d if upper is None else check_real("upper", upper)
    if not hi_d > lo_d:
        raise ValueError(f"upper must be > lower, got lower={lo_d!r}, upper={hi_d!r}")
    # refined around the target (a datum of the problem), not around the closed-form boundary: a grid
    # with the answer on a node would make the solver's boundary exact by construction
    centre = a if center is None else check_real("center", center, lo=lo_d, hi=hi_d)
    centre = min(max(centre, lo_d), hi_d)
    grid = StretchedGrid(lo_d, hi_d, n, center=centre, scale=max(0.05, min(1.0, ell)))

    def gain(y: np.ndarray) -> np.ndarray:
        return -((y - a) ** 2)

    def gain_derivative(y: np.ndarray) -> np.ndarray:
        return -2.0 * (y - a)

    if t1 is None:
        return StationaryObstacleProblem(gain, m, s, grid, cost=cf.cost, gain_derivative=gain_derivative)
    return ObstacleProblem(gain, m, s, t1, grid, cost=cf.cost, gain_derivative=gain_derivative)
