"""Strategies for obstacle problems with closed-form solutions (docs/science.md §B5, B6; the perpetual
put)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from hypothesis import strategies as hst

from ..._checks import check_int, check_real
from ..._results import Result
from ._common import check_optional_bool, check_subset

if TYPE_CHECKING:  # pragma: no cover
    from hypothesis.strategies import SearchStrategy


__all__ = ["ObstacleCase", "obstacle_problems_with_closed_forms"]


_OBSTACLE_KINDS = ("perpetual_put", "noiseless_contraction", "linear_resnet")


@dataclass(frozen=True, eq=False, repr=False)
class ObstacleCase(Result):
    r"""An obstacle problem for :func:`~stochdepth.freeboundary.solve_obstacle` and its exact solution.

    Attributes
    ----------
    kind : str
        ``"perpetual_put"`` (state :math:`x=\log S`), ``"noiseless_contraction"`` (state :math:`d\ge0`,
        docs/science.md §B5) or ``"linear_resnet"`` (state :math:`y=\log\|X\|`, docs/science.md §B6).
    problem : StationaryObstacleProblem or ObstacleProblem
        The problem on a grid of ``n_nodes`` nodes.
    closed_form : PerpetualPut, NoiselessContraction or LinearResNetDepth
        The library's closed form.
    boundary : float or None
        The free boundary in the problem's coordinate (``None``: stop everywhere).
    stopping_side : str
        ``"below"`` (stop for :math:`x\le` boundary), ``"above"`` or ``"everywhere"``.
    horizon : float or None
        Finite horizon :math:`T`, or ``None`` (stationary).
    n_nodes : int
        Grid size.
    comparison_interval : tuple of float
        Where the truncated problem has the closed form as its solution up to :math:`10^{-10}`: the
        whole domain when the edges are exact (perpetual put: the exact value at the truncated edge;
        B5: no condition needed at the edges), else the part of the domain farther than
        :math:`40\ell` from a stopping edge placed on the continuation side (B6: the edge's effect decays
        like :math:`e^{-\delta/\ell}`, :math:`\ell=s^2/(2|m|)`, the scale function of the drifted Brownian
        motion).
    parameters : dict
        The drawn parameters.
    """

    kind: str
    problem: Any
    closed_form: Any
    boundary: float | None
    stopping_side: str
    horizon: float | None
    n_nodes: int
    comparison_interval: tuple[float, float]
    parameters: dict[str, float] = field(default_factory=dict)

    def value(self, x: Any, t: float = 0.0) -> np.ndarray:
        r"""Exact value :math:`V(t,x)` in the problem's coordinate (``t`` only for finite horizons)."""
        xs = np.asarray(x, dtype=float)
        cf = self.closed_form
        if self.kind == "perpetual_put":
            return np.asarray(cf.value(np.exp(xs)), dtype=float)
        if self.kind == "noiseless_contraction" and self.horizon is not None:
            tt = check_real("t", t, lo=0.0, hi=self.horizon)
            return np.asarray(cf.value(xs, t1=self.horizon - tt), dtype=float)
        return np.asarray(cf.value(xs), dtype=float)

    def gain(self, x: Any) -> np.ndarray:
        """The gain :math:`g(x)` of the problem."""
        return np.asarray(self.problem.gain(np.asarray(x, dtype=float)), dtype=float)

    def refined(self, n_nodes: int) -> ObstacleCase:
        """The same case on a grid of ``n_nodes`` nodes (same domain and parameters)."""
        n = check_int("n_nodes", n_nodes, min=3)
        problem, _ = _obstacle_problem(self.kind, self.closed_form, self.horizon, self.parameters, n)
        return replace(self, problem=problem, n_nodes=n)


def _obstacle_problem(
    kind: str, cf: Any, horizon: float | None, params: dict[str, float], n: int
) -> tuple[Any, tuple[float, float]]:
    """The obstacle problem of a case on ``n`` nodes, and its comparison interval."""
    from ...depth import linear_resnet_depth_problem
    from ...freeboundary import Dirichlet, StationaryObstacleProblem, StretchedGrid

    if kind == "perpetual_put":
        K, r, vol, q = params["strike"], params["rate"], params["volatility"], params["dividend"]
        xb = math.log(cf.boundary)
        lo, hi = xb - 1.0, math.log(K) + 8.0 * vol
        grid = StretchedGrid(lo, hi, n, center=xb, scale=0.1)

        def gain(x: np.ndarray) -> np.ndarray:
            return np.maximum(K - np.exp(x), 0.0)

        def gain_derivative(x: np.ndarray) -> np.ndarray:
            return np.where(x < math.log(K), -np.exp(x), 0.0)

        # the exact value at the truncated (continuation) edge; the left edge lies in the stopping region
        edge = Dirichlet(lambda x: cf.value(np.exp(x)))
        problem = StationaryObstacleProblem(
            gain, r - q - 0.5 * vol * vol, vol, grid, rate=r, right=edge, gain_derivative=gain_derivative
        )
        return problem, (lo, hi)
    if kind == "noiseless_contraction":
        return cf.problem(params["upper"], t1=horizon, n_nodes=n), (0.0, params["upper"])
    width, target, cost = int(params["width"]), params["target"], params["cost"]
    if cf.boundary is None:  # width 2: stop everywhere, no edge effect
        problem = linear_resnet_depth_problem(width, target, cost, n_nodes=n)
        return problem, (float(problem.grid.lower), float(problem.grid.upper))
    ell = cf.volatility**2 / (2.0 * abs(cf.drift))
    reach = 2.0 + 40.0 * ell  # continuation-side edge: 40 decay lengths beyond the compared part
    edge = {"lower": cf.boundary - reach} if cf.stopping_side == "above" else {"upper": cf.boundary + reach}
    # the closed-form boundary in the middle of a grid cell at every size (never on a node, and at the
    # same place in its cell, so that the errors of two sizes compare as the spacing does)
    x = linear_resnet_depth_problem(width, target, cost, n_nodes=n, **edge).grid.nodes
    i = int(np.searchsorted(x, cf.boundary))
    half = 0.5 * float(x[i] - x[i - 1])
    problem = linear_resnet_depth_problem(width, target, cost, n_nodes=n, center=cf.boundary - half, **edge)
    if cf.stopping_side == "above":
        return problem, (cf.boundary - 2.0, float(problem.grid.upper))
    return problem, (float(problem.grid.lower), cf.boundary + 2.0)


def obstacle_problems_with_closed_forms(
    kinds: Sequence[str] = _OBSTACLE_KINDS,
    *,
    n_nodes: int = 401,
    stationary: bool | None = None,
    max_width: int = 64,
) -> SearchStrategy[ObstacleCase]:
    r"""1-D obstacle problems whose solution is known in closed form (:class:`ObstacleCase`).

    * ``"perpetual_put"``: :math:`V(S)=(K-S^\star)(S/S^\star)^\lambda` above
      :math:`S^\star=K\lambda/(\lambda-1)` (McKean 1965;
      :func:`~stochdepth.freeboundary.perpetual_american_put`),
      in log-price on :math:`[\log S^\star-1,\log K+8\sigma]` with the exact value at the right edge;
      :math:`K\in[50,150]`, :math:`r\in[0.01,0.1]`, :math:`\sigma\in[0.1,0.5]`, :math:`q\in[0,0.05]`;
    * ``"noiseless_contraction"``: docs/science.md §B5, :math:`\dot d=-\kappa d`, gain :math:`-d^2`, cost
      :math:`c`; stop iff :math:`d\le\sqrt{c/(2\kappa)}`
      (:func:`~stochdepth.depth.noiseless_contraction`), stationary or with a horizon
      :math:`T\in[0.1,2]`; :math:`\kappa\in[0.2,5]`, :math:`c\in[0.01,1]`, domain :math:`[0,u]` with
      :math:`u` between 3 and 20 boundaries;
    * ``"linear_resnet"``: docs/science.md §B6, the log-norm of a linear random ResNet of width
      :math:`n\le` ``max_width``, gain :math:`-(y-a)^2`, cost :math:`c`; boundary :math:`a-c/(2m)`
      (:func:`~stochdepth.depth.linear_resnet_optimal_depth`); :math:`a\in[-1,1]`,
      :math:`c\in[0.01,0.5]`.

    Parameters
    ----------
    kinds : sequence of str, optional
        Which problems to draw (default all three).
    n_nodes : int, optional
        Grid size (``>= 3``); :meth:`ObstacleCase.refined` gives the same case on another grid.
    stationary : bool or None, optional
        ``True``: stationary problems only; ``False``: finite-horizon only (the noiseless contraction);
        ``None``: both.
    max_width : int, optional
        Largest width of the B6 problem (``>= 1``).

    Returns
    -------
    hypothesis strategy of ObstacleCase

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(obstacle_problems_with_closed_forms(["linear_resnet"]))
    ... def check(case):
    ...     x = case.problem.grid.nodes
    ...     assert (case.value(x) >= case.gain(x) - 1e-12).all()      # V >= g
    >>> check()
    """
    kinds_t = check_subset("kinds", kinds, _OBSTACLE_KINDS)
    n = check_int("n_nodes", n_nodes, min=3)
    stationary = check_optional_bool("stationary", stationary)
    max_width = check_int("max_width", max_width, min=1)
    if stationary is False:
        if "noiseless_contraction" not in kinds_t:
            raise ValueError(
                "stationary=False needs 'noiseless_contraction' in kinds (the finite-horizon case)"
            )
        kinds_t = ("noiseless_contraction",)

    @hst.composite
    def draw_case(draw: Any) -> ObstacleCase:
        from ...depth import linear_resnet_optimal_depth, noiseless_contraction
        from ...freeboundary import perpetual_american_put

        kind = draw(hst.sampled_from(kinds_t))
        params: dict[str, float]
        horizon: float | None = None
        if kind == "perpetual_put":
            params = {
                "strike": draw(hst.floats(50.0, 150.0)),
                "rate": draw(hst.floats(0.01, 0.1)),
                "volatility": draw(hst.floats(0.1, 0.5)),
                "dividend": draw(hst.floats(0.0, 0.05)),
            }
            cf = perpetual_american_put(
                params["strike"], params["rate"], params["volatility"], dividend=params["dividend"]
            )
            boundary, side = math.log(cf.boundary), "below"
        elif kind == "noiseless_contraction":
            params = {"kappa": draw(hst.floats(0.2, 5.0)), "cost": draw(hst.floats(0.01, 1.0))}
            cf = noiseless_contraction(params["kappa"], params["cost"])
            params["upper"] = cf.boundary * draw(hst.floats(3.0, 20.0))
            if stationary is False or (stationary is None and draw(hst.booleans())):
                horizon = draw(hst.floats(0.1, 2.0))
                params["horizon"] = horizon
            boundary, side = cf.boundary, "below"
        else:
            params = {
                "width": draw(hst.integers(1, max_width)),
                "target": draw(hst.floats(-1.0, 1.0)),
                "cost": draw(hst.floats(0.01, 0.5)),
            }
            cf = linear_resnet_optimal_depth(int(params["width"]), params["target"], params["cost"])
            boundary, side = cf.boundary, cf.stopping_side
        problem, interval = _obstacle_problem(kind, cf, horizon, params, n)
        return ObstacleCase(kind, problem, cf, boundary, side, horizon, n, interval, params)

    return draw_case()
