"""Strategies for networks: activations, widths, depths, inputs and random ResNet configurations
(docs/science.md §A1)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from hypothesis import strategies as hst

from ..._checks import check_bool, check_int, check_real
from ..._results import Result
from ...activations import Activation, available_activations, get_activation, leaky_relu
from ._common import check_optional_bool, check_subset

if TYPE_CHECKING:  # pragma: no cover
    from hypothesis.strategies import SearchStrategy


__all__ = ["NetworkConfig", "activations", "depths", "network_configs", "network_inputs", "widths"]


def activations(
    *,
    names: Sequence[str] | None = None,
    leaky_slopes: Sequence[float] | None = None,
    homogeneous: bool | None = None,
    closed_form: bool | None = None,
) -> SearchStrategy[Activation]:
    r"""Activation functions :math:`\phi` as :class:`~stochdepth.Activation` objects.

    Draws from the built-ins (``linear``, ``relu``, ``leaky_relu`` with slope 0.01, ``tanh``, ``gelu``)
    and leaky ReLUs :math:`\phi(x)=\max(x,0)+\alpha\min(x,0)` with the given extra slopes, optionally
    restricted to the positively homogeneous ones (:math:`\phi(\lambda x)=\lambda\phi(x)`,
    :math:`\lambda>0`) or to those with closed-form Gaussian expectations :math:`M_2` and :math:`K`
    (docs/science.md §A6).

    Guarantees: every drawn activation has a finite Lipschitz constant (the limit SDE of docs/science.md §A3
    is well posed) and a numba scalar function; shrinking goes towards the first name (``linear``).

    Parameters
    ----------
    names : sequence of str, optional
        Built-in names to draw from (see :func:`stochdepth.activations.available_activations`); default
        all of them.
    leaky_slopes : sequence of float, optional
        Extra leaky-ReLU slopes in :math:`[0,1]` (each compiles its numba function, and the network
        samplers their kernels, once per process on first use). Default ``(0.1, 0.25)`` when ``names``
        is ``None``, none when ``names`` is given.
    homogeneous : bool or None, optional
        ``True``: positively homogeneous only; ``False``: non-homogeneous only; ``None``: any.
    closed_form : bool or None, optional
        ``True``: closed-form :math:`M_2` and kernel only; ``False``: quadrature ones only; ``None``: any.

    Returns
    -------
    hypothesis strategy of Activation

    Raises
    ------
    ValueError
        For an unknown name, a slope outside :math:`[0,1]`, or filters that leave no activation.

    References
    ----------
    docs/science.md §A1 (the network) and A6 (Gaussian expectations); Cho & Saul, NeurIPS 2009 (arc-cosine
    kernel of ReLU).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(activations(homogeneous=True))
    ... def check(phi):
    ...     assert phi.homogeneity == 1.0 and phi.has_closed_form_kernel
    >>> check()
    """
    allowed = available_activations()
    chosen = list(allowed if names is None else check_subset("names", names, allowed))
    homogeneous = check_optional_bool("homogeneous", homogeneous)
    closed_form = check_optional_bool("closed_form", closed_form)
    if leaky_slopes is None:
        leaky_slopes = (0.1, 0.25) if names is None else ()
    if isinstance(leaky_slopes, (str, bytes)) or not isinstance(leaky_slopes, Sequence):
        raise TypeError(f"leaky_slopes must be a sequence of floats, got {type(leaky_slopes).__name__}")
    slopes = [check_real("leaky_slopes", s, lo=0.0, hi=1.0) for s in leaky_slopes]
    pool: list[Activation] = []
    # order: simplest first, so that hypothesis shrinks towards the linear network
    order = ["linear", "identity", "relu", "leaky_relu", "tanh", "gelu"]
    for name in sorted(chosen, key=lambda s: order.index(s) if s in order else len(order)):
        act = get_activation(name)
        if all(act is not p for p in pool):
            pool.append(act)
    pool.extend(leaky_relu(s) for s in slopes if all(leaky_relu(s) is not p for p in pool))
    if homogeneous is not None:
        pool = [a for a in pool if (a.homogeneity is not None) == homogeneous]
    if closed_form is not None:
        pool = [a for a in pool if a.has_closed_form_kernel == closed_form]
    if not pool:
        raise ValueError(
            f"no activation satisfies names={names!r}, homogeneous={homogeneous}, closed_form={closed_form}"
        )
    return hst.sampled_from(pool)


def widths(min_width: int = 1, max_width: int = 16) -> SearchStrategy[int]:
    r"""Network widths :math:`n` in ``[min_width, max_width]`` (shrinking towards ``min_width``).

    Parameters
    ----------
    min_width, max_width : int
        :math:`1\le` ``min_width`` :math:`\le` ``max_width``. Width 1 and 2 are the degenerate regimes of
        docs/science.md §A4--A5 (drift :math:`\frac12-\frac1n\le0`); include them unless a test excludes them.

    Returns
    -------
    hypothesis strategy of int

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(widths(3, 8))
    ... def check(n):
    ...     assert 3 <= n <= 8
    >>> check()
    """
    lo = check_int("min_width", min_width, min=1)
    hi = check_int("max_width", max_width, min=lo)
    return hst.integers(lo, hi)


def depths(min_depth: int = 1, max_depth: int = 64) -> SearchStrategy[int]:
    r"""Network depths :math:`L` in ``[min_depth, max_depth]`` (shrinking towards ``min_depth``).

    Parameters
    ----------
    min_depth, max_depth : int
        :math:`1\le` ``min_depth`` :math:`\le` ``max_depth``.

    Returns
    -------
    hypothesis strategy of int

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(depths(max_depth=4))
    ... def check(L):
    ...     assert 1 <= L <= 4
    >>> check()
    """
    lo = check_int("min_depth", min_depth, min=1)
    hi = check_int("max_depth", max_depth, min=lo)
    return hst.integers(lo, hi)


def network_inputs(
    d: int | None = None,
    k: int | None = None,
    *,
    max_dim: int = 6,
    max_inputs: int = 3,
    min_norm: float = 0.1,
    max_norm: float = 10.0,
    collinear: bool = True,
) -> SearchStrategy[np.ndarray]:
    r"""Network inputs :math:`X=[x^{(1)},\dots,x^{(k)}]\in\mathbb R^{d\times k}`.

    Each column is a direction drawn coordinatewise in :math:`[-1,1]` (normalised) times a norm drawn
    log-uniformly in ``[min_norm, max_norm]``. With ``collinear=True`` about one column in four (after
    the first) is a copy or the negative of an earlier one, so the input Gram matrix
    :math:`X^\top X` -- hence the Gram matrix of the first layer (docs/science.md §A2) -- is often singular,
    which samplers must handle.

    Guarantees: float64, finite, shape ``(d, k)``, every column has norm in ``[min_norm, max_norm]``
    (up to rounding).

    Parameters
    ----------
    d, k : int, optional
        Input dimension and number of inputs; drawn in ``[1, max_dim]`` and ``[1, max_inputs]`` when
        ``None``.
    max_dim, max_inputs : int, optional
        Size knobs (``>= 1``), used when ``d`` or ``k`` is ``None``.
    min_norm, max_norm : float, optional
        Range of the column norms, :math:`0<` ``min_norm`` :math:`\le` ``max_norm``.
    collinear : bool, optional
        Allow duplicated (or negated) columns. Default True.

    Returns
    -------
    hypothesis strategy of numpy.ndarray

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(network_inputs(d=3, k=2))
    ... def check(x):
    ...     norms = np.linalg.norm(x, axis=0)
    ...     assert x.shape == (3, 2) and ((norms > 0.0999) & (norms < 10.001)).all()
    >>> check()
    """
    dd = None if d is None else check_int("d", d, min=1)
    kk = None if k is None else check_int("k", k, min=1)
    max_dim = check_int("max_dim", max_dim, min=1)
    max_inputs = check_int("max_inputs", max_inputs, min=1)
    lo = check_real("min_norm", min_norm, lo=0.0, lo_open=True)
    hi = check_real("max_norm", max_norm, lo=lo)
    check_bool("collinear", collinear)
    log_lo, log_hi = math.log(lo), math.log(hi)

    @hst.composite
    def draw_inputs(draw: Any) -> np.ndarray:
        dim = dd if dd is not None else draw(hst.integers(1, max_dim))
        n_in = kk if kk is not None else draw(hst.integers(1, max_inputs))
        coords = hst.floats(-1.0, 1.0, allow_nan=False, allow_subnormal=False)
        cols: list[np.ndarray] = []
        for j in range(n_in):
            if collinear and j > 0 and draw(hst.integers(0, 3)) == 0:
                src = cols[draw(hst.integers(0, j - 1))]
                cols.append(src * draw(hst.sampled_from([1.0, -1.0])))
                continue
            u = np.array(draw(hst.lists(coords, min_size=dim, max_size=dim)), dtype=float)
            nu = float(np.linalg.norm(u))
            if nu < 1e-3:  # a direction that rounding could not normalise: use a basis vector
                u = np.zeros(dim)
                u[j % dim] = 1.0
                nu = 1.0
            r = math.exp(draw(hst.floats(log_lo, log_hi))) if log_hi > log_lo else lo
            cols.append(u * (min(max(r, lo), hi) / nu))
        return np.ascontiguousarray(np.stack(cols, axis=1))

    return draw_inputs()


@dataclass(frozen=True, eq=False, repr=False)
class NetworkConfig(Result):
    r"""A random residual network of docs/science.md §A1 to sample: inputs, width, depth, activation, horizon.

    .. math::
        Y_0=W_{\rm in}x,\qquad Y_l=Y_{l-1}+\sqrt{t_1/L}\;W_l\,\phi(Y_{l-1}),\quad l=1,\dots,L.

    Attributes
    ----------
    x : ndarray, shape (d, k)
        Inputs (columns).
    width, depth : int
        :math:`n` and :math:`L`.
    activation : Activation
        :math:`\phi`.
    t1 : float
        Depth-time horizon :math:`t_1>0` (branch scale :math:`\sqrt{t_1/L}`).
    """

    x: np.ndarray
    width: int
    depth: int
    activation: Activation
    t1: float

    @property
    def step(self) -> float:
        """Depth-time step :math:`h=t_1/L`."""
        return self.t1 / self.depth

    @property
    def input_variance(self) -> np.ndarray:
        r"""Per-neuron variance of the first layer, :math:`q_0=\|x^{(a)}\|^2/d` for each input ``(k,)``."""
        return np.sum(self.x**2, axis=0) / self.x.shape[0]

    def sample(self, *, n_paths: int, **kwargs: Any) -> Any:
        """Sample networks of this configuration with :func:`stochdepth.networks.sample_network`.

        ``kwargs`` are passed on (``record``, ``observe``, ``reduce``, ``rng``, ``sampler``, ...).
        """
        from ...networks import sample_network

        return sample_network(
            self.x, self.width, self.depth, self.activation, n_paths=n_paths, t1=self.t1, **kwargs
        )


def network_configs(
    *,
    max_width: int = 8,
    max_depth: int = 16,
    max_dim: int = 4,
    max_inputs: int = 2,
    activation: SearchStrategy[Activation] | None = None,
    t1: float | None = None,
) -> SearchStrategy[NetworkConfig]:
    r"""Configurations of random residual networks (:class:`NetworkConfig`).

    Width in ``[1, max_width]``, depth in ``[1, max_depth]``, inputs from :func:`network_inputs`
    (collinear columns included), activation from ``activation`` (default :func:`activations`), horizon
    :math:`t_1` drawn in :math:`[0.25, 2]` unless fixed.

    Parameters
    ----------
    max_width, max_depth, max_dim, max_inputs : int, optional
        Size knobs, each ``>= 1``.
    activation : hypothesis strategy of Activation, optional
        Where activations come from (e.g. ``activations(names=["relu"])``).
    t1 : float, optional
        Fixed horizon :math:`t_1>0`.

    Returns
    -------
    hypothesis strategy of NetworkConfig

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=3)
    ... @given(network_configs(max_width=4, max_depth=4, activation=activations(names=["relu"])))
    ... def check(cfg):
    ...     res = cfg.sample(n_paths=8, rng=0)
    ...     assert res["preactivations"].samples.shape[-2:] == (cfg.width, cfg.x.shape[1])
    >>> check()
    """
    max_width = check_int("max_width", max_width, min=1)
    max_depth = check_int("max_depth", max_depth, min=1)
    inputs = network_inputs(max_dim=check_int("max_dim", max_dim, min=1), max_inputs=max_inputs)
    acts = activations() if activation is None else activation
    if not isinstance(acts, hst.SearchStrategy):
        raise TypeError(f"activation must be a hypothesis strategy, got {type(acts).__name__}")
    fixed_t1 = None if t1 is None else check_real("t1", t1, lo=0.0, lo_open=True)

    @hst.composite
    def draw_config(draw: Any) -> NetworkConfig:
        x = draw(inputs)
        n = draw(hst.integers(1, max_width))
        L = draw(hst.integers(1, max_depth))
        act = draw(acts)
        if not isinstance(act, Activation):
            raise TypeError(f"activation strategy must draw Activation objects, got {type(act).__name__}")
        horizon = fixed_t1 if fixed_t1 is not None else draw(hst.sampled_from([1.0, 0.25, 0.5, 2.0]))
        return NetworkConfig(x, n, L, act, horizon)

    return draw_config()
