r"""Exact Snell envelopes of finite Markov chains: backward induction, value and policy iteration.

Finite horizon (:class:`BackwardInduction`):

.. math::
    V_L=g_L,\qquad V_l=\max\{g_l,\;-c_l+\beta P_lV_{l+1}\},\qquad
    \tau^\star=\min\{l:\ g_l(s_l)\ge -c_l+\beta(P_lV_{l+1})(s_l)\}

(ties stop: the *smallest* optimal stopping time, docs/science.md §B1). Infinite horizon, homogeneous data:
:math:`V=TV` with :math:`Tv=\max\{g,-c+\beta Pv\}`. :class:`ValueIteration` iterates :math:`T` from
:math:`v_0=g`, so that its iterates are exactly the finite-horizon values :math:`v_k=V^{(k)}_0`, which
increase to :math:`V` (Chow, Robbins & Siegmund 1971, Thm. 4.5); :class:`PolicyIteration` is Howard's
algorithm (Howard 1960; for stopping problems, Puterman 1994, §6.4 and §7.2).

Certified error bounds (derived, see docs/science.md §B1). :math:`V` is the smallest *supersolution*
:math:`W\ge g,\ W\ge -c+\beta PW`: by induction :math:`W\ge T^kg` for all :math:`k`, hence :math:`W\ge V`.
Given a lower bound :math:`v\le V` with :math:`v\ge g` (a finite-horizon value or the value of a policy),
let :math:`q=v-(-c+\beta Pv)`, :math:`D=\{q>0\}`, :math:`C` its complement, and :math:`m` the expected
discounted time to reach :math:`D` (:math:`m=0` on :math:`D`, :math:`m=1+\beta Pm` on :math:`C`). Then

.. math::
    W=v+\varepsilon m,\qquad \varepsilon=\max\Big(0,\max_C(-q)\Big),

is a supersolution as soon as :math:`q\ge\varepsilon\beta Pm` on :math:`D` (states failing this are moved
to :math:`C` and :math:`m` recomputed). So :math:`v\le V\le W` with the certified gap
:math:`\|W-v\|_\infty`. For :math:`\beta<1`, :math:`v+\|(Tv-v)^+\|_\infty/(1-\beta)` is another
supersolution and the smaller of the two is used. Every :math:`W` is verified numerically before it is
reported, up to floating-point rounding (the worst-case bound :math:`(k+4)u` relative to the sum of
absolute terms, :math:`k` the non-zeros per row, :math:`u` the unit round-off, is added to the slack).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._checks import check_finite_result, check_int, check_real
from .._results import Status
from ..random import RNGLike
from .base import StoppingSolution, StoppingSolver
from .evaluation import reach, solve_restricted, stopping_law
from .policies import SnellPolicy
from .problems import MarkovStoppingProblem, StoppingProblem
from .results import DepthLaw
from .transitions import Chain

__all__ = [
    "BackwardInduction",
    "Certificate",
    "MarkovSolution",
    "PolicyIteration",
    "ValueIteration",
    "certify_value",
]

_EPS = float(np.finfo(float).eps)


def _rounding_factor(chain: Chain) -> float:
    """Worst-case relative rounding of one Bellman step: (terms per row + 4) machine epsilons."""
    P = chain.csr(0)
    per_row = int(np.max(np.diff(P.indptr))) if P.nnz else 1
    return (per_row + 4) * _EPS


# ----------------------------------------------------------------------------------------------------
# Solution object
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class MarkovSolution(StoppingSolution):
    r"""Snell envelope of a :class:`~stochdepth.stopping.MarkovStoppingProblem`.

    Attributes
    ----------
    solver : str
        Name of the solver.
    horizon : int or None
        :math:`L`, or ``None`` for an infinite horizon.
    values : numpy.ndarray
        Value function: ``(L + 1, S)`` with ``values[l] = V_l`` (finite horizon, exact up to rounding), or
        ``(S,)`` in infinite horizon, where it is the certified *lower* bound (the value of the returned
        policy for :class:`PolicyIteration`, the finite-horizon value :math:`V^{(k)}` for
        :class:`ValueIteration`).
    stop : numpy.ndarray
        Stopping regions, boolean, same shape as ``values``.
    upper : numpy.ndarray
        Certified upper bound on the value function (``values`` itself in finite horizon).
    error_bound : float
        :math:`\|\text{upper}-\text{values}\|_\infty` (``inf`` if no certificate could be built).
    iterations : int
        Sweeps (value iteration), policy evaluations (policy iteration) or layers (backward induction).
    status : Status
        ``OPTIMAL`` (finite horizon), ``CERTIFIED``, or what failed: ``MAX_ITERATIONS``,
        ``NOT_CERTIFIED`` (no certificate within the tolerance), ``FAILED`` (a singular policy evaluation).
    message : str
        What happened, in words (empty when optimal or certified).
    details : dict
        Solver-specific numbers (last value-iteration increment, certificate's epsilon, ...).
    """

    solver: str
    horizon: int | None
    values: np.ndarray
    stop: np.ndarray
    upper: np.ndarray
    error_bound: float
    iterations: int
    status: Status
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    problem: MarkovStoppingProblem | None = field(default=None, repr=False, compare=False)

    #: ``inf`` when no certificate could be built.
    nonfinite_fields = ("upper", "error_bound")

    # -- values ----------------------------------------------------------------------------------------
    @property
    def value_function(self) -> np.ndarray:
        """Value at layer 0 (``(S,)``)."""
        return self.values if self.horizon is None else self.values[0]

    def value(self, initial: Any = None) -> float:
        r""":math:`V^\star=\sum_s\mu(s)V_0(s)` for the initial law :math:`\mu` (default: the problem's)."""
        mu = self._problem.initial_law(initial)
        return float(mu @ self.value_function)

    def value_interval(self, initial: Any = None) -> tuple[float, float]:
        """Certified interval for :meth:`value` (a point, up to rounding, in finite horizon)."""
        mu = self._problem.initial_law(initial)
        up = self.upper if self.horizon is None else self.upper[0]
        return float(mu @ self.value_function), float(mu @ up)

    def stopping_region(self, layer: int = 0) -> np.ndarray:
        """Boolean mask of the states where :math:`\\tau^\\star` stops at ``layer``."""
        if self.horizon is None:
            return self.stop
        layer = check_int("layer", layer, min=0, max=self.horizon)
        return self.stop[layer]

    @property
    def policy(self) -> SnellPolicy:
        """The Snell (Bellman) policy as a :class:`~stochdepth.stopping.SnellPolicy`."""
        return SnellPolicy.from_markov(self)

    @property
    def _problem(self) -> MarkovStoppingProblem:
        if self.problem is None:  # pragma: no cover - always set by the solvers
            raise ValueError("this solution has no problem attached")
        return self.problem

    # -- law of tau* -----------------------------------------------------------------------------------
    def depth_law(
        self, initial: Any = None, *, max_depth: int = 100_000, tail_tol: float = 1e-12
    ) -> DepthLaw:
        r"""Exact law of the smallest optimal stopping time :math:`\tau^\star` from ``initial``.

        Finite horizon: forward propagation of the sub-probability of the paths still running,
        :math:`\mu_{l+1}=(\mu_l\mathbf 1_{C_l})P_l`, :math:`\mathbb P(\tau^\star=l)=\mu_l(D_l)`. Infinite
        horizon: the same propagation until the tail is below ``tail_tol`` (or ``max_depth`` layers), and
        the exact mean and variance from the linear systems of :func:`expected_exit_time`.

        Parameters
        ----------
        initial : int or array_like, optional
            Initial state or distribution (default: the problem's).
        max_depth : int, optional
            Truncation of the infinite-horizon law (its remaining mass is reported as ``tail``).
        tail_tol : float, optional
            Infinite horizon: stop propagating once the remaining mass is below this.
        """
        prob = self._problem
        mu = prob.initial_law(initial)
        return stopping_law(prob, self.stop, mu, max_depth=max_depth, tail_tol=tail_tol)


@dataclass(frozen=True)
class Certificate:
    """Certified upper bound of :func:`certify_value`: ``upper`` (``W``), ``eps``, ``ok``, ``message``."""

    upper: np.ndarray
    eps: float
    ok: bool
    message: str


def certify_value(chain: Chain, g: np.ndarray, c: float, beta: float, v: np.ndarray) -> Certificate:
    r"""Certified upper bound :math:`W\ge V` from a lower bound ``v`` (module docstring).

    Returns an object with ``upper`` (``W``, or ``+inf`` everywhere when no certificate was found), the
    ``eps`` used, ``ok`` and a ``message``.
    """
    v = np.maximum(v, g)
    n = v.size
    P = chain.csr(0)
    Pv = chain.expect(0, v)
    Pav = chain.expect(0, np.abs(v))
    rf = _rounding_factor(chain)
    rnd = rf * (np.abs(v) + abs(c) + beta * Pav + 1e-300)
    q = v - (-c + beta * Pv)
    candidates = []
    if beta < 1.0:
        delta = max(0.0, float(np.max(-q))) + float(np.max(rnd))
        candidates.append(v + delta / (1.0 - beta))
    D = q > rnd
    message = "certified"
    W = None
    for _ in range(64):
        C = ~D
        if not C.any():
            W = v + rnd
            break
        if beta == 1.0:
            can = reach(P, D, C)
            if np.any(C & ~can):
                message = "no certificate: some continuation states never reach the stopping set"
                break
        idx = np.nonzero(C)[0]
        try:
            mC = solve_restricted(P, idx, beta, np.ones(idx.size))
        except (RuntimeError, np.linalg.LinAlgError):
            message = "no certificate: singular exit-time system"
            break
        if not np.all(np.isfinite(mC)) or np.any(mC < 0):
            message = "no certificate: exit-time system ill-conditioned"
            break
        m = np.zeros(n)
        m[idx] = mC
        eps = max(0.0, float(np.max(-q[C]))) + float(np.max(rnd[C]))
        Pm = P @ m
        viol = D & (q < eps * beta * Pm + rnd)
        if not viol.any():
            W = v + eps * m
            break
        D &= ~viol
    else:  # pragma: no cover - 64 refinements never seen in practice
        message = "no certificate: refinement did not settle"
    if W is not None:
        candidates.append(W)
    if not candidates:
        return Certificate(np.full(n, math.inf), math.inf, False, message)
    upper = np.minimum.reduce(candidates) if len(candidates) > 1 else candidates[0]
    # verify: upper >= g and upper >= -c + beta P upper (up to rounding)
    Pu = chain.expect(0, upper)
    Pau = chain.expect(0, np.abs(upper))
    tol = 4 * rf * (np.abs(upper) + abs(c) + beta * Pau + 1e-300)
    if np.any(upper < g - tol) or np.any(upper < -c + beta * Pu - tol):
        return Certificate(np.full(n, math.inf), math.inf, False, "no certificate: verification failed")
    eps_used = float(np.max(upper - v)) if n else 0.0
    return Certificate(upper, eps_used, True, "certified" if W is not None or beta < 1 else message)


# ----------------------------------------------------------------------------------------------------
# Solvers
# ----------------------------------------------------------------------------------------------------


def _check_problem(problem: Any, solver: str) -> MarkovStoppingProblem:
    if not isinstance(problem, MarkovStoppingProblem):
        raise TypeError(f"{solver} solves a MarkovStoppingProblem, got {type(problem).__name__}")
    return problem


def _check_tie_tol(tie_tol: Any) -> float:
    return check_real("tie_tol", tie_tol, lo=0.0, hi=1e-3)


@dataclass(frozen=True)
class BackwardInduction(StoppingSolver):
    r"""Exact finite-horizon Snell envelope by backward induction.

    Cost :math:`O(L\cdot\text{nnz}(P))`: numba kernels for banded and sparse transitions, BLAS for dense
    ones. Each stopping region is :math:`D_l=\{g_l\ge -c_l+\beta P_lV_{l+1}-\text{tol}\}` where
    ``tol = tie_tol * (|g| + |c| + beta P|V|)`` absorbs rounding (ties stop).

    Parameters
    ----------
    tie_tol : float, optional
        Relative tolerance for ties, in ``[0, 1e-3]``. Default ``1e-11``.

    References
    ----------
    Chow, Robbins & Siegmund, *Great Expectations: The Theory of Optimal Stopping* (1971), Thm. 3.2.

    Examples
    --------
    >>> from stochdepth.stopping import MarkovStoppingProblem, solve_stopping
    >>> P = [[0.5, 0.5], [0.0, 1.0]]
    >>> prob = MarkovStoppingProblem(P, gains=[0.0, 1.0], costs=0.1, horizon=3, initial=0)
    >>> sol = solve_stopping(prob, BackwardInduction())
    >>> round(sol.value(), 6), sol.stop[0].tolist()
    (0.7, [False, True])
    """

    problems: ClassVar[tuple[type[StoppingProblem], ...]] = (MarkovStoppingProblem,)
    tie_tol: float = 1e-11

    def __post_init__(self) -> None:
        _check_tie_tol(self.tie_tol)

    def solve(self, problem: StoppingProblem, rng: RNGLike = None) -> MarkovSolution:
        """Snell envelope of a finite-horizon :class:`~stochdepth.stopping.MarkovStoppingProblem`."""
        prob = _check_problem(problem, "BackwardInduction")
        if prob.horizon is None:
            raise ValueError(
                "BackwardInduction needs a finite horizon; use ValueIteration or PolicyIteration for an "
                "infinite horizon, or problem.with_horizon(L)"
            )
        values, stop = prob.chain.backward_induction(prob.gains, prob.costs, prob.discount, self.tie_tol)
        check_finite_result("backward induction values", values)
        return MarkovSolution(
            solver="BackwardInduction",
            horizon=prob.horizon,
            values=values,
            stop=stop,
            upper=values,
            error_bound=0.0,
            iterations=prob.horizon,
            status=Status.OPTIMAL,
            problem=prob,
        )


def _infinite_problem(problem: Any, solver: str) -> tuple[MarkovStoppingProblem, np.ndarray, float]:
    prob = _check_problem(problem, solver)
    if prob.horizon is not None:
        raise ValueError(
            f"{solver} solves infinite-horizon problems (horizon=None); use BackwardInduction for horizon "
            f"{prob.horizon}"
        )
    return prob, np.ascontiguousarray(prob.gains[0]), float(prob.costs[0])


@dataclass(frozen=True)
class ValueIteration(StoppingSolver):
    r"""Infinite-horizon value iteration from :math:`v_0=g`, with a certified error bound.

    The iterates :math:`v_k=T^kg` are the finite-horizon values (horizon :math:`k`), increasing to
    :math:`V`. Every few sweeps (at :math:`k=8,16,32,\dots` and whenever the increment falls below
    ``tol``) the certificate of :func:`certify_value` gives :math:`v_k\le V\le W`; iteration stops when
    :math:`\|W-v_k\|_\infty\le` ``tol``.

    Parameters
    ----------
    tol : float, optional
        Target certified sup-norm error, > 0. Default ``1e-9``.
    max_iter : int, optional
        Maximum number of sweeps. Default ``10**6``.
    tie_tol : float, optional
        Relative tie tolerance (see :class:`BackwardInduction`).

    References
    ----------
    Puterman, *Markov Decision Processes* (1994), §6.3; certificate derived (module docstring).

    Examples
    --------
    >>> from stochdepth.stopping import MarkovStoppingProblem, solve_stopping
    >>> P = [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]
    >>> prob = MarkovStoppingProblem(P, gains=[0.0, 0.5, 1.0], costs=0.1, initial=0)
    >>> sol = solve_stopping(prob, ValueIteration(tol=1e-10))
    >>> sol.status.name, round(sol.value(), 8), sol.error_bound <= 1e-10
    ('CERTIFIED', 0.6, True)
    """

    problems: ClassVar[tuple[type[StoppingProblem], ...]] = (MarkovStoppingProblem,)
    tol: float = 1e-9
    max_iter: int = 1_000_000
    tie_tol: float = 1e-11

    def __post_init__(self) -> None:
        check_real("tol", self.tol, lo=0.0, lo_open=True)
        check_int("max_iter", self.max_iter, min=1)
        _check_tie_tol(self.tie_tol)

    def solve(self, problem: StoppingProblem, rng: RNGLike = None) -> MarkovSolution:
        """Certified value of an infinite-horizon :class:`~stochdepth.stopping.MarkovStoppingProblem`."""
        prob, g, c = _infinite_problem(problem, "ValueIteration")
        beta = prob.discount
        chain = prob.chain
        v = g.copy()
        k = 0
        next_check = 8
        inc = math.inf
        cert = None
        status = Status.MAX_ITERATIONS
        message = f"max_iter={self.max_iter} reached before the certified error fell below tol={self.tol:g}"
        stop = np.ones(g.size, dtype=bool)
        while k < self.max_iter:
            n = min(max(1, next_check - k), self.max_iter - k)
            inc, stop = chain.value_iteration(v, g, c, beta, self.tie_tol, n)
            k += n
            check_finite_result("value iteration", v)
            if k >= next_check or inc <= self.tol or k >= self.max_iter:
                cert = certify_value(chain, g, c, beta, v)
                if cert.ok and float(np.max(cert.upper - v)) <= self.tol:
                    status, message = Status.CERTIFIED, ""
                    break
                next_check = 2 * k if k >= next_check else next_check
            if inc == 0.0 and cert is not None:
                gap = float(np.max(cert.upper - v)) if cert.ok else math.inf
                status = Status.NOT_CERTIFIED
                message = (
                    f"fixed point reached (increment 0); certified error {gap:.3g} > tol={self.tol:g} "
                    "(limited by rounding)"
                    if cert.ok
                    else f"fixed point reached (increment 0) but {cert.message}"
                )
                break
        if cert is None:  # pragma: no cover - the loop always certifies at least once
            cert = certify_value(chain, g, c, beta, v)
        upper = cert.upper
        err = float(np.max(upper - v)) if cert.ok else math.inf
        if not cert.ok and "certificate" not in message:
            message = f"{message}; {cert.message}"
        _, stop = chain.bellman(0, v, g, c, beta, self.tie_tol)
        return MarkovSolution(
            solver="ValueIteration",
            horizon=None,
            values=v,
            stop=stop,
            upper=upper,
            error_bound=err,
            iterations=k,
            status=status,
            message=message,
            details={"last_increment": inc, "finite_horizon": k},
            problem=prob,
        )


@dataclass(frozen=True)
class PolicyIteration(StoppingSolver):
    r"""Howard's policy iteration for the infinite-horizon problem, with a certified error bound.

    Starts from "stop everywhere" (value :math:`g`), evaluates each policy exactly by a sparse LU solve of
    :math:`(I-\beta P_{CC})V_C=-c+\beta P_{CD}g_D` on its continuation set :math:`C`, and improves it
    with one Bellman step until the stopping region repeats. The final policy's value is a lower bound,
    certified against an upper bound by :func:`certify_value`.

    Parameters
    ----------
    max_iter : int, optional
        Maximum number of policy evaluations. Default 10 000.
    tie_tol : float, optional
        Relative tie tolerance (see :class:`BackwardInduction`).

    References
    ----------
    Howard, *Dynamic Programming and Markov Processes* (1960); Puterman (1994), §6.4; for stochastic
    shortest paths (costs :math:`c>0`, :math:`\beta=1`), Bertsekas & Tsitsiklis, *Math. Oper. Res.* 16
    (1991) 580-595.

    Examples
    --------
    >>> from stochdepth.stopping import MarkovStoppingProblem, solve_stopping
    >>> P = [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]
    >>> prob = MarkovStoppingProblem(P, gains=[0.0, 0.5, 1.0], costs=0.1, initial=0)
    >>> sol = solve_stopping(prob, PolicyIteration())
    >>> sol.status.name, round(sol.value(), 12), sol.stop.tolist()
    ('CERTIFIED', 0.6, [False, False, True])
    """

    problems: ClassVar[tuple[type[StoppingProblem], ...]] = (MarkovStoppingProblem,)
    max_iter: int = 10_000
    tie_tol: float = 1e-11

    def __post_init__(self) -> None:
        check_int("max_iter", self.max_iter, min=1)
        _check_tie_tol(self.tie_tol)

    def _warm_start(
        self, chain: Chain, g: np.ndarray, c: float, beta: float, initial_stop: Any
    ) -> tuple[np.ndarray, np.ndarray] | None:
        s0 = np.asarray(initial_stop)
        if s0.dtype != np.bool_ or s0.shape != g.shape:
            raise ValueError(
                f"initial_stop must be a boolean array of shape {g.shape}, got {s0.dtype} {s0.shape}"
            )
        try:
            with np.errstate(all="ignore"):
                v0 = self._evaluate(chain, g, c, beta, s0)
        except (RuntimeError, np.linalg.LinAlgError):
            return None
        return (s0.copy(), v0) if np.all(np.isfinite(v0)) else None

    def _evaluate(self, chain: Chain, g: np.ndarray, c: float, beta: float, stop: np.ndarray) -> np.ndarray:
        v = g.copy()
        C = ~stop
        if not C.any():
            return v
        P = chain.csr(0)
        idx = np.nonzero(C)[0]
        didx = np.nonzero(stop)[0]
        rhs = -c + beta * (P[idx][:, didx] @ g[didx] if didx.size else np.zeros(idx.size))
        v[idx] = solve_restricted(P, idx, beta, rhs)
        return v

    def solve(
        self, problem: StoppingProblem, rng: RNGLike = None, *, initial_stop: Any = None, certify: bool = True
    ) -> MarkovSolution:
        """Certified value of an infinite-horizon :class:`~stochdepth.stopping.MarkovStoppingProblem`.

        ``initial_stop`` (boolean, one per state) starts the iteration from that policy instead of "stop
        everywhere" (a warm start: a good guess, e.g. a closed-form stopping region, saves most of the
        evaluations). A guess that never stops from some states is ignored. ``certify=False`` skips the
        certificate (status ``CONVERGED``, ``error_bound`` infinite): for a preliminary solve whose policy
        only is used.
        """
        prob, g, c = _infinite_problem(problem, "PolicyIteration")
        beta = prob.discount
        chain = prob.chain
        stop = np.ones(g.size, dtype=bool)
        v = g.copy()
        warm = initial_stop is not None and self._warm_start(chain, g, c, beta, initial_stop)
        if warm:
            stop, v = warm
        status = Status.MAX_ITERATIONS
        message = f"max_iter={self.max_iter} policy evaluations without convergence"
        it = 0
        for it in range(1, self.max_iter + 1):
            _, new_stop = chain.bellman(0, v, g, c, beta, self.tie_tol)
            if (it > 1 or warm) and np.array_equal(new_stop, stop):
                status, message = Status.CONVERGED, ""
                break
            stop = new_stop
            try:
                with np.errstate(all="ignore"):
                    v = self._evaluate(chain, g, c, beta, stop)
            except (RuntimeError, np.linalg.LinAlgError) as exc:
                status = Status.FAILED
                message = (
                    "policy evaluation failed (singular system: the policy never stops from some states): "
                    f"{exc}"
                )
                break
            if not np.all(np.isfinite(v)):
                status = Status.FAILED
                message = (
                    "policy evaluation failed (non-finite values: the policy never stops from some states)"
                )
                v = np.where(np.isfinite(v), v, g)
                break
        if certify:
            cert = certify_value(chain, g, c, beta, v)
        else:
            cert = Certificate(np.full(g.size, math.inf), math.inf, False, "not certified (certify=False)")
        err = float(np.max(cert.upper - np.maximum(v, g))) if cert.ok else math.inf
        if status is not Status.CONVERGED:
            message = f"{message}; {cert.message}"
        elif certify:
            if cert.ok:
                status = Status.CERTIFIED
            else:
                status, message = Status.NOT_CERTIFIED, f"converged but {cert.message}"
        check_finite_result("policy iteration values", v)
        return MarkovSolution(
            solver="PolicyIteration",
            horizon=None,
            values=np.maximum(v, g),
            stop=stop,
            upper=cert.upper,
            error_bound=err,
            iterations=it,
            status=status,
            message=message,
            problem=prob,
        )
