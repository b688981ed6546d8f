r"""Exit policies for trained networks: fitted on a calibration split, evaluated on a test split.

Every policy is an :class:`ExitPolicy`: ``policy.fit(calibration)`` (an
:class:`~stochdepth.depth.ExitProblem`), then ``policy.exits(problem)`` (the exit chosen for each sample,
from the observations only) or ``policy.evaluate(test)`` (an :class:`~stochdepth.depth.ExitEvaluation`,
which needs the labels). Decisions are vectorised over samples; the only loops run over exits.

* :class:`ConfidenceExit`, :class:`EntropyExit` -- exit at the first exit whose confidence reaches, or
  whose entropy falls to, a threshold (BranchyNet, Teerapittayanon et al. 2016; DeeBERT, Xin et al.
  2020);
* :class:`PatienceExit` -- exit once the prediction has not changed for ``patience`` exits (PABEE, Zhou
  et al. 2020);
* :class:`LookAheadExit` -- one-step look-ahead on regressions of the reward (docs/science.md §B2);
* :class:`BellmanExit` -- the Bellman policy of docs/science.md §B7.2 by regression Monte Carlo on the
  features, with its out-of-sample lower bound and dual upper bounds on test data
  (:meth:`BellmanExit.bounds`);
* :class:`OracleExit` -- the label-aware oracle, exit at the best exit of each sample: the ceiling;
* :class:`~stochdepth.depth.RiskControlledExit` (:mod:`stochdepth.depth.risk`) -- a threshold with a
  guaranteed accuracy drop.

A threshold or patience left as ``None`` is chosen on the calibration split to maximise the mean reward
at the problem's cost; a given one is used as it is (sweeps for Pareto fronts:
:func:`~stochdepth.depth.policy_curve`). The generic solvers come from :mod:`stochdepth.stopping`, run
on :meth:`ExitProblem.stopping_problem`, whose gains are declared unobserved.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from .._checks import check_array, check_int, check_real
from .._results import Estimate, Result
from ..random import RNGLike
from ..stopping import (
    Basis,
    LongstaffSchwartz,
    OneStepLookAhead,
    PathwiseMaximum,
    Polynomial,
    RegressionMartingale,
    RegressionSolution,
)
from .exit_evaluation import ExitEvaluation, evaluate_exits
from .exit_problem import ExitProblem, _check_problem, prediction_streaks

__all__ = [
    "BellmanExit",
    "ConfidenceExit",
    "EntropyExit",
    "ExitBounds",
    "ExitPolicy",
    "LookAheadExit",
    "OracleExit",
    "PatienceExit",
    "first_exit",
]


#: Default ridge of the regression policies: keeps collinear designs (a binary feature and its square)
#: on the fast Cholesky path, at a relative bias of this order.
_RIDGE = 1e-8


def first_exit(hit: np.ndarray) -> np.ndarray:
    """Index of the first ``True`` along the last axis, the last exit when there is none (vectorised)."""
    hit = np.array(check_array("hit", hit, ndim=(1, 2, 3), dtype=None), dtype=bool, copy=True)
    hit[..., -1] = True
    return np.argmax(hit, axis=-1)


class ExitPolicy(abc.ABC):
    """Base class of the exit policies (see the module docstring).

    Subclasses set :attr:`parameters` (the names :meth:`with_params` and curve sweeps accept) and
    implement :meth:`_fit` and :meth:`_exits`.
    """

    #: Short name, used as the default label of curves.
    name: ClassVar[str] = "policy"
    #: Parameters of the constructor that can be changed by :meth:`with_params` (``"cost"`` is the
    #: problem's cost, changed on the problems rather than on the policy).
    parameters: ClassVar[tuple[str, ...]] = ()
    #: The parameter :func:`~stochdepth.depth.policy_curve` sweeps by default.
    sweep: ClassVar[str] = "cost"

    _calibration: ExitProblem | None = None

    def fit(self, calibration: ExitProblem, rng: RNGLike = None) -> ExitPolicy:
        """Fit on a labelled calibration split; returns ``self``."""
        calibration = _check_problem(calibration, "calibration")
        self._fit(calibration, rng)
        self._calibration = calibration
        return self

    @property
    def fitted(self) -> bool:
        return self._calibration is not None

    def exits(self, problem: ExitProblem) -> np.ndarray:
        """The exit chosen for each sample, ``(n,)`` indices in ``0..L-1`` (observations only)."""
        problem = _check_problem(problem, "problem")
        if self._calibration is None:
            raise ValueError(f"{self.name}: call fit(calibration) before choosing exits")
        self._calibration.check_compatible(problem)
        return np.asarray(self._exits(problem), dtype=np.int64)

    def evaluate(self, test: ExitProblem) -> ExitEvaluation:
        """Accuracy, mean depth and FLOPs, reward and exit histogram on a labelled ``test`` split."""
        test = _check_problem(test, "test")
        test.require_labels(f"evaluating {self.name}")
        return evaluate_exits(test, self.exits(test), self.label)

    def with_params(self, **params: Any) -> ExitPolicy:
        """A new, unfitted policy with some parameters changed (a ValueError names unknown ones)."""
        unknown = sorted(set(params) - set(self.parameters))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} of {type(self).__name__}; known: {list(self.parameters)}"
            )
        kwargs = {p: getattr(self, p) for p in self.parameters}
        kwargs.update(params)
        return type(self)(**kwargs)

    @property
    def label(self) -> str:
        return self.name

    def _fit(self, calibration: ExitProblem, rng: RNGLike) -> None:  # noqa: B027 (optional hook)
        """Fit on ``calibration`` (default: nothing to fit)."""

    @abc.abstractmethod
    def _exits(self, problem: ExitProblem) -> np.ndarray: ...

    def __repr__(self) -> str:
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.parameters)
        return f"{type(self).__name__}({args})"


class _ScoreThreshold(ExitPolicy):
    """Exit at the first exit whose score reaches the threshold (score = an observed feature)."""

    parameters = ("threshold",)
    sweep = "threshold"
    _grid_size: ClassVar[int] = 129

    def __init__(self, threshold: float | None = None) -> None:
        self.threshold = None if threshold is None else check_real("threshold", threshold)
        self.threshold_: float | None = self.threshold

    @abc.abstractmethod
    def _score(self, problem: ExitProblem) -> np.ndarray:
        """Score ``(n, L)``: exit where it is >= the threshold."""

    @abc.abstractmethod
    def _to_score(self, threshold: np.ndarray) -> np.ndarray:
        """The threshold in score units."""

    def _fit(self, calibration: ExitProblem, rng: RNGLike) -> None:
        if self.threshold is not None:
            self.threshold_ = self.threshold
            return
        R = calibration.rewards
        s = self._score(calibration)
        cand = np.unique(np.quantile(s, np.linspace(0.0, 1.0, self._grid_size)))
        cand = np.concatenate([cand, [np.inf]])
        tau = first_exit(s[None, :, :] >= cand[:, None, None])  # (K, n)
        mean = R[np.arange(R.shape[0])[None, :], tau].mean(axis=1)
        # the highest threshold among the best (the more conservative rule on ties)
        best = np.nonzero(mean >= mean.max() - 1e-12)[0][-1]
        self.threshold_ = float(self._from_score(cand[best]))

    def _from_score(self, score: float) -> float:
        return float(self._to_score(np.asarray(score)))

    def _exits(self, problem: ExitProblem) -> np.ndarray:
        assert self.threshold_ is not None
        return first_exit(self._score(problem) >= self._to_score(np.asarray(self.threshold_)))

    @property
    def label(self) -> str:
        return self.name if self.threshold is None else f"{self.name} {self.threshold:.4g}"


class ConfidenceExit(_ScoreThreshold):
    r"""Exit at the first exit :math:`l` with confidence :math:`\max_kp_{l}(k)\ge\theta`.

    Parameters
    ----------
    threshold : float, optional
        :math:`\theta`; ``None`` chooses it on the calibration split (best mean reward).

    References
    ----------
    Teerapittayanon, McDanel & Kung, *BranchyNet*, ICPR 2016.

    Examples
    --------
    >>> from stochdepth.depth import ExitProblem, Trace
    >>> logits = np.array([[[0.0, 0.1], [0.0, 3.0]], [[2.0, 0.0], [3.0, 0.0]]])
    >>> trace = Trace.from_outputs(logits, np.array([1, 0]), hidden_norms=np.ones((2, 2)),
    ...     hidden_projection=np.zeros((2, 2, 1)), residual_norms=np.ones((2, 2)), flops=np.ones(2))
    >>> prob = ExitProblem.from_trace(trace)
    >>> ConfidenceExit(0.8).fit(prob).exits(prob).tolist()
    [1, 0]
    """

    name = "confidence"

    def _score(self, problem: ExitProblem) -> np.ndarray:
        return problem.confidence

    def _to_score(self, threshold: np.ndarray) -> np.ndarray:
        return threshold


class EntropyExit(_ScoreThreshold):
    r"""Exit at the first exit whose softmax entropy is :math:`\le\theta` (nats).

    Parameters
    ----------
    threshold : float, optional
        :math:`\theta`; ``None`` chooses it on the calibration split.

    References
    ----------
    Xin, Tang, Lee, Yu & Lin, *DeeBERT*, ACL 2020.
    """

    name = "entropy"

    def _score(self, problem: ExitProblem) -> np.ndarray:
        return -problem.entropy

    def _to_score(self, threshold: np.ndarray) -> np.ndarray:
        return -threshold


class PatienceExit(ExitPolicy):
    r"""Exit once the prediction has stayed the same for ``patience`` consecutive exits (PABEE).

    Parameters
    ----------
    patience : int, optional
        :math:`k\ge1`; ``None`` chooses it on the calibration split among ``1..L-1``.

    References
    ----------
    Zhou, Xu, Ge, McAuley, Xu & Wei, *BERT Loses Patience*, NeurIPS 2020.
    """

    name = "patience"
    parameters = ("patience",)
    sweep = "patience"

    def __init__(self, patience: int | None = None) -> None:
        self.patience = None if patience is None else check_int("patience", patience, min=1)
        self.patience_: int | None = self.patience

    def _fit(self, calibration: ExitProblem, rng: RNGLike) -> None:
        if self.patience is not None:
            self.patience_ = self.patience
            return
        R = calibration.rewards
        counts = prediction_streaks(calibration.predictions)
        ks = np.arange(1, calibration.n_exits)
        tau = first_exit(counts[None] >= ks[:, None, None])
        mean = R[np.arange(R.shape[0])[None, :], tau].mean(axis=1)
        self.patience_ = int(ks[np.nonzero(mean >= mean.max() - 1e-12)[0][0]])

    def _exits(self, problem: ExitProblem) -> np.ndarray:
        assert self.patience_ is not None
        return first_exit(prediction_streaks(problem.predictions) >= self.patience_)

    @property
    def label(self) -> str:
        return self.name if self.patience is None else f"{self.name} {self.patience}"


class _Regression(ExitPolicy):
    """Policies that run a generic regression solver on the exit problem's stopping problem, on all its
    features or on those named in ``features``."""

    parameters = ("basis", "features")

    def __init__(self, basis: Basis | None = None, features: Sequence[str] | None = None) -> None:
        if basis is not None and not isinstance(basis, Basis):
            raise TypeError(f"basis must be a stochdepth.stopping.Basis, got {basis!r}")
        if features is not None:
            if isinstance(features, str) or not isinstance(features, Sequence) or not features:
                raise TypeError(f"features must be a non-empty sequence of feature names, got {features!r}")
            features = tuple(features)
        self.basis = Polynomial(2) if basis is None else basis
        self.features = features
        self._policy: Any = None

    def _view(self, problem: ExitProblem) -> ExitProblem:
        """``problem`` with only the policy's features (all of them when ``features`` is None)."""
        if self.features is None:
            return problem
        missing = [f for f in self.features if f not in problem.feature_names]
        if missing:
            raise ValueError(
                f"features {missing} are not in the problem's features {list(problem.feature_names)}"
            )
        idx = [problem.feature_names.index(f) for f in self.features]
        return replace(problem, features=problem.features[:, :, idx], feature_names=self.features)

    @property
    def label(self) -> str:
        return self.name if self.features is None else f"{self.name} ({', '.join(self.features)})"

    def _check_size(self, calibration: ExitProblem) -> None:
        k = self.basis.n_functions(calibration.features.shape[2])
        if calibration.n_samples < 2 * k:
            raise ValueError(
                f"calibration split too small for the basis: {calibration.n_samples} samples for {k} basis "
                f"functions of {calibration.features.shape[2]} features (need at least {2 * k}); use more "
                "samples, fewer features or a smaller basis"
            )

    def _exits(self, problem: ExitProblem) -> np.ndarray:
        return self._policy.stopping_times(self._view(problem).stopping_problem())


class LookAheadExit(_Regression):
    r"""One-step look-ahead: exit when :math:`\hat g_l(F_l)\ge\widehat{\mathbb E}[R_{l+1}\mid F_l]`.

    Both sides are regressions on the features fitted on the calibration split (the policy never
    sees the reward). Optimal in the monotone case only (docs/science.md §B2).

    Parameters
    ----------
    basis : Basis, optional
        Regression basis (default ``Polynomial(2)``).
    features : sequence of str, optional
        Regress on these features of the problem only (default: all of them).
    """

    name = "look-ahead"

    def _fit(self, calibration: ExitProblem, rng: RNGLike) -> None:
        calibration = self._view(calibration)
        self._check_size(calibration)
        self._policy = OneStepLookAhead.fit(
            calibration.stopping_problem(), basis=self.basis, rng=rng, ridge=_RIDGE
        )


@dataclass(frozen=True, repr=False)
class ExitBounds(Result):
    r"""Bounds of the Bellman exit policy on a test split (docs/science.md §B7.3), in reward units.

    Attributes
    ----------
    lower : Estimate
        The fitted policy's mean reward on the test split: the value of a feasible policy.
    upper_dual : Estimate
        :math:`\mathbb E\max_l(R_l-M_l)` with the martingale of the fitted value process; approximate
        (``upper_dual_valid`` False): on recorded data the one-step expectations are regressions.
    upper_oracle : Estimate
        :math:`\mathbb E\max_lR_l`, the label oracle: a valid upper bound on every feature-based policy.
    upper_dual_valid : bool
    solution : RegressionSolution
        The full answer of :meth:`LongstaffSchwartz.solve_split`.
    """

    lower: Estimate
    upper_dual: Estimate
    upper_oracle: Estimate
    upper_dual_valid: bool
    solution: RegressionSolution

    @property
    def upper(self) -> float:
        """The smaller upper bound. With noisy labels the approximate dual can exceed the oracle bound
        (its martingale, fitted on features, adds variance to ``max_l(R_l - M_l)``): then the oracle's."""
        return min(self.upper_dual.value, self.upper_oracle.value)

    @property
    def dual_gap(self) -> float:
        """``upper - lower``: how much a better policy could still gain (approximately)."""
        return self.upper - self.lower.value

    @property
    def oracle_gap(self) -> float:
        """``upper_oracle - lower``: the distance to the label-aware ceiling."""
        return self.upper_oracle.value - self.lower.value


class BellmanExit(_Regression):
    r"""The Bellman exit policy by regression Monte Carlo on the features (docs/science.md §B7.2).

    Backward over the exits of the calibration split, with :math:`\text{cash}=R_{L-1}`: regress the
    reward :math:`R_l` on a basis of :math:`F_l` (the gain :math:`\hat g_l`, since the policy cannot see
    the label) and ``cash`` on it (the continuation value :math:`\hat C_l`); exit where
    :math:`\hat g_l(F_l)\ge\hat C_l(F_l)` (Longstaff & Schwartz 2001, through
    :class:`~stochdepth.stopping.LongstaffSchwartz`). Both regressions of an exit share one design
    and one factorisation, so fitting costs about one least-squares fit per exit.

    Parameters
    ----------
    basis : Basis, optional
        Regression basis (default ``Polynomial(2)``).
    ridge : float, optional
        Ridge penalty on the column-scaled coefficients (default ``1e-8``: it keeps designs with
        collinear columns -- a binary feature and its square -- on the fast Cholesky path, at a
        relative bias of that order).
    features : sequence of str, optional
        Regress on these features of the problem only (default: all of them). Fewer features with a
        richer basis can beat many with a poor one on a small calibration split; to choose, see
        :class:`~stochdepth.depth.CrossValidatedExit`.
    """

    name = "bellman"
    parameters = ("basis", "ridge", "features")

    def __init__(
        self, basis: Basis | None = None, ridge: float = _RIDGE, features: Sequence[str] | None = None
    ) -> None:
        super().__init__(basis, features)
        self.ridge = check_real("ridge", ridge, lo=0.0)
        self._solver = LongstaffSchwartz(self.basis, ridge=self.ridge, dual=RegressionMartingale())

    def _fit(self, calibration: ExitProblem, rng: RNGLike) -> None:
        calibration = self._view(calibration)
        self._check_size(calibration)
        self._policy = self._solver.fit(calibration.stopping_problem(), rng)

    @property
    def condition_numbers(self) -> np.ndarray | None:
        """Condition numbers of the continuation regressions (after :meth:`fit`)."""
        return None if self._policy is None else self._policy.condition_numbers

    def bounds(self, test: ExitProblem, rng: RNGLike = None) -> ExitBounds:
        """Lower bound, approximate dual upper bound and oracle upper bound on the labelled ``test``."""
        test = _check_problem(test, "test")
        test.require_labels("the Bellman bounds")
        if self._calibration is None:
            raise ValueError("bellman: call fit(calibration) before bounds(test)")
        self._calibration.check_compatible(test)
        if test.cost != self._calibration.cost or test.cost_unit != self._calibration.cost_unit:
            raise ValueError(
                f"test is priced at cost={test.cost} ({test.cost_unit}), the policy was fitted at "
                f"cost={self._calibration.cost} ({self._calibration.cost_unit})"
            )
        sp = self._view(test).stopping_problem()
        cal = self._view(self._calibration).stopping_problem()
        sol = self._solver.solve_split(cal, sp, rng, policy=self._policy)
        prophet = Estimate.from_samples(sp.payoffs.max(axis=1))
        return ExitBounds(sol.lower, sol.upper, prophet, sol.upper_valid, sol)


class OracleExit(ExitPolicy):
    r"""The label-aware oracle: each sample exits at its best exit, :math:`\min\arg\max_lR_l`.

    It reads the label, so it is no policy one can deploy; its mean reward
    :math:`\mathbb E\max_lR_l` bounds every feature-based policy from above (docs/science.md §B7.3).
    Computed by :class:`~stochdepth.stopping.PathwiseMaximum` on the (unobserved-gain) stopping problem,
    which reports it as an upper bound, never as exact.
    """

    name = "oracle"

    def _exits(self, problem: ExitProblem) -> np.ndarray:
        problem.require_labels("the label-aware oracle")
        return PathwiseMaximum().solve(problem.stopping_problem()).tau
