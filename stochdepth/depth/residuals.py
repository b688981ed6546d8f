r"""B2 residual families: residual networks :math:`h_{l+1}=h_l+f_l(h_l)` as stopping problems.

docs/science.md §B2 bounds the optimal depth of a residual network whose residuals are small: with gains
:math:`G_l=g(h_l)`, :math:`g` :math:`L_g`-Lipschitz, and a cost :math:`c` per layer,

* bounded gains: :math:`\mathbb E\tau^\star\le(\mathbb E\sup_lG_l-\mathbb EG_0)/c`;
* summable residuals, :math:`S=\sum_l\sup_h\|f_l(h)\|<\infty`: :math:`\mathbb E\tau^\star\le L_gS/c`;
* geometric residuals :math:`\sup_h\|f_l(h)\|\le C\rho^l`: :math:`\tau^\star\le
  \max(0,\lceil\ln(c/(L_gC))/\ln\rho\rceil)` almost surely.

The bound formulas are generic statements about stopping problems and live in
:mod:`stochdepth.stopping.bounds`; this module builds the networks they are about:

* :func:`residual_path_problem` -- the deterministic paths of a residual network from several inputs, as a
  :class:`~stochdepth.stopping.PathStoppingProblem`;
* :class:`ResidualFamily` -- such a problem with the constants it declares (:math:`L_g`, :math:`C`,
  :math:`\rho`, :math:`\sup_h\|f_l\|`) and which hypothesis, if any, it violates;
  :meth:`ResidualFamily.depth_bound` computes the bound it is built for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_array, check_int
from .._results import Result
from ..stopping import (
    DepthBound,
    PathStoppingProblem,
    bounded_gains_bound,
    geometric_depth_bound,
    summable_residuals_bound,
)

__all__ = ["ResidualFamily", "residual_path_problem"]


def residual_path_problem(
    residual: Callable[[int, np.ndarray], np.ndarray],
    gain: Callable[[np.ndarray], np.ndarray],
    h0: Any,
    horizon: int,
    costs: Any = 0.0,
) -> PathStoppingProblem:
    r"""Deterministic residual paths :math:`h_{l+1}=h_l+f_l(h_l)` with gains :math:`G_l=g(h_l)`.

    Parameters
    ----------
    residual : callable
        ``residual(l, h)`` with ``h`` of shape ``(m, d)`` returning :math:`f_l(h)` of the same shape.
    gain : callable
        ``gain(h)`` returning ``(m,)``.
    h0 : array_like
        Starting states ``(m, d)`` (``(m,)`` means ``d = 1``).
    horizon : int
        :math:`L\ge1`.
    costs : float or array_like, optional
        Cost per layer.

    Returns
    -------
    PathStoppingProblem
        With ``deterministic=True``.
    """
    h = check_array("h0", h0, ndim=(1, 2), min_size=1)
    h = h[:, None] if h.ndim == 1 else h
    L = check_int("horizon", horizon, min=1)
    if not callable(residual) or not callable(gain):
        raise TypeError("residual and gain must be callables")
    states = np.empty((h.shape[0], L + 1, h.shape[1]))
    states[:, 0] = h
    for l in range(L):
        f = np.asarray(residual(l, h), dtype=float)
        if f.shape != h.shape:
            raise ValueError(f"residual(l, h) must return shape {h.shape}, got {f.shape} at layer {l}")
        h = h + f
        states[:, l + 1] = h
    gains = np.stack([np.asarray(gain(states[:, l]), dtype=float).reshape(-1) for l in range(L + 1)], axis=1)
    return PathStoppingProblem(states, gains, costs, deterministic=True, gains_observed=True)


#: the DepthBound hypothesis that each violation breaks
_VIOLATED_HYPOTHESIS = {
    "growth": "geometric_decay",
    "lipschitz": "lipschitz_consistent",
    "bounds": "residual_bounds_consistent",
    "zero_cost": "costs_positive",
    "discounted": "undiscounted",
}


@dataclass(frozen=True, eq=False, repr=False)
class ResidualFamily(Result):
    r"""A deterministic residual network :math:`h_{l+1}=h_l+f_l(h_l)` with the constants of docs/science.md
    §B2.

    Attributes
    ----------
    problem : PathStoppingProblem
        The recorded paths (features :math:`h_l`, gains :math:`G_l=g(h_l)`), ``deterministic=True``.
    kind : str
        Which bound the family is built for: ``"geometric"`` (:math:`\sup\|f_l\|\le C\rho^l`),
        ``"summable"`` (:math:`\sup\|f_l\|\le b_l=C(l+1)^{-q}`), ``"bounded"`` (bounded gains,
        non-decaying residuals).
    lipschitz : float
        Declared Lipschitz constant :math:`L_g` of the gain.
    C, rho : float
        Declared envelope constant and decay rate (``rho`` is ``nan`` unless ``kind == "geometric"``).
    residual_bounds : ndarray, shape (L,)
        Declared :math:`\sup_h\|f_l(h)\|`.
    cost : float
        Cost per layer :math:`c` (0 for the ``"zero_cost"`` violation).
    satisfying : bool
        Whether every hypothesis of the bound holds (by construction).
    violation : str
        ``""``, or which hypothesis is violated: ``"growth"`` (residuals grow, :math:`C\rho'^l` with
        :math:`\rho'>1`, while :math:`\rho<1` is declared), ``"lipschitz"`` (the gain is :math:`K>1` times
        steeper than declared), ``"bounds"`` (one layer's residuals exceed its declared bound),
        ``"zero_cost"`` (:math:`c=0`), ``"discounted"`` (:math:`\beta<1`). Each violation is *observable* on
        the recorded paths, so a correct hypothesis checker flags it.
    parameters : dict
        Every drawn constant, the true ones included.
    """

    problem: Any
    kind: str
    lipschitz: float
    C: float
    rho: float
    residual_bounds: np.ndarray
    cost: float
    satisfying: bool
    violation: str
    parameters: dict[str, float] = field(default_factory=dict)

    #: ``rho`` is ``nan`` for the families that are not geometric (see above).
    nonfinite_fields = ("rho",)

    @property
    def violated_hypothesis(self) -> str | None:
        """The key of :attr:`DepthBound.hypotheses` that the violation breaks (``None`` if satisfying)."""
        return _VIOLATED_HYPOTHESIS.get(self.violation)

    def depth_bound(self) -> DepthBound:
        """The B2 bound this family is built for, computed with the declared constants.

        ``geometric`` -> :func:`~stochdepth.stopping.geometric_depth_bound`, ``summable`` ->
        :func:`~stochdepth.stopping.summable_residuals_bound`, ``bounded`` ->
        :func:`~stochdepth.stopping.bounded_gains_bound`.
        """
        if self.kind == "geometric":
            return geometric_depth_bound(self.problem, self.lipschitz, self.rho, C=self.C)
        if self.kind == "summable":
            return summable_residuals_bound(
                self.problem, self.lipschitz, residual_bounds=self.residual_bounds
            )
        return bounded_gains_bound(self.problem)
