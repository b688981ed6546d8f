r"""Obstacle problems: what is to be solved (coefficients, gain, cost, horizon, domain, edges).

For a diffusion :math:`dX_s=b(s,X_s)\,ds+\sigma(s,X_s)\,dW_s` the value of optimal stopping with gain
:math:`g`, running cost :math:`c` and discount rate :math:`r`,

.. math::
    V(t,x)=\sup_{t\le\tau\le T}\mathbb E_{t,x}\Big[e^{-\int_t^\tau r}\,g(X_\tau)
    -\int_t^\tau e^{-\int_t^s r}\,c(s,X_s)\,ds\Big],

solves the obstacle problem (variational inequality)

.. math::
    \min\big\{-\partial_tV-\mathcal A V+rV+c,\ V-g\big\}=0,\qquad V(T,\cdot)=g,\qquad
    \mathcal A=b\,\partial_x+\tfrac12\sigma^2\partial_x^2,

(docs/science.md §B5 [classical]; Peskir & Shiryaev, *Optimal Stopping and Free-Boundary Problems*, Birkhäuser
2006, ch. III). The stationary problem (infinite horizon, time-homogeneous coefficients) drops
:math:`\partial_tV`. The continuation region is :math:`\{V>g\}`, the stopping region :math:`\{V=g\}`, and
the free boundary separates them.

The domain is truncated to the grid's interval; each edge carries a boundary condition:
:class:`Dirichlet` (default: the gain, i.e. the process is stopped when it reaches the edge),
:class:`Neumann` (a prescribed slope), or :class:`Natural` (a degenerate edge where the diffusion
vanishes and the drift points into the domain, so that no condition is needed: Fichera's condition).

Coefficients are numbers or vectorised callables: ``f(t, x)`` for time-dependent problems, ``f(x)`` for
stationary ones, ``f(t, x, y)`` / ``f(x, y)`` in two dimensions; they are evaluated on the grid when the
problem is solved, and must broadcast against their arguments.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from typing import Any

import numpy as np

from .._checks import check_real
from .grids import Grid, StretchedGrid, UniformGrid, as_grid

__all__ = [
    "BoundaryCondition",
    "Dirichlet",
    "Natural",
    "Neumann",
    "ObstacleProblem",
    "ObstacleProblem2D",
    "StationaryObstacleProblem",
]

Coefficient = float | Callable[..., Any]
GridLike = UniformGrid | StretchedGrid | Grid | np.ndarray


# ----------------------------------------------------------------------------------------------------
# Boundary conditions
# ----------------------------------------------------------------------------------------------------


class BoundaryCondition:
    """Base class of the edge conditions (:class:`Dirichlet`, :class:`Neumann`, :class:`Natural`)."""


@dataclass(frozen=True)
class Dirichlet(BoundaryCondition):
    r"""Prescribed value at the edge, :math:`V = h` there.

    Parameters
    ----------
    value : None, float or callable, default None
        ``None``: the gain (the process is stopped at the edge: a conservative truncation whose effect
        decays away from the edge). A number, or a callable of the edge coordinates (``f(t, x)`` for
        time-dependent 1-D problems, ``f(x)`` for stationary ones, ``f(t, x, y)`` / ``f(x, y)`` in 2-D).
        Where the prescribed value is below the gain, the edge node takes the gain (stopping stays
        allowed).
    """

    value: Coefficient | None = None

    def __post_init__(self) -> None:
        if self.value is not None:
            _check_coefficient("Dirichlet.value", self.value)


@dataclass(frozen=True)
class Neumann(BoundaryCondition):
    r"""Prescribed slope :math:`\partial_x V = p` at the edge (ghost-node discretisation, second order).

    Parameters
    ----------
    slope : float or callable, default 0.0
        The slope :math:`p` (a number or a callable of the edge coordinates, as for :class:`Dirichlet`).
        ``0`` is a reflecting edge.
    """

    slope: Coefficient = 0.0

    def __post_init__(self) -> None:
        _check_coefficient("Neumann.slope", self.slope)


@dataclass(frozen=True)
class Natural(BoundaryCondition):
    r"""No condition: the generator itself is applied at the edge (Fichera's condition).

    Valid where the diffusion vanishes at the edge and the drift does not point out of the domain; the
    normal derivative is then taken one-sided from inside (upwind). Typical uses: the first-order
    (noiseless) problems of docs/science.md §B5, the price :math:`S=0` of a geometric Brownian motion. The
    solver raises :class:`ValueError` if the diffusion is non-zero or the drift points outwards there.
    """


def _check_signature(name: str, value: Any, args: tuple[str, ...] | None) -> None:
    """Reject a callable that cannot be called as ``name(*args)``, naming the signature expected."""
    if args is None:
        return
    try:
        signature = inspect.signature(value)
    except (TypeError, ValueError):  # builtins and compiled functions without a signature
        return
    try:
        signature.bind(*args)
    except TypeError:
        call = f"{name.split('[')[0]}({', '.join(args)})"
        raise TypeError(
            f"{name} must be callable as {call} (vectorised over the grid arrays), "
            f"got a callable with signature {signature}"
        ) from None


def _check_coefficient(name: str, value: Any, args: tuple[str, ...] | None = None) -> None:
    """A real number, or a callable that accepts ``args`` (``None``: any signature)."""
    if callable(value):
        _check_signature(name, value, args)
        return
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number or a callable, got {type(value).__name__}")
    check_real(name, value)


def _check_bc(name: str, bc: Any) -> BoundaryCondition:
    if not isinstance(bc, BoundaryCondition) or type(bc) is BoundaryCondition:
        raise TypeError(f"{name} must be Dirichlet(...), Neumann(...) or Natural(), got {bc!r}")
    return bc


def _check_coefficients_1d(problem: Any, args: tuple[str, ...]) -> None:
    """The gain and the coefficients (callables of ``args``) of a one-dimensional problem."""
    _check_callable("gain", problem.gain, ("x",))
    for name in ("drift", "volatility", "cost", "rate"):
        _check_coefficient(name, getattr(problem, name), args)
    if isinstance(problem.volatility, numbers.Real) and problem.volatility < 0:
        raise ValueError(f"volatility must be >= 0, got {problem.volatility!r}")
    if isinstance(problem.rate, numbers.Real) and problem.rate < 0:
        raise ValueError(f"rate must be >= 0, got {problem.rate!r}")


def _check_derivative_and_boundaries(problem: Any) -> None:
    """The optional gain derivative and the two boundary conditions of a one-dimensional problem."""
    if problem.gain_derivative is not None:
        _check_callable("gain_derivative", problem.gain_derivative, ("x",))
    _check_bc("left", problem.left)
    _check_bc("right", problem.right)


def _check_callable(name: str, value: Any, args: tuple[str, ...]) -> None:
    if not callable(value):
        raise TypeError(f"{name} must be a callable, got {type(value).__name__}")
    _check_signature(name, value, args)


# ----------------------------------------------------------------------------------------------------
# Problems
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ObstacleProblem:
    r"""Finite-horizon 1-D obstacle problem on :math:`[0,T]\times[x_0,x_{N-1}]`.

    .. math::
        \min\big\{-\partial_tV-b\,\partial_xV-\tfrac12\sigma^2\partial_x^2V+rV+c,\ V-g\big\}=0,
        \qquad V(T,x)=h(x)\ \ (\text{default } h=g).

    Parameters
    ----------
    gain : callable
        Gain (obstacle) :math:`g(x)`, vectorised.
    drift : float or callable
        :math:`b(t,x)`.
    volatility : float or callable
        :math:`\sigma(t,x)\ge0` (the law depends on :math:`\sigma^2` only; give :math:`|\sigma|`).
        ``0`` gives a first-order problem (noiseless continuous depth), discretised by upwinding.
    t1 : float
        :math:`T>0`; time runs over :math:`[0,T]`.
    grid : UniformGrid, StretchedGrid, Grid or array of nodes
        Spatial grid; its ends truncate the domain.
    cost : float or callable, default 0
        Running cost rate :math:`c(t,x)` (any finite real; a negative cost is a running reward).
    rate : float or callable, default 0
        Discount rate :math:`r(t,x)\ge0`.
    terminal : callable, optional
        Terminal value :math:`h(x)\ge g(x)`; default the gain.
    left, right : BoundaryCondition, default ``Dirichlet()``
        Edge conditions (see :mod:`stochdepth.freeboundary.problems`).
    gain_derivative : callable, optional
        :math:`g'(x)`, used by the smooth-fit diagnostics (default: centred differences of ``gain``).

    Notes
    -----
    Reference: docs/science.md §B5; Peskir & Shiryaev (2006), ch. III, eq. (7.1)-(7.4) (free-boundary
    problem),
    Jaillet, Lamberton & Lapeyre, *Acta Appl. Math.* 21 (1990) (the variational inequality).

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.freeboundary import ObstacleProblem, UniformGrid
    >>> p = ObstacleProblem(lambda x: -x**2, 0.0, 1.0, 1.0, UniformGrid(-3, 3, 61), cost=0.1)
    >>> p.t1
    1.0
    """

    gain: Callable[[np.ndarray], np.ndarray]
    drift: Coefficient
    volatility: Coefficient
    t1: float
    grid: GridLike
    _: KW_ONLY
    cost: Coefficient = 0.0
    rate: Coefficient = 0.0
    terminal: Callable[[np.ndarray], np.ndarray] | None = None
    left: BoundaryCondition = Dirichlet()
    right: BoundaryCondition = Dirichlet()
    gain_derivative: Callable[[np.ndarray], np.ndarray] | None = None

    def __post_init__(self) -> None:
        _check_coefficients_1d(self, ("t", "x"))
        object.__setattr__(self, "t1", check_real("t1", self.t1, lo=0.0, lo_open=True))
        object.__setattr__(self, "grid", as_grid("grid", self.grid))
        if self.terminal is not None:
            _check_callable("terminal", self.terminal, ("x",))
        _check_derivative_and_boundaries(self)


@dataclass(frozen=True, eq=False)
class StationaryObstacleProblem:
    r"""Infinite-horizon, time-homogeneous 1-D obstacle problem.

    .. math::
        \min\big\{-b\,V'-\tfrac12\sigma^2V''+rV+c,\ V-g\big\}=0 \quad\text{on } (x_0,x_{N-1}).

    Parameters
    ----------
    gain : callable
        :math:`g(x)`, vectorised.
    drift, volatility : float or callable
        :math:`b(x)` and :math:`\sigma(x)\ge0`.
    grid : UniformGrid, StretchedGrid, Grid or array of nodes
        Spatial grid.
    cost : float or callable, default 0
        :math:`c(x)`.
    rate : float or callable, default 0
        :math:`r(x)\ge0`. With :math:`r\equiv0` and no :class:`Dirichlet` edge the continuation region must
        be left in finite time (else the discrete problem is singular and the solver raises
        :class:`~stochdepth.NumericalError`).
    left, right : BoundaryCondition, default ``Dirichlet()``
        Edge conditions; callables take ``x`` only.
    gain_derivative : callable, optional
        :math:`g'(x)` for the smooth-fit diagnostics.

    Notes
    -----
    Reference: Peskir & Shiryaev (2006), ch. IV (infinite horizon, smooth fit); docs/science.md §B5-B6.

    Examples
    --------
    >>> from stochdepth.freeboundary import StationaryObstacleProblem, UniformGrid
    >>> p = StationaryObstacleProblem(lambda y: -(y - 1.0)**2, 0.25, 0.5, UniformGrid(-8, 3, 111), cost=0.1)
    >>> p.grid.size
    111
    """

    gain: Callable[[np.ndarray], np.ndarray]
    drift: Coefficient
    volatility: Coefficient
    grid: GridLike
    _: KW_ONLY
    cost: Coefficient = 0.0
    rate: Coefficient = 0.0
    left: BoundaryCondition = Dirichlet()
    right: BoundaryCondition = Dirichlet()
    gain_derivative: Callable[[np.ndarray], np.ndarray] | None = None

    def __post_init__(self) -> None:
        _check_coefficients_1d(self, ("x",))
        object.__setattr__(self, "grid", as_grid("grid", self.grid))
        _check_derivative_and_boundaries(self)


@dataclass(frozen=True, eq=False)
class ObstacleProblem2D:
    r"""2-D obstacle problem on a rectangle (finite horizon, or stationary with ``t1=None``).

    State :math:`(X,Y)` with :math:`dX=b_1\,dt+\sigma_1\,dW^1`, :math:`dY=b_2\,dt+\sigma_2\,dW^2`,
    :math:`d\langle W^1,W^2\rangle=\rho\,dt`:

    .. math::
        \mathcal A=b_1\partial_x+b_2\partial_y+\tfrac12\sigma_1^2\partial_x^2+\rho\sigma_1\sigma_2\,
        \partial_x\partial_y+\tfrac12\sigma_2^2\partial_y^2,\qquad
        \min\{-\partial_tV-\mathcal AV+rV+c,\ V-g\}=0.

    Parameters
    ----------
    gain : callable
        :math:`g(x,y)`, vectorised (broadcasting ``x[:, None]`` against ``y[None, :]``).
    drift, volatility : pair of (float or callable)
        :math:`(b_1,b_2)` and :math:`(\sigma_1,\sigma_2)`, each a number or ``f(t, x, y)`` (``f(x, y)``
        when stationary); volatilities :math:`\ge0`.
    grid_x, grid_y : grid or array of nodes
        The rectangle's grids.
    t1 : float or None, default None
        :math:`T>0`, or ``None`` for the stationary problem.
    correlation : float, default 0
        :math:`\rho\in(-1,1)`. A non-zero :math:`\rho` uses the centred cross-difference stencil, which
        is monotone only when :math:`|\rho|\sigma_1\sigma_2` is small against the diagonal diffusion on the
        grid; it requires Dirichlet edges.
    cost, rate : float or callable, default 0
        :math:`c` and :math:`r\ge0`.
    terminal : callable, optional
        :math:`h(x,y)\ge g` (finite horizon only).
    left, right, bottom, top : BoundaryCondition, default ``Dirichlet()``
        Conditions at :math:`x=x_0`, :math:`x=x_{\max}`, :math:`y=y_0`, :math:`y=y_{\max}`; a Dirichlet
        edge wins at a corner.

    Notes
    -----
    Reference: Peskir & Shiryaev (2006), ch. III; the discrete problem is an LCP with a sparse
    M-matrix (for :math:`\rho=0` with upwinding), solved by the primal-dual active set method of
    Hintermüller, Ito & Kunisch, *SIAM J. Optim.* 13 (2002) 865-888.

    Examples
    --------
    >>> from stochdepth.freeboundary import ObstacleProblem2D, UniformGrid
    >>> g = UniformGrid(-1, 1, 21)
    >>> p = ObstacleProblem2D(lambda x, y: -(x**2 + y**2), (0.0, 0.0), (1.0, 1.0), g, g, cost=0.5)
    >>> p.t1 is None
    True
    """

    gain: Callable[[np.ndarray, np.ndarray], np.ndarray]
    drift: tuple[Coefficient, Coefficient]
    volatility: tuple[Coefficient, Coefficient]
    grid_x: GridLike
    grid_y: GridLike
    _: KW_ONLY
    t1: float | None = None
    correlation: float = 0.0
    cost: Coefficient = 0.0
    rate: Coefficient = 0.0
    terminal: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    left: BoundaryCondition = Dirichlet()
    right: BoundaryCondition = Dirichlet()
    bottom: BoundaryCondition = Dirichlet()
    top: BoundaryCondition = Dirichlet()

    def __post_init__(self) -> None:
        _check_callable("gain", self.gain, ("x", "y"))
        args = ("x", "y") if self.t1 is None else ("t", "x", "y")
        for name in ("drift", "volatility"):
            pair = getattr(self, name)
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"{name} must be a pair (x component, y component), got {pair!r}")
            for k, comp in enumerate(pair):
                _check_coefficient(f"{name}[{k}]", comp, args)
                if name == "volatility" and isinstance(comp, numbers.Real) and comp < 0:
                    raise ValueError(f"volatility[{k}] must be >= 0, got {comp!r}")
            object.__setattr__(self, name, tuple(pair))
        for name in ("cost", "rate"):
            _check_coefficient(name, getattr(self, name), args)
        if isinstance(self.rate, numbers.Real) and self.rate < 0:
            raise ValueError(f"rate must be >= 0, got {self.rate!r}")
        if self.t1 is not None:
            object.__setattr__(self, "t1", check_real("t1", self.t1, lo=0.0, lo_open=True))
        elif self.terminal is not None:
            raise ValueError("terminal is only meaningful with a finite horizon (t1=None given)")
        rho = check_real("correlation", self.correlation, lo=-1.0, hi=1.0, lo_open=True, hi_open=True)
        object.__setattr__(self, "correlation", rho)
        object.__setattr__(self, "grid_x", as_grid("grid_x", self.grid_x))
        object.__setattr__(self, "grid_y", as_grid("grid_y", self.grid_y))
        if self.terminal is not None:
            _check_callable("terminal", self.terminal, ("x", "y"))
        for edge in ("left", "right", "bottom", "top"):
            bc = _check_bc(edge, getattr(self, edge))
            if rho != 0.0 and not isinstance(bc, Dirichlet):
                raise ValueError(
                    f"correlation={rho} needs Dirichlet edges (the cross-derivative stencil has no "
                    f"ghost-node form), got {edge}={bc!r}"
                )

    @property
    def stationary(self) -> bool:
        """Whether the problem is the infinite-horizon one (``t1 is None``)."""
        return self.t1 is None
