r"""Stopping policies as objects that can be evaluated on new paths.

A policy decides after each layer :math:`l` whether to stop, from what is observed then. *Markov* policies
look at the current layer only, through :meth:`Policy.stop` ``(l, features, gains) -> bool``, where
``gains`` are the undiscounted gains :math:`G_l` and the comparison is made in layer-:math:`l` units
(``gains`` is ``None`` on paths whose gains no policy can know, ``gains_observed=False``: a policy that
needs them then raises, and the regression policies decide from a regression of the gain instead);
path-dependent policies (:class:`Patience`) override :meth:`Policy.stopping_times`. Every policy stops at
the last layer :math:`L`.

* :class:`SnellPolicy` -- the Snell/Bellman rule :math:`\tau=\min\{l:G_l\ge C_l(X_l)\}` with the exact
  continuation value (Markov chains) or a regression estimate (Longstaff-Schwartz);
* :class:`OneStepLookAhead` -- :math:`\tau_{\rm OSLA}=\min\{l:G_l\ge -c_l+\beta\,\mathbb E[G_{l+1}\mid
  \mathcal F_l]\}`, optimal in the monotone case (docs/science.md §B2; Chow, Robbins & Siegmund 1971, Thm.
  3.5);
* :class:`GainThreshold` -- stop once the gain (or a confidence feature) reaches a threshold, the rule of
  confidence-based early-exit networks (Teerapittayanon et al., BranchyNet, ICPR 2016);
* :class:`Patience` -- stop once the prediction has not changed for ``patience`` layers (Zhou et al.,
  *BERT loses patience*, NeurIPS 2020).

:meth:`Policy.evaluate` returns a :class:`~stochdepth.stopping.PolicyEvaluation`: the value
:math:`\mathbb E Z_\tau` with its standard error and the law of :math:`\tau`; exact on a Markov chain
(forward propagation or a linear solve) for Markov policies, Monte Carlo otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from .._checks import check_array, check_int, check_real
from .._results import Estimate
from ..montecarlo import map_chunks
from ..random import RNGLike, spawn
from ._regress import LayerFit, fit_layer
from .basis import Basis, Polynomial
from .evaluation import stopping_law, stopping_value
from .problems import MarkovStoppingProblem, PathStoppingProblem, SimulatedStoppingProblem
from .results import DepthLaw, PolicyEvaluation

__all__ = ["GainThreshold", "OneStepLookAhead", "Patience", "Policy", "SnellPolicy"]


class Policy:
    """Base class of stopping policies (see the module docstring)."""

    #: Human-readable name, used in evaluations.
    name: str = "policy"
    #: True when :meth:`stop` decides from the current layer alone.
    markov: bool = True
    #: Table of decisions ``(L + 1, S)`` or ``(S,)`` on a Markov chain, when the policy was built from one.
    table: np.ndarray | None = None

    def stop(self, layer: int, features: np.ndarray, gains: np.ndarray) -> np.ndarray:
        """Boolean ``(m,)``: stop at ``layer`` given ``features`` ``(m, d)`` and gains ``(m,)``."""
        raise TypeError(f"{type(self).__name__} is path-dependent: use stopping_times")

    def stopping_times(self, paths: PathStoppingProblem) -> np.ndarray:
        """Stopping layer of each recorded path, ``(n_paths,)`` integers in ``0..L``."""
        if not isinstance(paths, PathStoppingProblem):
            raise TypeError(f"paths must be a PathStoppingProblem, got {type(paths).__name__}")
        L = paths.horizon
        tau = np.full(paths.n_paths, L, dtype=np.int64)
        active = np.arange(paths.n_paths)
        for l in range(L):
            if active.size == 0:
                break
            s = np.asarray(
                self.stop(l, paths.features[active, l], paths.decision_gains(l, active)), dtype=bool
            )
            tau[active[s]] = l
            active = active[~s]
        return tau

    # -- exact decisions on a Markov chain -------------------------------------------------------------
    def decision_table(self, problem: MarkovStoppingProblem) -> np.ndarray:
        """Decisions on every state: ``(L + 1, S)`` (finite horizon) or ``(S,)`` (stationary rule in
        infinite horizon, decided at layer 0)."""
        if not self.markov:
            raise TypeError(f"{self.name} is path-dependent: it has no decision table")
        states = np.arange(problem.n_states, dtype=float)[:, None]
        if problem.horizon is None:
            return np.asarray(self.stop(0, states, problem.gains_at(0)), dtype=bool)
        L = problem.horizon
        table = np.ones((L + 1, problem.n_states), dtype=bool)
        for l in range(L):
            table[l] = np.asarray(self.stop(l, states, problem.gains_at(l)), dtype=bool)
        return table

    # -- evaluation ------------------------------------------------------------------------------------
    def evaluate(
        self,
        problem: Any,
        *,
        n_paths: int | None = None,
        initial: Any = None,
        rng: RNGLike = None,
    ) -> PolicyEvaluation:
        r"""Value :math:`\mathbb E Z_\tau` and law of :math:`\tau` of this policy on ``problem``.

        Parameters
        ----------
        problem : MarkovStoppingProblem, PathStoppingProblem or SimulatedStoppingProblem
            Markov chains are evaluated exactly for Markov policies (Monte Carlo on ``n_paths`` sampled
            paths otherwise); recorded paths are used as they are; a simulator draws ``n_paths`` fresh
            paths.
        n_paths : int, optional
            Paths to simulate (simulators, and path-dependent policies on Markov chains).
        initial : int or array_like, optional
            Initial state or law on a Markov chain (default: the problem's).
        rng : seed, SeedSequence or Generator, optional
            Randomness of the simulated paths.
        """
        if isinstance(problem, MarkovStoppingProblem):
            mu = problem.initial_law(initial)
            if self.markov:
                table = self.decision_table(problem)
                value = stopping_value(problem, table, mu)
                law = stopping_law(problem, table, mu)
                return PolicyEvaluation(self.name, Estimate(value, 0.0, 0), law, 0, True)
            if n_paths is None:
                raise ValueError(f"n_paths is required to evaluate the path-dependent {self.name} on a chain")
            paths = problem.sample_paths(n_paths, initial=initial, rng=rng)
            return self._evaluate_paths(paths)
        if isinstance(problem, SimulatedStoppingProblem):
            if n_paths is None:
                raise ValueError("n_paths is required to evaluate a policy on a simulated problem")
            n_paths = check_int("n_paths", n_paths, min=2)
            value, _, law = evaluate_simulated(problem, self, n_paths, rng)
            return PolicyEvaluation(self.name, value, law, n_paths, False)
        if isinstance(problem, PathStoppingProblem):
            return self._evaluate_paths(problem)
        raise TypeError(
            "problem must be a MarkovStoppingProblem, PathStoppingProblem or SimulatedStoppingProblem, "
            f"got {type(problem).__name__}"
        )

    def _evaluate_paths(self, paths: PathStoppingProblem) -> PolicyEvaluation:
        tau = self.stopping_times(paths)
        z = paths.payoffs[np.arange(paths.n_paths), tau]
        value = Estimate.from_samples(z) if z.size > 1 else Estimate(float(z[0]), np.inf, 1)
        return PolicyEvaluation(
            self.name, value, DepthLaw.from_samples(tau, paths.horizon), paths.n_paths, False
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _control_variate_estimate(z: np.ndarray, M: np.ndarray, means: np.ndarray) -> Estimate:
    r"""Regression-adjusted control variates: :math:`\bar z-\hat b^\top(\bar M-\mathbb EM)`."""
    X = M - means[None, :]
    Xc = X - X.mean(axis=0)
    zc = z - z.mean()
    b, *_ = np.linalg.lstsq(Xc, zc, rcond=None)
    adj = z - X @ b
    return Estimate.from_samples(adj)


def evaluate_simulated(
    problem: SimulatedStoppingProblem, policy: Policy, n_paths: int, rng: RNGLike, *, chunk_size: int = 8192
) -> tuple[Estimate, Estimate, DepthLaw]:
    """Value of ``policy`` on ``n_paths`` fresh paths, simulated in chunks (the states of one chunk at a
    time; the payoff, stopping layer and control variates of every path are kept).

    Returns (estimate, plain estimate, law of tau): the estimate uses the simulator's martingale control
    variates when it has some (:meth:`Simulator.control_variates`), else it is the plain sample mean.
    """
    sim = problem.simulator
    L = problem.horizon

    def job(a: int, b: int, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        states = np.asarray(sim.paths(gen, b - a, L), dtype=float)
        paths = problem.to_paths(states)
        tau = policy.stopping_times(paths)
        rows = np.arange(paths.n_paths)
        cv = None
        if sim.control_means is not None:
            cv = np.empty((paths.n_paths, len(sim.control_means)))
            for l in np.unique(tau):
                sel = tau == l
                cv[sel] = sim.control_variates(int(l), states[sel, l])
        return paths.payoffs[rows, tau], tau, cv

    n_cv = 0 if sim.control_means is None else len(sim.control_means)
    parts = map_chunks(job, rng, n_paths, chunk_size=chunk_size, item_bytes=8 * (2 + n_cv))
    z = np.concatenate([p[0] for p in parts])
    tau = np.concatenate([p[1] for p in parts])
    plain = Estimate.from_samples(z)
    est = plain
    if sim.control_means is not None and z.size > 2 * (len(sim.control_means) + 1):
        M = np.concatenate([p[2] for p in parts])  # type: ignore[misc]
        est = _control_variate_estimate(z, M, np.asarray(sim.control_means, dtype=float))
    return est, plain, DepthLaw.from_samples(tau, L)


def observed_gains(gains: np.ndarray | None, who: str) -> np.ndarray:
    """The gains given to a policy, as floats; a clear error when the paths hide them."""
    if gains is None:
        raise ValueError(
            f"{who} decides from the gain, but these paths declare it unobserved (gains_observed=False: it "
            "depends on a label); use a rule on the features, or a regression policy"
        )
    return np.asarray(gains, dtype=float)


def _state_index(features: np.ndarray, n_states: int) -> np.ndarray:
    x = np.asarray(features, dtype=float)
    idx = np.rint(x[:, 0] if x.ndim == 2 else x).astype(np.int64)
    if np.any(idx < 0) or np.any(idx >= n_states):
        raise ValueError(f"features must be state indices in 0..{n_states - 1} for a tabular policy")
    return idx


def _table_stop(table: np.ndarray, layer: int, features: np.ndarray) -> np.ndarray:
    row = table if table.ndim == 1 else table[min(layer, table.shape[0] - 1)]
    return row[_state_index(features, row.size)]


def _table_decisions(table: np.ndarray, problem: MarkovStoppingProblem, name: str) -> np.ndarray:
    if table.shape[-1] != problem.n_states:
        raise ValueError(f"{name} was built for {table.shape[-1]} states, not {problem.n_states}")
    if problem.horizon is None:
        if table.ndim != 1:
            raise ValueError(f"{name} is layer-dependent: it cannot be evaluated in infinite horizon")
        return table
    if table.ndim == 1:
        out = np.tile(table, (problem.horizon + 1, 1))
        out[-1] = True
        return out
    if table.shape[0] != problem.horizon + 1:
        raise ValueError(f"{name} was built for horizon {table.shape[0] - 1}, not {problem.horizon}")
    return table


class _StoppingRegions(Protocol):
    """What :meth:`SnellPolicy.from_markov` reads from a solved chain (a ``MarkovSolution``)."""

    @property
    def stop(self) -> np.ndarray: ...


class SnellPolicy(Policy):
    r"""The Snell (Bellman) policy :math:`\tau=\min\{l:\ G_l\ge C_l(X_l)\}`.

    :math:`C_l` is the continuation value in layer-:math:`l` units: exact for a solved Markov chain
    (:meth:`from_markov`, a table of the solution's stopping regions), or estimated by regression
    (built by :class:`~stochdepth.stopping.LongstaffSchwartz`; ``continuation[l]`` predicts
    :math:`C_l` from the features).

    Parameters
    ----------
    continuation : sequence of fitted regressions, optional
        One fit per layer ``0..L-1`` with a ``predict(X) -> (m,)`` method, in payoff units (layer 0).
    discount_factors, cumulative_costs : array_like, optional
        :math:`\beta^l` and :math:`\sum_{k<l}\beta^kc_k`, ``l = 0..L``, to turn gains into payoffs
        (default: no discount, no costs).
    table : numpy.ndarray, optional
        Instead of fits: the decisions on the states of a chain, ``(L + 1, S)`` or ``(S,)`` (stationary).
    itm_only : bool, optional
        Only stop where the gain is positive (see :class:`~stochdepth.stopping.LongstaffSchwartz`).
    name : str, optional
        Name used in evaluations.
    gain_fits : sequence of fitted regressions, optional
        One fit per layer ``0..L`` of the undiscounted gain :math:`\mathbb E[G_l\mid X_l]` on the features,
        for paths whose gains the policy cannot see (``gains_observed=False``, docs/science.md §B7.2):
        the policy then compares the *estimated* gain with the continuation value and ignores the
        ``gains`` it is given.

    Examples
    --------
    >>> from stochdepth.stopping import MarkovStoppingProblem, solve_stopping
    >>> prob = MarkovStoppingProblem([[0.5, 0.5], [0.0, 1.0]], [0.0, 1.0], costs=0.1, horizon=3, initial=0)
    >>> pol = solve_stopping(prob).policy
    >>> abs(pol.evaluate(prob).value.value - solve_stopping(prob).value()) < 1e-12
    True
    """

    name = "snell"

    def __init__(
        self,
        continuation: Sequence[LayerFit] = (),
        discount_factors: Any = None,
        cumulative_costs: Any = None,
        *,
        table: np.ndarray | None = None,
        itm_only: bool = False,
        name: str = "snell",
        gain_fits: Sequence[LayerFit] | None = None,
    ) -> None:
        self.continuation = list(continuation)
        self.gain_fits = None if gain_fits is None else list(gain_fits)
        #: Fit diagnostics set by :meth:`LongstaffSchwartz.fit` (in-sample value, per-layer condition
        #: numbers, notes); ``None`` otherwise.
        self.in_sample: Estimate | None = None
        self.condition_numbers: np.ndarray | None = None
        self.notes: tuple[str, ...] = ()
        n = len(self.continuation)
        self.discount_factors = (
            np.ones(n + 1) if discount_factors is None else np.asarray(discount_factors, float)
        )
        self.cumulative_costs = (
            np.zeros(n + 1) if cumulative_costs is None else np.asarray(cumulative_costs, float)
        )
        self.itm_only = bool(itm_only)
        self.name = name
        self.table = None if table is None else np.asarray(table, dtype=bool)
        if self.table is None and n == 0:
            raise ValueError("SnellPolicy needs continuation fits or a decision table")

    @classmethod
    def from_markov(cls, solution: _StoppingRegions) -> SnellPolicy:
        """The exact Snell policy of a solved chain (a table of its stopping regions)."""
        return cls(table=solution.stop)

    @property
    def horizon(self) -> int | None:
        """Last layer (``None`` for a stationary tabular rule)."""
        if self.table is not None:
            return None if self.table.ndim == 1 else self.table.shape[0] - 1
        return len(self.continuation)

    def continuation_value(self, layer: int, features: np.ndarray) -> np.ndarray:
        """Estimated continuation value at ``layer`` in payoff units (layer 0)."""
        return self.continuation[layer].predict(features)

    def decision_table(self, problem: MarkovStoppingProblem) -> np.ndarray:
        if self.table is None:
            return super().decision_table(problem)
        return _table_decisions(self.table, problem, self.name)

    def payoff_estimate(self, layer: int, features: np.ndarray, gains: np.ndarray | None) -> np.ndarray:
        r"""The payoff :math:`\beta^lG_l-\sum_{k<l}\beta^kc_k` the policy acts on.

        From the observed ``gains``, or from its gain regression when it has one (then ``gains`` is
        ignored)."""
        if self.gain_fits is not None:
            g = self.gain_fits[layer].predict(features)
        else:
            g = observed_gains(gains, self.name)
        return self.discount_factors[layer] * g - self.cumulative_costs[layer]

    def stop(self, layer: int, features: np.ndarray, gains: np.ndarray | None) -> np.ndarray:
        if self.table is not None:
            return _table_stop(self.table, layer, features)
        if layer >= len(self.continuation):
            return np.ones(np.asarray(features).shape[0], dtype=bool)
        z = self.payoff_estimate(layer, features, gains)
        out = z >= self.continuation_value(layer, features)
        if self.itm_only:
            out &= observed_gains(gains, self.name) > 0
        return out


class OneStepLookAhead(Policy):
    r"""One-step look-ahead: stop when :math:`G_l\ge -c_l+\beta\,\mathbb E[G_{l+1}\mid\mathcal F_l]`.

    Build it with :meth:`fit`: exactly on a Markov chain
    (:math:`\mathbb E[g_{l+1}(s_{l+1})\mid s_l]=P_lg_{l+1}`),
    or on paths by regressing :math:`G_{l+1}` on a basis of the features :math:`X_l`.

    (The constructor takes the fitted pieces: a decision ``table`` on a chain, or per-layer ``fits`` with
    the ``costs`` and ``discount``; use :meth:`fit`.)

    It is optimal when the problem is *monotone* -- the one-step stopping sets
    :math:`A_l=\{G_l\ge -c_l+\beta\mathbb E[G_{l+1}|\mathcal F_l]\}` are absorbing, :math:`A_l\subset A_{l+1}`
    along paths (Chow, Robbins & Siegmund 1971, Thm. 3.5; docs/science.md §B2) -- and can be far from optimal
    otherwise (tests show both).

    Examples
    --------
    >>> from stochdepth.stopping import MarkovStoppingProblem
    >>> prob = MarkovStoppingProblem([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]],
    ...                              [0.0, -1.0, 10.0], costs=0.1, horizon=2, initial=0)
    >>> OneStepLookAhead.fit(prob).evaluate(prob).value.value   # stops at once: myopic
    0.0
    """

    name = "one-step look-ahead"

    def __init__(
        self,
        table: np.ndarray | None = None,
        fits: Sequence[LayerFit] | None = None,
        costs: np.ndarray | None = None,
        discount: float = 1.0,
        gain_fits: Sequence[LayerFit] | None = None,
    ) -> None:
        self.table = None if table is None else np.asarray(table, dtype=bool)
        self.fits = None if fits is None else list(fits)
        self.gain_fits = None if gain_fits is None else list(gain_fits)
        self.costs = None if costs is None else np.asarray(costs, dtype=float)
        self.discount = float(discount)

    @classmethod
    def fit(
        cls,
        problem: Any,
        *,
        basis: Basis | None = None,
        n_paths: int | None = None,
        rng: RNGLike = None,
        tie_tol: float = 1e-11,
        ridge: float = 0.0,
    ) -> OneStepLookAhead:
        """Build the rule on ``problem`` (exact on a chain; regression with ``basis`` on paths).

        Parameters
        ----------
        problem : MarkovStoppingProblem, PathStoppingProblem or SimulatedStoppingProblem
            Where to learn the one-step expectations (a simulator draws ``n_paths`` training paths).
        basis : Basis, optional
            Regression basis for paths. Default ``Polynomial(2)``.
        n_paths : int, optional
            Training paths for a simulated problem.
        rng : seed, SeedSequence or Generator, optional
            Randomness (simulated paths, random-feature bases).
        tie_tol : float, optional
            Relative tie tolerance on a chain (ties stop).
        ridge : float, optional
            Ridge penalty of the path regressions (column-scaled, as in
            :class:`~stochdepth.stopping.LongstaffSchwartz`). Default 0.
        """
        if isinstance(problem, MarkovStoppingProblem):
            chain = problem.chain
            beta = problem.discount
            tol = check_real("tie_tol", tie_tol, lo=0.0)
            if problem.horizon is None:
                g = problem.gains_at(0)
                c = problem.cost(0)
                cont = -c + beta * chain.expect(0, g)
                scale = abs(c) + beta * chain.expect(0, np.abs(g))
                return cls(table=g >= cont - tol * (np.abs(g) + scale))
            L = problem.horizon
            table = np.ones((L + 1, problem.n_states), dtype=bool)
            for l in range(L):
                g, gn, c = problem.gains_at(l), problem.gains_at(l + 1), problem.cost(l)
                cont = -c + beta * chain.expect(l, gn)
                scale = abs(c) + beta * chain.expect(l, np.abs(gn))
                table[l] = g >= cont - tol * (np.abs(g) + scale)
            return cls(table=table)
        if isinstance(problem, SimulatedStoppingProblem):
            if n_paths is None:
                raise ValueError("n_paths is required to fit OneStepLookAhead on a simulated problem")
            ss = spawn(rng, 2)
            problem = problem.sample(n_paths, rng=ss[0])
            rng = ss[1]
        if not isinstance(problem, PathStoppingProblem):
            raise TypeError(f"cannot fit OneStepLookAhead on {type(problem).__name__}")
        basis = Polynomial(2) if basis is None else basis
        ridge = check_real("ridge", ridge, lo=0.0)
        L = problem.horizon
        streams = spawn(rng, 2 * L)

        def fit(l: int, y: np.ndarray, stream: Any) -> LayerFit:
            return fit_layer(basis, problem.features[:, l], y, rng=np.random.default_rng(stream), ridge=ridge)

        fits = [fit(l, problem.gains[:, l + 1], streams[l]) for l in range(L)]
        # unobserved gains (docs/science.md §B7.2): compare E[G_l | X_l] instead of the realised G_l
        gain_fits = (
            None if problem.observed else [fit(l, problem.gains[:, l], streams[L + l]) for l in range(L)]
        )
        return cls(fits=fits, costs=problem.costs, discount=problem.discount, gain_fits=gain_fits)

    def stop(self, layer: int, features: np.ndarray, gains: np.ndarray | None) -> np.ndarray:
        if self.table is not None:
            return _table_stop(self.table, layer, features)
        assert self.fits is not None and self.costs is not None
        if layer >= len(self.fits):
            return np.ones(np.asarray(features).shape[0], dtype=bool)
        if self.gain_fits is not None:
            gains = self.gain_fits[layer].predict(features)
        gains = observed_gains(gains, self.name)
        nxt = self.fits[layer].predict(features)
        return gains >= -self.costs[layer] + self.discount * nxt

    def decision_table(self, problem: MarkovStoppingProblem) -> np.ndarray:
        if self.table is None:
            return super().decision_table(problem)
        return _table_decisions(self.table, problem, self.name)


class GainThreshold(Policy):
    r"""Stop at the first layer where the gain (or a confidence feature) reaches a threshold.

    .. math::
        \tau=\min\{l:\ Y_l\ge\theta_l\}\wedge L,\qquad Y_l=G_l\ \text{or}\ X_l[\text{feature}].

    Parameters
    ----------
    threshold : float or array_like
        :math:`\theta` (one value, or ``(L,)`` per layer).
    feature : int, optional
        Threshold this feature column instead of the gain (e.g. the exit head's max-softmax confidence).

    Examples
    --------
    >>> from stochdepth.stopping import PathStoppingProblem
    >>> G = np.array([[0.1, 0.5, 0.9], [0.6, 0.7, 0.8]])
    >>> GainThreshold(0.5).stopping_times(PathStoppingProblem(np.zeros((2, 3)), G)).tolist()
    [1, 0]
    """

    def __init__(self, threshold: Any, *, feature: int | None = None) -> None:
        th = check_array("threshold", threshold, ndim=(0, 1))
        self.threshold = th
        self.feature = None if feature is None else check_int("feature", feature, min=0)
        self.name = "gain threshold" if feature is None else f"feature[{feature}] threshold"

    def stop(self, layer: int, features: np.ndarray, gains: np.ndarray) -> np.ndarray:
        th = (
            float(self.threshold)
            if self.threshold.ndim == 0
            else float(self.threshold[min(layer, self.threshold.size - 1)])
        )
        if self.feature is None:
            y = observed_gains(gains, self.name)
        else:
            f = np.asarray(features, dtype=float)
            f = f[:, None] if f.ndim == 1 else f
            if self.feature >= f.shape[1]:
                raise ValueError(f"feature={self.feature} but the paths have {f.shape[1]} feature(s)")
            y = f[:, self.feature]
        return y >= th


class Patience(Policy):
    r"""Stop once the prediction has stayed the same for ``patience`` consecutive layers.

    With predictions :math:`\hat y_l=X_l[\text{feature}]` and the counter :math:`k_l=k_{l-1}+1` if
    :math:`\hat y_l=\hat y_{l-1}` else 0 (:math:`k_0=0`):
    :math:`\tau=\min\{l:k_l\ge\text{patience}\}\wedge L`.
    Path-dependent (not Markov in the layer's features).

    Parameters
    ----------
    patience : int
        Number of unchanged layers, :math:`\ge1`.
    feature : int, optional
        Column of the features holding the predicted label. Default 0.

    References
    ----------
    Zhou, Xu, Ge, McAuley, Xu & Wei, *BERT Loses Patience: Fast and Robust Inference with Early Exit*,
    NeurIPS 2020 (PABEE).

    Examples
    --------
    >>> from stochdepth.stopping import PathStoppingProblem
    >>> preds = np.array([[0, 1, 1, 1, 1], [2, 2, 2, 0, 0]], dtype=float)
    >>> Patience(2).stopping_times(PathStoppingProblem(preds, np.zeros((2, 5)))).tolist()
    [3, 2]
    """

    markov = False

    def __init__(self, patience: int, *, feature: int = 0) -> None:
        self.patience = check_int("patience", patience, min=1)
        self.feature = check_int("feature", feature, min=0)
        self.name = f"patience({self.patience})"

    def stopping_times(self, paths: PathStoppingProblem) -> np.ndarray:
        if not isinstance(paths, PathStoppingProblem):
            raise TypeError(f"paths must be a PathStoppingProblem, got {type(paths).__name__}")
        if self.feature >= paths.n_features:
            raise ValueError(f"feature={self.feature} but the paths have {paths.n_features} feature(s)")
        pred = paths.features[:, :, self.feature]
        L = paths.horizon
        tau = np.full(paths.n_paths, L, dtype=np.int64)
        count = np.zeros(paths.n_paths, dtype=np.int64)
        done = np.zeros(paths.n_paths, dtype=bool)
        for l in range(1, L + 1):
            same = pred[:, l] == pred[:, l - 1]
            count = np.where(same, count + 1, 0)
            hit = (count >= self.patience) & ~done
            tau[hit] = l
            done |= hit
        return tau
