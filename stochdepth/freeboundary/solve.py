r"""The entry point :func:`solve_obstacle` and the assembly of the discrete problems.

1-D problems march with the numba kernel of :mod:`._kernels` (one tridiagonal LCP per step, all steps in
one compiled call); 2-D problems assemble sparse matrices (scipy CSR) and solve each step with the
active-set method (sparse LU) or projected SOR.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._checks import NumericalError, check_finite_result
from .._results import Status, check_status
from . import _kernels as K
from ._assembly import axis_operator, edge_values, evaluate
from .lcp import BrennanSchwartz, LCPSolver, check_lcp, natural_residual_sparse
from .problems import Dirichlet, Neumann, ObstacleProblem, ObstacleProblem2D, StationaryObstacleProblem
from .results import ObstacleSolution, ObstacleSolution2D, StationarySolution
from .schemes import CrankNicolson, SteadyState, TimeScheme

__all__ = ["solve_obstacle"]

Problem = ObstacleProblem | StationaryObstacleProblem | ObstacleProblem2D
Solution = ObstacleSolution | StationarySolution | ObstacleSolution2D


def solve_obstacle(
    problem: Problem,
    *,
    scheme: TimeScheme | None = None,
    lcp: LCPSolver | None = None,
    throw: bool = True,
) -> Solution:
    r"""Solve an obstacle problem (optimal stopping of a diffusion) by finite differences.

    .. math::
        \min\big\{-\partial_tV-\mathcal AV+rV+c,\ V-g\big\}=0

    (without :math:`\partial_tV` for stationary problems); see :mod:`stochdepth.freeboundary.problems`.

    Parameters
    ----------
    problem : ObstacleProblem, StationaryObstacleProblem or ObstacleProblem2D
        What to solve (coefficients, gain, cost, discount, horizon, grid, edge conditions).
    scheme : TimeScheme, optional
        Time discretisation: :class:`ThetaScheme`, :class:`CrankNicolson`, :class:`Implicit` or a
        subclass of :class:`TimeScheme` of one's own for finite-horizon problems (default
        ``CrankNicolson(n_steps=100, rannacher_steps=2)``); a stationary scheme (``SteadyState()``, the
        default) for stationary ones.
    lcp : LCPSolver, optional
        LCP solver for each implicit step; default :class:`PrimalDualActiveSet` (exact, finite
        termination). Brennan--Schwartz is 1-D only; a user-written :class:`LCPSolver` without compiled
        kernel parameters applies to 2-D problems.
    throw : bool, optional
        Raise :class:`~stochdepth.ConvergenceError` when the status is not a success (default: an LCP
        iteration cap reached, or an exact LCP solver's residual far above round-off); with ``False``
        return the solution with its status.

    Returns
    -------
    ObstacleSolution, StationarySolution or ObstacleSolution2D
        Value on the grid, regions, free boundaries, derivative, LCP residual, iterations and status.

    Raises
    ------
    TypeError
        For a wrong kind of problem, scheme or solver.
    ConvergenceError
        With ``throw=True``, when the status is not a success.
    ValueError
        For inconsistent data: terminal value below the gain or different from a Dirichlet edge value at
        the horizon, negative volatility or discount, non-finite coefficients, a :class:`Natural` edge
        where the diffusion does not vanish or the drift points outwards.
    NumericalError
        If the computed value is not finite (e.g. a stationary problem whose continuation region is never
        left: no discount, no Dirichlet edge and nothing forcing a stop makes the discrete system singular).

    Notes
    -----
    Discretisation: :mod:`stochdepth.freeboundary.schemes` (theta scheme, Rannacher start-up, upwinding)
    and :mod:`stochdepth.freeboundary._assembly` (non-uniform second-order differences). With upwinding
    every LCP matrix is an M-matrix, so each step has a unique solution which all three solvers find
    (Brennan--Schwartz when the problem is one-sided). Reference: docs/science.md §B5; Wilmott, Dewynne &
    Howison,
    *Option Pricing: Mathematical Models and Computation*, Oxford Financial Press 1993, ch. 9 (the LCP
    formulation); Jaillet, Lamberton & Lapeyre (1990) (convergence).

    Examples
    --------
    The American put (strike 100, rate 5 %, volatility 20 %, one year) in log-price:

    >>> import numpy as np
    >>> from stochdepth.freeboundary import (BrennanSchwartz, CrankNicolson, ObstacleProblem,
    ...     StretchedGrid, solve_obstacle)
    >>> K, r, vol = 100.0, 0.05, 0.2
    >>> grid = StretchedGrid(np.log(K) - 3, np.log(K) + 3, 401, center=np.log(K), scale=0.2)
    >>> put = ObstacleProblem(lambda x: np.maximum(K - np.exp(x), 0.0), r - vol**2 / 2, vol, 1.0, grid,
    ...                       rate=r)
    >>> sol = solve_obstacle(put, scheme=CrankNicolson(n_steps=200), lcp=BrennanSchwartz(side="lower"))
    >>> round(sol.value_at(0.0, np.log(100.0)), 3), sol.residual < 1e-10
    (6.09, True)
    >>> fb = sol.free_boundary
    >>> fb.stopping_side, round(float(np.exp(fb(0.0))), 1)
    ('below', 81.0)
    """
    if isinstance(problem, ObstacleProblem):
        scheme = _check_scheme(scheme, stationary=False)
        sol: Solution = _solve_1d(problem, scheme, check_lcp(lcp, tridiagonal=True, compiled=True))
    elif isinstance(problem, StationaryObstacleProblem):
        scheme = _check_scheme(scheme, stationary=True)
        sol = _solve_stationary(problem, scheme, check_lcp(lcp, tridiagonal=True, compiled=True))
    elif isinstance(problem, ObstacleProblem2D):
        scheme = _check_scheme(scheme, stationary=problem.stationary)
        sol = _solve_2d(problem, scheme, check_lcp(lcp, tridiagonal=False))
    else:
        raise TypeError(
            "problem must be an ObstacleProblem, StationaryObstacleProblem or ObstacleProblem2D, "
            f"got {type(problem).__name__}"
        )
    return check_status(sol, f"solve_obstacle with {type(sol.lcp).__name__}", throw)


def _check_scheme(scheme: Any, *, stationary: bool) -> TimeScheme:
    if stationary:
        scheme = SteadyState() if scheme is None else scheme
        if not isinstance(scheme, TimeScheme) or not scheme.stationary:
            raise TypeError(f"scheme for a stationary problem must be SteadyState(...), got {scheme!r}")
        return scheme
    scheme = CrankNicolson() if scheme is None else scheme
    if not isinstance(scheme, TimeScheme) or scheme.stationary:
        raise TypeError(
            "scheme for a finite-horizon problem must be a time-stepping TimeScheme: CrankNicolson(...), "
            f"Implicit(...), ThetaScheme(...) or a subclass of one's own, got {scheme!r}"
        )
    return scheme


# ----------------------------------------------------------------------------------------------------
# 1-D
# ----------------------------------------------------------------------------------------------------


def _nonnegative(name: str, arr: np.ndarray, coords: str) -> None:
    if np.any(arr < 0):
        i = int(np.argmax(arr < 0))
        raise ValueError(f"{name} must be >= 0, got {float(arr.flat[i])!r} ({coords} index {i})")


def _edge_slope(bc: Any, t: np.ndarray, xe: float, stationary: bool, k: int) -> np.ndarray | None:
    if not isinstance(bc, Neumann):
        return None
    args = (xe,) if stationary else (t, xe)
    names = ("x",) if stationary else ("t", "x")
    return evaluate("Neumann.slope", bc.slope, args, (k,), names)


def _assemble_1d(
    problem: ObstacleProblem | StationaryObstacleProblem,
    x: np.ndarray,
    t: np.ndarray | None,
    upwind: bool | None,
) -> tuple[np.ndarray, ...]:
    """Bands ``lo, di, up`` of the generator, discount ``r`` and source ``src = -c + edge terms``.

    Shapes ``(K, N)`` with ``K = len(t)`` if some coefficient depends on time, else ``K = 1``.
    """
    n = x.size
    stationary = t is None
    coefs = (problem.drift, problem.volatility, problem.cost, problem.rate)
    bcs = (problem.left, problem.right)
    dep = not stationary and (
        any(callable(c) for c in coefs) or any(isinstance(bc, Neumann) and callable(bc.slope) for bc in bcs)
    )
    if stationary:
        args, names, kk = (x,), ("x",), 1
        tk = np.zeros(1)
    elif dep:
        assert t is not None
        args, names, kk, tk = (t[:, None], x[None, :]), ("t", "x"), t.size, t
    else:
        assert t is not None
        args, names, kk, tk = (t[-1:, None], x[None, :]), ("t", "x"), 1, t[-1:]
    shape = (kk, n)
    b = evaluate("drift", problem.drift, args, shape, names)
    sig = evaluate("volatility", problem.volatility, args, shape, names)
    _nonnegative("volatility", sig, "grid")
    c = evaluate("cost", problem.cost, args, shape, names)
    r = evaluate("rate", problem.rate, args, shape, names)
    _nonnegative("rate", r, "grid")
    d = 0.5 * sig**2
    lslope = _edge_slope(problem.left, tk, float(x[0]), stationary, kk)
    rslope = _edge_slope(problem.right, tk, float(x[-1]), stationary, kk)
    lo, di, up, src = axis_operator(
        x,
        np.ascontiguousarray(b.T),
        np.ascontiguousarray(d.T),
        problem.left,
        problem.right,
        upwind,
        lslope,
        rslope,
    )
    return (
        np.ascontiguousarray(lo.T),
        np.ascontiguousarray(di.T),
        np.ascontiguousarray(up.T),
        np.ascontiguousarray(r),
        np.ascontiguousarray(src.T - c),
    )


def _dirichlet_1d(
    problem: ObstacleProblem | StationaryObstacleProblem, x: np.ndarray, t: np.ndarray | None, g: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mask ``(N,)`` of Dirichlet rows and their values ``(n_t, N)`` (``(1, N)`` when stationary)."""
    n = x.size
    kk = 1 if t is None else t.size
    mask = np.zeros(n, dtype=bool)
    vals = np.zeros((kk, n))
    for e, bc in ((0, problem.left), (n - 1, problem.right)):
        if isinstance(bc, Dirichlet):
            mask[e] = True
            if t is None:
                vals[:, e] = edge_values("Dirichlet.value", bc.value, lambda e=e: g[e], (x[e],), (1,), ("x",))
            else:
                vals[:, e] = edge_values(
                    "Dirichlet.value", bc.value, lambda e=e: g[e], (t, x[e]), (kk,), ("t", "x")
                )
    return mask, vals


def _status(iters: np.ndarray, residual: float = 0.0, scale: float = 1.0, lcp: Any = None) -> dict[str, Any]:
    """``status`` and ``message`` of a solution: ``CONVERGED``, or what went wrong: iteration caps
    (``MAX_ITERATIONS``), or (exact solvers) a residual far above round-off (``LARGE_RESIDUAL``), which
    means the solver's assumption failed (Brennan--Schwartz on a problem that is not one-sided; a
    singular or ill-posed discrete problem)."""
    bad = int(np.count_nonzero(iters < 0))
    msgs = []
    if bad:
        msgs.append(f"max_iter reached in {bad} of {iters.size} LCP solves")
    large = bool(getattr(lcp, "exact", False)) and residual > 1e-8 * scale
    if large:
        hint = (
            "the problem is not one-sided: use PrimalDualActiveSet()"
            if isinstance(lcp, BrennanSchwartz)
            else "singular or ill-posed discrete problem"
        )
        msgs.append(f"LCP residual {residual:.3g} far above round-off ({hint})")
    status = Status.MAX_ITERATIONS if bad else Status.LARGE_RESIDUAL if large else Status.CONVERGED
    return {"status": status, "message": "; ".join(msgs)}


def _singular(what: str) -> NumericalError:
    return NumericalError(
        f"{what}: singular linear system in the LCP solver (e.g. no discount, no Dirichlet edge and a "
        "continuation region that is never left, so the value is infinite or not unique)"
    )


def _solve_1d(problem: ObstacleProblem, scheme: TimeScheme, lcp: LCPSolver) -> ObstacleSolution:
    x = np.ascontiguousarray(problem.grid.nodes, dtype=float)
    n = x.size
    times, thetas = scheme.time_grid(problem.t1)
    g = np.ascontiguousarray(evaluate("gain", problem.gain, (x,), (n,), ("x",)))
    h = g if problem.terminal is None else evaluate("terminal", problem.terminal, (x,), (n,), ("x",))
    scale = 1.0 + float(np.max(np.abs(g)))
    if np.any(h < g - 1e-12 * scale):
        i = int(np.argmax(h < g - 1e-12 * scale))
        raise ValueError(
            f"inconsistent terminal data: terminal value {h[i]!r} is below the gain {g[i]!r} at x={x[i]:.6g} "
            "(the value can never be below the gain)"
        )
    mask, dvals = _dirichlet_1d(problem, x, times, g)
    for e, name in ((0, "left"), (n - 1, "right")):
        if mask[e] and abs(dvals[-1, e] - h[e]) > 1e-9 * (scale + abs(h[e])):
            raise ValueError(
                f"inconsistent terminal data: the {name} Dirichlet value at t=T is {dvals[-1, e]!r} but the "
                f"terminal value at x={x[e]:.6g} is {h[e]!r}"
            )
    lo, di, up, r, src = _assemble_1d(problem, x, times, scheme.upwind)
    di = di - r
    lo[:, mask] = 0.0
    di[:, mask] = 0.0
    up[:, mask] = 0.0
    src[:, mask] = 0.0
    value = np.empty((times.size, n))
    value[-1] = h
    code, omega, tol, max_iter = _kernel_parameters(lcp, n)
    iters = np.zeros(times.size - 1, dtype=np.int64)
    resid = np.zeros(times.size - 1)
    ok = K.theta_march(
        times, thetas, lo, di, up, src, mask, dvals, g, code, omega, tol, max_iter, value, iters, resid
    )
    if not ok:
        raise _singular("obstacle problem")
    check_finite_result("obstacle problem value", value)
    residual = float(resid.max()) if resid.size else 0.0
    scale = (1.0 + float(np.max(np.abs(value)))) * (
        1.0 + float(np.max(np.diff(times))) * float(np.max(np.abs(di)))
    )
    return ObstacleSolution(
        times=times,
        x=x,
        value=value,
        gain=g,
        residual=residual,
        iterations=int(np.abs(iters).sum()),
        max_step_iterations=int(np.abs(iters).max()) if iters.size else 0,
        **_status(iters, residual, scale, lcp),
        scheme=scheme,
        lcp=lcp,
        decision=~mask,
        problem=problem,
    )


def _solve_stationary(
    problem: StationaryObstacleProblem, scheme: TimeScheme, lcp: LCPSolver
) -> StationarySolution:
    x = np.ascontiguousarray(problem.grid.nodes, dtype=float)
    n = x.size
    g = np.ascontiguousarray(evaluate("gain", problem.gain, (x,), (n,), ("x",)))
    mask, dvals = _dirichlet_1d(problem, x, None, g)
    lo, di, up, r, src = _assemble_1d(problem, x, None, scheme.upwind)
    mlo = np.where(mask, 0.0, -lo[0])
    mdi = np.where(mask, 1.0, -(di[0] - r[0]))
    mup = np.where(mask, 0.0, -up[0])
    mlo[0] = 0.0
    mup[-1] = 0.0
    q = np.where(mask, dvals[0], src[0])
    code, omega, tol, max_iter = _kernel_parameters(lcp, n)
    v = g.copy()
    work = np.empty((9, n))
    it = int(K.solve_lcp_tridiagonal(code, mlo, mdi, mup, q, g, v, omega, tol, max_iter, work))
    if it == 0:
        raise _singular("stationary obstacle problem")
    check_finite_result("stationary obstacle problem value", v)
    residual = float(K.natural_residual(mlo, mdi, mup, q, g, v))
    scale = (1.0 + float(np.max(np.abs(v)))) * float(np.max(np.abs(mdi)))
    return StationarySolution(
        x=x,
        value=v,
        gain=g,
        residual=residual,
        iterations=abs(it),
        **_status(np.array([it]), residual, scale, lcp),
        scheme=scheme,
        lcp=lcp,
        decision=~mask,
        problem=problem,
        bands=(lo[0], di[0], up[0], r[0]),
    )


# ----------------------------------------------------------------------------------------------------
# 2-D
# ----------------------------------------------------------------------------------------------------


def _operator_2d(
    problem: ObstacleProblem2D,
    x: np.ndarray,
    y: np.ndarray,
    t: float | None,
    upwind: bool | None,
    dirichlet: np.ndarray,
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Generator minus discount as a CSR matrix (Dirichlet rows zero) and the source ``-c + edge terms``."""
    nx, ny = x.size, y.size
    shape = (nx, ny)
    if t is None:
        args, names = (x[:, None], y[None, :]), ("x", "y")
    else:
        args, names = (t, x[:, None], y[None, :]), ("t", "x", "y")
    b1 = evaluate("drift[0]", problem.drift[0], args, shape, names)
    b2 = evaluate("drift[1]", problem.drift[1], args, shape, names)
    s1 = evaluate("volatility[0]", problem.volatility[0], args, shape, names)
    s2 = evaluate("volatility[1]", problem.volatility[1], args, shape, names)
    _nonnegative("volatility[0]", s1, "grid")
    _nonnegative("volatility[1]", s2, "grid")
    c = evaluate("cost", problem.cost, args, shape, names)
    r = evaluate("rate", problem.rate, args, shape, names)
    _nonnegative("rate", r, "grid")

    def slope(bc: Any, xs: Any, ys: Any, m: int) -> np.ndarray | None:
        if not isinstance(bc, Neumann):
            return None
        a = (xs, ys) if t is None else (t, xs, ys)
        return evaluate("Neumann.slope", bc.slope, a, (m,), names)

    lx, dx, ux, sx = axis_operator(
        x,
        b1,
        0.5 * s1**2,
        problem.left,
        problem.right,
        upwind,
        slope(problem.left, x[0], y, ny),
        slope(problem.right, x[-1], y, ny),
        "x",
    )
    ly, dy, uy, sy = axis_operator(
        y,
        b2.T,
        0.5 * s2.T**2,
        problem.bottom,
        problem.top,
        upwind,
        slope(problem.bottom, x, y[0], nx),
        slope(problem.top, x, y[-1], nx),
        "y",
    )
    ly, dy, uy, sy = ly.T, dy.T, uy.T, sy.T
    idx = np.arange(nx * ny).reshape(shape)
    keep = ~dirichlet
    rows, cols, vals = [idx[keep]], [idx[keep]], [(dx + dy - r)[keep]]

    def add(di_: int, dj_: int, w: np.ndarray) -> None:
        i0, i1 = max(0, -di_), nx - max(0, di_)
        j0, j1 = max(0, -dj_), ny - max(0, dj_)
        sub = (slice(i0, i1), slice(j0, j1))
        nb = (slice(i0 + di_, i1 + di_), slice(j0 + dj_, j1 + dj_))
        m = keep[sub] & (w[sub] != 0.0)
        rows.append(idx[sub][m])
        cols.append(idx[nb][m])
        vals.append(w[sub][m])

    add(-1, 0, lx)
    add(1, 0, ux)
    add(0, -1, ly)
    add(0, 1, uy)
    rho = problem.correlation
    if rho != 0.0:
        a12 = np.zeros(shape)
        hx = (x[2:] - x[:-2])[:, None]
        hy = (y[2:] - y[:-2])[None, :]
        a12[1:-1, 1:-1] = rho * s1[1:-1, 1:-1] * s2[1:-1, 1:-1] / (hx * hy)
        add(1, 1, a12)
        add(-1, -1, a12)
        add(1, -1, -a12)
        add(-1, 1, -a12)
    mat = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nx * ny, nx * ny)
    )
    src = np.where(dirichlet, 0.0, sx + sy - c).ravel()
    return mat, src


def _dirichlet_2d(
    problem: ObstacleProblem2D, x: np.ndarray, y: np.ndarray, g: np.ndarray
) -> tuple[np.ndarray, list[tuple[np.ndarray, Any]]]:
    nx, ny = x.size, y.size
    mask = np.zeros((nx, ny), dtype=bool)
    specs = []
    for edge, sl in (
        ("left", (0, slice(None))),
        ("right", (nx - 1, slice(None))),
        ("bottom", (slice(None), 0)),
        ("top", (slice(None), ny - 1)),
    ):
        bc = getattr(problem, edge)
        if isinstance(bc, Dirichlet):
            em = np.zeros((nx, ny), dtype=bool)
            em[sl] = True
            mask |= em
            specs.append((em, bc.value))
    return mask, specs


def _dirichlet_values_2d(
    specs: list[tuple[np.ndarray, Any]], x: np.ndarray, y: np.ndarray, g: np.ndarray, t: float | None
) -> np.ndarray:
    vals = np.zeros_like(g)
    shape = g.shape
    for em, spec in specs:
        if t is None:
            v = edge_values("Dirichlet.value", spec, lambda: g, (x[:, None], y[None, :]), shape, ("x", "y"))
        else:
            v = edge_values(
                "Dirichlet.value", spec, lambda: g, (t, x[:, None], y[None, :]), shape, ("t", "x", "y")
            )
        vals = np.where(em, v, vals)
    return vals


def _lcp_sparse(m: sp.csr_matrix, q: np.ndarray, g: np.ndarray, v0: np.ndarray, lcp: LCPSolver) -> tuple:
    v, it = lcp.solve(m, q, g, v0)
    v = np.asarray(v, dtype=float)
    return v, int(it), natural_residual_sparse(m, q, g, v)


def _kernel_parameters(lcp: LCPSolver, n: int) -> tuple[int, float, float, int]:
    params = lcp.kernel_parameters(n)
    assert params is not None  # check_lcp(..., compiled=True) made sure
    return params


def _solve_2d(problem: ObstacleProblem2D, scheme: Any, lcp: Any) -> ObstacleSolution2D:
    x = np.asarray(problem.grid_x.nodes, dtype=float)
    y = np.asarray(problem.grid_y.nodes, dtype=float)
    nx, ny = x.size, y.size
    shape = (nx, ny)
    g = evaluate("gain", problem.gain, (x[:, None], y[None, :]), shape, ("x", "y")).copy()
    mask, specs = _dirichlet_2d(problem, x, y, g)
    eye_d = sp.diags(mask.ravel().astype(float))
    gf = g.ravel()
    if problem.stationary:
        mat, src = _operator_2d(problem, x, y, None, scheme.upwind, mask)
        m = (-mat + eye_d).tocsr()
        dv = _dirichlet_values_2d(specs, x, y, g, None).ravel()
        q = np.where(mask.ravel(), dv, src)
        v, it, res = _lcp_sparse(m, q, gf, gf.copy(), lcp)
        check_finite_result("2-D obstacle problem value", v)
        scale = (1.0 + float(np.max(np.abs(v)))) * float(np.max(np.abs(m.diagonal())))
        return ObstacleSolution2D(
            times=None,
            x=x,
            y=y,
            value=v.reshape(shape),
            gain=g,
            residual=float(res),
            iterations=abs(it),
            **_status(np.array([it]), float(res), scale, lcp),
            scheme=scheme,
            lcp=lcp,
            problem=problem,
        )
    assert problem.t1 is not None
    times, thetas = scheme.time_grid(problem.t1)
    h = (
        g
        if problem.terminal is None
        else evaluate("terminal", problem.terminal, (x[:, None], y[None, :]), shape, ("x", "y"))
    )
    scale = 1.0 + float(np.max(np.abs(g)))
    if np.any(h < g - 1e-12 * scale):
        i, j = np.unravel_index(int(np.argmax(h < g - 1e-12 * scale)), shape)
        raise ValueError(
            f"inconsistent terminal data: terminal value {h[i, j]!r} is below the gain {g[i, j]!r} at "
            f"(x, y)=({x[i]:.6g}, {y[j]:.6g})"
        )
    d_end = _dirichlet_values_2d(specs, x, y, g, float(times[-1]))
    bad = mask & (np.abs(d_end - h) > 1e-9 * (scale + np.abs(h)))
    if bad.any():
        i, j = np.unravel_index(int(np.argmax(bad)), shape)
        raise ValueError(
            f"inconsistent terminal data: the Dirichlet value at t=T is {d_end[i, j]!r} but the terminal "
            f"value at (x, y)=({x[i]:.6g}, {y[j]:.6g}) is {h[i, j]!r}"
        )
    dep = any(
        callable(cf) for cf in (*problem.drift, *problem.volatility, problem.cost, problem.rate)
    ) or any(
        isinstance(getattr(problem, e), Neumann) and callable(getattr(problem, e).slope)
        for e in ("left", "right", "bottom", "top")
    )
    cache: dict[int, tuple[sp.csr_matrix, np.ndarray]] = {}

    def op(k: int) -> tuple[sp.csr_matrix, np.ndarray]:
        key = k if dep else -1
        if key not in cache:
            if not dep:
                cache.clear()
            cache[key] = _operator_2d(problem, x, y, float(times[k]), scheme.upwind, mask)
            if dep and len(cache) > 2:
                cache.pop(max(cache))
        return cache[key]

    value = np.empty((times.size, nx * ny))
    value[-1] = h.ravel()
    eye = sp.identity(nx * ny, format="csr")
    iters, resid = [], []
    diag_max = 1.0
    mask_f = mask.ravel()
    for k in range(times.size - 2, -1, -1):
        dt = times[k + 1] - times[k]
        th = thetas[k]
        l_old, s_old = op(k + 1)
        l_new, s_new = op(k)
        old = value[k + 1]
        rhs = old + (1 - th) * dt * (l_old @ old + s_old) + th * dt * s_new
        dv = _dirichlet_values_2d(specs, x, y, g, float(times[k])).ravel()
        rhs = np.where(mask_f, dv, rhs)
        m = (eye - th * dt * l_new).tocsr()
        diag_max = max(diag_max, float(np.max(np.abs(m.diagonal()))))
        v, it, res = _lcp_sparse(m, rhs, gf, old, lcp)
        value[k] = v
        iters.append(it)
        resid.append(res)
    check_finite_result("2-D obstacle problem value", value)
    its = np.array(iters)
    residual = float(max(resid))
    scale = (1.0 + float(np.max(np.abs(value)))) * diag_max
    return ObstacleSolution2D(
        times=times,
        x=x,
        y=y,
        value=value.reshape(times.size, nx, ny),
        gain=g,
        residual=residual,
        iterations=int(np.abs(its).sum()),
        **_status(its, residual, scale, lcp),
        scheme=scheme,
        lcp=lcp,
        problem=problem,
    )
