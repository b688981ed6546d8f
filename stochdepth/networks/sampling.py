r"""Finite-depth random residual networks, sampled without torch.

The network of docs/science.md §A1, with a final depth-time :math:`t_1` (:math:`t_1=1` is the paper's
network):

.. math::
    Y_0 = W_{\rm in}X,\qquad Y_l = Y_{l-1} + \sqrt{t_1/L}\;W_l\,\phi(Y_{l-1}),\quad l=1,\dots,L,

:math:`W_{\rm in}` with i.i.d. :math:`\mathcal N(0,1/d)` entries, :math:`W_l` with i.i.d.
:math:`\mathcal N(0,1/n)` entries, :math:`X=[x^{(1)},\dots,x^{(k)}]` the ``k`` inputs pushed through the
same weights. Layer :math:`l` sits at depth-time :math:`t=t_1l/L`.

Two samplers give the same law:

* :class:`ExactLaw` -- the exact-in-law sampler of docs/science.md §A2 (Gram factors; no weight matrix is
  ever formed), cost :math:`O(L(nk^2+k^3))` per network;
* :class:`ExplicitWeights` -- the plain reference with explicit Gaussian weight matrices,
  cost :math:`O(Ln^2k)` per network.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_array, check_int, check_memory, check_real, check_record, check_rng
from ..activations import Activation
from ..executors import accepts_executor
from ..montecarlo import (
    ChunkKernel,
    Observable,
    Observed,
    ObservedResult,
    Reducer,
    as_observables,
    as_reducers,
    check_threads,
    run_observed,
)
from ..random import RNGLike, as_generator, check_chunk_size
from . import _kernels as K
from .observables import preactivations
from .spec import NetworkSpec, as_network_spec, check_network_inputs

__all__ = [
    "ExactLaw",
    "ExplicitWeights",
    "NetworkSample",
    "NetworkSampler",
    "psd_factor",
    "sample_input_layer",
    "sample_network",
]


# ----------------------------------------------------------------------------------------------------
# Argument checks shared with the log-norm walk
# ----------------------------------------------------------------------------------------------------


def check_record_layers(record: Any, depth: int) -> np.ndarray:
    """Recorded layers: ints in ``[0, depth]``, returned sorted without duplicates (default
    ``[0, depth]``); the rule of every simulator, :func:`stochdepth._checks.check_record`."""
    return check_record(record, depth, default=(0, depth), index="layer", last_name="depth")


def psd_factor(G: Any, *, rtol: float | None = None) -> tuple[np.ndarray, int]:
    r"""A factor :math:`C` of a symmetric positive semidefinite matrix, :math:`CC^\top=G`.

    Pivoted (outer-product) Cholesky with a relative retirement tolerance: index :math:`i` stops
    receiving new columns once its Schur-complement diagonal is at most ``rtol`` :math:`G_{ii}` (its
    angle :math:`\theta` to the span of the pivots has :math:`\sin^2\theta\le` ``rtol``). This is the
    factor the exact sampler uses for the Gram matrix of the post-activations (docs/science.md §A2), robust
    to singular :math:`G` (dead ReLU units, identical or proportional inputs, zero inputs).

    Parameters
    ----------
    G : array_like, shape (k, k)
        Symmetric positive semidefinite, finite. Only the diagonal and the entries visited by the
        pivoting are read; symmetry is assumed, not checked.
    rtol : float, optional
        Retirement tolerance in ``[0, 1)``; default :math:`16k\varepsilon_{\rm mach}`.

    Returns
    -------
    C : ndarray, shape (k, k)
        :math:`CC^\top=G` up to rounding and to the retired residuals; columns ``rank..k-1`` are zero,
        column :math:`j` belongs to the :math:`j`-th pivot. Exactly duplicated rows/columns of ``G``
        get bitwise-identical rows of ``C``.
    rank : int
        Numerical rank (number of pivots).

    References
    ----------
    Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002, section 10.3
    (Cholesky with complete pivoting for semidefinite matrices).

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.networks import psd_factor
    >>> G = np.array([[4.0, 4.0, 0.0], [4.0, 4.0, 0.0], [0.0, 0.0, 0.0]])
    >>> C, rank = psd_factor(G)
    >>> rank
    1
    >>> np.allclose(C @ C.T, G), bool(np.all(C[0] == C[1]))
    (True, True)
    """
    A = check_array("G", G, ndim=2)
    k = A.shape[0]
    if A.shape != (k, k) or k < 1:
        raise ValueError(f"G must be a square (k, k) matrix with k >= 1, got shape {A.shape}")
    tol = K.default_rtol(k) if rtol is None else check_real("rtol", rtol, lo=0.0, hi=1.0, hi_open=True)
    if np.any(np.diag(A) < 0):
        raise ValueError("G must be positive semidefinite, got a negative diagonal entry")
    A = np.ascontiguousarray(A)
    C = np.empty((k, k))
    rank = K.psd_factor_inplace(A, tol, C, np.empty((k, k)), np.empty(k, np.bool_))
    return C, int(rank)


def _input_factor(X: np.ndarray, rtol: float) -> tuple[np.ndarray, int]:
    """Factor of :math:`X^\\top X/d` (the row covariance of :math:`W_{\\rm in}X`)."""
    d, k = X.shape
    G0 = np.empty((k, k))
    e = K.pow2_exponent(X)
    Xt = np.array(X.T, order="C", copy=True)  # scaled in place below: never a view of the input
    K.scale_pow2(Xt, e)
    K.gram_into(Xt, G0)
    C0 = np.empty((k, k))
    rank0 = K.psd_factor_inplace(G0, rtol, C0, np.empty((k, k)), np.empty(k, np.bool_))
    # C0 C0^T = X^T X 4^-e  ->  multiply by 2^e / sqrt(d)
    return np.ascontiguousarray(np.ldexp(C0, e) / math.sqrt(d)), int(rank0)


# ----------------------------------------------------------------------------------------------------
# Samplers
# ----------------------------------------------------------------------------------------------------


class NetworkSampler(ABC):
    """Abstract base of the random-network samplers: *how* to draw networks, not *which* network.

    A sampler implements :meth:`make_kernel`. :func:`sample_network` validates the arguments (into a
    :class:`~stochdepth.networks.NetworkSpec` and recorded layers), builds the kernel once and drives it
    chunk by chunk through :func:`stochdepth.montecarlo.run_observed`. Subclasses: :class:`ExactLaw`,
    :class:`ExplicitWeights` and :class:`stochdepth.nn.TorchExplicitWeights`; a user sampler subclasses
    this class the same way and is passed as ``sample_network(..., sampler=MySampler())``.

    Attributes
    ----------
    name : str
        Reported in :attr:`NetworkSample.sampler` and in error messages.
    """

    name: str = "sampler"

    @abstractmethod
    def make_kernel(self, spec: NetworkSpec, layers: np.ndarray) -> ChunkKernel:
        """The chunk kernel of the network ``spec`` observed at ``layers``.

        Parameters
        ----------
        spec : NetworkSpec
            Validated, with inputs and a depth (:attr:`NetworkSpec.input_matrix` is the ``(d, k)``
            input matrix); the branch scale is ``sqrt(spec.t1 / spec.depth)``.
        layers : ndarray of int
            Recorded layers, increasing, in ``[0, spec.depth]``.

        Returns
        -------
        callable
            ``kernel(start, stop, generator) -> states`` of shape ``(stop - start, len(layers), width,
            k)``: the pre-activations of networks ``start..stop-1`` at the recorded layers, drawn from
            ``generator`` only (so that results are reproducible chunk by chunk).
        """


@dataclass(frozen=True)
class ExactLaw(NetworkSampler):
    r"""Exact-in-law sampler through Gram factors (docs/science.md §A2, derived).

    Given the past, :math:`W_l\phi(Y_{l-1})` has i.i.d. rows :math:`\mathcal N(0,G_{l-1}/n)` with
    :math:`G=\phi(Y)^\top\phi(Y)`, and :math:`W_l` is independent of the past; hence, jointly over all
    layers,

    .. math::
        Y_0 \overset d= Z_0C_0^\top,\quad C_0C_0^\top=\tfrac1dX^\top X,\qquad
        Y_l \overset d= Y_{l-1}+\sqrt{\tfrac{t_1}{nL}}\;Z_l\,C_{l-1}^\top,\quad C_{l-1}C_{l-1}^\top=G_{l-1},

    :math:`Z_l` i.i.d. :math:`n\times k` standard normal. :math:`C` is the pivoted semidefinite factor
    of :func:`psd_factor` (rank-revealing, so a singular Gram matrix costs fewer normals and duplicated
    inputs stay bitwise identical); for :math:`k=1`, :math:`C=\|\phi(Y)\|`. Cost
    :math:`O(L(nk^2+k^3))` per network. One numba kernel call per chunk of networks; normals are drawn
    in-kernel from the chunk's generator.

    Parameters
    ----------
    rtol : float, optional
        Retirement tolerance of the factor (see :func:`psd_factor`), in ``[0, 1)``; default
        :math:`16k\varepsilon_{\rm mach}` (rounding level).
    """

    rtol: float | None = None
    name: str = field(default="exact_law", init=False)

    def __post_init__(self) -> None:
        if self.rtol is not None:
            object.__setattr__(self, "rtol", check_real("rtol", self.rtol, lo=0.0, hi=1.0, hi_open=True))

    def make_kernel(self, spec: NetworkSpec, layers: np.ndarray) -> ChunkKernel:
        X, width, depth, t1 = spec.input_matrix, spec.width, spec.require("depth"), spec.t1
        act = spec.activation
        k = X.shape[1]
        rtol = K.default_rtol(k) if self.rtol is None else float(self.rtol)
        C0, rank0 = _input_factor(X, rtol)
        scale = math.sqrt(t1 / (width * depth))
        code = K.activation_code(act)
        if code >= 0:
            general, single = K.exact_kernel, K.exact_kernel_1
        else:
            general, single = K.custom_exact_kernels(act)
        n_rec = layers.size

        def kernel(start: int, stop: int, gen: np.random.Generator) -> np.ndarray:
            out = np.empty((stop - start, n_rec, width, k))
            if k == 1:
                single(gen, float(C0[0, 0]), scale, layers, code, out)
            else:
                general(gen, C0, rank0, scale, layers, code, rtol, out)
            return out

        return kernel


@dataclass(frozen=True)
class ExplicitWeights(NetworkSampler):
    r"""Reference sampler with explicit Gaussian weight matrices (numpy).

    Draws :math:`W_{\rm in}` (:math:`n\times d`) and every :math:`W_l` (:math:`n\times n`) and applies
    docs/science.md §A1 literally, vectorised over a batch of networks (batched matrix products). Cost
    :math:`O(Ln^2k)` per network plus :math:`Ln^2` normals; used to test :class:`ExactLaw` and as the
    benchmark baseline.

    Parameters
    ----------
    batch_size : int, optional
        Networks processed together within a chunk (memory :math:`8\,n^2` bytes each for the weights).
        Default: as many as fit in 32 MiB of weights (at least 1). Part of the definition of a result:
        it fixes the order in which the chunk's random numbers are used.
    """

    batch_size: int | None = None
    name: str = field(default="explicit_weights", init=False)

    def __post_init__(self) -> None:
        if self.batch_size is not None:
            object.__setattr__(self, "batch_size", check_int("batch_size", self.batch_size, min=1))

    def make_kernel(self, spec: NetworkSpec, layers: np.ndarray) -> ChunkKernel:
        X, width, depth, t1 = spec.input_matrix, spec.width, spec.require("depth"), spec.t1
        d, k = X.shape
        check_memory("width", width, 8.0 * max(width, d), "one weight matrix of ExplicitWeights")
        batch = self.batch_size or max(1, (32 * 2**20) // (8 * width * max(width, d)))
        scale = math.sqrt(t1 / (depth * width))
        last = int(layers[-1])
        rec_index = {int(l): j for j, l in enumerate(layers)}
        fn = spec.activation.fn

        def kernel(start: int, stop: int, gen: np.random.Generator) -> np.ndarray:
            m = stop - start
            out = np.empty((m, layers.size, width, k))
            with np.errstate(over="ignore", invalid="ignore"):
                for b0 in range(0, m, batch):
                    b1 = min(m, b0 + batch)
                    w_in = gen.standard_normal((b1 - b0, width, d)) / math.sqrt(d)
                    Y = w_in @ X
                    if 0 in rec_index:
                        out[b0:b1, rec_index[0]] = Y
                    for l in range(1, last + 1):
                        W = gen.standard_normal((b1 - b0, width, width))
                        Y = Y + scale * (W @ fn(Y))
                        if l in rec_index:
                            out[b0:b1, rec_index[l]] = Y
            return out

        return kernel


# ----------------------------------------------------------------------------------------------------
# Results and entry points
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class NetworkSample(ObservedResult):
    r"""Observables of ``n_paths`` independent random ResNets at the recorded layers.

    Attributes
    ----------
    layers : ndarray of int
        Recorded layers :math:`l` (increasing, in :math:`[0, L]`).
    times : ndarray
        Their depth-times :math:`t=t_1l/L`.
    observed : dict of str to Observed
        What was recorded of each observable (samples, moments, ... per the reducers); ``res[name]`` is a
        shortcut for ``res.observed[name]``.
    width, depth : int
        :math:`n` and :math:`L`.
    t1 : float
        Final depth-time :math:`t_1` (branch scale :math:`\sqrt{t_1/L}`).
    activation : str
        Name of :math:`\phi`.
    n_inputs, input_dim : int
        :math:`k` and :math:`d`.
    n_paths : int
        Number of independent networks (Monte Carlo sample size).
    sampler : str
        ``"exact_law"``, ``"explicit_weights"`` or ``"torch_explicit_weights(<device>, <dtype>)"``.
    chunk_size : int
        Networks per chunk (with the seed, it determines the random numbers).
    """

    layers: np.ndarray
    times: np.ndarray
    observed: dict[str, Observed] = field(repr=False)
    width: int
    depth: int
    t1: float
    activation: str
    n_inputs: int
    input_dim: int
    n_paths: int
    sampler: str
    chunk_size: int

    def __getitem__(self, name: str) -> Observed:
        return super().__getitem__(name)

    def mean(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Monte Carlo mean of observable ``name`` over networks and its standard error.

        Uses the :class:`~stochdepth.montecarlo.Moments` reducer if it ran, else the samples.
        Both arrays have shape ``(n_record, *out_shape)``.
        """
        obs = self[name]
        if obs.moments is not None:
            return obs.moments.mean, obs.moments.stderr
        if obs.samples is not None:
            s = obs.samples
            if s.shape[0] < 2:
                raise ValueError("a standard error needs at least 2 networks")
            return s.mean(axis=0), s.std(axis=0, ddof=1) / math.sqrt(s.shape[0])
        raise ValueError(f"observable {name!r} was reduced without samples or moments")


def states_chunk_size(width: int, n_inputs: int, n_record: int, max_chunk: int) -> int:
    """Networks per chunk holding about 16 MiB of recorded float64 states, between 1 and ``max_chunk``."""
    width = check_int("width", width, min=1)
    n_inputs = check_int("n_inputs", n_inputs, min=1)
    n_record = check_int("n_record", n_record, min=1)
    check_memory(
        "width * n_inputs * n_record", width * n_inputs * n_record, 8, "the recorded states of one network"
    )
    return int(max(1, min(max_chunk, 2**21 // (width * n_inputs * n_record))))


def default_chunk_size(width: int, n_inputs: int, n_record: int) -> int:
    """Default networks per chunk: at most 1024, and about 16 MiB of recorded states per chunk."""
    return states_chunk_size(width, n_inputs, n_record, 1024)


@accepts_executor
def sample_network(
    x: Any,
    width: int | None = None,
    depth: int | None = None,
    activation: str | Activation | None = None,
    t1: float | None = None,
    *,
    n_paths: int,
    sampler: NetworkSampler | None = None,
    record: Any = None,
    observe: Observable | list[Observable] | dict[str, Any] | None = None,
    reduce: Reducer | list[Reducer] | None = None,
    rng: RNGLike = None,
    chunk_size: int | None = None,
    n_threads: int | None = None,
) -> NetworkSample:
    r"""Sample random residual networks of finite width and depth and observe them layer by layer.

    .. math::
        Y_0=W_{\rm in}X,\qquad Y_l=Y_{l-1}+\sqrt{t_1/L}\;W_l\,\phi(Y_{l-1}),\quad l=1,\dots,L,

    :math:`(W_{\rm in})_{ij}\sim\mathcal N(0,1/d)`, :math:`(W_l)_{ij}\sim\mathcal N(0,1/n)`, all
    independent (docs/science.md §A1; :math:`t_1=1` is the paper's network, a larger :math:`t_1` is a deeper
    network in depth-time). The ``k`` columns of ``x`` go through the same weights.

    Parameters
    ----------
    x : array_like, shape (d,) or (d, k), or NetworkSpec
        Input(s), finite, :math:`d\ge1`; or a :class:`~stochdepth.networks.NetworkSpec` with inputs and a
        depth, which then replaces ``width``, ``depth``, ``activation`` and ``t1`` (not to be given).
    width : int
        :math:`n\ge1`.
    depth : int
        :math:`L\ge1`.
    activation : str or Activation
        :math:`\phi` (default ReLU); any :class:`~stochdepth.Activation`, including user ones (a user
        activation compiles its own kernel once, about a second).
    t1 : float
        Final depth-time :math:`t_1>0` (default 1).
    n_paths : int
        Number of independent networks, :math:`\ge1`.
    sampler : NetworkSampler, optional
        How to draw them (default :class:`ExactLaw`; :class:`ExplicitWeights` gives the same law).
    record : int or sequence of int, optional
        Layers in ``[0, depth]`` at which states are observed (sorted, duplicates removed; default
        ``[0, depth]``). Only these states are ever held in memory; layers after the last recorded one
        are not computed (so, with the seed and the chunk size, the last recorded layer fixes the
        random numbers: records with the same last layer see the same networks).
    observe : Observable, list of them, or mapping name -> function, optional
        Functions of the state ``(..., width, k)`` (see :mod:`stochdepth.networks.observables`).
        Default :func:`~stochdepth.networks.preactivations`.
    reduce : Reducer or list of them, optional
        Default :class:`~stochdepth.montecarlo.Samples` (keep every value).
    rng : None, int, SeedSequence or Generator
        Seed (see :mod:`stochdepth.random`).
    chunk_size : int, optional
        Networks per chunk; default :func:`default_chunk_size`. With the seed, it fixes the random
        numbers; the result does not depend on ``n_threads``.
    n_threads : int, optional
        Threads running chunks (default :func:`stochdepth.montecarlo.default_threads`).

    Returns
    -------
    NetworkSample

    Raises
    ------
    ValueError, TypeError
        For invalid arguments (the message names the parameter).
    NumericalError
        If a state or an observed value is NaN or infinite (e.g. a linear network overflowing at huge
        ``t1``; the log-norm walk :func:`sample_linear_log_norm` has no such limit).

    References
    ----------
    Hayou, *On the infinite-depth limit of finite-width neural networks*, TMLR 2023 (the network);
    the exact-in-law sampler is derived, see docs/science.md §A2 and :class:`ExactLaw`.

    Examples
    --------
    Three inputs (the second a copy of the first) through 500 ReLU networks of width 16 and depth 32:

    >>> import numpy as np
    >>> from stochdepth.networks import sample_network, squared_norms, gram
    >>> x = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> res = sample_network(x, 16, 32, "relu", n_paths=500, record=[0, 16, 32],
    ...                      observe=[squared_norms(), gram()], rng=1)
    >>> res["squared_norms"].samples.shape, res["gram"].samples.shape
    ((500, 3, 3), (500, 3, 3, 3))
    >>> bool(np.all(res["squared_norms"].samples[..., 0] == res["squared_norms"].samples[..., 1]))
    True
    >>> res.times
    array([0. , 0.5, 1. ])
    """
    spec = as_network_spec(x, width, depth, activation, t1)
    X, width, depth, act, t1 = spec.input_matrix, spec.width, spec.require("depth"), spec.activation, spec.t1
    n_paths = check_int("n_paths", n_paths, min=1)
    if sampler is None:
        sampler = ExactLaw()
    if not isinstance(sampler, NetworkSampler):
        raise TypeError(
            f"sampler must be a NetworkSampler instance such as ExactLaw() or ExplicitWeights(), "
            f"got {sampler!r}"
        )
    layers = check_record_layers(record, depth)
    obs = as_observables(observe, default=(preactivations(),))
    red = as_reducers(reduce)
    chunk = check_chunk_size(chunk_size, default_chunk_size(width, X.shape[1], layers.size))
    threads = check_threads(n_threads)
    times = t1 * layers / depth

    kernel = sampler.make_kernel(spec, layers)
    observed = run_observed(
        kernel,
        rng,
        n_paths,
        times,
        obs,
        red,
        chunk_size=chunk,
        n_threads=threads,
        what=f"random network ({sampler.name}, {act.name}, width {width}, depth {depth}, t1 {t1:g})",
    )
    return NetworkSample(
        layers=layers,
        times=times,
        observed=observed,
        width=width,
        depth=depth,
        t1=t1,
        activation=act.name,
        n_inputs=int(X.shape[1]),
        input_dim=int(X.shape[0]),
        n_paths=n_paths,
        sampler=sampler.name,
        chunk_size=chunk,
    )


def sample_input_layer(x: Any, width: int, n_paths: int, generator: RNGLike) -> np.ndarray:
    r"""Draw ``n_paths`` input layers :math:`Y_0=W_{\rm in}X` of width ``width``.

    The rows of :math:`W_{\rm in}X` are i.i.d. :math:`\mathcal N(0,X^\top X/d)` (docs/science.md §A2), so
    :math:`Y_0\overset d=Z_0C_0^\top` with :math:`C_0C_0^\top=X^\top X/d`: ``n * rank(X)`` normals per
    draw. This is the random initial condition of the limit diffusion (docs/science.md §A3).

    Parameters
    ----------
    x : array_like, shape (d,) or (d, k)
        Input(s), finite.
    width : int
        :math:`n\ge1`.
    n_paths : int
        Number of draws, :math:`\ge1`.
    generator : numpy Generator (or any ``rng`` accepted by :func:`stochdepth.random.as_generator`)
        Source of the normals (a ``Generator`` is used and advanced in place).

    Returns
    -------
    ndarray, shape (n_paths, width, k)
        ``k = 1`` for a single input. Identical inputs give bitwise-identical columns.

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.networks import sample_input_layer
    >>> y0 = sample_input_layer(np.ones(4), 8, 1000, np.random.default_rng(0))
    >>> y0.shape
    (1000, 8, 1)
    """
    X = check_network_inputs(x)
    width = check_int("width", width, min=1)
    n_paths = check_int("n_paths", n_paths, min=1)
    check_memory("width", width, 8.0 * X.shape[1], "the state of one network")
    check_memory("n_paths", n_paths, 8.0 * width * X.shape[1], "the input layers")
    gen = as_generator(check_rng(generator, "generator"))
    C0, rank0 = _input_factor(X, K.default_rtol(X.shape[1]))
    out = np.empty((n_paths, width, X.shape[1]))
    K.input_layer_kernel(gen, C0, rank0, out)
    return out
