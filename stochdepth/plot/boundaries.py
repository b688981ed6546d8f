r"""Figures of free-boundary problems: the value function against the gain, and the free boundary."""

from __future__ import annotations

from typing import Any

import numpy as np

from .style import OKABE_ITO, finish, panels, style

__all__ = ["free_boundary"]


def _reference_curve(reference: Any, times: np.ndarray) -> np.ndarray | None:
    """The reference boundary at ``times``: a number, a callable of ``t`` or a pair (times, values)."""
    if reference is None:
        return None
    if callable(reference):
        return np.array([float(reference(t)) for t in times])
    if isinstance(reference, tuple) and len(reference) == 2:
        rt, rx = (np.asarray(v, dtype=float) for v in reference)
        if rt.shape != rx.shape or rt.ndim != 1:
            raise ValueError("reference must be a pair of equal-length 1-d arrays (times, locations)")
        return np.interp(times, rt, rx)
    try:
        return np.full(times.shape, float(reference))
    except (TypeError, ValueError):
        raise TypeError(
            f"reference must be a number, a callable of t or a pair (times, locations), got "
            f"{type(reference).__name__}"
        ) from None


def free_boundary(solution: Any, *, reference: Any = None, quantity: str = "$x$", axes: Any = None) -> Any:
    r"""The value function of an obstacle problem and its free boundary.

    Panel (a): the value :math:`V` (at :math:`t=0` for a finite horizon) and the gain :math:`g` against
    :math:`x`, the discrete stopping region :math:`\{V=g\}` shaded and each free boundary marked.
    Panel (b), finite horizon: each boundary :math:`x^\star(t)` against :math:`t` with its grid bracket
    (the half-width ``error``) as a band; stationary problem: :math:`V-g` against :math:`x`, where smooth
    fit shows as a tangential contact at :math:`x^\star`. A known boundary (``reference``) is drawn
    dashed.

    Parameters
    ----------
    solution : ObstacleSolution or StationarySolution
        From :func:`stochdepth.freeboundary.solve_obstacle`.
    reference : float, callable, (times, locations) or None, keyword-only
        An exact or reference free boundary.
    quantity : str, keyword-only
        Label of the state variable (mathtext allowed).
    axes : pair of Axes or None, keyword-only
        Draw into these two panels of a figure of one's own (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    docs/science.md §B5--B6 (the optimal depth as a free-boundary problem); Peskir & Shiryaev,
    *Optimal Stopping and Free-Boundary Problems* (2006), ch. IV.

    Examples
    --------
    >>> from stochdepth.freeboundary import american_put_problem, solve_obstacle
    >>> sol = solve_obstacle(american_put_problem(1.0, 0.05, 0.3, 0.5))
    >>> [ax.get_title() for ax in free_boundary(sol).axes]
    ['Value function', 'Free boundary']
    """
    if not all(hasattr(solution, a) for a in ("x", "value", "gain", "free_boundaries", "stopping")):
        raise TypeError(
            f"solution must be a one-dimensional obstacle solution, got {type(solution).__name__}"
        )
    x = np.asarray(solution.x, dtype=float)
    value = np.asarray(solution.value, dtype=float)
    times = getattr(solution, "times", None)
    v0 = value[0] if value.ndim == 2 else value
    stop0 = np.asarray(solution.stopping)
    stop0 = stop0[0] if stop0.ndim == 2 else stop0
    gain = np.asarray(solution.gain, dtype=float)
    boundaries = solution.free_boundaries
    fig, (a, b) = panels(axes, 2)
    blue, red, green = OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["bluish green"]
    with style():
        a.plot(x, v0, color=blue, label="value $V$")
        a.plot(x, gain, "--", color=red, label="gain $g$")
        a.fill_between(
            x,
            0,
            1,
            where=stop0,
            transform=a.get_xaxis_transform(),
            color="0.9",
            lw=0,
            label=r"stopping region",
        )
        for fb in boundaries:
            loc = np.asarray(fb.location, dtype=float)
            x0 = float(loc) if loc.ndim == 0 else float(loc[0])
            if np.isfinite(x0):
                a.axvline(x0, color=green, lw=1)
        if times is None:
            b.plot(x, v0 - gain, color=blue, label="$V-g$")
            for i, fb in enumerate(boundaries):
                b.axvline(float(fb.location), color=green, lw=1, label="$x^\\star$" if i == 0 else None)
            ref = _reference_curve(reference, np.zeros(1))
            if ref is not None:
                b.axvline(ref[0], color="k", ls=":", lw=1, label="reference")
            panel_b = {"xlabel": quantity, "ylabel": "$V-g$", "title": "Smooth fit"}
        else:
            t = np.asarray(times, dtype=float)
            for i, fb in enumerate(boundaries):
                ok = np.asarray(fb.defined, dtype=bool)
                loc, err = np.asarray(fb.location, dtype=float), np.asarray(fb.error, dtype=float)
                b.fill_between(t[ok], (loc - err)[ok], (loc + err)[ok], color=green, alpha=0.25, lw=0)
                b.plot(t[ok], loc[ok], color=green, label="$x^\\star(t)$" if i == 0 else None)
            ref = _reference_curve(reference, t)
            if ref is not None:
                b.plot(t, ref, "k--", lw=1, label="reference")
            panel_b = {"xlabel": "$t$", "ylabel": f"boundary {quantity}", "title": "Free boundary"}
    finish(a, xlabel=quantity, ylabel="value", title="Value function")
    finish(b, **panel_b)
    return fig
