r"""Generic observables of an SDE state :math:`x\in\mathbb R^d` (the last axis of the states).

Each function returns an :class:`~stochdepth.montecarlo.Observable` usable in ``observe=`` of
:func:`~stochdepth.sde.simulate` and :func:`~stochdepth.sde.simulate_levels` (and of any simulator whose
state is a vector on the last axis).

Examples
--------
>>> import numpy as np
>>> from stochdepth.sde import coordinate, log_norm, squared_norm, state
>>> x = np.array([[[3.0, 4.0]]])          # one path, one time, d = 2
>>> state()(x).shape, float(coordinate(1)(x)[0, 0]), float(squared_norm()(x)[0, 0])
((1, 1, 2), 4.0, 25.0)
>>> round(float(log_norm()(x)[0, 0]), 12) == round(float(np.log(5.0)), 12)
True
"""

from __future__ import annotations

import numpy as np

from .._checks import check_int
from ..montecarlo import Observable

__all__ = ["coordinate", "log_norm", "squared_norm", "state"]


def _identity(x: np.ndarray) -> np.ndarray:
    return x


def state(name: str = "state") -> Observable:
    r"""The state itself, :math:`x\mapsto x` (values of shape ``(..., d)``)."""
    return Observable(name, _identity)


def coordinate(i: int, name: str | None = None) -> Observable:
    r"""One coordinate, :math:`x\mapsto x_i` (0-based; values of shape ``(...)``).

    Parameters
    ----------
    i : int
        Index, ``0 <= i < d`` (checked when the observable is evaluated).
    name : str or None
        Defaults to ``"x{i}"``.
    """
    i = check_int("i", i, min=0)

    def fn(x: np.ndarray) -> np.ndarray:
        if i >= x.shape[-1]:
            raise ValueError(f"coordinate index i={i} is out of range for states of dimension {x.shape[-1]}")
        return x[..., i]

    return Observable(f"x{i}" if name is None else name, fn)


def _squared_norm(x: np.ndarray) -> np.ndarray:
    return np.einsum("...i,...i->...", x, x)


def squared_norm(name: str = "squared_norm") -> Observable:
    r"""The squared Euclidean norm :math:`\|x\|^2=\sum_i x_i^2`."""
    return Observable(name, _squared_norm)


def _log_norm(x: np.ndarray) -> np.ndarray:
    scale = np.max(np.abs(x), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = x / np.where(scale > 0, scale, 1.0)[..., None]
        return np.log(scale) + 0.5 * np.log(np.einsum("...i,...i->...", y, y))


def log_norm(name: str = "log_norm") -> Observable:
    r"""The log Euclidean norm :math:`\log\|x\|`, computed in a scaled form that cannot overflow:

    .. math::
        \log\|x\| = \log m + \tfrac12\log\sum_i (x_i/m)^2,\qquad m=\max_i|x_i|.

    A zero state gives :math:`-\infty`, which the simulators report as a
    :class:`~stochdepth.NumericalError`.
    """
    return Observable(name, _log_norm)
