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
from ..random import RNGLike, spawn
from ._regress import fit_layer
from .base import StoppingSolution, StoppingSolver
from .basis import Basis, Polynomial
from .duals import AndersenBroadie, PerfectForesight, RegressionMartingale, _DualContext
from .policies import SnellPolicy, evaluate_simulated
from .problems import PathStoppingProblem, SimulatedStoppingProblem, StoppingProblem
from .results import DepthLaw

__all__ = [
    "AndersenBroadie",
    "LongstaffSchwartz",
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
    streams = spawn(rng, L + 1)
    fits: list[Any] = [None] * L
    conds = np.ones(L)
    notes = []
    gain_fits = None
    fit_args = {"ridge": ridge, "max_condition": max_condition}
    if not train.observed:
        # the policy cannot see G_l: it acts on E[G_l | X_l], a regression of its own (§B7.2), fitted
        # below on the same design as the continuation value (itm_only is off on unobserved gains)
        fitted_pair = np.empty((train.n_paths, 2))  # fitted gain and continuation value of a layer
        last = fit_layer(
            basis, train.features[:, L], train.gains[:, L], rng=np.random.default_rng(streams[L]), **fit_args
        )
        gain_fits = [None] * L + [last]
        if last.note:
            notes.append(f"gain at layer {L}: {last.note}")
    for l in range(L - 1, -1, -1):
        cand = train.gains[:, l] > 0 if itm_only else np.ones(train.n_paths, dtype=bool)
        idx = np.nonzero(cand)[0]
        X = train.features[idx, l]
        layer_rng = np.random.default_rng(streams[l])
        if gain_fits is None:
            fitted = np.empty(idx.size)
            fit = fit_layer(basis, X, cash[idx], rng=layer_rng, fitted_out=fitted, **fit_args)
            decide_l = Z[idx, l]
        else:  # idx holds every path
            Y = np.stack([train.gains[:, l], cash], axis=1)
            # one design: the gain's fit shares the continuation fit's note, reported below
            gain_fits[l], fit = fit_layer(basis, X, Y, rng=layer_rng, fitted_out=fitted_pair, **fit_args)
            fitted = fitted_pair[:, 1]
            decide_l = fitted_pair[:, 0] * train.discount_factors[l] - train.cumulative_costs[l]
        fits[l] = fit
        conds[l] = fit.condition
        if fit.note:
            notes.append(f"layer {l}: {fit.note}")
        if idx.size:
            stop = decide_l >= fitted
            cash[idx[stop]] = Z[idx[stop], l]
    policy = SnellPolicy(
        fits,
        train.discount_factors,
        train.cumulative_costs,
        itm_only=itm_only,
        name="longstaff-schwartz",
        gain_fits=gain_fits,
    )
    return policy, Estimate.from_samples(cash), conds, notes[::-1]


def _default_basis(train: PathStoppingProblem) -> Basis:
    """Full polynomial of the highest degree <= 3 with at most one coefficient per 1000 training paths."""
    for degree in (3, 2):
        if Polynomial(degree).n_functions(train.n_features) * 1000 <= train.n_paths:
            return Polynomial(degree)
    return Polynomial(1)


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
        Regression basis. Default: chosen from the problem, the full polynomial of the highest degree
        :math:`\le3` with at most one coefficient per 1000 training paths (degree 3 for up to 4
        features with the default 50 000 paths, degree 2 for 5 to 8).
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
        the in-the-money layers only (Broadie & Cao 2008). Default: True exactly when the problem has
        no running cost, its gains are observed and every training gain is :math:`\ge0`; True on
        unobserved gains (``gains_observed=False``) is an error.
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

    Notes
    -----
    Out of the box (no argument), on the 2-asset Bermudan max-call of Andersen & Broadie (2004)
    (:math:`S_0=90`, :math:`K=100`, :math:`r=0.05`, :math:`q=0.1`, :math:`\sigma=0.2`, :math:`T=3`, 9
    dates) the lower bound is within 0.5% of the reference 8.072 (product-grid Snell envelope,
    :func:`~stochdepth.stopping.finance.bermudan_max_call_grid`) up to its standard error of about 0.3%;
    the former defaults (degree 2, regression on every path) were 1.3% below it. In-the-money
    regression matters most: out-of-the-money paths carry no information on the exercise boundary
    and bend the fit away from it (Longstaff & Schwartz 2001, §2.1).

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

    basis: Basis | None = None
    n_paths: int = 50_000
    n_eval: int = 100_000
    train_fraction: float = 0.5
    itm_only: bool | None = None
    ridge: float = 0.0
    max_condition: float = 1e10
    dual: Any = None
    level: float = 0.95
    problems: ClassVar[tuple[type[StoppingProblem], ...]] = (PathStoppingProblem, SimulatedStoppingProblem)

    def __post_init__(self) -> None:
        if self.basis is not None and not isinstance(self.basis, Basis):
            raise TypeError(
                f"basis must be a Basis (Polynomial, Laguerre, RandomFeatures), got {self.basis!r}"
            )
        check_int("n_paths", self.n_paths, min=2)
        check_int("n_eval", self.n_eval, min=2)
        check_real("train_fraction", self.train_fraction, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        if self.itm_only is not None:
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
        return self._solve(problem, train, test, ss)

    def solve_split(
        self,
        train: PathStoppingProblem,
        test: PathStoppingProblem,
        rng: RNGLike = None,
        *,
        policy: SnellPolicy | None = None,
    ) -> RegressionSolution:
        r"""Fit the policy on the recorded paths ``train`` and bound :math:`V^\star` on ``test``.

        For data that come split already (a calibration and a test split of a network's examples):
        the lower bound is the fitted policy's value on ``test``, the dual upper bound is computed on
        ``test`` too. ``train_fraction`` is not used. ``policy``, a policy returned by :meth:`fit` on
        ``train``, is bounded as it is instead of being fitted again.

        Raises
        ------
        TypeError
            ``train`` or ``test`` not a :class:`PathStoppingProblem`.
        ValueError
            The two disagree on horizon, features, costs, discount or ``gains_observed``.
        """
        for name, p in (("train", train), ("test", test)):
            if not isinstance(p, PathStoppingProblem):
                raise TypeError(f"{name} must be a PathStoppingProblem, got {type(p).__name__}")
        for what, a, b in (
            ("horizon", train.horizon, test.horizon),
            ("n_features", train.n_features, test.n_features),
            ("discount", train.discount, test.discount),
            ("gains_observed", train.gains_observed, test.gains_observed),
        ):
            if a != b:
                raise ValueError(f"train and test disagree on {what}: {a} != {b}")
        if not np.array_equal(train.costs, test.costs):
            raise ValueError("train and test disagree on costs")
        if policy is not None and not isinstance(policy, SnellPolicy):
            raise TypeError(f"policy must be a SnellPolicy from LongstaffSchwartz.fit, got {policy!r}")
        if policy is not None and policy.in_sample is None:
            raise ValueError("policy must come from LongstaffSchwartz.fit (it carries the fit diagnostics)")
        return self._solve(test, train, test, spawn(rng, 4), policy)

    def fit(self, train: PathStoppingProblem, rng: RNGLike = None) -> SnellPolicy:
        """The regression policy fitted on the recorded paths ``train`` (no bounds).

        The policy carries its fit diagnostics: ``in_sample`` (the optimistic in-sample value),
        ``condition_numbers`` and ``notes``. Pass it to :meth:`solve_split` to bound it on test paths.

        Raises
        ------
        ValueError
            Fewer paths than basis functions; ``itm_only`` on paths with costs or unobserved gains.
        """
        if not isinstance(train, PathStoppingProblem):
            raise TypeError(f"train must be a PathStoppingProblem, got {type(train).__name__}")
        if self.itm_only and not train.observed:
            raise ValueError(
                "itm_only reads the gains, which these paths declare unobserved (gains_observed=False)"
            )
        if self.itm_only and np.any(train.costs > 0):
            raise ValueError("itm_only needs a problem without costs; these paths have costs > 0")
        basis = _default_basis(train) if self.basis is None else self.basis
        itm_only = self.itm_only
        if itm_only is None:  # stopping out of the money is never better when nothing is lost by waiting
            itm_only = train.observed and not np.any(train.costs > 0) and bool(np.all(train.gains >= 0))
        k = basis.n_functions(train.n_features)
        if train.n_paths < k:
            raise ValueError(
                f"fewer training paths ({train.n_paths}) than basis functions ({k} for "
                f"{train.n_features} feature(s)): record more paths or use a smaller basis"
            )
        policy, in_sample, conds, notes = _fit_policy(
            train,
            basis,
            itm_only=itm_only,
            ridge=self.ridge,
            max_condition=self.max_condition,
            rng=rng,
        )
        policy.in_sample, policy.condition_numbers, policy.notes = in_sample, conds, tuple(notes)
        return policy

    def _solve(
        self,
        problem: PathStoppingProblem | SimulatedStoppingProblem,
        train: PathStoppingProblem,
        test: PathStoppingProblem | None,
        ss: list[Any],
        policy: SnellPolicy | None = None,
    ) -> RegressionSolution:
        if policy is None:
            policy = self.fit(train, ss[1])
        assert policy.in_sample is not None and policy.condition_numbers is not None
        in_sample, conds, notes = policy.in_sample, policy.condition_numbers, list(policy.notes)
        basis = _default_basis(train) if self.basis is None else self.basis  # as in fit
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
        ctx = _DualContext(problem, policy, train, basis, self.ridge, self.max_condition, test)
        out = dual._upper(ctx, ss[3])
        check_finite_result("dual upper bound", out.samples)
        upper = Estimate.from_samples(out.samples)
        if out.gap:  # upper = lower + gap, independent estimates
            se = float(np.hypot(lower.stderr, upper.stderr))
            upper = Estimate(lower.value + upper.value, se, upper.n)
        # payoffs so large that a mean or a variance overflows give no interval: say so, never (-inf, inf)
        check_finite_result(
            "regression Monte Carlo estimates (lower, its stderr, upper, its stderr; rescale the gains)",
            [lower.value, lower.stderr, upper.value, upper.stderr],
        )
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
            solver=f"LongstaffSchwartz({basis!r})",
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
