r"""The exit problem of a trained network: what a policy may observe, kept apart from what it is paid.

From a :class:`~stochdepth.depth.Trace` (one network run over one data split), an :class:`ExitProblem`
holds, per sample :math:`i` and exit :math:`l` (docs/science.md §B7.1):

* the **observations** :math:`F_{il}` -- features computed from the input alone (exit confidence,
  entropy, the margin between the two largest probabilities, the log-odds of the confidence, whether
  the prediction agrees with the previous exit's, the streak of exits in a row with the same prediction,
  the hidden-state norm, the exit's index), and the
  predictions themselves (for patience rules);
* the **reward** :math:`R_{il}=\mathbf 1\{\hat y_{il}=y_i\}-c\,u_l`, where :math:`u_l` is the cost of
  exiting at :math:`l` in layers (``cost_unit="layers"``: :math:`u_l` is the exit's depth) or in FLOPs
  (``cost_unit="flops"``: :math:`u_l=L\,\text{FLOPs}_l/\text{FLOPs}_{L-1}`, the exit's FLOPs in units
  of an average layer of the full network, so that :math:`c` means the same in both units).

The reward needs the label: policies never read it; it serves to fit (on a calibration split) and to
evaluate (on a test split). :meth:`ExitProblem.stopping_problem` hands the problem to the generic
solvers as a :class:`~stochdepth.stopping.PathStoppingProblem` with ``gains_observed=False``, so that
they decide from the features and report the pathwise maximum as the label oracle it is
(docs/science.md §B7.2-§B7.3). A problem built with ``labelled=False`` (deployment data) has no
reward: policies fitted elsewhere can still choose its exits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._checks import check_array, check_bool, check_choice, check_real
from .._results import Result
from ..random import RNGLike, as_generator
from ..stopping import PathStoppingProblem
from .traces import Trace

__all__ = ["EXIT_FEATURES", "ExitProblem", "prediction_streaks"]

#: Features an exit problem can offer to policies (all computed from the input alone).
EXIT_FEATURES: tuple[str, ...] = (
    "confidence",
    "entropy",
    "margin",
    "log_odds",
    "agreement",
    "streak",
    "hidden_norm",
    "layer",
)
_DEFAULT_FEATURES = ("confidence", "entropy", "margin", "streak")
_UNITS = ("layers", "flops")


def _feature_columns(trace: Trace, names: tuple[str, ...]) -> np.ndarray:
    n, L = trace.n_samples, trace.n_exits
    probs = np.sort(_softmax(trace.logits), axis=-1)
    top2 = probs[..., -2] if trace.n_classes > 1 else np.zeros((n, L))
    conf = np.clip(trace.confidence, 1e-12, 1 - 1e-12)
    agree = np.ones((n, L))
    agree[:, 1:] = trace.predictions[:, 1:] == trace.predictions[:, :-1]
    table = {
        "confidence": lambda: trace.confidence,
        "entropy": lambda: trace.entropy,
        "margin": lambda: probs[..., -1] - top2,
        "log_odds": lambda: np.log(conf) - np.log1p(-conf),
        "agreement": lambda: agree,
        "streak": lambda: prediction_streaks(trace.predictions),
        "hidden_norm": lambda: trace.hidden_norms,
        "layer": lambda: np.broadcast_to(np.arange(L, dtype=float), (n, L)),
    }
    return np.stack([np.asarray(table[k](), dtype=float) for k in names], axis=2)


def _check_problem(problem: Any, what: str) -> ExitProblem:
    """``problem`` if it is an :class:`ExitProblem`, else a ``TypeError`` naming ``what``."""
    if not isinstance(problem, ExitProblem):
        raise TypeError(f"{what} must be an ExitProblem, got {type(problem).__name__}")
    return problem


def prediction_streaks(predictions: np.ndarray) -> np.ndarray:
    """Number of exits in a row, ending at each exit, whose prediction equals the one before, ``(n, L)``.

    Examples
    --------
    >>> prediction_streaks(np.array([[0, 1, 1, 1, 0]])).tolist()
    [[0, 0, 1, 2, 0]]
    """
    predictions = check_array("predictions", predictions, ndim=2, dtype=None)
    counts = np.zeros(predictions.shape, dtype=np.int64)
    for l in range(1, predictions.shape[1]):  # a loop over exits, vectorised over samples
        counts[:, l] = np.where(predictions[:, l] == predictions[:, l - 1], counts[:, l - 1] + 1, 0)
    return counts


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


@dataclass(frozen=True, repr=False)
class ExitProblem(Result):
    r"""Observations and rewards of the exits of a trained network on one data split.

    Build it with :meth:`from_trace`. ``n`` samples, ``L`` exits, ``d`` features.

    Attributes
    ----------
    features : ndarray (n, L, d)
        What a policy may look at after each exit (named by ``feature_names``).
    feature_names : tuple of str
    predictions, confidence, entropy : ndarray (n, L)
        The exits' predictions, top probabilities and entropies (observable).
    correct : ndarray (n, L) of bool, or None
        Whether each exit is right (needs the label; ``None`` for unlabelled data).
    depths : ndarray (L,)
        Depth of each exit (layers used when exiting there).
    flops : ndarray (L,)
        Cumulative FLOPs of each exit.
    n_classes : int
        Number of classes of the exits.
    cost : float
        :math:`c\ge0`, the price of one unit of computation.
    cost_unit : str
        ``"layers"`` or ``"flops"`` (module docstring).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> trace = Trace.from_outputs(
    ...     rng.standard_normal((8, 4, 3)), rng.integers(0, 3, 8), hidden_norms=np.ones((8, 4)),
    ...     hidden_projection=np.zeros((8, 4, 1)), residual_norms=np.ones((8, 4)),
    ...     flops=np.array([1.0, 2.0, 3.0, 4.0]))
    >>> prob = ExitProblem.from_trace(trace, cost=0.01)
    >>> prob.features.shape, prob.feature_names[:2]
    ((8, 4, 4), ('confidence', 'entropy'))
    >>> bool(np.allclose(prob.rewards, trace.correct - 0.01 * np.arange(1, 5)))
    True
    """

    features: np.ndarray
    feature_names: tuple[str, ...]
    predictions: np.ndarray
    confidence: np.ndarray
    entropy: np.ndarray
    correct: np.ndarray | None
    depths: np.ndarray
    flops: np.ndarray
    n_classes: int = 2
    cost: float = 0.0
    cost_unit: str = "layers"
    name: str = ""

    @classmethod
    def from_trace(
        cls,
        trace: Trace,
        *,
        cost: float = 0.0,
        cost_unit: str = "layers",
        features: Any = _DEFAULT_FEATURES,
        depths: Any = None,
        labelled: bool = True,
    ) -> ExitProblem:
        """The exit problem of ``trace``.

        Parameters
        ----------
        trace : Trace
        cost : float, optional
            :math:`c\\ge0` per unit of ``cost_unit``. Default 0.
        cost_unit : {"layers", "flops"}, optional
        features : sequence of str, optional
            Names from :data:`EXIT_FEATURES`. Default confidence, entropy, margin, streak (the one
            feature that carries the history: the Bellman regression on the current exit's features
            alone cannot do what patience does). (A binary feature
            such as ``"agreement"`` makes a polynomial basis of degree 2 rank-deficient, its square
            being itself: the regressions then fall back to a slower truncated SVD.)
        depths : array_like (L,), optional
            Depth of each exit; default ``1, ..., L``.
        labelled : bool, optional
            ``False`` drops the correctness (deployment data): the problem then has no reward.

        Raises
        ------
        TypeError
            ``trace`` not a Trace.
        ValueError
            Unknown feature names or cost unit, a negative cost, depths of the wrong shape.
        """
        if not isinstance(trace, Trace):
            raise TypeError(f"trace must be a stochdepth.depth.Trace, got {type(trace).__name__}")
        if not isinstance(features, (str, list, tuple)):
            raise TypeError(f"features must be a name or a sequence of names, got {type(features).__name__}")
        names = (features,) if isinstance(features, str) else tuple(features)
        unknown = [f for f in names if f not in EXIT_FEATURES]
        if unknown or not names:
            raise ValueError(f"features must be names from {EXIT_FEATURES}, got {list(names)}")
        check_bool("labelled", labelled)
        L = trace.n_exits
        d = np.arange(1, L + 1, dtype=float) if depths is None else np.asarray(depths, dtype=float)
        if d.shape != (L,) or not np.all(np.isfinite(d)):
            raise ValueError(f"depths must be {L} finite numbers (one per exit), got shape {d.shape}")
        return cls(
            features=_feature_columns(trace, names),
            feature_names=names,
            predictions=trace.predictions,
            confidence=trace.confidence,
            entropy=trace.entropy,
            correct=trace.correct if labelled else None,
            depths=d,
            flops=np.asarray(trace.flops, dtype=float),
            n_classes=trace.n_classes,
            cost=cost,
            cost_unit=cost_unit,
            name=trace.model,
        )

    def __post_init__(self) -> None:
        object.__setattr__(self, "cost", check_real("cost", self.cost, lo=0.0))
        check_choice("cost_unit", self.cost_unit, _UNITS)
        if self.features.ndim != 3:
            raise ValueError(f"features must have shape (n, n_exits, d), got {self.features.shape}")
        if self.features.shape[1] < 2:
            raise ValueError(f"an exit problem needs at least 2 exits, got {self.features.shape[1]}")

    # -- description -----------------------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        return int(self.features.shape[0])

    @property
    def n_exits(self) -> int:
        return int(self.features.shape[1])

    @property
    def labelled(self) -> bool:
        return self.correct is not None

    @property
    def units(self) -> np.ndarray:
        """Cost units :math:`u_l` of each exit, ``(L,)`` (layers or FLOPs in average-layer units)."""
        if self.cost_unit == "layers":
            return self.depths
        return self.n_exits * self.flops / self.flops[-1]

    def require_labels(self, what: str) -> np.ndarray:
        """The correctness array; a clear error naming ``what`` needs it when the problem is unlabelled."""
        if self.correct is None:
            raise ValueError(
                f"{what} needs the labels, but this exit problem is unlabelled (labelled=False): pass a "
                "labelled split"
            )
        return self.correct

    @property
    def rewards(self) -> np.ndarray:
        r"""Rewards :math:`R_{il}=\mathbf 1\{\text{exit } l\text{ right}\}-c\,u_l`, (n, L); needs labels."""
        return self.require_labels("the reward").astype(float) - self.cost * self.units[None, :]

    # -- derived problems ------------------------------------------------------------------------------
    def with_cost(self, cost: float, cost_unit: str | None = None) -> ExitProblem:
        """The same observations priced at another cost (and unit)."""
        return replace(self, cost=cost, cost_unit=self.cost_unit if cost_unit is None else cost_unit)

    def subset(self, index: Any) -> ExitProblem:
        """The problem restricted to the samples ``index`` (index array or boolean mask)."""
        idx = np.asarray(index)
        return replace(
            self,
            features=self.features[idx],
            predictions=self.predictions[idx],
            confidence=self.confidence[idx],
            entropy=self.entropy[idx],
            correct=None if self.correct is None else self.correct[idx],
        )

    def split(self, fraction: float, *, rng: RNGLike = None) -> tuple[ExitProblem, ExitProblem]:
        """Random split into (calibration, test) with ``round(fraction * n)`` samples in the first."""
        fraction = check_real("fraction", fraction, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        k = round(fraction * self.n_samples)
        if k < 1 or k >= self.n_samples:
            raise ValueError(f"fraction={fraction} leaves an empty part of {self.n_samples} samples")
        perm = as_generator(rng).permutation(self.n_samples)
        return self.subset(np.sort(perm[:k])), self.subset(np.sort(perm[k:]))

    def check_compatible(self, other: ExitProblem, what: str = "test") -> None:
        """Raise a ValueError when ``other`` (named ``what``) has other exits, features or cost."""
        if not isinstance(other, ExitProblem):
            raise TypeError(f"{what} must be an ExitProblem, got {type(other).__name__}")
        if other.n_exits != self.n_exits:
            raise ValueError(
                f"{what} has {other.n_exits} exits but the policy was fitted on {self.n_exits} "
                "(mismatched exits)"
            )
        if not np.array_equal(other.depths, self.depths):
            raise ValueError(f"{what} has exit depths {other.depths}, the policy was fitted on {self.depths}")
        if other.feature_names != self.feature_names:
            raise ValueError(
                f"{what} has features {other.feature_names}, the policy was fitted on {self.feature_names}"
            )

    def stopping_problem(self) -> PathStoppingProblem:
        """The problem for the generic solvers: features, rewards as gains, ``gains_observed=False``.

        Unlabelled problems get zero gains (never read: no policy observes them).
        """
        gains = self.rewards if self.labelled else np.zeros(self.features.shape[:2])
        return PathStoppingProblem(self.features, gains, 0.0, gains_observed=False)

    def outcome(self, exits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(correct at the chosen exit, reward there) of each sample, for exit indices ``exits``."""
        rows = np.arange(self.n_samples)
        right = self.require_labels("evaluating exits")[rows, exits]
        return right, right - self.cost * self.units[exits]
