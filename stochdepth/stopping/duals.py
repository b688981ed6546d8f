r"""Dual (upper-bound) methods of regression Monte Carlo: :class:`AndersenBroadie`,
:class:`RegressionMartingale`, :class:`PerfectForesight`.

Duality (Rogers 2002, Haugh & Kogan 2004): for every martingale :math:`M` with :math:`M_0=0`,
:math:`V^\star\le\mathbb E[\max_{0\le l\le L}(Z_l-M_l)]`, with equality for the martingale part of the
Snell envelope. Each class here builds a martingale from a fitted policy
(:class:`~stochdepth.stopping.LongstaffSchwartz` calls its ``_upper``); see the docstring of
:mod:`stochdepth.stopping.regression`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_finite_result, check_int, check_real
from ..executors import accepts_executor
from ..montecarlo import map_chunks
from ..random import RNGLike, spawn
from ._regress import fit_layer
from .basis import Basis
from .policies import Policy, SnellPolicy
from .problems import PathStoppingProblem, SimulatedStoppingProblem

__all__ = ["AndersenBroadie", "PerfectForesight", "RegressionMartingale", "andersen_broadie_samples"]


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
    gap: bool = False  # samples estimate the duality gap: upper = lower + their mean


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
    :math:`Q_l=\mathbb E[Z_{\tau_{l+1}}\mid X_l]` is estimated with ``n_inner`` inner paths run under the
    policy. With :math:`\hat L_l=Z_l` where the policy stops and :math:`\hat Q_l` elsewhere, the
    martingale :math:`M_{l+1}-M_l=\hat L_{l+1}-\hat Q_l` gives the per-path duality gap
    :math:`\Delta=\max_l(Z_l-M_l)-(Z_\tau-M_\tau)\ge0` (:math:`\tau` the policy's stopping layer), and
    :math:`\text{upper}=\text{lower}+\bar\Delta` (Andersen & Broadie 2004, eq. (8): the primal value plus
    the gap; :math:`\mathbb E[Z_\tau-M_\tau]=\mathbb E Z_\tau` by optional stopping), a true upper
    bound, biased high by the inner noise, with standard error
    :math:`\sqrt{\text{se}_{\rm lower}^2+\text{se}_\Delta^2}`.

    Nested simulation only where the policy is uncertain (boundary distance grouping, Broadie & Cao,
    *Quantitative Finance* 8 (2008) 845-861, §4.3): a path whose gains stay farther than a distance
    :math:`\delta` from the fitted continuation value at every layer where it could stop has
    :math:`\Delta` almost always 0. The ``near_fraction`` of paths closest to the boundary (:math:`\delta`
    is that quantile on pilot paths) are nested; each other path is nested with probability
    ``subsample`` and its :math:`\Delta` weighted by ``1 / subsample``. The gap estimate stays unbiased
    (the coin is independent of the path), so the bound stays an upper bound in expectation; only its
    variance grows if distant paths do have gaps. Cost :math:`O(n_{\rm outer}\,n_{\rm inner}\,L^2)`
    path steps at most, times about ``near_fraction + subsample``.

    Parameters
    ----------
    n_outer : int, optional
        Outer paths. Default 1000.
    n_inner : int, optional
        Inner paths per outer path and layer. Default 500.
    chunk_size : int, optional
        Outer paths per chunk (each chunk has its own random stream). Default 32.
    near_fraction : float, optional
        Share of paths, the closest to the exercise boundary, always nested, in :math:`(0,1]`. Default 1
        (every path: the classic estimator). Needs a policy with fitted continuation values (else every
        path is nested).
    subsample : float, optional
        Probability of nesting each other path, in :math:`(0,1]`. Default 1.

    References
    ----------
    Andersen & Broadie, *Management Science* 50 (2004) 1222-1234, §2-3; Broadie & Cao (2008), §4.
    """

    n_outer: int = 1000
    n_inner: int = 500
    chunk_size: int = 32
    near_fraction: float = 1.0
    subsample: float = 1.0

    def __post_init__(self) -> None:
        check_int("n_outer", self.n_outer, min=2)
        check_int("n_inner", self.n_inner, min=1)
        check_int("chunk_size", self.chunk_size, min=1)
        check_real("near_fraction", self.near_fraction, lo=0.0, hi=1.0, lo_open=True)
        check_real("subsample", self.subsample, lo=0.0, hi=1.0, lo_open=True)

    def _upper(self, ctx: _DualContext, rng: RNGLike) -> _DualOutput:
        prob = ctx.problem
        if not isinstance(prob, SimulatedStoppingProblem):
            raise TypeError(
                "AndersenBroadie needs a SimulatedStoppingProblem (nested simulation restarts from states); "
                "for recorded paths use RegressionMartingale()"
            )
        ss = spawn(rng, 2)
        near = math.inf
        if self.near_fraction < 1.0 and hasattr(ctx.policy, "continuation_value") and ctx.policy.continuation:
            pilot = prob.sample(max(200, self.n_outer // 4), rng=ss[0])
            d = _boundary_distance(ctx.policy, pilot.features, pilot.payoffs, pilot.gains)
            near = float(np.quantile(d, self.near_fraction))
        samples = andersen_broadie_samples(
            prob,
            ctx.policy,
            self.n_outer,
            self.n_inner,
            rng=ss[1],
            chunk_size=self.chunk_size,
            near=near,
            subsample=self.subsample,
        )
        how = "" if math.isinf(near) else f", nested near the boundary + {self.subsample:g} of the rest"
        return _DualOutput(
            samples, True, f"Andersen-Broadie nested ({self.n_outer} x {self.n_inner}{how})", True
        )


def _boundary_distance(policy: Any, features: np.ndarray, Z: np.ndarray, G: np.ndarray) -> np.ndarray:
    r"""Per path, the smallest :math:`|Z_l-\hat C_l(X_l)|` over the layers ``l < L`` where it may stop."""
    L = Z.shape[1] - 1
    cand = _candidates(policy, G)
    d = np.full(Z.shape[0], np.inf)
    for l in range(L):
        dist = np.abs(Z[:, l] - policy.continuation_value(l, features[:, l]))
        if cand is not None:
            dist = np.where(cand[:, l], dist, np.inf)
        d = np.minimum(d, dist)
    return d


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
    near: float = math.inf,
    subsample: float = 1.0,
) -> np.ndarray:
    r"""Per-outer-path duality gaps :math:`\Delta=\max_l(Z_l-M_l)-(Z_\tau-M_\tau)` of
    :class:`AndersenBroadie`, reweighted where paths are subsampled (their mean estimates the gap).

    Paths whose boundary distance (:func:`_boundary_distance`) exceeds ``near`` are nested with
    probability ``subsample`` (weight ``1 / subsample``), the others always. ``policy`` must be Markov.
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
        F = [np.asarray(sim.features(l, states[:, l]), dtype=float).reshape(m, -1) for l in range(L + 1)]
        s = np.ones((m, L + 1), dtype=bool)
        for l in range(L + 1):
            G[:, l] = np.asarray(sim.gain(l, states[:, l]), dtype=float)
            Z[:, l] = problem.discount_factors[l] * G[:, l] - problem.cumulative_costs[l]
            if l < L:
                s[:, l] = policy.stop(l, F[l], G[:, l])
        cand = _candidates(policy, G)
        cand = np.ones((m, L + 1), dtype=bool) if cand is None else cand
        weight = np.ones(m)
        if math.isfinite(near):
            far = _boundary_distance(policy, np.stack(F, axis=1), Z, G) > near
            coin = gen.random(m) < subsample
            weight = np.where(far, np.where(coin, 1.0 / subsample, 0.0), 1.0)
        # inner estimates Q_l are needed where the policy stops (martingale increments), at candidate
        # continuation layers (L_l = Q_l enters the maximum) and at layer 0 (L_0), on nested paths
        need = (s | cand)[:, :L]
        need[:, 0] = True
        need &= (weight > 0)[:, None]
        Q = np.full((m, L), np.nan)
        for l in range(L):
            rows = np.nonzero(need[:, l])[0]
            if rows.size:
                Q[rows, l] = _inner_continuation(problem, policy, l, states[rows, l], n_inner, gen)
        # Z_l - M_l - Lhat_0 = Z_l - Lhat_l - sum_{k<l} s_k (Z_k - Q_k), Lhat_l = Z_l if s_l else Q_l
        Lhat = np.where(s[:, :L], Z[:, :L], Q)
        Lhat = np.concatenate([Lhat, Z[:, L:]], axis=1)
        jumps = np.where(s[:, :L], Z[:, :L] - np.nan_to_num(Q), 0.0)
        acc = np.concatenate([np.zeros((m, 1)), np.cumsum(jumps, axis=1)], axis=1)
        D = np.where(cand, Z - Lhat - acc, -np.inf)
        tau = np.argmax(s, axis=1)  # the policy's stopping layer (s[:, L] is True)
        gap = np.max(D, axis=1) - D[np.arange(m), tau]
        return np.where(weight > 0, gap * weight, 0.0)

    parts = map_chunks(job, rng, n_outer, chunk_size=chunk_size, n_threads=n_threads)
    out = np.concatenate(parts)
    check_finite_result("Andersen-Broadie duality gap", out)
    return out
