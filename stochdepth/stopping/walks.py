r"""Stopping a random walk on a uniform grid: the Markov problem of any walk with a known increment law.

:math:`y_{l+1}=y_l+D_l` with i.i.d. increments of cdf :math:`F_D`, discretised on a uniform grid by
:func:`~stochdepth.stopping.random_walk_transitions` (cell probabilities from the cdf, banded storage).
The log-norm walk of a linear random ResNet (docs/science.md §A4, B6) is one such walk:
:func:`stochdepth.depth.linear_resnet_stopping_problem` builds it on this function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._checks import check_array, check_real
from .problems import MarkovStoppingProblem
from .transitions import random_walk_transitions

__all__ = ["random_walk_stopping_problem"]


def random_walk_stopping_problem(
    increment_cdf: Callable[[np.ndarray], np.ndarray],
    gain: Callable[[np.ndarray], np.ndarray],
    cost: float,
    grid: Any,
    *,
    horizon: int | None = None,
    discount: float = 1.0,
    initial: Any = None,
    absorbing_edges: bool = True,
) -> MarkovStoppingProblem:
    r"""Stopping a random walk :math:`y_{l+1}=y_l+D_l` on a uniform grid (any increment law with a cdf).

    Parameters
    ----------
    increment_cdf : callable
        Vectorised cdf of the increment :math:`D`.
    gain : callable
        :math:`g(y)`, vectorised over the grid.
    cost : float
        Cost per layer :math:`\ge0`.
    grid : array_like
        Uniform, increasing grid of :math:`y` values (at least 2 points).
    horizon : int, optional
        Finite horizon; default infinite.
    discount : float, optional
        :math:`\beta\in(0,1]`.
    initial : int or array_like, optional
        Initial state index or law on the grid.
    absorbing_edges : bool, optional
        The walk is stopped when it leaves the grid (default True: a reflecting edge would push a recurrent
        walk back and distort the value far inside the grid).

    Examples
    --------
    >>> from scipy import stats
    >>> grid = np.linspace(-2, 2, 81)
    >>> prob = random_walk_stopping_problem(stats.norm(0.05, 0.1).cdf, lambda y: -(y - 1) ** 2, 0.01, grid)
    >>> prob.n_states, prob.horizon is None
    (81, True)
    """
    for name, fn in (("increment_cdf", increment_cdf), ("gain", gain)):
        if not callable(fn):
            raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    cost = check_real("cost", cost, lo=0.0)
    y = check_array("grid", grid, ndim=1, min_size=2)
    h = float(y[1] - y[0])
    if h <= 0 or not np.allclose(np.diff(y), h, rtol=1e-9, atol=1e-12 * max(1.0, float(np.max(np.abs(y))))):
        raise ValueError("grid must be uniform and increasing")
    P = random_walk_transitions(increment_cdf, h, y.size, absorbing_edges=absorbing_edges)
    g = np.asarray(gain(y), dtype=float)
    return MarkovStoppingProblem(P, g, cost, horizon, discount=discount, initial=initial)
