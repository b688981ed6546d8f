r"""Transition matrices of finite Markov chains: dense, banded and sparse, homogeneous or layer-dependent.

A chain on the states :math:`\{0,\dots,S-1\}` moves from layer :math:`l` to layer :math:`l+1` with the
row-stochastic matrix :math:`P_l`. Three storage formats are accepted wherever a transition is expected:

* a dense array, ``(S, S)`` (homogeneous) or ``(L, S, S)`` (layer :math:`l` uses ``P[l]``);
* a :class:`BandedTransitions`, for chains that move by at most a few states per layer (random walks on a
  grid): storage and work :math:`O(S\,w)` per layer instead of :math:`O(S^2)`;
* a ``scipy.sparse`` matrix (homogeneous) or a sequence of them (layer-dependent).

Every format is validated once (non-negative, finite, rows summing to one within ``1e-9``) and turned
into an internal :class:`Chain`, which the solvers use for expectations, pushes of distributions, Bellman
steps (numba kernels for the banded and sparse formats) and linear solves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.fft as spfft
import scipy.sparse as sp

from .._checks import check_array, check_int, check_memory
from . import _kernels as K

__all__ = ["BandedTransitions", "Chain", "as_chain", "random_walk_transitions"]

#: Largest tolerated deviation of a row sum from one.
ROW_SUM_ATOL = 1e-9
#: Narrowest band pushed by FFT convolution (below it the banded loop is as fast).
_FFT_MIN_BAND = 48
#: Rounding tolerated in a cdf's values (outside [0, 1], or decreasing).
_CDF_ATOL = 1e-12
#: Largest half-width of a random walk's band (in grid steps) before the law is called heavy-tailed.
_MAX_HALF_BAND = 2**20


class BandedTransitions:
    r"""Banded transition matrices: :math:`P[s,\,s+k]` for :math:`-\text{lower}\le k\le w-1-\text{lower}`.

    Parameters
    ----------
    bands : array_like
        ``(S, w)`` (homogeneous chain) or ``(L, S, w)`` (layer-dependent): ``bands[..., s, k]`` is the
        probability of the move :math:`s\to s-\text{lower}+k`. Entries that would leave
        :math:`\{0,\dots,S-1\}` must be zero; rows must sum to one.
    lower : int
        Number of sub-diagonals, :math:`0\le\text{lower}\le w-1`.

    Examples
    --------
    A lazy reflecting walk on 4 states:

    >>> bands = [[0.0, 0.5, 0.5], [0.25, 0.5, 0.25], [0.25, 0.5, 0.25], [0.5, 0.5, 0.0]]
    >>> P = BandedTransitions(bands, lower=1)
    >>> P.to_dense()[0]
    array([0.5, 0.5, 0. , 0. ])
    """

    def __init__(self, bands: Any, lower: int) -> None:
        arr = check_array("bands", bands, ndim=(2, 3))
        if arr.ndim == 2:
            arr = arr[None]
        n_states, width = arr.shape[1], arr.shape[2]
        if n_states < 1 or width < 1:
            raise ValueError(f"bands must have at least one state and one band, got shape {arr.shape}")
        lower = check_int("lower", lower, min=0, max=width - 1)
        if np.any(arr < 0):
            raise ValueError(f"bands must be non-negative (probabilities), got min {arr.min():.3g}")
        s = np.arange(n_states)[:, None]
        target = s - lower + np.arange(width)[None, :]
        outside = (target < 0) | (target >= n_states)
        if np.any(arr[:, outside] != 0):
            raise ValueError(
                f"bands put probability on moves outside the state space (states 0..{n_states - 1}) "
                f"with lower = {lower} (column j moves by j - lower); set those entries to zero, check "
                "lower, or widen the grid"
            )
        _check_row_sums("bands", arr.sum(axis=2))
        self.bands = np.ascontiguousarray(arr)
        self.lower = lower
        self._homogeneous_input = np.asarray(bands).ndim == 2

    @property
    def n_states(self) -> int:
        return int(self.bands.shape[1])

    @property
    def width(self) -> int:
        return int(self.bands.shape[2])

    def to_dense(self) -> np.ndarray:
        """The dense matrix (or stack of matrices)."""
        lb, n, w = self.bands.shape
        out = np.zeros((lb, n, n))
        s = np.arange(n)[:, None]
        target = s - self.lower + np.arange(w)[None, :]
        ok = (target >= 0) & (target < n)
        rows = np.broadcast_to(s, target.shape)[ok]
        for k in range(lb):
            out[k, rows, target[ok]] = self.bands[k][ok]
        return out[0] if self._homogeneous_input else out

    @classmethod
    def from_dense(cls, P: Any) -> BandedTransitions:
        """Banded form of a dense ``(S, S)`` or ``(L, S, S)`` matrix (bandwidth detected from non-zeros)."""
        arr = check_array("P", P, ndim=(2, 3))
        mats = arr[None] if arr.ndim == 2 else arr
        n = mats.shape[1]
        rows, cols = np.nonzero(np.any(mats != 0, axis=0))
        lower = int(max(0, np.max(rows - cols))) if rows.size else 0
        upper = int(max(0, np.max(cols - rows))) if rows.size else 0
        w = lower + upper + 1
        bands = np.zeros((mats.shape[0], n, w))
        s = np.arange(n)[:, None]
        target = s - lower + np.arange(w)[None, :]
        ok = (target >= 0) & (target < n)
        for k in range(mats.shape[0]):
            full = np.zeros((n, w))
            full[ok] = mats[k][np.broadcast_to(s, target.shape)[ok], target[ok]]
            bands[k] = full
        return cls(bands[0] if arr.ndim == 2 else bands, lower)

    def __repr__(self) -> str:
        return f"BandedTransitions(n_states={self.n_states}, width={self.width}, lower={self.lower})"


def _is_lumped(row: np.ndarray, p: np.ndarray, i: int, n: int, lower: int) -> bool:
    """Whether band ``row`` of state ``i`` is the walk's band ``p`` with the moves beyond an edge lumped
    on that edge (the rows of :func:`random_walk_transitions`)."""
    q = p.copy()
    cut = lower - i  # columns k < cut target states < 0
    if cut > 0:
        q[cut] += q[:cut].sum()
        q[:cut] = 0.0
    last = n - 1 - i + lower  # columns k > last target states > n - 1
    if last < q.size - 1:
        q[last] += q[last + 1 :].sum()
        q[last + 1 :] = 0.0
    return bool(np.all(np.abs(row - q) <= 1e-15))


def _check_row_sums(name: str, sums: np.ndarray) -> None:
    dev = np.abs(sums - 1.0)
    if np.any(dev > ROW_SUM_ATOL):
        k = np.unravel_index(int(np.argmax(dev)), dev.shape)
        raise ValueError(
            f"{name} must be row-stochastic (rows summing to 1 within {ROW_SUM_ATOL:g}); "
            f"row {k[-1]}{'' if len(k) == 1 else f' of matrix {k[0]}'} sums to {float(sums[k]):.12g}"
        )


class Chain:
    """Validated transitions in one of three formats (internal; see :func:`as_chain`).

    Attributes
    ----------
    kind : {"dense", "banded", "sparse"}
    n_states : int
    n_matrices : int
        1 for a homogeneous chain, else the number of layers it describes.
    """

    def __init__(self, kind: str, n_states: int, n_matrices: int) -> None:
        self.kind = kind
        self.n_states = n_states
        self.n_matrices = n_matrices
        self.dense: np.ndarray | None = None
        self.bands: np.ndarray | None = None
        self._bands_t: np.ndarray | None = None
        self._walk: tuple[np.ndarray, int, np.ndarray] | bool | None = None
        self.lower = 0
        self.csr_list: list[sp.csr_array] = []
        self.indptr: np.ndarray | None = None
        self.indices: np.ndarray | None = None
        self.data: np.ndarray | None = None

    @property
    def homogeneous(self) -> bool:
        return self.n_matrices == 1

    @property
    def bands_t(self) -> np.ndarray:
        """Transposed bands ``(Lb, w, S)`` (contiguous; the layout of the fast Bellman kernel)."""
        if self._bands_t is None:
            assert self.bands is not None
            self._bands_t = np.ascontiguousarray(self.bands.transpose(0, 2, 1))
        return self._bands_t

    def _k(self, layer: int) -> int:
        return 0 if self.n_matrices == 1 else layer

    # -- linear algebra ------------------------------------------------------------------------------
    def expect(self, layer: int, v: np.ndarray) -> np.ndarray:
        """:math:`P_l v` (``v`` of shape ``(S,)`` or ``(S, k)``)."""
        k = self._k(layer)
        if self.kind == "dense":
            assert self.dense is not None
            return self.dense[k] @ v
        return self.csr(layer) @ v

    def push(self, layer: int, mu: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
        """:math:`(\\mu\\odot\\text{keep})P_l`: the law one layer later of the paths still running."""
        m = mu if keep is None else np.where(keep, mu, 0.0)
        k = self._k(layer)
        if self.kind == "dense":
            assert self.dense is not None
            return m @ self.dense[k]
        if self.kind == "banded" and m.ndim == 1 and self.homogeneous and self._walk_plan():
            return self._push_walk(np.ascontiguousarray(m, dtype=float))
        if self.kind == "banded" and m.ndim == 1:
            assert self.bands is not None
            out = np.empty(self.n_states)
            K.banded_push(self.bands[k], self.lower, np.ascontiguousarray(m), np.ones(m.shape, bool), out)
            return out
        return self.csr(layer).T @ m

    def _walk_plan(self) -> bool:
        r"""Whether this homogeneous banded chain is a random walk: every row away from the edges the same
        band ``p`` (then a push is a convolution, done by FFT in :math:`O(S\log S)` instead of
        :math:`O(Sw)`; the edge rows and any irregular row are pushed exactly from their bands)."""
        if self._walk is None:
            self._walk = False
            assert self.bands is not None
            b = self.bands[0]
            n, w = b.shape
            if w >= _FFT_MIN_BAND:
                p = b[n // 2]
                expected = np.broadcast_to(p, b.shape)
                odd = np.nonzero(np.any(b != expected, axis=1))[0]
                # rows near an edge may instead lump the moves beyond it on the edge state
                odd = np.array([i for i in odd if not _is_lumped(b[i], p, i, n, self.lower)], dtype=np.int64)
                if odd.size <= n // 16:
                    size = spfft.next_fast_len(n + w - 1, real=True)
                    self._walk = (spfft.rfft(p, size), size, odd)
        return bool(self._walk)

    def _push_walk(self, m: np.ndarray) -> np.ndarray:
        assert isinstance(self._walk, tuple) and self.bands is not None
        p_hat, size, rows = self._walk
        n, lo = self.n_states, self.lower
        x = m.copy()
        x[rows] = 0.0
        full = spfft.irfft(spfft.rfft(x, size) * p_hat, size)
        out = full[lo : lo + n].copy()
        out[0] += full[:lo].sum()  # moves beyond the edges land on them
        out[-1] += full[lo + n : n + self.bands.shape[2] - 1].sum()
        K.banded_push_rows(self.bands[0], lo, m, rows, out)
        return out

    def csr(self, layer: int) -> sp.csr_array:
        """Matrix :math:`P_l` as a ``scipy.sparse.csr_array`` (built lazily for dense/banded input)."""
        k = self._k(layer)
        if not self.csr_list:
            self.csr_list = [None] * self.n_matrices  # type: ignore[list-item]
        if self.csr_list[k] is None:
            if self.kind == "dense":
                assert self.dense is not None
                self.csr_list[k] = sp.csr_array(self.dense[k])
            else:
                assert self.bands is not None
                n, w = self.n_states, self.bands.shape[2]
                s = np.arange(n)[:, None]
                target = s - self.lower + np.arange(w)[None, :]
                ok = (target >= 0) & (target < n) & (self.bands[k] != 0)
                rows = np.broadcast_to(s, target.shape)[ok]
                self.csr_list[k] = sp.csr_array((self.bands[k][ok], (rows, target[ok])), shape=(n, n))
        return self.csr_list[k]

    # -- Bellman operators ---------------------------------------------------------------------------
    def backward_induction(
        self, gains: np.ndarray, costs: np.ndarray, beta: float, tie_tol: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Values ``(L + 1, S)`` and stopping regions of the finite-horizon problem (``L = len(costs)``)."""
        n_layers = costs.shape[0]
        values = np.empty((n_layers + 1, self.n_states))
        stop = np.empty((n_layers + 1, self.n_states), dtype=np.bool_)
        if self.kind == "banded":
            K.banded_backward_induction_t(self.bands_t, self.lower, gains, costs, beta, tie_tol, values, stop)
        elif self.kind == "sparse":
            K.csr_backward_induction(
                self.indptr, self.indices, self.data, gains, costs, beta, tie_tol, values, stop
            )
        else:
            values[n_layers] = gains[-1]
            stop[n_layers] = True
            for l in range(n_layers - 1, -1, -1):
                g = gains[l if gains.shape[0] > 1 else 0]
                values[l], stop[l] = self.bellman(l, values[l + 1], g, costs[l], beta, tie_tol)
        return values, stop

    def bellman(
        self, layer: int, v_next: np.ndarray, g: np.ndarray, c: float, beta: float, tie_tol: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """One Bellman step: ``(max(g, cont), g >= cont - tol)`` with ``cont = -c + beta P_l v_next``."""
        k = self._k(layer)
        if self.kind == "banded":
            bt = self.bands_t[k]
            out = np.empty(self.n_states)
            st = np.empty(self.n_states, dtype=np.bool_)
            vpad = np.empty(self.n_states + bt.shape[0] - 1)
            acc = np.empty(self.n_states)
            v_next = np.ascontiguousarray(v_next, dtype=float)
            K.banded_bellman_step_t(bt, self.lower, g, c, beta, tie_tol, v_next, vpad, acc, out, st)
            return out, st
        if self.kind == "sparse":
            out = np.empty(self.n_states)
            st = np.empty(self.n_states, dtype=np.bool_)
            assert self.indptr is not None
            K.csr_bellman_step(self.indptr[k], self.indices, self.data, g, c, beta, tie_tol, v_next, out, st)
            return out, st
        assert self.dense is not None
        P = self.dense[k]
        cont = -c + beta * (P @ v_next)
        scale = abs(c) + beta * (P @ np.abs(v_next))
        st = g >= cont - tie_tol * (np.abs(g) + scale)
        return np.maximum(g, cont), st

    def value_iteration(
        self, v: np.ndarray, g: np.ndarray, c: float, beta: float, tie_tol: float, n_iter: int
    ) -> tuple[float, np.ndarray]:
        """``n_iter`` in-place sweeps of a homogeneous chain; returns (last increment, stopping region)."""
        stop = np.empty(self.n_states, dtype=np.bool_)
        if self.kind == "banded":
            scratch = np.empty_like(v)
            inc = K.banded_value_iteration_t(
                self.bands_t[0], self.lower, g, c, beta, tie_tol, v, scratch, stop, n_iter
            )
            return float(inc), stop
        if self.kind == "sparse":
            assert self.indptr is not None
            scratch = np.empty_like(v)
            inc = K.csr_value_iteration(
                self.indptr[0], self.indices, self.data, g, c, beta, tie_tol, v, scratch, stop, n_iter
            )
            return float(inc), stop
        inc = 0.0
        for _ in range(n_iter):
            new, stop = self.bellman(0, v, g, c, beta, tie_tol)
            inc = float(np.max(np.abs(new - v))) if v.size else 0.0
            v[:] = new
        return inc, stop


def _dense_chain(arr: np.ndarray, name: str) -> Chain:
    mats = arr[None] if arr.ndim == 2 else arr
    if mats.shape[1] != mats.shape[2]:
        raise ValueError(f"{name} must hold square matrices, got shape {arr.shape}")
    if mats.shape[1] < 1 or mats.shape[0] < 1:
        raise ValueError(f"{name} must describe at least one state and one layer, got shape {arr.shape}")
    if np.any(mats < 0):
        raise ValueError(f"{name} must be non-negative (probabilities), got min {mats.min():.3g}")
    _check_row_sums(name, mats.sum(axis=2))
    ch = Chain("dense", mats.shape[1], mats.shape[0])
    ch.dense = np.ascontiguousarray(mats)
    return ch


def _sparse_chain(mats: Sequence[Any], name: str) -> Chain:
    csrs = []
    n = None
    for i, m in enumerate(mats):
        c = sp.csr_array(m, dtype=np.float64)
        c.sum_duplicates()
        c.sort_indices()
        if c.shape[0] != c.shape[1] or (n is not None and c.shape[0] != n):
            raise ValueError(f"{name}[{i}] must be a square matrix of the common size, got shape {c.shape}")
        n = c.shape[0]
        if not np.all(np.isfinite(c.data)):
            raise ValueError(f"{name}[{i}] must be finite")
        if np.any(c.data < 0):
            raise ValueError(f"{name}[{i}] must be non-negative (probabilities), got min {c.data.min():.3g}")
        _check_row_sums(f"{name}[{i}]" if len(mats) > 1 else name, np.asarray(c.sum(axis=1)).ravel())
        csrs.append(c)
    assert n is not None
    ch = Chain("sparse", n, len(csrs))
    ch.csr_list = csrs
    offsets = np.cumsum([0] + [c.nnz for c in csrs])
    ch.indptr = np.stack([c.indptr.astype(np.int64) + offsets[i] for i, c in enumerate(csrs)])
    ch.indices = np.concatenate([c.indices.astype(np.int64) for c in csrs])
    ch.data = np.concatenate([c.data for c in csrs])
    return ch


def as_chain(transitions: Any, name: str = "transitions") -> Chain:
    """Validate ``transitions`` (dense array, :class:`BandedTransitions`, scipy sparse matrix or a
    sequence of sparse matrices) and return the internal :class:`Chain`."""
    if isinstance(transitions, Chain):
        return transitions
    if isinstance(transitions, BandedTransitions):
        ch = Chain("banded", transitions.n_states, transitions.bands.shape[0])
        ch.bands = transitions.bands
        ch.lower = transitions.lower
        return ch
    if sp.issparse(transitions):
        return _sparse_chain([transitions], name)
    if (
        isinstance(transitions, Sequence)
        and not isinstance(transitions, (str, bytes))
        and len(transitions) > 0
        and all(sp.issparse(m) for m in transitions)
    ):
        return _sparse_chain(list(transitions), name)
    if isinstance(transitions, (str, bytes)) or transitions is None:
        raise TypeError(
            f"{name} must be an array, a BandedTransitions or a scipy sparse matrix, "
            f"got {type(transitions).__name__}"
        )
    arr = check_array(name, transitions, ndim=(2, 3))
    return _dense_chain(arr, name)


def random_walk_transitions(
    cdf: Any, step: float, n_states: int, *, tail: float = 1e-16, absorbing_edges: bool = False
) -> BandedTransitions:
    r"""Banded chain of a random walk :math:`y_{l+1}=y_l+D_l` on a uniform grid of spacing :math:`h`.

    The increment law (cumulative distribution function ``cdf``, vectorised) is discretised into cell
    probabilities on the lattice :math:`h\mathbb Z`,

    .. math::
        p_k=F\big((k+\tfrac12)h\big)-F\big((k-\tfrac12)h\big),

    (the increment rounded to the nearest grid step), for :math:`k_-\le k\le k_+`, the tails beyond
    lumped on :math:`k_\pm`, and :math:`k_-` (:math:`k_+`) the largest (smallest) integer with the mass
    below (above) it under ``tail``; the band also holds :math:`k=0`, so it is not centred on 0 for a
    drifting walk (one that moves many steps per layer keeps a narrow band). Moves that would
    leave the grid land on its first or last state; with ``absorbing_edges`` those two states are
    absorbing (a walk that leaves the grid is stopped there, a Dirichlet-type boundary), otherwise the walk
    continues from them (a reflecting boundary, which adds a drift near the edges). Keep the grid wide.

    Parameters
    ----------
    cdf : callable
        Vectorised cdf of the increment :math:`D` (e.g. ``scipy.stats.norm(m, s).cdf``).
    step : float
        Grid spacing :math:`h>0`.
    n_states : int
        Number of grid points, :math:`\ge2`.
    tail : float, optional
        Mass allowed outside the band on each side. Default ``1e-16``.
    absorbing_edges : bool, optional
        Make the first and last states absorbing. Default False.

    Returns
    -------
    BandedTransitions
        Homogeneous banded transitions on the grid.

    Raises
    ------
    ValueError
        ``cdf`` is not a cdf on the points probed (values outside :math:`[0,1]`, decreasing, not finite),
        or its tails stay above ``tail`` beyond :math:`2^{20}` grid steps (a heavy-tailed law, or one that
        does not tend to 0 and 1): the band is never capped silently. Also, before building it, when
        the band would not fit in memory (the message states the size).

    Examples
    --------
    >>> from scipy import stats
    >>> P = random_walk_transitions(stats.norm(0.0, 0.1).cdf, 0.05, 40)
    >>> P.lower, P.width, P.n_states  # moves of -17..18 steps (float rounding of 1 - cdf adds one up)
    (17, 36, 40)
    >>> P = random_walk_transitions(stats.norm(1.0, 0.1).cdf, 0.05, 60)
    >>> P.lower, P.width  # a walk that always moves up: offsets 0 (kept for absorbing rows) .. 38
    (0, 39)
    """
    from .._checks import check_real

    h = check_real("step", step, lo=0.0, lo_open=True)
    n = check_int("n_states", n_states, min=2)
    tail = check_real("tail", tail, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    if not callable(cdf):
        raise TypeError(f"cdf must be callable, got {type(cdf).__name__}")

    def probe(x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            F = np.asarray(cdf(x), dtype=float)
        if F.shape != x.shape or not np.all(np.isfinite(F)):
            raise ValueError(f"cdf must return finite values for array input, got {F!r} at {x!r}")
        if np.any(F < -_CDF_ATOL) or np.any(F > 1.0 + _CDF_ATOL):
            raise ValueError(f"cdf must return probabilities in [0, 1] (not a cdf?), got {F!r} at {x!r}")
        if np.any(np.diff(F) < -_CDF_ATOL):
            raise ValueError(f"cdf must be non-decreasing (not a cdf?), got {F!r} at {x!r}")
        return F

    def small_tails(k: int) -> bool:
        lo, hi = probe(np.array([-(k - 0.5) * h, (k - 0.5) * h]))
        return lo <= tail and 1.0 - hi <= tail

    K = 1
    while not small_tails(K):
        if K >= _MAX_HALF_BAND:
            far = probe(np.array([-(K - 0.5) * h, (K - 0.5) * h]))
            raise ValueError(
                f"the increment law has tails above tail={tail:g} beyond {K} grid steps (cdf {far[0]:.3g} "
                f"and 1 - cdf {1.0 - far[1]:.3g} there): heavy-tailed, or not a cdf tending to 0 and 1; "
                "use a larger step, a larger tail, or truncate the law"
            )
        K *= 2
    lo_k = K // 2
    while K - lo_k > 1:  # bisection: smallest K with small tails
        mid = (lo_k + K) // 2
        if small_tails(mid):
            K = mid
        else:
            lo_k = mid
    # the band need not be centred on 0: a drifting walk (e.g. one moving up by many standard deviations
    # per step) keeps only the offsets [k_lo, k_hi] around its mass, and offset 0 (absorbing rows stay)
    k_lo = _last_true(lambda k: probe(np.array([(k + 0.5) * h]))[0] <= tail, -K, K)
    k_hi = -_last_true(lambda k: 1.0 - probe(np.array([(-k - 0.5) * h]))[0] <= tail, -K, K)
    lo_off, hi_off = min(k_lo, 0), max(k_hi, 0)
    w = hi_off - lo_off + 1
    check_memory(
        "n_states * band",
        n * w,
        24,
        f"the transitions of random_walk_transitions ({n} states x {w} band entries)",
        hint="lower n_states, or raise step or tail (a narrower band)",
    )
    F = probe((np.arange(lo_off, hi_off) + 0.5) * h)
    p = np.diff(np.concatenate([[0.0], F, [1.0]]))
    p = np.clip(p, 0.0, None)
    p /= p.sum()
    lower = -lo_off
    bands = np.tile(p, (n, 1))
    for i in range(min(lower, n)):
        # row i: targets i - lower + col < 0 for col < lower - i -> lump on state 0 (col lower - i)
        cut = lower - i
        bands[i, cut] += bands[i, :cut].sum()
        bands[i, :cut] = 0.0
    for i in range(max(n - hi_off, 0), n):
        # targets i - lower + col > n - 1 for col > n - 1 - i + lower -> lump on state n - 1
        last = n - 1 - i + lower
        bands[i, last] += bands[i, last + 1 :].sum()
        bands[i, last + 1 :] = 0.0
    if absorbing_edges:
        for i in (0, n - 1):
            bands[i] = 0.0
            bands[i, lower] = 1.0
    return BandedTransitions(bands, lower=lower)


def _last_true(pred: Callable[[int], bool], a: int, b: int) -> int:
    """Largest k in [a, b] with ``pred(k)`` for a predicate true at ``a`` and monotone (true, then false)."""
    while b > a:
        mid = (a + b + 1) // 2
        if pred(mid):
            a = mid
        else:
            b = mid - 1
    return a
