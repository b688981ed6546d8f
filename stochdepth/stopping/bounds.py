r"""Finite optimal depth: the bounds of docs/science.md §B2 as executable, checked statements.

Each function takes a problem (a Markov chain or recorded/simulated residual paths), checks the
hypotheses it can check, computes the bound, solves the problem for :math:`\mathbb E\tau^\star`, and
reports the bound's *tightness* :math:`\mathbb E\tau^\star/\text{bound}` in a :class:`DepthBound`.

* :func:`bounded_gains_bound` -- if :math:`c_l\ge c>0` (and :math:`\beta=1`),
  :math:`\mathbb E\tau^\star\le(\mathbb E\sup_lG_l-\mathbb EG_0)/c`.
  *Proof* (derived, docs/science.md §B2):
  :math:`\mathbb EG_0\le V^\star=\mathbb E[G_{\tau^\star}-\sum_{k<\tau^\star}c_k]
  \le\mathbb E\sup_lG_l-c\,\mathbb E\tau^\star`.
* :func:`summable_residuals_bound` -- for :math:`h_{l+1}=h_l+f_l(h_l)`, :math:`G_l=g(h_l)`, :math:`g`
  :math:`L_g`-Lipschitz and :math:`S=\sum_l\sup_h\|f_l(h)\|`: :math:`\mathbb E\tau^\star\le L_gS/c`.
  *Proof*: :math:`G_{\tau}-G_0\le L_g\|h_\tau-h_0\|\le L_g\sum_{k<\tau}\|f_k\|\le L_gS`, then as above.
* :func:`geometric_depth_bound` -- same setting without noise and :math:`\sup_h\|f_l(h)\|\le C\rho^l`,
  :math:`\rho<1`: :math:`\tau^\star\le\bar l=\max(0,\lceil\ln(c/(L_gC))/\ln\rho\rceil)` almost surely.
  *Proof*: for :math:`l\ge\bar l`, :math:`Z_{l+1}-Z_l\le L_gC\rho^l-c\le0`, so :math:`Z` is non-increasing
  after :math:`\bar l` and, the dynamics being deterministic, the smallest maximiser of :math:`Z` is
  :math:`\le\bar l`.
* :func:`is_monotone` -- the monotone case in which one-step look-ahead is optimal (B2, last item).

On recorded paths the sup-norms :math:`\sup_h\|f_l(h)\|` are either declared by the user (and checked
against the observed :math:`\|h_{l+1}-h_l\|`) or replaced by their largest observed value, which is what
the pathwise proofs need on those paths; the Lipschitz constant is declared and checked for consistency
(:math:`|g(h_l)-g(h_0)|\le L_g\|h_l-h_0\|` and the same for consecutive layers on every path).
The bounds know nothing about networks: any :class:`PathStoppingProblem` whose features are the states
:math:`h_l` will do. Residual networks and families of them, with their declared constants, are built in
:mod:`stochdepth.depth` (:func:`~stochdepth.depth.residual_path_problem`,
:class:`~stochdepth.depth.ResidualFamily`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_array, check_real, check_rng
from .._results import Estimate, Result
from ..random import RNGLike
from .evaluation import absorption_probability
from .markov import BackwardInduction, MarkovSolution, PolicyIteration
from .problems import MarkovStoppingProblem, PathStoppingProblem

__all__ = [
    "DepthBound",
    "bounded_gains_bound",
    "geometric_depth_bound",
    "is_monotone",
    "summable_residuals_bound",
]

_SLACK = 1e-9


@dataclass(frozen=True, repr=False)
class DepthBound(Result):
    r"""A bound on the optimal depth, its hypotheses and its measured tightness.

    Attributes
    ----------
    name : str
        Which bound.
    bound : float
        The bound (on :math:`\mathbb E\tau^\star`, or on :math:`\tau^\star` almost surely for the geometric
        bound); ``inf`` when a hypothesis makes it vacuous (zero cost).
    bound_stderr : float
        Monte Carlo standard error of ``bound`` (0 when exact).
    expected_depth : Estimate
        The solved :math:`\mathbb E\tau^\star`.
    max_depth : float
        Largest value of :math:`\tau^\star` observed (paths) or in its support (chains; ``inf`` for an
        unbounded support).
    tightness : float
        :math:`\mathbb E\tau^\star/\text{bound}` (``nan`` if the bound is 0 or infinite).
    holds : bool
        Whether the conclusion holds on this problem (within 5 standard errors for Monte Carlo inputs).
    hypotheses : dict
        Each checked hypothesis and whether it holds.
    details : dict
        The constants used (:math:`c`, :math:`L_g`, :math:`S`, :math:`C`, :math:`\rho`, ...).
    """

    name: str
    bound: float
    bound_stderr: float
    expected_depth: Estimate
    max_depth: float
    tightness: float
    holds: bool
    hypotheses: dict[str, bool]
    details: dict[str, float] = field(default_factory=dict)

    nonfinite_fields = ("bound", "tightness", "max_depth")

    @property
    def hypotheses_hold(self) -> bool:
        """True when every checked hypothesis holds."""
        return all(self.hypotheses.values())


# ----------------------------------------------------------------------------------------------------
# Solving for tau*
# ----------------------------------------------------------------------------------------------------


def _solved_depth(problem: Any, solution: Any, rng: RNGLike) -> tuple[Estimate, float, Any]:
    """(E tau*, max tau*, per-path tau or None) from a given or freshly computed solution."""
    from .pathwise import PathwiseMaximum, PathwiseSolution
    from .regression import LongstaffSchwartz, RegressionSolution

    check_rng(rng)  # exact and given solutions never draw: a wrong seed must not pass silently
    if isinstance(problem, MarkovStoppingProblem):
        if solution is None:
            solver = BackwardInduction() if problem.horizon is not None else PolicyIteration()
            solution = solver.solve(problem)
        if not isinstance(solution, MarkovSolution):
            raise TypeError(f"solution must be a MarkovSolution for a chain, got {type(solution).__name__}")
        law = solution.depth_law()
        support = np.nonzero(law.pmf > 1e-15)[0]
        mx = float(support[-1]) if law.tail <= 0 and support.size else math.inf
        return law.mean, mx, None
    if solution is None:
        solution = (
            PathwiseMaximum().solve(problem)
            if problem.deterministic
            else LongstaffSchwartz().solve(problem, rng)
        )
    if isinstance(solution, PathwiseSolution):
        if not solution.exact:
            raise ValueError(
                "a PathwiseMaximum solution is the optimal depth only for deterministic paths "
                "(PathStoppingProblem(..., deterministic=True, gains_observed=True))"
            )
        # deterministic paths: the statement is exact on the recorded inputs (their empirical law)
        mean = Estimate(float(np.mean(solution.tau)), 0.0, int(solution.tau.size))
        return mean, float(np.max(solution.tau)), solution.tau
    if isinstance(solution, RegressionSolution):
        return solution.depth.mean, float(np.nonzero(solution.depth.pmf)[0][-1]), None
    raise TypeError(f"solution must come from solve_stopping, got {type(solution).__name__}")


def _tightness(expected: float, bound: float) -> float:
    return expected / bound if 0 < bound < math.inf else math.nan


# ----------------------------------------------------------------------------------------------------
# E sup G on a chain (exact)
# ----------------------------------------------------------------------------------------------------


def _expected_sup_gain(problem: MarkovStoppingProblem, mu: np.ndarray, max_thresholds: int = 5000) -> float:
    r""":math:`\mathbb E\sup_lg_l(s_l)` exactly: :math:`\sum_t(x_{t+1}-x_t)\mathbb P(\sup>x_t)` over the
    distinct gain values :math:`x_t`."""
    xs = np.unique(problem.gains)
    if xs.size > max_thresholds:
        raise ValueError(
            f"E sup G is computed exactly over the distinct gain values; {xs.size} > {max_thresholds} "
            "is too many"
        )
    if xs.size == 1:
        return float(xs[0])
    thr = xs[:-1]
    chain = problem.chain
    if problem.horizon is not None:
        g0 = problem.gains_at(0)
        MU = mu[:, None] * (g0[:, None] <= thr[None, :])
        for l in range(problem.horizon):
            MU = chain.csr(l).T @ MU
            MU = MU * (problem.gains_at(l + 1)[:, None] <= thr[None, :])
        p_le = MU.sum(axis=0)
    else:
        g = problem.gains_at(0)
        p_le = np.empty(thr.size)
        for t, x in enumerate(thr):
            # P(sup G <= x) = 1 - P(ever entering {g > x})
            p_le[t] = 1.0 - float(mu @ absorption_probability(chain, g > x))
    return float(xs[0] + np.sum(np.diff(xs) * (1.0 - p_le)))


# ----------------------------------------------------------------------------------------------------
# Bounds
# ----------------------------------------------------------------------------------------------------


def bounded_gains_bound(problem: Any, *, solution: Any = None, rng: RNGLike = None) -> DepthBound:
    r"""Bound :math:`\mathbb E\tau^\star\le(\mathbb E\sup_lG_l-\mathbb EG_0)/c` with :math:`c=\min_lc_l`.

    Parameters
    ----------
    problem : MarkovStoppingProblem or PathStoppingProblem
        A chain with an initial law (:math:`\mathbb E\sup_lG_l` exact), or recorded paths (empirical
        means with standard errors).
    solution : optional
        A solution of ``problem`` from :func:`~stochdepth.stopping.solve_stopping` giving
        :math:`\mathbb E\tau^\star`; default: solved here (exactly on chains and deterministic paths,
        by Longstaff-Schwartz otherwise).
    rng : seed, optional
        Randomness of a Longstaff-Schwartz solve.

    Returns
    -------
    DepthBound
        Hypotheses checked: ``costs_positive`` (:math:`c>0`), ``gains_bounded`` (finite gains: always on
        finite data), ``undiscounted`` (:math:`\beta=1`).

    References
    ----------
    Derived, docs/science.md §B2 ("bounded gains").

    Examples
    --------
    >>> from stochdepth.stopping import MarkovStoppingProblem
    >>> prob = MarkovStoppingProblem([[0.5, 0.5], [0.0, 1.0]], [0.0, 1.0], costs=0.1, horizon=5, initial=0)
    >>> b = bounded_gains_bound(prob)
    >>> b.holds, round(b.bound, 6), round(b.expected_depth.value, 6)
    (True, 9.6875, 1.9375)
    """
    hyp: dict[str, bool] = {}
    if isinstance(problem, MarkovStoppingProblem):
        mu = problem.initial_law()
        c = float(np.min(problem.costs))
        esup = _expected_sup_gain(problem, mu)
        eg0 = float(mu @ problem.gains_at(0))
        num, num_se = esup - eg0, 0.0
    elif isinstance(problem, PathStoppingProblem):
        c = float(np.min(problem.costs))
        diff = problem.gains.max(axis=1) - problem.gains[:, 0]
        est = Estimate.from_samples(diff) if diff.size > 1 else Estimate(float(diff[0]), 0.0, 1)
        num = est.value
        # the paths are the population when deterministic (exact empirical statement)
        num_se = 0.0 if problem.deterministic else est.stderr
    else:
        raise TypeError(
            f"problem must be a MarkovStoppingProblem or PathStoppingProblem, got {type(problem).__name__}"
        )
    hyp["costs_positive"] = c > 0
    hyp["gains_bounded"] = True
    hyp["undiscounted"] = problem.discount == 1.0
    bound = num / c if c > 0 else math.inf
    bound_se = num_se / c if c > 0 else 0.0
    ed, mx, _ = _solved_depth(problem, solution, rng)
    holds = ed.value <= bound + 5 * (bound_se + ed.stderr) + _SLACK * (1 + abs(bound))
    return DepthBound(
        "bounded gains",
        float(bound),
        float(bound_se),
        ed,
        mx,
        _tightness(ed.value, bound),
        bool(holds),
        hyp,
        {"c": c, "E_sup_minus_G0": float(num)},
    )


def _residual_norms(problem: PathStoppingProblem) -> np.ndarray:
    return np.linalg.norm(np.diff(problem.features, axis=1), axis=2)


def _lipschitz_consistent(problem: PathStoppingProblem, lipschitz: float) -> tuple[bool, float]:
    """Check |G_a - G_b| <= L_g ||h_a - h_b|| on the pairs (0, l) and (l, l + 1) of every path, up to
    rounding (relative 1e-12 of the magnitudes involved); also return the largest observed ratio."""
    X, G = problem.features, problem.gains
    ok = True
    worst = 0.0
    for a, b, ga, gb in (
        (X[:, 1:], X[:, :1], G[:, 1:], G[:, :1]),
        (X[:, 1:], X[:, :-1], G[:, 1:], G[:, :-1]),
    ):
        dh = np.linalg.norm(a - b, axis=2)
        dg = np.abs(ga - gb)
        slack = 1e-12 * (
            np.abs(ga) + np.abs(gb) + lipschitz * (np.linalg.norm(a, axis=2) + np.linalg.norm(b, axis=2))
        )
        ok &= bool(np.all(dg <= lipschitz * dh + slack))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(dh > 0, dg / dh, np.where(dg > slack, math.inf, 0.0))
        if r.size:
            worst = max(worst, float(np.max(r)))
    return ok, worst


def _check_paths(problem: Any, name: str) -> PathStoppingProblem:
    if not isinstance(problem, PathStoppingProblem):
        raise TypeError(
            f"problem must be a PathStoppingProblem whose features are the hidden states h_l ({name}), "
            f"got {type(problem).__name__}"
        )
    return problem


def summable_residuals_bound(
    problem: Any,
    lipschitz: float,
    *,
    residual_bounds: Any = None,
    solution: Any = None,
    rng: RNGLike = None,
) -> DepthBound:
    r"""Bound :math:`\mathbb E\tau^\star\le L_gS/c`, :math:`S=\sum_l\sup_h\|f_l(h)\|`, for residual paths.

    Parameters
    ----------
    problem : PathStoppingProblem
        Paths whose features are the hidden states :math:`h_l` (``(n, L + 1, d)``) and gains
        :math:`G_l=g(h_l)`.
    lipschitz : float
        Declared Lipschitz constant :math:`L_g\ge0` of the gain (checked for consistency on the paths).
    residual_bounds : array_like, optional
        Declared :math:`\sup_h\|f_l(h)\|`, ``(L,)`` (checked against the observed
        :math:`\|h_{l+1}-h_l\|`). Default: the largest observed norm at each layer.
    solution : optional
        A solution giving :math:`\mathbb E\tau^\star` (default: :class:`PathwiseMaximum` on deterministic
        paths, Longstaff-Schwartz otherwise).
    rng : seed, optional
        Randomness of a Longstaff-Schwartz solve.

    Returns
    -------
    DepthBound
        Hypotheses: ``costs_positive``, ``undiscounted``, ``lipschitz_consistent``,
        ``residual_bounds_consistent``.

    References
    ----------
    Derived, docs/science.md §B2 ("summable residuals").

    Examples
    --------
    >>> from stochdepth.stopping import PathStoppingProblem
    >>> h = np.stack([1.0 + 0.5 ** np.arange(7.0), 0.5 ** np.arange(7.0)])[:, :, None]   # f_l = -2^-(l+1)
    >>> prob = PathStoppingProblem(h, -np.abs(h[:, :, 0]), 0.05, deterministic=True, gains_observed=True)
    >>> b = summable_residuals_bound(prob, lipschitz=1.0)
    >>> b.holds, b.hypotheses_hold
    (True, True)
    """
    problem = _check_paths(problem, "summable_residuals_bound")
    lg = check_real("lipschitz", lipschitz, lo=0.0)
    r = _residual_norms(problem)
    observed = r.max(axis=0)
    hyp: dict[str, bool] = {}
    if residual_bounds is None:
        sup = observed
        hyp["residual_bounds_consistent"] = True
    else:
        sup = check_array("residual_bounds", residual_bounds, ndim=1, shape=(problem.horizon,))
        if np.any(sup < 0):
            raise ValueError("residual_bounds must be >= 0 (norms)")
        hyp["residual_bounds_consistent"] = bool(np.all(r <= sup[None, :] * (1 + 1e-9) + 1e-12))
    c = float(np.min(problem.costs))
    ok, worst = _lipschitz_consistent(problem, lg)
    hyp["costs_positive"] = c > 0
    hyp["undiscounted"] = problem.discount == 1.0
    hyp["lipschitz_consistent"] = ok
    S = float(np.sum(sup))
    bound = lg * S / c if c > 0 else math.inf
    ed, mx, _ = _solved_depth(problem, solution, rng)
    holds = ed.value <= bound + 5 * ed.stderr + _SLACK * (1 + abs(bound))
    return DepthBound(
        "summable residuals",
        float(bound),
        0.0,
        ed,
        mx,
        _tightness(ed.value, bound),
        bool(holds),
        hyp,
        {"c": c, "lipschitz": lg, "S": S, "observed_lipschitz": worst},
    )


def geometric_depth_bound(
    problem: Any,
    lipschitz: float,
    rho: float,
    *,
    C: float | None = None,
    solution: Any = None,
    rng: RNGLike = None,
) -> DepthBound:
    r"""Almost-sure bound :math:`\tau^\star\le\bar l=\max(0,\lceil\ln(c/(L_gC))/\ln\rho\rceil)`.

    Parameters
    ----------
    problem : PathStoppingProblem
        Deterministic residual paths (features :math:`h_l`, gains :math:`g(h_l)`).
    lipschitz : float
        Declared :math:`L_g>0`.
    rho : float
        Declared decay rate :math:`\rho` (the bound needs :math:`0<\rho<1`).
    C : float, optional
        Declared :math:`C` in :math:`\sup_h\|f_l(h)\|\le C\rho^l`; default the smallest :math:`C`
        consistent with the observed residual norms.
    solution : optional
        A solution giving :math:`\tau^\star` (default: :class:`PathwiseMaximum` on deterministic paths --
        the setting of the statement -- and Longstaff-Schwartz otherwise, flagged by the
        ``deterministic`` hypothesis).
    rng : seed, optional
        Randomness of a Longstaff-Schwartz solve.

    Returns
    -------
    DepthBound
        ``bound`` is :math:`\bar l`; ``holds`` checks :math:`\max\tau^\star\le\bar l`; ``tightness`` is
        :math:`\mathbb E\tau^\star/\bar l` and ``details["max_tightness"]`` :math:`\max\tau^\star/\bar l`.
        Hypotheses: ``rho_below_one``, ``geometric_decay`` (observed norms :math:`\le C\rho^l`),
        ``lipschitz_consistent``, ``deterministic``, ``costs_positive``, ``undiscounted``.

    References
    ----------
    Derived, docs/science.md §B2 ("geometric diminishing returns").

    Examples
    --------
    >>> from stochdepth.stopping import PathStoppingProblem
    >>> h = np.stack([1.0 + 0.5 ** np.arange(9.0), 0.5 ** np.arange(9.0)])[:, :, None]   # f_l = -2^-(l+1)
    >>> prob = PathStoppingProblem(h, -np.abs(h[:, :, 0]), 0.05, deterministic=True, gains_observed=True)
    >>> b = geometric_depth_bound(prob, lipschitz=1.0, rho=0.5)
    >>> b.bound, b.max_depth, b.holds
    (4.0, 4.0, True)
    """
    problem = _check_paths(problem, "geometric_depth_bound")
    lg = check_real("lipschitz", lipschitz, lo=0.0, lo_open=True)
    rho = check_real("rho", rho, lo=0.0, lo_open=True)
    r = _residual_norms(problem)
    powers = rho ** np.arange(problem.horizon, dtype=float)
    if C is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            C = float(np.max(r.max(axis=0) / powers)) if r.size else 0.0
        if not math.isfinite(C):
            raise ValueError(
                f"rho = {rho:g} is too small for these residuals: rho**l underflows to 0 within the "
                "horizon, so no finite C has |f_l| <= C rho**l; give a larger rho (or C)"
            )
        decay_ok = True
    else:
        C = check_real("C", C, lo=0.0)
        decay_ok = bool(np.all(r <= C * powers[None, :] * (1 + 1e-9) + 1e-12))
    c = float(np.min(problem.costs))
    ok, worst = _lipschitz_consistent(problem, lg)
    hyp = {
        "rho_below_one": rho < 1.0,
        "geometric_decay": decay_ok,
        "lipschitz_consistent": ok,
        "deterministic": problem.deterministic,
        "costs_positive": c > 0,
        "undiscounted": problem.discount == 1.0,
    }
    if c <= 0 or rho >= 1.0:
        lbar = math.inf
    elif C == 0:
        lbar = 0.0
    else:
        lbar = float(max(0, math.ceil(math.log(c / (lg * C)) / math.log(rho) - 1e-12)))
    ed, mx, _ = _solved_depth(problem, solution, rng)
    holds = mx <= lbar
    return DepthBound(
        "geometric diminishing returns",
        lbar,
        0.0,
        ed,
        mx,
        _tightness(ed.value, lbar),
        bool(holds),
        hyp,
        {
            "c": c,
            "lipschitz": lg,
            "C": float(C),
            "rho": rho,
            "max_tightness": _tightness(mx, lbar),
            "observed_lipschitz": worst,
        },
    )


def is_monotone(problem: MarkovStoppingProblem, *, tie_tol: float = 1e-11) -> bool:
    r"""Whether a chain's stopping problem is *monotone*: the one-step look-ahead sets are absorbing.

    With :math:`A_l=\{s:\ g_l(s)\ge -c_l+\beta(P_lg_{l+1})(s)\}`, the problem is monotone when every
    transition from :math:`A_l` lands in :math:`A_{l+1}` (:math:`P_l(s,A_{l+1}^c)=0` for :math:`s\in A_l`);
    then one-step look-ahead is optimal (Chow, Robbins & Siegmund 1971, Thm. 3.5; docs/science.md §B2).

    Examples
    --------
    >>> from stochdepth.stopping import MarkovStoppingProblem
    >>> up = MarkovStoppingProblem([[0.5, 0.5], [0.0, 1.0]], [0.0, 1.0], costs=0.1, horizon=4)
    >>> is_monotone(up)
    True
    """
    from .policies import OneStepLookAhead

    if not isinstance(problem, MarkovStoppingProblem):
        raise TypeError(f"problem must be a MarkovStoppingProblem, got {type(problem).__name__}")
    table = OneStepLookAhead.fit(problem, tie_tol=tie_tol).table
    assert table is not None
    chain = problem.chain
    if table.ndim == 1:
        out = chain.expect(0, (~table).astype(float))
        return bool(np.all(out[table] <= 1e-12))
    for l in range(table.shape[0] - 1):
        leak = chain.expect(l, (~table[l + 1]).astype(float))
        if np.any(leak[table[l]] > 1e-12):
            return False
    return True
