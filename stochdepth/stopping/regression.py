r"""Regression Monte Carlo: Longstaff-Schwartz policies with lower and dual upper bounds.

Lower bound. :class:`LongstaffSchwartz` regresses, backwards from :math:`L`, the realised payoff of the
current policy on a basis of the features, :math:`\hat C_l(x)=\psi(x)^\top\hat\beta_l`, and stops where
:math:`Z_l\ge\hat C_l(X_l)` (Longstaff & Schwartz 2001, §2). The fitted policy is then run on *independent*
paths: :math:`\frac1N\sum_iZ^{(i)}_{\hat\tau}` is an unbiased estimate of a policy's value, hence a lower
bound on :math:`V^\star` up to its standard error.

Upper bound (duality: Rogers 2002, Haugh & Kogan 2004). For every martingale :math:`M` with :math:`M_0=0`,

.. math::
    V^\star\le\mathbb E\Big[\max_{0\le l\le L}(Z_l-M_l)\Big],

with equality for the martingale part of the Snell envelope. The martingale comes from

* :class:`AndersenBroadie` -- the policy's own value process, estimated by nested simulation
  (Andersen & Broadie, *Management Science* 50 (2004) 1222-1234): a true upper bound (biased high);
* :class:`RegressionMartingale` -- increments
  :math:`\hat U_{l+1}(X_{l+1})-\hat{\mathbb E}[\hat U_{l+1}\mid X_l]`
  of the regression value :math:`\hat U_l=\max(Z_l,\hat C_l)`, with the one-step expectation from
  ``n_inner`` one-step simulations (a true martingale: a true upper bound) or, on recorded paths, from a
  regression (non-nested; only approximately a martingale: the bound is flagged as approximate);
* :class:`PerfectForesight` -- :math:`M=0`, the prophet bound :math:`\mathbb E\max_lZ_l` (always valid,
  loose).

So every answer is an interval :math:`[\text{lower}-z\,\text{se}_L,\ \text{upper}+z\,\text{se}_U]` with
:math:`z=\Phi^{-1}(1-\alpha/2)` per side, whose coverage is at least ``level`` (Andersen & Broadie 2004,
eq. (9)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from scipy import stats as st

from .._checks import check_bool, check_finite_result, check_int, check_real
from .._results import Estimate, Status
from ..executors import accepts_executor
from ..montecarlo import map_chunks
from ..random import RNGLike, spawn
from ._regress import fit_layer
from .base import StoppingSolution, StoppingSolver
from .basis import Basis, Polynomial
from .policies import Policy, SnellPolicy, evaluate_simulated
from .problems import PathStoppingProblem, SimulatedStoppingProblem, StoppingProblem
from .results import DepthLaw

__all__ = [
    "AndersenBroadie",
    "LongstaffSchwartz",
    "PathwiseMaximum",
    "PathwiseSolution",
    "PerfectForesight",
    "RegressionMartingale",
    "RegressionSolution",
]


# ----------------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class RegressionSolution(StoppingSolution):
    r"""Answer of regression Monte Carlo: a policy and an interval for :math:`V^\star`.

    Attributes
    ----------
    solver : str
        Description of the solver.
    lower : Estimate
        Out-of-sample value of the fitted policy (a lower bound on :math:`V^\star` up to its error), with
        the simulator's martingale control variates when it has some.
    lower_plain : Estimate
        The same without control variates (the plain mean of :math:`Z_{\hat\tau}`).
    upper : Estimate
        Dual upper bound.
    interval : tuple of float
        :math:`[\text{lower}-z\,\text{se},\ \text{upper}+z\,\text{se}]`, coverage at least ``level``
        (when ``upper_valid``).
    level : float
        Confidence level of ``interval``.
    upper_method : str
        How the upper bound was computed.
    upper_valid : bool
        True when ``upper`` is a true (biased-high) upper bound; False for the non-nested regression
        martingale on recorded paths (approximately a martingale only).
    in_sample : Estimate
        The regression's in-sample estimate (optimistically biased; for reference).
    depth : DepthLaw
        Law of the policy's stopping layer on the evaluation paths.
    n_train, n_eval, n_dual : int
        Paths used for the regression, the lower bound and the upper bound.
    condition_numbers : numpy.ndarray
        Condition number of each layer's (column-scaled) design matrix, ``(L,)`` (``inf`` if singular).
    status : Status
        ``OK``; ``APPROXIMATE`` (the non-nested regression martingale gives an approximate upper bound
        by construction); ``ILL_CONDITIONED`` (some layers' regressions, see ``notes``: the fitted policy
        may be poorer, but its out-of-sample lower bound and the dual upper bound stay valid); these three
        are successes. ``INCONSISTENT`` (the upper bound clearly below the lower bound: a biased
        martingale estimate) is not. The worst applies.
    message : str
        Everything to be careful about, in words (empty when ``OK``).
    notes : tuple of str
        Per-layer regression notes.
    policy : SnellPolicy
        The fitted policy (evaluate it on new paths with :meth:`~stochdepth.stopping.Policy.evaluate`).
    """

    solver: str
    lower: Estimate
    lower_plain: Estimate
    upper: Estimate
    interval: tuple[float, float]
    level: float
    upper_method: str
    upper_valid: bool
    in_sample: Estimate
    depth: DepthLaw
    n_train: int
    n_eval: int
    n_dual: int
    condition_numbers: np.ndarray
    status: Status
    message: str = ""
    notes: tuple[str, ...] = ()
    policy: SnellPolicy | None = field(default=None, repr=False, compare=False)

    #: ``inf`` for a singular design matrix.
    nonfinite_fields = ("condition_numbers",)

    @property
    def gap(self) -> float:
        """``upper - lower`` (the duality gap estimate)."""
        return self.upper.value - self.lower.value


@dataclass(frozen=True, repr=False)
class PathwiseSolution(StoppingSolution):
    r"""Result of :class:`PathwiseMaximum`: :math:`\tau=` the smallest maximiser of :math:`Z` on each path.

    Attributes
    ----------
    value : Estimate
        :math:`\mathbb E\max_lZ_l`.
    depth : DepthLaw
        Law of the pathwise smallest maximiser.
    tau : numpy.ndarray
        The maximiser on each path.
    exact : bool
        True when the problem is deterministic given its start: then ``value`` is :math:`V^\star` and
        ``tau`` is :math:`\tau^\star`. Otherwise ``value`` is the perfect-foresight upper bound.
    status : Status
        ``EXACT`` (deterministic paths) or ``UPPER_BOUND`` (random paths), both successes.
    message : str
        The same in words.
    """

    value: Estimate
    depth: DepthLaw
    tau: np.ndarray
    exact: bool
    status: Status
    message: str = ""


# ----------------------------------------------------------------------------------------------------
# Dual (upper-bound) methods
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DualContext:
    problem: Any
    policy: SnellPolicy
    train: PathStoppingProblem
    basis: Basis
    ridge: float
    max_condition: float
    n_eval_paths: PathStoppingProblem | None


@dataclass(frozen=True)
class _DualOutput:
    samples: np.ndarray
    valid: bool
    method: str


def _dual_statistic(Z: np.ndarray, dM: np.ndarray, candidates: np.ndarray | None = None) -> np.ndarray:
    """``max_l (Z_l - M_l)`` with ``M_0 = 0``, increments ``dM[:, l] = M_{l+1} - M_l``, the maximum taken
    over the ``candidates`` layers (all by default)."""
    M = np.concatenate([np.zeros((Z.shape[0], 1)), np.cumsum(dM, axis=1)], axis=1)
    D = Z - M
    if candidates is not None:
        D = np.where(candidates, D, -np.inf)
    return np.max(D, axis=1)


@dataclass(frozen=True)
class PerfectForesight:
    r"""The zero martingale: :math:`V^\star\le\mathbb E\max_lZ_l` (always valid, usually loose).

    Parameters
    ----------
    n_paths : int, optional
        Fresh paths for a simulated problem. Default 10 000.
    """

    n_paths: int = 10_000

    def __post_init__(self) -> None:
        check_int("n_paths", self.n_paths, min=2)

    def _upper(self, ctx: _DualContext, rng: RNGLike) -> _DualOutput:
        paths = _dual_paths(ctx, self.n_paths, rng)
        return _DualOutput(np.max(paths.payoffs, axis=1), True, "perfect foresight (M = 0)")


def _dual_paths(ctx: _DualContext, n: int, rng: RNGLike) -> PathStoppingProblem:
    if isinstance(ctx.problem, SimulatedStoppingProblem):
        return ctx.problem.sample(n, rng=rng)
    assert ctx.n_eval_paths is not None
    return ctx.n_eval_paths


@dataclass(frozen=True)
class RegressionMartingale:
    r"""Dual bound from the martingale part of the regression value :math:`\hat U_l=\max(Z_l,\hat C_l(X_l))`.

    .. math::
        M_{l+1}-M_l=\hat U_{l+1}(X_{l+1})-\hat{\mathbb E}\big[\hat U_{l+1}(X_{l+1})\mid X_l\big].

    With a simulator and ``n_inner`` the conditional expectation is the mean over ``n_inner`` one-step
    simulations from :math:`X_l` (independent of the outer step): :math:`M` is then a true martingale and
    the bound is valid (Glasserman, *Monte Carlo Methods in Financial Engineering*, 2004, §8.7.2). On
    recorded paths the expectation is a regression on the training paths: no nested simulation, but
    :math:`M` is a martingale only up to the regression error, so the bound is reported as approximate.

    Parameters
    ----------
    n_inner : int, optional
        One-step inner samples per outer state and layer (simulated problems). ``None`` (default) uses
        the regression, also on simulated problems.
    n_paths : int, optional
        Outer paths for a simulated problem. Default 10 000.
    """

    n_inner: int | None = None
    n_paths: int = 10_000

    def __post_init__(self) -> None:
        if self.n_inner is not None:
            check_int("n_inner", self.n_inner, min=1)
        check_int("n_paths", self.n_paths, min=2)

    def _upper(self, ctx: _DualContext, rng: RNGLike) -> _DualOutput:
        pol = ctx.policy
        ss = spawn(rng, 4)
        train = ctx.train
        L = train.horizon
        # value process of the policy, fitted on the training paths: q_l(x) ~ E[Z_{tau_{l+1}} | X_l = x]
        Ztr = train.payoffs
        stop_tr = _decisions(pol, train.features, train.gains)
        Y = Ztr[:, L].copy()
        streams = spawn(ss[1], 2 * L)
        q_fits: list[Any] = [None] * L
        for l in range(L - 1, -1, -1):
            q_fits[l] = fit_layer(
                ctx.basis,
                train.features[:, l],
                Y,
                rng=np.random.default_rng(streams[l]),
                ridge=ctx.ridge,
                max_condition=ctx.max_condition,
            )
            Y = np.where(stop_tr[:, l], Ztr[:, l], Y)

        def u_hat(l: int, z: np.ndarray, feats: np.ndarray, gains: np.ndarray) -> np.ndarray:
            if l == L:
                return z
            s = np.asarray(pol.stop(l, feats, gains), dtype=bool)
            return np.where(s, z, q_fits[l].predict(feats))

        if self.n_inner is not None and isinstance(ctx.problem, SimulatedStoppingProblem):
            prob = ctx.problem
            sim = prob.simulator
            n_inner = self.n_inner

            def job(a: int, b: int, gen: np.random.Generator) -> np.ndarray:
                states = np.asarray(sim.paths(gen, b - a, L), dtype=float)
                m = b - a
                Z = np.stack([prob.payoff(l, states[:, l]) for l in range(L + 1)], axis=1)
                G = np.stack([np.asarray(sim.gain(l, states[:, l]), float) for l in range(L + 1)], axis=1)
                dM = np.empty((m, L))
                for l in range(L):
                    x1 = states[:, l + 1]
                    u1 = u_hat(l + 1, Z[:, l + 1], sim.features(l + 1, x1), G[:, l + 1])
                    y = np.asarray(sim.step(l, np.repeat(states[:, l], n_inner, axis=0), gen), dtype=float)
                    ui = u_hat(l + 1, prob.payoff(l + 1, y), sim.features(l + 1, y), sim.gain(l + 1, y))
                    dM[:, l] = u1 - ui.reshape(m, n_inner).mean(axis=1)
                return _dual_statistic(Z, dM, _candidates(pol, G))

            parts = map_chunks(job, ss[0], self.n_paths, chunk_size=256)
            return _DualOutput(
                np.concatenate(parts), True, f"regression martingale, {n_inner} one-step inner samples"
            )
        # non-nested: regress U_{l+1} on X_l on the training paths
        e_fits = []
        for l in range(L):
            u1 = u_hat(l + 1, Ztr[:, l + 1], train.features[:, l + 1], train.gains[:, l + 1])
            e_fits.append(
                fit_layer(
                    ctx.basis,
                    train.features[:, l],
                    u1,
                    rng=np.random.default_rng(streams[L + l]),
                    ridge=ctx.ridge,
                    max_condition=ctx.max_condition,
                )
            )
        paths = _dual_paths(ctx, self.n_paths, ss[2])
        Z = paths.payoffs
        dM = np.empty((paths.n_paths, L))
        for l in range(L):
            u1 = u_hat(l + 1, Z[:, l + 1], paths.features[:, l + 1], paths.gains[:, l + 1])
            dM[:, l] = u1 - e_fits[l].predict(paths.features[:, l])
        return _DualOutput(
            _dual_statistic(Z, dM, _candidates(pol, paths.gains)),
            False,
            "regression martingale (non-nested; approximate upper bound)",
        )


def _decisions(policy: Policy, features: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Stop decisions of a Markov policy at every layer of recorded paths, ``(n, L + 1)``."""
    n, L1 = gains.shape
    s = np.ones((n, L1), dtype=bool)
    for l in range(L1 - 1):
        s[:, l] = policy.stop(l, features[:, l], gains[:, l])
    return s


def _candidates(policy: Policy, gains: np.ndarray) -> np.ndarray | None:
    """Layers where stopping may be optimal: in-the-money ones (and L) for an ``itm_only`` policy.

    Restricting the dual maximum to them is valid when stopping out of the money is never optimal (the
    declaration behind ``itm_only``): the restricted problem has the same value (Broadie & Cao 2008, §4.1).
    """
    if not getattr(policy, "itm_only", False):
        return None
    cand = gains > 0
    cand[:, -1] = True
    return cand


@dataclass(frozen=True)
class AndersenBroadie:
    r"""Andersen-Broadie primal-dual upper bound by nested simulation (needs a simulator).

    Along each of ``n_outer`` paths, the policy's continuation value
    :math:`Q_l=\mathbb E[Z_{\tau_{l+1}}\mid X_l]` is estimated at every layer with ``n_inner`` inner paths
    run under the policy. With :math:`\hat L_l=Z_l` where the policy stops and :math:`\hat Q_l` elsewhere,
    the martingale :math:`M_{l+1}-M_l=\hat L_{l+1}-\hat Q_l` gives
    :math:`\text{upper}=\frac1N\sum_i\max_l(Z_l-M_l)`, a true upper bound, biased high by the inner noise.
    Cost :math:`O(n_{\rm outer}\,n_{\rm inner}\,L^2)` path steps at most (inner paths stop early).

    Parameters
    ----------
    n_outer : int, optional
        Outer paths. Default 1000.
    n_inner : int, optional
        Inner paths per outer path and layer. Default 500.
    chunk_size : int, optional
        Outer paths per chunk (each chunk has its own random stream). Default 32.

    References
    ----------
    Andersen & Broadie, *Management Science* 50 (2004) 1222-1234, §2-3.
    """

    n_outer: int = 1000
    n_inner: int = 500
    chunk_size: int = 32

    def __post_init__(self) -> None:
        check_int("n_outer", self.n_outer, min=2)
        check_int("n_inner", self.n_inner, min=1)
        check_int("chunk_size", self.chunk_size, min=1)

    def _upper(self, ctx: _DualContext, rng: RNGLike) -> _DualOutput:
        prob = ctx.problem
        if not isinstance(prob, SimulatedStoppingProblem):
            raise TypeError(
                "AndersenBroadie needs a SimulatedStoppingProblem (nested simulation restarts from states); "
                "for recorded paths use RegressionMartingale()"
            )
        samples = andersen_broadie_samples(
            prob, ctx.policy, self.n_outer, self.n_inner, rng=rng, chunk_size=self.chunk_size
        )
        return _DualOutput(samples, True, f"Andersen-Broadie nested ({self.n_outer} x {self.n_inner})")


def _inner_continuation(
    prob: SimulatedStoppingProblem,
    policy: Policy,
    layer: int,
    x: np.ndarray,
    n_inner: int,
    gen: np.random.Generator,
) -> np.ndarray:
    r"""Mean over ``n_inner`` inner paths of :math:`Z_{\tau_{l+1}}` from each state of ``x`` at ``layer``."""
    sim = prob.simulator
    L = prob.horizon
    m = x.shape[0]
    cur = np.repeat(x, n_inner, axis=0)
    owner = np.repeat(np.arange(m), n_inner)
    total = np.zeros(m)
    for k in range(layer + 1, L + 1):
        cur = np.asarray(sim.step(k - 1, cur, gen), dtype=float)
        gains = np.asarray(sim.gain(k, cur), dtype=float)
        if k == L:
            s = np.ones(cur.shape[0], dtype=bool)
        else:
            s = np.asarray(policy.stop(k, sim.features(k, cur), gains), dtype=bool)
        if s.any():
            z = prob.discount_factors[k] * gains[s] - prob.cumulative_costs[k]
            total += np.bincount(owner[s], weights=z, minlength=m)
        cur = cur[~s]
        owner = owner[~s]
        if cur.shape[0] == 0:
            break
    return total / n_inner


@accepts_executor
def andersen_broadie_samples(
    problem: SimulatedStoppingProblem,
    policy: Policy,
    n_outer: int,
    n_inner: int,
    *,
    rng: RNGLike = None,
    chunk_size: int = 32,
    n_threads: int | None = None,
) -> np.ndarray:
    r"""Per-outer-path statistics :math:`\max_l(Z_l-M_l)` of the Andersen-Broadie estimator.

    Their mean is the upper bound of :class:`AndersenBroadie`; ``policy`` must be Markov.
    """
    if not policy.markov:
        raise TypeError("Andersen-Broadie needs a Markov policy (decisions from the current state)")
    sim = problem.simulator
    L = problem.horizon

    def job(a: int, b: int, gen: np.random.Generator) -> np.ndarray:
        m = b - a
        states = np.asarray(sim.paths(gen, m, L), dtype=float)
        Z = np.empty((m, L + 1))
        G = np.empty((m, L + 1))
        s = np.ones((m, L + 1), dtype=bool)
        for l in range(L + 1):
            x = states[:, l]
            G[:, l] = np.asarray(sim.gain(l, x), dtype=float)
            Z[:, l] = problem.discount_factors[l] * G[:, l] - problem.cumulative_costs[l]
            if l < L:
                s[:, l] = policy.stop(l, sim.features(l, x), G[:, l])
        cand = _candidates(policy, G)
        cand = np.ones((m, L + 1), dtype=bool) if cand is None else cand
        # inner estimates Q_l are needed where the policy stops (martingale increments), at candidate
        # continuation layers (L_l = Q_l enters the maximum) and at layer 0 (L_0)
        need = (s | cand)[:, :L]
        need[:, 0] = True
        Q = np.full((m, L), np.nan)
        for l in range(L):
            rows = np.nonzero(need[:, l])[0]
            if rows.size:
                Q[rows, l] = _inner_continuation(problem, policy, l, states[rows, l], n_inner, gen)
        # Z_l - M_l = Z_l - Lhat_l + Lhat_0 - sum_{k<l} s_k (Z_k - Q_k), Lhat_l = Z_l if s_l else Q_l
        Lhat = np.where(s[:, :L], Z[:, :L], Q)
        Lhat = np.concatenate([Lhat, Z[:, L:]], axis=1)
        jumps = np.where(s[:, :L], Z[:, :L] - np.nan_to_num(Q), 0.0)
        acc = np.concatenate([np.zeros((m, 1)), np.cumsum(jumps, axis=1)], axis=1)
        D = np.where(cand, Z - Lhat - acc, -np.inf)
        return Lhat[:, 0] + np.max(D, axis=1)

    parts = map_chunks(job, rng, n_outer, chunk_size=chunk_size, n_threads=n_threads)
    out = np.concatenate(parts)
    check_finite_result("Andersen-Broadie upper bound", out)
    return out


# ----------------------------------------------------------------------------------------------------
# Longstaff-Schwartz
# ----------------------------------------------------------------------------------------------------


def _fit_policy(
    train: PathStoppingProblem,
    basis: Basis,
    *,
    itm_only: bool,
    ridge: float,
    max_condition: float,
    rng: RNGLike,
) -> tuple[SnellPolicy, Estimate, np.ndarray, list[str]]:
    Z = train.payoffs
    L = train.horizon
    cash = Z[:, L].copy()
    streams = spawn(rng, L)
    fits: list[Any] = [None] * L
    conds = np.ones(L)
    notes = []
    for l in range(L - 1, -1, -1):
        cand = train.gains[:, l] > 0 if itm_only else np.ones(train.n_paths, dtype=bool)
        idx = np.nonzero(cand)[0]
        X = train.features[idx, l]
        fitted = np.empty(idx.size)
        fit = fit_layer(
            basis,
            X,
            cash[idx],
            rng=np.random.default_rng(streams[l]),
            ridge=ridge,
            max_condition=max_condition,
            fitted_out=fitted,
        )
        fits[l] = fit
        conds[l] = fit.condition
        if fit.note:
            notes.append(f"layer {l}: {fit.note}")
        if idx.size:
            stop = Z[idx, l] >= fitted
            cash[idx[stop]] = Z[idx[stop], l]
    policy = SnellPolicy(
        fits, train.discount_factors, train.cumulative_costs, itm_only=itm_only, name="longstaff-schwartz"
    )
    return policy, Estimate.from_samples(cash), conds, notes[::-1]


@dataclass(frozen=True)
class LongstaffSchwartz(StoppingSolver):
    r"""Longstaff-Schwartz regression Monte Carlo with an out-of-sample lower bound and a dual upper bound.

    Backward on the training paths, with :math:`\text{cash}=Z_L`: at each layer :math:`l<L`, regress
    ``cash`` on the basis of :math:`X_l` (on the paths with :math:`G_l>0` when ``itm_only``), and set
    ``cash`` :math:`=Z_l` where :math:`Z_l\ge\hat C_l(X_l)`. The fitted policy is evaluated on independent
    paths (lower bound) and fed to the ``dual`` method (upper bound); see the module docstring.

    Parameters
    ----------
    basis : Basis, optional
        Regression basis. Default ``Polynomial(2)``.
    n_paths : int, optional
        Training paths drawn from a simulator. Default 50 000.
    n_eval : int, optional
        Independent paths for the lower bound (simulator). Default 100 000.
    train_fraction : float, optional
        Share of recorded paths used for training (the rest evaluates the policy). Default 0.5.
    itm_only : bool, optional
        Regress and stop only where the gain is positive (the "in-the-money" paths of option pricing).
        It declares that stopping where :math:`G_l\le0` is never optimal (true for non-negative gains
        without costs; an error if the problem has costs); the dual bounds then take their maximum over
        the in-the-money layers only (Broadie & Cao 2008). Default False.
    ridge : float, optional
        Ridge penalty on the column-scaled coefficients, :math:`\ge0`. Default 0.
    max_condition : float, optional
        Design condition number above which a layer is reported ill-conditioned. Default ``1e10``.
    dual : AndersenBroadie, RegressionMartingale or PerfectForesight, optional
        Upper-bound method. Default: ``AndersenBroadie()`` with a simulator, ``RegressionMartingale()``
        on recorded paths.
    level : float, optional
        Confidence level of the interval. Default 0.95.

    Raises
    ------
    ValueError
        Fewer training paths than basis functions.

    References
    ----------
    Longstaff & Schwartz, *Valuing American options by simulation: a simple least-squares approach*,
    Rev. Financial Studies 14 (2001) 113-147; Clément, Lamberton & Protter, *Finance & Stochastics* 6
    (2002) 449-471 (convergence).

    Examples
    --------
    >>> from stochdepth.stopping import solve_stopping
    >>> from stochdepth.stopping.finance import GeometricBrownianMotion, Put, bermudan_problem
    >>> gbm = GeometricBrownianMotion(36.0, rate=0.06, volatility=0.2, maturity=1.0, n_dates=10)
    >>> ls = LongstaffSchwartz(Polynomial(3), n_paths=4000, n_eval=4000, itm_only=True,
    ...                        dual=AndersenBroadie(n_outer=100, n_inner=50))
    >>> res = solve_stopping(bermudan_problem(gbm, Put(40.0)), ls, rng=1)
    >>> bool(4.0 < res.lower.value < res.upper.value + 4 * res.upper.stderr < 5.0)
    True
    """

    basis: Basis = field(default_factory=lambda: Polynomial(2))
    n_paths: int = 50_000
    n_eval: int = 100_000
    train_fraction: float = 0.5
    itm_only: bool = False
    ridge: float = 0.0
    max_condition: float = 1e10
    dual: Any = None
    level: float = 0.95
    problems: ClassVar[tuple[type[StoppingProblem], ...]] = (PathStoppingProblem, SimulatedStoppingProblem)

    def __post_init__(self) -> None:
        if not isinstance(self.basis, Basis):
            raise TypeError(
                f"basis must be a Basis (Polynomial, Laguerre, RandomFeatures), got {self.basis!r}"
            )
        check_int("n_paths", self.n_paths, min=2)
        check_int("n_eval", self.n_eval, min=2)
        check_real("train_fraction", self.train_fraction, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        check_bool("itm_only", self.itm_only)
        check_real("ridge", self.ridge, lo=0.0)
        check_real("max_condition", self.max_condition, lo=1.0, lo_open=True)
        if self.dual is not None and not isinstance(
            self.dual, (AndersenBroadie, RegressionMartingale, PerfectForesight)
        ):
            raise TypeError(
                "dual must be AndersenBroadie(...), RegressionMartingale(...), PerfectForesight() or None, "
                f"got {self.dual!r}"
            )
        check_real("level", self.level, lo=0.0, hi=1.0, lo_open=True, hi_open=True)

    def solve(self, problem: StoppingProblem, rng: RNGLike = None) -> RegressionSolution:
        r"""Fit the policy on training paths, then bound :math:`V^\star` from below and above."""
        if not isinstance(problem, (PathStoppingProblem, SimulatedStoppingProblem)):
            raise TypeError(
                "LongstaffSchwartz solves a PathStoppingProblem or SimulatedStoppingProblem, got "
                f"{type(problem).__name__}"
            )
        if self.itm_only and np.any(problem.costs > 0):
            raise ValueError(
                "itm_only declares that stopping where the gain is <= 0 is never optimal, which needs "
                "non-negative payoffs without costs; this problem has costs > 0"
            )
        ss = spawn(rng, 4)
        if isinstance(problem, SimulatedStoppingProblem):
            train = problem.sample(self.n_paths, rng=ss[0])
            test = None
        else:
            train, test = problem.split(self.train_fraction, rng=ss[0])
        k = self.basis.n_functions(train.n_features)
        if train.n_paths < k:
            raise ValueError(
                f"fewer training paths ({train.n_paths}) than basis functions ({k} for "
                f"{train.n_features} feature(s)): record more paths or use a smaller basis"
            )
        policy, in_sample, conds, notes = _fit_policy(
            train,
            self.basis,
            itm_only=self.itm_only,
            ridge=self.ridge,
            max_condition=self.max_condition,
            rng=ss[1],
        )
        if test is None:
            assert isinstance(problem, SimulatedStoppingProblem)
            lower, lower_plain, depth = evaluate_simulated(problem, policy, self.n_eval, ss[2])
            n_eval = self.n_eval
        else:
            ev = policy.evaluate(test)
            lower, depth, n_eval = ev.value, ev.depth, test.n_paths
            lower_plain = lower
        dual = self.dual
        if dual is None:
            dual = (
                AndersenBroadie() if isinstance(problem, SimulatedStoppingProblem) else RegressionMartingale()
            )
        ctx = _DualContext(problem, policy, train, self.basis, self.ridge, self.max_condition, test)
        out = dual._upper(ctx, ss[3])
        check_finite_result("dual upper bound", out.samples)
        upper = Estimate.from_samples(out.samples)
        z = float(st.norm.ppf(1 - (1 - self.level) / 2))
        interval = (lower.value - z * lower.stderr, upper.value + z * upper.stderr)
        ill = [n for n in notes if "ill-conditioned" in n]
        status_parts = []
        status = Status.OK
        if not out.valid:
            status = Status.APPROXIMATE
        if ill:
            status_parts.append(f"ill-conditioned regression at {len(ill)} layer(s) (see notes)")
            status = Status.ILL_CONDITIONED
        if not out.valid:
            status_parts.append("upper bound is approximate (non-nested regression martingale)")
        if upper.value + 5 * upper.stderr < lower.value - 5 * lower.stderr:
            status_parts.append("upper bound below lower bound: the martingale estimate is biased")
            status = Status.INCONSISTENT
        return RegressionSolution(
            solver=f"LongstaffSchwartz({type(self.basis).__name__})",
            lower=lower,
            lower_plain=lower_plain,
            upper=upper,
            interval=interval,
            level=self.level,
            upper_method=out.method,
            upper_valid=out.valid,
            in_sample=in_sample,
            depth=depth,
            n_train=train.n_paths,
            n_eval=n_eval,
            n_dual=int(out.samples.size),
            condition_numbers=conds,
            status=status,
            message="; ".join(status_parts),
            notes=tuple(notes),
            policy=policy,
        )


@dataclass(frozen=True)
class PathwiseMaximum(StoppingSolver):
    r"""Stop each path at the smallest maximiser of its payoff: :math:`\tau=\min\arg\max_lZ_l`.

    Exact (:math:`\tau=\tau^\star`, value :math:`V^\star`) when the dynamics are deterministic given the
    start (``PathStoppingProblem(..., deterministic=True)``: a fixed network on fixed inputs,
    docs/science.md §B2);
    otherwise the perfect-foresight upper bound :math:`\mathbb E\max_lZ_l\ge V^\star`.

    Parameters
    ----------
    n_paths : int, optional
        Paths drawn from a simulated problem. Default 10 000.

    Examples
    --------
    >>> from stochdepth.stopping import PathStoppingProblem, solve_stopping
    >>> G = np.array([[0.0, 0.5, 0.6, 0.6]])
    >>> res = solve_stopping(PathStoppingProblem(np.zeros((1, 4)), G, costs=0.05, deterministic=True),
    ...                      PathwiseMaximum())
    >>> res.tau.tolist(), res.exact
    ([2], True)
    """

    n_paths: int = 10_000
    problems: ClassVar[tuple[type[StoppingProblem], ...]] = (PathStoppingProblem, SimulatedStoppingProblem)

    def __post_init__(self) -> None:
        check_int("n_paths", self.n_paths, min=1)

    def solve(self, problem: StoppingProblem, rng: RNGLike = None) -> PathwiseSolution:
        """The smallest pathwise maximiser of :math:`Z` on each (recorded or simulated) path."""
        if isinstance(problem, SimulatedStoppingProblem):
            paths = problem.sample(self.n_paths, rng=rng)
        elif isinstance(problem, PathStoppingProblem):
            paths = problem
        else:
            raise TypeError(f"PathwiseMaximum needs paths, got {type(problem).__name__}")
        Z = paths.payoffs
        zmax = Z.max(axis=1, keepdims=True)
        # smallest maximiser, with ties up to rounding of the accumulated costs
        tol = 1e-12 * (np.abs(zmax) + np.abs(paths.cumulative_costs[-1]) + 1e-300)
        tau = np.argmax(zmax - tol <= Z, axis=1)
        vals = Z[np.arange(paths.n_paths), tau]
        value = Estimate.from_samples(vals) if vals.size > 1 else Estimate(float(vals[0]), 0.0, 1)
        exact = paths.deterministic
        status, message = (
            (Status.EXACT, "exact (deterministic paths)")
            if exact
            else (Status.UPPER_BOUND, "perfect-foresight upper bound (paths not deterministic)")
        )
        return PathwiseSolution(value, DepthLaw.from_samples(tau, paths.horizon), tau, exact, status, message)
