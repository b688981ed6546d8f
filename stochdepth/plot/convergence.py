r"""Figures of convergence in depth: the weak error against the depth, the width regime of ReLU norms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .style import OKABE_ITO, Z95, finish, palette, panels, sequential, style

__all__ = ["weak_error", "width_regime"]


def _fits(study: Any) -> dict[str, Any]:
    """``{name: WeakErrorFit}`` from a study (``.fits``), one fit, or a mapping of fits."""
    if hasattr(study, "fits"):
        fits = dict(study.fits)
    elif hasattr(study, "rate") and hasattr(study, "errors"):
        fits = {"": study}
    elif isinstance(study, Mapping):
        fits = dict(study)
    else:
        raise TypeError(
            f"study must be a WeakErrorStudy, a WeakErrorFit or a mapping of fits, got {type(study).__name__}"
        )
    if not fits:
        raise ValueError("study holds no fit")
    for name, fit in fits.items():
        if not all(hasattr(fit, a) for a in ("steps", "errors", "errors_stderr", "rate", "constant")):
            raise TypeError(f"the fit {name!r} is not a WeakErrorFit, got {type(fit).__name__}")
    return fits


def _depth_ticks(ax: Any, steps: list[float]) -> None:
    """A logarithmic depth axis labelled at the depths themselves (4, 8, 16, ...), not in powers of 10."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.set_xticks(steps, [f"{v:g}" for v in steps])
    ax.xaxis.set_minor_formatter(NullFormatter())


def weak_error(study: Any, *, labels: Mapping[str, str] | None = None, axes: Any = None) -> Any:
    r"""The weak error against the depth on log-log axes, with the fitted rate.

    For each observable: :math:`|D_k|` (the errors of the fit: level differences or errors against a
    reference) at the depths :math:`L_k` with 95% error bars, open markers for the levels the fit left
    out as unresolved, and the fitted power law :math:`C L^{-p}` labelled with :math:`p` and its 95%
    interval.

    Parameters
    ----------
    study : WeakErrorStudy, WeakErrorFit or mapping of str to WeakErrorFit
        From :func:`stochdepth.limits.weak_error_study` or :func:`stochdepth.stats.weak_error_fit`.
    labels : mapping of str to str or None, keyword-only
        Legend names per observable (mathtext allowed); default the observable names.
    axes : Axes or None, keyword-only
        Draw into this panel of a figure of one's own (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    docs/science.md §A2--A3 (the depth error is the weak error of the Euler scheme, order 1).

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.stats import weak_error_fit
    >>> L = np.array([4, 8, 16, 32])
    >>> fit = weak_error_fit(L, [(2.0 / l, 0.01 / l) for l in L], reference=0.0)
    >>> fig = weak_error(fit)
    >>> fig.axes[0].get_xscale()
    'log'
    """
    fits = _fits(study)
    labels = dict(labels or {})
    fig, (ax,) = panels(axes, 1)
    unresolved_labelled = False
    steps: set[float] = set()
    with style():
        for colour, (name, fit) in zip(palette(len(fits)), fits.items()):
            L = np.asarray(fit.steps, dtype=float)
            steps.update(L.tolist())
            err = np.abs(np.asarray(fit.errors, dtype=float))
            se = np.asarray(fit.errors_stderr, dtype=float)
            ok = np.asarray(getattr(fit, "resolved", np.ones(L.size, bool)), dtype=bool)
            # the lower end of a bar is clipped at a fraction of the point: log axes cannot show <= 0
            lower = np.minimum(Z95 * se, 0.9 * err)
            ax.errorbar(
                L[ok],
                err[ok],
                yerr=[lower[ok], Z95 * se[ok]],
                fmt="o",
                color=colour,
                capsize=2,
                label=labels.get(name, name) or None,
            )
            if np.any(~ok):
                ax.errorbar(
                    L[~ok],
                    err[~ok],
                    yerr=[lower[~ok], Z95 * se[~ok]],
                    fmt="o",
                    mfc="none",
                    color=colour,
                    capsize=2,
                    label="unresolved (left out)" if not unresolved_labelled else None,
                )
                unresolved_labelled = True
            if np.isfinite(fit.rate):
                lo, hi = getattr(fit, "rate_ci", (np.nan, np.nan))
                grid = np.geomspace(L.min(), L.max(), 50)
                ax.plot(
                    grid,
                    fit.constant * grid ** (-fit.rate),
                    color=colour,
                    lw=1,
                    label=rf"fit $p={fit.rate:.2f}$ [{lo:.2f}, {hi:.2f}]",
                )
    _depth_ticks(ax, sorted(steps))
    finish(ax, yscale="log", xlabel="depth $L$", ylabel="weak error $|D_L|$", title="Weak error")
    return fig


def width_regime(regime: Any, *, plain: bool = False, axes: Any = None) -> Any:
    r"""The width regime of ReLU networks: the mean log post-activation norm ratio over depth-time.

    One curve per width :math:`n` of :math:`\mathbb E[\log\|\phi(X_t)\|/\|\phi(X_0)\|\mid\text{alive}]`
    against :math:`t` with its 95% band; widths :math:`n\le3` (negative drift :math:`D(n)`) are dashed,
    :math:`n\ge4` solid: the change of regime of docs/science.md §A5.

    Parameters
    ----------
    regime : ReluRegime
        From :func:`stochdepth.limits.relu_regime` (``widths``, ``times``, ``mean``, ``stderr``).
    plain : bool, keyword-only
        Draw the estimate without the control variate (``plain_mean``, ``plain_stderr``).
    axes : Axes or None, keyword-only
        Draw into this panel of a figure of one's own (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    docs/science.md §A5 (the change of regime between widths 3 and 4).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> t = np.linspace(0, 1, 5)
    >>> reg = SimpleNamespace(widths=np.array([3, 4]), times=t, mean=np.outer([-0.1, 0.1], t),
    ...                       stderr=np.full((2, 5), 0.01))
    >>> fig = width_regime(reg)
    >>> len(fig.axes[0].lines) >= 3
    True
    """
    if not all(hasattr(regime, a) for a in ("widths", "times", "mean", "stderr")):
        raise TypeError(f"regime must be a ReluRegime, got {type(regime).__name__}")
    widths = np.asarray(regime.widths).ravel()
    t = np.asarray(regime.times, dtype=float)
    mean = np.atleast_2d(np.asarray(regime.plain_mean if plain else regime.mean, dtype=float))
    se = np.atleast_2d(np.asarray(regime.plain_stderr if plain else regime.stderr, dtype=float))
    if mean.shape != (widths.size, t.size) or se.shape != mean.shape:
        raise ValueError(f"mean and stderr must have shape {(widths.size, t.size)}, got {mean.shape}")
    fig, (ax,) = panels(axes, 1)
    with style():
        for colour, n, m, s in zip(sequential(widths.size), widths, mean, se):
            ls = "--" if n <= 3 else "-"
            ax.fill_between(t, m - Z95 * s, m + Z95 * s, color=colour, alpha=0.25, lw=0)
            ax.plot(t, m, ls, color=colour, label=f"$n={int(n)}$")
        ax.axhline(0.0, color=OKABE_ITO["black"], lw=0.7)
    finish(
        ax,
        xlabel="depth-time $t$",
        ylabel=r"$\mathbb{E}\,\log\|\phi(X_t)\|/\|\phi(X_0)\|$",
        title="Width regime",
    )
    return fig
