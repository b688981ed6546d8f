r"""B6, discrete half: the optimal depth of a finite-depth linear random ResNet.

For the linear network of docs/science.md §A4, the log-norm :math:`y_l=\log\|Y_l\|` is an exact random walk,
:math:`y_{l+1}=y_l+\tfrac12\log\xi_l` with i.i.d. :math:`\xi_l` (law:
:func:`stochdepth.limits.linear.linear_log_factor_law`, step :math:`h=t_1/L`). With the gain
:math:`g(y)=-(y-a)^2` and the cost :math:`c` per unit depth (:math:`ch` per layer), stopping the walk is an
infinite-horizon Markov problem, solved exactly on a fine grid
(:func:`~stochdepth.stopping.random_walk_transitions`, :class:`~stochdepth.stopping.PolicyIteration`).
As :math:`L\to\infty` it must converge to the continuous-depth answer of docs/science.md §B6 (derived there by
smooth fit): for :math:`n\ge3`,
:math:`m=\tfrac12-\tfrac1n`, :math:`s=1/\sqrt n`,

.. math::
    y^\star=a-\frac{c}{2m},\qquad V(y)=g(y^\star)-\frac cm(y^\star-y)\quad(y<y^\star),\qquad
    \tau^\star\sim\mathrm{IG}\Big(\frac{y^\star-y_0}{m},\ \frac{(y^\star-y_0)^2}{s^2}\Big)

in depth-time, and for :math:`n\le2` stopping at once below the target. :func:`log_norm_bridge` reports
the discrete threshold, value, :math:`\mathbb E\tau^\star` and the Kolmogorov distance of the depth law to
the inverse Gaussian, so that convergence rates in :math:`L` can be fitted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as st

from .._checks import check_bool, check_int, check_memory, check_real
from .._results import Result
from ..stopping import (
    BandedTransitions,
    DepthLaw,
    MarkovSolution,
    MarkovStoppingProblem,
    PolicyIteration,
    ValueIteration,
    random_walk_transitions,
    solve_stopping,
)
from ..stopping.evaluation import expected_exit_time

__all__ = ["BridgeResult", "linear_resnet_stopping_problem", "log_norm_bridge"]

_MARGIN_SD = 4.0
_DEFAULT_MAX_STATES = 2**15


def _exact_law(width: int, depth: int, t1: float) -> Any:
    """The exact law of one layer's log squared-norm factor (docs/science.md §A4)."""
    from ..limits import linear_log_factor_law

    return linear_log_factor_law(width, depth, t1)


def _increment_law(width: int, depth: int, t1: float, increment: Any) -> tuple[Callable[..., Any], float]:
    r"""The cdf of the increment ``y_{l+1} - y_l`` and a number of the sign of its mean (``nan`` if unknown).

    For the exact law the mean is never negative when :math:`n\ge2`: :math:`\log\|x\|^2` is
    subharmonic on :math:`\mathbb R^n` (:math:`\Delta\log\|x\|^2=2(n-2)/\|x\|^2`, and for
    :math:`n=2` the mean over a circle about :math:`e_1` is :math:`\log\max(1,r^2)\ge0`), so its
    Gaussian average about :math:`e_1` is at least its value 0 there.
    """
    if increment is not None:
        if not hasattr(increment, "cdf"):
            raise TypeError("increment must have a vectorised cdf (e.g. a frozen scipy.stats distribution)")
        try:
            mean = float(increment.mean())
        except (AttributeError, TypeError, ValueError):  # no usable mean: the shortcut is skipped
            mean = math.nan
        return increment.cdf, mean
    law = _exact_law(width, depth, t1)
    return (lambda d: law.cdf(2.0 * np.asarray(d, dtype=float))), (1.0 if width >= 2 else math.nan)


#: Bytes per (state x band entry) of a solve: the bands, their transpose, the sparse copy, the banded
#: LU factors and the restricted system (rounded up).
_BYTES_PER_ENTRY = 64
#: Smallest grid step relative to the size of the grid's coordinates (2**-30: the grid points are then
#: still thousands of float64 spacings apart).
_MIN_RELATIVE_STEP = 2.0**-30
#: Largest non-centrality width * depth / t1 of the exact increment law (scipy's ncx2 cdf, Boost's
#: Marcum Q, was finite over +-12 sd up to 1.02e10 and returned NaN at 4.1e10; 5e9 keeps a margin).
#: Wide networks (width above 1e4) are not limited: their law's cdf is computed by quadrature.
_MAX_NONCENTRALITY = 5e9


def _stops_at_once(y0: float, a: float, ch: float, drift: float) -> bool:
    r"""Whether stopping at once is optimal for the gain :math:`-(y-a)^2`, exactly (no grid needed).

    Continuing one layer is worth at most :math:`-ch+\sup g=-ch`, so :math:`g(y_0)\ge-ch` suffices. If
    the increment's mean :math:`\mu` is :math:`\ge0` and :math:`y_0\ge a` (or :math:`\le0` and
    :math:`y_0\le a`), Wald's identity gives :math:`\mathbb E y_\tau-a` of the sign of :math:`y_0-a`
    and at least as large in size, and Jensen's inequality
    :math:`\mathbb E g(y_\tau)\le-(\mathbb E y_\tau-a)^2\le g(y_0)`.
    """
    if abs(y0 - a) <= math.sqrt(ch):
        return True
    if math.isnan(drift):
        return False
    return (drift >= 0 and y0 >= a) or (drift <= 0 and y0 <= a)


def _threshold(
    prob: MarkovStoppingProblem, sol: MarkovSolution, grid: np.ndarray, y0: float, ch: float
) -> float:
    """First sign change of ``g - continuation`` above ``y0``, linearly interpolated (``nan`` if none)."""
    d = prob.gains_at(0) - (-ch + prob.chain.expect(0, sol.values))
    i0 = int(np.searchsorted(grid, y0))
    idx = np.nonzero((d[:-1] < 0) & (d[1:] >= 0))[0]
    idx = idx[idx >= i0 - 1]
    if not idx.size:
        return math.nan
    k = int(idx[0])
    return float(grid[k] + (grid[k + 1] - grid[k]) * (-d[k]) / (d[k + 1] - d[k]))


def _grid_bounds(n: int, L: int, a: float, c: float, y0: float, t1: float, msd: float) -> tuple[float, ...]:
    """Lower and upper ends of the grid of :func:`linear_resnet_stopping_problem`, and one layer's sd."""
    h = t1 / L
    m = 0.5 - 1.0 / n
    s = 1.0 / math.sqrt(n)
    ystar = _threshold_limit(n, a, c)
    T0 = max(ystar - y0, 0.0) / m if m > 0 else 1.0
    spread = s * math.sqrt(T0 + 1.0)
    # below the start a walk with drift m > 0 ever goes x lower with probability exp(-2 m x / s^2):
    # margin_sd^2 / 2 * s^2 / m puts that below exp(-margin_sd^2)
    # with m > 0 the threshold below y0 (and a below y0) play no part: the walk starts in the stopping
    # region and moves up on average; only the margin below y0 matters
    lo = (y0 if m > 0 else min(y0, a)) - (0.5 * msd * msd * s * s / m if m > 0 else msd * spread)
    hi = max(y0, ystar, a) + msd * s * math.sqrt(h) + 0.1 * spread
    return lo, hi, s * math.sqrt(h)


def _threshold_limit(n: int, a: float, c: float) -> float:
    r"""The closed-form threshold :math:`y^\star=a-c/(2m)` (``a`` when :math:`m\le0`)."""
    m = 0.5 - 1.0 / n
    return a - c / (2 * m) if m > 0 else a


def _default_points_per_sd(n: int, L: int, a: float, c: float, y0: float, t1: float) -> int:
    """16 grid points per layer sd, fewer (not below 2) where 16 would need more than 2**15 states."""
    lo, hi, sd = _grid_bounds(n, L, a, c, y0, t1, _MARGIN_SD)
    per_point = (hi - lo) / sd  # grid states per point per sd
    return int(min(16, max(2, _DEFAULT_MAX_STATES // max(per_point, 1.0))))


def linear_resnet_stopping_problem(
    width: int,
    depth: int,
    target: float,
    cost: float,
    *,
    y0: float = 0.0,
    t1: float = 1.0,
    points_per_sd: int = 16,
    margin_sd: float = _MARGIN_SD,
    increment: Any = None,
    edge_at: float | None = None,
) -> tuple[MarkovStoppingProblem, np.ndarray]:
    r"""The log-norm walk of a width-:math:`n`, depth-:math:`L` linear ResNet as a stopping problem.

    Grid step :math:`\delta=s\sqrt h/`\ ``points_per_sd`` (:math:`s=1/\sqrt n`, :math:`h=t_1/L`); grid
    point :math:`y_j` stands for the cell :math:`[y_j-\delta/2,y_j+\delta/2)`. By default :math:`y_0` is a
    grid point; with ``edge_at`` the grid is shifted so that a cell edge sits at ``edge_at`` (a stopping
    threshold: the chain then stops exactly beyond it) and the initial law splits :math:`y_0` linearly
    between its two neighbours (its mean is exact). The grid spans the start, the target and the
    closed-form threshold with margins set by ``margin_sd``. Gain
    :math:`-(y-a)^2`, cost :math:`ch` per layer, infinite horizon; the two edge states are absorbing, and
    so are the states :math:`y\ge a` when the increment's mean is known to be :math:`\ge0` (stopping there
    is then optimal, see :func:`log_norm_bridge`).

    Parameters
    ----------
    width : int
        :math:`n\ge1`.
    depth : int
        :math:`L\ge1` (sets the step :math:`h=t_1/L`).
    target : float
        :math:`a`.
    cost : float
        :math:`c>0` per unit depth-time.
    y0 : float, optional
        Starting log-norm (relative to :math:`\log\|Y_0\|`). Default 0.
    t1 : float, optional
        Depth-time of the :math:`L` layers (the branch scale is :math:`\sqrt{t_1/L}`). Default 1.
    points_per_sd : int, optional
        Grid points per standard deviation of one layer's increment. Default 16.
    margin_sd : float, optional
        Grid margins: below the start, the walk (drift :math:`m>0`) reaches the lower edge with probability
        :math:`e^{-\text{margin}^2}`; above, ``margin_sd`` one-layer standard deviations past the largest
        of the start, the target and the threshold. Default 4.
    increment : frozen distribution, optional
        Law of the increment :math:`y_{l+1}-y_l` (with a vectorised ``cdf``); default the exact law
        :math:`\tfrac12\log\xi` of docs/science.md §A4.
    edge_at : float, optional
        Put a cell edge here (see above).

    Returns
    -------
    (MarkovStoppingProblem, numpy.ndarray)
        The problem (initial law at :math:`y_0`) and its grid.

    Raises
    ------
    ValueError
        Before any work: when the grid would not fit in memory (the message states its states, step and
        span, and the memory it would need); when its step is below float64's resolution at its
        coordinates (a huge ``y0``); when the exact increment law is beyond scipy's non-central
        chi-square (non-centrality ``width * depth / t1`` above :math:`5\times10^9` at a width of
        :math:`10^4` or less; wider networks use a quadrature, see
        ``LinearLogFactorLaw.wide`` in :mod:`stochdepth.limits`).
    """
    n = check_int("width", width, min=1)
    L = check_int("depth", depth, min=1)
    a = check_real("target", target)
    c = check_real("cost", cost, lo=0.0, lo_open=True)
    y0 = check_real("y0", y0)
    t1 = check_real("t1", t1, lo=0.0, lo_open=True)
    pps = check_int("points_per_sd", points_per_sd, min=2)
    msd = check_real("margin_sd", margin_sd, lo=1.0)
    lo, hi, sd = _grid_bounds(n, L, a, c, y0, t1, msd)
    delta = sd / pps
    anchor = y0 if edge_at is None else check_real("edge_at", edge_at) + 0.5 * delta
    span_lo, span_hi = (anchor - lo) / delta, (hi - anchor) / delta
    # refuse before any work: the band of a near-Gaussian increment spans +-8.3 sd (tails of 1e-16)
    # around its mean, and reaches back to offset 0 (a wide network drifts many sd per layer)
    drift_steps = abs(0.5 - 1.0 / n) * (t1 / L) / delta
    n_states, band = span_lo + span_hi + 3, 2 * math.ceil(8.3 * pps) + 1 + math.ceil(drift_steps)
    check_memory(
        "grid states * band entries",
        float(n_states * band),
        _BYTES_PER_ENTRY,
        f"the log-norm walk of width={n}, depth={L}, target={a:g}, cost={c:g} ({n_states:.3g} grid states "
        f"x {band} band entries: a step of sqrt(t1/(depth*width))/points_per_sd = {delta:.3g} with "
        f"t1={t1:g}, points_per_sd={pps}, over {span_lo:.3g} steps below y0={y0:g} and {span_hi:.3g} "
        f"above, up to the largest of y0, the target and the threshold {_threshold_limit(n, a, c):g}, "
        "with margins set by "
        f"margin_sd={msd:g})",
        hint="raise t1, lower points_per_sd, depth or margin_sd, or bring target (and the threshold) closer "
        "to y0",
    )
    size = max(abs(lo), abs(hi), abs(anchor))
    if not delta > _MIN_RELATIVE_STEP * size:
        raise ValueError(
            f"y0={y0:g} is too far from 0 for a float64 grid: its step {delta:.3g} is below "
            f"{_MIN_RELATIVE_STEP:.2g} of its coordinates (up to {size:.3g}), which float64 cannot space; "
            "the walk is the same with y0, target (and edge_at) shifted by a common constant: shift them "
            "near 0"
        )
    if increment is None and n * L / t1 > _MAX_NONCENTRALITY and not _exact_law(n, L, t1).wide:
        raise ValueError(
            f"width={n}, depth={L} and t1={t1:g} are beyond the exact increment law: its non-central "
            f"chi-square has non-centrality width*depth/t1 = {n * L / t1:.3g}, above "
            f"{_MAX_NONCENTRALITY:g}, where scipy's ncx2 cdf returns NaN (the grid would have "
            f"{n_states:.3g} states); lower width (or depth), raise t1, "
            "or pass increment= (a frozen distribution, e.g. a Gaussian approximation)"
        )
    n_lo, n_hi = math.ceil(span_lo), math.ceil(span_hi)
    grid = anchor + delta * np.arange(-n_lo, n_hi + 1)
    if not grid[0] <= y0 <= grid[-1]:
        raise ValueError(f"edge_at={edge_at} puts y0={y0} outside the grid")
    initial = np.zeros(grid.size)
    j = min(int(np.floor((y0 - grid[0]) / delta)), grid.size - 2)
    w = min(max((y0 - grid[j]) / delta, 0.0), 1.0)  # rounding may put y0 a hair outside its cell
    if w < 1e-12:
        initial[j] = 1.0
    elif w > 1.0 - 1e-12:
        initial[j + 1] = 1.0
    else:
        initial[j], initial[j + 1] = 1.0 - w, w
    cdf, drift = _increment_law(n, L, t1, increment)
    P = random_walk_transitions(cdf, delta, grid.size, absorbing_edges=True)
    if drift >= 0:
        # at and above the target stopping at once is optimal (see _stops_at_once): those states are
        # made absorbing, which changes no value and removes the pull of the truncated upper edge
        bands = P.bands[0].copy()
        top = grid >= a
        bands[top] = 0.0
        bands[top, P.lower] = 1.0
        P = BandedTransitions(bands, P.lower)
    prob = MarkovStoppingProblem(P, -((grid - a) ** 2), c * t1 / L, None, initial=initial)
    return prob, grid


@dataclass(frozen=True, repr=False)
class BridgeResult(Result):
    r"""Discrete optimal depth of the linear ResNet against the continuous closed forms (docs/science.md §B6).

    Attributes
    ----------
    width, depth : int
        :math:`n`, :math:`L`.
    threshold, threshold_limit : float
        Discrete stopping threshold :math:`y^\star_L` (linear interpolation of the first sign change of
        :math:`g-\text{continuation}` above :math:`y_0` on the grid; ``nan`` when there is none or
        :math:`n\le2`) and :math:`y^\star=a-c/(2m)` (``nan`` for :math:`n\le2`).
    value, value_limit : float
        :math:`V_L(y_0)` and :math:`V(y_0)` of the closed form.
    expected_depth, expected_depth_limit : float
        :math:`h\,\mathbb E\tau^\star` (depth-time) and :math:`(y^\star-y_0)/m`.
    ks_distance : float
        :math:`\max_l|\mathbb P(\tau^\star\le l)-F_{\rm IG}(lh)|` (``nan`` for :math:`n\le2` and
        without ``law=True``).
    depth_law : DepthLaw
        Law of :math:`\tau^\star` in layers: probabilities with ``law=True``, otherwise the exact mean and
        standard deviation only.
    stops_at_once : bool
        Whether :math:`y_0` is in the stopping region.
    error_bound : float
        Certified error of the discrete value function.
    n_states : int
        Grid size.
    """

    width: int
    depth: int
    threshold: float
    threshold_limit: float
    value: float
    value_limit: float
    expected_depth: float
    expected_depth_limit: float
    ks_distance: float
    depth_law: DepthLaw
    stops_at_once: bool
    error_bound: float
    n_states: int
    solution: MarkovSolution | None = field(default=None, repr=False, compare=False)

    #: ``nan`` where the quantity does not exist (see above).
    nonfinite_fields = ("threshold", "threshold_limit", "ks_distance")


def log_norm_bridge(
    width: int,
    depth: int,
    target: float,
    cost: float,
    *,
    y0: float = 0.0,
    t1: float = 1.0,
    points_per_sd: int | None = None,
    increment: Any = None,
    solver: Any = None,
    law: bool = False,
) -> BridgeResult:
    r"""Solve the finite-:math:`L` log-norm stopping problem and compare it with the B6 closed forms.

    Parameters
    ----------
    width, depth : int
        :math:`n\ge1`, :math:`L\ge1`.
    target, cost : float
        :math:`a` and :math:`c>0` (per unit depth-time).
    y0, t1, increment
        See :func:`linear_resnet_stopping_problem`.
    points_per_sd : int, optional
        Grid points per standard deviation of one layer's increment. Default: 16, or fewer (not below 2)
        where 16 would need more than :math:`2^{15}` states: very wide networks, whose grid grows like
        :math:`\sqrt{nL}` and whose walk is then nearly deterministic (rounding the increment to the grid
        inflates its variance by :math:`1/(12\,\text{points}^2)`, Sheppard's correction: 2% at 2
        points, on a variance of :math:`1/(nL)`; at width :math:`10^4`, depth 4096, going from 16 to 2
        points moves the threshold by :math:`2\times10^{-6}`, against a distance of :math:`1.4\times10^{-4}`
        to the limit).
    solver : PolicyIteration or ValueIteration, optional
        Default ``PolicyIteration()``.
    law : bool, optional
        Also compute the probabilities of :math:`\tau^\star` (layer by layer) and their Kolmogorov
        distance to the inverse Gaussian. Default False: ``depth_law`` then holds the exact mean and
        standard deviation only (:meth:`~stochdepth.stopping.DepthLaw.from_moments`) and ``ks_distance``
        is ``nan``. The law costs :math:`O(L^{3/2}\log L)` (see Notes): ask for it at moderate depth.

    Returns
    -------
    BridgeResult

    Raises
    ------
    ValueError
        Before any work, when the grid would not fit (the message states the memory it would need).

    Notes
    -----
    Stopping at once is proved without a grid when :math:`g(y_0)\ge-ch` or when :math:`y_0\ge a` and the
    increment's mean is :math:`\ge0` (Wald's identity and Jensen's inequality; ``n_states`` is then 0).
    Otherwise the grid has :math:`O(\sqrt{L}/m)` states (step: a sixteenth of one layer's standard
    deviation; margin below :math:`y_0`: where the walk goes with probability :math:`e^{-16}`), the
    policy iteration starts from the closed-form threshold lowered by the expected overshoot
    :math:`0.5826\,s\sqrt h` and converges in one or two evaluations, each a banded factorisation of
    :math:`O(S\,w^2)` work (:math:`w`, the band, does not grow with :math:`L`); the mean and variance of
    :math:`\tau^\star` are two more banded solves. The cost grows like :math:`L^{1/2}`.

    The law is different: its probabilities are needed layer by layer over a fixed span of depth-time
    (until the remaining mass is below :math:`10^{-8}`, at most 200 depth-time units; the inverse
    Gaussian tail decays like :math:`e^{-m^2t/(2s^2)}`, so at width 3 the whole span is used), i.e.
    :math:`O(L)` layers, each one FFT convolution over the :math:`O(\sqrt L)` states. Hence
    :math:`O(L^{3/2}\log L)`, and it is opt-in. ``benchmarks/bench_bridge.py`` tabulates both costs
    against width and depth.

    References
    ----------
    Derived, docs/science.md §B6; first-passage law of a drifted Brownian motion: Karatzas & Shreve,
    *Brownian Motion and Stochastic Calculus* (1991), §3.5.C.

    Examples
    --------
    >>> from scipy import stats
    >>> L, n = 50, 4
    >>> inc = stats.norm(0.25 / L, 0.5 / np.sqrt(L))       # the Gaussian walk with the limit's m and s
    >>> r = log_norm_bridge(n, L, target=1.0, cost=0.1, increment=inc, points_per_sd=8, law=False)
    >>> round(r.threshold_limit, 3), bool(abs(r.threshold - r.threshold_limit) < 0.1)
    (0.8, True)
    """
    solver = PolicyIteration() if solver is None else solver
    if not isinstance(solver, (PolicyIteration, ValueIteration)):
        raise TypeError(f"solver must be PolicyIteration() or ValueIteration(), got {solver!r}")
    law = check_bool("law", law)
    n, L = check_int("width", width, min=1), check_int("depth", depth, min=1)
    a, c = check_real("target", target), check_real("cost", cost, lo=0.0, lo_open=True)
    y0, t1 = check_real("y0", y0), check_real("t1", t1, lo=0.0, lo_open=True)
    if points_per_sd is None:
        points_per_sd = _default_points_per_sd(n, L, a, c, y0, t1)
    kw = {"y0": y0, "t1": t1, "points_per_sd": points_per_sd, "increment": increment}
    h = t1 / L
    m = 0.5 - 1.0 / n
    s = 1.0 / math.sqrt(n)
    ystar = _threshold_limit(n, a, c) if m > 0 else math.nan
    if m > 0 and ystar > y0:
        vlim = -((ystar - a) ** 2) - (c / m) * (ystar - y0)
        elim = (ystar - y0) / m
    else:
        vlim = -(y0 - a) * (y0 - a)
        elim = 0.0
    if _stops_at_once(y0, a, c * h, _increment_law(n, L, t1, increment)[1]):
        g0 = -(y0 - a) * (y0 - a)
        return _bridge_result(n, L, h, y0, ystar, g0, vlim, elim, s, law, None, None, math.nan)
    prob, grid = linear_resnet_stopping_problem(width, depth, target, cost, **kw)
    # first pass: only its threshold is used (no certificate); the walk overshoots a level by about
    # 0.5826 one-layer standard deviations (Siegmund 1985, Cor. 10.41), so the discrete threshold lies
    # about that much below the closed form's
    guess = grid >= ystar - 0.5826 * s * math.sqrt(h) if m > 0 else None
    sol = _solve(prob, solver, guess, certify=False)
    thr = _threshold(prob, sol, grid, y0, c * h) if m > 0 else math.nan
    if math.isfinite(thr) and thr > y0:
        # second pass: a cell edge at the discrete threshold, so the chain stops exactly beyond it
        prob, grid = linear_resnet_stopping_problem(width, depth, target, cost, edge_at=thr, **kw)
        sol = _solve(prob, solver, grid >= thr)
        thr2 = _threshold(prob, sol, grid, y0, c * h)
        thr = thr2 if math.isfinite(thr2) else thr
    else:
        # no second pass: certify the first one, warm-started from its own policy (one evaluation)
        sol = _solve(prob, solver, sol.stop, certify=True)
    return _bridge_result(n, L, h, y0, ystar, math.nan, vlim, elim, s, law, prob, sol, thr)


def _solve(
    prob: MarkovStoppingProblem, solver: Any, guess: np.ndarray | None, certify: bool = True
) -> MarkovSolution:
    """Solve, warm-starting policy iteration from ``guess`` (edges stop: they are absorbing)."""
    if isinstance(solver, PolicyIteration):
        if guess is not None:
            guess = guess.copy()
            guess[[0, -1]] = True
        return solver.solve(prob, initial_stop=guess, certify=certify)
    return solve_stopping(prob, solver, throw=False)


def _bridge_result(
    n: int,
    L: int,
    h: float,
    y0: float,
    ystar: float,
    value: float,
    vlim: float,
    elim: float,
    s: float,
    law: bool,
    prob: MarkovStoppingProblem | None,
    sol: MarkovSolution | None,
    thr: float,
) -> BridgeResult:
    """Assemble the result; ``prob is None`` when stopping at once was proved without a grid."""
    if prob is None or sol is None:
        stops, err, n_states = True, 0.0, 0
        dl = DepthLaw.from_pmf(np.array([1.0]))
    else:
        mu0 = prob.initial_law()
        value = float(mu0 @ sol.values)
        stops, err, n_states = bool(np.all(sol.stop[mu0 > 0])), float(sol.error_bound), prob.n_states
        if law:
            dl = sol.depth_law(max_depth=200 * L, tail_tol=1e-8)
        else:
            m1, m2 = expected_exit_time(prob.chain, sol.stop, moments=2)
            dl = DepthLaw.from_moments(float(mu0 @ m1), float(mu0 @ m2))
    ks = math.nan
    if law and ystar > y0:
        lam = (ystar - y0) ** 2 / (s * s)
        F = np.cumsum(dl.pmf)
        tgrid = np.arange(F.size) * h
        ks = float(np.max(np.abs(F - st.invgauss(elim / lam, scale=lam).cdf(tgrid))))
    return BridgeResult(
        width=n,
        depth=L,
        threshold=thr,
        threshold_limit=ystar,
        value=value,
        value_limit=float(vlim),
        expected_depth=float(dl.mean.value * h),
        expected_depth_limit=float(elim),
        ks_distance=ks,
        depth_law=dl,
        stops_at_once=stops,
        error_bound=err,
        n_states=n_states,
        solution=sol,
    )
