r"""Discretisation schemes: theta time stepping (Crank--Nicolson with Rannacher start-up, fully implicit)
and the steady-state scheme of stationary problems; upwinding where the diffusion is too weak.

Time runs backward from the horizon. With :math:`L` the spatial operator (generator minus discount) and
:math:`s=-c` (plus edge terms), one step from :math:`t_{k+1}` to :math:`t_k=t_{k+1}-\Delta t` solves the
linear complementarity problem

.. math::
    (I-\theta\Delta t\,L^{k})V^{k}\ \ge\ V^{k+1}+(1-\theta)\Delta t\,(L^{k+1}V^{k+1}+s^{k+1})
    +\theta\Delta t\,s^{k},\qquad V^k\ge g,

with equality wherever :math:`V^k>g`. :math:`\theta=1` is the implicit Euler scheme (first order in time,
monotone), :math:`\theta=\tfrac12` Crank--Nicolson (second order for smooth data). The gain's kink
excites CN's undamped high frequencies; Rannacher's start-up (Rannacher, *Numer. Math.* 43 (1984);
Giles & Carter, *J. Comput. Finance* 9 (2006)) replaces the first ``rannacher_steps`` CN steps by twice as
many implicit half steps, which restores second-order convergence.

Time steps are uniform in :math:`(T-t)^{1/p}` with the *grading* :math:`p\ge1`: the time to go of the
nodes is :math:`\tau_j=T(j/n)^p`. Near the horizon the free boundary moves like :math:`\sqrt{T-t}` and
the solution is least smooth; :math:`p=2` (the square-root time change of Reisinger & Whitley, *IMA J.
Numer. Anal.* 34 (2014) 1156-1192) restores second-order convergence of Crank--Nicolson for American
options (measured in the tests and benchmarks: fitted order 2.0 against 1.2 with uniform steps).

The first derivative uses second-order centred differences on the non-uniform grid where the result is an
M-matrix (cell Péclet condition :math:`\sigma^2\ge|b|h`) and one-sided upwind differences elsewhere
(``upwind=None``); ``upwind=True`` always upwinds (first order, always monotone; the first-order noiseless
problems need it), ``upwind=False`` never does.
"""

from __future__ import annotations

import abc
from dataclasses import KW_ONLY, dataclass, field
from typing import ClassVar

import numpy as np

from .._checks import check_int, check_real

__all__ = ["CrankNicolson", "Implicit", "SteadyState", "ThetaScheme", "TimeScheme"]


def _check_upwind(value: object) -> bool | None:
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    raise TypeError(f"upwind must be None (automatic), True or False, got {value!r}")


class TimeScheme(abc.ABC):
    r"""How an obstacle problem is discretised in time (the public contract of schemes).

    A scheme gives the time nodes and the implicitness :math:`	heta_k` of each step (the LCP of the
    module docstring is solved once per step, backward from the horizon), and the convection
    differencing ``upwind``. Schemes of stationary problems set :attr:`stationary` and have no steps.
    :func:`~stochdepth.freeboundary.solve_obstacle` accepts any subclass: a scheme of one's own (another
    grading of the steps, another start-up) implements :meth:`time_grid`.
    """

    #: True for the scheme of stationary (infinite-horizon) problems: one LCP, no time stepping.
    stationary: ClassVar[bool] = False
    #: Convection differencing: ``None`` automatic (centred where monotone), ``True`` upwind, ``False``
    #: centred.
    upwind: bool | None = None

    @abc.abstractmethod
    def time_grid(self, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Time nodes (increasing from ``0`` to the horizon ``t1``) and the theta in [1/2, 1] of each step."""


@dataclass(frozen=True)
class ThetaScheme(TimeScheme):
    r"""The theta scheme in time (see the module docstring), :math:`\tfrac12\le\theta\le1`.

    Parameters
    ----------
    theta : float
        Implicitness :math:`\theta\in[1/2,1]` (unconditionally stable range).
    n_steps : int, default 100
        Number of (full) time steps on :math:`[0,T]`, uniform.
    rannacher_steps : int, default 0
        Number of initial steps (next to the horizon) each replaced by two implicit half steps.
    upwind : bool or None, default None
        Convection differencing: ``None`` automatic (centred where monotone), ``True`` upwind,
        ``False`` centred.
    grading : float, default 1
        Time-step grading :math:`p\in[1,4]` (``1``: uniform steps; see the module docstring).
    """

    theta: float
    _: KW_ONLY
    n_steps: int = 100
    rannacher_steps: int = 0
    upwind: bool | None = None
    grading: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "theta", check_real("theta", self.theta, lo=0.5, hi=1.0))
        object.__setattr__(self, "grading", check_real("grading", self.grading, lo=1.0, hi=4.0))
        object.__setattr__(self, "n_steps", check_int("n_steps", self.n_steps, min=1))
        object.__setattr__(self, "rannacher_steps", check_int("rannacher_steps", self.rannacher_steps, min=0))
        object.__setattr__(self, "upwind", _check_upwind(self.upwind))

    def time_grid(self, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Time nodes (increasing, ``0`` to the horizon ``t1``) and the theta of each step ``[t_k, t_{k+1}]``.

        The last ``rannacher_steps`` intervals (next to the horizon) are halved, with theta 1.
        """
        n, r = self.n_steps, min(self.rannacher_steps, self.n_steps)
        # time to go tau_j = T (j / n)^grading, j = n..0 (grading 1: uniform)
        full = t1 - t1 * np.linspace(1.0, 0.0, n + 1) ** self.grading
        full[0], full[-1] = 0.0, t1
        if r == 0:
            return full, np.full(n, self.theta)
        halves = np.concatenate([[full[k], 0.5 * (full[k] + full[k + 1])] for k in range(n - r, n)] + [[t1]])
        times = np.concatenate([full[: n - r], halves])
        thetas = np.concatenate([np.full(n - r, self.theta), np.ones(2 * r)])
        return times, thetas


@dataclass(frozen=True)
class Implicit(ThetaScheme):
    r"""Fully implicit (backward Euler) time stepping, :math:`\theta=1`: monotone, first order in time.

    Parameters
    ----------
    n_steps : int, default 100
        Number of time steps.
    upwind : bool or None, default None
        Convection differencing (see :class:`ThetaScheme`).

    Examples
    --------
    >>> from stochdepth.freeboundary import Implicit
    >>> Implicit(n_steps=50).theta
    1.0
    """

    theta: float = field(default=1.0, init=False)
    rannacher_steps: int = field(default=0, init=False, kw_only=True)


@dataclass(frozen=True)
class CrankNicolson(ThetaScheme):
    r"""Crank--Nicolson time stepping, :math:`\theta=\tfrac12`, with Rannacher start-up.

    Parameters
    ----------
    n_steps : int, default 100
        Number of time steps.
    rannacher_steps : int, default 2
        Initial CN steps replaced by two implicit half steps each (Giles & Carter 2006 recommend 2).
    upwind : bool or None, default None
        Convection differencing (see :class:`ThetaScheme`).
    grading : float, default 2
        Time-step grading (time to go :math:`T(j/n)^2`: the square-root time change).

    Examples
    --------
    >>> from stochdepth.freeboundary import CrankNicolson
    >>> times, thetas = CrankNicolson(n_steps=4, rannacher_steps=1, grading=1.0).time_grid(1.0)
    >>> times.tolist(), thetas.tolist()
    ([0.0, 0.25, 0.5, 0.75, 0.875, 1.0], [0.5, 0.5, 0.5, 1.0, 1.0])
    >>> CrankNicolson(n_steps=4, rannacher_steps=0).time_grid(1.0)[0].tolist()
    [0.0, 0.4375, 0.75, 0.9375, 1.0]
    """

    theta: float = field(default=0.5, init=False)
    rannacher_steps: int = field(default=2, kw_only=True)
    grading: float = field(default=2.0, kw_only=True)


@dataclass(frozen=True)
class SteadyState(TimeScheme):
    """Discretisation of stationary (infinite-horizon) problems: one LCP, no time stepping.

    Parameters
    ----------
    upwind : bool or None, default None
        Convection differencing (see :class:`ThetaScheme`).

    Examples
    --------
    >>> from stochdepth.freeboundary import SteadyState
    >>> SteadyState(upwind=True).upwind
    True
    """

    stationary: ClassVar[bool] = True
    _: KW_ONLY
    upwind: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "upwind", _check_upwind(self.upwind))

    def time_grid(self, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """No time stepping: the single node ``0`` and no steps."""
        return np.zeros(1), np.zeros(0)
