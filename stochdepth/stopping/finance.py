r"""Bermudan options: the classic external benchmarks of optimal-stopping solvers.

Under the risk-neutral measure the assets follow independent-increment geometric Brownian motions,

.. math::
    \log S^j_{t+\Delta}=\log S^j_t+\Big(r-q_j-\tfrac12\sigma_j^2\Big)\Delta+\sigma_j\sqrt\Delta\,Z^j,
    \qquad \operatorname{corr}(Z^i,Z^j)=\rho_{ij},

sampled exactly at the exercise dates :math:`t_l=lT/L`, :math:`l=0..L`. A Bermudan option paying
:math:`G_l=h(S_{t_l})` is the stopping problem with discount :math:`\beta=e^{-r\Delta}` per date
(:func:`bermudan_problem`): its value is :math:`\sup_\tau\mathbb E[\beta^\tau h(S_{t_\tau})]` -- the
payoff convention :math:`Z_l=\beta^lG_l` of :mod:`stochdepth.stopping.problems`.

Reference values computed here, independently of Monte Carlo:

* :func:`bermudan_put_grid` -- one asset, the exact Snell envelope of the log-price random walk on a fine
  grid (:class:`~stochdepth.stopping.MarkovStoppingProblem` + backward induction), Richardson-extrapolated
  in the grid step;
* :func:`bermudan_max_call_grid` -- two independent assets, the same construction on a product grid (the
  transition factorises, so each date costs two dense matrix products).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as st

from .._checks import check_array, check_int, check_real
from .._results import Result
from . import _kernels as K
from .markov import BackwardInduction
from .problems import MarkovStoppingProblem, SimulatedStoppingProblem, Simulator
from .transitions import random_walk_transitions

__all__ = [
    "BermudanOption",
    "Call",
    "GeometricBrownianMotion",
    "GridPrice",
    "MaxCall",
    "Put",
    "bermudan_max_call_grid",
    "bermudan_problem",
    "bermudan_put_grid",
]


class GeometricBrownianMotion:
    r"""Correlated geometric Brownian motions sampled at ``n_dates`` equally spaced dates.

    Parameters
    ----------
    spot : float or array_like
        :math:`S_0>0`, one per asset (``d`` assets).
    rate : float
        Risk-free rate :math:`r`.
    volatility : float or array_like
        :math:`\sigma_j>0`.
    maturity : float
        :math:`T>0`.
    n_dates : int
        Number :math:`L\ge1` of steps (exercise dates after :math:`t_0=0`).
    dividend : float or array_like, optional
        Continuous dividend yields :math:`q_j\ge0`. Default 0.
    correlation : float or array_like, optional
        Equicorrelation :math:`\rho` or a ``(d, d)`` correlation matrix (positive definite). Default 0.

    Examples
    --------
    >>> gbm = GeometricBrownianMotion([100.0, 100.0], rate=0.05, volatility=0.2, maturity=3.0,
    ...                               n_dates=9, dividend=0.1)
    >>> gbm.paths(np.random.Generator(np.random.SFC64(0)), 4).shape
    (4, 10, 2)
    """

    def __init__(
        self,
        spot: Any,
        *,
        rate: float,
        volatility: Any,
        maturity: float,
        n_dates: int,
        dividend: Any = 0.0,
        correlation: Any = 0.0,
    ) -> None:
        s0 = check_array("spot", np.atleast_1d(spot), ndim=1, min_size=1)
        if np.any(s0 <= 0):
            raise ValueError(f"spot must be > 0, got {s0}")
        d = s0.size
        self.spot = s0
        self.rate = check_real("rate", rate)
        vol = np.broadcast_to(check_array("volatility", volatility, ndim=(0, 1)), (d,)).astype(float)
        if np.any(vol <= 0):
            raise ValueError(f"volatility must be > 0, got {vol}")
        self.volatility = vol
        q = np.broadcast_to(check_array("dividend", dividend, ndim=(0, 1)), (d,)).astype(float)
        if np.any(q < 0):
            raise ValueError(f"dividend must be >= 0, got {q}")
        self.dividend = q
        self.maturity = check_real("maturity", maturity, lo=0.0, lo_open=True)
        self.n_dates = check_int("n_dates", n_dates, min=1)
        if np.ndim(correlation) == 0:
            rho = check_real("correlation", correlation, lo=-1.0, hi=1.0)
            R = np.full((d, d), rho)
            np.fill_diagonal(R, 1.0)
        else:
            R = check_array("correlation", correlation, shape=(d, d))
            if not np.allclose(R, R.T) or not np.allclose(np.diag(R), 1.0):
                raise ValueError("correlation must be a symmetric matrix with unit diagonal")
        try:
            np.linalg.cholesky(R)
        except np.linalg.LinAlgError:
            raise ValueError("correlation must be positive definite") from None
        self.correlation = R
        self.dt = self.maturity / self.n_dates
        self.drift = (self.rate - q - 0.5 * vol**2) * self.dt
        cov = self.dt * np.outer(vol, vol) * R
        self.chol = np.linalg.cholesky(cov)

    @property
    def dim(self) -> int:
        return int(self.spot.size)

    def paths(self, generator: np.random.Generator, m: int, n_steps: int | None = None) -> np.ndarray:
        """``m`` exact paths ``(m, n_steps + 1, d)`` from the spot (numba kernel)."""
        n_steps = self.n_dates if n_steps is None else n_steps
        out = np.empty((m, n_steps + 1, self.dim))
        log0 = np.tile(np.log(self.spot), (m, 1))
        K.gbm_paths(generator, log0, self.drift, self.chol, n_steps, out)
        return out

    def step(self, states: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        """One date ahead from ``states`` ``(m, d)``."""
        z = generator.standard_normal((states.shape[0], self.dim))
        return states * np.exp(self.drift + z @ self.chol.T)

    def __repr__(self) -> str:
        return (
            f"GeometricBrownianMotion(d={self.dim}, spot={self.spot.tolist()}, rate={self.rate}, "
            f"vol={self.volatility.tolist()}, dividend={self.dividend.tolist()}, T={self.maturity}, "
            f"n_dates={self.n_dates})"
        )


@dataclass(frozen=True)
class _StrikePayoff:
    """A payoff with a positive strike :math:`K`, regressed on the first asset's price unless it says
    otherwise (the common part of the payoffs below)."""

    strike: float

    def __post_init__(self) -> None:
        check_real("strike", self.strike, lo=0.0, lo_open=True)

    def features(self, S: np.ndarray) -> np.ndarray:
        return S[:, :1]


@dataclass(frozen=True)
class Put(_StrikePayoff):
    r"""Put on the first asset: :math:`h(S)=(K-S^1)^+`. Features: :math:`S^1`."""

    def __call__(self, S: np.ndarray) -> np.ndarray:
        return np.maximum(self.strike - S[:, 0], 0.0)


@dataclass(frozen=True)
class Call(_StrikePayoff):
    r"""Call on the first asset: :math:`h(S)=(S^1-K)^+`. Features: :math:`S^1`."""

    def __call__(self, S: np.ndarray) -> np.ndarray:
        return np.maximum(S[:, 0] - self.strike, 0.0)


@dataclass(frozen=True)
class MaxCall(_StrikePayoff):
    r"""Call on the maximum: :math:`h(S)=(\max_jS^j-K)^+`.

    Features: the prices sorted in decreasing order (the payoff is symmetric in the assets; Andersen &
    Broadie 2004, §5.1, regress on functions of the sorted prices). On in-the-money paths the payoff is
    the first feature minus the strike, so it is not added (it would make the design singular).
    """

    def __call__(self, S: np.ndarray) -> np.ndarray:
        top = np.maximum(S[:, 0], S[:, 1]) if S.shape[1] == 2 else S.max(axis=1)
        return np.maximum(top - self.strike, 0.0)

    def features(self, S: np.ndarray) -> np.ndarray:
        if S.shape[1] == 2:
            return np.stack([np.maximum(S[:, 0], S[:, 1]), np.minimum(S[:, 0], S[:, 1])], axis=1)
        return -np.sort(-S, axis=1)


class BermudanOption(Simulator):
    """A payoff on a :class:`GeometricBrownianMotion`, as a :class:`~stochdepth.stopping.Simulator`."""

    def __init__(self, process: GeometricBrownianMotion, payoff: Any) -> None:
        if not isinstance(process, GeometricBrownianMotion):
            raise TypeError(f"process must be a GeometricBrownianMotion, got {type(process).__name__}")
        if not callable(payoff) or not hasattr(payoff, "features"):
            raise TypeError(
                "payoff must be a payoff object (Put, Call, MaxCall or one with __call__ and features)"
            )
        self.process = process
        self.payoff = payoff
        self.dim = process.dim

    def initial(self, generator: np.random.Generator, m: int) -> np.ndarray:
        return np.tile(self.process.spot, (m, 1))

    def step(self, layer: int, states: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        return self.process.step(states, generator)

    def gain(self, layer: int, states: np.ndarray) -> np.ndarray:
        return self.payoff(states)

    def features(self, layer: int, states: np.ndarray) -> np.ndarray:
        return self.payoff.features(states)

    def paths(self, generator: np.random.Generator, m: int, horizon: int) -> np.ndarray:
        return self.process.paths(generator, m, horizon)

    def control_variates(self, layer: int, states: np.ndarray) -> np.ndarray:
        r"""Discounted asset prices :math:`e^{-(r-q_j)t_l}S^j_{t_l}`: martingales of mean :math:`S^j_0`."""
        p = self.process
        return states * np.exp(-(p.rate - p.dividend) * layer * p.dt)

    @property
    def control_means(self) -> np.ndarray:  # type: ignore[override]
        return self.process.spot


def bermudan_problem(process: GeometricBrownianMotion, payoff: Any) -> SimulatedStoppingProblem:
    r"""The Bermudan option as a stopping problem: horizon ``n_dates``, discount :math:`e^{-r\Delta}`.

    Exercise is allowed at :math:`t_0=0` and at every date :math:`t_l=lT/L`.

    Examples
    --------
    >>> gbm = GeometricBrownianMotion(36.0, rate=0.06, volatility=0.2, maturity=1.0, n_dates=50)
    >>> prob = bermudan_problem(gbm, Put(40.0))
    >>> prob.horizon, round(prob.discount, 6)
    (50, 0.998801)
    """
    return SimulatedStoppingProblem(
        BermudanOption(process, payoff), process.n_dates, discount=math.exp(-process.rate * process.dt)
    )


@dataclass(frozen=True, repr=False)
class GridPrice(Result):
    """A price computed on grids of two resolutions, Richardson-extrapolated.

    Attributes
    ----------
    value : float
        Extrapolated price :math:`(4P_{h/2}-P_h)/3` (the grid error is :math:`O(h^2)`).
    coarse, fine : float
        Prices on the grids of step :math:`h` and :math:`h/2`.
    error_estimate : float
        :math:`|P_{h/2}-P_h|/3`, the size of the removed :math:`O(h^2)` term.
    n_states : tuple of int
        Grid sizes (per axis).
    """

    value: float
    coarse: float
    fine: float
    error_estimate: float
    n_states: tuple[int, int]


def _log_grid(center: float, half_width: float, h: float) -> tuple[np.ndarray, int]:
    n_half = math.ceil(half_width / h)
    x = center + h * np.arange(-n_half, n_half + 1)
    return x, n_half


def _grid_parameters(
    rate: float,
    volatility: float,
    maturity: float,
    n_dates: int,
    dividend: float,
    points_per_sd: int,
    n_sd: float,
) -> tuple[float, float, float, int, int, float, float, float, float]:
    """Validated parameters of the grid references and the one-date law of the log-price:
    ``(r, sigma, T, L, points_per_sd, n_sd, dt, sd, drift)`` with ``sd`` and ``drift`` per date."""
    r = check_real("rate", rate)
    sig = check_real("volatility", volatility, lo=0.0, lo_open=True)
    T = check_real("maturity", maturity, lo=0.0, lo_open=True)
    L = check_int("n_dates", n_dates, min=1)
    q = check_real("dividend", dividend, lo=0.0)
    pps = check_int("points_per_sd", points_per_sd, min=2)
    nsd = check_real("n_sd", n_sd, lo=3.0)
    dt = T / L
    return r, sig, T, L, pps, nsd, dt, sig * math.sqrt(dt), (r - q - 0.5 * sig * sig) * dt


def _lagrange4(x: np.ndarray, v: np.ndarray, x0: float) -> float:
    """Cubic (4-point Lagrange) interpolation of ``v`` on the uniform grid ``x`` at ``x0``."""
    i = int(np.clip(np.searchsorted(x, x0) - 2, 0, x.size - 4))
    xs, vs = x[i : i + 4], v[i : i + 4]
    total = 0.0
    for j in range(4):
        w = 1.0
        for m in range(4):
            if m != j:
                w *= (x0 - xs[m]) / (xs[j] - xs[m])
        total += w * float(vs[j])
    return total


def _gbm_cdf(drift: float, sd: float, h: float) -> Any:
    # Sheppard's correction: rounding to the grid adds h^2/12 to the variance; remove it beforehand
    s_eff = math.sqrt(max(sd * sd - h * h / 12.0, 0.25 * sd * sd))
    return st.norm(drift, s_eff).cdf


def _richardson(price_on_grid: Callable[[float], tuple[float, int]], h: float) -> GridPrice:
    """Prices on the grid steps ``h`` and ``h / 2`` combined by Richardson extrapolation (error O(h^2))."""
    (coarse, n_coarse), (fine, n_fine) = (price_on_grid(h), price_on_grid(h / 2))
    return GridPrice((4 * fine - coarse) / 3, coarse, fine, abs(fine - coarse) / 3, (n_coarse, n_fine))


def bermudan_put_grid(
    spot: float,
    strike: float,
    *,
    rate: float,
    volatility: float,
    maturity: float,
    n_dates: int,
    dividend: float = 0.0,
    points_per_sd: int = 16,
    n_sd: float = 10.0,
) -> GridPrice:
    r"""Bermudan put by the exact Snell envelope of the log-price walk on a grid (independent reference).

    :math:`x=\log S` lives on a uniform grid reaching ``n_sd``
    :math:`\sigma\sqrt T` beyond :math:`\log S_0`; one date moves it by the rounded Gaussian increment
    (:func:`~stochdepth.stopping.transitions.random_walk_transitions`, with Sheppard's variance
    correction); the Snell envelope is computed by backward induction with discount :math:`e^{-r\Delta}`.
    The grids are centred at :math:`\log K` (the payoff's kink on a node, so the error is smooth in
    :math:`h`) and the price is interpolated at :math:`\log S_0` (4-point Lagrange, :math:`O(h^4)`).
    Two grids (:math:`h=\sigma\sqrt\Delta/`\ ``points_per_sd`` and :math:`h/2`) are combined by
    Richardson extrapolation.

    Parameters
    ----------
    spot, strike : float
        :math:`S_0>0`, :math:`K>0`.
    rate, volatility, maturity : float
        :math:`r`, :math:`\sigma>0`, :math:`T>0`.
    n_dates : int
        Exercise dates after 0.
    dividend : float, optional
        :math:`q\ge0`.
    points_per_sd : int, optional
        Grid points per one-date standard deviation on the coarse grid. Default 16.
    n_sd : float, optional
        Half-width of the grid in units of :math:`\sigma\sqrt T`. Default 10.

    Examples
    --------
    >>> p = bermudan_put_grid(36.0, 40.0, rate=0.06, volatility=0.2, maturity=1.0, n_dates=10,
    ...                       points_per_sd=8)
    >>> bool(4.3 < p.value < 4.5)
    True
    """
    s0 = check_real("spot", spot, lo=0.0, lo_open=True)
    k = check_real("strike", strike, lo=0.0, lo_open=True)
    r, sig, T, L, pps, nsd, dt, sd, drift = _grid_parameters(
        rate, volatility, maturity, n_dates, dividend, points_per_sd, n_sd
    )
    # The strike sits on a node of both grids (the grid is centred at log K): otherwise the payoff's kink
    # moves relative to the nodes as h changes, the error is not smooth in h and Richardson extrapolation
    # (and its error estimate) is unreliable (seen deep out of the money: error 1.4e-4 against an
    # estimate of 8e-6). The price at log S0 is then read off by 4-point Lagrange interpolation, whose
    # O(h^4) error is negligible against the O(h^2) discretisation error that Richardson removes.
    x_spot = math.log(s0)

    def price_on_grid(h: float) -> tuple[float, int]:
        x, _ = _log_grid(math.log(k), nsd * sig * math.sqrt(T) + abs(x_spot - math.log(k)), h)
        P = random_walk_transitions(_gbm_cdf(drift, sd, h), h, x.size)
        gains = np.maximum(k - np.exp(x), 0.0)
        prob = MarkovStoppingProblem(P, gains, 0.0, horizon=L, discount=math.exp(-r * dt))
        sol = BackwardInduction().solve(prob)
        return _lagrange4(x, sol.values[0], x_spot), int(x.size)

    return _richardson(price_on_grid, sd / pps)


def bermudan_max_call_grid(
    spot: Any,
    strike: float,
    *,
    rate: float,
    volatility: float,
    maturity: float,
    n_dates: int,
    dividend: float = 0.0,
    points_per_sd: int = 6,
    n_sd: float = 7.0,
) -> GridPrice:
    r"""Bermudan max-call on two *independent* assets by the Snell envelope on a product grid.

    With :math:`\rho=0` the one-date transition of :math:`(\log S^1,\log S^2)` is the product of two
    one-dimensional random-walk chains :math:`A` (:func:`bermudan_put_grid`), so the continuation value is
    :math:`e^{-r\Delta}AVA^\top` (two dense matrix products per date) and
    :math:`V_l=\max\{(\max(S^1,S^2)-K)^+,\ e^{-r\Delta}AV_{l+1}A^\top\}`. Richardson-extrapolated over two
    grid steps. The symmetric benchmark of Andersen & Broadie (2004) uses equal volatilities and
    dividends, which is what this function accepts.

    Parameters
    ----------
    spot : float or array_like
        :math:`S_0` of the two assets (a float: both).
    strike : float
        :math:`K>0`.
    rate, volatility, maturity, dividend : float
        Common :math:`r`, :math:`\sigma>0`, :math:`T>0`, :math:`q\ge0`.
    n_dates : int
        Exercise dates after 0.
    points_per_sd : int, optional
        Coarse-grid points per one-date standard deviation. Default 6.
    n_sd : float, optional
        Half-width of the grid in units of :math:`\sigma\sqrt T`. Default 7.

    Examples
    --------
    >>> p = bermudan_max_call_grid(100.0, 100.0, rate=0.05, volatility=0.2, maturity=3.0, n_dates=9,
    ...                            dividend=0.1, points_per_sd=2, n_sd=5.0)
    >>> bool(13.7 < p.value < 14.1)
    True
    """
    s0 = np.broadcast_to(check_array("spot", spot, ndim=(0, 1)), (2,)).astype(float)
    if np.any(s0 <= 0):
        raise ValueError(f"spot must be > 0, got {s0}")
    k = check_real("strike", strike, lo=0.0, lo_open=True)
    r, sig, T, L, pps, nsd, dt, sd, drift = _grid_parameters(
        rate, volatility, maturity, n_dates, dividend, points_per_sd, n_sd
    )
    beta = math.exp(-r * dt)

    def price_on_grid(h: float) -> tuple[float, int]:
        axes = []
        for j in range(2):
            # centre the grid on the mean log-price at T/2 so that both tails are equally covered
            x, _ = _log_grid(math.log(s0[j]) + drift * L / 2, nsd * sig * math.sqrt(T), h)
            shift = math.log(s0[j]) - x[0]
            i0 = round(shift / h)
            x = x + (shift - i0 * h)  # put log S0 exactly on the grid
            axes.append((x, i0))
        (x1, i1), (x2, i2) = axes
        A = random_walk_transitions(_gbm_cdf(drift, sd, h), h, x1.size).to_dense()
        S1 = np.exp(x1)[:, None]
        S2 = np.exp(x2)[None, :]
        payoff = np.maximum(np.maximum(S1, S2) - k, 0.0)
        V = payoff.copy()
        for _ in range(L):
            V = np.maximum(payoff, beta * (A @ V @ A.T))
        return float(V[i1, i2]), int(x1.size)

    return _richardson(price_on_grid, sd / pps)
