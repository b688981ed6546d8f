r"""Simulators of the linear random ResNet for the optimal-depth problem of docs/science.md §B6.

* :func:`simulate_stopping_depth` -- Monte Carlo samples of the optimal depth of the infinite-depth
  network: the first passage of the log-norm (a drifted Brownian motion, docs/science.md §A4) through the
  free boundary of :func:`~stochdepth.depth.linear_resnet_optimal_depth`, with the Brownian-bridge
  crossing correction.
* :class:`LinearResNetSimulator` -- the finite-depth network layer by layer as a
  :class:`~stochdepth.stopping.Simulator`, so that the generic regression Monte Carlo of
  :mod:`stochdepth.stopping` (:class:`~stochdepth.stopping.SimulatedStoppingProblem`,
  :class:`~stochdepth.stopping.LongstaffSchwartz`) solves the stopping problem of B6 on sampled
  networks rather than on the closed-form walk.
* :func:`simulate_network_depths` -- Monte Carlo samples of the optimal depth of finite-depth linear
  networks with explicit weight matrices: the first layer at which the log-norm reaches a threshold.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_choice, check_int, check_memory, check_real, float_errors_as_numerical
from ..executors import accepts_executor
from ..montecarlo import map_chunks
from ..random import DEFAULT_CHUNK_SIZE, RNGLike
from ..stopping import Simulator
from .continuous import linear_resnet_optimal_depth

__all__ = ["LinearResNetSimulator", "simulate_network_depths", "simulate_stopping_depth"]

#: the input of the networks sampled with ``state="log_norm"`` (the log-norm walk from layer 0 does not
#: depend on it: docs/science.md §A4)
_INPUT = np.ones(3) / math.sqrt(3.0)
#: Smallest move of one step of :func:`simulate_stopping_depth` relative to the distance the walk has to
#: cover (to the boundary, or its reach within ``max_depth``): below 2**-26 float64 resolves a step to
#: fewer than half of its digits (at 2**-53 not at all: the walk stands still), and covering that
#: distance takes more than 2**26 steps (2**52 by diffusion alone).
_MIN_RELATIVE_STEP = 2.0**-26


class LinearResNetSimulator(Simulator):
    r"""The linear random ResNet of width :math:`n` (docs/science.md §A1, :math:`\phi=\mathrm{id}`) as a
    simulator.

    Layer :math:`l\to l+1` is :math:`Y_{l+1}=Y_l+\sqrt h\,W_lY_l` with :math:`W_l` entries
    :math:`\mathcal N(0,1/n)` and the step :math:`h=t_1/L` (``depth`` :math:`L` layers span the depth-time
    :math:`t_1`). Stopping after layer :math:`l` pays :math:`-(y_l-a)^2` with :math:`y_l=\log\|Y_l\|`, the
    gain of docs/science.md §B6; with a cost :math:`ch` per layer, the
    :class:`~stochdepth.stopping.SimulatedStoppingProblem` of this simulator converges to the closed
    form of :func:`~stochdepth.depth.linear_resnet_optimal_depth` as :math:`L\to\infty`. The horizon of
    the stopping problem may exceed ``depth`` (deeper networks of the same step).

    Two representations of the same law:

    * ``state="hidden"``: the state is the hidden vector :math:`Y_l\in\mathbb R^n`, started at norm
      :math:`e^{y_0}` in a uniformly random direction (the problem depends on the norm only).
      :meth:`paths` multiplies by explicit weight matrices; :meth:`step` (used by the nested one-step
      simulations of a dual bound) uses the exact-in-law form :math:`Y_l+\sqrt h\,\|Y_l\|Z/\sqrt n` of
      docs/science.md §A2, the same law at a fraction of the cost. Regression feature :math:`\log\|Y_l\|`.
    * ``state="log_norm"``: the state is :math:`y_l=y_0+\log(\|Y_l\|/\|Y_0\|)` itself, a Markov chain
      (docs/science.md §A4). :meth:`paths` samples whole networks with
      :func:`stochdepth.networks.sample_network` (exact in law, explicit residual branches) and records
      the log-norm at every layer; :meth:`step` draws one layer from the exact law
      :math:`y'=y+\tfrac12\log\xi`, :math:`\xi=(1+g\sqrt{h/n})^2+\tfrac hn\chi^2_{n-1}`
      (:mod:`stochdepth.networks.lognorm`).

    Parameters
    ----------
    width : int
        :math:`n\ge1`.
    depth : int
        :math:`L\ge1`: sets the step :math:`h=t_1/L`.
    target : float
        :math:`a`, the target log-norm.
    y0 : float, optional
        Starting log-norm. Default 0.
    t1 : float, optional
        Depth-time of ``depth`` layers. Default 1.
    state : {"hidden", "log_norm"}, optional
        The representation (see above). Default ``"hidden"``.

    Examples
    --------
    >>> from stochdepth.stopping import SimulatedStoppingProblem
    >>> sim = LinearResNetSimulator(8, 16, 0.5, state="log_norm")
    >>> prob = SimulatedStoppingProblem(sim, 32, 0.1 / 16)
    >>> sim.paths(np.random.default_rng(0), 5, 32).shape, sim.dim
    ((5, 33, 1), 1)
    """

    def __init__(
        self,
        width: int,
        depth: int,
        target: float,
        *,
        y0: float = 0.0,
        t1: float = 1.0,
        state: str = "hidden",
    ) -> None:
        self.width = check_int("width", width, min=1)
        self.depth = check_int("depth", depth, min=1)
        self.target = check_real("target", target)
        self.y0 = check_real("y0", y0)
        self.t1 = check_real("t1", t1, lo=0.0, lo_open=True)
        self.state = check_choice("state", state, ("hidden", "log_norm"))
        self.dim = self.width if self.state == "hidden" else 1
        self.h = self.t1 / self.depth

    def __repr__(self) -> str:
        return (
            f"LinearResNetSimulator(width={self.width}, depth={self.depth}, target={self.target}, "
            f"y0={self.y0}, t1={self.t1}, state={self.state!r})"
        )

    def initial(self, generator: np.random.Generator, m: int) -> np.ndarray:
        if self.state == "log_norm":
            return np.full((m, 1), self.y0)
        z = generator.standard_normal((m, self.width))
        return z * (math.exp(self.y0) / np.linalg.norm(z, axis=1, keepdims=True))

    def step(self, layer: int, states: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        if self.state == "log_norm":
            m = states.shape[0]
            r = math.sqrt(self.h / self.width)
            xi = (1.0 + r * generator.standard_normal(m)) ** 2
            if self.width > 1:
                xi += r * r * generator.chisquare(self.width - 1, m)
            return states + 0.5 * np.log(xi)[:, None]
        nrm = np.linalg.norm(states, axis=1, keepdims=True)
        z = generator.standard_normal(states.shape)
        return states + nrm * z / math.sqrt(self.width * self.depth / self.t1)

    def paths(self, generator: np.random.Generator, m: int, horizon: int) -> np.ndarray:
        if self.state == "log_norm":
            from ..networks import log_norms, sample_network

            res = sample_network(
                _INPUT,
                self.width,
                horizon,
                "linear",
                n_paths=m,
                t1=horizon * self.h,
                record=np.arange(horizon + 1),
                observe=[log_norms()],
                rng=generator,
                n_threads=1,
            )
            y = res["log_norms"].samples[:, :, 0]
            return (y - y[:, :1] + self.y0)[:, :, None]
        out = np.empty((m, horizon + 1, self.width))
        y = self.initial(generator, m)
        out[:, 0] = y
        scale = 1.0 / math.sqrt(self.width * self.depth / self.t1)  # N(0, 1/n) entries, branch sqrt(h)
        for l in range(horizon):
            w = generator.standard_normal((m, self.width, self.width))
            y = y + scale * np.einsum("mij,mj->mi", w, y)
            out[:, l + 1] = y
        return out

    def features(self, layer: int, states: np.ndarray) -> np.ndarray:
        if self.state == "log_norm":
            return states
        return np.log(np.linalg.norm(states, axis=1))[:, None]

    def gain(self, layer: int, states: np.ndarray) -> np.ndarray:
        if self.state == "log_norm":
            return -((states[:, 0] - self.target) ** 2)
        return -((np.log(np.linalg.norm(states, axis=1)) - self.target) ** 2)


@accepts_executor
def simulate_stopping_depth(
    width: int,
    target: float,
    cost: float,
    y0: float,
    *,
    n_paths: int,
    dt: float = 1e-3,
    max_depth: float = 50.0,
    rng: RNGLike = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_threads: int | None = None,
) -> np.ndarray:
    r"""Monte Carlo samples of the optimal depth of B6: first passage of :math:`Y` through the boundary.

    :math:`Y` is simulated exactly on the grid :math:`k\,dt` (Gaussian increments); between grid points a
    crossing is detected with the Brownian-bridge probability
    :math:`\exp(-2(b-Y_k)(b-Y_{k+1})/(s^2dt))` (Glasserman, *Monte Carlo Methods in Financial Engineering*,
    2004, sec. 6.4), so the sampled depth :math:`D` satisfies :math:`\tau^\star\le D<\tau^\star+dt`
    exactly in law (the crossing is dated at the end of its step).

    Parameters
    ----------
    width : int
        :math:`n\ge1`.
    target, cost : float
        :math:`a` and :math:`c>0`.
    y0 : float
        Initial log-norm.
    n_paths : int
        Number of paths.
    dt : float, default 1e-3
        Time step.
    max_depth : float, default 50
        Paths not stopped by then get ``inf`` (censoring).
    rng : seed, SeedSequence or Generator
        Randomness (chunked, spawned streams: reproducible for any thread count).
    chunk_size, n_threads : int
        Parallel chunking (see :mod:`stochdepth.random`).

    Returns
    -------
    ndarray, shape (n_paths,)
        Depths (0 where stopping at once is optimal, ``inf`` if censored).

    Raises
    ------
    ValueError
        Before any work, when ``dt`` is so small that one step moves the log-norm by less than
        :math:`2^{-26}` of the distance it has to cover (to the boundary, or its reach within
        ``max_depth``): float64 barely resolves such steps, and the run would take about
        ``max_depth / dt`` of them.
    """
    cf = linear_resnet_optimal_depth(width, target, cost)
    y = check_real("y0", y0)
    n = check_int("n_paths", n_paths, min=1)
    h = check_real("dt", dt, lo=0.0, lo_open=True)
    tmax = check_real("max_depth", max_depth, lo=0.0, lo_open=True)
    check_memory("n_paths", n, 8, "one depth per path")
    if not cf.continuation(y):
        return np.zeros(n)
    assert cf.boundary is not None
    up = cf.stopping_side == "above"
    dist0 = abs(cf.boundary - y)
    m = cf.drift if up else -cf.drift  # drift towards the boundary, in the distance variable
    s = cf.volatility
    move = s * math.sqrt(h) + abs(m) * h  # how far one step moves the walk, about
    # the distance the walk has to cover: to the boundary, or as far as it goes within max_depth
    cover = min(dist0, abs(m) * tmax + 6.0 * s * math.sqrt(tmax))
    if not move >= _MIN_RELATIVE_STEP * cover:
        # refused up front: such a run is a loop of ~max_depth/dt steps on worker threads, which no alarm
        # or KeyboardInterrupt stops (the pool waits for them), and whose steps float64 barely resolves
        raise ValueError(
            f"dt={h:g} is too small: one step moves the log-norm by about s*sqrt(dt) + |m|*dt = {move:.3g}, "
            f"less than {_MIN_RELATIVE_STEP:.2g} of the distance it has to cover, {cover:.3g} (to the "
            "boundary, or its reach within max_depth): more than 2**26 steps would be needed, each resolved "
            f"to fewer than half of float64's digits, and max_depth/dt = {tmax / h:.3g} steps would run; "
            "raise dt"
        )
    n_steps = math.ceil(tmax / h)

    def chunk(start: int, stop: int, gen: np.random.Generator) -> np.ndarray:
        k = stop - start
        out = np.full(k, np.inf)
        d = np.full(k, dist0)  # distance to the boundary, > 0 while running
        alive = np.arange(k)
        for step in range(n_steps):
            if alive.size == 0:
                break
            z = gen.standard_normal(alive.size)
            u = gen.random(alive.size)
            new = d - m * h + s * math.sqrt(h) * z
            crossed = new <= 0.0
            # Brownian-bridge crossing probability; a product that overflows (a boundary 1e300 away)
            # is the exact limit exp(-inf) = 0, not an error
            with np.errstate(over="ignore"):
                p = np.exp(-2.0 * d * np.maximum(new, 0.0) / (s * s * h))
            crossed |= u < p
            out[alive[crossed]] = (step + 1) * h
            keep = ~crossed
            alive, d = alive[keep], new[keep]
        return out

    parts = map_chunks(chunk, rng, n, chunk_size=chunk_size, n_threads=n_threads, item_bytes=8)
    return np.concatenate(parts)


@accepts_executor
@float_errors_as_numerical
def simulate_network_depths(
    width: int,
    depth: int,
    threshold: float,
    y0: float,
    *,
    n_paths: int,
    max_layers: int,
    rng: RNGLike = None,
    chunk_size: int = 2048,
) -> np.ndarray:
    r"""Optimal depths of simulated linear networks with explicit weights: first passage of the log-norm.

    Each path is a linear random ResNet of width :math:`n` and depth scale :math:`L`,
    :math:`Y_{l+1}=Y_l+W_lY_l/\sqrt{nL}` with :math:`W_l` entries :math:`\mathcal N(0,1)` drawn afresh per
    path and layer, started at norm :math:`e^{y_0}` in a uniformly random direction. The sampled depth
    is the first layer :math:`l` at which :math:`\log\|Y_l\|\ge` ``threshold`` (0 when :math:`y_0` is
    already there), the stopping rule of a one-sided free boundary (docs/science.md §B6).

    Parameters
    ----------
    width : int
        :math:`n\ge1`.
    depth : int
        :math:`L\ge1`, the number of layers that span depth-time 1 (the branch scale).
    threshold, y0 : float
        The boundary on the log-norm and the initial log-norm.
    n_paths : int
        Number of networks.
    max_layers : int
        Networks not stopped after this many layers get -1 (censoring).
    rng : seed, SeedSequence or Generator
        Randomness (chunked, spawned streams: reproducible for any thread count).
    chunk_size : int, default 2048
        Networks per chunk (part of the stream layout: a different size draws different numbers).

    Returns
    -------
    ndarray of int64, shape (n_paths,)
        First-passage layers, -1 where censored.
    """
    n = check_int("width", width, min=1)
    L = check_int("depth", depth, min=1)
    b = check_real("threshold", threshold)
    y_start = check_real("y0", y0)
    m_paths = check_int("n_paths", n_paths, min=1)
    top = check_int("max_layers", max_layers, min=0)
    check_memory("width", n, 8.0 * n, "the weights of one network layer")
    scale = 1.0 / math.sqrt(n * L)  # N(0, 1/n) weight entries, branch 1/sqrt(L)

    def job(start: int, stop: int, gen: np.random.Generator) -> np.ndarray:
        m = stop - start
        z = gen.standard_normal((m, n))
        Y = z * (math.exp(y_start) / np.linalg.norm(z, axis=1, keepdims=True))
        tau = np.full(m, -1, dtype=np.int64)
        alive = np.arange(m)
        y = np.full(m, y_start)
        for l in range(top + 1):
            hit = y >= b
            tau[alive[hit]] = l
            alive, Y = alive[~hit], Y[~hit]
            if alive.size == 0 or l == top:
                break
            W = gen.standard_normal((alive.size, n, n))
            Y = Y + scale * np.einsum("mij,mj->mi", W, Y)
            y = np.log(np.linalg.norm(Y, axis=1))
        return tau

    return np.concatenate(map_chunks(job, rng, m_paths, chunk_size=chunk_size, item_bytes=8))
