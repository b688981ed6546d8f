r"""Sequential limits: width then depth, depth then width, and the kernel ODEs (docs/science.md §A6).

*Depth first, then width.* The coordinates of the width-:math:`n` diffusion propagate chaos: one neuron
tends to the McKean--Vlasov diffusion :math:`d\bar X_t=\sqrt{\mathbb E\phi(\bar X_t)^2}\,d\beta_t`, a
centred Gaussian whose variance solves

.. math::
    \dot q_t=M_2(q_t)=\mathbb E_Z\,\phi(\sqrt{q_t}Z)^2,\qquad q_0=\|x\|^2/d

(:func:`variance_ode`, :func:`mckean_vlasov`). *Width first, then depth.* The neurons are i.i.d.
:math:`\mathcal N(0,q_l)` with :math:`q_l=q_{l-1}+\frac{t_1}L M_2(q_{l-1})`, the Euler scheme of the same
ODE (:func:`width_first_recursion`). For several inputs the covariance obeys
:math:`\dot Q_{ab}=\mathbb E\phi(U_a)\phi(U_b)` (:func:`kernel_ode`); for ReLU the correlation obeys
:math:`\dot c=\frac12(f(c)-c)` with the arc-cosine kernel :math:`f` (:func:`relu_correlation`).

Both orders reach the same covariance limit (:func:`commutation_grid` tabulates the per-neuron variance
over a grid of widths and depths); at finite width the depth limit is non-Gaussian with fluctuations of
order :math:`n^{-1/2}` (:func:`fluctuation_scale`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import integrate

from .._checks import NumericalError, check_array, check_finite_result, check_int, check_memory, check_real
from .._results import Result
from ..activations import Activation, arccos_kernel, get_activation
from ..executors import accepts_executor
from ..montecarlo import Moments, Samples, check_threads
from ..networks import log_norms, sample_network, squared_norms
from ..random import RNGLike, spawn
from . import _kernels as K
from ._common import check_q0, check_times, check_widths, even_record

__all__ = [
    "CommutationGrid",
    "FluctuationScale",
    "McKeanVlasovResult",
    "commutation_grid",
    "fluctuation_scale",
    "kernel_ode",
    "mckean_vlasov",
    "relu_correlation",
    "variance_ode",
    "width_first_recursion",
]

_RTOL, _ATOL = 1e-12, 1e-14


def _exponential_rate(act: Activation) -> float | None:
    """:math:`M_2(1)` when :math:`M_2(q)=M_2(1)q` in closed form (positively 1-homogeneous activations)."""
    if act.homogeneity == 1.0 and act.second_moment_fn is not None:
        return float(act.second_moment(1.0))
    return None


def _check_closed_form(closed_form: Any) -> bool | None:
    if closed_form is not None and not isinstance(closed_form, bool):
        raise TypeError(f"closed_form must be None or a bool, got {type(closed_form).__name__}")
    return closed_form


def variance_ode(activation: str | Activation, q0: float, t: Any, *, closed_form: bool | None = None) -> Any:
    r"""Per-neuron variance :math:`q_t` of the sequential (width-first or depth-then-width) limit.

    .. math::
        \dot q_t=M_2(q_t)=\mathbb E_Z\big[\phi(\sqrt{q_t}Z)^2\big],\qquad q_0\ge0.

    Closed forms for positively 1-homogeneous activations with a closed-form :math:`M_2`:
    :math:`q_t=q_0e^{M_2(1)t}`, i.e. :math:`q_0e^t` (linear), :math:`q_0e^{t/2}` (ReLU),
    :math:`q_0e^{(1+\alpha^2)t/2}` (leaky ReLU). Otherwise the ODE is solved by ``scipy.integrate.solve_ivp``
    (DOP853, relative tolerance :math:`10^{-12}`) with the activation's :meth:`~Activation.second_moment`.

    Parameters
    ----------
    activation : str or Activation
        :math:`\phi`.
    q0 : float
        :math:`q_0\ge0` (:math:`\|x\|^2/d` for the network's input).
    t : float or array_like
        Depth-times :math:`\ge0` (any shape).
    closed_form : bool or None, keyword-only
        ``None``: the closed form when there is one; ``False``: always the ODE solver (to check the
        closed forms); ``True``: the closed form or ``ValueError``.

    Returns
    -------
    float or ndarray
        :math:`q_t`, shaped like ``t``.

    References
    ----------
    docs/science.md §A6 [seed; formulas derived].

    Examples
    --------
    >>> float(variance_ode("relu", 2.0, 2.0)) == 2.0 * math.e
    True
    >>> bool(abs(variance_ode("relu", 2.0, 2.0, closed_form=False) - 2.0 * math.e) < 1e-10)
    True
    """
    act = get_activation(activation)
    q0 = check_q0(q0)
    ts = check_times(t)
    closed_form = _check_closed_form(closed_form)
    rate = _exponential_rate(act)
    if closed_form is True and rate is None:
        raise ValueError(f"activation {act.name!r} has no closed-form variance ODE; use closed_form=None")
    if rate is not None and closed_form is not False:
        out = q0 * np.exp(rate * ts)
    else:
        out = _solve_scalar(lambda q: float(act.second_moment(max(q, 0.0))), q0, ts)
    check_finite_result("variance_ode", out)
    return out if np.ndim(t) else float(out)


def _solve_scalar(rhs: Any, y0: float, ts: np.ndarray, atol: float | None = None) -> np.ndarray:
    flat = ts.ravel()
    tmax = float(flat.max()) if flat.size else 0.0
    if tmax == 0.0:
        return np.full(ts.shape, y0)
    sol = integrate.solve_ivp(
        lambda _t, y: [rhs(y[0])],
        (0.0, tmax),
        [y0],
        method="DOP853",
        rtol=_RTOL,
        atol=_ATOL * max(abs(y0), 1e-200) if atol is None else atol,
        dense_output=True,
    )
    if not sol.success:
        raise NumericalError(f"ODE solver failed: {sol.message}")
    return np.asarray(sol.sol(flat)[0], dtype=float).reshape(ts.shape)


def _check_cov(Q0: Any) -> np.ndarray:
    Q = check_array("Q0", Q0, ndim=2)
    if Q.shape[0] != Q.shape[1] or Q.shape[0] < 1:
        raise ValueError(f"Q0 must be a square k x k matrix, got shape {Q.shape}")
    scale = float(np.max(np.abs(Q))) if Q.size else 0.0
    if not np.allclose(Q, Q.T, rtol=0.0, atol=1e-12 * max(scale, 1e-300)):
        raise ValueError("Q0 must be symmetric")
    eig = np.linalg.eigvalsh(Q) if Q.size else np.zeros(0)
    if eig.size and eig.min() < -1e-10 * max(scale, 1e-300):
        raise ValueError(f"Q0 must be positive semidefinite, got smallest eigenvalue {eig.min():.3g}")
    return 0.5 * (Q + Q.T)


def kernel_ode(
    activation: str | Activation, Q0: Any, t: Any, *, closed_form: bool | None = None
) -> np.ndarray:
    r"""Covariance :math:`Q_t` of :math:`k` inputs in the sequential limit (docs/science.md §A6).

    .. math::
        \dot Q_{ab}(t)=\mathbb E\big[\phi(U_a)\phi(U_b)\big],\qquad
        (U_a,U_b)\sim\mathcal N\Big(0,\begin{pmatrix}Q_{aa}&Q_{ab}\\Q_{ab}&Q_{bb}\end{pmatrix}\Big),

    with :math:`Q_0=X^\top X/d`. Linear: :math:`Q_t=Q_0e^t`. Otherwise solved by ``solve_ivp`` (DOP853,
    relative tolerance :math:`10^{-12}`) on the upper triangle, with :meth:`Activation.kernel` as the right
    side (for ReLU the arc-cosine kernel :math:`\frac12\sqrt{Q_{aa}Q_{bb}}f(c)` in closed form, Cho &
    Saul 2009; Gauss--Hermite otherwise).

    Parameters
    ----------
    activation : str or Activation
        :math:`\phi`.
    Q0 : array_like (k, k)
        Symmetric positive semidefinite initial covariance.
    t : float or array_like
        Depth-times :math:`\ge0`.
    closed_form : bool or None, keyword-only
        As in :func:`variance_ode` (a closed form exists for the linear activation only).

    Returns
    -------
    ndarray, shape ``(*t.shape, k, k)``

    References
    ----------
    docs/science.md §A6 [seed; formulas derived]; the arc-cosine kernel: Cho & Saul, *Kernel methods for deep
    learning*, NeurIPS 2009.

    Examples
    --------
    >>> Q = kernel_ode("relu", [[1.0, 0.5], [0.5, 1.0]], [0.0, 1.0])
    >>> Q.shape, bool(np.isclose(Q[1, 0, 0], math.exp(0.5)))
    ((2, 2, 2), True)
    """
    act = get_activation(activation)
    Q = _check_cov(Q0)
    ts = check_times(t)
    closed_form = _check_closed_form(closed_form)
    linear = act.name == "linear"
    if closed_form is True and not linear:
        raise ValueError(f"activation {act.name!r} has no closed-form kernel ODE; use closed_form=None")
    k = Q.shape[0]
    if linear and closed_form is not False:
        out = np.exp(ts)[..., None, None] * Q
        check_finite_result("kernel_ode", out)
        return out
    iu = np.triu_indices(k)
    diag_pos = np.array([np.flatnonzero((iu[0] == a) & (iu[1] == a))[0] for a in range(k)])
    ia, ib = iu
    y0 = Q[iu]

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        d = np.maximum(y[diag_pos], 0.0)
        qa, qb = d[ia], d[ib]
        lim = np.sqrt(qa * qb)
        return act.kernel(qa, qb, np.clip(y, -lim, lim))

    flat = ts.ravel()
    out = np.empty((flat.size, k, k))
    tmax = float(flat.max()) if flat.size else 0.0
    if tmax == 0.0:
        out[:] = Q
    else:
        scale = float(np.max(np.abs(y0))) or 1.0
        sol = integrate.solve_ivp(
            rhs, (0.0, tmax), y0, method="DOP853", rtol=_RTOL, atol=_ATOL * scale, dense_output=True
        )
        if not sol.success:
            raise NumericalError(f"kernel ODE solver failed: {sol.message}")
        vals = sol.sol(flat).T
        out[:, ia, ib] = vals
        out[:, ib, ia] = vals
    out = out.reshape(*ts.shape, k, k)
    check_finite_result("kernel_ode", out)
    return out


def relu_correlation(c0: float, t: Any) -> Any:
    r"""Correlation of two inputs in the ReLU sequential limit.

    .. math::
        \dot c_t=\frac12\big(f(c_t)-c_t\big),\qquad
        f(c)=\frac1\pi\Big(\sqrt{1-c^2}+c(\pi-\arccos c)\Big),

    from :math:`c=Q_{ab}/\sqrt{Q_{aa}Q_{bb}}`, :math:`\dot Q_{aa}=Q_{aa}/2` and
    :math:`\dot Q_{ab}=\frac12\sqrt{Q_{aa}Q_{bb}}f(c)`. Since :math:`f(c)\ge c` with equality only at
    :math:`c=1`, correlations increase to 1, algebraically: near 1,
    :math:`f(c)-c\approx\frac{2\sqrt2}{3\pi}(1-c)^{3/2}`, hence :math:`1-c_t\sim18\pi^2/t^2`.
    Solved by ``solve_ivp`` (DOP853, tolerance :math:`10^{-12}`).

    Parameters
    ----------
    c0 : float
        Initial correlation in :math:`[-1,1]`.
    t : float or array_like
        Depth-times :math:`\ge0`.

    Returns
    -------
    float or ndarray
        :math:`c_t`, shaped like ``t``.

    References
    ----------
    docs/science.md §A6 (derived); arc-cosine kernel: Cho & Saul, NeurIPS 2009.

    Examples
    --------
    >>> c = relu_correlation(0.0, [0.0, 1.0, 10.0])
    >>> bool(c[0] == 0.0 and 0 < c[1] < c[2] < 1)
    True
    """
    c0 = check_real("c0", c0, lo=-1.0, hi=1.0)
    ts = check_times(t)
    if c0 == 1.0:
        out = np.ones(ts.shape)
    else:
        rhs = lambda c: 0.5 * (float(arccos_kernel(min(c, 1.0))) - min(c, 1.0))  # noqa: E731
        out = _solve_scalar(rhs, c0, ts, atol=_ATOL)
        out = np.minimum(out, 1.0)
    check_finite_result("relu_correlation", out)
    return out if np.ndim(t) else float(out)


def width_first_recursion(activation: str | Activation, q0: float, depth: int, t1: float = 1.0) -> np.ndarray:
    r"""Per-neuron variances :math:`q_0,\dots,q_L` of the infinite-width network of depth :math:`L`.

    .. math::
        q_l=q_{l-1}+\frac{t_1}{L}\,M_2(q_{l-1}),\qquad l=1,\dots,L,

    the Euler scheme (step :math:`t_1/L`) of :func:`variance_ode`. Linear: :math:`q_l=q_0(1+t_1/L)^l`;
    ReLU: :math:`q_0(1+t_1/(2L))^l`.

    Parameters
    ----------
    activation : str or Activation
    q0 : float
        :math:`q_0\ge0`.
    depth : int
        :math:`L\ge1`.
    t1 : float
        Horizon :math:`t_1>0`.

    Returns
    -------
    ndarray, shape (L + 1,)

    Raises
    ------
    NumericalError
        When a variance overflows float64 (``t1`` or ``q0`` too large), naming the layer.

    References
    ----------
    docs/science.md §A6 (derived: the Euler scheme of :func:`variance_ode`); the infinite-width variance
    map of
    residual networks: Yang & Schoenholz, *Mean field residual networks: on the edge of chaos*,
    NeurIPS 2017.

    Examples
    --------
    >>> width_first_recursion("linear", 1.0, 2)
    array([1.  , 1.5 , 2.25])
    """
    act = get_activation(activation)
    q0 = check_q0(q0)
    L = check_int("depth", depth, min=1)
    t1 = check_real("t1", t1, lo=0.0, lo_open=True)
    h = t1 / L
    q = np.empty(L + 1)
    q[0] = q0
    for l in range(1, L + 1):
        with np.errstate(over="ignore"):
            q[l] = q[l - 1] + h * float(act.second_moment(q[l - 1]))
        if not math.isfinite(q[l]):
            # the next second_moment would refuse q as an argument: report the overflow as such
            raise NumericalError(
                f"width_first_recursion: the variance overflowed float64 at layer {l} of {L} "
                f"(q = {q[l]:g} after q = {q[l - 1]:.6g}, step t1/depth = {h:.6g}); t1={t1:g} or q0={q0:g} "
                "too large for float64"
            )
    check_finite_result("width_first_recursion", q)
    return q


@dataclass(frozen=True)
class McKeanVlasovResult(Result):
    r"""Particle simulation of the McKean--Vlasov limit of one neuron.

    Attributes
    ----------
    times : ndarray (n_times,)
    second_moment, stderr : ndarray (n_times,)
        Mean over clouds of the cloud's empirical :math:`\frac1N\sum_jX_j^2`, and its standard error from
        the spread between independent clouds (the particles of one cloud interact, so the i.i.d. formula
        would understate the error).
    kurtosis : ndarray (n_times,)
        Mean over clouds of :math:`\overline{X^4}/\overline{X^2}^2` (3 for a Gaussian); NaN only for
        :math:`q_0=0`, where every particle stays at 0 and the ratio is undefined.
    ode : ndarray (n_times,)
        :func:`variance_ode` at ``times``.
    recursion : ndarray (n_times,)
        :func:`width_first_recursion` (step ``t1 / n_steps``) at ``times``: the exact mean of the
        particle scheme for the linear activation, up to :math:`O(1/N)` otherwise.
    particles : ndarray (n_clouds, n_paths)
        The particles at :math:`t_1`.
    n_paths, n_clouds, n_steps : int
    t1, q0 : float
    activation : str
    """

    times: np.ndarray
    second_moment: np.ndarray
    stderr: np.ndarray
    kurtosis: np.ndarray
    ode: np.ndarray
    recursion: np.ndarray
    particles: np.ndarray = field(repr=False)
    n_paths: int
    n_clouds: int
    n_steps: int
    t1: float
    q0: float
    activation: str


def mckean_vlasov(
    activation: str | Activation,
    q0: float,
    t1: float = 1.0,
    *,
    n_steps: int = 100,
    n_paths: int = 10_000,
    n_clouds: int = 16,
    n_times: int = 11,
    rng: RNGLike = None,
) -> McKeanVlasovResult:
    r"""Interacting-particle simulation of :math:`d\bar X_t=\sqrt{\mathbb E\phi(\bar X_t)^2}\,d\beta_t`.

    .. math::
        X^j_{k+1}=X^j_k+\Big(\frac1N\sum_{i=1}^N\phi(X^i_k)^2\Big)^{1/2}\sqrt h\,Z^j_k,\qquad
        X^j_0\sim\mathcal N(0,q_0)\ \text{i.i.d.},

    the diffusion coefficient being the empirical one of the cloud. As :math:`N\to\infty` and
    :math:`h\to0` each particle is :math:`\mathcal N(0,q_t)` with :math:`q` from :func:`variance_ode`
    (propagation of chaos). ``n_clouds`` independent clouds (spawned streams) give an honest standard
    error.

    Parameters
    ----------
    activation : str or Activation
    q0 : float
        :math:`q_0\ge0`.
    t1 : float
        Horizon :math:`t_1>0`.
    n_steps, n_paths, n_clouds, n_times : int, keyword-only
        Euler steps (:math:`\ge1`), particles per cloud (:math:`\ge2`), clouds (:math:`\ge2`), equally
        spaced recorded times (:math:`\ge2`).
    rng : seed, keyword-only

    Returns
    -------
    McKeanVlasovResult

    References
    ----------
    docs/science.md §A6 [seed; formulas derived]; propagation of chaos: Sznitman, *Topics in propagation of
    chaos*, École d'Été de Probabilités de Saint-Flour XIX, LNM 1464, Springer 1991.

    Examples
    --------
    >>> res = mckean_vlasov("relu", 1.0, n_paths=2000, n_clouds=8, rng=0)
    >>> bool(abs(res.second_moment[-1] - res.recursion[-1]) < 6 * res.stderr[-1])
    True
    """
    act = get_activation(activation)
    q0 = check_q0(q0)
    t1 = check_real("t1", t1, lo=0.0, lo_open=True)
    n_steps = check_int("n_steps", n_steps, min=1)
    n_paths = check_int("n_paths", n_paths, min=2)
    n_clouds = check_int("n_clouds", n_clouds, min=2)
    n_times = check_int("n_times", n_times, min=2)
    check_memory("n_clouds * n_paths", n_clouds * n_paths, 8, "the particles of all clouds")
    rec = even_record(n_steps, n_times)
    check_memory("n_paths", n_paths, 8 * (n_clouds + 1), f"the particles of {n_clouds} clouds")
    h = t1 / n_steps
    kernel = K.make_mckean_vlasov_kernel(act.numba_fn)
    m2 = np.empty((n_clouds, rec.size))
    m4 = np.empty((n_clouds, rec.size))
    parts = np.empty((n_clouds, n_paths))
    for c, ss in enumerate(spawn(rng, n_clouds)):
        gen = np.random.Generator(np.random.SFC64(ss))
        x = math.sqrt(q0) * gen.standard_normal(n_paths)
        kernel(gen, x, n_steps, h, rec, m2[c], m4[c])
        parts[c] = x
    check_finite_result("mckean_vlasov particles", parts)
    with np.errstate(invalid="ignore", divide="ignore"):
        kurt = np.where(m2 > 0, m4 / m2**2, np.nan)
    times = rec * h
    rec_q = width_first_recursion(act, q0, n_steps, t1)[rec]
    return McKeanVlasovResult(
        times=times,
        second_moment=m2.mean(axis=0),
        stderr=m2.std(axis=0, ddof=1) / math.sqrt(n_clouds),
        kurtosis=np.nanmean(kurt, axis=0) if np.any(np.isfinite(kurt)) else np.full(rec.size, np.nan),
        ode=np.asarray(variance_ode(act, q0, times)),
        recursion=rec_q,
        particles=parts,
        n_paths=n_paths,
        n_clouds=n_clouds,
        n_steps=n_steps,
        t1=t1,
        q0=q0,
        activation=act.name,
    )


@dataclass(frozen=True)
class FluctuationScale(Result):
    r"""Fluctuations of :math:`R_t=\log(\|Y_L\|/\|Y_0\|)` at finite width against the width-first limit.

    Attributes
    ----------
    widths : ndarray of int (k,)
    mean, mean_stderr : ndarray (k,)
        :math:`\mathbb E R` and its standard error.
    var, var_stderr : ndarray (k,)
        :math:`\mathrm{Var}\,R` and its standard error (from the fourth central moment).
    width_times_var : ndarray (k,)
        :math:`n\,\mathrm{Var}R`: of order 1 (fluctuations :math:`O(n^{-1/2})`); exactly
        :math:`t_1` for the linear depth limit.
    width_first_mean : float
        :math:`\frac12\log(q_{t_1}/q_0)` from :func:`variance_ode`: the deterministic width-first value of
        :math:`R` (its variance there is 0).
    depth : int
        Network depth used (Euler steps of the limit).
    t1 : float
    n_paths : int
    activation : str
    """

    widths: np.ndarray
    mean: np.ndarray
    mean_stderr: np.ndarray
    var: np.ndarray
    var_stderr: np.ndarray
    width_times_var: np.ndarray
    width_first_mean: float
    depth: int
    t1: float
    n_paths: int
    activation: str


@accepts_executor
def fluctuation_scale(
    widths: Any,
    activation: str | Activation,
    t1: float = 1.0,
    *,
    depth: int = 64,
    n_paths: int = 20_000,
    rng: RNGLike = None,
    n_threads: int | None = None,
) -> FluctuationScale:
    r""":math:`\mathrm{Var}\log(\|X_{t_1}\|/\|X_0\|)` at finite width (depth first) vs the width-first limit.

    At finite :math:`n` the depth limit is random: for the linear activation
    :math:`\log(\|X_t\|/\|X_0\|)\sim\mathcal N((\frac12-\frac1n)t,\frac tn)`, and in general the variance
    is of order :math:`t/n`. In the width-first limit the same quantity is the deterministic
    :math:`\frac12\log(q_t/q_0)`. The networks (depth ``depth``, the Euler scheme of the limit) are drawn
    by :func:`stochdepth.networks.sample_network`.

    Parameters
    ----------
    activation : str or Activation
    widths : int or sequence of int
        :math:`n\ge1`.
    t1 : float
        Horizon :math:`t_1>0`.
    depth, n_paths : int, keyword-only
        Network depth and networks per width.
    rng, n_threads
        Seed (one spawned stream per width), threads.

    Returns
    -------
    FluctuationScale

    References
    ----------
    docs/science.md §A4 (linear: variance :math:`t/n` exactly in the depth limit) and A6 [seed]
    (fluctuations of
    order :math:`n^{-1/2}` at finite width).

    Examples
    --------
    >>> fs = fluctuation_scale([4, 16], "linear", depth=32, n_paths=4000, rng=0)
    >>> bool(np.all(np.abs(fs.width_times_var - 1.0) < 0.2))
    True
    """
    act = get_activation(activation)
    ws = check_widths(widths)
    t1 = check_real("t1", t1, lo=0.0, lo_open=True)
    depth = check_int("depth", depth, min=1)
    n_paths = check_int("n_paths", n_paths, min=4)
    n_threads = check_threads(n_threads)
    k = ws.size
    mean, mse, var, vse = (np.zeros(k) for _ in range(4))
    for i, (n, ss) in enumerate(zip(ws, spawn(rng, k))):
        res = sample_network(
            np.ones(1),
            int(n),
            depth,
            act,
            n_paths=n_paths,
            t1=t1,
            observe=log_norms(),
            reduce=Samples(),
            rng=ss,
            n_threads=n_threads,
        )
        s = res["log_norms"].samples[:, :, 0]
        r = s[:, -1] - s[:, 0]
        mean[i] = r.mean()
        mse[i] = r.std(ddof=1) / math.sqrt(r.size)
        var[i] = r.var(ddof=1)
        d = r - r.mean()
        vse[i] = math.sqrt(max(float(np.mean(d**4)) - float(np.mean(d**2)) ** 2, 0.0) / r.size)
    q = variance_ode(act, 1.0, t1)
    return FluctuationScale(
        widths=ws,
        mean=mean,
        mean_stderr=mse,
        var=var,
        var_stderr=vse,
        width_times_var=ws * var,
        width_first_mean=0.5 * math.log(q),
        depth=depth,
        t1=t1,
        n_paths=n_paths,
        activation=act.name,
    )


@dataclass(frozen=True)
class CommutationGrid(Result):
    r"""Per-neuron variance :math:`\mathbb E\|Y_L\|^2/n` of random ResNets over a grid of widths and depths.

    Attributes
    ----------
    widths, depths : ndarray of int
    variance, stderr : ndarray (n_widths, n_depths)
        Monte Carlo per-neuron variance at :math:`(n, L)` and its standard error.
    width_first : ndarray (n_depths,)
        :math:`q_L` of :func:`width_first_recursion` (the :math:`n\to\infty` value at depth :math:`L`).
    ode : float
        :math:`q_{t_1}` of :func:`variance_ode` (the limit along every path :math:`(n,L)\to\infty`).
    gap_width_first, gap_ode : ndarray (n_widths, n_depths)
        ``variance - width_first`` and ``variance - ode``.
    q0, t1 : float
    n_paths : int
    activation : str
    """

    widths: np.ndarray
    depths: np.ndarray
    variance: np.ndarray
    stderr: np.ndarray
    width_first: np.ndarray
    ode: float
    gap_width_first: np.ndarray = field(repr=False)
    gap_ode: np.ndarray = field(repr=False)
    q0: float
    t1: float
    n_paths: int
    activation: str


@accepts_executor
def commutation_grid(
    widths: Any,
    depths: Any,
    activation: str | Activation,
    *,
    q0: float = 1.0,
    t1: float = 1.0,
    n_paths: int = 20_000,
    rng: RNGLike = None,
    n_threads: int | None = None,
) -> CommutationGrid:
    r"""Per-neuron variance at finite :math:`(n,L)` against both sequential limits (docs/science.md §A6).

    .. math::
        v(n,L)=\frac1n\mathbb E\|Y_L\|^2\ \xrightarrow[n\to\infty]{}\ q_L\ \ (\text{width first}),\qquad
        q_L\xrightarrow[L\to\infty]{}q_{t_1}=\text{variance\_ode}(t_1);

    and depth first, :math:`v(n,L)\to\frac1n\mathbb E\|X_{t_1}\|^2` (the width-:math:`n` diffusion), which
    tends to the same :math:`q_{t_1}` as :math:`n\to\infty`. For the linear activation
    :math:`v(n,L)=q_0(1+t_1/L)^L` exactly for every :math:`n`. Networks are drawn by
    :func:`stochdepth.networks.sample_network` with input :math:`x=(\sqrt{q_0})` (:math:`d=1`).

    Parameters
    ----------
    activation : str or Activation
    widths, depths : int or sequence of int
        Grid values, :math:`\ge1`.
    q0 : float, keyword-only
        :math:`q_0>0`.
    t1 : float, keyword-only
        Horizon :math:`t_1>0`.
    n_paths : int, keyword-only
        Networks per grid point, :math:`\ge2`.
    rng, n_threads
        Seed (one spawned stream per grid point), threads.

    Returns
    -------
    CommutationGrid

    References
    ----------
    docs/science.md §A6; Hayou & Yang, *Width and depth limits commute in residual networks*, ICML 2023
    [seed-adjacent].

    Examples
    --------
    >>> g = commutation_grid([2, 8], [4, 16], "linear", n_paths=4000, rng=0)
    >>> bool(np.all(np.abs(g.gap_width_first) < 6 * g.stderr))
    True
    """
    act = get_activation(activation)
    ws = check_widths(widths)
    ds = check_widths(depths, "depths")
    q0 = check_real("q0", q0, lo=0.0, lo_open=True)
    t1 = check_real("t1", t1, lo=0.0, lo_open=True)
    n_paths = check_int("n_paths", n_paths, min=2)
    n_threads = check_threads(n_threads)
    var = np.zeros((ws.size, ds.size))
    se = np.zeros_like(var)
    seeds = spawn(rng, ws.size * ds.size)
    for i, n in enumerate(ws):
        for j, L in enumerate(ds):
            res = sample_network(
                np.array([math.sqrt(q0)]),
                int(n),
                int(L),
                act,
                n_paths=n_paths,
                t1=t1,
                record=[int(L)],
                observe=squared_norms(),
                reduce=Moments(),
                rng=seeds[i * ds.size + j],
                n_threads=n_threads,
            )
            mom = res["squared_norms"].moments
            var[i, j] = float(mom.mean[-1, 0]) / n
            se[i, j] = float(mom.stderr[-1, 0]) / n
    wf = np.array([width_first_recursion(act, q0, int(L), t1)[-1] for L in ds])
    ode = float(variance_ode(act, q0, t1))
    return CommutationGrid(
        widths=ws,
        depths=ds,
        variance=var,
        stderr=se,
        width_first=wf,
        ode=ode,
        gap_width_first=var - wf[None, :],
        gap_ode=var - ode,
        q0=q0,
        t1=t1,
        n_paths=n_paths,
        activation=act.name,
    )
