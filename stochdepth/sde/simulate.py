r"""Monte Carlo simulation of SDEs: :func:`simulate` and the coupled multilevel :func:`simulate_levels`.

Both run paths in fixed-size chunks, each with its own spawned random stream
(:mod:`stochdepth.random`), through a numba kernel per chunk that keeps only the states at the recorded
steps; observables and streaming reducers (:mod:`stochdepth.montecarlo`) summarise them, so memory does
not grow with the number of paths unless :class:`~stochdepth.montecarlo.Samples` are asked for.
Results depend on the seed and the chunk size only, never on the number of threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import NumericalError, check_array, check_int, check_real, check_record
from .._results import Result
from ..executors import accepts_executor
from ..montecarlo import (
    Moments,
    MomentsResult,
    Observable,
    Observed,
    ObservedResult,
    Reducer,
    as_observables,
    as_reducers,
    check_threads,
    run_observed,
)
from ..random import DEFAULT_CHUNK_SIZE, RNGLike, check_chunk_size
from ._kernels import make_levels_kernel, make_path_kernel
from .observables import state
from .problem import SDE
from .solvers import Solver

__all__ = ["LevelStatistics", "LevelsResult", "SimulationResult", "simulate", "simulate_levels"]

X0Like = np.ndarray | Sequence[float] | Callable[[np.random.Generator, int], np.ndarray]
ObserveLike = Observable | Sequence[Observable] | Mapping[str, Callable[[np.ndarray], np.ndarray]] | None


# ----------------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class SimulationResult(ObservedResult):
    """What :func:`simulate` returns.

    Attributes
    ----------
    times : ndarray
        Recorded times :math:`t_0 + k\\,dt` for the recorded steps ``k``.
    steps : ndarray of int
        The recorded step indices.
    observed : dict of str -> Observed
        Per observable, the reducers' results (``res["name"]`` is a shortcut).
    n_paths, n_steps : int
    dt, t0, t1 : float
    solver : str
        Name of the scheme.
    sde : str
        Name of the SDE.
    elapsed : float
        Wall-clock seconds of the simulation (compilation excluded).
    chunk_size : int
        Paths per chunk (with the seed, it defines the random numbers of each path).
    """

    times: np.ndarray
    steps: np.ndarray
    observed: dict[str, Observed] = field(repr=False)
    n_paths: int
    n_steps: int
    dt: float
    t0: float
    t1: float
    solver: str
    sde: str
    elapsed: float
    chunk_size: int

    def __getitem__(self, name: str) -> Observed:
        return super().__getitem__(name)


@dataclass(frozen=True, repr=False)
class LevelStatistics(Result):
    r"""Moments of one observable on coupled levels (from :func:`simulate_levels`).

    Attributes
    ----------
    name : str
    times : ndarray (n_times,)
    steps : ndarray (n_levels,)
        Steps per level, coarse to fine.
    moments : MomentsResult
        Of :math:`f(X^{(l)}_t)`; arrays of shape ``(n_times, n_levels, *out_shape)``.
    differences : MomentsResult
        Of :math:`f(X^{(l+1)}_t) - f(X^{(l)}_t)` (fine minus coarse, same paths and Brownian motion);
        arrays of shape ``(n_times, n_levels - 1, *out_shape)``.
    """

    name: str
    times: np.ndarray
    steps: np.ndarray
    moments: MomentsResult
    differences: MomentsResult


@dataclass(frozen=True, repr=False)
class LevelsResult(ObservedResult):
    """What :func:`simulate_levels` returns (``res["name"]`` gives a :class:`LevelStatistics`).

    Attributes
    ----------
    times : ndarray
        Recorded times.
    steps : ndarray of int
        Steps per level, coarse to fine; ``dt = (t1 - t0) / steps``.
    dt : ndarray
    observed : dict of str -> LevelStatistics
    n_paths : int
    t0, t1 : float
    solver, sde : str
    elapsed : float
        Seconds, compilation excluded.
    chunk_size : int
    """

    times: np.ndarray
    steps: np.ndarray
    dt: np.ndarray
    observed: dict[str, LevelStatistics] = field(repr=False)
    n_paths: int
    t0: float
    t1: float
    solver: str
    sde: str
    elapsed: float
    chunk_size: int

    def __getitem__(self, name: str) -> LevelStatistics:
        return super().__getitem__(name)


# ----------------------------------------------------------------------------------------------------
# Argument handling
# ----------------------------------------------------------------------------------------------------


@dataclass
class _X0:
    """Normalised initial condition: a fixed ``(1 or n_paths, dim)`` array, or a sampler."""

    array: np.ndarray | None
    sampler: Callable[[np.random.Generator, int], np.ndarray] | None = field(default=None)
    dim: int = 0

    def chunk(self, a: int, b: int, gen: np.random.Generator) -> np.ndarray:
        if self.sampler is None:
            assert self.array is not None
            return self.array if self.array.shape[0] == 1 else self.array[a:b]
        m = b - a
        try:
            raw = self.sampler(gen, m)
        except MemoryError:
            raise  # the size asked for, not a fault of the sampler: the allocation's own message says it
        except Exception as exc:
            raise ValueError(f"x0(generator, m) raised {type(exc).__name__}: {exc}") from exc
        arr = check_array("x0(generator, m)", raw, ndim=2, shape=(m, self.dim))
        return np.ascontiguousarray(arr)

    def probe_state(self) -> np.ndarray:
        if self.array is not None:
            return self.array[0]
        gen = np.random.Generator(np.random.SFC64(0))
        return self.chunk(0, 1, gen)[0]


def _check_x0(x0: Any, dim: int, n_paths: int) -> _X0:
    if callable(x0) and not isinstance(x0, np.ndarray):
        return _X0(None, x0, dim)
    arr = check_array("x0", x0, ndim=(1, 2))
    if arr.ndim == 1:
        if arr.shape[0] != dim:
            raise ValueError(f"x0 must have shape ({dim},) or ({n_paths}, {dim}), got {arr.shape}")
        arr = arr[None, :]
    elif arr.shape != (n_paths, dim):
        raise ValueError(
            f"x0 must have shape ({dim},) or (n_paths, dim) = ({n_paths}, {dim}), got {arr.shape}"
        )
    return _X0(np.ascontiguousarray(arr), None, dim)


def _check_common(
    sde: Any, solver: Any, t0: Any, t1: Any, n_paths: Any, chunk_size: Any, n_threads: Any
) -> tuple[float, float, int, int, int | None]:
    if not isinstance(sde, SDE):
        raise TypeError(f"sde must be an SDE, got {type(sde).__name__}")
    if not isinstance(solver, Solver) or type(solver) is Solver:
        raise TypeError(f"solver must be a solver object such as EulerMaruyama(), got {solver!r}")
    solver.check(sde)
    t0 = check_real("t0", t0)
    t1 = check_real("t1", t1)
    if not t1 > t0:
        raise ValueError(f"t1 must be > t0 = {t0}, got {t1}")
    n_paths = check_int("n_paths", n_paths, min=1)
    return t0, t1, n_paths, check_chunk_size(chunk_size), check_threads(n_threads)


def _kernel(sde: SDE, solver: Solver, kind: str) -> Any:
    key = (type(solver), kind)
    kern = sde._kernels.get(key)
    if kern is None:
        step = solver._step(sde)
        kern = make_path_kernel(step) if kind == "paths" else make_levels_kernel(step)
        sde._kernels[key] = kern
    return kern


def _buffers(sde: SDE) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Work buffers (dw, b, s, ds) for one kernel call (one per chunk: thread-safe)."""
    return (
        np.zeros(sde.noise_dim or 1),
        np.zeros(sde.dim),
        np.zeros(sde.diffusion_shape),
        np.zeros(sde.dim),
    )


def _raise_bad(n_bad: int, a: int, b: int, what: str) -> None:
    if n_bad:
        raise NumericalError(
            f"{what}: {n_bad} of {b - a} paths in chunk [{a}, {b}) became NaN or infinite (the SDE "
            "explodes or the step is too large for it; reduce the horizon or the step)"
        )


# ----------------------------------------------------------------------------------------------------
# simulate
# ----------------------------------------------------------------------------------------------------


def _timed_run(
    run_chunk: Callable[[int, int, np.random.Generator], np.ndarray],
    rng: RNGLike,
    n_paths: int,
    times: np.ndarray,
    observables: Sequence[Observable],
    reducers: Sequence[Reducer],
    *,
    chunk_size: int,
    n_threads: int | None,
    what: str,
) -> tuple[dict[str, Any], float]:
    """:func:`~stochdepth.montecarlo.run_observed` (with the caller's ``progress=`` bar); also the wall
    time."""
    start = time.perf_counter()
    observed = run_observed(
        run_chunk,
        rng,
        n_paths,
        times,
        observables,
        reducers,
        chunk_size=chunk_size,
        n_threads=n_threads,
        what=what,
    )
    return observed, time.perf_counter() - start


@accepts_executor
def simulate(
    sde: SDE,
    solver: Solver,
    t1: float,
    n_steps: int,
    x0: X0Like,
    *,
    n_paths: int,
    t0: float = 0.0,
    record: Any = None,
    observe: ObserveLike = None,
    reduce: Reducer | Sequence[Reducer] | None = None,
    rng: RNGLike = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_threads: int | None = None,
) -> SimulationResult:
    r"""Simulate ``n_paths`` independent paths of ``sde`` on a uniform grid and summarise them.

    .. math::
        X_{k+1} = \Phi_h(t_k, X_k, \Delta W_k),\qquad t_k = t_0 + k h,\quad h = (t_1 - t_0)/N,

    with :math:`\Phi_h` one step of ``solver`` and :math:`\Delta W_k\sim\mathcal N(0, hI)` i.i.d.

    Parameters
    ----------
    sde : SDE
    solver : Solver
        :class:`~stochdepth.sde.EulerMaruyama` or :class:`~stochdepth.sde.Milstein`.
    t1 : float
        Final time, ``t1 > t0``.
    n_steps : int
        Number of steps :math:`N\ge 1`.
    x0 : array (dim,), array (n_paths, dim) or callable
        Initial state shared by all paths, one per path, or ``x0(generator, m) -> (m, dim)`` drawing
        the initial states of a chunk of ``m`` paths from the chunk's generator (reproducible; it is
        called once more, with ``m = 1`` and a throwaway generator, to check the coefficients on a state).
    n_paths : int
        Number of paths, ``>= 1``.
    t0 : float
        Initial time.
    record : sequence of int or None
        Step indices in ``[0, n_steps]`` at which observables are recorded (sorted, duplicates removed);
        default ``[0, n_steps]``.
    observe : Observable, sequence, mapping name -> function, or None
        What to record (default: the state, :func:`~stochdepth.sde.state`).
    reduce : Reducer, sequence of Reducers, or None
        How to summarise over paths (default :class:`~stochdepth.montecarlo.Samples`, which keeps
        every value; use :class:`~stochdepth.montecarlo.Moments` / ``Quantiles`` / ``Histogram`` for
        bounded memory).
    rng : None, int, SeedSequence or Generator
        Seed (see :mod:`stochdepth.random`).
    chunk_size : int
        Paths per chunk (part of the definition of the random numbers).
    n_threads : int or None
        Threads (default :func:`stochdepth.montecarlo.default_threads`); results do not depend on it.

    Returns
    -------
    SimulationResult

    Raises
    ------
    ValueError, TypeError
        On invalid arguments (including Milstein on non-commutative noise).
    NumericalError
        If a path becomes NaN or infinite, or an observable does.

    References
    ----------
    Kloeden & Platen (1992), ch. 10; the chunked streams follow :mod:`stochdepth.random`.

    Examples
    --------
    Ornstein--Uhlenbeck :math:`dX=-X\,dt+dW` from 0: :math:`\mathrm{Var}\,X_t=(1-e^{-2t})/2`.

    >>> import numpy as np
    >>> from stochdepth.sde import EulerMaruyama, affine_sde, simulate
    >>> from stochdepth.montecarlo import Moments
    >>> ou = affine_sde([[-1.0]], diffusion_offset=[1.0], name="ou")
    >>> res = simulate(ou, EulerMaruyama(), 1.0, 200, [0.0], n_paths=20_000, rng=1, reduce=Moments())
    >>> m = res["state"].moments
    >>> bool(abs(m.var[-1, 0] - (1 - np.exp(-2.0)) / 2) < 0.02)
    True
    """
    t0, t1, n_paths, chunk_size, n_threads = _check_common(
        sde, solver, t0, t1, n_paths, chunk_size, n_threads
    )
    n_steps = check_int("n_steps", n_steps, min=1)
    x0n = _check_x0(x0, sde.dim, n_paths)
    rec = check_record(record, n_steps, default=(0, n_steps))
    observables = as_observables(observe, (state(),))
    reducers = as_reducers(reduce)
    dt = (t1 - t0) / n_steps
    sde._probe(t0, x0n.probe_state())

    kernel = _kernel(sde, solver, "paths")
    # Compile (or fetch) outside the timed, threaded part.
    kernel(
        np.zeros((1, sde.dim)),
        t0,
        dt,
        n_steps,
        rec,
        np.random.Generator(np.random.SFC64(0)),
        np.empty((0, rec.size, sde.dim)),
        *_buffers(sde),
    )
    what = f"simulate({sde.name}, {solver.name})"

    def run_chunk(a: int, b: int, gen: np.random.Generator) -> np.ndarray:
        x0c = x0n.chunk(a, b, gen)
        out = np.empty((b - a, rec.size, sde.dim))
        _raise_bad(kernel(x0c, t0, dt, n_steps, rec, gen, out, *_buffers(sde)), a, b, what)
        return out

    observed, elapsed = _timed_run(
        run_chunk,
        rng,
        n_paths,
        t0 + rec * dt,
        observables,
        reducers,
        chunk_size=chunk_size,
        n_threads=n_threads,
        what=what,
    )
    return SimulationResult(
        times=t0 + rec * dt,
        steps=rec,
        observed=observed,
        n_paths=n_paths,
        n_steps=n_steps,
        dt=dt,
        t0=t0,
        t1=t1,
        solver=solver.name,
        sde=sde.name,
        elapsed=elapsed,
        chunk_size=chunk_size,
    )


# ----------------------------------------------------------------------------------------------------
# simulate_levels
# ----------------------------------------------------------------------------------------------------


def check_nested_steps(steps: Any) -> np.ndarray:
    """Step counts of nested grids: at least 2 ints ``>= 1``, increasing, each dividing the next."""
    if isinstance(steps, (int, np.integer)) or not isinstance(steps, (Sequence, np.ndarray)):
        raise TypeError(f"steps must be a sequence of step counts such as (8, 16, 32), got {steps!r}")
    vals = [check_int(f"steps[{i}]", s, min=1) for i, s in enumerate(steps)]
    if len(vals) < 2:
        raise ValueError(f"steps must hold at least 2 levels, got {vals}")
    for i in range(len(vals) - 1):
        if vals[i + 1] <= vals[i] or vals[i + 1] % vals[i] != 0:
            raise ValueError(
                f"steps must be increasing and each must divide the next (nested grids, e.g. (N, 2N, 4N)), "
                f"got {vals}"
            )
    return np.asarray(vals, dtype=np.int64)


def _level_observables(
    observables: Sequence[Observable], n_times: int, n_lev: int, dim: int
) -> list[Observable]:
    """Each observable on the coupled levels and on the differences of consecutive levels.

    The kernel's states are ``(m, n_times, n_levels, dim)``; an observable sees ``(m, n_times *
    n_levels, dim)`` and its values are reshaped back to separate the levels.
    """

    def levels_fn(o: Observable) -> Callable[[np.ndarray], np.ndarray]:
        def fn(states: np.ndarray) -> np.ndarray:
            m = states.shape[0]
            vals = o(states.reshape(m, n_times * n_lev, dim))
            if vals.shape[:2] != (m, n_times * n_lev):
                raise ValueError(
                    f"observable {o.name!r} must keep the leading (path, time) axes "
                    f"{(m, n_times * n_lev)}, returned shape {vals.shape}"
                )
            return vals.reshape(m, n_times, n_lev, *vals.shape[2:])

        return fn

    derived: list[Observable] = []
    for o in observables:
        f = levels_fn(o)
        derived.append(Observable(o.name, f))
        derived.append(Observable(o.name + "\x00diff", lambda s, f=f: np.diff(f(s), axis=2)))
    return derived


@accepts_executor
def simulate_levels(
    sde: SDE,
    solver: Solver,
    t1: float,
    steps: Sequence[int],
    x0: X0Like,
    *,
    n_paths: int,
    observe: ObserveLike = None,
    rng: RNGLike = None,
    t0: float = 0.0,
    record: Any = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_threads: int | None = None,
) -> LevelsResult:
    r"""Coupled simulations on nested grids: moments per level and of differences between levels.

    Every path is simulated on all grids ``steps = (N_0, N_1, ...)`` (each refining the previous one,
    typically :math:`N_l = 2^l N_0`) with *the same* Brownian path (the increment of a coarse step is the
    sum of the fine increments inside it) and the same initial state. For an observable :math:`f` the
    result holds the moments of :math:`f(X^{(l)}_t)` and of the differences
    :math:`D_l = f(X^{(l+1)}_t) - f(X^{(l)}_t)`. For a scheme of strong order :math:`\gamma`,
    :math:`\mathrm{Var}\,D_l = O(h_l^{2\gamma})` instead of :math:`O(1)`, so the weak error per level,

    .. math::
        \mathbb E f(X^{(l)}_t) - \mathbb E f(X_t) \approx C h_l^{\beta}, \qquad
        \mathbb E D_l \approx C(2^{-\beta} - 1) h_l^{\beta}\ \ (N_{l+1} = 2N_l),

    is measurable with far fewer paths (the idea of multilevel Monte Carlo, Giles, Oper. Res. 56, 2008).
    Strong errors follow from observables of augmented states (e.g. carrying :math:`W` as a coordinate).

    Parameters
    ----------
    sde, solver, t1, x0, n_paths, t0, rng, chunk_size, n_threads, executor, progress
        As in :func:`simulate`.
    steps : sequence of int
        Steps per level, at least two, increasing, each dividing the next.
    observe : Observable, sequence, mapping, or None
        Observables (default: the state). They receive states of shape ``(m, n_times * n_levels, dim)``.
    record : sequence of int or None
        Step indices on the *coarsest* grid, in ``[0, steps[0]]``; default ``[steps[0]]`` (the final
        time only).

    Returns
    -------
    LevelsResult
        Moments only (the per-level values are not kept).

    References
    ----------
    Giles, *Multilevel Monte Carlo path simulation*, Operations Research 56(3), 2008 (coupled levels);
    docs/science.md §A2--A3 (a random ResNet of depth L is the Euler scheme of its limit SDE with step 1/L).

    Examples
    --------
    Weak error of Euler--Maruyama for :math:`dX = X\,dt` (no noise, exact: :math:`E X_1 = e`):

    >>> from stochdepth.sde import EulerMaruyama, affine_sde, simulate_levels
    >>> ode = affine_sde([[1.0]], diffusion_offset=[0.0], name="exp")
    >>> res = simulate_levels(ode, EulerMaruyama(), 1.0, (32, 64, 128), [1.0], n_paths=10, rng=0)
    >>> d = res["state"].differences.mean[-1, :, 0]   # (1+1/64)^64 - (1+1/32)^32, ...
    >>> round(float(d[0] / d[1]), 1)                  # halves with the step: weak order 1
    2.0
    """
    t0, t1, n_paths, chunk_size, n_threads = _check_common(
        sde, solver, t0, t1, n_paths, chunk_size, n_threads
    )
    if n_paths < 2:
        raise ValueError(f"n_paths must be an int >= 2 for simulate_levels (moments), got {n_paths}")
    steps_arr = check_nested_steps(steps)
    n0, n_fine = int(steps_arr[0]), int(steps_arr[-1])
    x0n = _check_x0(x0, sde.dim, n_paths)
    rec = check_record(record, n0, default=(n0,), last_name="steps[0]")
    observables = as_observables(observe, (state(),))
    dt = (t1 - t0) / n_fine
    ratios = n_fine // steps_arr
    rec_fine = rec * (n_fine // n0)
    n_lev = steps_arr.size
    times = t0 + rec * ((t1 - t0) / n0)
    sde._probe(t0, x0n.probe_state())

    kernel = _kernel(sde, solver, "levels")
    dim, q = sde.dim, sde.noise_dim or 1

    def call(x0c: np.ndarray, gen: np.random.Generator, m: int) -> tuple[np.ndarray, int]:
        out = np.empty((m, rec.size, n_lev, dim))
        n_bad = kernel(
            x0c,
            t0,
            dt,
            n_fine,
            ratios,
            rec_fine,
            gen,
            out,
            np.empty((n_lev, dim)),
            np.empty((n_lev, q)),
            *_buffers(sde),
        )
        return out, n_bad

    call(np.zeros((1, dim)), np.random.Generator(np.random.SFC64(0)), 0)  # compile outside timing
    what = f"simulate_levels({sde.name}, {solver.name})"

    def run_chunk(a: int, b: int, gen: np.random.Generator) -> np.ndarray:
        out, n_bad = call(x0n.chunk(a, b, gen), gen, b - a)
        _raise_bad(n_bad, a, b, what)
        return out

    derived = _level_observables(observables, rec.size, n_lev, dim)

    raw, elapsed = _timed_run(
        run_chunk,
        rng,
        n_paths,
        times,
        derived,
        (Moments(),),
        chunk_size=chunk_size,
        n_threads=n_threads,
        what=what,
    )
    observed = {}
    for o in observables:
        lev, diff = raw[o.name].moments, raw[o.name + "\x00diff"].moments
        assert lev is not None and diff is not None
        observed[o.name] = LevelStatistics(
            name=o.name, times=times, steps=steps_arr, moments=lev, differences=diff
        )
    return LevelsResult(
        times=times,
        steps=steps_arr,
        dt=(t1 - t0) / steps_arr,
        observed=observed,
        n_paths=n_paths,
        t0=t0,
        t1=t1,
        solver=solver.name,
        sde=sde.name,
        elapsed=elapsed,
        chunk_size=chunk_size,
    )
