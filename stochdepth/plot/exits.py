r"""Figures of early-exit policies: accuracy against depth or FLOPs, and the histograms of exit depths.

The functions read the attributes of :class:`stochdepth.depth.PolicyCurve` (one point per threshold of
a policy): ``label``, ``mean_depth``, ``mean_flops``, ``accuracy``, ``accuracy_low``,
``accuracy_high`` (arrays of the points) and ``exit_histograms`` (``(n_points, n_exits)`` counts).
Any object with these attributes is accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .style import finish, palette, panels, sequential, style

__all__ = ["accuracy_curve", "exit_histograms"]

_CURVE = ("label", "mean_depth", "mean_flops", "accuracy", "accuracy_low", "accuracy_high")


def _curves(curves: Any, needed: Sequence[str]) -> list[Any]:
    """A list of policy curves (one curve or a sequence), each with the ``needed`` attributes."""
    items = (
        [curves] if hasattr(curves, "accuracy") else list(curves) if isinstance(curves, Sequence) else None
    )
    if not items:
        raise TypeError(f"curves must be a PolicyCurve or a non-empty sequence of them, got {curves!r}")
    for i, c in enumerate(items):
        missing = [a for a in needed if not hasattr(c, a)]
        if missing:
            raise TypeError(f"curves[{i}] is not a PolicyCurve: it lacks {missing}")
    return items


def accuracy_curve(
    curves: Any, *, x: str = "depth", full: tuple[float, float] | None = None, axes: Any = None
) -> Any:
    r"""Accuracy against the mean exit depth (or mean FLOPs) of one or several exit policies.

    Each policy is a line through its points (one per threshold) with the band of the accuracy
    (``accuracy_low`` to ``accuracy_high``: an interval at the curve's ``level``, 95% by convention),
    labelled with its level when the curves carry one.

    Parameters
    ----------
    curves : PolicyCurve or sequence of PolicyCurve
        The policies to compare.
    x : {"depth", "flops"}, keyword-only
        Horizontal axis: ``mean_depth`` (layers) or ``mean_flops``.
    full : (float, float) or None, keyword-only
        ``(cost, accuracy)`` of the full network, marked with a star.
    axes : Axes or None, keyword-only
        Draw into this panel of a figure of one's own (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    docs/science.md §B7 (exit policies of trained networks as stopping rules).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> acc = np.array([0.7, 0.8, 0.9])
    >>> c = SimpleNamespace(label="confidence", mean_depth=np.array([2.0, 3.5, 5.0]),
    ...                     mean_flops=np.array([1e6, 2e6, 3e6]), accuracy=acc,
    ...                     accuracy_low=acc - 0.05, accuracy_high=acc + 0.05)
    >>> accuracy_curve(c, x="flops").axes[0].get_xlabel()
    'mean FLOPs per sample'
    """
    if x not in ("depth", "flops"):
        raise ValueError(f"x must be 'depth' or 'flops', got {x!r}")
    items = _curves(curves, _CURVE)
    fig, (ax,) = panels(axes, 1)
    with style():
        for colour, c in zip(palette(len(items)), items):
            cost = np.asarray(c.mean_depth if x == "depth" else c.mean_flops, dtype=float)
            acc = np.asarray(c.accuracy, dtype=float)
            lo, hi = np.asarray(c.accuracy_low, dtype=float), np.asarray(c.accuracy_high, dtype=float)
            if not cost.shape == acc.shape == lo.shape == hi.shape or acc.ndim != 1:
                raise ValueError(f"policy {c.label!r}: cost and accuracy arrays must have one equal length")
            order = np.argsort(cost)
            level = getattr(c, "level", None) if c is items[0] else None
            band = f"{level:.0%} interval" if isinstance(level, float) else None
            ax.fill_between(cost[order], lo[order], hi[order], color=colour, alpha=0.2, lw=0, label=band)
            ax.plot(cost[order], acc[order], "o-", ms=3, color=colour, label=str(c.label))
        if full is not None:
            ax.plot([full[0]], [full[1]], "*", ms=10, color="k", label="full network")
    xlabel = "mean exit depth (layers)" if x == "depth" else "mean FLOPs per sample"
    finish(ax, xlabel=xlabel, ylabel="accuracy", title="Accuracy against cost")
    return fig


def exit_histograms(curves: Any, *, points: Sequence[int] | None = None, axes: Any = None) -> Any:
    r"""Histograms of the exit depth of each policy at a few of its thresholds.

    One panel per policy; one step line per selected point (threshold), the fraction of samples leaving
    at each exit :math:`l=1,\dots,L`, labelled with the point's mean depth and accuracy.

    Parameters
    ----------
    curves : PolicyCurve or sequence of PolicyCurve
        With ``exit_histograms`` of shape ``(n_points, n_exits)``.
    points : sequence of int or None, keyword-only
        Indices of the points to draw; default the first, middle and last.
    axes : Axes, sequence of Axes or None, keyword-only
        One panel per policy of a figure of one's own (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> c = SimpleNamespace(label="patience", mean_depth=np.array([1.5, 2.5]), accuracy=np.array([0.8, 0.9]),
    ...                     exit_histograms=np.array([[5, 5, 0], [0, 5, 5]]))
    >>> len(exit_histograms(c).axes)
    1
    """
    items = _curves(curves, ("label", "mean_depth", "accuracy", "exit_histograms"))
    fig, chosen_axes = panels(axes, len(items))
    for ax, c in zip(chosen_axes, items):
        h = np.asarray(c.exit_histograms, dtype=float)
        if h.ndim != 2 or h.shape[0] != np.size(c.accuracy) or np.any(h < 0):
            raise ValueError(f"policy {c.label!r}: exit_histograms must be (n_points, n_exits) counts >= 0")
        chosen = sorted({0, h.shape[0] // 2, h.shape[0] - 1}) if points is None else list(points)
        if any(not -h.shape[0] <= int(p) < h.shape[0] for p in chosen):
            raise ValueError(f"points must index the {h.shape[0]} points of policy {c.label!r}, got {chosen}")
        exits = np.arange(1, h.shape[1] + 1)
        with style():
            for colour, p in zip(sequential(len(chosen)), chosen):
                freq = h[p] / max(h[p].sum(), 1.0)
                label = rf"$\bar{{l}}={np.asarray(c.mean_depth)[p]:.2f}$, acc {np.asarray(c.accuracy)[p]:.3f}"
                ax.step(exits, freq, where="mid", color=colour, label=label)
        finish(ax, xlabel="exit $l$", ylabel="fraction of samples", title=str(c.label))
    return fig
