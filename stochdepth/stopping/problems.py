r"""Optimal stopping problems for discrete depth (docs/science.md §B1).

Layers are :math:`l=0,\dots,L`. Stopping at layer :math:`l` pays the gain :math:`G_l`; going from layer
:math:`k` to :math:`k+1` costs :math:`c_k\ge0`; an optional discount :math:`\beta\in(0,1]` per layer (for
the finance benchmarks) gives the payoff, in layer-0 units,

.. math::
    Z_l=\beta^l G_l-\sum_{k<l}\beta^k c_k ,

which is docs/science.md's :math:`Z_l=G_l-\sum_{k<l}c_k` when :math:`\beta=1`. The value is
:math:`V^\star=\sup_\tau\mathbb E Z_\tau` over stopping times :math:`\tau\le L` (or a.s. finite ones in
infinite horizon).

Three problem families, all solved by :func:`stochdepth.stopping.solve_stopping`:

* :class:`MarkovStoppingProblem` -- a finite Markov chain with gains :math:`g_l(s)` (exact solvers);
* :class:`PathStoppingProblem` -- recorded paths: features :math:`X[p,l]` and gains :math:`G[p,l]` (for
  instance measured on a network over a data set), for regression Monte Carlo;
* :class:`SimulatedStoppingProblem` -- a :class:`Simulator` that can draw fresh paths and restart from
  any state (needed by nested upper bounds).
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from .._checks import check_array, check_bool, check_int, check_real
from ..executors import accepts_executor
from ..montecarlo import map_chunks
from ..random import DEFAULT_CHUNK_SIZE, RNGLike, as_generator
from .transitions import Chain, as_chain

__all__ = [
    "MarkovStoppingProblem",
    "PathStoppingProblem",
    "SimulatedStoppingProblem",
    "Simulator",
    "StoppingProblem",
    "payoff_weights",
]


class StoppingProblem(abc.ABC):
    r"""Common base of the stopping problems: what :func:`~stochdepth.stopping.solve_stopping` accepts.

    A problem describes *what* to solve (payoffs :math:`Z_l` on layers :math:`0..L`, or an infinite
    horizon); a :class:`~stochdepth.stopping.StoppingSolver` says *how* and declares which problem classes
    it applies to. The library's problems are :class:`MarkovStoppingProblem`, :class:`PathStoppingProblem`
    and :class:`SimulatedStoppingProblem`; a new kind of problem subclasses this and comes with a solver
    that applies to it.
    """

    #: Last layer :math:`L` (``None``: infinite horizon).
    horizon: int | None


def payoff_weights(costs: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Discount factors :math:`\beta^l` and accumulated costs :math:`\sum_{k<l}\beta^kc_k`, ``l = 0..L``."""
    n_layers = costs.shape[0]
    disc = beta ** np.arange(n_layers + 1, dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(disc[:-1] * costs)])
    return disc, cum


def _check_costs(costs: Any, horizon: int | None, name: str = "costs") -> np.ndarray | float:
    if np.ndim(costs) == 0:
        c = check_real(name, costs, lo=0.0)
        return c
    if horizon is None:
        raise ValueError(f"{name} must be a scalar for an infinite horizon, got shape {np.shape(costs)}")
    arr = check_array(name, costs, ndim=1, shape=(horizon,))
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 (a cost per layer), got min {arr.min():.6g}")
    return arr


def _check_discount(discount: Any) -> float:
    return check_real("discount", discount, lo=0.0, hi=1.0, lo_open=True)


def _check_initial(initial: Any, n_states: int, name: str = "initial") -> np.ndarray:
    if isinstance(initial, (int, np.integer)) and not isinstance(initial, (bool, np.bool_)):
        s = check_int(name, initial, min=0, max=n_states - 1)
        mu = np.zeros(n_states)
        mu[s] = 1.0
        return mu
    mu = check_array(name, initial, ndim=1, shape=(n_states,))
    if np.any(mu < 0) or abs(mu.sum() - 1.0) > 1e-9:
        raise ValueError(
            f"{name} must be a state index or a probability vector over {n_states} states "
            f"(non-negative, summing to 1), got sum {mu.sum():.12g}"
        )
    return mu


class MarkovStoppingProblem(StoppingProblem):
    r"""Optimal stopping of a finite Markov chain (docs/science.md §B1, Markov case).

    The state :math:`s_l\in\{0,\dots,S-1\}` moves with :math:`P_l`; stopping at layer :math:`l` in state
    :math:`s` pays :math:`g_l(s)`. The value function solves

    .. math::
        V_L=g_L,\qquad V_l(s)=\max\Big\{g_l(s),\;-c_l+\beta\sum_{s'}P_l(s,s')V_{l+1}(s')\Big\},

    and in infinite horizon (homogeneous data) :math:`V=\max\{g,-c+\beta PV\}`, the increasing limit of
    the finite-horizon values (Chow, Robbins & Siegmund, *Great Expectations*, 1971, ch. 3-4).

    Parameters
    ----------
    transitions : array_like, BandedTransitions or scipy.sparse matrix (or a sequence of them)
        ``(S, S)`` homogeneous or ``(L, S, S)`` layer-dependent row-stochastic matrices
        (see :mod:`stochdepth.stopping.transitions`).
    gains : array_like
        ``(S,)`` or ``(1, S)`` (the same gain at every layer) or ``(L + 1, S)``; finite.
    costs : float or array_like, optional
        Cost per layer :math:`c\ge0` or ``(L,)`` costs :math:`c_l\ge0`. Default 0.
    horizon : int or None, optional
        Last layer :math:`L\ge1`; ``None`` means: inferred from layer-dependent inputs, and infinite
        horizon if every input is homogeneous (then ``costs`` must be a scalar).
    discount : float, optional
        :math:`\beta\in(0,1]` per layer. Default 1.
    initial : int or array_like, optional
        Initial state or distribution, used by default in values and depth laws.

    Raises
    ------
    ValueError
        Non-stochastic or non-finite transitions, inconsistent shapes, negative or non-finite costs,
        ``horizon < 1``.

    Examples
    --------
    >>> P = [[0.5, 0.5], [0.0, 1.0]]
    >>> prob = MarkovStoppingProblem(P, gains=[0.0, 1.0], costs=0.1, horizon=3, initial=0)
    >>> prob.horizon, prob.n_states
    (3, 2)
    """

    def __init__(
        self,
        transitions: Any,
        gains: Any,
        costs: Any = 0.0,
        horizon: int | None = None,
        *,
        discount: float = 1.0,
        initial: Any = None,
    ) -> None:
        self.chain: Chain = as_chain(transitions)
        n = self.chain.n_states
        g = check_array("gains", gains, ndim=(1, 2))
        if g.shape[-1] != n:
            raise ValueError(
                f"gains must have {n} states on the last axis (as transitions), got shape {g.shape}"
            )
        if horizon is not None:
            horizon = check_int("horizon", horizon, min=1)
        inferred = []
        if self.chain.n_matrices > 1:
            inferred.append(("transitions", self.chain.n_matrices))
        if g.ndim == 2 and g.shape[0] == 1:
            g = g[0]  # one row: the same gains at every layer
        if g.ndim == 2:
            inferred.append(("gains", g.shape[0] - 1))
        if np.ndim(costs) == 1:
            inferred.append(("costs", len(costs)))
        for what, value in inferred:
            if horizon is None:
                horizon = value
            elif value != horizon:
                detail = ", ".join(f"{w} -> L={v}" for w, v in inferred)
                raise ValueError(
                    f"inconsistent horizon: {what} implies L={value} but horizon is {horizon} ({detail})"
                )
        self.horizon: int | None = horizon
        self.discount = _check_discount(discount)
        c = _check_costs(costs, horizon)
        self._gains = np.ascontiguousarray(g[None] if g.ndim == 1 else g)
        if horizon is None:
            self._costs = np.array([float(c)])
        else:
            self._costs = np.full(horizon, float(c)) if np.ndim(c) == 0 else np.asarray(c, dtype=float)
        self.initial = None if initial is None else _check_initial(initial, n)

    # -- description -----------------------------------------------------------------------------------
    @property
    def n_states(self) -> int:
        return self.chain.n_states

    @property
    def infinite(self) -> bool:
        """True for an infinite horizon."""
        return self.horizon is None

    @property
    def homogeneous(self) -> bool:
        """True when transitions, gains and costs do not depend on the layer."""
        return (
            self.chain.homogeneous
            and self._gains.shape[0] == 1
            and bool(np.all(self._costs == self._costs[0]))
        )

    def gains_at(self, layer: int) -> np.ndarray:
        """Gains :math:`g_l` at ``layer`` (shape ``(S,)``)."""
        return self._gains[layer if self._gains.shape[0] > 1 else 0]

    def cost(self, layer: int) -> float:
        """Cost :math:`c_l` of going from ``layer`` to ``layer + 1``."""
        return float(self._costs[layer if self._costs.shape[0] > 1 else 0])

    @property
    def gains(self) -> np.ndarray:
        """Gains as stored: ``(1, S)`` homogeneous or ``(L + 1, S)``."""
        return self._gains

    @property
    def costs(self) -> np.ndarray:
        """Costs ``(L,)`` (finite horizon) or ``(1,)`` (infinite horizon)."""
        return self._costs

    def initial_law(self, initial: Any = None) -> np.ndarray:
        """Normalise ``initial`` (state, distribution or ``None`` for the problem's own)."""
        if initial is None:
            if self.initial is None:
                raise ValueError(
                    "initial is required: this problem has no initial distribution (pass a state index or "
                    "a probability vector)"
                )
            return self.initial
        return _check_initial(initial, self.n_states)

    def with_horizon(self, horizon: int) -> MarkovStoppingProblem:
        """The finite-horizon truncation of a homogeneous problem (used to show monotone convergence)."""
        horizon = check_int("horizon", horizon, min=1)
        if not self.homogeneous:
            raise ValueError("with_horizon needs a homogeneous problem (transitions, gains and costs)")
        out = object.__new__(MarkovStoppingProblem)
        out.chain = self.chain
        out.horizon = horizon
        out.discount = self.discount
        out._gains = self._gains[:1]
        out._costs = np.full(horizon, self._costs[0])
        out.initial = self.initial
        return out

    def payoffs(self, layers: np.ndarray, states: np.ndarray) -> np.ndarray:
        r"""Payoffs :math:`Z_l(s)=\beta^lg_l(s)-\sum_{k<l}\beta^kc_k` in layer-0 units (vectorised)."""
        layers = np.asarray(layers, dtype=np.int64)
        states = np.asarray(states, dtype=np.int64)
        gl = self._gains[np.minimum(layers, self._gains.shape[0] - 1), states]
        c = self._costs
        beta = self.discount
        if c.shape[0] == 1 and self.horizon is None:
            cc = float(c[0])
            cum = cc * layers if beta == 1.0 else cc * (1 - beta**layers) / (1 - beta)
        else:
            _, cumv = payoff_weights(c, beta)
            cum = cumv[layers]
        return beta**layers * gl - cum

    def sample_paths(
        self, n_paths: int, *, horizon: int | None = None, initial: Any = None, rng: RNGLike = None
    ) -> PathStoppingProblem:
        """Simulate ``n_paths`` chain paths as a :class:`PathStoppingProblem` (features: the state index).

        ``horizon`` is required in infinite horizon (the paths are truncated there).
        """
        n_paths = check_int("n_paths", n_paths, min=1)
        if horizon is None:
            if self.horizon is None:
                raise ValueError("horizon is required to sample paths of an infinite-horizon problem")
            horizon = self.horizon
        horizon = check_int("horizon", horizon, min=1)
        if self.horizon is not None and horizon > self.horizon:
            raise ValueError(f"horizon must be <= the problem's horizon {self.horizon}, got {horizon}")
        mu = self.initial_law(initial)
        gen = as_generator(rng)
        states = np.empty((n_paths, horizon + 1), dtype=np.int64)
        states[:, 0] = gen.choice(self.n_states, size=n_paths, p=mu)
        keys: dict[int, np.ndarray] = {}
        for l in range(horizon):
            k = self.chain._k(l)
            P = self.chain.csr(l)
            if k not in keys:
                # row index + cumulative probability within the row: increasing over all entries
                rows = np.repeat(np.arange(self.n_states), np.diff(P.indptr))
                cum = np.cumsum(P.data)
                within = cum - np.concatenate([[0.0], cum])[P.indptr[:-1]][rows]
                row_total = within[P.indptr[1:] - 1]  # every row has an entry (stochastic rows)
                keys[k] = rows + within / row_total[rows]
            s = states[:, l]
            pos = np.searchsorted(keys[k], s + gen.random(n_paths), side="right")
            pos = np.clip(pos, P.indptr[s], P.indptr[s + 1] - 1)
            states[:, l + 1] = P.indices[pos]
        layers = np.arange(horizon + 1)
        gains = self._gains[np.minimum(layers, self._gains.shape[0] - 1)[None, :], states]
        costs = self._costs if self._costs.shape[0] == horizon else np.full(horizon, self._costs[0])
        return PathStoppingProblem(states.astype(float), gains, costs[:horizon], discount=self.discount)

    def __repr__(self) -> str:
        h = "inf" if self.horizon is None else self.horizon
        return (
            f"MarkovStoppingProblem(n_states={self.n_states}, horizon={h}, kind={self.chain.kind!r}, "
            f"homogeneous={self.homogeneous}, discount={self.discount:g})"
        )


class PathStoppingProblem(StoppingProblem):
    r"""Optimal stopping on recorded paths: features :math:`X[p,l]` and gains :math:`G[p,l]`.

    The paths are i.i.d. draws of the process (e.g. the hidden states and exit-head gains of a network on
    the examples of a data set). Payoffs are :math:`Z_l=\beta^lG_l-\sum_{k<l}\beta^kc_k` (module docstring).

    Parameters
    ----------
    features : array_like
        ``(n_paths, L + 1)`` or ``(n_paths, L + 1, d)``: what a policy may look at after layer :math:`l`.
    gains : array_like
        ``(n_paths, L + 1)``, finite.
    costs : float or array_like, optional
        Cost per layer :math:`c\ge0` or ``(L,)`` costs. Default 0.
    discount : float, optional
        :math:`\beta\in(0,1]`. Default 1.
    deterministic : bool, optional
        Declare that each path is a deterministic function of its start (a fixed network on fixed inputs,
        no noise): then the smallest pathwise maximiser of :math:`Z` is the optimal stopping time
        (:class:`~stochdepth.stopping.PathwiseMaximum` is exact). This also needs gains that the policy
        can compute, so it must come with ``gains_observed=True``. Default False.
    gains_observed : bool or None, optional
        Whether a policy knows the gain :math:`G_l` when it decides at layer :math:`l` (the gain is a
        function of the features seen so far, or is itself observed). ``False`` declares a *realised*
        gain that depends on information outside the features -- the correctness of an exit, which needs
        the label (docs/science.md §B7.2): policies then decide from the features alone (they are given
        ``gains=None``), :class:`~stochdepth.stopping.LongstaffSchwartz` regresses the gain on the
        features as well as the continuation value, and :class:`~stochdepth.stopping.PathwiseMaximum`
        reports the label oracle's upper bound, never an exact value. ``None`` (default): not declared;
        treated as observed, except that ``deterministic=True`` then refuses to run (declare it).

    Raises
    ------
    ValueError
        ``deterministic=True`` without ``gains_observed=True``, or paths declared deterministic whose
        gains differ between paths with the same start (the gains then depend on something the
        features do not show).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 6, 2))
    >>> G = -np.linalg.norm(X, axis=2)
    >>> prob = PathStoppingProblem(X, G, costs=0.05)
    >>> prob.n_paths, prob.horizon, prob.n_features
    (100, 5, 2)
    """

    def __init__(
        self,
        features: Any,
        gains: Any,
        costs: Any = 0.0,
        *,
        discount: float = 1.0,
        deterministic: bool = False,
        gains_observed: bool | None = None,
    ) -> None:
        X = check_array("features", features, ndim=(2, 3))
        if X.ndim == 2:
            X = X[:, :, None]
        G = check_array("gains", gains, ndim=2)
        if G.shape != X.shape[:2]:
            raise ValueError(
                f"gains must have shape (n_paths, L + 1) = {X.shape[:2]} like features, got {G.shape}"
            )
        if G.shape[0] < 1:
            raise ValueError("features and gains must hold at least one path")
        if G.shape[1] < 2:
            raise ValueError(f"paths must cover layers 0..L with horizon L >= 1, got {G.shape[1]} layer(s)")
        self.horizon = int(G.shape[1] - 1)
        self.discount = _check_discount(discount)
        c = _check_costs(costs, self.horizon)
        self.costs = np.full(self.horizon, float(c)) if np.ndim(c) == 0 else np.asarray(c, dtype=float)
        self.features = np.ascontiguousarray(X)
        self.gains = np.ascontiguousarray(G)
        check_bool("deterministic", deterministic)
        if gains_observed is not None:
            check_bool("gains_observed", gains_observed)
        if deterministic and gains_observed is not True:
            raise ValueError(
                "deterministic=True makes the pathwise maximum the optimal stopping time, which holds only "
                "when a policy can compute the gains from what it observes; declare gains_observed=True, "
                "or gains_observed=False (and deterministic=False) for gains that depend on a label -- the "
                "pathwise maximum of such gains is a label oracle (docs/science.md §B7.3)"
            )
        self.deterministic = bool(deterministic)
        self.gains_observed = gains_observed
        if deterministic:
            _check_deterministic(X, G)
        disc, cum = payoff_weights(self.costs, self.discount)
        self._disc = disc
        self._cum = cum

    @property
    def n_paths(self) -> int:
        return int(self.gains.shape[0])

    @property
    def observed(self) -> bool:
        """Whether a policy may read the gains when it decides (``gains_observed`` is not ``False``)."""
        return self.gains_observed is not False

    def decision_gains(self, layer: int, index: Any = slice(None)) -> np.ndarray | None:
        """The gains a policy is given at ``layer`` (of the paths ``index``): ``None`` when unobserved."""
        return self.gains[index, layer] if self.observed else None

    @property
    def n_features(self) -> int:
        return int(self.features.shape[2])

    @property
    def payoffs(self) -> np.ndarray:
        r"""Payoffs :math:`Z` ``(n_paths, L + 1)`` in layer-0 units."""
        return self.gains * self._disc[None, :] - self._cum[None, :]

    @property
    def discount_factors(self) -> np.ndarray:
        r""":math:`\beta^l`, ``l = 0..L``."""
        return self._disc

    @property
    def cumulative_costs(self) -> np.ndarray:
        r""":math:`\sum_{k<l}\beta^kc_k`, ``l = 0..L``."""
        return self._cum

    def subset(self, index: Any) -> PathStoppingProblem:
        """The problem restricted to the paths ``index`` (an index array or a boolean mask)."""
        idx = np.asarray(index)
        return PathStoppingProblem(
            self.features[idx],
            self.gains[idx],
            self.costs,
            discount=self.discount,
            deterministic=self.deterministic,
            gains_observed=self.gains_observed,
        )

    def split(
        self, fraction: float, *, rng: RNGLike = None
    ) -> tuple[PathStoppingProblem, PathStoppingProblem]:
        """Random split into (first, second) with ``round(fraction * n_paths)`` paths in the first part."""
        fraction = check_real("fraction", fraction, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        k = round(fraction * self.n_paths)
        if k < 1 or k >= self.n_paths:
            raise ValueError(
                f"fraction={fraction} leaves an empty part of {self.n_paths} paths; record more paths"
            )
        perm = as_generator(rng).permutation(self.n_paths)
        return self.subset(np.sort(perm[:k])), self.subset(np.sort(perm[k:]))

    def __repr__(self) -> str:
        return (
            f"PathStoppingProblem(n_paths={self.n_paths}, horizon={self.horizon}, "
            f"n_features={self.n_features}, discount={self.discount:g}, deterministic={self.deterministic}, "
            f"gains_observed={self.gains_observed})"
        )


def _check_deterministic(X: np.ndarray, G: np.ndarray) -> None:
    """Paths declared deterministic that share their start must share their gains."""
    _, first, inverse = np.unique(X[:, 0], axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if first.size == X.shape[0]:
        return
    differ = np.any(G[first[inverse]] != G, axis=1)
    if np.any(differ):
        i = int(np.nonzero(differ)[0][0])
        raise ValueError(
            f"deterministic=True, but path {i} has the same start as path {int(first[inverse[i]])} and other "
            "gains: the gains depend on something the features do not show (a label?); declare "
            "gains_observed=False and deterministic=False"
        )


class Simulator(abc.ABC):
    r"""A Markov simulator of the state :math:`x_l\in\mathbb R^{\text{dim}}` (subclass it).

    Subclasses implement :meth:`initial`, :meth:`step` and :meth:`gain`; :meth:`features` defaults to the
    state itself and :meth:`paths` to repeated :meth:`step` calls (override it with a fast kernel).
    The state must be Markov: nested simulation restarts from it (:class:`AndersenBroadie`).
    """

    #: Dimension of the state.
    dim: int = 1

    @abc.abstractmethod
    def initial(self, generator: np.random.Generator, m: int) -> np.ndarray:
        """``m`` initial states, shape ``(m, dim)``."""

    @abc.abstractmethod
    def step(self, layer: int, states: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        """States at ``layer + 1`` given states ``(m, dim)`` at ``layer``."""

    @abc.abstractmethod
    def gain(self, layer: int, states: np.ndarray) -> np.ndarray:
        r"""Gains :math:`G_l` (undiscounted), shape ``(m,)``."""

    def features(self, layer: int, states: np.ndarray) -> np.ndarray:
        """Regression features at ``layer``, shape ``(m, d)`` (default: the states)."""
        return states

    def control_variates(self, layer: int, states: np.ndarray) -> np.ndarray | None:
        r"""Optional martingales :math:`M_l(x)` with known means :attr:`control_means`, shape ``(m, k)``.

        By optional stopping :math:`\mathbb E M_\tau=M_0` for every policy, so
        :math:`\overline{Z_\tau}-b^\top(\overline{M_\tau}-M_0)` estimates a policy's value with less variance
        (martingale control variates; Broadie & Cao, *Quantitative Finance* 8 (2008) 845-861). Default:
        none.
        """
        return None

    #: Means :math:`\mathbb E M_l` of :meth:`control_variates` (``(k,)``), or None.
    control_means: np.ndarray | None = None

    def paths(self, generator: np.random.Generator, m: int, horizon: int) -> np.ndarray:
        """``m`` paths of states, shape ``(m, horizon + 1, dim)``."""
        x = np.asarray(self.initial(generator, m), dtype=float).reshape(m, -1)
        out = np.empty((m, horizon + 1, x.shape[1]))
        out[:, 0] = x
        for l in range(horizon):
            x = np.asarray(self.step(l, x, generator), dtype=float).reshape(m, -1)
            out[:, l + 1] = x
        return out


class SimulatedStoppingProblem(StoppingProblem):
    r"""A stopping problem driven by a :class:`Simulator` (fresh paths on demand, restarts from any state).

    Parameters
    ----------
    simulator : Simulator
        The Markov state process, its gains and features.
    horizon : int
        Last layer :math:`L\ge1`.
    costs : float or array_like, optional
        Cost per layer :math:`c\ge0` or ``(L,)``. Default 0.
    discount : float, optional
        :math:`\beta\in(0,1]` per layer (for an option, :math:`e^{-r\Delta t}`). Default 1.

    Examples
    --------
    >>> from stochdepth.stopping.finance import GeometricBrownianMotion, Put, bermudan_problem
    >>> gbm = GeometricBrownianMotion(36.0, rate=0.06, volatility=0.2, maturity=1.0, n_dates=50)
    >>> prob = bermudan_problem(gbm, Put(40.0))
    >>> paths = prob.sample(1000, rng=1)
    >>> paths.n_paths, paths.horizon
    (1000, 50)
    """

    def __init__(
        self, simulator: Simulator, horizon: int, costs: Any = 0.0, *, discount: float = 1.0
    ) -> None:
        if not isinstance(simulator, Simulator):
            raise TypeError(
                f"simulator must be a stochdepth.stopping.Simulator, got {type(simulator).__name__}"
            )
        self.simulator = simulator
        self.horizon = check_int("horizon", horizon, min=1)
        self.discount = _check_discount(discount)
        c = _check_costs(costs, self.horizon)
        self.costs = np.full(self.horizon, float(c)) if np.ndim(c) == 0 else np.asarray(c, dtype=float)
        self._disc, self._cum = payoff_weights(self.costs, self.discount)

    @property
    def discount_factors(self) -> np.ndarray:
        return self._disc

    @property
    def cumulative_costs(self) -> np.ndarray:
        return self._cum

    def payoff(self, layer: int, states: np.ndarray) -> np.ndarray:
        """Payoffs :math:`Z_l` (layer-0 units) of states at ``layer``."""
        return (
            self._disc[layer] * np.asarray(self.simulator.gain(layer, states), dtype=float) - self._cum[layer]
        )

    @accepts_executor
    def sample_states(
        self,
        n_paths: int,
        *,
        rng: RNGLike = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        n_threads: int | None = None,
    ) -> np.ndarray:
        """``(n_paths, L + 1, dim)`` simulated states, chunked with spawned streams (depends on the seed and
        ``chunk_size`` only)."""
        n_paths = check_int("n_paths", n_paths, min=1)
        sim = self.simulator
        L = self.horizon

        def job(a: int, b: int, g: np.random.Generator) -> np.ndarray:
            return np.asarray(sim.paths(g, b - a, L), dtype=float)

        per_path = 8 * (L + 1) * max(1, int(getattr(sim, "dim", 1)))
        parts = map_chunks(job, rng, n_paths, chunk_size=chunk_size, n_threads=n_threads, item_bytes=per_path)
        return np.concatenate(parts, axis=0)

    def to_paths(self, states: np.ndarray) -> PathStoppingProblem:
        """Features and gains of simulated ``states`` as a :class:`PathStoppingProblem`."""
        sim = self.simulator
        L = self.horizon
        feats = [
            np.asarray(sim.features(l, states[:, l]), dtype=float).reshape(states.shape[0], -1)
            for l in range(L + 1)
        ]
        gains = np.stack([np.asarray(sim.gain(l, states[:, l]), dtype=float) for l in range(L + 1)], axis=1)
        return PathStoppingProblem(np.stack(feats, axis=1), gains, self.costs, discount=self.discount)

    @accepts_executor
    def sample(
        self,
        n_paths: int,
        *,
        rng: RNGLike = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        n_threads: int | None = None,
    ) -> PathStoppingProblem:
        """Simulate ``n_paths`` paths as a :class:`PathStoppingProblem`."""
        return self.to_paths(self.sample_states(n_paths, rng=rng, chunk_size=chunk_size, n_threads=n_threads))

    def __repr__(self) -> str:
        return (
            f"SimulatedStoppingProblem({type(self.simulator).__name__}, horizon={self.horizon}, "
            f"discount={self.discount:.6g}, "
            f"cost={self.costs[0] if np.all(self.costs == self.costs[0]) else 'varying'})"
        )
