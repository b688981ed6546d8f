r"""Figures of stochdepth's results, in one house style (matplotlib; the ``plot`` extra).

One function per kind of result, each taking the library's result objects and returning a
:class:`matplotlib.figure.Figure` (no pyplot state):

* :func:`network_law`: a finite-network law against its limit (histograms, detrended QQ, 95% band);
* :func:`weak_error`: the weak error against the depth with the fitted rate;
* :func:`width_regime`: the width regime of ReLU post-activation norms (docs/science.md §A5);
* :func:`free_boundary`: the value function and the free boundary of an obstacle problem;
* :func:`depth_law`: the law of the optimal depth, against a limit law;
* :func:`accuracy_curve`, :func:`exit_histograms`: early-exit policies of trained networks.

The house style (:mod:`stochdepth.plot.style`): :func:`figure`, :func:`finish`, :func:`palette`
(Okabe--Ito), :func:`sequential`, :func:`outcome` (pass / fail / intended counterexample),
:func:`panel_letters`, :func:`panels` (every plotting function takes ``axes=`` to draw into
panels of a figure of one's own), :func:`style`, :data:`Z95`; :func:`save` writes PDF and PNG.

``import stochdepth`` never imports matplotlib; ``stochdepth.plot`` does, on first access. Install it
with ``pip install "stochdepth[plot]"``.

Examples
--------
>>> import numpy as np
>>> from scipy import stats
>>> from stochdepth import plot
>>> fig = plot.network_law(np.random.default_rng(1).normal(size=300), stats.norm())
>>> paths = plot.save(fig, __import__("tempfile").mkdtemp() + "/law")
>>> [p.suffix for p in paths]
['.pdf', '.png']
"""

from __future__ import annotations

try:
    import matplotlib  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError('stochdepth.plot needs matplotlib: pip install "stochdepth[plot]"') from exc

from .boundaries import free_boundary
from .convergence import weak_error, width_regime
from .exits import accuracy_curve, exit_histograms
from .laws import depth_law, network_law
from .style import (
    OKABE_ITO,
    OUTCOMES,
    Z95,
    figure,
    finish,
    outcome,
    palette,
    panel_letters,
    panels,
    save,
    sequential,
    style,
)

__all__ = [
    "OKABE_ITO",
    "OUTCOMES",
    "Z95",
    "accuracy_curve",
    "depth_law",
    "exit_histograms",
    "figure",
    "finish",
    "free_boundary",
    "network_law",
    "outcome",
    "palette",
    "panel_letters",
    "panels",
    "save",
    "sequential",
    "style",
    "weak_error",
    "width_regime",
]
