r"""Closed forms and identities of the ReLU network, :math:`\phi(x)=\max(x,0)` (docs/science.md §A5).

:math:`\sum_i(x_i)_+^2` is :math:`C^1` with a Lipschitz gradient, so Itô's formula applies to it without a
local-time term. With :math:`\mu_t` the number of active neurons, the post-activation norm of the depth
limit :math:`dX_t=\|\phi(X_t)\|\,dB_t/\sqrt n` is

.. math::
    \|\phi(X_t)\|=\|\phi(X_0)\|\exp\Big(\frac1{\sqrt n}\widehat W_t+\frac1n\int_0^t
    \Big(\frac{\mu_s}2-1\Big)ds\Big),\qquad
    d\widehat W_t=\frac{\langle\phi(X_t),dB_t\rangle}{\|\phi(X_t)\|}.

Consequences implemented here: the dead set has probability :math:`2^{-n}`
(:func:`relu_dead_probability`); the initial drift of :math:`\mathbb E[\log\|\phi(X_t)\|\mid\text{alive}]`
is :math:`D(n)=\frac1{4(1-2^{-n})}-\frac1n` (:func:`relu_log_drift`, with a Monte Carlo estimator
:func:`relu_log_drift_mc`); width 1 is a geometric Brownian motion (:func:`relu_width1_law`); the
identity itself is checkable along simulated paths (:func:`relu_norm_identity`); and the change of regime
between widths 3 and 4, with the eventual decay of every width, is tabulated by :func:`relu_regime`.

All statements are tagged [derived] (the regime [seed; reading derived]) in docs/science.md §A5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from scipy import stats as st

from .._checks import check_bool, check_int, check_memory, check_real
from .._results import Estimate, Result
from ..executors import accepts_executor
from ..montecarlo import check_threads, map_chunks
from ..random import DEFAULT_CHUNK_SIZE, RNGLike, check_chunk_size, spawn
from . import _kernels as K
from ._common import check_n_paths, check_width, check_widths, even_record

__all__ = [
    "NormIdentityCheck",
    "ReluRegime",
    "relu_dead_probability",
    "relu_log_drift",
    "relu_log_drift_mc",
    "relu_norm_identity",
    "relu_regime",
    "relu_width1_law",
]


def relu_dead_probability(width: int) -> float:
    r"""Probability that a ReLU network of width :math:`n` is dead at initialisation: :math:`2^{-n}`.

    The coordinates of :math:`X_0=W_{\rm in}x` are i.i.d. centred Gaussians, so all are :math:`\le0`
    with probability :math:`2^{-n}`. The dead set is absorbing; in the depth limit the probability stays
    :math:`2^{-n}` for all :math:`t` (a finite-depth network can jump into it, with a probability that
    vanishes with :math:`L`).

    Parameters
    ----------
    width : int
        :math:`n\ge1`.

    References
    ----------
    Derived, docs/science.md §A5.

    Examples
    --------
    >>> relu_dead_probability(3)
    0.125
    """
    n = check_width(width)
    return math.ldexp(1.0, -n)


def relu_log_drift(width: int, *, exact: bool = False) -> float | Fraction:
    r"""Initial drift :math:`D(n)` of the mean log post-activation norm of a live ReLU network.

    .. math::
        D(n)=\frac{d}{dt}\,\mathbb E\big[\log\|\phi(X_t)\|\,\big|\,\text{alive}\big]_{t=0}
        =\mathbb E\Big[\frac{\mu_0-2}{2n}\,\Big|\,\mu_0\ge1\Big]
        =\frac1{4(1-2^{-n})}-\frac1n,

    since :math:`\mu_0\sim\mathrm{Bin}(n,\frac12)` and :math:`\mathbb E[\mu_0\mid\mu_0\ge1]=
    \frac{n/2}{1-2^{-n}}`. :math:`D(1)=-\frac12`, :math:`D(2)=-\frac16`, :math:`D(3)=-\frac1{21}<0<
    D(4)=\frac1{60}`, and :math:`D(n)\to\frac14` as :math:`n\to\infty`.

    Parameters
    ----------
    width : int
        :math:`n\ge1`.
    exact : bool, keyword-only
        Return a :class:`fractions.Fraction` instead of a float.

    References
    ----------
    Derived, docs/science.md §A5 (the change of regime between widths 3 and 4).

    Examples
    --------
    >>> relu_log_drift(3, exact=True), relu_log_drift(4, exact=True)
    (Fraction(-1, 21), Fraction(1, 60))
    """
    n = check_width(width)
    check_bool("exact", exact)
    value = Fraction(1, 4) / (1 - Fraction(1, 2**n)) - Fraction(1, n)
    return value if exact else float(value)


def _live_paths(status: np.ndarray, width: int, n_paths: int) -> np.ndarray:
    """Mask of the paths alive throughout; at least 2 are needed for a mean and its standard error."""
    ok = status == K.ALIVE
    if np.count_nonzero(ok) < 2:
        raise ValueError(
            f"fewer than 2 live networks of width {width} among n_paths={n_paths} (a fraction 2^-{width} "
            "is dead at initialisation); increase n_paths"
        )
    return ok


def _run_paths(
    n: int,
    n_steps: int,
    h: float,
    rec: np.ndarray,
    n_paths: int,
    rng: RNGLike,
    chunk_size: int,
    n_threads: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    check_memory("width", n, 32, "the state of one path")

    def job(a: int, b: int, gen: np.random.Generator) -> tuple[np.ndarray, ...]:
        m = b - a
        out = [np.empty((m, rec.size)) for _ in range(3)]
        status = np.empty(m, dtype=np.int64)
        K.relu_path_kernel(gen, n, n_steps, h, rec, out[0], out[1], out[2], status)
        return (*out, status)

    per_path = 8 * (3 * rec.size + 1)
    parts = map_chunks(job, rng, n_paths, chunk_size=chunk_size, n_threads=n_threads, item_bytes=per_path)
    return tuple(np.concatenate([p[i] for p in parts], axis=0) for i in range(4))  # type: ignore[return-value]


@accepts_executor
def relu_log_drift_mc(
    width: int,
    *,
    t1: float = 1e-3,
    n_steps: int = 4,
    n_paths: int = 1_000_000,
    rng: RNGLike = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_threads: int | None = None,
) -> Estimate:
    r"""Monte Carlo estimate of :math:`D(n)` from short simulated paths of the ReLU network.

    Simulates live networks over a short depth-time ``t1`` :math:`\delta` in ``n_steps`` Euler steps
    (the network itself, docs/science.md §A2) and returns the mean of

    .. math::
        \frac1\delta\Big(\log\frac{\|\phi(Y_\delta)\|}{\|\phi(Y_0)\|}-M_\delta\Big),

    where :math:`M_\delta=\frac1{\sqrt n}\sum_j\langle\phi(Y_j),\Delta B_j\rangle/\|\phi(Y_j)\|` is the
    discrete martingale part along the same path: it has mean zero exactly, so subtracting it (a control
    variate) leaves the mean unchanged and removes the :math:`O(\delta^{-1/2})` noise. The estimate has
    a bias :math:`O(\delta)` (curvature of the mean and Euler error) and is an independent check of
    :func:`relu_log_drift`.

    Parameters
    ----------
    width : int
        :math:`n\ge1`.
    t1 : float, keyword-only
        :math:`\delta>0`.
    n_steps : int, keyword-only
        Euler steps over :math:`[0,\delta]`, :math:`\ge1`.
    n_paths : int, keyword-only
        Networks simulated (dead ones are discarded), :math:`\ge2`.
    rng, chunk_size, n_threads
        Seed, paths per chunk (with the seed, it fixes the random numbers), threads.

    Returns
    -------
    Estimate
        Value, standard error and the number of live paths used.

    Raises
    ------
    ValueError
        For invalid arguments, or fewer than 2 live networks among ``n_paths``.

    References
    ----------
    Derived, docs/science.md §A5 (the estimator and its control variate).

    Examples
    --------
    >>> est = relu_log_drift_mc(4, n_paths=200_000, rng=1)
    >>> abs(est.z_score(relu_log_drift(4))) < 5
    True
    """
    n = check_width(width)
    delta = check_real("t1", t1, lo=0.0, lo_open=True)
    n_steps = check_int("n_steps", n_steps, min=1)
    n_paths = check_n_paths(n_paths)
    chunk_size = check_chunk_size(chunk_size)
    n_threads = check_threads(n_threads)
    rec = np.array([n_steps], dtype=np.int64)
    lr, mart, _, status = _run_paths(n, n_steps, delta / n_steps, rec, n_paths, rng, chunk_size, n_threads)
    ok = _live_paths(status, n, n_paths)
    return Estimate.from_samples((lr[ok, 0] - mart[ok, 0]) / delta)


def relu_width1_law(x0: float, t: float) -> Any:
    r"""Law of the width-1 ReLU depth limit :math:`X_t` started at a fixed :math:`x_0`.

    .. math::
        X_t=x_0\,e^{B_t-t/2}\ \ (x_0>0),\qquad X_t=x_0\ \ (x_0\le0),

    since :math:`dX=(X)_+\,dB` is a driftless geometric Brownian motion on :math:`(0,\infty)` and frozen
    on :math:`(-\infty,0]`.

    Parameters
    ----------
    x0 : float
        Initial value (finite).
    t : float
        Depth-time :math:`t\ge0`.

    Returns
    -------
    scipy.stats frozen distribution
        ``lognorm(s=sqrt(t), scale=x0 exp(-t/2))`` for :math:`x_0>0,t>0`; otherwise the point mass at
        :math:`x_0` (a frozen ``rv_discrete`` with one atom).

    References
    ----------
    Derived, docs/science.md §A5.

    Examples
    --------
    >>> relu_width1_law(2.0, 1.0).mean()   # a martingale: E X_t = x0
    np.float64(2.0)
    >>> float(relu_width1_law(-1.0, 5.0).rvs(random_state=0))
    -1.0
    """
    x0 = check_real("x0", x0)
    t = check_real("t", t, lo=0.0)
    if x0 > 0 and t > 0:
        return st.lognorm(s=math.sqrt(t), scale=x0 * math.exp(-0.5 * t))
    return st.rv_discrete(name="point_mass", values=([x0], [1.0]))()


@dataclass(frozen=True)
class NormIdentityCheck(Result):
    r"""The post-activation norm identity checked along simulated ReLU paths.

    Attributes
    ----------
    width, n_steps : int
    t1 : float
    times : ndarray (n_times,)
        Recorded depth-times.
    lhs : ndarray (n_alive, n_times)
        :math:`\log\|\phi(Y_t)\|-\log\|\phi(Y_0)\|` on live paths.
    martingale, drift : ndarray (n_alive, n_times)
        :math:`M_t=\frac1{\sqrt n}\widehat W_t` and :math:`A_t=\frac1n\int_0^t(\frac{\mu_s}2-1)ds`
        (left-point sums on the simulation grid, same Brownian increments).
    max_abs_error, rms_error : ndarray (n_times,)
        :math:`\max|{\rm lhs}-M-A|` and its root mean square over paths: Euler discretisation errors of
        the identity, vanishing as the step goes to 0.
    n_alive, n_dead_at_start, n_died : int
        Paths used; dead at initialisation (probability :math:`2^{-n}`); died during the simulation
        (possible at finite depth only; left out).
    """

    width: int
    n_steps: int
    t1: float
    times: np.ndarray
    lhs: np.ndarray = field(repr=False)
    martingale: np.ndarray = field(repr=False)
    drift: np.ndarray = field(repr=False)
    max_abs_error: np.ndarray
    rms_error: np.ndarray
    n_alive: int
    n_dead_at_start: int
    n_died: int


@accepts_executor
def relu_norm_identity(
    width: int,
    t1: float = 1.0,
    *,
    n_steps: int = 1000,
    n_paths: int = 10_000,
    n_times: int = 11,
    rng: RNGLike = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_threads: int | None = None,
) -> NormIdentityCheck:
    r"""Check the post-activation norm identity of docs/science.md §A5 along simulated paths.

    .. math::
        \log\|\phi(X_t)\|-\log\|\phi(X_0)\|=\frac1{\sqrt n}\widehat W_t+\frac1n\int_0^t
        \Big(\frac{\mu_s}2-1\Big)ds.

    Simulates the Euler scheme (which is the ReLU network of depth ``n_steps`` and horizon ``t1``), keeps
    the Brownian increments, and computes both sides on every live path. The residual is the
    discretisation error of Itô's formula; it shrinks like :math:`\sqrt h` as the step :math:`h` goes to
    0 (no local-time term: with one, it would converge to a non-zero limit).

    Parameters
    ----------
    width : int
        :math:`n\ge1`.
    t1 : float
        Horizon :math:`t_1>0`.
    n_steps : int, keyword-only
        Euler steps :math:`\ge1`.
    n_paths : int, keyword-only
        Networks, :math:`\ge2`.
    n_times : int, keyword-only
        Number of equally spaced recorded times in :math:`[0,t_1]`, :math:`\ge2` (rounded to steps).
    rng, chunk_size, n_threads
        Seed, paths per chunk, threads.

    Returns
    -------
    NormIdentityCheck

    Raises
    ------
    ValueError
        For invalid arguments, or fewer than 2 live networks among ``n_paths``.

    References
    ----------
    Derived, docs/science.md §A5 (Itô's formula for the :math:`C^1` function with Lipschitz gradient
    :math:`\sum_i(x_i)_+^2`).

    Examples
    --------
    >>> coarse = relu_norm_identity(4, n_steps=50, n_paths=2000, rng=0)
    >>> fine = relu_norm_identity(4, n_steps=800, n_paths=2000, rng=0)
    >>> bool(fine.rms_error[-1] < coarse.rms_error[-1] / 2)
    True
    """
    n = check_width(width)
    t1 = check_real("t1", t1, lo=0.0, lo_open=True)
    n_steps = check_int("n_steps", n_steps, min=1)
    n_paths = check_n_paths(n_paths)
    n_times = check_int("n_times", n_times, min=2)
    chunk_size = check_chunk_size(chunk_size)
    n_threads = check_threads(n_threads)
    rec = even_record(n_steps, n_times)
    h = t1 / n_steps
    lr, mart, drift, status = _run_paths(n, n_steps, h, rec, n_paths, rng, chunk_size, n_threads)
    ok = _live_paths(status, n, n_paths)
    resid = lr[ok] - mart[ok] - drift[ok]
    return NormIdentityCheck(
        width=n,
        n_steps=n_steps,
        t1=t1,
        times=rec * h,
        lhs=lr[ok],
        martingale=mart[ok],
        drift=drift[ok],
        max_abs_error=np.max(np.abs(resid), axis=0),
        rms_error=np.sqrt(np.mean(resid**2, axis=0)),
        n_alive=int(np.count_nonzero(ok)),
        n_dead_at_start=int(np.count_nonzero(status == K.DEAD_AT_START)),
        n_died=int(np.count_nonzero(status == K.DIED)),
    )


@dataclass(frozen=True)
class ReluRegime(Result):
    r"""Mean log post-activation norm ratio of live ReLU networks, per width, over depth-time.

    Attributes
    ----------
    widths : ndarray of int (k,)
    times : ndarray (n_times,)
        Recorded depth-times in :math:`[0, t_1]`.
    mean, stderr : ndarray (k, n_times)
        :math:`\mathbb E[\log\|\phi(Y_t)\|/\|\phi(Y_0)\|\mid\text{alive}]` and its standard error
        (control-variate estimator: the exact zero-mean martingale part is subtracted path by path).
    plain_mean, plain_stderr : ndarray (k, n_times)
        The same without the control variate (an unbiased but noisier estimate of the same number).
    drift : ndarray (k,)
        :math:`D(n)`, the initial slope of ``mean``.
    sign : ndarray of int (k,)
        +1 (or -1) when every recorded :math:`t>0` where ``mean`` is resolved (``|z| >= z_resolve``) is
        positive (negative) and at least one is; 0 otherwise (unresolved, or a change of sign).
    final_z : ndarray (k,)
        ``mean / stderr`` at :math:`t_1`.
    peak_time, peak_mean : ndarray (k,)
        Where the mean curve is highest over the recorded times, and its value there (a turn-down before
        :math:`t_1` shows the long-depth decay).
    n_alive, n_died : ndarray of int (k,)
        Live networks used per width; networks that died during the simulation (finite-depth only,
        left out).
    t1 : float
    n_steps : int
        Euler steps (network depth) over :math:`[0,t_1]`.
    z_resolve : float
    """

    widths: np.ndarray
    times: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    plain_mean: np.ndarray = field(repr=False)
    plain_stderr: np.ndarray = field(repr=False)
    drift: np.ndarray = field(repr=False)
    sign: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    final_z: np.ndarray = field(default_factory=lambda: np.zeros(0))
    peak_time: np.ndarray = field(default_factory=lambda: np.zeros(0))
    peak_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_alive: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_died: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    t1: float = 1.0
    n_steps: int = 0
    z_resolve: float = 5.0

    def table(self) -> str:
        """A plain-text table: width, D(n), mean at t1 with stderr, sign, peak time and value."""
        rows = [f"{'n':>3} {'D(n)':>9} {'mean(t1)':>10} {'stderr':>8} {'sign':>4} {'peak_t':>7} {'peak':>9}"]
        for i, n in enumerate(self.widths):
            rows.append(
                f"{n:>3d} {self.drift[i]:>9.5f} {self.mean[i, -1]:>10.5f} {self.stderr[i, -1]:>8.1e} "
                f"{self.sign[i]:>4d} {self.peak_time[i]:>7.3g} {self.peak_mean[i]:>9.5f}"
            )
        return "\n".join(rows)


@accepts_executor
def relu_regime(
    widths: Any,
    t1: float = 1.0,
    *,
    n_steps: int | None = None,
    n_paths: int = 100_000,
    n_times: int = 11,
    z_resolve: float = 5.0,
    rng: RNGLike = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_threads: int | None = None,
) -> ReluRegime:
    r"""Tabulate :math:`\mathbb E[\log\|\phi(X_t)\|/\|\phi(X_0)\|\mid\text{alive}]` over :math:`[0,t_1]`.

    The log post-activation norm drifts at rate :math:`(\mu_t-2)/(2n)` (docs/science.md §A5): at
    initialisation the mean drift of a live network is :math:`D(n)`, negative for :math:`n\le3` and
    positive for :math:`n\ge4`; so over :math:`[0,1]` the mean log-ratio is negative for :math:`n\le3`
    and positive for :math:`n\ge4`. Over long depth every width eventually decays (the state drifts
    towards the dead cone, where :math:`\mu_t` is small): run with a large ``t1`` (e.g. 100) to see the
    curve turn down (``peak_time < t1``).

    Each width is simulated as its Euler scheme (the network of depth ``n_steps``; docs/science.md §A2) in the
    log domain, and the mean is estimated with the exact zero-mean martingale part removed path by path
    (control variate), which divides the standard error by about 5-10 without changing the mean.

    Parameters
    ----------
    widths : int or sequence of int
        Widths :math:`n\ge1`.
    t1 : float
        Horizon :math:`t_1>0`.
    n_steps : int or None, keyword-only
        Euler steps; default :math:`\lceil100\,t_1\rceil` (step 0.01).
    n_paths : int, keyword-only
        Networks per width (dead ones, a fraction :math:`2^{-n}`, are discarded), :math:`\ge2`.
    n_times : int, keyword-only
        Equally spaced recorded times, :math:`\ge2`.
    z_resolve : float, keyword-only
        Resolution threshold (in standard errors) for ``sign``.
    rng, chunk_size, n_threads
        Seed (each width gets its own spawned stream), paths per chunk, threads.

    Returns
    -------
    ReluRegime

    Raises
    ------
    ValueError
        For invalid arguments, or fewer than 2 live networks of some width.

    References
    ----------
    docs/science.md §A5 [seed: change of regime between widths 3 and 4; reading derived].

    Examples
    --------
    >>> reg = relu_regime([3, 4], n_paths=40_000, rng=2)
    >>> reg.sign.tolist()
    [-1, 1]
    """
    ws = check_widths(widths)
    t1 = check_real("t1", t1, lo=0.0, lo_open=True)
    n_steps = math.ceil(100.0 * t1) if n_steps is None else check_int("n_steps", n_steps, min=1)
    n_paths = check_n_paths(n_paths)
    n_times = check_int("n_times", n_times, min=2)
    z_resolve = check_real("z_resolve", z_resolve, lo=0.0)
    chunk_size = check_chunk_size(chunk_size)
    n_threads = check_threads(n_threads)
    rec = even_record(n_steps, n_times)
    h = t1 / n_steps
    seeds = spawn(rng, ws.size)
    k, nt = ws.size, rec.size
    mean, se, pmean, pse = (np.zeros((k, nt)) for _ in range(4))
    n_alive = np.zeros(k, dtype=np.int64)
    n_died = np.zeros(k, dtype=np.int64)
    for i, n in enumerate(ws):
        lr, mart, _, status = _run_paths(int(n), n_steps, h, rec, n_paths, seeds[i], chunk_size, n_threads)
        ok = _live_paths(status, int(n), n_paths)
        m = int(np.count_nonzero(ok))
        cv = lr[ok] - mart[ok]
        mean[i], se[i] = cv.mean(axis=0), cv.std(axis=0, ddof=1) / math.sqrt(m)
        pmean[i], pse[i] = lr[ok].mean(axis=0), lr[ok].std(axis=0, ddof=1) / math.sqrt(m)
        n_alive[i] = m
        n_died[i] = int(np.count_nonzero(status == K.DIED))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, mean / se, 0.0)
    sign = np.zeros(k, dtype=np.int64)
    for i in range(k):
        res = np.abs(z[i, 1:]) >= z_resolve
        if np.any(res):
            signs = np.sign(mean[i, 1:][res])
            if np.all(signs > 0):
                sign[i] = 1
            elif np.all(signs < 0):
                sign[i] = -1
    peak = np.argmax(mean, axis=1)
    return ReluRegime(
        widths=ws,
        times=rec * h,
        mean=mean,
        stderr=se,
        plain_mean=pmean,
        plain_stderr=pse,
        drift=np.array([relu_log_drift(int(n)) for n in ws]),
        sign=sign,
        final_z=z[:, -1],
        peak_time=rec[peak] * h,
        peak_mean=mean[np.arange(k), peak],
        n_alive=n_alive,
        n_died=n_died,
        t1=t1,
        n_steps=n_steps,
        z_resolve=z_resolve,
    )
