r"""Figures of laws: a finite-network law against its limit, and the law of the optimal depth."""

from __future__ import annotations

from typing import Any

import numpy as np

from .style import OKABE_ITO, Z95, finish, panels, style

__all__ = ["depth_law", "network_law"]


def _samples(obj: Any, observable: str | None, layer: int, what: str) -> np.ndarray:
    """One-dimensional samples of ``obj`` at ``layer``: a result with ``observed`` (``NetworkSample``,
    ``SimulationResult``), an ``Observed`` or an array of samples."""
    if hasattr(obj, "observed"):
        names = list(obj.observed)
        if observable is None:
            if len(names) != 1:
                raise ValueError(f"observable must name one of {names} (the {what} records several)")
            observable = names[0]
        if observable not in obj.observed:
            raise ValueError(f"observable must be one of {names}, got {observable!r}")
        obj = obj.observed[observable]
    if hasattr(obj, "samples") and hasattr(obj, "times"):
        if obj.samples is None:
            raise ValueError(f"the {what} kept no samples of {obj.name!r} (reduce with Samples())")
        s = np.asarray(obj.samples, dtype=float)
        n_times = s.shape[1]
        if not -n_times <= layer < n_times:
            raise ValueError(f"layer must index one of the {n_times} recorded layers, got {layer}")
        s = s[:, layer]
    else:
        try:
            s = np.asarray(obj, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(
                f"{what} must be a NetworkSample, SimulationResult, Observed or array of samples, "
                f"got {type(obj).__name__}"
            ) from None
    s = s.ravel()
    if s.size < 2 or not np.all(np.isfinite(s)):
        raise ValueError(f"the {what} needs at least 2 finite samples, got {s.size}")
    return np.sort(s)


def _is_distribution(obj: Any) -> bool:
    return all(hasattr(obj, m) for m in ("ppf", "cdf", "rvs"))


def network_law(
    sample: Any,
    reference: Any,
    *,
    observable: str | None = None,
    layer: int = -1,
    labels: tuple[str, str] = ("network", "limit"),
    quantity: str = "value",
    bins: int = 40,
    axes: Any = None,
) -> Any:
    r"""A finite-network law against its limit: histograms and a detrended QQ plot with a 95% band.

    Panel (a) overlays the density histograms (the reference as a curve when it is a distribution);
    panel (b) plots the sample quantiles minus the reference quantiles at probabilities
    :math:`p_i=(i-\frac12)/m` against the reference quantile, with the pointwise 95% band of a
    difference of sample quantiles under the hypothesis of one law,

    .. math::
        \pm z_{0.975}\,\frac{\sqrt{p(1-p)\,(1/N+1/M)}}{f(q_p)},

    where :math:`N`, :math:`M` are the sample sizes (:math:`1/M=0` for a distribution) and
    :math:`1/f(q_p)=dq_p/dp` is read off the reference quantile curve (asymptotic normality of sample
    quantiles; van der Vaart, *Asymptotic Statistics*, Cor. 21.5).

    Parameters
    ----------
    sample : NetworkSample, SimulationResult, Observed or array_like
        The finite networks (with a ``Samples()`` reducer).
    reference : same kinds, or a frozen scipy distribution
        The limit (e.g. :func:`stochdepth.limits.simulate_limit`) or an exact law.
    observable : str or None, keyword-only
        Name of the observable in results recording several.
    layer : int, keyword-only
        Recorded layer (index into the recorded times; default the last).
    labels : (str, str), keyword-only
        Legend names of ``sample`` and ``reference``.
    quantity : str, keyword-only
        The axis label of the observable (mathtext allowed, e.g. ``r"$\log\|Y_L\|$"``).
    bins : int, keyword-only
        Histogram bins (>= 5).
    axes : pair of Axes or None, keyword-only
        Draw into these two panels of a figure of one's own (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    docs/science.md §A2--A3 (the network law and its depth limit).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> fig = network_law(np.random.default_rng(0).normal(size=500), stats.norm())
    >>> len(fig.axes)
    2
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 5:
        raise ValueError(f"bins must be an integer >= 5, got {bins!r}")
    if not (isinstance(labels, (tuple, list)) and len(labels) == 2):
        raise ValueError(f"labels must be a pair of names, got {labels!r}")
    x = _samples(sample, observable, layer, "sample")
    dist = reference if _is_distribution(reference) else None
    y = None if dist is not None else _samples(reference, observable, layer, "reference")
    m = min(x.size, 200)
    p = (np.arange(1, m + 1) - 0.5) / m
    qx = np.quantile(x, p)
    qy = dist.ppf(p) if dist is not None else np.quantile(y, p)
    inv_m = 0.0 if y is None else 1.0 / y.size
    band = Z95 * np.sqrt(p * (1 - p) * (1.0 / x.size + inv_m)) * np.gradient(qy, p)
    fig, (a, b) = panels(axes, 2)
    blue, red = OKABE_ITO["blue"], OKABE_ITO["vermillion"]
    with style():
        lo = min(x[0], qy[0]) if y is None else min(x[0], y[0])
        hi = max(x[-1], qy[-1]) if y is None else max(x[-1], y[-1])
        edges = np.linspace(lo, hi, bins + 1)
        a.hist(x, bins=edges, density=True, color=blue, alpha=0.45, label=f"{labels[0]} ($N={x.size}$)")
        if y is None:
            grid = np.linspace(lo, hi, 400)
            a.plot(grid, dist.pdf(grid), color=red, label=labels[1])
        else:
            a.hist(
                y,
                bins=edges,
                density=True,
                histtype="step",
                color=red,
                lw=1.3,
                label=f"{labels[1]} ($M={y.size}$)",
            )
        b.fill_between(qy, -band, band, color="0.85", lw=0, label="95% band, one law")
        b.plot(qy, qx - qy, "o", ms=2.5, color=blue, mfc="none", label=f"{labels[0]} $-$ {labels[1]}")
        b.axhline(0.0, color="k", lw=0.7)
    finish(a, xlabel=quantity, ylabel="density", title="Law")
    finish(b, xlabel=f"{labels[1]} quantile", ylabel="quantile difference", title="Detrended QQ")
    return fig


def depth_law(
    law: Any,
    *,
    reference: Any = None,
    step: float = 1.0,
    label: str = "optimal depth",
    reference_label: str = "limit law",
    axes: Any = None,
) -> Any:
    r"""The law of an optimal depth :math:`\tau^\star`: probability mass and distribution function.

    Panel (a) draws :math:`\mathbb P(\tau^\star=l)` as bars against the depth-time :math:`l\,h`; panel
    (b) the distribution function :math:`\mathbb P(\tau^\star\le l)`, with, for an empirical law, the
    95% Dvoretzky--Kiefer--Wolfowitz band :math:`\pm\sqrt{\log(2/0.05)/(2N)}` (Massart 1990). A
    continuous ``reference`` (e.g. the inverse Gaussian law of
    :meth:`stochdepth.depth.LinearResNetDepth.depth_law`) is drawn over both: its density times
    :math:`h` on (a), its distribution function on (b).

    Parameters
    ----------
    law : DepthLaw
        From a solver (``stopping`` results, :class:`~stochdepth.depth.BridgeResult` ``.depth_law``);
        anything with ``pmf``, ``exact`` and ``mean`` (an ``Estimate`` whose ``n`` is the sample size of
        an empirical law).
    reference : frozen scipy distribution or None, keyword-only
        A continuous law of :math:`\tau^\star` in depth-time.
    step : float, keyword-only
        Depth-time per layer :math:`h>0` (1: the axis is in layers).
    label, reference_label : str, keyword-only
        Legend names.
    axes : pair of Axes or None, keyword-only
        Draw into these two panels of a figure of one's own (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    docs/science.md §B1 (the optimal depth), §B6 (its inverse Gaussian limit).

    Examples
    --------
    >>> from stochdepth.stopping import DepthLaw
    >>> fig = depth_law(DepthLaw.from_pmf([0.5, 0.3, 0.2]))
    >>> [ax.get_title() for ax in fig.axes]
    ['Probability mass', 'Distribution function']
    """
    if not hasattr(law, "pmf"):
        raise TypeError(f"law must be a DepthLaw (with a pmf), got {type(law).__name__}")
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not np.isfinite(step) or step <= 0:
        raise ValueError(f"step must be a positive depth-time, got {step!r}")
    if reference is not None and not _is_distribution(reference):
        raise TypeError(f"reference must be a frozen scipy distribution, got {type(reference).__name__}")
    pmf = np.asarray(law.pmf, dtype=float)
    if pmf.size == 0:
        raise ValueError(
            "law has no probabilities, only its moments (e.g. log_norm_bridge(..., law=False)): "
            "compute the law to draw it"
        )
    t = np.arange(pmf.size) * step
    cdf = np.cumsum(pmf)
    fig, (a, b) = panels(axes, 2)
    blue, red = OKABE_ITO["blue"], OKABE_ITO["vermillion"]
    unit = "layers $l$" if step == 1.0 else "depth-time $lh$"
    # the axis ends where 99.9% of the mass is reached (a long thin tail would squash the picture)
    end = t[min(int(np.searchsorted(cdf, 0.999 * cdf[-1])) + 1, t.size - 1)] + step
    with style():
        if pmf.size <= 60:
            a.bar(t, pmf, width=0.85 * step, color=blue, alpha=0.6, label=label)
        else:
            a.fill_between(t, pmf, step="mid", color=blue, alpha=0.5, lw=0, label=label)
        b.step(t, cdf, where="post", color=blue, label=label)
        n = getattr(getattr(law, "mean", None), "n", None)
        if not getattr(law, "exact", True) and n:
            eps = np.sqrt(np.log(2 / 0.05) / (2 * n))
            b.fill_between(
                t,
                np.clip(cdf - eps, 0, 1),
                np.clip(cdf + eps, 0, 1),
                step="post",
                color=blue,
                alpha=0.2,
                lw=0,
                label="95% band",
            )
        if reference is not None:
            grid = np.linspace(step * 1e-3, end, 400)
            a.plot(grid, reference.pdf(grid) * step, color=red, label=reference_label)
            b.plot(grid, reference.cdf(grid), color=red, label=reference_label)
    lims = {"xlim": (-0.5 * step, end)}
    finish(a, xlabel=unit, ylabel=r"$\mathbb{P}(\tau^\star=l)$", title="Probability mass", **lims)
    finish(
        b,
        xlabel=unit,
        ylabel=r"$\mathbb{P}(\tau^\star\leq l)$",
        title="Distribution function",
        ylim=(0, 1.02),
        **lims,
    )
    return fig
