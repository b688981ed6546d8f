r"""Choosing an exit policy by cross-validation on the calibration split (docs/science.md §B7.2).

A regression policy has choices a user cannot settle in advance: which features, which basis, how rich.
On a small calibration split a rich regression overfits (its stopping rule follows noise) and a poor one
misses structure; the choice that serves the test split best is not visible from the fit itself.
:class:`CrossValidatedExit` makes it the usual way: every candidate policy is fitted on all folds but
one and scored by its mean reward on the held-out fold, at the calibration problem's price; the
candidate with the best mean score over the folds is refitted on the whole calibration split. The test
split is never looked at (Stone 1974, *J. R. Stat. Soc. B* 36, 111-147).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._checks import check_int
from ..random import RNGLike, as_generator, spawn
from .exit_policies import ExitPolicy
from .exit_problem import ExitProblem

__all__ = ["CrossValidatedExit"]


class CrossValidatedExit(ExitPolicy):
    r"""The candidate exit policy with the best ``folds``-fold cross-validated mean reward.

    Fitting assigns the calibration samples to ``folds`` folds at random (sizes differing by at most
    one); for each fold, each candidate is fitted, unfitted copy by copy, on the other folds and
    evaluated on it; its score is the mean reward :math:`R_{i\tau_i}` over all held-out samples. The
    best candidate (the first on ties) is then fitted on the whole calibration split and decides.
    Fitting costs ``folds + 1`` fits of the chosen candidate and ``folds`` of each other one.

    Parameters
    ----------
    candidates : sequence of ExitPolicy
        The policies to choose from (with their own parameters; thresholds left as ``None`` are chosen
        inside each training part).
    folds : int, default 5
        Number of folds, at least 2.

    Attributes
    ----------
    chosen : ExitPolicy or None
        After :meth:`fit`, the winning candidate fitted on the whole calibration split.
    scores : tuple of float
        After :meth:`fit`, each candidate's cross-validated mean reward, in the order given.

    Examples
    --------
    >>> from stochdepth.depth import BellmanExit, ConfidenceExit, CrossValidatedExit, ExitProblem
    >>> from stochdepth.stopping import Polynomial
    >>> from stochdepth.testing.exit_traces import markov_exit_trace
    >>> trace, _ = markov_exit_trace(0, 600, [[0.7, 0.3], [0.0, 1.0]], [0.8, 0.2], [0.5, 0.95],
    ...                              [0.3, 2.0], 5, logit_noise=0.3)
    >>> cal = ExitProblem.from_trace(trace, cost=0.02)
    >>> policy = CrossValidatedExit([ConfidenceExit(), BellmanExit(Polynomial(1))]).fit(cal, rng=1)
    >>> len(policy.scores), policy.chosen is not None
    (2, True)
    """

    name = "cross-validated"
    parameters = ("candidates", "folds")

    def __init__(self, candidates: Sequence[ExitPolicy], folds: int = 5) -> None:
        if isinstance(candidates, (str, bytes)) or not isinstance(candidates, Sequence) or not candidates:
            raise TypeError(f"candidates must be a non-empty sequence of ExitPolicy, got {candidates!r}")
        for c in candidates:
            if not isinstance(c, ExitPolicy):
                raise TypeError(f"candidates must hold ExitPolicy objects, got {type(c).__name__}")
        self.candidates = tuple(candidates)
        self.folds = check_int("folds", folds, min=2)
        self.chosen: ExitPolicy | None = None
        self.scores: tuple[float, ...] = ()

    def _fit(self, calibration: ExitProblem, rng: RNGLike) -> None:
        calibration.require_labels("cross-validating exit policies")
        n = calibration.n_samples
        if n < 2 * self.folds:
            raise ValueError(
                f"calibration split too small for {self.folds}-fold cross-validation: {n} samples "
                f"(need at least {2 * self.folds})"
            )
        streams = spawn(rng, self.folds * len(self.candidates) + 2)
        fold = np.empty(n, dtype=np.int64)
        fold[as_generator(streams[0]).permutation(n)] = np.arange(n) % self.folds
        totals = np.zeros(len(self.candidates))
        for k in range(self.folds):
            train, held = calibration.subset(fold != k), calibration.subset(fold == k)
            for j, candidate in enumerate(self.candidates):
                stream = streams[1 + k * len(self.candidates) + j]
                ev = candidate.with_params().fit(train, rng=stream).evaluate(held)
                totals[j] += ev.reward.value * held.n_samples
        self.scores = tuple(float(t) for t in totals / n)
        best = int(np.argmax(totals))
        self.chosen = self.candidates[best].with_params().fit(calibration, rng=streams[-1])

    def _exits(self, problem: ExitProblem) -> np.ndarray:
        assert self.chosen is not None  # fit() ran
        return self.chosen.exits(problem)

    @property
    def label(self) -> str:
        return self.name if self.chosen is None else f"{self.name} {self.chosen.label}"

    def __repr__(self) -> str:
        return f"CrossValidatedExit(candidates={list(self.candidates)!r}, folds={self.folds})"
