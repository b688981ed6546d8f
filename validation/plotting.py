"""Small plotting helpers shared by the validation campaigns.

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot state, no GUI backend), so a
campaign can run in a thread or a test without touching the global figure manager; save them with
:meth:`validation.runner.Context.savefig`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["figure", "finish", "palette", "table"]


def figure(
    ncols: int = 1, nrows: int = 1, *, width: float = 4.4, height: float = 3.5
) -> tuple[Any, np.ndarray]:
    """A figure with an ``(nrows, ncols)`` grid of axes (always a 2-d array) and constrained layout.

    Parameters
    ----------
    ncols, nrows : int
        Grid of panels, each ``width`` x ``height`` inches.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def finish(ax: Any, legend: dict[str, Any] | None = None, **props: Any) -> None:
    """Label a panel and draw its legend: ``ax.set(**props)`` (``xlabel``, ``ylabel``, ``title``, scales,
    limits, in the order given), then ``ax.legend`` with font size 7 unless ``legend`` says otherwise."""
    ax.set(**props)
    ax.legend(**{"fontsize": 7, **(legend or {})})


def palette(k: int, name: str = "viridis") -> list[Any]:
    """``k`` distinguishable colours sampled from a matplotlib colormap (ends trimmed for contrast)."""
    from matplotlib import colormaps

    cmap = colormaps[name]
    return [cmap(v) for v in np.linspace(0.05, 0.85, max(k, 1))]


def table(header: list[str], rows: list[list[Any]], caption: str | None = None) -> str:
    """A Markdown table (cells converted with ``str``), optionally preceded by a bold caption line."""
    lines = [f"**{caption}**", ""] if caption else []
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
