r"""Observables of random residual networks.

A network's state at one layer is the ``(width, k)`` matrix :math:`Y_l=[Y_l^{(1)},\dots,Y_l^{(k)}]` of
pre-activations of its ``k`` inputs. Each function here returns a
:class:`~stochdepth.montecarlo.Observable` mapping states of shape ``(..., width, k)`` to values of
shape ``(..., k)`` or ``(..., k, k)``; pass them to :func:`~stochdepth.networks.sample_network` through
``observe=``. Every observable accepts ``name=`` to rename it (e.g. to observe two Gram matrices).

Norms are computed with a power-of-two rescaling, so that :func:`log_norms` stays finite for states whose
squares overflow. A value that is NaN or infinite (e.g. the log-norm of a zero state) makes the sampler
raise :class:`~stochdepth.NumericalError`.

Parameters common to every observable: ``name`` (str, optional), the key of the observable in results
(defaults as documented per function).

Examples
--------
One network state of width 3 with two inputs, at one layer (shape ``(paths, layers, width, k)``):

>>> import numpy as np
>>> from stochdepth.networks import active_counts, gram, log_norms, squared_norms
>>> s = np.array([[[[3.0, 1.0], [4.0, -1.0], [0.0, 1.0]]]])
>>> squared_norms()(s)[0, 0], active_counts()(s)[0, 0]
(array([25.,  3.]), array([2., 2.]))
>>> bool(np.isclose(log_norms()(s)[0, 0, 0], np.log(5.0)))
True
>>> gram("relu")(s)[0, 0]       # phi(Y)^T phi(Y) / n
array([[8.33333333, 1.        ],
       [1.        , 0.66666667]])
"""

from __future__ import annotations

import numpy as np

from .._checks import check_int
from ..activations import Activation, get_activation
from ..montecarlo import Observable

__all__ = [
    "active_counts",
    "dead",
    "gram",
    "log_norms",
    "neuron",
    "post_squared_norms",
    "preactivations",
    "squared_norms",
]


def _name(name: str | None, default: str) -> str:
    if name is None:
        return default
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    return name


def _check_states(states: np.ndarray) -> np.ndarray:
    states = np.asarray(states, dtype=float)
    if states.ndim < 2:
        raise ValueError(f"network states must have shape (..., width, k), got shape {states.shape}")
    return states


def _sum_squares(v: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.einsum("...na,...na->...a", v, v)


def preactivations(*, name: str | None = None) -> Observable:
    r"""The state itself, :math:`Y_l` (pre-activations), shape ``(..., width, k)``.

    Memory grows as ``n_paths * n_record * width * k``; prefer a summary when only norms matter.
    """
    return Observable(_name(name, "preactivations"), lambda s: _check_states(s))


def squared_norms(*, name: str | None = None) -> Observable:
    r"""Squared norms :math:`\|Y_l^{(a)}\|^2=\sum_i (Y_l^{i,a})^2`, shape ``(..., k)``.

    Infinite (and then rejected by the sampler) when the squares overflow; use :func:`log_norms` for
    states beyond :math:`10^{154}`.
    """
    return Observable(_name(name, "squared_norms"), lambda s: _sum_squares(_check_states(s)))


def _log_norms(states: np.ndarray) -> np.ndarray:
    s = _check_states(states)
    scale = np.max(np.abs(s), axis=-2)
    # an exact power of two (frexp) so that the rescaling adds no rounding
    _, e = np.frexp(scale)
    e = np.where(scale > 0, e, 0)
    scaled = np.ldexp(s, -e[..., None, :])
    with np.errstate(divide="ignore"):
        return np.log(np.sqrt(_sum_squares(scaled))) + e * np.log(2.0)


def log_norms(*, name: str | None = None) -> Observable:
    r"""Log-norms :math:`\log\|Y_l^{(a)}\|`, shape ``(..., k)``, computed without overflow.

    The log-norm of a zero state is :math:`-\infty`: the sampler then raises
    :class:`~stochdepth.NumericalError` (e.g. for a zero input, whose network stays at zero).
    """
    return Observable(_name(name, "log_norms"), _log_norms)


def post_squared_norms(activation: str | Activation, *, name: str | None = None) -> Observable:
    r"""Squared norms of the post-activations, :math:`\|\phi(Y_l^{(a)})\|^2`, shape ``(..., k)``.

    Parameters
    ----------
    activation : str or Activation
        :math:`\phi` (normally the network's own activation).
    """
    act = get_activation(activation)
    return Observable(_name(name, "post_squared_norms"), lambda s: _sum_squares(act.fn(_check_states(s))))


def gram(activation: str | Activation | None = None, *, name: str | None = None) -> Observable:
    r"""Width-normalised Gram matrix of the ``k`` inputs, shape ``(..., k, k)``.

    .. math::
        \frac1n\,Y_l^\top Y_l \quad(\text{activation } None),\qquad
        \frac1n\,\phi(Y_l)^\top\phi(Y_l)\quad(\text{otherwise}).

    The second one is :math:`G_l/n`, the diffusion matrix of the increments (docs/science.md §A2); as
    :math:`n\to\infty` both tend to the kernels of the sequential limit (docs/science.md §A6).

    Parameters
    ----------
    activation : str, Activation or None
        ``None`` for pre-activations (default name ``"gram"``), else :math:`\phi` (default name
        ``"post_gram"``).
    """
    if activation is None:

        def fn(s: np.ndarray) -> np.ndarray:
            v = _check_states(s)
            with np.errstate(over="ignore", invalid="ignore"):
                return np.einsum("...na,...nb->...ab", v, v) / v.shape[-2]

        return Observable(_name(name, "gram"), fn)
    act = get_activation(activation)

    def post_fn(s: np.ndarray) -> np.ndarray:
        v = act.fn(_check_states(s))
        with np.errstate(over="ignore", invalid="ignore"):
            return np.einsum("...na,...nb->...ab", v, v) / v.shape[-2]

    return Observable(_name(name, "post_gram"), post_fn)


def active_counts(*, name: str | None = None) -> Observable:
    r"""Number of active neurons :math:`\mu_l^{(a)}=\#\{i: Y_l^{i,a}>0\}`, shape ``(..., k)``.

    For ReLU these drive the log-norm drift :math:`(\mu_t-2)/(2n)` (docs/science.md §A5).
    """
    return Observable(
        _name(name, "active_counts"), lambda s: np.count_nonzero(_check_states(s) > 0, axis=-2).astype(float)
    )


def neuron(i: int = 0, *, name: str | None = None) -> Observable:
    r"""Pre-activation of neuron ``i`` for each input, :math:`Y_l^{i,a}`, shape ``(..., k)``.

    Parameters
    ----------
    i : int
        Neuron index in ``[0, width)`` (checked when the observable is applied). The neurons of a random
        network are exchangeable, so every ``i`` has the same law. Default name ``"neuron_<i>"``.
    """
    i = check_int("i", i, min=0)

    def fn(states: np.ndarray) -> np.ndarray:
        s = _check_states(states)
        if i >= s.shape[-2]:
            raise ValueError(f"neuron index i must be < width = {s.shape[-2]}, got {i}")
        return s[..., i, :]

    return Observable(_name(name, f"neuron_{i}"), fn)


def dead(activation: str | Activation, *, name: str | None = None) -> Observable:
    r"""Indicator (0.0 or 1.0) that the network is dead for input ``a``: :math:`\phi(Y_l^{(a)})=0`,
    shape ``(..., k)``.

    For ReLU this is the absorbing dead set of docs/science.md §A5 (all pre-activations :math:`\le 0`), of
    probability :math:`2^{-n}` at initialisation.
    """
    act = get_activation(activation)
    return Observable(
        _name(name, "dead"), lambda s: np.all(act.fn(_check_states(s)) == 0.0, axis=-2).astype(float)
    )
