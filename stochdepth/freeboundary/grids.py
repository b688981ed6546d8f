r"""Spatial grids for obstacle problems: uniform, sinh-stretched around a point, or user-given nodes.

A grid is a strictly increasing, finite set of nodes :math:`x_0<x_1<\dots<x_{N-1}` that also fixes the
truncated domain :math:`[x_0, x_{N-1}]` of the problem. All grids expose :attr:`nodes` (float64 array)
and :attr:`spacing` (the :math:`N-1` cell widths).

The stretched grid is the classical sinh map of Tavella & Randall (*Pricing Financial Instruments: the
Finite Difference Method*, Wiley 2000, ch. 5),

.. math::
    x(\xi) = x_c + \alpha\,\sinh\big(c_2\,\xi + c_1\,(1-\xi)\big),\qquad
    c_1=\operatorname{asinh}\frac{x_0-x_c}{\alpha},\quad c_2=\operatorname{asinh}\frac{x_{N-1}-x_c}{\alpha},

applied to a uniform :math:`\xi\in[0,1]`: nodes concentrate within a few :math:`\alpha` of the centre
:math:`x_c` (a kink of the gain, a free boundary), and the local spacing varies smoothly, which keeps the
centred differences second-order accurate.
"""

from __future__ import annotations

import math
from dataclasses import KW_ONLY, dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .._checks import check_array, check_bool, check_int, check_memory, check_real
from .._results import Result

__all__ = ["Grid", "StretchedGrid", "UniformGrid", "as_grid"]


class _GridBase(Result):
    """Common accessors of the 1-D grids (subclasses define :attr:`nodes`)."""

    nodes: np.ndarray

    @property
    def size(self) -> int:
        """Number of nodes :math:`N`."""
        return int(self.nodes.size)

    @property
    def spacing(self) -> np.ndarray:
        """Cell widths :math:`x_{i+1}-x_i`, shape ``(N - 1,)``."""
        return np.diff(self.nodes)

    def __len__(self) -> int:
        return self.size


#: Memory a solver keeps per node of a 1-d grid (nodes, value, obstacle, three bands, work arrays):
#: the basis of the refusal of a grid no memory holds.
_BYTES_PER_NODE = 8 * 16


def _validate_span(grid: Any) -> tuple[float, float]:
    """Check and store the ``lower``, ``upper`` and ``n`` fields of a parametric grid; returns the ends."""
    lo = check_real("lower", grid.lower)
    hi = check_real("upper", grid.upper)
    if not hi > lo:
        raise ValueError(f"upper must be > lower, got lower={lo!r}, upper={hi!r}")
    object.__setattr__(grid, "lower", lo)
    object.__setattr__(grid, "upper", hi)
    object.__setattr__(grid, "n", check_int("n", grid.n, min=3))
    check_memory("n", grid.n, _BYTES_PER_NODE, "a solver's arrays on the grid")
    return lo, hi


def _validated_nodes(name: str, nodes: np.ndarray) -> np.ndarray:
    arr = check_array(name, nodes, ndim=1, min_size=3)
    steps = np.diff(arr)
    if not np.all(steps > 0):
        i = int(np.argmin(steps))
        raise ValueError(
            f"{name} must be strictly increasing, got x[{i}] = {arr[i]!r} >= x[{i + 1}] = {arr[i + 1]!r}"
        )
    arr = arr.copy()
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class Grid(_GridBase):
    """A grid given by its nodes.

    Parameters
    ----------
    nodes : array_like, shape (N,)
        Strictly increasing finite nodes, ``N >= 3``.

    Raises
    ------
    ValueError
        If the nodes are not strictly increasing, not finite, or fewer than three.

    Examples
    --------
    >>> from stochdepth.freeboundary import Grid
    >>> Grid([0.0, 0.5, 2.0]).spacing
    array([0.5, 1.5])
    """

    nodes: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", _validated_nodes("nodes", self.nodes))

    @property
    def lower(self) -> float:
        """Left end of the domain, :math:`x_0`."""
        return float(self.nodes[0])

    @property
    def upper(self) -> float:
        """Right end of the domain, :math:`x_{N-1}`."""
        return float(self.nodes[-1])

    def __repr__(self) -> str:
        return f"Grid(N={self.size}, [{self.lower:.6g}, {self.upper:.6g}])"


@dataclass(frozen=True, eq=False)
class UniformGrid(_GridBase):
    """Equally spaced nodes on ``[lower, upper]``.

    Parameters
    ----------
    lower, upper : float
        Ends of the domain, finite, ``lower < upper``.
    n : int
        Number of nodes, ``n >= 3``.

    Examples
    --------
    >>> from stochdepth.freeboundary import UniformGrid
    >>> UniformGrid(0.0, 1.0, 5).nodes
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """

    lower: float
    upper: float
    n: int

    def __post_init__(self) -> None:
        _validate_span(self)

    @cached_property
    def nodes(self) -> np.ndarray:  # type: ignore[override]
        """The nodes, shape ``(n,)``."""
        arr = np.linspace(self.lower, self.upper, self.n)
        arr.flags.writeable = False
        return arr

    def __repr__(self) -> str:
        return f"UniformGrid({self.lower:.6g}, {self.upper:.6g}, n={self.n})"


@dataclass(frozen=True, eq=False)
class StretchedGrid(_GridBase):
    r"""Nodes concentrated around ``center`` by the sinh map (see the module docstring).

    Parameters
    ----------
    lower, upper : float
        Ends of the domain, ``lower < upper``.
    n : int
        Number of nodes, ``n >= 3``.
    center : float
        Point of concentration :math:`x_c`, ``lower <= center <= upper``.
    scale : float
        Width :math:`\alpha>0` of the refined zone; the spacing at the centre is about
        :math:`\alpha\,(c_2-c_1)/(n-1)`, and ``scale -> inf`` gives back the uniform grid.
    center_node : bool, default True
        Put a node exactly at ``center`` (the uniform variable :math:`\xi` is split at the centre's
        pre-image and each part is uniform). A node on a kink of the gain keeps the scheme's order.

    Notes
    -----
    Reference: Tavella & Randall (2000), ch. 5, the sinh transformation.

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.freeboundary import StretchedGrid
    >>> g = StretchedGrid(0.0, 10.0, 41, center=3.0, scale=0.5)
    >>> bool(np.any(g.nodes == 3.0)), bool(g.spacing.min() < 10.0 / 40 < g.spacing.max())
    (True, True)
    """

    lower: float
    upper: float
    n: int
    center: float
    scale: float
    _: KW_ONLY
    center_node: bool = True

    def __post_init__(self) -> None:
        lo, hi = _validate_span(self)
        center = check_real("center", self.center)
        if not lo <= center <= hi:
            raise ValueError(f"center must lie in [lower, upper] = [{lo:g}, {hi:g}], got {center:g}")
        object.__setattr__(self, "center", center)
        object.__setattr__(self, "scale", check_real("scale", self.scale, lo=0.0, lo_open=True))
        check_bool("center_node", self.center_node)
        object.__setattr__(self, "center_node", bool(self.center_node))
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                self.nodes  # noqa: B018 - built now, so that a scale no float grid can hold fails here
            except (ValueError, ArithmeticError) as exc:
                raise ValueError(
                    f"scale = {self.scale:g} gives no valid grid of n = {self.n} nodes on [{lo:g}, {hi:g}] "
                    f"in float64 (choose a larger scale or fewer nodes): {exc}"
                ) from None

    @cached_property
    def nodes(self) -> np.ndarray:  # type: ignore[override]
        """The nodes, shape ``(n,)``."""
        lo, hi, xc, a, n = self.lower, self.upper, self.center, self.scale, self.n
        c1 = math.asinh((lo - xc) / a)
        c2 = math.asinh((hi - xc) / a)
        xi_c = -c1 / (c2 - c1)  # pre-image of the centre
        k = round(xi_c * (n - 1))
        if self.center_node and 0 < k < n - 1:
            xi = np.concatenate([np.linspace(0.0, xi_c, k + 1)[:-1], np.linspace(xi_c, 1.0, n - k)])
        else:
            xi = np.linspace(0.0, 1.0, n)
        arr = xc + a * np.sinh(c2 * xi + c1 * (1.0 - xi))
        arr[0], arr[-1] = lo, hi
        if self.center_node and 0 < k < n - 1:
            arr[k] = xc
        arr = _validated_nodes("nodes", arr)
        return arr

    def __repr__(self) -> str:
        return (
            f"StretchedGrid({self.lower:.6g}, {self.upper:.6g}, n={self.n}, center={self.center:.6g}, "
            f"scale={self.scale:.6g})"
        )


def as_grid(name: str, grid: object) -> _GridBase:
    """Normalise ``grid`` (a grid object or an array of nodes) into a grid object."""
    if isinstance(grid, _GridBase):
        return grid
    if isinstance(grid, (list, tuple, np.ndarray)):
        try:
            return Grid(grid)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"{name}: {exc}") from None
    raise TypeError(
        f"{name} must be a UniformGrid, StretchedGrid, Grid or an array of nodes, got {type(grid).__name__}"
    )
