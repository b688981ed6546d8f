r"""Results of :func:`~stochdepth.freeboundary.solve_obstacle`: value surfaces, regions and free boundaries.

The discrete stopping set is :math:`\{x_i: V_i=g_i\}` (exact contact: every LCP solver of the package
projects onto the obstacle, so stopped nodes hold the gain to the last bit). A free boundary is a change
between a continuation node :math:`x_j` and a stopping node :math:`x_{j'}` (:math:`j'=j\pm1`); its sub-grid
location uses the quadratic contact of smooth fit, :math:`V-g\approx\tfrac12\kappa(x-x^\star)^2`, i.e.
extrapolates :math:`\sqrt{V-g}` linearly from the two nearest continuation nodes to zero, clipped to the
bracket :math:`[x_j,x_{j'}]`. The reported ``error`` is half the bracket width, the grid's resolution of
the discrete stopping set. Changes of region where :math:`V-g` is below :math:`10^{-14}(1+\max|g|)` on
both sides (values underflowing far from the action, e.g. deep out of the money just before the
horizon, where stopping and continuing are numerically indifferent) are not reported as boundaries.

Smooth fit (:math:`\partial_xV=g'` at :math:`x^\star`) is checked by the slope of :math:`V-g` across the
bracket, :math:`|(V-g)_j-(V-g)_{j'}|/|x_j-x_{j'}|`: :math:`O(h)` when smooth fit holds, :math:`O(1)` when
the value has a kink at the boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .._checks import check_array, check_finite_result, check_int, check_real
from .._results import Result, Status, StatusResult

__all__ = [
    "FreeBoundary",
    "ObstacleSolution",
    "ObstacleSolution2D",
    "StationarySolution",
]


# ----------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------


def _contact_tolerance(value: np.ndarray, gain: np.ndarray) -> float:
    """Contact is exact: every solver of the package projects stopped nodes onto the gain."""
    return 0.0


def quadratic_weights(nodes: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(m, 3)`` and Lagrange weights ``(m, 3)`` of 3-point interpolation at ``x``."""
    n = nodes.size
    j = np.clip(np.searchsorted(nodes, x), 1, n - 1)
    # nearest node as the centre of the stencil, kept inside
    nearest = np.where(np.abs(x - nodes[j - 1]) <= np.abs(nodes[j] - x), j - 1, j)
    c = np.clip(nearest, 1, n - 2)
    idx = np.stack([c - 1, c, c + 1], axis=-1)
    p0, p1, p2 = nodes[c - 1], nodes[c], nodes[c + 1]
    w0 = (x - p1) * (x - p2) / ((p0 - p1) * (p0 - p2))
    w1 = (x - p0) * (x - p2) / ((p1 - p0) * (p1 - p2))
    w2 = (x - p0) * (x - p1) / ((p2 - p0) * (p2 - p1))
    return idx, np.stack([w0, w1, w2], axis=-1)


def _check_points(name: str, x: Any, lo: float, hi: float) -> np.ndarray:
    arr = check_array(name, x, ndim=None)
    if arr.size and (np.min(arr) < lo or np.max(arr) > hi):
        bad = float(arr.flat[int(np.argmax((arr < lo) | (arr > hi)))])
        raise ValueError(f"{name} must lie in the grid's domain [{lo:.6g}, {hi:.6g}], got {bad!r}")
    return arr


def _time_weights(times: np.ndarray, t: float) -> tuple[int, int, float]:
    k = int(np.clip(np.searchsorted(times, t), 1, times.size - 1))
    t0, t1 = times[k - 1], times[k]
    w = (t - t0) / (t1 - t0)
    return k - 1, k, float(w)


def _gain_derivative(problem: Any, x: np.ndarray, gain_fn: Any) -> np.ndarray:
    if getattr(problem, "gain_derivative", None) is not None:
        return np.broadcast_to(np.asarray(problem.gain_derivative(x), dtype=float), x.shape).copy()
    h = 1e-6 * np.maximum(1.0, np.abs(x))
    return (np.asarray(gain_fn(x + h), float) - np.asarray(gain_fn(x - h), float)) / (2 * h)


# ----------------------------------------------------------------------------------------------------
# free boundary
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class FreeBoundary(Result):
    r"""One free boundary :math:`x^\star(t)` (or :math:`x^\star` for a stationary problem).

    Attributes
    ----------
    times : ndarray or None
        Time nodes (``None`` for a stationary problem; then the other attributes are scalars).
    location : ndarray or float
        Sub-grid estimate of :math:`x^\star` (see the module docstring); NaN where ``defined`` is False.
    error : ndarray or float
        Half the width of the bracket (grid resolution of the discrete stopping set).
    continuation_node, stopping_node : ndarray or float
        The bracket: the last continuation node and the first stopping node.
    smooth_fit_gap : ndarray or float
        :math:`|(V-g)_j-(V-g)_{j'}|/|x_j-x_{j'}|`, the slope of :math:`V-g` across the bracket:
        tends to 0 like :math:`O(h)` when smooth fit holds.
    defined : ndarray of bool or bool
        Where the boundary exists (e.g. not at the horizon, where all nodes stop).
    stopping_side : {"above", "below", "mixed"}
        Whether the stopping region lies at larger ``x`` ("above") or smaller ``x`` ("below").

    Examples
    --------
    See :func:`~stochdepth.freeboundary.solve_obstacle`.
    """

    times: np.ndarray | None
    location: Any
    error: Any
    continuation_node: Any
    stopping_node: Any
    smooth_fit_gap: Any
    defined: Any
    stopping_side: str

    #: NaN where ``defined`` is False (checked where it is True, below).
    nonfinite_fields = ("location", "error", "continuation_node", "stopping_node", "smooth_fit_gap")

    def __post_init__(self) -> None:
        ok = np.asarray(self.defined, dtype=bool)
        for name in self.nonfinite_fields:
            check_finite_result(f"FreeBoundary.{name}", np.asarray(getattr(self, name), dtype=float)[ok])

    def __call__(self, t: float) -> float:
        """:math:`x^\\star(t)` by linear interpolation in time between defined time nodes."""
        if self.times is None:
            return float(self.location)
        tt = check_real("t", t, lo=float(self.times[0]), hi=float(self.times[-1]))
        ok = np.asarray(self.defined)
        if not np.any(ok):
            raise ValueError("the free boundary is not defined at any time node")
        ts, xs = self.times[ok], np.asarray(self.location)[ok]
        if tt < ts[0] or tt > ts[-1]:
            raise ValueError(
                f"the free boundary is defined on [{ts[0]:.6g}, {ts[-1]:.6g}] only, got t={tt!r}"
            )
        return float(np.interp(tt, ts, xs))


def extract_boundaries(
    x: np.ndarray,
    u: np.ndarray,
    decision: np.ndarray,
    tol: float,
    times: np.ndarray | None,
    tiny: float = 0.0,
) -> tuple[FreeBoundary, ...]:
    """Free boundaries from ``u = V - g`` of shape ``(n_t, N)`` (or ``(N,)`` when ``times`` is None).

    ``decision`` marks the nodes whose stop/continue status is a decision (Dirichlet edge nodes are not);
    changes of region where ``V - g <= tiny`` on both sides are not boundaries (numerical indifference).
    """
    stationary = times is None
    uu = np.atleast_2d(u)
    idx = np.flatnonzero(decision)
    if idx.size < 2:
        return ()
    stop = uu[:, idx] <= tol
    # a change between exact contact and a gap below `tiny` (underflow far from the action, where stopping
    # and continuing are numerically indifferent) is not a resolved free boundary
    ud = uu[:, idx]
    resolved = np.maximum(ud[:, 1:], ud[:, :-1]) > tiny
    change = (stop[:, 1:] != stop[:, :-1]) & resolved  # (n_t, m-1): between idx[k] and idx[k+1]
    counts = change.sum(axis=1)
    n_curves = int(counts.max()) if counts.size else 0
    n_t = uu.shape[0]
    out = []
    for c in range(n_curves):
        loc = np.full(n_t, np.nan)
        err = np.full(n_t, np.nan)
        cnode = np.full(n_t, np.nan)
        snode = np.full(n_t, np.nan)
        gap = np.full(n_t, np.nan)
        defined = counts > c
        above = []
        for k in np.flatnonzero(defined):
            pos = np.flatnonzero(change[k])[c]
            left, right = idx[pos], idx[pos + 1]
            stop_right = bool(stop[k, pos + 1])
            above.append(stop_right)
            j, js = (left, right) if stop_right else (right, left)
            step = j - js  # direction away from the stopping node
            xj, xs = x[j], x[js]
            uj, us = uu[k, j], uu[k, js]
            cnode[k], snode[k] = xj, xs
            err[k] = 0.5 * abs(xj - xs)
            gap[k] = abs(uj - us) / abs(xj - xs)
            est = 0.5 * (xj + xs)
            j2 = j + step
            if 0 <= j2 < x.size and decision[j2] and uu[k, j2] > uu[k, j] > tol:
                s1, s2 = math.sqrt(uu[k, j]), math.sqrt(uu[k, j2])
                slope = (s1 - s2) / (xj - x[j2])
                if slope != 0.0:
                    est = xj - s1 / slope
            loc[k] = float(np.clip(est, min(xj, xs), max(xj, xs)))
        side = "mixed"
        if above and all(above):
            side = "above"
        elif above and not any(above):
            side = "below"
        if stationary:
            out.append(
                FreeBoundary(
                    None,
                    float(loc[0]),
                    float(err[0]),
                    float(cnode[0]),
                    float(snode[0]),
                    float(gap[0]),
                    bool(defined[0]),
                    side,
                )
            )
        else:
            out.append(FreeBoundary(times, loc, err, cnode, snode, gap, defined, side))
    return tuple(out)


# ----------------------------------------------------------------------------------------------------
# 1-D solutions
# ----------------------------------------------------------------------------------------------------


class _OneDimensional:
    x: np.ndarray
    gain: np.ndarray
    decision: np.ndarray

    @cached_property
    def free_boundaries(self) -> tuple[FreeBoundary, ...]:
        """All free boundaries, ordered from left to right (``k``-th change of region along ``x``)."""
        value = self.value  # type: ignore[attr-defined]
        tol = _contact_tolerance(value, self.gain)
        tiny = 1e-14 * (1.0 + float(np.max(np.abs(self.gain))))
        return extract_boundaries(
            self.x, value - self.gain, self.decision, tol, getattr(self, "times", None), tiny
        )

    @property
    def continuation(self) -> np.ndarray:
        """Discrete continuation region: decision nodes with :math:`V>g` (Dirichlet edges excluded)."""
        return ~self.stopping & self.decision  # type: ignore[attr-defined]

    @property
    def free_boundary(self) -> FreeBoundary:
        """The free boundary when there is exactly one (``ValueError`` otherwise)."""
        fbs = self.free_boundaries
        if len(fbs) != 1:
            raise ValueError(
                f"the solution has {len(fbs)} free boundaries; use .free_boundaries to access them"
            )
        return fbs[0]


@dataclass(frozen=True, eq=False, repr=False)
class ObstacleSolution(_OneDimensional, StatusResult):
    r"""Solution of a finite-horizon 1-D obstacle problem.

    Attributes
    ----------
    times : ndarray, shape (n_t,)
        Time nodes, increasing from 0 to the horizon (Rannacher half steps included).
    x : ndarray, shape (N,)
        Grid nodes.
    value : ndarray, shape (n_t, N)
        :math:`V(t_k, x_i)`.
    gain : ndarray, shape (N,)
        :math:`g(x_i)`.
    residual : float
        Largest natural LCP residual :math:`\|\min(Mv-q,v-g)\|_\infty` over the steps.
    iterations : int
        Total LCP iterations (sweeps, solves or elimination passes).
    max_step_iterations : int
        Largest number of iterations of one step.
    status : Status
        ``CONVERGED``, ``MAX_ITERATIONS`` (some steps' LCP solver stopped at ``max_iter``) or
        ``LARGE_RESIDUAL`` (an exact LCP solver left a residual far above round-off).
    message : str
        What went wrong, in words (empty when converged).
    scheme, lcp : objects
        The discretisation and the LCP solver used.

    Notes
    -----
    ``stopping`` is the discrete stopping region (:math:`V=g`, exact contact), ``free_boundaries`` /
    ``free_boundary`` the boundaries (see the module docstring), ``derivative(t)`` the slope
    :math:`\partial_xV`, ``value_at(t, x)`` an interpolant.
    """

    times: np.ndarray
    x: np.ndarray
    value: np.ndarray
    gain: np.ndarray
    residual: float
    iterations: int
    max_step_iterations: int
    status: Status
    message: str
    scheme: Any
    lcp: Any
    decision: np.ndarray = field(repr=False)
    problem: Any = field(repr=False)

    @cached_property
    def stopping(self) -> np.ndarray:
        """Discrete stopping region, bool ``(n_t, N)``."""
        return self.value - self.gain <= _contact_tolerance(self.value, self.gain)

    def _row(self, t: float) -> np.ndarray:
        tt = check_real("t", t, lo=float(self.times[0]), hi=float(self.times[-1]))
        k0, k1, w = _time_weights(self.times, tt)
        return (1 - w) * self.value[k0] + w * self.value[k1]

    def value_at(self, t: float, x: Any) -> np.ndarray | float:
        r"""Interpolated value :math:`V(t,x)`: linear in time, 3-point (quadratic) in space.

        Parameters
        ----------
        t : float
            Time in :math:`[0,T]`.
        x : float or array_like
            Points in the grid's domain.
        """
        row = self._row(t)
        xs = _check_points("x", x, float(self.x[0]), float(self.x[-1]))
        idx, w = quadratic_weights(self.x, np.atleast_1d(xs))
        out = np.sum(row[idx] * w, axis=-1)
        return float(out[0]) if np.ndim(xs) == 0 else out.reshape(np.shape(xs))

    def derivative(self, t: float = 0.0) -> np.ndarray:
        r""":math:`\partial_xV(t,x_i)` on the grid (second-order differences), time-interpolated."""
        return np.gradient(self._row(t), self.x, edge_order=2)

    def gain_derivative(self) -> np.ndarray:
        """:math:`g'(x_i)` (the problem's ``gain_derivative`` or centred differences of the gain)."""
        return _gain_derivative(self.problem, self.x, self.problem.gain)


@dataclass(frozen=True, eq=False, repr=False)
class StationarySolution(_OneDimensional, StatusResult):
    r"""Solution of a stationary (infinite-horizon) 1-D obstacle problem.

    Attributes
    ----------
    x : ndarray, shape (N,)
        Grid nodes.
    value : ndarray, shape (N,)
        :math:`V(x_i)`.
    gain : ndarray, shape (N,)
        :math:`g(x_i)`.
    residual : float
        Natural residual of the LCP (in the units of :math:`-\mathcal AV+rV+c`).
    iterations : int
        LCP iterations.
    status : Status
        As for :class:`ObstacleSolution`.
    message : str
        What went wrong, in words (empty when converged).
    scheme, lcp : objects
        The discretisation and the LCP solver.
    """

    x: np.ndarray
    value: np.ndarray
    gain: np.ndarray
    residual: float
    iterations: int
    status: Status
    message: str
    scheme: Any
    lcp: Any
    decision: np.ndarray = field(repr=False)
    problem: Any = field(repr=False)
    bands: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] = field(repr=False)

    @cached_property
    def stopping(self) -> np.ndarray:
        """Discrete stopping region, bool ``(N,)``."""
        return self.value - self.gain <= _contact_tolerance(self.value, self.gain)

    def value_at(self, x: Any) -> np.ndarray | float:
        """Interpolated value :math:`V(x)` (3-point, quadratic)."""
        xs = _check_points("x", x, float(self.x[0]), float(self.x[-1]))
        idx, w = quadratic_weights(self.x, np.atleast_1d(xs))
        out = np.sum(self.value[idx] * w, axis=-1)
        return float(out[0]) if np.ndim(xs) == 0 else out.reshape(np.shape(xs))

    def derivative(self) -> np.ndarray:
        r""":math:`V'(x_i)` on the grid (second-order differences)."""
        return np.gradient(self.value, self.x, edge_order=2)

    def gain_derivative(self) -> np.ndarray:
        """:math:`g'(x_i)` (the problem's ``gain_derivative`` or centred differences of the gain)."""
        return _gain_derivative(self.problem, self.x, self.problem.gain)

    def _continuation_system(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Bands of :math:`-\\mathcal A` with stopped and Dirichlet rows replaced by the identity."""
        lo, di, up, _rate = self.bands
        fixed = self.stopping | ~self.decision
        a = np.where(fixed, 0.0, -lo)
        b = np.where(fixed, 1.0, -di)
        c = np.where(fixed, 0.0, -up)
        return a, b, c, fixed

    def expected_stopping_time(self) -> np.ndarray:
        r"""Expected optimal stopping time :math:`\mathbb E_x\tau^\star` at every node.

        Solves :math:`\mathcal A u=-1` on the continuation nodes with :math:`u=0` on the stopping nodes
        and Dirichlet edges (Dynkin's formula; Karatzas & Shreve, *Brownian Motion and Stochastic
        Calculus*, 1991, sec. 5.7). Neumann edges reflect. Raises :class:`~stochdepth.NumericalError`
        if the continuation region is not left in finite expected time (singular system).
        """
        from scipy.linalg import solve_banded

        from .._checks import check_finite_result

        a, b, c, fixed = self._continuation_system()
        ab = np.zeros((3, b.size))
        ab[0, 1:] = c[:-1]
        ab[1] = b
        ab[2, :-1] = a[1:]
        rhs = np.where(fixed, 0.0, 1.0)
        try:
            u = solve_banded((1, 1), ab, rhs)
        except np.linalg.LinAlgError as exc:
            from .._checks import NumericalError

            raise NumericalError(f"expected stopping time: singular system ({exc})") from None
        check_finite_result("expected stopping time", u)
        return u

    def stopping_time_cdf(self, t: Any, *, n_steps: int = 400) -> np.ndarray:
        r"""Law of the optimal stopping time: :math:`\mathbb P_x(\tau^\star\le t)` at every node.

        The survival :math:`S(t,x)=\mathbb P_x(\tau^\star>t)` solves :math:`\partial_tS=\mathcal AS` on the
        continuation nodes, :math:`S=0` on the stopping set, :math:`S(0)=1` inside; it is integrated by
        implicit Euler (monotone, so :math:`0\le S\le1`) with ``n_steps`` uniform steps up to
        ``max(t)``, the requested times added as nodes.

        Parameters
        ----------
        t : float or array_like
            Times :math:`\ge0`.
        n_steps : int, default 400
            Number of uniform steps on :math:`[0,\max t]` (first-order accurate in time).

        Returns
        -------
        ndarray, shape ``(len(t), N)`` (or ``(N,)`` for a scalar ``t``)
        """
        from scipy.linalg import solve_banded

        ts = check_array("t", t, ndim=(0, 1))
        if np.any(ts < 0):
            raise ValueError(f"t must be >= 0, got {float(np.min(ts))!r}")
        n_steps = check_int("n_steps", n_steps, min=1)
        tmax = float(np.max(ts)) if ts.size else 0.0
        grid = np.unique(np.concatenate([np.linspace(0.0, tmax, n_steps + 1), np.atleast_1d(ts)]))
        a, b, c, fixed = self._continuation_system()
        s = np.where(fixed, 0.0, 1.0)
        out = {0.0: 1.0 - s}
        for k in range(1, grid.size):
            dt = grid[k] - grid[k - 1]
            ab = np.zeros((3, b.size))
            ab[0, 1:] = np.where(fixed[:-1], 0.0, dt * c[:-1])
            ab[1] = np.where(fixed, 1.0, 1.0 + dt * b)
            ab[2, :-1] = np.where(fixed[1:], 0.0, dt * a[1:])
            s = solve_banded((1, 1), ab, np.where(fixed, 0.0, s))
            out[float(grid[k])] = 1.0 - s
        res = np.array([out[float(v)] for v in np.atleast_1d(ts)])
        return res[0] if ts.ndim == 0 else res


# ----------------------------------------------------------------------------------------------------
# 2-D solution
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class ObstacleSolution2D(StatusResult):
    r"""Solution of a 2-D obstacle problem.

    Attributes
    ----------
    times : ndarray or None
        Time nodes (``None``: stationary problem).
    x, y : ndarray
        Grid nodes, shapes ``(Nx,)`` and ``(Ny,)``.
    value : ndarray
        ``(n_t, Nx, Ny)``, or ``(Nx, Ny)`` when stationary.
    gain : ndarray, shape (Nx, Ny)
    residual : float
        Largest natural LCP residual.
    iterations : int
        Total LCP iterations (sparse solves for the active-set method).
    status : Status
        As for :class:`ObstacleSolution`.
    message : str
        What went wrong, in words (empty when converged).
    scheme, lcp : objects
    """

    times: np.ndarray | None
    x: np.ndarray
    y: np.ndarray
    value: np.ndarray
    gain: np.ndarray
    residual: float
    iterations: int
    status: Status
    message: str
    scheme: Any
    lcp: Any
    problem: Any = field(repr=False)

    @cached_property
    def stopping(self) -> np.ndarray:
        """Discrete stopping region (bool, same shape as ``value``)."""
        return self.value - self.gain <= _contact_tolerance(self.value, self.gain)

    def _surface(self, t: float | None) -> np.ndarray:
        if self.times is None:
            if t is not None:
                raise ValueError("t must be None for a stationary problem")
            return self.value
        if t is None:
            raise ValueError("t is required for a time-dependent problem")
        tt = check_real("t", t, lo=float(self.times[0]), hi=float(self.times[-1]))
        k0, k1, w = _time_weights(self.times, tt)
        return (1 - w) * self.value[k0] + w * self.value[k1]

    def value_at(self, x: Any, y: Any, *, t: float | None = None) -> np.ndarray | float:
        """Bilinear interpolation of :math:`V` at points ``(x, y)`` (broadcast), at time ``t`` (linear in
        time; ``None`` for stationary problems)."""
        surf = self._surface(t)
        xs = _check_points("x", x, float(self.x[0]), float(self.x[-1]))
        ys = _check_points("y", y, float(self.y[0]), float(self.y[-1]))
        xb, yb = np.broadcast_arrays(np.atleast_1d(xs), np.atleast_1d(ys))
        i = np.clip(np.searchsorted(self.x, xb) - 1, 0, self.x.size - 2)
        j = np.clip(np.searchsorted(self.y, yb) - 1, 0, self.y.size - 2)
        wx = (xb - self.x[i]) / (self.x[i + 1] - self.x[i])
        wy = (yb - self.y[j]) / (self.y[j + 1] - self.y[j])
        out = (
            (1 - wx) * (1 - wy) * surf[i, j]
            + wx * (1 - wy) * surf[i + 1, j]
            + (1 - wx) * wy * surf[i, j + 1]
            + wx * wy * surf[i + 1, j + 1]
        )
        scalar = np.ndim(xs) == 0 and np.ndim(ys) == 0
        return float(out[0]) if scalar else out.reshape(np.broadcast_shapes(np.shape(xs), np.shape(ys)))

    def gradient(self, *, t: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        r""":math:`(\partial_xV,\partial_yV)` on the grid (second-order differences)."""
        surf = self._surface(t)
        return (
            np.gradient(surf, self.x, axis=0, edge_order=2),
            np.gradient(surf, self.y, axis=1, edge_order=2),
        )
