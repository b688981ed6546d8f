r"""What a random residual network is: :class:`NetworkSpec` (width, depth, activation, depth-time, inputs).

The network of docs/science.md §A1,

.. math::
    Y_0 = W_{\rm in}X,\qquad Y_l = Y_{l-1} + \sqrt{t_1/L}\;W_l\,\phi(Y_{l-1}),\quad l=1,\dots,L,

is fixed by its width :math:`n`, depth :math:`L`, activation :math:`\phi`, final depth-time :math:`t_1`
and the inputs :math:`X` pushed through it. A :class:`NetworkSpec` holds these, validated once, and every
driver that simulates such a network accepts it in place of its explicit arguments: the samplers
(:func:`stochdepth.networks.sample_network`), the depth limit (:func:`stochdepth.limits.simulate_limit`,
:func:`stochdepth.limits.limit_sde`) and the torch models (:class:`stochdepth.nn.RandomResNet`,
:func:`stochdepth.nn.sample_torch_network`). Drivers take their mathematical inputs in one order,
``(x, width, depth, activation, t1)`` (the limit has no depth), which is the order of the fields here.

Examples
--------
>>> import numpy as np
>>> from stochdepth.networks import NetworkSpec, sample_network, squared_norms
>>> spec = NetworkSpec(8, 16, "tanh", t1=0.5, inputs=np.ones(3))
>>> spec
NetworkSpec(width=8, depth=16, activation='tanh', t1=0.5, inputs=array of shape (3,))
>>> a = sample_network(spec, n_paths=50, observe=squared_norms(), rng=0)
>>> b = sample_network(np.ones(3), 8, 16, "tanh", 0.5, n_paths=50, observe=squared_norms(), rng=0)
>>> bool(np.array_equal(a["squared_norms"].samples, b["squared_norms"].samples))
True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_array, check_int, check_memory, check_real
from ..activations import Activation, get_activation

__all__ = ["NetworkSpec", "as_network_spec", "check_network_inputs"]


def _check_inputs(x: Any, name: str = "x") -> np.ndarray:
    return check_array(name, x, ndim=(1, 2), min_size=1)  # min_size=1: d, k >= 1


def check_network_inputs(x: Any) -> np.ndarray:
    """``x`` as a finite, C-contiguous ``(d, k)`` array with ``d, k >= 1`` (one input is one column)."""
    X = _check_inputs(x)
    return np.ascontiguousarray(X[:, None] if X.ndim == 1 else X)


@dataclass(frozen=True, eq=False)
class NetworkSpec:
    r"""A random residual network: width, depth, activation, final depth-time and (optional) inputs.

    Parameters
    ----------
    width : int
        :math:`n\ge1`.
    depth : int or None
        :math:`L\ge1`; ``None`` describes the depth limit :math:`L\to\infty` (accepted by the limit
        drivers only).
    activation : str or Activation
        :math:`\phi` (default ReLU); stored as an :class:`~stochdepth.Activation`.
    t1 : float
        Final depth-time :math:`t_1>0` (branch scale :math:`\sqrt{t_1/L}`; :math:`t_1=1` is the paper's
        network).
    inputs : array_like, shape (d,) or (d, k), optional
        The input(s) as columns, finite, :math:`d,k\ge1`; stored as a read-only copy. Needed by the
        samplers and the limit diffusion (not by :func:`~stochdepth.limits.limit_sde`).

    Raises
    ------
    ValueError, TypeError
        For an invalid field (the message names it).
    """

    width: int
    depth: int | None
    activation: Activation = dataclasses.field(default="relu")  # type: ignore[assignment]
    t1: float = 1.0
    inputs: np.ndarray | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "width", check_int("width", self.width, min=1))
        if self.depth is not None:
            set_(self, "depth", check_int("depth", self.depth, min=1))
        set_(self, "activation", get_activation(self.activation))
        set_(self, "t1", check_real("t1", self.t1, lo=0.0, lo_open=True))
        if self.inputs is not None:
            arr = np.array(_check_inputs(self.inputs, "inputs"), dtype=float, copy=True)
            arr.flags.writeable = False
            set_(self, "inputs", arr)
        k = 1 if self.inputs is None or self.inputs.ndim == 1 else self.inputs.shape[1]
        check_memory("width", self.width, 8.0 * k, "the state of one network")

    @property
    def input_matrix(self) -> np.ndarray:
        """The inputs as a new C-contiguous ``(d, k)`` matrix (a single input is one column)."""
        X = self.require("inputs")
        return np.array(X[:, None] if X.ndim == 1 else X, order="C", copy=True)

    @property
    def input_dim(self) -> int:
        """:math:`d`, the dimension of an input."""
        return int(self.require("inputs").shape[0])

    @property
    def n_inputs(self) -> int:
        """:math:`k`, the number of inputs."""
        X = self.require("inputs")
        return 1 if X.ndim == 1 else int(X.shape[1])

    def require(self, name: str) -> Any:
        """The field ``name``, raising a ``ValueError`` if it is ``None`` (a driver needs it)."""
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"this NetworkSpec has no {name} (got {self!r}); set {name}=... to use it here")
        return value

    def replace(self, **changes: Any) -> NetworkSpec:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NetworkSpec):
            return NotImplemented
        same_inputs = (self.inputs is None and other.inputs is None) or (
            self.inputs is not None and other.inputs is not None and np.array_equal(self.inputs, other.inputs)
        )
        return (self.width, self.depth, self.activation, self.t1) == (
            other.width,
            other.depth,
            other.activation,
            other.t1,
        ) and bool(same_inputs)

    __hash__ = None  # type: ignore[assignment]  # holds an array

    def __repr__(self) -> str:
        inputs = "None" if self.inputs is None else f"array of shape {self.inputs.shape}"
        return (
            f"NetworkSpec(width={self.width}, depth={self.depth}, activation={self.activation.name!r}, "
            f"t1={self.t1:g}, inputs={inputs})"
        )


def as_network_spec(
    x: Any,
    width: Any = None,
    depth: Any = None,
    activation: Any = None,
    t1: Any = None,
) -> NetworkSpec:
    """The :class:`NetworkSpec` of a driver's first arguments: either a spec alone, or the explicit
    ``(x, width, depth, activation, t1)`` (``activation`` and ``t1`` default to ReLU and 1).

    Raises
    ------
    TypeError
        If a spec comes with explicit arguments as well, or ``width`` is missing without a spec.
    """
    if isinstance(x, NetworkSpec):
        named = (("width", width), ("depth", depth), ("activation", activation), ("t1", t1))
        extra = [name for name, value in named if value is not None]
        if extra:
            raise TypeError(f"pass either a NetworkSpec or explicit arguments, not both (got {extra} too)")
        return x
    if width is None:
        raise TypeError("width is required (or pass a NetworkSpec as the first argument)")
    return NetworkSpec(
        width,
        depth,
        "relu" if activation is None else activation,
        1.0 if t1 is None else t1,
        inputs=None if x is None else _check_inputs(x),  # checked here under the caller's name, x
    )
