r"""Evaluating exit policies: accuracy against depth and FLOPs, Pareto fronts, intervals, oracle gaps.

* :func:`evaluate_exits` -- one set of exits on a labelled split as an :class:`ExitEvaluation`;
* :func:`policy_curve` -- a policy swept over a parameter (a threshold, the patience, the cost
  :math:`c`, the risk level) as a :class:`PolicyCurve`: per point the mean depth, the mean FLOPs, the
  accuracy with a percentile bootstrap interval over the test samples (the same resamples at every
  point), and the exit-depth histogram;
* :func:`seed_curve` -- curves of several seeds (traces of independently trained networks) swept over
  the same values, pooled point by point with Student intervals over the seeds;
* :meth:`PolicyCurve.front` (the Pareto front: no other point is at least as accurate for no more
  depth) and :meth:`PolicyCurve.area_to` (the area between the fronts of a policy and of the oracle,
  one number per curve: :math:`\int(a_{\rm oracle}(d)-a(d))\,\mathrm dd` over the curve's depth range,
  with :math:`a(d)` the best accuracy of a curve at mean depth :math:`\le d`).

Plots read :class:`PolicyCurve` (``label``, ``mean_depth``, ``mean_flops``, ``accuracy``,
``accuracy_low``, ``accuracy_high``, ``exit_histograms``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as st

from .._checks import check_array, check_choice, check_int, check_memory, check_real
from .._results import Estimate, Result
from ..random import RNGLike, as_generator, spawn
from .exit_problem import ExitProblem, _check_problem

__all__ = ["ExitEvaluation", "PolicyCurve", "evaluate_exits", "policy_curve", "seed_curve"]


@dataclass(frozen=True, repr=False)
class ExitEvaluation(Result):
    """What a set of exits achieves on a labelled split.

    Attributes
    ----------
    label : str
    exits : ndarray (n,)
        Exit index of each sample.
    accuracy : float
        Share of samples right at their exit.
    full_accuracy : float
        Accuracy of the last exit (full depth).
    mean_depth, mean_flops : float
        Mean depth and mean FLOPs of the chosen exits.
    reward : Estimate
        Mean reward :math:`R_{i\\tau_i}` at the problem's cost.
    exit_counts : ndarray (L,)
        Number of samples leaving at each exit.
    cost : float
    """

    label: str
    exits: np.ndarray
    accuracy: float
    full_accuracy: float
    mean_depth: float
    mean_flops: float
    reward: Estimate
    exit_counts: np.ndarray
    cost: float

    @property
    def accuracy_drop(self) -> float:
        """``full_accuracy - accuracy``."""
        return self.full_accuracy - self.accuracy


def evaluate_exits(problem: ExitProblem, exits: Any, label: str = "") -> ExitEvaluation:
    """Evaluate the exit indices ``exits`` (``(n,)``) on the labelled ``problem``."""
    problem = _check_problem(problem, "problem")
    tau = np.asarray(exits)
    if tau.shape != (problem.n_samples,) or tau.dtype.kind not in "iu":
        raise ValueError(
            f"exits must be {problem.n_samples} integer exit indices, got {tau.shape} {tau.dtype}"
        )
    if tau.size and (tau.min() < 0 or tau.max() >= problem.n_exits):
        raise ValueError(f"exits must lie in [0, {problem.n_exits})")
    right, reward = problem.outcome(tau)
    est = Estimate.from_samples(reward) if reward.size > 1 else Estimate(float(reward[0]), np.inf, 1)
    return ExitEvaluation(
        label=label,
        exits=tau,
        accuracy=float(right.mean()),
        full_accuracy=float(problem.correct[:, -1].mean()),  # type: ignore[index]
        mean_depth=float(problem.depths[tau].mean()),
        mean_flops=float(problem.flops[tau].mean()),
        reward=est,
        exit_counts=np.bincount(tau, minlength=problem.n_exits),
        cost=problem.cost,
    )


@dataclass(frozen=True, repr=False)
class PolicyCurve(Result):
    """A policy's trade-off between accuracy and computation, one point per parameter value.

    Attributes
    ----------
    label : str
    parameter : str
        The swept parameter (``"threshold"``, ``"patience"``, ``"cost"``, ``"epsilon"``, ...).
    values : ndarray (m,)
        Its values.
    mean_depth, mean_flops : ndarray (m,)
    accuracy, accuracy_low, accuracy_high : ndarray (m,)
        Test accuracy and its interval at ``level`` (bootstrap over test samples, or over seeds for
        :func:`seed_curve`).
    reward : ndarray (m,)
        Mean reward at the test problem's cost.
    exit_histograms : ndarray (m, L)
        Samples per exit at each point (mean over seeds for :func:`seed_curve`).
    level : float
    n_samples : int
        Test samples (per seed).
    n_seeds : int

    Examples
    --------
    A policy that needs 2 layers for 70% and 3 for 90%, against an oracle at 80% from 1 layer on: the
    area between the fronts over depths 1 to 3 is (0.8 - 0) * 1 + (0.8 - 0.7) * 1, the policy having no
    point at depth 1 (its front starts at depth 2, so the range starts there: 0.1 + 0.0).

    >>> def curve(d, a):
    ...     a = np.array(a)
    ...     return PolicyCurve("c", "cost", np.arange(len(d)), np.array(d), np.array(d), a, a, a, a,
    ...                        np.ones((len(d), 3)), 0.95, 10)
    >>> round(curve([2.0, 3.0], [0.7, 0.9]).area_to(curve([1.0, 3.0], [0.8, 0.8])), 12)
    0.1
    """

    label: str
    parameter: str
    values: np.ndarray
    mean_depth: np.ndarray
    mean_flops: np.ndarray
    accuracy: np.ndarray
    accuracy_low: np.ndarray
    accuracy_high: np.ndarray
    reward: np.ndarray
    exit_histograms: np.ndarray
    level: float
    n_samples: int
    n_seeds: int = 1

    def front(self) -> PolicyCurve:
        """The Pareto front: points sorted by mean depth that beat the accuracy of every shallower one."""
        order = np.lexsort((-self.accuracy, self.mean_depth))
        best = -np.inf
        keep = []
        for i in order:
            if self.accuracy[i] > best:
                keep.append(i)
                best = self.accuracy[i]
        idx = np.array(keep, dtype=np.int64)
        arrays = {
            k: getattr(self, k)[idx]
            for k in (
                "values",
                "mean_depth",
                "mean_flops",
                "accuracy",
                "accuracy_low",
                "accuracy_high",
                "reward",
                "exit_histograms",
            )
        }
        return PolicyCurve(
            self.label,
            self.parameter,
            level=self.level,
            n_samples=self.n_samples,
            n_seeds=self.n_seeds,
            **arrays,
        )

    def envelope(self, at: Any, against: str = "depth") -> np.ndarray:
        """Best accuracy of the curve at mean depth (or FLOPs) :math:`\\le` ``at`` (``nan`` below it)."""
        x = self._axis(against)
        at = np.asarray(at, dtype=float)
        order = np.argsort(x, kind="stable")
        xs, best = x[order], np.maximum.accumulate(self.accuracy[order])
        pos = np.searchsorted(xs, at, side="right") - 1
        return np.where(pos >= 0, best[np.maximum(pos, 0)], np.nan)

    def area_to(self, oracle: PolicyCurve, against: str = "depth") -> float:
        r"""Area between ``oracle``'s front and this curve's over this curve's range.

        :math:`\int_{x_0}^{x_1}(a_{\rm oracle}(x)-a(x))\,\mathrm dx`, :math:`x` the mean depth (or FLOPs),
        :math:`a` the envelope (:meth:`envelope`: the best accuracy at mean depth :math:`\le x`, flat
        beyond a curve's deepest point, since more depth is then available but not needed);
        :math:`x_1` is this curve's deepest point and :math:`x_0` the larger of the two shallowest.
        Computed exactly for these step functions; accuracy times depth units (divide by
        :math:`x_1-x_0` for a mean accuracy gap). ``nan`` when :math:`x_0\ge x_1`.
        """
        if not isinstance(oracle, PolicyCurve):
            raise TypeError(f"oracle must be a PolicyCurve, got {type(oracle).__name__}")
        xa, xb = self._axis(against), oracle._axis(against)
        lo, hi = max(xa.min(), xb.min()), xa.max()
        if not hi > lo:
            return float("nan")
        cuts = np.unique(np.concatenate([[lo, hi], xa, xb]))
        cuts = cuts[(cuts >= lo) & (cuts <= hi)]
        left = cuts[:-1]
        gap = oracle.envelope(left, against) - self.envelope(left, against)
        return float(np.sum(gap * np.diff(cuts)))

    def _axis(self, against: str) -> np.ndarray:
        check_choice("against", against, ("depth", "flops"))
        return self.mean_depth if against == "depth" else self.mean_flops


def _sweep_parameter(policy: Any, parameter: str | None) -> str:
    name = getattr(policy, "sweep", None) if parameter is None else parameter
    allowed = (*policy.parameters, "cost")
    if name not in allowed:
        raise ValueError(
            f"parameter must be one of {list(allowed)} for {type(policy).__name__}, got {name!r}"
        )
    return str(name)


def policy_curve(
    policy: Any,
    calibration: ExitProblem,
    test: ExitProblem,
    values: Any,
    *,
    parameter: str | None = None,
    label: str | None = None,
    n_boot: int = 200,
    level: float = 0.95,
    rng: RNGLike = None,
) -> PolicyCurve:
    """Sweep ``policy`` over ``values`` of ``parameter``: fit on ``calibration``, evaluate on ``test``.

    Parameters
    ----------
    policy : ExitPolicy
        The template (its other parameters are kept).
    calibration, test : ExitProblem
        Labelled splits with the same exits and features.
    values : array_like
        Values of the parameter, one curve point each.
    parameter : str, optional
        Which parameter: one of ``policy.parameters`` or ``"cost"`` (refits on both problems priced at
        each cost). Default: the policy's ``sweep``.
    label : str, optional
        Default: the policy's name.
    n_boot : int, optional
        Bootstrap resamples of the test set (default 200; percentile intervals).
    level : float, optional
        Interval level (default 0.95).
    rng : seed, optional
        Randomness of the bootstrap and of the fits.

    Raises
    ------
    ValueError
        An unknown parameter, empty values, mismatched exits or features, unlabelled splits.
    """
    if not all(callable(getattr(policy, m, None)) for m in ("fit", "with_params")):
        raise TypeError(f"policy must be an ExitPolicy, got {type(policy).__name__}")
    calibration, test = _check_problem(calibration, "calibration"), _check_problem(test, "test")
    param = _sweep_parameter(policy, parameter)
    vals = np.atleast_1d(check_array("values", values, ndim=(0, 1), dtype=None))
    if vals.size == 0:
        raise ValueError("values must be a non-empty 1-D sequence")
    calibration.check_compatible(test)
    calibration.require_labels("fitting a policy curve")
    test.require_labels("evaluating a policy curve")
    n_boot = check_int("n_boot", n_boot, min=10)
    check_memory("n_boot", n_boot, 8 * test.n_samples, "the bootstrap resample indices")
    level = check_real("level", level, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    ss = spawn(rng, vals.size + 1)
    idx = as_generator(ss[0]).integers(0, test.n_samples, size=(n_boot, test.n_samples))
    q = [(1 - level) / 2, (1 + level) / 2]
    out: dict[str, list[Any]] = {k: [] for k in ("d", "f", "a", "lo", "hi", "r", "h")}
    for v, s in zip(vals, ss[1:], strict=True):
        if param == "cost":
            cal, tst, pol = calibration.with_cost(float(v)), test.with_cost(float(v)), policy.with_params()
        else:
            cal, tst, pol = calibration, test, policy.with_params(**{param: v.item()})
        ev = pol.fit(cal, rng=s).evaluate(tst)
        right = (tst.correct[np.arange(tst.n_samples), ev.exits]).astype(float)  # type: ignore[index]
        lo, hi = np.quantile(right[idx].mean(axis=1), q)
        for k, x in zip(
            out,
            (ev.mean_depth, ev.mean_flops, ev.accuracy, lo, hi, ev.reward.value, ev.exit_counts),
            strict=True,
        ):
            out[k].append(x)
    return PolicyCurve(
        label=policy.name if label is None else label,
        parameter=param,
        values=vals.astype(float),
        mean_depth=np.array(out["d"]),
        mean_flops=np.array(out["f"]),
        accuracy=np.array(out["a"]),
        accuracy_low=np.array(out["lo"]),
        accuracy_high=np.array(out["hi"]),
        reward=np.array(out["r"]),
        exit_histograms=np.array(out["h"]),
        level=level,
        n_samples=test.n_samples,
    )


def seed_curve(curves: Any, *, level: float = 0.95, label: str | None = None) -> PolicyCurve:
    """Pool curves of several seeds swept over the same values: means, Student intervals over seeds.

    Raises
    ------
    ValueError
        Fewer than two curves, or curves over other parameters, values or exits.
    """
    if isinstance(curves, PolicyCurve) or not hasattr(curves, "__iter__"):
        raise TypeError(f"curves must be a sequence of PolicyCurve objects, got {type(curves).__name__}")
    curves = list(curves)
    if len(curves) < 2 or not all(isinstance(c, PolicyCurve) for c in curves):
        raise ValueError(f"curves must be at least 2 PolicyCurve objects (one per seed), got {len(curves)}")
    first = curves[0]
    for c in curves[1:]:
        if c.parameter != first.parameter or not np.array_equal(c.values, first.values):
            raise ValueError("curves must sweep the same parameter over the same values")
        if c.exit_histograms.shape != first.exit_histograms.shape:
            raise ValueError("curves must have the same number of points and exits")
    level = check_real("level", level, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    S = len(curves)
    acc = np.stack([c.accuracy for c in curves])
    half = st.t.ppf((1 + level) / 2, S - 1) * acc.std(axis=0, ddof=1) / np.sqrt(S)
    mean = acc.mean(axis=0)

    def avg(name: str) -> np.ndarray:
        return np.mean([getattr(c, name) for c in curves], axis=0)

    return PolicyCurve(
        label=first.label if label is None else label,
        parameter=first.parameter,
        values=first.values,
        mean_depth=avg("mean_depth"),
        mean_flops=avg("mean_flops"),
        accuracy=mean,
        accuracy_low=mean - half,
        accuracy_high=mean + half,
        reward=avg("reward"),
        exit_histograms=avg("exit_histograms"),
        level=level,
        n_samples=first.n_samples,
        n_seeds=S,
    )
