r"""The infinite-depth limit diffusion of a finite-width random ResNet, for any activation (docs/science.md
§A3).

As :math:`L\to\infty` at fixed width :math:`n`, the network of docs/science.md §A1 converges in law to

.. math::
    dX_t=\frac{\|\phi(X_t)\|}{\sqrt n}\,dB_t,\qquad X_0=W_{\rm in}x,

(isotropic noise: one scalar diffusion coefficient for an :math:`n`-dimensional Brownian motion), and
for :math:`k` inputs to :math:`d\mathbf X_t=\frac1{\sqrt n}dB_t\,G_t^{1/2}`, :math:`G` the Gram matrix of
the post-activations. The finite network of depth :math:`L` *is* the Euler--Maruyama scheme of this
equation with step :math:`t_1/L` (docs/science.md §A2), so the depth error of a random ResNet is the weak
error
of Euler--Maruyama, measured by :func:`weak_error_study`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from .._checks import check_array, check_int, check_real
from .._results import Estimate, Result
from ..activations import Activation, get_activation
from ..executors import accepts_executor
from ..montecarlo import Observable, Reducer, as_observables, check_threads
from ..networks import NetworkSpec, as_network_spec, preactivations, sample_input_layer, sample_network
from ..random import DEFAULT_CHUNK_SIZE, RNGLike, check_chunk_size, spawn
from ..sde import SDE, EulerMaruyama, simulate, simulate_levels
from ..sde.observables import squared_norm
from ..sde.simulate import check_nested_steps
from ..stats import weak_error_fit_differences
from ..stats.weak_error import check_geometric_steps
from ._common import check_width

__all__ = ["WeakErrorStudy", "limit_sde", "simulate_limit", "weak_error_study"]

_SDE_CACHE: dict[tuple[Activation, int], Any] = {}


def _make_diffusion(phi: Any, n: int) -> Any:
    inv_n = 1.0 / n

    @numba.njit(nogil=True)
    def diffusion(t: float, x: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - numba
        s = 0.0
        for i in range(x.shape[0]):
            v = phi(x[i])
            s += v * v
        out[0] = math.sqrt(s * inv_n)

    return diffusion


def limit_sde(width: int | NetworkSpec, activation: str | Activation | None = None) -> Any:
    r"""The limit diffusion of width-:math:`n` random ResNets with activation :math:`\phi`, as an SDE.

    .. math::
        dX_t=s(X_t)\,dB_t,\qquad s(x)=\frac{\|\phi(x)\|}{\sqrt n},\qquad X_t\in\mathbb R^n,

    zero drift and isotropic noise (:class:`stochdepth.sde.SDE` with ``noise="isotropic"``). Its generator
    is :math:`\frac{\|\phi(x)\|^2}{2n}\Delta`. The object is cached per ``(activation, width)`` so that
    its compiled integrators are reused.

    Parameters
    ----------
    width : int or NetworkSpec
        :math:`n\ge1`; or a :class:`~stochdepth.networks.NetworkSpec` giving the width and the
        activation (its depth, depth-time and inputs are not used).
    activation : str or Activation
        :math:`\phi` (default ReLU; well posed when Lipschitz).

    Returns
    -------
    stochdepth.sde.SDE

    References
    ----------
    Hayou, TMLR 2023 [seed]; exact statement derived, docs/science.md §A3.

    Examples
    --------
    >>> sde = limit_sde(4, "relu")
    >>> sde.dim, sde.noise
    (4, 'isotropic')
    """
    if isinstance(width, NetworkSpec):
        spec = as_network_spec(width, activation=activation)
    else:
        spec = as_network_spec(None, width, None, activation)
    act, n = spec.activation, spec.width
    key = (act, n)
    if key not in _SDE_CACHE:
        _SDE_CACHE[key] = SDE(
            None, _make_diffusion(act.numba_fn, n), n, noise="isotropic", name=f"{act.name} limit (n={n})"
        )
    return _SDE_CACHE[key]


def _check_x(x: Any, ndim: int | tuple[int, ...] = (1, 2)) -> np.ndarray:
    """Input(s) of the network: finite, not empty, not all zero."""
    arr = check_array("x", x, ndim=ndim, min_size=1)
    if not np.any(arr != 0):
        raise ValueError("x must not be zero (a zero input stays at zero through the network)")
    return arr


def _input_sampler(x: np.ndarray, n: int) -> Any:
    def x0(gen: np.random.Generator, m: int) -> np.ndarray:
        return sample_input_layer(x, n, m, gen)[:, :, 0]

    return x0


def _one_input(fn: Any, states: np.ndarray) -> np.ndarray:
    """``fn`` of network states ``(..., width, 1)`` applied to SDE states ``(..., width)``."""
    return fn(states[..., None])


@accepts_executor
def simulate_limit(
    x: Any,
    width: int | None = None,
    activation: str | Activation | None = None,
    t1: float | None = None,
    *,
    n_steps: int | None = None,
    n_paths: int,
    solver: Any = None,
    record: Any = None,
    observe: Any = None,
    reduce: Reducer | Sequence[Reducer] | None = None,
    rng: RNGLike = None,
    chunk_size: int | None = None,
    n_threads: int | None = None,
) -> Any:
    r"""Simulate the depth limit of width-:math:`n` random ResNets from the random input layer.

    .. math::
        dX_t=\frac{\|\phi(X_t)\|}{\sqrt n}\,dB_t,\qquad X_0=W_{\rm in}x\sim\mathcal N\Big(0,
        \frac{\|x\|^2}d I_n\Big).

    States have the shape of the network's states for the same question: ``(width, k)`` for ``k`` inputs,
    ``(width, 1)`` for one input ``x`` of shape ``(d,)``, exactly as in
    :func:`stochdepth.networks.sample_network` (same default observable ``"preactivations"``, same
    observables: :func:`~stochdepth.networks.squared_norms`, :func:`~stochdepth.networks.log_norms`,
    :func:`~stochdepth.networks.neuron`, ...), so a finite network and its limit are compared sample
    for sample. One input: :func:`stochdepth.sde.simulate` of :func:`limit_sde` with the chosen
    ``solver``. Several inputs: the matrix SDE :math:`d\mathbf X=\frac1{\sqrt n}dB\,G^{1/2}` is
    simulated by its Euler scheme, which is exactly the :math:`k`-input network sampler of depth
    ``n_steps`` and horizon ``t1``, and ``solver`` must be ``None`` or :class:`~stochdepth.sde.EulerMaruyama`.

    Parameters
    ----------
    x : array_like, shape (d,) or (d, k), or NetworkSpec
        Input(s), finite and not all zero; or a :class:`~stochdepth.networks.NetworkSpec` with inputs,
        in place of ``x``, ``width``, ``activation`` and ``t1`` (its depth, if set, is the default
        ``n_steps``).
    width : int
        :math:`n\ge1`.
    activation : str or Activation
        :math:`\phi` (default ReLU).
    t1 : float
        Final depth-time :math:`t_1>0` (default 1).
    n_steps : int, keyword-only
        Time steps (the depth of the equivalent network); required unless a spec with a depth is given.
    n_paths : int, keyword-only
        Independent paths.
    solver : Solver or None, keyword-only
        Default :class:`~stochdepth.sde.EulerMaruyama` (Milstein does not apply: isotropic noise in
        dimension :math:`>1` is not commutative).
    observe : Observable, list or mapping, keyword-only
        Functions of network states of shape ``(..., width, k)`` (the observables of
        :mod:`stochdepth.networks`); default :func:`~stochdepth.networks.preactivations`. The observables
        of :mod:`stochdepth.sde` expect ``(..., width)`` states and do not apply.
    record, reduce, rng, chunk_size, n_threads
        As in :func:`stochdepth.sde.simulate` (record: step indices; default ``[0, n_steps]``).

    Returns
    -------
    SimulationResult (one input) or NetworkSample (several inputs)
        Both expose ``.times`` and ``res[name]``.

    References
    ----------
    Hayou, *On the infinite-depth limit of finite-width neural networks*, TMLR 2023 [seed]; docs/science.md
    A2--A3 (the exact statement and the Euler-scheme identity are derived).

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.montecarlo import Moments
    >>> from stochdepth.networks import squared_norms
    >>> res = simulate_limit(np.ones(3), 4, "linear", n_steps=64, n_paths=4000,
    ...                      observe=squared_norms(), reduce=Moments(), rng=0)
    >>> m = res["squared_norms"].moments     # E||X_1||^2 = n e^1 for sigma0 = 1 (here (1+1/64)^64 n)
    >>> bool(abs(m.mean[-1, 0] - 4 * (1 + 1 / 64) ** 64) < 5 * m.stderr[-1, 0])
    True
    >>> simulate_limit(np.ones(3), 4, "relu", n_steps=8, n_paths=5, rng=0)["preactivations"].samples.shape
    (5, 2, 4, 1)
    """
    spec = as_network_spec(x, width, None, activation, t1)
    X = _check_x(spec.require("inputs"))
    n, act, t1 = spec.width, spec.activation, spec.t1
    if n_steps is None:
        if spec.depth is None:
            raise TypeError("n_steps is required (or pass a NetworkSpec with a depth)")
        n_steps = spec.depth
    n_steps = check_int("n_steps", n_steps, min=1)
    n_paths = check_int("n_paths", n_paths, min=1)
    if solver is None:
        solver = EulerMaruyama()
    # the Monte Carlo options, the same for the SDE simulation (one input) and the network sampler (k > 1)
    options = dict(
        n_paths=n_paths,
        record=record,
        observe=observe,
        reduce=reduce,
        rng=rng,
        chunk_size=chunk_size,
        n_threads=n_threads,
    )
    if X.ndim == 1:
        # the SDE's states are (width,); observables see the network's (width, 1)
        observables = as_observables(observe, (preactivations(),))
        options["observe"] = [Observable(o.name, functools.partial(_one_input, o.fn)) for o in observables]
        return simulate(limit_sde(n, act), solver, t1, n_steps, _input_sampler(X, n), **options)
    if not isinstance(solver, EulerMaruyama):
        raise ValueError(
            f"solver must be EulerMaruyama() for k > 1 inputs (the exact network sampler is its Euler "
            f"scheme), got {solver!r}"
        )
    return sample_network(X, n, n_steps, act, t1, **options)


# ----------------------------------------------------------------------------------------------------
# Weak error against depth
# ----------------------------------------------------------------------------------------------------


def default_weak_observables(activation: Activation) -> tuple[Observable, ...]:
    r""":math:`\|X\|^2` and :math:`\log(1+\|\phi(X)\|^2)` (the defaults of :func:`weak_error_study`)."""

    norm2 = squared_norm()

    def post(s: np.ndarray) -> np.ndarray:
        return np.log1p(norm2.fn(activation.fn(s)))

    return (norm2, Observable("log1p_post_squared_norm", post))


@dataclass(frozen=True)
class WeakErrorStudy(Result):
    r"""Weak error of the depth-:math:`L` network against its depth limit, per observable.

    Attributes
    ----------
    steps : ndarray of int
        Depths :math:`L_0<L_1<\dots` (geometric).
    means : dict of str -> list of Estimate
        :math:`\mathbb E f(Y_{L_k})` per level (from the coupled runs; the finest level twice is not
        repeated: level :math:`k` is taken from pair :math:`k`, the last from the last pair).
    differences : dict of str -> list of Estimate
        :math:`\mathbb E[f(Y_{L_{k+1}})-f(Y_{L_k})]` from coupled levels (same Brownian path), each pair
        on fresh independent paths.
    fits : dict of str -> WeakErrorFit
        Power-law fits :math:`|D_k|\approx C'L_k^{-p}` (:func:`stochdepth.stats.weak_error_fit_differences`);
        ``fits[name].rate`` is :math:`p` (1 expected for Euler--Maruyama) and ``slope = -p``.
    slopes : dict of str -> float
        The fitted log-log slopes :math:`-p`.
    exact : dict of str -> ndarray or None
        Exact finite-depth values when known (linear network: :math:`\mathbb E\|Y_L\|^2=
        \mathbb E\|Y_0\|^2(1+t_1/L)^L`), else ``None``.
    width, n_paths : int
    t1 : float
    activation : str
    """

    steps: np.ndarray
    means: dict[str, list[Estimate]] = field(repr=False)
    differences: dict[str, list[Estimate]] = field(repr=False)
    fits: dict[str, Any] = field(repr=False)
    slopes: dict[str, float]
    exact: dict[str, np.ndarray | None] = field(repr=False)
    width: int
    n_paths: int
    t1: float
    activation: str


@accepts_executor
def weak_error_study(
    x: Any,
    width: int,
    activation: str | Activation,
    t1: float = 1.0,
    *,
    steps: Sequence[int] = (4, 8, 16, 32, 64),
    n_paths: int = 100_000,
    observe: Any = None,
    rng: RNGLike = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_threads: int | None = None,
) -> WeakErrorStudy:
    r"""Measure the depth error :math:`\mathbb E f(Y_L)-\mathbb E f(X_{t_1})` against :math:`L`.

    For each pair of consecutive depths :math:`(L_k,L_{k+1})` the network (the Euler scheme of
    :func:`limit_sde`) is simulated on both grids with the same Brownian path
    (:func:`stochdepth.sde.simulate_levels`, coupled levels), on fresh paths for every pair so that the
    differences are independent. For an error expansion :math:`C/L+O(L^{-2})`,

    .. math::
        D_k=\mathbb E f(Y_{L_{k+1}})-\mathbb E f(Y_{L_k})\approx C\Big(\frac1{L_{k+1}}-\frac1{L_k}\Big)
        \propto L_k^{-1},

    so the fitted slope of :math:`\log|D_k|` against :math:`\log L_k` estimates the weak order (classical
    value 1 for smooth observables; Talay & Tubaro 1990).

    Parameters
    ----------
    x : array_like, shape (d,)
        One input, finite and not zero.
    width : int
        :math:`n\ge1`.
    activation : str or Activation
        :math:`\phi`.
    t1 : float
        Horizon :math:`t_1>0`.
    steps : sequence of int, keyword-only
        At least 3 depths, geometric (e.g. doubling), each dividing the next.
    n_paths : int, keyword-only
        Paths per pair of levels, :math:`\ge2`.
    observe : Observable, sequence, mapping or None, keyword-only
        Functions of the state ``(..., width)``; default :math:`\|X\|^2` and
        :math:`\log(1+\|\phi(X)\|^2)`.
    rng, chunk_size, n_threads
        Seed (pair :math:`k` gets the :math:`k`-th spawned stream), paths per chunk, threads.

    Returns
    -------
    WeakErrorStudy

    References
    ----------
    docs/science.md §A2--A3 (the depth error is the weak error of Euler--Maruyama); Giles, Oper. Res. 2008
    (coupled levels).

    Examples
    --------
    >>> import numpy as np
    >>> study = weak_error_study(np.ones(3), 4, "linear", steps=(4, 8, 16), n_paths=20_000, rng=0)
    >>> sorted(study.slopes)
    ['log1p_post_squared_norm', 'squared_norm']
    >>> exact = study.exact["squared_norm"]          # 4 (1 + 1/L)^L
    >>> bool(abs(study.means["squared_norm"][0].value - exact[0]) < 5 * study.means["squared_norm"][0].stderr)
    True
    """
    X = _check_x(x, ndim=1)
    n = check_width(width)
    act = get_activation(activation)
    t1 = check_real("t1", t1, lo=0.0, lo_open=True)
    levels = check_nested_steps(steps).tolist()  # nested levels: each depth divides the next
    if len(levels) < 3:
        raise ValueError(f"steps must hold at least 3 depths, got {levels}")
    check_geometric_steps(np.asarray(levels, dtype=float))  # the rate fit needs a constant ratio
    n_paths = check_int("n_paths", n_paths, min=2)
    chunk_size = check_chunk_size(chunk_size)
    n_threads = check_threads(n_threads)
    obs = as_observables(observe, default_weak_observables(act))
    sde = limit_sde(n, act)
    x0 = _input_sampler(X, n)
    seeds = spawn(rng, len(levels) - 1)
    means: dict[str, list[Estimate]] = {o.name: [] for o in obs}
    diffs: dict[str, list[Estimate]] = {o.name: [] for o in obs}
    for k in range(len(levels) - 1):
        pair = (levels[k], levels[k + 1])
        res = simulate_levels(
            sde,
            EulerMaruyama(),
            t1,
            pair,
            x0,
            n_paths=n_paths,
            observe=list(obs),
            rng=seeds[k],
            chunk_size=chunk_size,
            n_threads=n_threads,
        )
        for o in obs:
            lev = res[o.name]
            mom, dif = lev.moments, lev.differences
            means[o.name].append(Estimate(float(mom.mean[-1, 0]), float(mom.stderr[-1, 0]), n_paths))
            if k == len(levels) - 2:
                means[o.name].append(Estimate(float(mom.mean[-1, 1]), float(mom.stderr[-1, 1]), n_paths))
            diffs[o.name].append(Estimate(float(dif.mean[-1, 0]), float(dif.stderr[-1, 0]), n_paths))
    steps_arr = np.asarray(levels, dtype=np.int64)
    fits = {name: weak_error_fit_differences(steps_arr, d) for name, d in diffs.items()}
    exact: dict[str, np.ndarray | None] = {o.name: None for o in obs}
    if act.name == "linear" and "squared_norm" in exact and observe is None:
        sigma2 = float(X @ X) / X.size
        exact["squared_norm"] = n * sigma2 * np.exp(steps_arr * np.log1p(t1 / steps_arr))
    return WeakErrorStudy(
        steps=steps_arr,
        means=means,
        differences=diffs,
        fits=fits,
        slopes={name: -float(f.rate) for name, f in fits.items()},
        exact=exact,
        width=n,
        n_paths=n_paths,
        t1=t1,
        activation=act.name,
    )
