r"""Closed forms of the linear network, :math:`\phi(x)=x` (docs/science.md §A4).

In the infinite-depth limit at width :math:`n` the network is the diffusion
:math:`dX_t=\|X_t\|\,dB_t/\sqrt n`. Itô's formula for :math:`\|X\|^2` gives a geometric Brownian motion,

.. math::
    \|X_t\| = \|X_0\|\exp\Big(\big(\tfrac12-\tfrac1n\big)t+\tfrac{1}{\sqrt n}W_t\Big),

with :math:`W` a one-dimensional Brownian motion independent of :math:`X_0`. One neuron of the network is
then the Gaussian scale mixture :math:`X^i_t\overset d=\sigma_0Ze^{G_t}`,
:math:`G_t\sim\mathcal N((\frac12-\frac1n)t,t/n)`.

At finite depth :math:`L` (branch scale :math:`\sqrt{h}`, :math:`h=t_1/L`) the squared norm is an exact
multiplicative random walk, :math:`\|Y_l\|^2=\|Y_{l-1}\|^2\xi_l` with i.i.d. factors

.. math::
    \xi = \big(1+g\sqrt{h/n}\big)^2+\frac hn\chi^2_{n-1}
        = \frac hn\,\chi'^2_n\big(\lambda=n/h\big),

a scaled non-central chi-square (the squared norm of :math:`e_1+\sqrt{h/n}\,Z`,
:math:`Z\sim\mathcal N(0,I_n)`). :class:`LinearLogFactorLaw` is the exact law of :math:`\log\xi`.

Everything here is derived in docs/science.md §A4 (tag [derived]); the tests re-derive each statement against
Monte Carlo of the network samplers and against independent numerical integration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import integrate, special
from scipy import stats as st

from .._checks import NumericalError, check_int, check_real, float_errors_as_numerical
from .._results import Result
from ._common import check_time, check_width, lambertw_exp, mills_hazard, sinh_trapezoid_log

__all__ = [
    "LinearLogFactorLaw",
    "LinearNeuronLaw",
    "LogNormMoments",
    "linear_exact_mean_square",
    "linear_log_factor_law",
    "linear_log_norm_moments",
    "linear_neuron_law",
    "linear_norm_ratio_law",
]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_MAX_FLOAT = math.log(np.finfo(np.float64).max)


def _drift(n: int) -> float:
    return 0.5 - 1.0 / n


# ----------------------------------------------------------------------------------------------------
# The norm ratio and the moments of the log-norm
# ----------------------------------------------------------------------------------------------------


@float_errors_as_numerical
def linear_norm_ratio_law(width: int, t: float) -> Any:
    r"""Law of :math:`\|X_t\|/\|X_0\|` for the linear network's depth limit: a log-normal.

    .. math::
        \log\frac{\|X_t\|}{\|X_0\|}\sim\mathcal N\Big(\big(\tfrac12-\tfrac1n\big)t,\ \frac tn\Big),
        \qquad \mathbb E\Big(\frac{\|X_t\|}{\|X_0\|}\Big)^p
        = \exp\Big(p\big(\tfrac12-\tfrac1n\big)t+\frac{p^2t}{2n}\Big).

    Parameters
    ----------
    width : int
        Width :math:`n\ge1`.
    t : float
        Depth-time :math:`t>0` (at :math:`t=0` the ratio is 1 almost surely, which is not a continuous law).

    Returns
    -------
    scipy.stats frozen distribution
        ``scipy.stats.lognorm(s=sqrt(t/n), scale=exp((1/2 - 1/n) t))``.

    References
    ----------
    Derived, docs/science.md §A4 (Itô's formula for :math:`\|X\|^2`).

    Examples
    --------
    >>> law = linear_norm_ratio_law(4, 1.0)
    >>> round(float(law.moment(2)), 12) == round(math.e, 12)   # E ratio^2 = e^t for every width
    True
    """
    n = check_width(width)
    t = check_real("t", t, lo=0.0, lo_open=True)
    return st.lognorm(s=math.sqrt(t / n), scale=math.exp(_drift(n) * t))


@dataclass(frozen=True)
class LogNormMoments(Result):
    r"""Moments of the log-norm ratio :math:`R=\log(\|Y\|/\|Y_0\|)` of the linear network.

    Attributes
    ----------
    width : int
    t : float
        Depth-time (the horizon :math:`t_1` of the network when ``depth`` is set).
    depth : int or None
        ``None`` for the infinite-depth limit, else the exact finite-depth walk.
    mean, var : float
        Mean and variance of :math:`R`.
    skewness, excess_kurtosis : float
        Standardised third cumulant and fourth cumulant (0 and 0 in the limit, where :math:`R` is
        Gaussian).
    """

    width: int
    t: float
    depth: int | None
    mean: float
    var: float
    skewness: float
    excess_kurtosis: float

    @property
    def std(self) -> float:
        return math.sqrt(self.var)


@float_errors_as_numerical
def linear_log_norm_moments(width: int, t: float, *, depth: int | None = None) -> LogNormMoments:
    r"""Mean, variance and shape of :math:`\log(\|Y\|/\|Y_0\|)` for the linear network.

    In the depth limit (``depth=None``), :math:`\log(\|X_t\|/\|X_0\|)\sim\mathcal N((\frac12-\frac1n)t,t/n)`.
    At finite depth :math:`L` with horizon :math:`t` (step :math:`h=t/L`), the log-norm is the random walk
    :math:`\frac12\sum_{l=1}^L\log\xi_l` of :class:`LinearLogFactorLaw`, so its cumulants are exactly

    .. math::
        \kappa_j\big(\log\tfrac{\|Y_L\|}{\|Y_0\|}\big)=\frac{L}{2^j}\,\kappa_j(\log\xi),\qquad j\ge1.

    Parameters
    ----------
    width : int
        Width :math:`n\ge1`.
    t : float
        Depth-time :math:`t\ge0` (the network's horizon :math:`t_1` when ``depth`` is given).
    depth : int or None, keyword-only
        Depth :math:`L\ge1` of a finite network, or ``None`` for the limit.

    Returns
    -------
    LogNormMoments

    References
    ----------
    Derived, docs/science.md §A4.

    Examples
    --------
    >>> lim = linear_log_norm_moments(4, 1.0)
    >>> (lim.mean, lim.var)
    (0.25, 0.25)
    >>> fin = linear_log_norm_moments(4, 1.0, depth=1000)
    >>> abs(fin.mean - lim.mean) < 1e-3 and abs(fin.var - lim.var) < 1e-3
    True
    """
    n = check_width(width)
    t = check_time(t)
    if depth is None:
        return LogNormMoments(n, t, None, _drift(n) * t, t / n, 0.0, 0.0)
    L = check_int("depth", depth, min=1)
    if t == 0.0:
        return LogNormMoments(n, t, L, 0.0, 0.0, 0.0, 0.0)
    law = LinearLogFactorLaw(n, L, t)
    m1, m2, m3, m4 = law.cumulants()
    k1, k2, k3, k4 = L * m1 / 2, L * m2 / 4, L * m3 / 8, L * m4 / 16
    return LogNormMoments(n, t, L, k1, k2, k3 / k2**1.5, k4 / k2**2)


@float_errors_as_numerical
def linear_exact_mean_square(width: int, depth: int, t1: float = 1.0) -> float:
    r"""Exact :math:`\mathbb E\|Y_L\|^2/\|Y_0\|^2` of a linear network of depth :math:`L`.

    .. math::
        \mathbb E\,\xi = \Big(1+\frac{t_1}{L}\Big)
        \quad\Longrightarrow\quad
        \frac{\mathbb E\|Y_L\|^2}{\|Y_0\|^2}=\Big(1+\frac{t_1}{L}\Big)^L\xrightarrow[L\to\infty]{}e^{t_1},

    for every width (the factor is the mean of a scaled non-central chi-square: :math:`\frac hn(n+\frac nh)`).

    Parameters
    ----------
    width : int
        Width :math:`n\ge1` (the factor does not depend on it).
    depth : int
        Depth :math:`L\ge1`.
    t1 : float
        Horizon :math:`t_1>0` (branch scale :math:`\sqrt{t_1/L}`).

    Raises
    ------
    NumericalError
        If the value overflows float64 (:math:`L\log(1+t_1/L)>709.78`).

    References
    ----------
    Derived, docs/science.md §A4.

    Examples
    --------
    >>> linear_exact_mean_square(8, 2)
    2.25
    """
    check_width(width)
    L = check_int("depth", depth, min=1)
    t1 = check_real("t1", t1, lo=0.0, lo_open=True)
    log_value = L * math.log1p(t1 / L)
    if log_value > _LOG_MAX_FLOAT:
        raise NumericalError(
            f"linear_exact_mean_square: (1 + t1/L)^L = exp({log_value:.6g}) overflows float64; its logarithm "
            "is L log1p(t1 / L)"
        )
    return math.exp(log_value)


# ----------------------------------------------------------------------------------------------------
# One neuron: a Gaussian scale mixture
# ----------------------------------------------------------------------------------------------------


class _NamedParameterLaw(st.rv_continuous):
    """scipy's constructor protocol for a law whose parameters are attributes named in ``_params``:
    scipy rebuilds the law (``freeze``, copies) from :meth:`_updated_ctor_param`."""

    _params: tuple[str, ...] = ()

    def _updated_ctor_param(self) -> dict[str, Any]:
        d = super()._updated_ctor_param()
        d.update({name: getattr(self, name) for name in self._params})
        return d


class LinearNeuronLaw(_NamedParameterLaw):
    r"""Law of one neuron :math:`X^i_t=\sigma_0Ze^{G_t}` of the linear network's depth limit.

    :math:`Z\sim\mathcal N(0,1)` is independent of :math:`G_t\sim\mathcal N(\mu t,t/n)`,
    :math:`\mu=\frac12-\frac1n`. Moments in closed form:

    .. math::
        \mathbb E X^{2k}=\sigma_0^{2k}(2k-1)!!\,e^{2k\mu t+2k^2t/n},\qquad
        \operatorname{Var}X=\sigma_0^2e^{t},\qquad \operatorname{kurt}X=3e^{4t/n}.

    The density and the distribution function are one-dimensional integrals over :math:`G_t`,

    .. math::
        p(x)=\mathbb E\Big[\frac{e^{-G}}{\sigma_0}\varphi\Big(\frac{xe^{-G}}{\sigma_0}\Big)\Big],\qquad
        \mathbb P(|X|>|x|)=\mathbb E\Big[2\Phi\Big(-\frac{|x|e^{-G}}{\sigma_0}\Big)\Big],

    computed by quadrature in :math:`G` adapted to each point: the (log-concave) integrand is centred at
    its mode and scaled by its curvature there, as in adaptive Gauss--Hermite quadrature (Liu & Pierce,
    Biometrika 1994), then integrated by the trapezoidal rule after the substitution
    :math:`G=G^\star+\sigma^\star\sinh v` (exponentially convergent, and robust to the skewed
    integrands of large :math:`t/n`, where a Gauss--Hermite rule centred at the mean of :math:`G` fails).
    The mode of the density's integrand is explicit through the Lambert function; the tail
    probability's is found by safeguarded Newton steps. Relative accuracy holds far into the tails.

    Parameters
    ----------
    width : int
        Width :math:`n\ge1`.
    t : float
        Depth-time :math:`t\ge0` (:math:`t=0` gives :math:`\mathcal N(0,\sigma_0^2)`).
    sigma0 : float
        Initial standard deviation :math:`\sigma_0=\|x\|/\sqrt d>0`.

    Notes
    -----
    scipy's ``kurtosis``/``stats(moments='k')`` report the *excess* kurtosis, :math:`3e^{4t/n}-3`.

    References
    ----------
    Derived, docs/science.md §A4.

    Examples
    --------
    >>> law = LinearNeuronLaw(2, 1.0)
    >>> bool(np.isclose(law.var(), math.e)), bool(np.isclose(law.stats(moments="k"), 3 * math.e**2 - 3))
    (True, True)
    >>> round(float(law.cdf(0.0)), 12)
    0.5
    """

    _params = ("width", "t", "sigma0")

    def __init__(self, width: int, t: float, sigma0: float = 1.0, **kwargs: Any) -> None:
        self.width = check_width(width)
        self.t = check_time(t)
        self.sigma0 = check_real("sigma0", sigma0, lo=0.0, lo_open=True)
        self._mu = _drift(self.width) * self.t
        self._s = math.sqrt(self.t / self.width)
        kwargs.setdefault("name", "linear_neuron")
        super().__init__(**kwargs)

    # log density of W = log|X / sigma0| at w (the convolution of log|Z| with N(mu, s^2))
    def _log_abs_density(self, w: np.ndarray) -> np.ndarray:
        mu, s = self._mu, self._s
        s2 = s * s
        # mode of g -> log phi_s(g - mu) + log(2 psi(w - g)), psi(v) = phi(e^v) e^v:
        # (r + s^2) e^{2r} = s^2 e^{2(w - mu)} with r = g - mu, solved by the Lambert function
        y = lambertw_exp(math.log(2.0 * s2) + 2.0 * (w - mu) + 2.0 * s2)
        r = 0.5 * y - s2
        sig = 1.0 / np.sqrt(1.0 / s2 + 2.0 * (r / s2 + 1.0))

        def logf(g: np.ndarray) -> np.ndarray:
            v = w[..., None] - g
            with np.errstate(over="ignore"):
                return (
                    -((g - mu) ** 2) / (2.0 * s2)
                    - math.log(s)
                    - 2.0 * _LOG_SQRT_2PI
                    + math.log(2.0)
                    - 0.5 * np.exp(2.0 * v)
                    + v
                )

        # the normal factor alone makes log f drop by > 60 beyond 11 s of the mode
        return sinh_trapezoid_log(logf, mu + r, sig, np.full_like(w, 11.0 * s))

    # log P(log|X / sigma0| > w)
    def _log_abs_tail(self, w: np.ndarray) -> np.ndarray:
        mu, s = self._mu, self._s
        s2 = s * s

        def derivs(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            with np.errstate(over="ignore"):
                z = np.exp(w - g)
            haz, diff = mills_hazard(z)
            d1 = -(g - mu) / s2 + z * haz
            d2 = -1.0 / s2 - z * haz - z * z * haz * diff
            return d1, d2

        # d1 > 0 at g = mu, and d1 < 0 where z <= 1 and (g - mu) / s^2 > h(1) = 1.525...
        lo = np.full_like(w, mu)
        hi = np.maximum(w, mu) + 1.6 * s2 + 1.0
        g = 0.5 * (lo + hi)
        for _ in range(200):
            d1, d2 = derivs(g)
            lo = np.where(d1 > 0, g, lo)
            hi = np.where(d1 > 0, hi, g)
            newton = g - d1 / d2
            inside = (newton > lo) & (newton < hi) & np.isfinite(newton)
            g_new = np.where(inside, newton, 0.5 * (lo + hi))
            done = np.all(np.abs(g_new - g) <= 1e-10 * (1.0 + np.abs(g)))
            g = g_new
            if done:
                break
        _, d2 = derivs(g)
        sig = 1.0 / np.sqrt(-d2)

        def logf(nodes: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore"):
                z = np.exp(w[..., None] - nodes)
            return (
                -((nodes - mu) ** 2) / (2.0 * s2)
                - math.log(s)
                - _LOG_SQRT_2PI
                + math.log(2.0)
                + special.log_ndtr(-z)
            )

        return np.minimum(sinh_trapezoid_log(logf, g, sig, np.full_like(w, 11.0 * s)), 0.0)

    def _logpdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.t == 0.0:
            return st.norm.logpdf(x, scale=self.sigma0)
        ax = np.abs(x)
        out = np.empty_like(ax)
        zero = ax == 0.0
        # p(0) = phi(0) E[e^{-G}] / sigma0 = phi(0) exp(-mu + s^2 / 2) / sigma0
        out[zero] = -_LOG_SQRT_2PI - self._mu + 0.5 * self._s**2 - math.log(self.sigma0)
        nz = ~zero
        if np.any(nz):
            w = np.log(ax[nz] / self.sigma0)
            out[nz] = self._log_abs_density(w) - math.log(2.0) - np.log(ax[nz])
        return out

    def _pdf(self, x: np.ndarray) -> np.ndarray:
        return np.exp(self._logpdf(x))

    def _half_tail(self, x: np.ndarray) -> np.ndarray:
        """P(X > |x|) = P(|X| > |x|) / 2."""
        ax = np.abs(np.asarray(x, dtype=float))
        out = np.full_like(ax, 0.5)
        nz = ax > 0
        if np.any(nz):
            out[nz] = 0.5 * np.exp(self._log_abs_tail(np.log(ax[nz] / self.sigma0)))
        return out

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.t == 0.0:
            return st.norm.cdf(x, scale=self.sigma0)
        tail = self._half_tail(x)
        return np.where(x < 0, tail, 1.0 - tail)

    def _sf(self, x: np.ndarray) -> np.ndarray:
        return self._cdf(-np.asarray(x, dtype=float))

    def _logcdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.t == 0.0:
            return st.norm.logcdf(x, scale=self.sigma0)
        out = np.full_like(x, math.log(0.5))
        nz = x != 0
        if np.any(nz):
            lt = self._log_abs_tail(np.log(np.abs(x[nz]) / self.sigma0)) + math.log(0.5)
            out[nz] = np.where(x[nz] < 0, lt, np.log1p(-np.exp(lt)))
        return out

    def _logsf(self, x: np.ndarray) -> np.ndarray:
        return self._logcdf(-np.asarray(x, dtype=float))

    def _munp(self, k: Any) -> Any:
        k = int(k)
        if k % 2:
            return 0.0
        return (
            self.sigma0**k
            * float(special.factorial2(k - 1, exact=True) if k > 0 else 1)
            * math.exp(k * self._mu + 0.5 * k * k * self._s**2)
        )

    def _stats(self) -> tuple[float, float, float, float]:
        var = self.sigma0**2 * math.exp(self.t)
        return 0.0, var, 0.0, 3.0 * math.expm1(4.0 * self.t / self.width)

    def _rvs(self, size: Any = None, random_state: Any = None) -> np.ndarray:
        z = random_state.standard_normal(size)
        g = self._mu + self._s * random_state.standard_normal(size)
        return self.sigma0 * z * np.exp(g)


@float_errors_as_numerical
def linear_neuron_law(width: int, t: float, sigma0: float = 1.0) -> LinearNeuronLaw:
    r"""One neuron :math:`X^i_t` of the linear network's depth limit: a :class:`LinearNeuronLaw`.

    Parameters
    ----------
    width : int
        Width :math:`n\ge1`.
    t : float
        Depth-time :math:`t\ge0`.
    sigma0 : float
        :math:`\sigma_0=\|x\|/\sqrt d>0`.

    References
    ----------
    Derived, docs/science.md §A4.

    Examples
    --------
    >>> law = linear_neuron_law(8, 2.0, sigma0=0.5)
    >>> bool(np.isclose(law.std(), 0.5 * math.exp(1.0)))
    True
    """
    return LinearNeuronLaw(width, t, sigma0)


# ----------------------------------------------------------------------------------------------------
# The exact finite-depth factor
# ----------------------------------------------------------------------------------------------------


def _log_chi2_mixture_cumulants(n: int, lam: float) -> tuple[float, float, float, float]:
    r"""First four cumulants of :math:`\log V`, :math:`V\sim\chi'^2_n(\lambda)`.

    :math:`V` is the Poisson mixture :math:`\chi^2_{n+2K}`, :math:`K\sim\mathrm{Poisson}(\lambda/2)`, and
    :math:`\log\chi^2_m` has cumulants :math:`\log2+\psi(m/2)` and :math:`\psi^{(j-1)}(m/2)`, :math:`j\ge2`.
    Conditional raw moments about the overall mean are mixed with the Poisson weights.
    """
    half = 0.5 * lam
    # Chernoff: P(|K - half| > x) < 2 exp(-x^2 / (2 (half + x / 3))) < 1e-30 for x = 12 sqrt(half) + 60
    spread = 12.0 * math.sqrt(half) + 60.0
    k = np.arange(max(math.floor(half - spread), 0), math.ceil(half + spread) + 1, dtype=float)
    w = st.poisson.pmf(k, half)
    w = w / w.sum()
    m = 0.5 * n + k
    c1 = math.log(2.0) + special.digamma(m)
    c2 = special.polygamma(1, m)
    c3 = special.polygamma(2, m)
    c4 = special.polygamma(3, m)
    mean = float(w @ c1)
    d = c1 - mean
    mu2 = float(w @ (c2 + d * d))
    mu3 = float(w @ (c3 + 3.0 * c2 * d + d**3))
    mu4 = float(w @ (c4 + 4.0 * c3 * d + 3.0 * c2 * c2 + 6.0 * c2 * d * d + d**4))
    return mean, mu2, mu3, mu4 - 3.0 * mu2 * mu2


#: Above this non-centrality (and this width) the cdf of :class:`LinearLogFactorLaw` is computed by
#: quadrature over the chi-square part: scipy's ``ncx2`` (Boost's Marcum Q) returns NaN from about 1e10.
_WIDE_NONCENTRALITY = 1e9
_WIDE_MIN_WIDTH = 10_000
_HERMITE = np.polynomial.hermite_e.hermegauss(96)


class LinearLogFactorLaw(_NamedParameterLaw):
    r"""Exact law of :math:`\log\xi`, the log squared-norm factor of one layer of a linear network.

    With step :math:`h=t_1/L` (branch scale :math:`\sqrt h`) and width :math:`n`,

    .. math::
        \xi=\big(1+g\sqrt{h/n}\big)^2+\frac hn\chi^2_{n-1}=\frac hn\,V,\qquad
        V\sim\chi'^2_n\Big(\lambda=\frac nh\Big),

    :math:`g\sim\mathcal N(0,1)\perp\chi^2_{n-1}`. Hence, vectorised and exact,

    .. math::
        F(y)=F_{\chi'^2_n(\lambda)}\Big(\frac nh e^y\Big),\qquad
        p(y)=\frac nh e^y\,p_{\chi'^2_n(\lambda)}\Big(\frac nh e^y\Big),

    (scipy's ``ncx2``, i.e. Boost's Marcum-Q based routines; for a width above :math:`10^4` and
    :math:`\lambda>10^9`, where those return NaN from about :math:`10^{10}`, the cdf conditions on the
    chi-square part instead, see :attr:`wide`) and the cumulants are Poisson-mixture series
    of polygamma functions (:meth:`cumulants`): :math:`\mathbb E\log\xi=\log\frac hn+\log2+
    \mathbb E\psi(\frac n2+K)`, :math:`K\sim\mathrm{Poisson}(\frac\lambda2)`. The one-dimensional
    convolution over :math:`g` (:meth:`pdf_quadrature`, :meth:`cdf_quadrature`) is an independent route
    to the same law, used by the tests.

    Parameters
    ----------
    width : int
        Width :math:`n\ge1`.
    depth : int
        Depth :math:`L\ge1`.
    t1 : float
        Horizon :math:`t_1>0`.

    Notes
    -----
    The mean squared-norm factor is :math:`\mathbb E\xi=1+h` exactly; see
    :func:`linear_exact_mean_square`. The stopping module discretises this law into a Markov chain: use
    :meth:`cdf` (vectorised, one call for all cell edges).

    References
    ----------
    Derived, docs/science.md §A4 (the non-central chi-square form is derived here: :math:`\xi=\|e_1+aZ\|^2`).

    Examples
    --------
    >>> law = LinearLogFactorLaw(4, 10)
    >>> m, v = law.stats()
    >>> bool(abs(10 * m / 2 - 0.25) < 0.02), bool(abs(10 * v / 4 - 0.25) < 0.02)   # close to the limit
    (True, True)
    """

    _params = ("width", "depth", "t1")

    def __init__(self, width: int, depth: int, t1: float = 1.0, **kwargs: Any) -> None:
        self.width = check_width(width)
        self.depth = check_int("depth", depth, min=1)
        self.t1 = check_real("t1", t1, lo=0.0, lo_open=True)
        self.h = self.t1 / self.depth
        self.a2 = self.h / self.width  # scale of V
        self.lam = self.width / self.h  # non-centrality
        self._log_a2 = math.log(self.a2)
        self._ncx2 = st.ncx2(self.width, self.lam)
        self._cum: tuple[float, float, float, float] | None = None
        self._wide_nodes: tuple[np.ndarray, np.ndarray] | None = None
        kwargs.setdefault("name", "linear_log_factor")
        super().__init__(**kwargs)

    def _v(self, y: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.exp(np.asarray(y, dtype=float) - self._log_a2)

    def _logpdf(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        v = self._v(y)
        with np.errstate(divide="ignore"):
            return self._ncx2.logpdf(v) + y - self._log_a2

    def _pdf(self, y: np.ndarray) -> np.ndarray:
        return np.exp(self._logpdf(y))

    @property
    def wide(self) -> bool:
        r"""Whether :meth:`cdf` and :meth:`sf` use the quadrature over :math:`\chi^2_{n-1}` (non-centrality
        above ``1e9`` and width above ``1e4``: scipy's Marcum Q returns NaN from about ``1e10``)."""
        return self.lam > _WIDE_NONCENTRALITY and self.width > _WIDE_MIN_WIDTH

    def _cdf(self, y: np.ndarray) -> np.ndarray:
        if not self.wide:
            return self._ncx2.cdf(self._v(y))
        F, Q = self._wide_tails(y)
        return np.where(F < 0.5, F, 1.0 - Q)

    def _sf(self, y: np.ndarray) -> np.ndarray:
        if not self.wide:
            return self._ncx2.sf(self._v(y))
        F, Q = self._wide_tails(y)
        return np.where(Q < 0.5, Q, 1.0 - F)

    def _wide_tails(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r"""Both tails :math:`(F,1-F)` for a wide network, each summed directly (accurate where small):
        conditioning on :math:`U\sim\chi^2_{n-1}`,

        .. math::
            F(y)=\mathbb E\Big[\Phi\Big(\frac{\sqrt{R}-1}{a}\Big)-\Phi\Big(\frac{-\sqrt{R}-1}{a}\Big)\Big],
            \qquad R=(e^y-a^2U)_+,

        by Gauss--Hermite quadrature in the standardised :math:`U` (96 nodes, the chi-square density's
        ratio to the normal one in the weights, computed once). The integrand moves by
        :math:`\approx\sqrt{h/2}` per standard deviation of :math:`U`, so it is smooth on the quadrature's
        scale.
        """
        if self._wide_nodes is None:
            k = float(self.width - 1)
            z, w = _HERMITE
            sd = math.sqrt(2.0 * k)
            logw = np.log(w) + st.chi2.logpdf(k + sd * z, k) + math.log(sd) + 0.5 * z * z
            weights = np.exp(logw - logw.max())
            self._wide_nodes = (k + sd * z, weights / weights.sum())
        u, weights = self._wide_nodes
        a = math.sqrt(self.a2)
        with np.errstate(over="ignore"):
            r = np.exp(np.asarray(y, dtype=float))[..., None] - self.a2 * u
        root = np.sqrt(np.maximum(r, 0.0))
        inside = special.ndtr((root - 1.0) / a) - special.ndtr((-root - 1.0) / a)
        outside = special.ndtr((1.0 - root) / a) + special.ndtr((-root - 1.0) / a)
        return np.where(r > 0.0, inside, 0.0) @ weights, np.where(r > 0.0, outside, 1.0) @ weights

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self._ncx2.ppf(q)) + self._log_a2

    def _isf(self, q: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self._ncx2.isf(q)) + self._log_a2

    def cumulants(self) -> tuple[float, float, float, float]:
        r"""The first four cumulants :math:`(\kappa_1,\dots,\kappa_4)` of :math:`\log\xi` (exact series)."""
        if self._cum is None:
            m, k2, k3, k4 = _log_chi2_mixture_cumulants(self.width, self.lam)
            self._cum = (m + self._log_a2, k2, k3, k4)
        return self._cum

    def _stats(self) -> tuple[float, float, float, float]:
        m, k2, k3, k4 = self.cumulants()
        return m, k2, k3 / k2**1.5, k4 / k2**2

    def _rvs(self, size: Any = None, random_state: Any = None) -> np.ndarray:
        a = math.sqrt(self.a2)
        g = random_state.standard_normal(size)
        chi = random_state.chisquare(self.width - 1, size) if self.width > 1 else 0.0
        return np.log1p(2.0 * a * g + self.a2 * (g * g + chi))

    # --- the independent route: convolution over g -------------------------------------------------

    def _g_interval(self, y: float) -> tuple[float, float]:
        # (1 + g a)^2 < e^y  <=>  g in ((-e^{y/2} - 1) / a, (e^{y/2} - 1) / a)
        a = math.sqrt(self.a2)
        r = math.exp(0.5 * y)
        return (-r - 1.0) / a, (r - 1.0) / a

    def _g_breaks(self, y: float, lo: float, hi: float) -> list[float]:
        # where the chi-square argument sits at the bulk of chi2_{n-1}: the integrand's sharp features
        a = math.sqrt(self.a2)
        pts = []
        for q in (1.0, max(self.width - 3.0, 0.5), self.width - 1.0, 2.0 * self.width + 10.0):
            r2 = math.exp(y) - q * self.a2
            if r2 > 0:
                for sgn in (-1.0, 1.0):
                    g = (sgn * math.sqrt(r2) - 1.0) / a
                    if lo + 1e-6 < g < hi - 1e-6:
                        pts.append(g)
        return sorted(set(pts))

    def cdf_quadrature(self, y: Any) -> np.ndarray:
        r"""CDF of :math:`\log\xi` by quadrature over :math:`g` (slow reference, one ``quad`` per point).

        .. math::
            F(y)=\int\varphi(g)\,F_{\chi^2_{n-1}}\Big(\frac{e^y-(1+ga)^2}{a^2}\Big)\,dg,\qquad a^2=\frac hn.
        """
        ys = np.atleast_1d(np.asarray(y, dtype=float))
        out = np.empty_like(ys)
        n = self.width
        for i, yi in enumerate(ys):
            g_lo, g_hi = self._g_interval(float(yi))
            if n == 1:
                out[i] = st.norm.cdf(g_hi) - st.norm.cdf(g_lo)
                continue
            a = math.sqrt(self.a2)
            ey = math.exp(yi)

            def f(g: float, ey: float = ey, a: float = a) -> float:
                w = (ey - (1.0 + g * a) ** 2) / self.a2
                return float(st.norm.pdf(g) * st.chi2.cdf(max(w, 0.0), n - 1))

            lo, hi = max(g_lo, -40.0), min(g_hi, 40.0)
            pts = self._g_breaks(float(yi), lo, hi) or None
            out[i] = (
                integrate.quad(f, lo, hi, points=pts, epsabs=1e-14, epsrel=1e-12, limit=500)[0]
                if hi > lo
                else 0.0
            )
        return out.reshape(np.shape(y))

    def pdf_quadrature(self, y: Any) -> np.ndarray:
        r"""Density of :math:`\log\xi` by quadrature over :math:`g` (slow reference).

        .. math::
            p(y)=\frac{e^y}{a^2}\int_{|1+ga|<e^{y/2}}\varphi(g)\,
            p_{\chi^2_{n-1}}\Big(\frac{e^y-(1+ga)^2}{a^2}\Big)\,dg

        (for :math:`n=2` the :math:`\chi^2_1` density's endpoint singularities are handled by an
        algebraic weight; for :math:`n=1` the density is explicit).
        """
        ys = np.atleast_1d(np.asarray(y, dtype=float))
        out = np.empty_like(ys)
        n = self.width
        a = math.sqrt(self.a2)
        for i, yi in enumerate(ys):
            g_lo, g_hi = self._g_interval(float(yi))
            ey = math.exp(yi)
            if n == 1:
                out[i] = (st.norm.pdf(g_lo) + st.norm.pdf(g_hi)) * math.exp(0.5 * yi) / (2.0 * a)
                continue
            if n == 2:
                # p_{chi2_1}(w) = w^{-1/2} e^{-w/2} / sqrt(2 pi), with w = (g_hi - g)(g - g_lo)
                def f2(g: float, ey: float = ey) -> float:
                    w = (ey - (1.0 + g * a) ** 2) / self.a2
                    return float(st.norm.pdf(g) * math.exp(-0.5 * max(w, 0.0)) / math.sqrt(2.0 * math.pi))

                val = integrate.quad(
                    f2, g_lo, g_hi, weight="alg", wvar=(-0.5, -0.5), epsabs=1e-15, epsrel=1e-12, limit=200
                )[0]
                out[i] = val * ey / self.a2
                continue

            def f(g: float, ey: float = ey) -> float:
                w = (ey - (1.0 + g * a) ** 2) / self.a2
                return float(math.exp(st.norm.logpdf(g) + st.chi2.logpdf(w, n - 1))) if w > 0 else 0.0

            lo, hi = max(g_lo, -40.0), min(g_hi, 40.0)
            pts = self._g_breaks(float(yi), lo, hi) or None
            val = (
                integrate.quad(f, lo, hi, points=pts, epsabs=0.0, epsrel=1e-12, limit=500)[0]
                if hi > lo
                else 0.0
            )
            out[i] = val * ey / self.a2
        return out.reshape(np.shape(y))


def linear_log_factor_law(width: int, depth: int, t1: float = 1.0) -> LinearLogFactorLaw:
    r"""Exact law of :math:`\log\xi` for one layer of a depth-:math:`L` linear network
    (:class:`LinearLogFactorLaw`).

    Parameters
    ----------
    width : int
        Width :math:`n\ge1`.
    depth : int
        Depth :math:`L\ge1`.
    t1 : float
        Horizon :math:`t_1>0`; the step is :math:`h=t_1/L`.

    References
    ----------
    Derived, docs/science.md §A4.

    Examples
    --------
    >>> law = linear_log_factor_law(3, 100)
    >>> edges = np.linspace(-0.5, 0.5, 5)
    >>> probs = np.diff(law.cdf(edges))   # one vectorised call, as for a Markov-chain discretisation
    >>> probs.shape
    (4,)
    """
    return LinearLogFactorLaw(width, depth, t1)
