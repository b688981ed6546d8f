"""Strategies for discrete optimal stopping: row-stochastic matrices and Markov stopping problems
(docs/science.md §B1), monotone by construction or not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from hypothesis import strategies as hst

from ..._checks import check_bool, check_int, check_real
from ..generators import lattice_upward_chain
from ..generators import monotone_problem as build_monotone
from ._common import check_optional_bool

if TYPE_CHECKING:  # pragma: no cover
    from hypothesis.strategies import SearchStrategy

    from ...stopping import MarkovStoppingProblem

__all__ = ["markov_stopping_problems", "stochastic_matrices"]


# gains on a coarse grid so that exact ties (which must stop) happen often
_GAIN_VALUES = hst.integers(-8, 8).map(lambda k: k / 4.0)


def stochastic_matrices(n: int, *, max_weight: int = 4) -> SearchStrategy[np.ndarray]:
    r"""Row-stochastic ``(n, n)`` matrices with exact zeros.

    Each row is drawn as integer weights in ``[0, max_weight]`` (a zero row gets one random entry set to
    1) and normalised, so transition probabilities are simple fractions and zeros are frequent
    (absorbing states, unreachable states, deterministic moves).

    Parameters
    ----------
    n : int
        Number of states, ``>= 1``.
    max_weight : int, optional
        Largest integer weight (``>= 1``). Default 4.

    Returns
    -------
    hypothesis strategy of numpy.ndarray

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(stochastic_matrices(3))
    ... def check(P):
    ...     assert P.shape == (3, 3) and (P >= 0).all() and np.allclose(P.sum(axis=1), 1.0)
    >>> check()
    """
    n = check_int("n", n, min=1)
    w_max = check_int("max_weight", max_weight, min=1)

    @hst.composite
    def draw_matrix(draw: Any) -> np.ndarray:
        rows = []
        for _ in range(n):
            w = np.array(draw(hst.lists(hst.integers(0, w_max), min_size=n, max_size=n)), dtype=float)
            if w.sum() == 0:
                w[draw(hst.integers(0, n - 1))] = 1.0
            rows.append(w / w.sum())
        return np.array(rows)

    return draw_matrix()


def _initial_law(draw: Any, n: int, fallback: int) -> np.ndarray:
    w = np.array(draw(hst.lists(hst.integers(0, 3), min_size=n, max_size=n)), dtype=float)
    if w.sum() == 0:
        w[fallback] = 1.0
    return w / w.sum()


def markov_stopping_problems(
    max_states: int = 4,
    max_horizon: int = 4,
    *,
    infinite: bool = False,
    monotone: bool | None = None,
    discount: float | None = None,
) -> SearchStrategy[MarkovStoppingProblem]:
    r"""Small random optimal stopping problems on finite Markov chains (docs/science.md §B1).

    Payoff :math:`Z_l=\beta^lg_l(s_l)-\sum_{k<l}\beta^kc_k`; gains on the grid :math:`\{k/4\}`,
    :math:`|k|\le8`, and costs on :math:`\{k/8\}` so that exact ties (where the smallest optimal time must
    stop) are frequent. Every drawn problem carries an initial law.

    * finite horizon (default): :math:`S\le` ``max_states`` states, :math:`L\le` ``max_horizon`` layers,
      homogeneous or layer-dependent transitions (:func:`stochastic_matrices`), gains constant or per
      layer, one cost or one per layer, :math:`\beta\in\{1,0.9\}`;
    * ``infinite=True``: homogeneous chains with :math:`c>0`, or :math:`c=0` and :math:`\beta=0.95`
      (the value is finite; ``max_horizon`` is ignored);
    * ``monotone=True``: monotone problems *by construction* -- an upward chain on :math:`0..S-1` (the top
      absorbing) with gains chosen so that the one-step gain
      :math:`d(s)=\mathbb E[g(s')\mid s]-g(s)-c` is non-increasing in :math:`s`; the look-ahead set
      :math:`\{d\le0\}` is then an up-set, closed under the chain's moves, and one-step look-ahead is
      optimal (Chow, Robbins & Siegmund 1971, Thm 3.5; docs/science.md §B2). :math:`\beta=1`, :math:`c>0`;
    * ``monotone=False``: problems that are *not* monotone (checked with
      :func:`stochdepth.stopping.is_monotone`; drawn among at least 2 states).

    Parameters
    ----------
    max_states : int, optional
        Largest number of states (``>= 1``; ``>= 2`` for ``monotone`` not None).
    max_horizon : int, optional
        Largest horizon of finite-horizon problems (``>= 1``).
    infinite : bool, optional
        Draw infinite-horizon problems. Default False.
    monotone : bool or None, optional
        See above; ``None`` (default): no constraint.
    discount : float, optional
        Fix :math:`\beta\in(0,1]` instead of drawing it (monotone problems need :math:`\beta=1`;
        infinite-horizon ones with :math:`\beta=1` get :math:`c>0`).

    Returns
    -------
    hypothesis strategy of MarkovStoppingProblem

    References
    ----------
    Chow, Robbins & Siegmund, *Great Expectations: The Theory of Optimal Stopping* (1971), ch. 3-4.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from stochdepth.stopping import OneStepLookAhead, is_monotone, solve_stopping
    >>> @settings(max_examples=5)
    ... @given(markov_stopping_problems(monotone=True))
    ... def check(prob):
    ...     assert is_monotone(prob)
    ...     osla = OneStepLookAhead.fit(prob).evaluate(prob).value.value
    ...     assert abs(osla - solve_stopping(prob).value()) < 1e-9
    >>> check()
    """
    from ...stopping import MarkovStoppingProblem, is_monotone

    monotone = check_optional_bool("monotone", monotone)
    check_bool("infinite", infinite)
    max_states = check_int("max_states", max_states, min=1 if monotone is None else 2)
    max_horizon = check_int("max_horizon", max_horizon, min=1)
    beta = None if discount is None else check_real("discount", discount, lo=0.0, hi=1.0, lo_open=True)
    if monotone and beta not in (None, 1.0):
        raise ValueError(f"discount must be 1 (or None) for monotone problems, got {beta}")

    @hst.composite
    def finite_problem(draw: Any) -> MarkovStoppingProblem:
        n = draw(hst.integers(1 if monotone is None else 2, max_states))
        L = draw(hst.integers(1, max_horizon))
        layer_dep = draw(hst.booleans())
        P = (
            np.stack([draw(stochastic_matrices(n)) for _ in range(L)])
            if layer_dep
            else draw(stochastic_matrices(n))
        )
        per_layer_gains = draw(hst.booleans())
        size = n * (L + 1)
        g = np.array(draw(hst.lists(_GAIN_VALUES, min_size=size, max_size=size))).reshape(L + 1, n)
        gains = g if per_layer_gains else g[0]
        costs: Any
        if draw(hst.booleans()):
            costs = float(draw(hst.integers(0, 4))) / 8.0
        else:
            costs = np.array(draw(hst.lists(hst.integers(0, 4), min_size=L, max_size=L)), dtype=float) / 8.0
        b = beta if beta is not None else draw(hst.sampled_from([1.0, 1.0, 0.9]))
        return MarkovStoppingProblem(P, gains, costs, horizon=L, discount=b, initial=_initial_law(draw, n, 0))

    @hst.composite
    def infinite_problem(draw: Any) -> MarkovStoppingProblem:
        n = draw(hst.integers(1 if monotone is None else 2, max_states))
        P = draw(stochastic_matrices(n))
        g = np.array(draw(hst.lists(_GAIN_VALUES, min_size=n, max_size=n)))
        b = beta if beta is not None else draw(hst.sampled_from([1.0, 0.95]))
        c = draw(hst.integers(1 if b == 1.0 else 0, 4)) / 8.0
        return MarkovStoppingProblem(P, g, c, discount=b, initial=_initial_law(draw, n, n - 1))

    @hst.composite
    def monotone_problem(draw: Any) -> MarkovStoppingProblem:
        n = draw(hst.integers(2, max_states))
        L = draw(hst.integers(1, max_horizon))
        c = draw(hst.integers(1, 4)) / 8.0
        P = lattice_upward_chain(
            [draw(hst.lists(hst.integers(0, 3), min_size=n - s, max_size=n - s)) for s in range(n - 1)]
        )
        # target one-step gains: non-increasing, all >= -c (d(n-1) = -c at the absorbing top)
        d = np.sort(
            np.array(draw(hst.lists(hst.integers(-1, 6), min_size=n - 1, max_size=n - 1)), dtype=float) / 4.0
        )[::-1]
        top = draw(_GAIN_VALUES)
        horizon = None if infinite else L
        return build_monotone(P, np.maximum(d, -c), c, top, horizon=horizon, initial=_initial_law(draw, n, 0))

    if monotone:
        return monotone_problem()
    base = infinite_problem() if infinite else finite_problem()
    if monotone is None:
        return base
    return base.filter(lambda prob: not is_monotone(prob))
