r"""The theory of optimal depth on trained networks: B2 bounds on recorded residuals, B5 free boundaries.

* :func:`residual_decay` fits the geometric decay :math:`\overline{\|f_l\|}\approx C\rho^l` of a trace's
  mean residual norms (least squares on their logarithm, a percentile bootstrap interval for
  :math:`\rho` over the samples) and says whether the decay hypothesis of docs/science.md §B2
  (:math:`\rho<1`, judged on the upper end of the interval) is met;
* :func:`trace_depth_bounds` evaluates the two B2 bounds of :mod:`stochdepth.stopping.bounds` on the
  recorded residual paths -- for the gain :math:`G_l` (the exit's confidence by default) and the cost
  :math:`c` per layer -- against the realised optimal depth :math:`\mathbb E\tau^\star` of those paths
  (their tightness). The path of a sample is its distance travelled :math:`h_l=\sum_{k\le l}\|f_k\|`
  (exactly the steps the bounds' proofs add up), with the sample's index as a second, constant
  coordinate: the path is a deterministic function of the input, which the pathwise optimum needs;
* :func:`fit_exit_diffusion` fits a 1-D diffusion :math:`dS=(a(t)+b(t)S)\,dt+\sigma(t)\,dW` against
  depth-time :math:`t\in[0,1]` to a summary of the exits: by default the log-odds of being right at
  exit :math:`l`, :math:`S_l=\alpha_l+\beta_lY_l` with :math:`Y_l=\log\frac{p_l}{1-p_l}` the log-odds of
  the exit confidence and :math:`(\alpha_l,\beta_l)` a logistic calibration of that exit, so the gain of
  stopping is :math:`g(s)=1/(1+e^{-s})`; or :math:`Y` itself with one calibration pooled over exits. The
  drift comes from weighted least squares on the increments and :math:`\sigma^2` from their residuals,
  on each step between two exits or on all at once (docs/science.md §B7.5);
* :class:`FreeBoundaryExit` solves :math:`\sup_\tau\mathbb E[g(S_\tau)-cU\tau]` as an obstacle problem
  with :mod:`stochdepth.freeboundary` (docs/science.md §B5) and exits where the solved stopping region
  contains :math:`(t_l,S_l)`: the free boundary as a threshold policy, to compare with
  :class:`~stochdepth.depth.BellmanExit` on the same trace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_int, check_memory, check_real
from .._results import Result
from ..freeboundary import CrankNicolson, ObstacleProblem, ObstacleSolution, UniformGrid, solve_obstacle
from ..random import RNGLike, as_generator
from ..stopping import DepthBound, PathStoppingProblem, geometric_depth_bound, summable_residuals_bound
from .exit_policies import ExitPolicy, first_exit
from .exit_problem import ExitProblem
from .traces import Trace

__all__ = [
    "ExitDiffusion",
    "FreeBoundaryExit",
    "ResidualDecay",
    "TraceDepthBounds",
    "fit_exit_diffusion",
    "residual_decay",
    "trace_depth_bounds",
]


def _check_trace(trace: Any) -> Trace:
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be a stochdepth.depth.Trace, got {type(trace).__name__}")
    if trace.n_exits < 3:
        raise ValueError(f"the trace must have at least 3 exits for a decay fit, got {trace.n_exits}")
    return trace


def _log_fit(means: np.ndarray) -> tuple[float, float]:
    """(log C, log rho) of the least-squares line through log means at steps 0..m-1 (positive means)."""
    k = np.arange(means.shape[-1], dtype=float)
    y = np.log(means)
    kc = k - k.mean()
    slope = (y - y.mean(axis=-1, keepdims=True)) @ kc / (kc @ kc)
    return y.mean(axis=-1) - slope * k.mean(), slope


@dataclass(frozen=True, repr=False)
class ResidualDecay(Result):
    r"""Geometric fit :math:`\overline{\|f_k\|}\approx C\rho^k` of the residual steps between exits.

    Attributes
    ----------
    rate, rate_low, rate_high : float
        :math:`\hat\rho` and its percentile bootstrap interval at ``level``.
    scale : float
        :math:`\hat C` of the mean norms.
    envelope : float
        Smallest :math:`C'` with every recorded step :math:`\le C'\hat\rho^k` (the sup-norm constant).
    mean_norms : ndarray (L - 1,)
        Mean norm of each step.
    r_squared : float
        Of the log-linear fit.
    decay_met : bool
        ``rate_high < 1``.
    level : float
    """

    rate: float
    rate_low: float
    rate_high: float
    scale: float
    envelope: float
    mean_norms: np.ndarray
    r_squared: float
    decay_met: bool
    level: float


def residual_decay(
    trace: Trace, *, level: float = 0.95, n_boot: int = 200, rng: RNGLike = None
) -> ResidualDecay:
    """Fit the decay rate of ``trace``'s residual steps between consecutive exits (module docstring).

    Raises
    ------
    ValueError
        Fewer than 3 exits, or a step whose mean norm is not positive.

    Examples
    --------
    >>> from stochdepth.testing.exit_traces import resolving_exit_trace
    >>> trace, _ = resolving_exit_trace(0, 500, 8, rho=0.7)
    >>> d = residual_decay(trace, rng=0)
    >>> round(d.rate, 2), d.decay_met
    (0.7, True)
    """
    trace = _check_trace(trace)
    level = check_real("level", level, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    n_boot = check_int("n_boot", n_boot, min=10)
    check_memory("n_boot", n_boot, 8 * trace.n_samples, "the bootstrap resample indices")
    r = np.asarray(trace.residual_norms[:, 1:], dtype=float)
    m = r.mean(axis=0)
    if np.any(m <= 0) or not np.all(np.isfinite(m)):
        raise ValueError("every residual step must have a positive finite mean norm to fit a decay rate")
    logc, slope = _log_fit(m)
    idx = as_generator(rng).integers(0, r.shape[0], size=(n_boot, r.shape[0]))
    boot = np.stack([r[i].mean(axis=0) for i in idx])
    _, slopes = _log_fit(np.maximum(boot, np.finfo(float).tiny))
    lo, hi = np.exp(np.quantile(slopes, [(1 - level) / 2, (1 + level) / 2]))
    k = np.arange(m.size, dtype=float)
    y = np.log(m)
    resid = y - (logc + slope * k)
    r2 = 1.0 - float(resid @ resid) / max(float(((y - y.mean()) ** 2).sum()), np.finfo(float).tiny)
    rho = math.exp(slope)
    return ResidualDecay(
        rho, float(lo), float(hi), math.exp(logc), float(np.max(r / rho**k)), m, r2, bool(hi < 1), level
    )


@dataclass(frozen=True, repr=False)
class TraceDepthBounds(Result):
    """The B2 bounds on a trace's residual paths, with the decay fit they rest on.

    Attributes
    ----------
    decay : ResidualDecay
    summable : DepthBound
        :math:`\\mathbb E\\tau^\\star\\le L_gS/c` (:func:`~stochdepth.stopping.summable_residuals_bound`).
    geometric : DepthBound
        :math:`\\tau^\\star\\le\\bar l` with :math:`\\rho` = the upper end of the decay interval
        (:func:`~stochdepth.stopping.geometric_depth_bound`); vacuous (``inf``) when it is :math:`\\ge1`.
    lipschitz : float
        The :math:`L_g` used: the largest ratio :math:`|G_a-G_b|/|h_a-h_b|` observed (pairs ``(0, l)``
        and ``(l, l + 1)``), the smallest constant consistent with the paths.
    """

    decay: ResidualDecay
    summable: DepthBound
    geometric: DepthBound
    lipschitz: float


def trace_depth_bounds(
    trace: Trace,
    cost: float,
    *,
    gains: Any = None,
    level: float = 0.95,
    n_boot: int = 200,
    rng: RNGLike = None,
) -> TraceDepthBounds:
    """The B2 bounds of docs/science.md §B2 on ``trace``'s recorded residuals (module docstring).

    Parameters
    ----------
    trace : Trace
    cost : float
        :math:`c>0` per layer.
    gains : array_like (n, L), optional
        Gains :math:`G_l` computed from the input (default: the exits' confidence).
    level, n_boot, rng
        Of the decay fit.
    """
    trace = _check_trace(trace)
    cost = check_real("cost", cost, lo=0.0, lo_open=True)
    G = trace.confidence if gains is None else np.asarray(gains, dtype=float)
    if G.shape != (trace.n_samples, trace.n_exits) or not np.all(np.isfinite(G)):
        raise ValueError(f"gains must be finite with shape {(trace.n_samples, trace.n_exits)}, got {G.shape}")
    decay = residual_decay(trace, level=level, n_boot=n_boot, rng=rng)
    steps = np.asarray(trace.residual_norms[:, 1:], dtype=float)
    h = np.concatenate([np.zeros((trace.n_samples, 1)), np.cumsum(steps, axis=1)], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = [np.abs(np.diff(G, axis=1)) / steps, np.abs(G[:, 1:] - G[:, :1]) / h[:, 1:]]
    lip = max(float(np.nanmax(np.where(np.isfinite(x), x, np.nan))) for x in ratios)
    lip = lip * (1 + 1e-9) + 1e-12
    ids = np.broadcast_to(np.arange(trace.n_samples, dtype=float)[:, None], h.shape)
    paths = PathStoppingProblem(np.stack([h, ids], axis=2), G, cost, deterministic=True, gains_observed=True)
    summ = summable_residuals_bound(paths, lip)
    geo = geometric_depth_bound(paths, lip, decay.rate_high)
    return TraceDepthBounds(decay, summ, geo, lip)


@dataclass(frozen=True, repr=False)
class ExitDiffusion(Result):
    r"""A 1-D diffusion of a summary of the exits against depth-time, with the gain of stopping on it.

    The state is :math:`S_l=\alpha_l+\beta_lY_l`, an affine map of the confidence's log-odds :math:`Y_l`
    at exit :math:`l`; it follows :math:`dS=(a(t)+b(t)S)\,dt+\sigma(t)\,dW` with coefficients constant
    between two exits, and stopping at :math:`S=s` gains :math:`g(s)=1/(1+e^{-(\gamma+\delta s)})`.

    Attributes
    ----------
    state : {'calibrated', 'log_odds'}
        ``'calibrated'``: :math:`(\alpha_l,\beta_l)` is a logistic fit of the correctness at exit
        :math:`l`, so :math:`S_l` is the log-odds of being right there and :math:`(\gamma,\delta)=(0,1)`;
        ``'log_odds'``: :math:`S=Y` and :math:`(\gamma,\delta)` is one logistic fit pooled over exits.
    calibration : ndarray (L, 2)
        :math:`(\alpha_l,\beta_l)` per exit.
    drift, drift_stderr : ndarray (L-1, 2)
        :math:`(a,b)` between exits :math:`l` and :math:`l+1`, and their standard errors (least squares);
        the same row on every step when the drift was fitted constant.
    volatility : ndarray (L-1,)
        :math:`\sigma` per step.
    gain : tuple of float
        :math:`(\gamma,\delta)`.
    times : ndarray (L,)
        Depth-time of each exit, from 0 to 1.
    span : float
        Cost units from the first to the last exit (:math:`U`: the running cost is :math:`cU` per unit
        time).
    lower, upper : float
        Range of the observed states (the solver's domain is this range, widened).
    """

    state: str
    calibration: np.ndarray
    drift: np.ndarray
    drift_stderr: np.ndarray
    volatility: np.ndarray
    gain: tuple[float, float]
    times: np.ndarray
    span: float
    lower: float
    upper: float

    def summary(self, problem: ExitProblem) -> np.ndarray:
        """The state :math:`S_l` of every sample at every exit of ``problem``, ``(n, L)``."""
        alpha, beta = self.calibration[:, 0], self.calibration[:, 1]
        return alpha[None, :] + beta[None, :] * _log_odds(problem)

    def gain_function(self, s: np.ndarray) -> np.ndarray:
        """The gain :math:`g(s)` of stopping at state ``s``."""
        a, b = self.gain
        return 1.0 / (1.0 + np.exp(-(a + b * np.asarray(s, dtype=float))))

    def step(self, t: Any) -> np.ndarray:
        """The index of the step (between two exits) holding depth-time ``t``."""
        idx = np.searchsorted(self.times, np.asarray(t, dtype=float), side="right") - 1
        return np.clip(idx, 0, self.volatility.size - 1)

    def drift_function(self, t: Any, s: np.ndarray) -> np.ndarray:
        """:math:`a(t)+b(t)s`."""
        k = self.step(t)
        return self.drift[k, 0] + self.drift[k, 1] * np.asarray(s, dtype=float)

    def volatility_function(self, t: Any, s: np.ndarray) -> np.ndarray:
        r""":math:`\sigma(t)`, broadcast against ``s``."""
        return self.volatility[self.step(t)] + np.zeros_like(np.asarray(s, dtype=float))


def _log_odds(problem: ExitProblem) -> np.ndarray:
    p = np.clip(problem.confidence, 1e-9, 1 - 1e-9)
    return np.log(p) - np.log1p(-p)


def _logistic(y: np.ndarray, z: np.ndarray, n_iter: int = 50) -> tuple[float, float]:
    """Maximum-likelihood logistic regression of ``z`` (0/1) on ``y`` (Newton steps, a small ridge)."""
    X = np.stack([np.ones_like(y), y], axis=1)
    w = np.zeros(2)
    for _ in range(n_iter):
        p = 1.0 / (1.0 + np.exp(-(X @ w)))
        H = X.T @ (X * (p * (1 - p))[:, None]) + 1e-8 * np.eye(2)
        step = np.linalg.solve(H, X.T @ (z - p))
        w += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(w[0]), float(w[1])


def _check_model(state: str, drift: str) -> None:
    """Raise a ValueError naming ``state`` or ``drift`` when it is not one of the diffusion's options."""
    if state not in ("calibrated", "log_odds"):
        raise ValueError(f"state must be 'calibrated' or 'log_odds', got {state!r}")
    if drift not in ("per_step", "constant"):
        raise ValueError(f"drift must be 'per_step' or 'constant', got {drift!r}")


def _per_exit_calibration(Y: np.ndarray, correct: np.ndarray) -> np.ndarray:
    rows = []
    for l in range(Y.shape[1]):
        right = correct[:, l]
        if right.all() or not right.any() or np.ptp(Y[:, l]) == 0:
            raise ValueError(
                f"state='calibrated' needs, at every exit, right and wrong calibration samples and more "
                f"than one confidence; exit {l} lacks one of them (use state='log_odds')"
            )
        rows.append(_logistic(Y[:, l], right.astype(float)))
    return np.array(rows)


def _drift_fit(S: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    r"""Weighted least squares of the increments :math:`\Delta S\approx(a+bS)\Delta t` (weights
    :math:`1/\Delta t`) over the steps given: coefficients, their standard errors, :math:`\sigma`."""
    dS = np.diff(S, axis=1)
    w = np.sqrt(dt)[None, :]
    X = np.stack([np.broadcast_to(dt[None, :], dS.shape), S[:, :-1] * dt[None, :]], axis=2) / w[..., None]
    X = X.reshape(-1, 2)
    yv = (dS / w).ravel()
    coef, *_ = np.linalg.lstsq(X, yv, rcond=None)
    res = yv - X @ coef
    sigma2 = float(res @ res) / max(res.size - 2, 1)
    cov = sigma2 * np.linalg.pinv(X.T @ X)
    return coef, np.sqrt(np.diag(cov)), math.sqrt(sigma2)


def fit_exit_diffusion(
    problem: ExitProblem, *, state: str = "calibrated", drift: str = "per_step"
) -> ExitDiffusion:
    r"""Fit :class:`ExitDiffusion` on a labelled calibration problem (docs/science.md §B7.5).

    Parameters
    ----------
    problem : ExitProblem
        Labelled; its exit depths increase.
    state : {'calibrated', 'log_odds'}, default 'calibrated'
        The state diffused (see :class:`ExitDiffusion`). The log-odds of the confidence with one pooled
        calibration treats an exit's confidence as meaning the same at every depth; a trained network's
        confidence often grows with depth faster than its accuracy, and the calibrated state follows the
        accuracy instead.
    drift : {'per_step', 'constant'}, default 'per_step'
        Drift and volatility fitted on each step between two exits, or one drift and volatility for all.

    Raises
    ------
    ValueError
        Unlabelled problem, exit depths that do not increase, an unknown ``state`` or ``drift``, or with
        ``state='calibrated'`` an exit whose calibration samples are all right, all wrong, or share one
        confidence.
    """
    if not isinstance(problem, ExitProblem):
        raise TypeError(f"problem must be an ExitProblem, got {type(problem).__name__}")
    _check_model(state, drift)
    correct = problem.require_labels("the calibrated gain of the exit diffusion")
    Y = _log_odds(problem)
    u = problem.depths
    if not np.all(np.diff(u) > 0):
        raise ValueError("exit depths must increase to define depth-time")
    t = (u - u[0]) / (u[-1] - u[0])
    dt = np.diff(t)
    if state == "calibrated":
        calibration = _per_exit_calibration(Y, correct)
        gain = (0.0, 1.0)
    else:
        calibration = np.tile([0.0, 1.0], (Y.shape[1], 1))
        gain = _logistic(Y.ravel(), correct.ravel().astype(float))
    S = calibration[None, :, 0] + calibration[None, :, 1] * Y
    if drift == "constant":
        coef, se, sigma = _drift_fit(S, dt)
        fits = [(coef, se, sigma)] * dt.size
    else:
        fits = [_drift_fit(S[:, l : l + 2], dt[l : l + 1]) for l in range(dt.size)]
    units = problem.units
    return ExitDiffusion(
        state,
        calibration,
        np.array([f[0] for f in fits]),
        np.array([f[1] for f in fits]),
        np.array([f[2] for f in fits]),
        gain,
        t,
        float(units[-1] - units[0]),
        float(S.min()),
        float(S.max()),
    )


class FreeBoundaryExit(ExitPolicy):
    r"""Exit where the fitted diffusion's obstacle problem says stop (docs/science.md §B5, §B7.5).

    Fit: :func:`fit_exit_diffusion` on the calibration split, then :func:`~stochdepth.freeboundary.
    solve_obstacle` for :math:`V(t,s)=\sup_\tau\mathbb E[g(S_\tau)-cU(\tau-t)]` on
    :math:`[0,1]\times[s_{\min}-w,s_{\max}+w]` (:math:`w` a quarter of the observed range, Dirichlet
    edges :math:`V=g`). A sample exits at the first exit :math:`l` whose :math:`(t_l,S_l)` falls, at the
    nearest grid node, in the solved stopping region :math:`\{V=g\}`.

    Parameters
    ----------
    n_grid : int, optional
        Space nodes (default 401).
    n_steps : int, optional
        Time steps of the Crank-Nicolson scheme (default 200).
    state, drift : str, optional
        The diffusion's state and drift (:func:`fit_exit_diffusion`; default ``'calibrated'`` and
        ``'per_step'``).

    Attributes
    ----------
    diffusion_ : ExitDiffusion
    solution_ : ObstacleSolution
    boundary_ : ndarray (L,)
        Per exit, the lower end of the stopping region's top interval at that depth-time, read back as
        a threshold on the confidence's log-odds (``nan`` when the top of the grid continues, or where
        the calibrated state falls as the log-odds rises): the policy when the stopping region is that
        interval.
    """

    name = "free boundary"
    parameters = ("n_grid", "n_steps", "state", "drift")

    def __init__(
        self, n_grid: int = 401, n_steps: int = 200, *, state: str = "calibrated", drift: str = "per_step"
    ) -> None:
        self.n_grid = check_int("n_grid", n_grid, min=5)
        self.n_steps = check_int("n_steps", n_steps, min=2)
        _check_model(state, drift)
        self.state, self.drift = state, drift
        self.diffusion_: ExitDiffusion | None = None
        self.solution_: ObstacleSolution | None = None
        self.boundary_: np.ndarray | None = None

    def _fit(self, calibration: ExitProblem, rng: RNGLike) -> None:
        d = fit_exit_diffusion(calibration, state=self.state, drift=self.drift)
        pad = 0.25 * max(d.upper - d.lower, 1.0)
        prob = ObstacleProblem(
            d.gain_function,
            d.drift_function,
            d.volatility_function,
            1.0,
            UniformGrid(d.lower - pad, d.upper + pad, self.n_grid),
            cost=calibration.cost * d.span,
        )
        sol = solve_obstacle(prob, scheme=CrankNicolson(n_steps=self.n_steps))
        self.diffusion_, self.solution_ = d, sol
        inner = sol.stopping[self._rows(d.times)][:, 1:-1]  # the edge nodes carry V = g by condition
        x = sol.x[1:-1]
        cont = ~inner
        top = cont.shape[1] - 1 - np.argmax(cont[:, ::-1], axis=1)  # highest continuation node
        bound = np.where(cont.any(axis=1), x[np.minimum(top + 1, x.size - 1)], x[0])
        alpha, beta = d.calibration[:, 0], d.calibration[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            in_log_odds = np.where(beta > 0, (bound - alpha) / beta, np.nan)
        self.boundary_ = np.where(inner[:, -1], in_log_odds, np.nan)

    def _rows(self, times: np.ndarray) -> np.ndarray:
        assert self.solution_ is not None
        return np.abs(self.solution_.times[None, :] - times[:, None]).argmin(axis=1)

    def _exits(self, problem: ExitProblem) -> np.ndarray:
        assert self.solution_ is not None and self.diffusion_ is not None
        sol = self.solution_
        S = self.diffusion_.summary(problem)
        cols = np.clip(np.rint((S - sol.x[0]) / (sol.x[1] - sol.x[0])).astype(np.int64), 0, sol.x.size - 1)
        rows = self._rows(self.diffusion_.times)
        return first_exit(sol.stopping[rows[None, :], cols])
