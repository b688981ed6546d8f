r"""The house style of stochdepth's figures: palette, panels, labels, bands and files.

Every figure of the library, the validation campaigns and the gallery is drawn with these pieces, so that
they look alike: the Okabe--Ito palette (distinguishable under the common colour-vision deficiencies),
mathtext labels, short titles, a bold panel letter on every panel of a multi-panel figure, 95% bands
(:data:`Z95` standard errors) where a reader expects a confidence band, and three distinct *outcome*
styles so that an intended counterexample is never drawn like a failure.

Figures are :class:`matplotlib.figure.Figure` objects built without pyplot (no global figure manager,
no GUI backend): they can be drawn in threads and tests and are freed with the last reference.
"""

from __future__ import annotations

import contextlib
import os
import string
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "OKABE_ITO",
    "OUTCOMES",
    "Z95",
    "figure",
    "finish",
    "outcome",
    "palette",
    "panel_letters",
    "panels",
    "save",
    "sequential",
    "style",
]

#: The Okabe--Ito palette (Okabe & Ito 2008), in the order the house style uses it for lines.
OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish green": "#009E73",
    "orange": "#E69F00",
    "reddish purple": "#CC79A7",
    "sky blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}

#: Half-width of a two-sided 95% normal interval in standard errors, :math:`\Phi^{-1}(0.975)`.
Z95 = 1.959963984540054

#: Marker styles of the three outcomes a validation figure shows: a check that holds (``"pass"``), one
#: that fails (``"fail"``: a filled vermillion cross) and an intended counterexample (``"counterexample"``:
#: an open grey diamond on a dashed line), which is expected to break a hypothesis and is not a failure.
OUTCOMES: dict[str, dict[str, Any]] = {
    "pass": {"color": OKABE_ITO["blue"], "marker": "o", "linestyle": "-"},
    "fail": {"color": OKABE_ITO["vermillion"], "marker": "X", "linestyle": "-", "markersize": 8},
    "counterexample": {"color": "0.45", "marker": "D", "linestyle": "--", "markerfacecolor": "none"},
}

_RC: dict[str, Any] = {
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": None,  # set below from the palette
    "lines.linewidth": 1.3,
    "lines.markersize": 4,
    "mathtext.fontset": "dejavusans",
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,
}


def _check_count(name: str, k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {k!r}")
    return int(k)


def palette(k: int) -> list[str]:
    """``k`` colours of the Okabe--Ito palette, in the house order (cycling after 8).

    For more than 8 series use :func:`sequential` or split the figure: colours repeat after 8.

    Examples
    --------
    >>> palette(2)
    ['#0072B2', '#D55E00']
    """
    k = _check_count("k", k)
    colours = list(OKABE_ITO.values())
    return [colours[i % len(colours)] for i in range(k)]


def sequential(k: int) -> list[tuple[float, float, float, float]]:
    """``k`` colours of an ordered quantity (widths, depths) from the cividis map, which stays ordered in
    lightness under colour-vision deficiencies (ends trimmed so that no colour is white or black)."""
    from matplotlib import colormaps

    k = _check_count("k", k)
    cmap = colormaps["cividis"]
    return [cmap(v) for v in np.linspace(0.05, 0.85, max(k, 1))][:k]


def outcome(kind: str) -> dict[str, Any]:
    """Keyword arguments of ``ax.plot`` for an outcome: ``"pass"``, ``"fail"`` or ``"counterexample"``
    (see :data:`OUTCOMES`)."""
    if kind not in OUTCOMES:
        raise ValueError(f"kind must be one of {sorted(OUTCOMES)}, got {kind!r}")
    return dict(OUTCOMES[kind])


def _rc() -> dict[str, Any]:
    from cycler import cycler

    return {**_RC, "axes.prop_cycle": cycler(color=palette(8))}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context in which new figures, axes and texts take the house style (fonts, spines, colour cycle).

    Every plotting function of :mod:`stochdepth.plot` draws inside it; wrap figure code of one's own in
    ``with style():`` to match.
    """
    import matplotlib

    with matplotlib.rc_context(_rc()):
        yield


def figure(
    ncols: int = 1,
    nrows: int = 1,
    *,
    width: float = 3.4,
    height: float = 2.7,
    letters: bool | None = None,
) -> tuple[Any, np.ndarray]:
    """A figure with an ``(nrows, ncols)`` grid of panels, each ``width`` x ``height`` inches.

    Parameters
    ----------
    ncols, nrows : int
        Grid of panels (at least 1 each).
    width, height : float
        Size of one panel in inches (> 0).
    letters : bool or None
        Draw the panel letters (a), (b), ...; default: when there is more than one panel.

    Returns
    -------
    fig : matplotlib.figure.Figure
        With constrained layout, in the house style.
    axes : ndarray of Axes, shape (nrows, ncols)
        Always two-dimensional.
    """
    from matplotlib.figure import Figure

    for name, v in (("ncols", ncols), ("nrows", nrows)):
        if _check_count(name, v) < 1:
            raise ValueError(f"{name} must be >= 1, got {v!r}")
    for name, v in (("width", width), ("height", height)):
        if not isinstance(v, (int, float)) or not np.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a positive number of inches, got {v!r}")
    with style():
        fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False)
    if letters or (letters is None and axes.size > 1):
        panel_letters(axes)
    return fig, axes


def panels(axes: Any, n: int) -> tuple[Any, list[Any]]:
    """The figure and the ``n`` panels a plotting function draws into.

    ``axes=None``: a new figure of ``n`` panels in a row (:func:`figure`); otherwise the given
    :class:`~matplotlib.axes.Axes` (``n == 1``) or sequence of ``n`` Axes of one figure, so that a
    plotting function can fill panels of a larger figure of one's own.
    """
    from matplotlib.axes import Axes

    if axes is None:
        fig, grid = figure(ncols=n)
        return fig, list(grid[0])
    flat = [axes] if isinstance(axes, Axes) else list(np.asarray(axes, dtype=object).ravel())
    if len(flat) != n or not all(isinstance(a, Axes) for a in flat):
        raise TypeError(
            f"axes must be {'an Axes' if n == 1 else f'a sequence of {n} Axes'} or None, got {axes!r}"
        )
    if len({id(a.figure) for a in flat}) != 1:
        raise ValueError("axes must belong to one figure")
    return flat[0].figure, flat


def panel_letters(axes: Any, *, start: int = 0) -> None:
    """Write a bold letter (a), (b), ... in the top-left corner of each panel, row by row."""
    flat = list(np.asarray(axes, dtype=object).ravel())
    if start + len(flat) > len(string.ascii_lowercase):
        raise ValueError(f"at most 26 panels can be lettered, got {start + len(flat)}")
    for letter, ax in zip(string.ascii_lowercase[start:], flat):
        ax.text(
            -0.02,
            1.02,
            f"({letter})",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=9,
            fontweight="bold",
        )


def finish(ax: Any, legend: dict[str, Any] | bool | None = None, **props: Any) -> None:
    """Label a panel in the house style: ``ax.set(**props)`` (``xlabel``, ``ylabel``, ``title``, scales,
    limits, in the order given), house font sizes, and a legend when the panel has labelled artists
    (``legend=False``: none; a dict: keyword arguments of ``ax.legend``).

    Titles are meant to be short (a few words); the numbers belong in the caption or the report.
    """
    ax.set(**props)
    rc = _RC
    ax.title.set_fontsize(rc["axes.titlesize"])
    ax.xaxis.label.set_fontsize(rc["axes.labelsize"])
    ax.yaxis.label.set_fontsize(rc["axes.labelsize"])
    ax.tick_params(labelsize=rc["xtick.labelsize"])
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if legend is False:
        return
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        opts = {"fontsize": rc["legend.fontsize"], "frameon": False}
        ax.legend(**{**opts, **(legend if isinstance(legend, dict) else {})})


def _check_figure(fig: Any) -> None:
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")


def _writable_folder(folder: Path) -> Path:
    """Create ``folder`` if needed and check that a file can be written there (before any rendering)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"path: cannot create the folder {str(folder)!r} ({exc.strerror})") from None
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"path: the folder {str(folder)!r} is not writable")
    return folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save(
    fig: Any, path: str | os.PathLike, *, formats: Sequence[str] = ("pdf", "png"), dpi: int = 200
) -> tuple[Path, ...]:
    """Write ``fig`` as vector (PDF) and raster (PNG) files: ``path`` with each suffix of ``formats``.

    Each file is written to a temporary name and renamed, so an interrupted save never leaves a
    half-written figure. The folder is created if needed.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like
        Target without suffix (a suffix among ``formats`` is dropped: ``"fig.png"`` writes ``fig.pdf``
        and ``fig.png``).
    formats : sequence of {"pdf", "png", "svg"}
        File formats, at least one.
    dpi : int
        Resolution of the raster formats (>= 50).

    Returns
    -------
    tuple of Path
        The files written, in the order of ``formats``.

    Raises
    ------
    TypeError
        If ``fig`` is not a Figure.
    ValueError
        For an unknown format, a resolution below 50, or a folder that cannot be created or written;
        before anything is rendered.
    """
    _check_figure(fig)
    allowed = ("pdf", "png", "svg")
    formats = tuple(formats) if not isinstance(formats, str) else (formats,)
    if not formats or any(f not in allowed for f in formats):
        raise ValueError(f"formats must be a non-empty selection of {allowed}, got {formats!r}")
    if isinstance(dpi, bool) or not isinstance(dpi, (int, np.integer)) or dpi < 50:
        raise ValueError(f"dpi must be an integer >= 50, got {dpi!r}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or path-like, got {type(path).__name__}")
    path = Path(path)
    if path.suffix.lstrip(".") in allowed:
        path = path.with_suffix("")
    folder = _writable_folder(path.parent)
    written = []
    with style():
        for fmt in formats:
            target = folder / f"{path.name}.{fmt}"
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}", suffix=f".{fmt}")
            os.close(fd)
            try:
                fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
                os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates private files
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            written.append(target)
    return tuple(written)
