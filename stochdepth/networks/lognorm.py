r"""The exact finite-depth log-norm random walk of the linear random ResNet (docs/science.md §A4).

For :math:`\phi(x)=x` the network of :func:`~stochdepth.networks.sample_network` is
:math:`Y_l=(I+\sqrt h\,W_l)Y_{l-1}` with :math:`h=t_1/L`. Given the past, write
:math:`u=Y_{l-1}/\|Y_{l-1}\|`; then :math:`\sqrt{n}\,W_lu=Z\sim\mathcal N(0,I_n)` is independent of the
past, and splitting :math:`Z=gu+Z_\perp` (:math:`g\sim\mathcal N(0,1)`,
:math:`\|Z_\perp\|^2\sim\chi^2_{n-1}`, independent) gives

.. math::
    \frac{\|Y_l\|^2}{\|Y_{l-1}\|^2}=\Big\|u+\sqrt{\tfrac hn}Z\Big\|^2
    =\xi_l:=\Big(1+g_l\sqrt{\tfrac hn}\Big)^2+\frac hn\,\chi^2_{n-1,l}.

The law of :math:`\xi_l` does not depend on :math:`u` (rotation invariance), so the :math:`\xi_l` are
i.i.d. and independent of :math:`Y_0`:

.. math::
    \log\frac{\|Y_l\|}{\|Y_0\|}=\frac12\sum_{j=1}^{l}\log\xi_j,
    \qquad \mathbb E\,\xi=1+h,\qquad \mathbb E\frac{\|Y_l\|^2}{\|Y_0\|^2}=(1+h)^l.

This is the general-:math:`h` form of docs/science.md §A4 (which states :math:`t_1=1`, :math:`h=1/L`; derived
here). Two random numbers per layer instead of :math:`n`, and no overflow: the walk lives in the log
domain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_finite_result, check_int, check_real
from .._results import Result
from ..executors import accepts_executor
from ..montecarlo import check_threads, map_chunks
from ..random import DEFAULT_CHUNK_SIZE, RNGLike, check_chunk_size
from . import _kernels as K
from .sampling import check_record_layers

__all__ = ["LogNormWalk", "sample_linear_log_norm"]


@dataclass(frozen=True, repr=False)
class LogNormWalk(Result):
    r"""Samples of the log-norm ratio :math:`\log(\|Y_l\|/\|Y_0\|)` of linear random ResNets.

    Attributes
    ----------
    layers : ndarray of int
        Recorded layers.
    times : ndarray
        Depth-times :math:`t_1l/L`.
    log_ratio : ndarray, shape (n_paths, n_record)
        :math:`\tfrac12\sum_{j\le l}\log\xi_j` per path and recorded layer.
    mean, stderr : ndarray, shape (n_record,)
        Monte Carlo mean of ``log_ratio`` and its standard error (0 at layer 0).
    width, depth, n_paths, chunk_size : int
    t1 : float
    """

    layers: np.ndarray
    times: np.ndarray
    log_ratio: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    width: int
    depth: int
    t1: float
    n_paths: int
    chunk_size: int

    @property
    def step(self) -> float:
        """:math:`h=t_1/L`."""
        return self.t1 / self.depth

    @property
    def exact_mean_square_ratio(self) -> np.ndarray:
        r"""Exact :math:`\mathbb E\,\|Y_l\|^2/\|Y_0\|^2=(1+h)^l` at the recorded layers."""
        return np.exp(self.layers * math.log1p(self.step))


@accepts_executor
def sample_linear_log_norm(
    width: int,
    depth: int,
    *,
    n_paths: int,
    t1: float = 1.0,
    record: Any = None,
    rng: RNGLike = None,
    chunk_size: int | None = None,
    n_threads: int | None = None,
) -> LogNormWalk:
    r"""Sample the exact log-norm random walk of the linear random ResNet at finite depth.

    .. math::
        \log\frac{\|Y_l\|}{\|Y_0\|}=\frac12\sum_{j=1}^{l}\log\xi_j,\qquad
        \xi_j=\Big(1+g_j\sqrt{h/n}\Big)^2+\frac hn\,\chi^2_{n-1,j},\quad h=\frac{t_1}{L},

    :math:`g_j\sim\mathcal N(0,1)` and :math:`\chi^2_{n-1,j}` all independent (:math:`\chi^2_0=0`). It has
    the law of :math:`\log(\|Y_l\|/\|Y_0\|)` for the network of :func:`sample_network` with
    ``activation="linear"``, jointly over layers and for any input (derived; docs/science.md §A4 for
    :math:`h=1/L`, general :math:`h` in :mod:`stochdepth.networks.lognorm`). As :math:`L\to\infty` it
    tends to :math:`\mathcal N((\tfrac12-\tfrac1n)t,\,t/n)` at depth-time :math:`t`.

    Parameters
    ----------
    width : int
        :math:`n\ge1`.
    depth : int
        :math:`L\ge1`.
    n_paths : int
        Number of independent walks, :math:`\ge1`.
    t1 : float
        Final depth-time :math:`t_1>0`.
    record : sequence of int, optional
        Layers in ``[0, depth]`` (sorted, duplicates removed; default ``[0, depth]``).
    rng : None, int, SeedSequence or Generator
        Seed.
    chunk_size : int, optional
        Paths per chunk (default :data:`stochdepth.random.DEFAULT_CHUNK_SIZE`).
    n_threads : int, optional
        Threads; the result does not depend on it.

    Returns
    -------
    LogNormWalk

    Examples
    --------
    >>> from stochdepth.networks import sample_linear_log_norm
    >>> walk = sample_linear_log_norm(8, 64, n_paths=20000, record=[0, 32, 64], rng=0)
    >>> walk.log_ratio.shape
    (20000, 3)
    >>> walk.exact_mean_square_ratio.round(4)
    array([1.    , 1.6424, 2.6973])
    """
    width = check_int("width", width, min=1)
    depth = check_int("depth", depth, min=1)
    n_paths = check_int("n_paths", n_paths, min=1)
    t1 = check_real("t1", t1, lo=0.0, lo_open=True)
    layers = check_record_layers(record, depth)
    chunk = check_chunk_size(chunk_size, DEFAULT_CHUNK_SIZE)
    threads = check_threads(n_threads)
    c = math.sqrt(t1 / (depth * width))
    half_dof = 0.5 * (width - 1)

    def job(start: int, stop: int, gen: np.random.Generator) -> np.ndarray:
        out = np.empty((stop - start, layers.size))
        K.log_norm_walk_kernel(gen, c, half_dof, layers, out)
        return out

    parts = map_chunks(job, rng, n_paths, chunk_size=chunk, n_threads=threads, item_bytes=8 * layers.size)
    log_ratio = np.concatenate(parts, axis=0)
    check_finite_result("linear log-norm walk", log_ratio)
    mean = log_ratio.mean(axis=0)
    stderr = (
        log_ratio.std(axis=0, ddof=1) / math.sqrt(n_paths) if n_paths > 1 else np.full(layers.size, np.inf)
    )
    return LogNormWalk(
        layers=layers,
        times=t1 * layers / depth,
        log_ratio=log_ratio,
        mean=mean,
        stderr=stderr,
        width=width,
        depth=depth,
        t1=t1,
        n_paths=n_paths,
        chunk_size=chunk,
    )
