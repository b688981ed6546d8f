r"""Random problem generators driven by ``rng``: the random inputs of the tests, the theorem book and the
campaigns, each construction written once.

Every generator takes ``rng`` first (an int seed, a :class:`~numpy.random.SeedSequence` or a
:class:`~numpy.random.Generator`, normalised by :func:`stochdepth.random.as_generator`; a ``Generator``
is used in place, so a caller that draws several problems from one generator gets the same numbers as
before). The order of the draws is part of each function's contract: changing it changes every result
built on it.

Two families of discrete stopping problems (docs/science.md §B1, B2):

* *lattice* problems: transition weights are small integers, gains lie on the grid :math:`k/4` and
  costs on :math:`k/8` (or :math:`k/16`), so exact ties between stopping and continuing happen often
  and an implementation of the smallest optimal time is tested where it is fragile;
  :func:`random_stochastic_matrix`, :func:`random_lattice_chain`, :func:`random_lattice_problem`;
* *continuous* problems: uniform transition weights, gains and costs (:func:`random_markov_problem`).

Monotone problems by construction (Chow, Robbins & Siegmund 1971, Thm 3.5; docs/science.md §B2): an upward
chain on :math:`0..S-1` (the top absorbing) and a non-increasing one-step gain
:math:`d(s)=\mathbb E[g(s')\mid s]-g(s)-c` whose look-ahead set :math:`\{d\le0\}` is then an up-set closed
under the chain's moves (:func:`monotone_problem`, :func:`lattice_upward_chain`,
:func:`random_monotone_problem`; the hypothesis strategy
``stochdepth.testing.strategies.markov_stopping_problems(monotone=True)`` uses the same construction).

Deterministic residual families of docs/science.md §B2 (:func:`random_residual_family`): random paths
:math:`h_{l+1}=h_l+f_l(h_l)` with declared constants, satisfying the bound's hypotheses or violating one.

Matrices for the linear algebra of the solvers: :func:`random_banded_rows` (banded row-stochastic
transitions) and :func:`random_m_matrix` (tridiagonal, strictly diagonally dominant M-matrices).

Examples
--------
>>> from stochdepth.stopping import is_monotone
>>> prob = random_monotone_problem(0)
>>> is_monotone(prob)
True
>>> random_stochastic_matrix(1, 3).sum(axis=1)
array([1., 1., 1.])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .._checks import check_int, check_real
from ..random import RNGLike, as_generator

if TYPE_CHECKING:  # pragma: no cover
    from ..stopping import MarkovStoppingProblem, PathStoppingProblem

__all__ = [
    "ChainArrays",
    "lattice_upward_chain",
    "monotone_problem",
    "random_banded_rows",
    "random_lattice_chain",
    "random_lattice_problem",
    "random_m_matrix",
    "random_markov_problem",
    "random_monotone_problem",
    "random_residual_family",
    "random_stochastic_matrix",
]


class ChainArrays(NamedTuple):
    """The arrays of a finite-horizon stopping problem on a chain, one matrix and one gain row per layer.

    Attributes
    ----------
    transitions : ndarray, shape (L, S, S)
        Row-stochastic transition matrices :math:`P_l`.
    gains : ndarray, shape (L + 1, S)
        Gains :math:`g_l(s)`.
    costs : ndarray, shape (L,)
        Costs :math:`c_l` of the layers.
    initial : ndarray, shape (S,)
        Initial law.
    """

    transitions: np.ndarray
    gains: np.ndarray
    costs: np.ndarray
    initial: np.ndarray

    def problem(self) -> MarkovStoppingProblem:
        """The :class:`~stochdepth.stopping.MarkovStoppingProblem` with these arrays."""
        from ..stopping import MarkovStoppingProblem

        return MarkovStoppingProblem(
            self.transitions, self.gains, self.costs, int(self.costs.shape[0]), initial=self.initial
        )


def _lattice_law(gen: np.random.Generator, n: int, fallback: int) -> np.ndarray:
    """A law with integer weights 0..3 (all mass on ``fallback`` when they are all zero)."""
    w = gen.integers(0, 4, size=n).astype(float)
    if w.sum() == 0:
        w[fallback] = 1.0
    return w / w.sum()


def random_stochastic_matrix(rng: RNGLike, n: int, *, max_weight: int = 4) -> np.ndarray:
    """A row-stochastic ``(n, n)`` matrix with integer weights ``0..max_weight`` (exact zeros included).

    Draws the ``(n, n)`` weights at once, then, for each zero row in order, the column that gets weight 1.
    """
    gen = as_generator(rng)
    n = check_int("n", n, min=1)
    w = gen.integers(0, check_int("max_weight", max_weight, min=1) + 1, size=(n, n)).astype(float)
    for i in np.nonzero(w.sum(axis=1) == 0)[0]:
        w[i, gen.integers(0, n)] = 1.0
    return w / w.sum(axis=1, keepdims=True)


def random_lattice_chain(rng: RNGLike, n_states: int, horizon: int, *, min_cost: float = 0.0) -> ChainArrays:
    """A finite-horizon lattice chain: homogeneous or layer-dependent transitions (probability 1/2 each),
    gains on :math:`k/4`, :math:`|k|\\le8`, per layer or constant (1/2 each), costs ``min_cost`` plus
    :math:`k/8`, :math:`0\\le k\\le4`, and an initial law with weights 0..3."""
    gen = as_generator(rng)
    S = check_int("n_states", n_states, min=1)
    L = check_int("horizon", horizon, min=1)
    homogeneous = bool(gen.random() < 0.5)
    P = (
        np.repeat(random_stochastic_matrix(gen, S)[None], L, axis=0)
        if homogeneous
        else np.stack([random_stochastic_matrix(gen, S) for _ in range(L)])
    )
    g = gen.integers(-8, 9, size=(L + 1, S)) / 4.0
    if gen.random() < 0.5:
        g[:] = g[0]
    c = min_cost + gen.integers(0, 5, size=L) / 8.0
    return ChainArrays(P, g, c, _lattice_law(gen, S, 0))


def random_lattice_problem(
    rng: RNGLike, n_states: int, *, horizon: int | None = None
) -> MarkovStoppingProblem:
    """A homogeneous lattice problem: transitions by :func:`random_stochastic_matrix`, gains on
    :math:`k/4`, one cost in :math:`\\{1,2,3,4\\}/16` (so the infinite-horizon value is finite), an
    initial law with weights 0..3 (all on the last state when they vanish). Infinite horizon by default."""
    from ..stopping import MarkovStoppingProblem

    gen = as_generator(rng)
    S = check_int("n_states", n_states, min=1)
    P = random_stochastic_matrix(gen, S)
    g = gen.integers(-8, 9, size=S) / 4.0
    c = float(gen.integers(1, 5)) / 16.0
    return MarkovStoppingProblem(P, g, c, horizon, initial=_lattice_law(gen, S, S - 1))


def random_markov_problem(rng: RNGLike) -> MarkovStoppingProblem:
    """A continuous random problem with bounded gains and costs bounded away from 0: 3 to 20 states,
    sparse cubed-uniform transitions (every row keeps some mass), a Dirichlet initial law; with
    probability 1/2 a finite horizon of 3 to 30 layers with per-layer gains in :math:`[-1,1]` and costs
    in :math:`[0.01,0.3]`, otherwise an infinite horizon with one gain row and one cost in
    :math:`[0.02,0.3]`."""
    from ..stopping import MarkovStoppingProblem

    gen = as_generator(rng)
    S = int(gen.integers(3, 21))
    P = gen.random((S, S)) ** 3
    P[gen.random((S, S)) < 0.4] = 0.0
    P[np.arange(S), gen.integers(0, S, size=S)] += 0.05  # every row has mass
    P /= P.sum(axis=1, keepdims=True)
    init = gen.dirichlet(np.ones(S))
    if gen.random() < 0.5:
        L = int(gen.integers(3, 31))
        gains = gen.uniform(-1.0, 1.0, size=(L + 1, S))
        costs = gen.uniform(0.01, 0.3, size=L)
        return MarkovStoppingProblem(P, gains, costs, L, initial=init)
    return MarkovStoppingProblem(
        P, gen.uniform(-1.0, 1.0, size=S), float(gen.uniform(0.02, 0.3)), initial=init
    )


def lattice_upward_chain(weights: Sequence[np.ndarray]) -> np.ndarray:
    """The upward chain of lattice monotone problems from integer weights, one row per non-top state.

    Row ``s`` (``weights[s]`` of length ``S - s``) is spread over the states ``s..S-1``: the weight of
    staying is capped at 2 and a row that never moves up gets weight 1 on ``s + 1``. The top state
    ``S - 1`` is absorbing.
    """
    S = len(weights) + 1
    P = np.zeros((S, S))
    for s, row in enumerate(weights):
        w = np.array(row, dtype=float)
        w[0] = min(w[0], 2.0)
        if w[1:].sum() == 0:
            w[1] = 1.0  # always some chance to move up
        P[s, s:] = w / w.sum()
    P[S - 1, S - 1] = 1.0
    return P


def monotone_problem(
    transitions: np.ndarray,
    one_step_gains: np.ndarray,
    cost: float,
    top_gain: float,
    *,
    horizon: int | None,
    initial: np.ndarray,
) -> MarkovStoppingProblem:
    r"""The monotone problem with an upward chain and prescribed one-step gains.

    Given an upper-triangular row-stochastic ``transitions`` :math:`P` with the top state absorbing and
    non-increasing one-step gains :math:`d(0)\ge\dots\ge d(S-2)\ge-c` (``one_step_gains``, length
    :math:`S-1`; :math:`d(S-1)=-c` at the top), the gains solve
    :math:`d(s)=\sum_{s'>s}P_{ss'}g(s')+P_{ss}g(s)-g(s)-c` from :math:`g(S-1)=` ``top_gain`` down.
    The look-ahead set :math:`\{d\le0\}` is an up-set closed under the upward moves, so the problem is
    monotone (Chow, Robbins & Siegmund 1971, Thm 3.5).
    """
    from ..stopping import MarkovStoppingProblem

    P = np.asarray(transitions, dtype=float)
    c = check_real("cost", cost, lo=0.0)
    S = P.shape[0]
    d = np.concatenate([np.asarray(one_step_gains, dtype=float), [-c]])
    g = np.zeros(S)
    g[S - 1] = top_gain
    for s in range(S - 2, -1, -1):
        g[s] = (P[s, s + 1 :] @ g[s + 1 :] - c - d[s]) / (1.0 - P[s, s])
    return MarkovStoppingProblem(P, g, c, horizon, initial=initial)


def random_monotone_problem(
    rng: RNGLike, *, lattice: bool = True, finite: bool = True
) -> MarkovStoppingProblem:
    """A random monotone problem by construction (:func:`monotone_problem`).

    ``lattice=True``: 2 to 6 states, a horizon of 1 to 8 layers, cost :math:`k/8`, upward weights 0..3
    (:func:`lattice_upward_chain`), one-step gains on :math:`k/4` (floored at :math:`-c`), top gain on
    :math:`k/4` and an initial law with weights 0..3 -- the numbers of the strategy
    ``markov_stopping_problems(monotone=True)``, drawn from ``rng``.
    ``lattice=False``: 3 to 15 states, cost uniform in :math:`[0.02,0.5]`, sparse uniform upward weights,
    one-step gains uniform in :math:`[-c,1]`, top gain uniform in :math:`[-1,1]`, a Dirichlet initial
    law and a horizon of 2 to 29 layers.
    ``finite=False`` gives the infinite-horizon problem (the lattice horizon is drawn all the same, so
    the other numbers do not depend on ``finite``).
    """
    gen = as_generator(rng)
    if lattice:
        n = int(gen.integers(2, 7))
        L = int(gen.integers(1, 9))
        c = float(gen.integers(1, 5)) / 8.0
        P = lattice_upward_chain([gen.integers(0, 4, size=n - s) for s in range(n - 1)])
        d = np.maximum(np.sort(gen.integers(-1, 7, size=n - 1) / 4.0)[::-1], -c)
        top = float(gen.integers(-8, 9)) / 4.0
        return monotone_problem(P, d, c, top, horizon=L if finite else None, initial=_lattice_law(gen, n, 0))
    S = int(gen.integers(3, 16))
    c = float(gen.uniform(0.02, 0.5))
    P = np.zeros((S, S))
    for s in range(S - 1):
        w = gen.random(S - s) * (gen.random(S - s) < 0.7)
        w[1] += 0.1  # always a chance to move up
        P[s, s:] = w / w.sum()
    P[S - 1, S - 1] = 1.0
    d = np.sort(gen.uniform(-c, 1.0, size=S - 1))[::-1]
    top = gen.uniform(-1.0, 1.0)
    init = gen.dirichlet(np.ones(S))
    return monotone_problem(P, d, c, top, horizon=int(gen.integers(2, 30)) if finite else None, initial=init)


def random_banded_rows(rng: RNGLike, n_states: int, width: int, lower: int) -> np.ndarray:
    """Bands ``(n_states, width)`` of a random row-stochastic banded matrix: entry ``[s, j]`` is the
    probability of moving to ``s - lower + j`` (uniform weights, zero outside ``0..n_states-1``)."""
    gen = as_generator(rng)
    n = check_int("n_states", n_states, min=1)
    w = check_int("width", width, min=1)
    bands = gen.random((n, w))
    s = np.arange(n)[:, None] - check_int("lower", lower, min=0, max=w - 1) + np.arange(w)[None, :]
    bands[(s < 0) | (s >= n)] = 0.0
    bands /= bands.sum(axis=1, keepdims=True)
    return bands


def random_m_matrix(rng: RNGLike, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bands ``(lower, diagonal, upper)`` of a random tridiagonal M-matrix: off-diagonals uniform in
    :math:`[-1,0]` (``lower[0] = upper[-1] = 0``) and a strictly dominant diagonal (margin uniform in
    :math:`[0.05,2]`)."""
    gen = as_generator(rng)
    n = check_int("n", n, min=1)
    lo = -gen.uniform(0.0, 1.0, n)
    up = -gen.uniform(0.0, 1.0, n)
    lo[0] = 0.0
    up[-1] = 0.0
    di = -lo - up + gen.uniform(0.05, 2.0, n)  # strict diagonal dominance
    return lo, di, up


#: the gains of :func:`random_residual_family`, in the order of the draw that picks one
RESIDUAL_GAINS = ("distance", "smooth distance", "bounded score")


def random_residual_family(rng: RNGLike, violation: str = "") -> tuple[PathStoppingProblem, dict[str, Any]]:
    r"""One random deterministic residual family :math:`h_{l+1}=h_l+f_l(h_l)` on :math:`m` inputs (§B2).

    :math:`f_l(h)=C\tilde\rho^l\,s_l\,u_l(h)` with a unit direction field :math:`u_l=v/\|v\|`,
    :math:`v=\tanh(A_lh+b_l)` (random :math:`A_l, b_l`), so :math:`\sup_h\|f_l\|=C\tilde\rho^ls_l`. The gain
    is :math:`K L_g` times a 1-Lipschitz score: :math:`-\|h-y\|`, :math:`-\sqrt{1+\|h-y\|^2}` or the
    bounded :math:`\tanh(w\cdot(h-y))` (:data:`RESIDUAL_GAINS`). Declared: :math:`C`, :math:`\rho`,
    :math:`L_g`. Satisfying families have :math:`\tilde\rho=\rho<1`, :math:`s_l\in[\tfrac12,1]`,
    :math:`K=1`; ``violation="growth"`` has :math:`\tilde\rho\in[1.02,1.3]` (and :math:`s_l=1`),
    ``violation="lipschitz"`` has :math:`K\in[2,5]`.

    Parameters
    ----------
    rng : seed, SeedSequence or Generator
        Randomness (a ``Generator`` is used in place: successive calls draw successive families).
    violation : {"", "growth", "lipschitz"}
        Which hypothesis the family breaks (none by default).

    Returns
    -------
    problem : PathStoppingProblem
        The stopping problem on the family's paths (:func:`stochdepth.depth.residual_path_problem`).
    info : dict
        The drawn sizes and declared constants: ``d``, ``L``, ``m``, ``C``, ``rho``, ``cost``,
        ``lipschitz``, ``gain`` and ``violation``.

    Examples
    --------
    >>> prob, info = random_residual_family(0)
    >>> info["violation"], info["gain"] in RESIDUAL_GAINS
    ('', True)
    """
    from ..depth import residual_path_problem

    if violation not in ("", "growth", "lipschitz"):
        raise ValueError(f"violation must be '', 'growth' or 'lipschitz', got {violation!r}")
    gen = as_generator(rng)
    d = int(gen.integers(1, 5))
    L = int(gen.integers(5, 41))
    m = int(gen.integers(8, 33))
    C = float(gen.uniform(0.2, 3.0))
    rho = float(gen.uniform(0.3, 0.95))
    cost = float(math.exp(gen.uniform(math.log(0.005), math.log(0.5))))
    lg = float(gen.uniform(0.5, 2.0))
    kind = RESIDUAL_GAINS[int(gen.integers(0, len(RESIDUAL_GAINS)))]
    A = gen.normal(size=(L, d, d)) * 2.0
    b = gen.normal(size=(L, d))
    y = gen.normal(size=d)
    w = gen.normal(size=d)
    w /= np.linalg.norm(w)
    h0 = gen.normal(size=(m, d)) * 2.0
    shrink = np.ones(L) if violation else gen.uniform(0.5, 1.0, size=L)
    true_rho = float(gen.uniform(1.02, 1.3)) if violation == "growth" else rho
    steep = float(gen.uniform(2.0, 5.0)) if violation == "lipschitz" else 1.0
    slope = steep * lg

    def residual(l: int, h: np.ndarray) -> np.ndarray:
        v = np.tanh(h @ A[l].T + b[l])
        u = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-300)
        return C * true_rho**l * shrink[l] * u

    def gain(h: np.ndarray) -> np.ndarray:
        r = h - y
        if kind == "distance":
            return -slope * np.linalg.norm(r, axis=1)
        if kind == "smooth distance":
            return -slope * np.sqrt(1.0 + np.sum(r * r, axis=1))
        return slope * np.tanh(r @ w)

    prob = residual_path_problem(residual, gain, h0, L, cost)
    info = {"d": d, "L": L, "m": m, "C": C, "rho": rho, "cost": cost, "lipschitz": lg, "gain": kind}
    info["violation"] = violation
    return prob, info
