r"""Risk-controlled exits: a threshold whose accuracy drop is guaranteed (docs/science.md §B7.4).

Learn then Test (Angelopoulos, Bates, Candès, Jordan & Lei 2021) as CALM uses it (Schuster et al.,
*Confident Adaptive Language Modeling*, NeurIPS 2022). For each threshold :math:`\lambda_j` of a fixed
grid, ordered from the most conservative (never exit early) to the least, the loss of a sample is

.. math::
    \ell_i(\lambda)=\mathbf 1\{\text{full depth right},\ \text{exit under }\lambda\text{ wrong}\},

whose mean bounds the accuracy drop against full depth from above. On :math:`N` calibration samples with
:math:`k_j` losses, the hypothesis :math:`H_j:\mathbb E\ell(\lambda_j)>\epsilon` has the p-value

* ``"binomial"``: :math:`p_j=\mathbb P(\mathrm{Bin}(N,\epsilon)\le k_j)`, valid because the binomial
  distribution function decreases in its success probability;
* ``"hoeffding-bentkus"``: :math:`p_j=\min\{e^{-N h(\hat r_j\wedge\epsilon,\,\epsilon)},\
  e\,\mathbb P(\mathrm{Bin}(N,\epsilon)\le\lceil N\hat r_j\rceil)\}` with :math:`\hat r_j=k_j/N` and
  :math:`h(a,b)=a\log\frac ab+(1-a)\log\frac{1-a}{1-b}` (Bates et al. 2021, Prop. 3; valid for any
  loss in :math:`[0,1]`, conservative here).

*Fixed-sequence testing*: reject :math:`H_1,H_2,\dots` while :math:`p_j\le\delta`; deploy the last rejected
threshold (none rejected: always full depth). The first true null in the sequence is rejected with
probability at most :math:`\delta`, and every threshold before it has risk :math:`\le\epsilon`, so

.. math::
    \mathbb P_{\rm cal}\big(\mathbb E[\ell(\hat\lambda)\mid\text{calibration}]>\epsilon\big)\le\delta ,

for exchangeable calibration and test samples; no monotonicity of the risk in :math:`\lambda` is needed
(it only makes the sequence efficient). The grid must not depend on the calibration data: the default
is a fixed grid of the score's range.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special
from scipy import stats as st

from .._checks import check_array, check_choice, check_int, check_real
from ..random import RNGLike
from .exit_policies import ExitPolicy, first_exit
from .exit_problem import ExitProblem

__all__ = ["RiskControlledExit", "risk_p_values"]

_SCORES = ("confidence", "entropy")
_P_VALUES = ("binomial", "hoeffding-bentkus")


def risk_p_values(losses: Any, n: int, epsilon: float, method: str = "binomial") -> np.ndarray:
    r"""p-values of :math:`H:\ \text{risk}>\epsilon` from the loss counts ``losses`` among ``n`` samples.

    Examples
    --------
    >>> bool(abs(risk_p_values([0], 100, 0.05)[0] - 0.95 ** 100) < 1e-15)   # P(Bin(100, 0.05) = 0)
    True
    >>> bool(risk_p_values([3], 100, 0.05, "hoeffding-bentkus")[0] >= risk_p_values([3], 100, 0.05)[0])
    True
    """
    n = check_int("n", n, min=1)
    epsilon = check_real("epsilon", epsilon, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    check_choice("method", method, _P_VALUES)
    k = check_array("losses", losses, ndim=(0, 1))
    if np.any(k < 0) or np.any(k > n):
        raise ValueError(f"losses must be counts between 0 and n = {n}")
    binom = st.binom.cdf(k, n, epsilon)
    if method == "binomial":
        return binom
    a = np.minimum(k / n, epsilon)
    h = special.xlogy(a, a / epsilon) + special.xlogy(1 - a, (1 - a) / (1 - epsilon))
    return np.minimum(np.minimum(np.exp(-n * h), math.e * st.binom.cdf(np.ceil(k), n, epsilon)), 1.0)


class RiskControlledExit(ExitPolicy):
    r"""A confidence (or entropy) threshold with :math:`\mathbb P(\text{risk}>\epsilon)\le\delta`.

    See the module docstring for the procedure and the guarantee.

    Parameters
    ----------
    epsilon : float
        Largest tolerated risk (bound on the accuracy drop against full depth), in (0, 1).
    delta : float
        Probability, over the calibration draw, that the guarantee fails, in (0, 1).
    score : {"confidence", "entropy"}, optional
        Exit when the confidence is :math:`\ge\lambda` (or the entropy :math:`\le\lambda`).
    p_value : {"binomial", "hoeffding-bentkus"}, optional
    grid : array_like, optional
        Thresholds in the score's units, tested from the most to the least conservative; default 201
        evenly spaced values over the score's range (:math:`[1/K,1]` or :math:`[0,\log K]`, :math:`K`
        classes).

    Attributes
    ----------
    threshold_ : float
        The deployed threshold (``inf`` for confidence, ``-inf`` for entropy: never exit early).
    p_values_, losses_ : ndarray
        Per grid point (after :meth:`fit`).

    Examples
    --------
    >>> from stochdepth.depth import ExitProblem, Trace
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 400)
    >>> logits = np.zeros((400, 3, 2)); logits[np.arange(400), :, y] = [[1.0, 2.0, 4.0]]
    >>> trace = Trace.from_outputs(logits, y, hidden_norms=np.ones((400, 3)),
    ...     hidden_projection=np.zeros((400, 3, 1)), residual_norms=np.ones((400, 3)), flops=np.ones(3))
    >>> pol = RiskControlledExit(0.05, 0.1).fit(ExitProblem.from_trace(trace))
    >>> pol.threshold_ <= 0.74   # every exit is right here: the first exit is deployed
    True
    """

    name = "risk-controlled"
    parameters = ("epsilon", "delta", "score", "p_value", "grid")
    sweep = "epsilon"

    def __init__(
        self,
        epsilon: float = 0.01,
        delta: float = 0.1,
        *,
        score: str = "confidence",
        p_value: str = "binomial",
        grid: Any = None,
    ) -> None:
        self.epsilon = check_real("epsilon", epsilon, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        self.delta = check_real("delta", delta, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        self.score = check_choice("score", score, _SCORES)
        self.p_value = check_choice("p_value", p_value, _P_VALUES)
        self.grid = None if grid is None else check_array("grid", grid, ndim=1)
        self.threshold_: float | None = None
        self.p_values_: np.ndarray | None = None
        self.losses_: np.ndarray | None = None

    def _signed(self, x: np.ndarray) -> np.ndarray:
        """Scores (or thresholds) in 'exit when >=' units."""
        return x if self.score == "confidence" else -x

    def _thresholds(self, problem: ExitProblem) -> np.ndarray:
        if self.grid is not None:
            lam = np.asarray(self.grid, dtype=float)
        elif self.score == "confidence":
            lam = np.linspace(1.0, 1.0 / problem.n_classes, 201)
        else:
            lam = np.linspace(0.0, math.log(problem.n_classes), 201)
        lam = lam[np.argsort(-self._signed(lam), kind="stable")]  # most conservative first
        never = np.inf if self.score == "confidence" else -np.inf
        return np.concatenate([[never], lam])

    def _fit(self, calibration: ExitProblem, rng: RNGLike) -> None:
        correct = calibration.require_labels("the risk-controlled threshold")
        n = calibration.n_samples
        lam = self._thresholds(calibration)
        s = self._signed(calibration.confidence if self.score == "confidence" else calibration.entropy)
        tau = first_exit(s[None, :, :] >= self._signed(lam)[:, None, None])  # (K, n)
        right = correct[np.arange(n)[None, :], tau]
        losses = np.sum(correct[None, :, -1] & ~right, axis=1)
        p = risk_p_values(losses, n, self.epsilon, self.p_value)
        rejected = np.cumprod(p <= self.delta).astype(bool)
        last = int(np.sum(rejected)) - 1
        self.threshold_ = float(lam[last]) if last >= 0 else float(lam[0])
        self.p_values_, self.losses_ = p, losses

    def _exits(self, problem: ExitProblem) -> np.ndarray:
        assert self.threshold_ is not None
        s = self._signed(problem.confidence if self.score == "confidence" else problem.entropy)
        return first_exit(s >= self._signed(np.asarray(self.threshold_)))

    @property
    def label(self) -> str:
        return f"{self.name} (eps={self.epsilon:g}, delta={self.delta:g})"
