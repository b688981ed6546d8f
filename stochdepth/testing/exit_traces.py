r"""Synthetic traces of early-exit networks whose optimal exit policy is known (docs/science.md §B7).

* :func:`markov_exit_trace` -- a hidden state :math:`s_l` on :math:`0..S-1` moves as a Markov chain over
  the exits; exit :math:`l` shows a confidence that is a function of :math:`s_l` only and is right with
  probability :math:`q(s_l)`, independently across exits given the states. With the confidence as the
  only feature, the partially observed problem is the Markov stopping problem with gains
  :math:`q(s)-c\,(l+1)` (:func:`markov_exit_reference` builds it), whose Snell envelope the exact
  solvers of :mod:`stochdepth.stopping` compute;
* :func:`resolving_exit_trace` -- each sample is wrong with a low confidence until its own depth
  :math:`d_i`, then right with a high confidence: the optimal exit for any small cost is :math:`d_i`.

Residual norms decay geometrically, :math:`\|f_l\|=C\rho^le^{\eta_{il}}` with Gaussian :math:`\eta`, so
the same traces serve the B2 decay fits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..depth import Trace
from ..random import RNGLike, as_generator
from ..stopping import MarkovStoppingProblem

__all__ = ["markov_exit_reference", "markov_exit_trace", "resolving_exit_trace"]


def _trace(
    gen: np.random.Generator,
    right: np.ndarray,
    margin: np.ndarray,
    n_classes: int,
    rho: float,
    noise: float,
    logit_noise: float = 0.0,
) -> Trace:
    """Logits: the predicted class (the label if right, else another) at logit ``margin`` above the rest."""
    n, L = right.shape
    labels = gen.integers(0, n_classes, size=n)
    wrong = (labels[:, None] + gen.integers(1, n_classes, size=(n, L))) % n_classes
    pred = np.where(right, labels[:, None], wrong)
    logits = np.zeros((n, L, n_classes))
    np.put_along_axis(logits, pred[:, :, None], margin[:, :, None], axis=2)
    if logit_noise > 0:
        logits += logit_noise * gen.standard_normal(logits.shape)
    steps = rho ** np.arange(L, dtype=float)[None, :] * np.exp(noise * gen.standard_normal((n, L)))
    return Trace.from_outputs(
        logits,
        labels,
        hidden_norms=1.0 + np.cumsum(steps, axis=1),
        hidden_projection=gen.standard_normal((n, L, 2)),
        residual_norms=steps,
        flops=np.arange(1.0, L + 1.0),
        model="synthetic",
    )


def markov_exit_trace(
    rng: RNGLike,
    n: int,
    transitions: Any,
    initial: Any,
    accuracy: Any,
    margins: Any,
    n_exits: int,
    *,
    n_classes: int = 2,
    rho: float = 0.8,
    noise: float = 0.1,
    logit_noise: float = 0.0,
) -> tuple[Trace, np.ndarray]:
    """A trace driven by a hidden Markov state (module docstring) and the states ``(n, n_exits)``.

    ``margins[s] > 0`` is the predicted class's logit in state ``s`` (distinct values give distinct
    confidences); ``accuracy[s]`` the probability that the exit is right. ``logit_noise > 0`` adds
    Gaussian noise to every logit (continuous features, as a real network's; the confidence then no
    longer reveals the state exactly, and the argmax, hence correctness, may change).
    """
    gen = as_generator(rng)
    P = np.asarray(transitions, dtype=float)
    S = P.shape[0]
    states = np.empty((n, n_exits), dtype=np.int64)
    states[:, 0] = gen.choice(S, size=n, p=np.asarray(initial, dtype=float))
    cum = np.cumsum(P, axis=1)
    for l in range(1, n_exits):
        u = gen.random(n)
        states[:, l] = np.minimum((u[:, None] > cum[states[:, l - 1]]).sum(axis=1), S - 1)
    right = gen.random((n, n_exits)) < np.asarray(accuracy, dtype=float)[states]
    margin = np.asarray(margins, dtype=float)[states]
    return _trace(gen, right, margin, n_classes, rho, noise, logit_noise), states


def markov_exit_reference(
    transitions: Any, initial: Any, accuracy: Any, n_exits: int, cost: float
) -> MarkovStoppingProblem:
    r"""The exact stopping problem of :func:`markov_exit_trace` seen through its confidence.

    Gains :math:`q(s)-c\,(l+1)` at exit :math:`l` (the reward's conditional mean given the state, which
    the confidence reveals), horizon ``n_exits - 1``; its value is the best mean reward of any policy
    that sees the confidences.
    """
    q = np.asarray(accuracy, dtype=float)
    L = n_exits - 1
    gains = np.stack([q - cost * (l + 1) for l in range(L + 1)])
    return MarkovStoppingProblem(transitions, gains, 0.0, L, initial=np.asarray(initial, dtype=float))


def resolving_exit_trace(
    rng: RNGLike,
    n: int,
    n_exits: int,
    *,
    n_classes: int = 4,
    low: float = 0.2,
    high: float = 6.0,
    rho: float = 0.8,
    noise: float = 0.1,
) -> tuple[Trace, np.ndarray]:
    """A trace whose samples become right, and confident, at their own depth; and those depths ``(n,)``.

    Before the depth :math:`d_i` (uniform on ``0..n_exits-1``) the exit is wrong with logit margin
    ``low``; from it on, right with margin ``high``.
    """
    gen = as_generator(rng)
    depth = gen.integers(0, n_exits, size=n)
    ell = np.arange(n_exits)[None, :]
    right = ell >= depth[:, None]
    margin = np.where(right, high, low)
    return _trace(gen, right, margin, n_classes, rho, noise), depth
