r"""Linear complementarity solvers for discretised obstacle problems.

Every implicit step of an obstacle problem (and the whole stationary problem) is a linear complementarity
problem (LCP): given a matrix :math:`M`, a vector :math:`q` and the obstacle :math:`g`, find :math:`v` with

.. math::
    v\ge g,\qquad Mv-q\ge0,\qquad (v-g)^\top(Mv-q)=0
    \quad\Longleftrightarrow\quad \min(Mv-q,\ v-g)=0 .

When :math:`M` is an M-matrix (which upwinding guarantees) the solution exists, is unique, and is the least
element of :math:`\{v\ge g,\ Mv\ge q\}` (Cottle, Pang & Stone, *The Linear Complementarity Problem*, SIAM
2009, sec. 3.11). Solvers (method objects passed as ``lcp=``):

* :class:`PSOR` -- projected successive over-relaxation (Cryer, *SIAM J. Control* 9 (1971) 385-392):
  iterative, any M-matrix, tolerance-controlled.
* :class:`BrennanSchwartz` -- one elimination and one projected substitution sweep (Brennan & Schwartz,
  *J. Finance* 32 (1977) 449-462): exact, tridiagonal only, for one-sided problems (the stopping region
  is one interval at one end of the grid); proved by Jaillet, Lamberton & Lapeyre, *Acta Appl. Math.* 21
  (1990) 263-289.
* :class:`PrimalDualActiveSet` -- the primal-dual active set method of Hintermüller, Ito & Kunisch,
  *SIAM J. Optim.* 13 (2002) 865-888, which for this LCP is Howard's policy iteration; finite termination
  in at most :math:`N+1` linear solves for M-matrices (Bokanowski, Maroso & Zidani, *SIAM J. Numer.
  Anal.* 47 (2009) 3001-3026). Tridiagonal (Thomas algorithm) or sparse (SuperLU) systems.

Each reports the natural residual :math:`\|\min(Mv-q,\ v-g)\|_\infty` (zero exactly at the solution).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from .._checks import NumericalError, check_array, check_choice, check_int, check_real
from .._results import Result
from . import _kernels as K

__all__ = ["PSOR", "BrennanSchwartz", "LCPSolution", "PrimalDualActiveSet", "solve_lcp"]


@dataclass(frozen=True)
class PSOR:
    r"""Projected SOR: :math:`v_i\leftarrow\max\{g_i,\ v_i+\omega((q_i-\sum_{j\ne i}M_{ij}v_j)/M_{ii}-v_i)\}`.

    Parameters
    ----------
    omega : float, default 1.5
        Relaxation :math:`0<\omega<2` (convergence for symmetric positive definite :math:`M`; in practice for
        the diagonally dominant M-matrices of this module).
    tol : float, default 1e-10
        Stop when the largest update of a sweep is :math:`\le` ``tol``.
    max_iter : int, default 100000
        Sweeps per LCP; reaching it is reported in the result's ``status``.

    Notes
    -----
    Reference: Cryer (1971). Each sweep costs :math:`O(\mathrm{nnz}(M))`; the number of sweeps grows with
    the condition number (like :math:`N^2` for stationary problems), so prefer the exact solvers there.

    Examples
    --------
    >>> from stochdepth.freeboundary import PSOR
    >>> PSOR(omega=1.2).tol
    1e-10
    """

    _: KW_ONLY
    omega: float = 1.5
    tol: float = 1e-10
    max_iter: int = 100_000

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "omega", check_real("omega", self.omega, lo=0.0, hi=2.0, lo_open=True, hi_open=True)
        )
        object.__setattr__(self, "tol", check_real("tol", self.tol, lo=0.0, lo_open=True))
        object.__setattr__(self, "max_iter", check_int("max_iter", self.max_iter, min=1))


@dataclass(frozen=True)
class BrennanSchwartz:
    r"""Brennan--Schwartz elimination with projected substitution (exact for one-sided problems).

    Parameters
    ----------
    side : {"lower", "upper"} or None, default None
        Where the stopping region lies: ``"lower"`` (small :math:`x`, e.g. a put), ``"upper"`` (large
        :math:`x`), or ``None``: run both sweeps and keep the one with the smaller residual.

    Notes
    -----
    For :math:`M` tridiagonal M-matrix and a solution whose active set is :math:`\{0,\dots,j\}` (``lower``)
    the algorithm eliminates the upper band from the last row up, then substitutes forward projecting on
    the obstacle, :math:`v_i=\max(g_i,(\tilde q_i-M_{i,i-1}v_{i-1})/\tilde d_i)`: :math:`O(N)`, no
    iteration (Jaillet, Lamberton & Lapeyre 1990, sec. 4). On a problem that is not one-sided the result is
    not the LCP solution; the reported residual shows it.

    Examples
    --------
    >>> from stochdepth.freeboundary import BrennanSchwartz
    >>> BrennanSchwartz(side="lower").side
    'lower'
    """

    _: KW_ONLY
    side: str | None = None

    def __post_init__(self) -> None:
        if self.side is not None:
            check_choice("side", self.side, ["lower", "upper"])

    @property
    def code(self) -> int:
        return {None: K.BS_AUTO_CODE, "lower": K.BS_LOWER_CODE, "upper": K.BS_UPPER_CODE}[self.side]


@dataclass(frozen=True)
class PrimalDualActiveSet:
    r"""Primal-dual active set / policy iteration; finite termination for M-matrices.

    Parameters
    ----------
    max_iter : int or None, default None
        Cap on the linear solves per LCP; ``None`` uses :math:`N+1`, the guaranteed bound for M-matrices.

    Notes
    -----
    Iteration: :math:`\mathcal A_k=\{i: v^k_i-g_i<(Mv^k-q)_i\}`, ties continuing (the semi-smooth
    Newton step on :math:`\min(Mv-q,v-g)=0`); solve :math:`v_i=g_i` on :math:`\mathcal A_k`,
    :math:`(Mv)_i=q_i` elsewhere; stop when :math:`\mathcal A_{k+1}=\mathcal A_k`. Warm-started from the
    previous time level, it needs 2-3 solves per step. References: Hintermüller, Ito & Kunisch (2002),
    Bokanowski, Maroso & Zidani (2009).

    Examples
    --------
    >>> from stochdepth.freeboundary import PrimalDualActiveSet
    >>> PrimalDualActiveSet().max_iter is None
    True
    """

    _: KW_ONLY
    max_iter: int | None = None

    def __post_init__(self) -> None:
        if self.max_iter is not None:
            object.__setattr__(self, "max_iter", check_int("max_iter", self.max_iter, min=1))


LCPMethod = PSOR | BrennanSchwartz | PrimalDualActiveSet


def check_lcp(lcp: Any, *, tridiagonal: bool) -> LCPMethod:
    """Validate an ``lcp=`` argument (``None`` means :class:`PrimalDualActiveSet`)."""
    if lcp is None:
        return PrimalDualActiveSet()
    if not isinstance(lcp, (PSOR, BrennanSchwartz, PrimalDualActiveSet)):
        raise TypeError(
            f"lcp must be PSOR(...), BrennanSchwartz(...) or PrimalDualActiveSet(...), got {lcp!r}"
        )
    if isinstance(lcp, BrennanSchwartz) and not tridiagonal:
        raise TypeError(
            "BrennanSchwartz() needs a tridiagonal (1-D) problem; use PrimalDualActiveSet() or PSOR()"
        )
    return lcp


def lcp_parameters(lcp: LCPMethod, n: int) -> tuple[int, float, float, int]:
    """``(method code, omega, tol, max_iter)`` for the kernels."""
    if isinstance(lcp, PSOR):
        return K.PSOR_CODE, lcp.omega, lcp.tol, lcp.max_iter
    if isinstance(lcp, BrennanSchwartz):
        return lcp.code, 1.0, 0.0, 1
    return K.PDAS_CODE, 1.0, 0.0, (n + 1 if lcp.max_iter is None else lcp.max_iter)


@dataclass(frozen=True, eq=False, repr=False)
class LCPSolution(Result):
    r"""Solution of one LCP.

    Attributes
    ----------
    solution : ndarray, shape (N,)
        :math:`v`.
    residual : float
        Natural residual :math:`\|\min(Mv-q,\ v-g)\|_\infty`.
    iterations : int
        Sweeps (PSOR), linear solves (active set) or elimination passes (Brennan--Schwartz).
    converged : bool
        Whether the iteration met its criterion within ``max_iter``.
    active : ndarray of bool, shape (N,)
        Nodes where :math:`v_i=g_i` (the discrete stopping set).
    method : str
        The solver.
    """

    solution: np.ndarray
    residual: float
    iterations: int
    converged: bool
    active: np.ndarray
    method: str

    @property
    def status(self) -> str:
        """``"converged"`` or ``"max_iter reached"``."""
        return "converged" if self.converged else "max_iter reached"


# ----------------------------------------------------------------------------------------------------
# sparse (general) solvers
# ----------------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _psor_csr(indptr, indices, data, diag, q, g, v, omega, tol, max_iter):  # pragma: no cover
    n = q.size
    for i in range(n):
        if v[i] < g[i]:
            v[i] = g[i]
    for it in range(max_iter):
        err = 0.0
        for i in range(n):
            s = q[i]
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                if j != i:
                    s -= data[p] * v[j]
            new = v[i] + omega * (s / diag[i] - v[i])
            if new < g[i]:
                new = g[i]
            d = abs(new - v[i])
            if d > err:
                err = d
            v[i] = new
        if err <= tol:
            return it + 1
    return -max_iter


def natural_residual_sparse(m: sp.csr_matrix, q: np.ndarray, g: np.ndarray, v: np.ndarray) -> float:
    """:math:`\\|\\min(Mv-q, v-g)\\|_\\infty` for a sparse matrix."""
    return float(np.max(np.abs(np.minimum(m @ v - q, v - g)))) if v.size else 0.0


def psor_sparse(
    m: sp.csr_matrix, q: np.ndarray, g: np.ndarray, v: np.ndarray, lcp: PSOR
) -> tuple[np.ndarray, int]:
    """PSOR on a CSR matrix (in place on a copy of ``v``); returns ``(v, iterations)``."""
    m = sp.csr_matrix(m)
    diag = m.diagonal()
    v = np.array(v, dtype=float)
    it = _psor_csr(
        m.indptr.astype(np.int64),
        m.indices.astype(np.int64),
        m.data.astype(float),
        diag,
        q,
        g,
        v,
        lcp.omega,
        lcp.tol,
        lcp.max_iter,
    )
    return v, int(it)


def active_set_sparse(
    m: sp.csr_matrix, q: np.ndarray, g: np.ndarray, v: np.ndarray, max_iter: int
) -> tuple[np.ndarray, int]:
    """Primal-dual active set with sparse LU solves (warm start ``v``); returns ``(v, iterations)``."""
    m = sp.csr_matrix(m)
    v = np.array(v, dtype=float)
    active = (v - g) < (m @ v - q)
    for it in range(max_iter):
        keep = (~active).astype(float)
        a = (sp.diags(keep) @ m + sp.diags(active.astype(float))).tocsc()
        rhs = np.where(active, g, q)
        v = spla.spsolve(a, rhs)
        new = (v - g) < (m @ v - q)
        if np.array_equal(new, active):
            return np.maximum(v, g), it + 1
        active = new
    return np.maximum(v, g), -max_iter


def solve_lcp(
    matrix: Any,
    q: Any,
    obstacle: Any,
    *,
    lcp: LCPMethod | None = None,
    initial: Any = None,
) -> LCPSolution:
    r"""Solve :math:`\min(Mv-q,\ v-g)=0` for an M-matrix :math:`M`.

    Parameters
    ----------
    matrix : tuple of three arrays, ndarray or scipy.sparse matrix
        Either the bands ``(lower, diagonal, upper)`` of a tridiagonal matrix, each of shape ``(N,)``
        (``lower[i]`` multiplies ``v[i-1]``, ``upper[i]`` multiplies ``v[i+1]``; ``lower[0]`` and
        ``upper[N-1]`` are ignored), or a square dense/sparse matrix. The diagonal must be positive.
    q, obstacle : array_like, shape (N,)
        Right-hand side :math:`q` and obstacle :math:`g`, finite.
    lcp : PSOR, BrennanSchwartz or PrimalDualActiveSet, optional
        Solver; default :class:`PrimalDualActiveSet`. Brennan--Schwartz needs the banded form.
    initial : array_like, shape (N,), optional
        Starting point (PSOR) or warm start (active set); default the obstacle.

    Returns
    -------
    LCPSolution

    Notes
    -----
    Existence, uniqueness and the least-element characterisation for M-matrices: Cottle, Pang & Stone
    (2009), Thm. 3.11.6. The natural residual is reported whatever the solver.

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.freeboundary import solve_lcp
    >>> n = 5
    >>> bands = (-np.ones(n), 2.5 * np.ones(n), -np.ones(n))
    >>> sol = solve_lcp(bands, np.zeros(n), np.array([1.0, 0, 0, 0, 1.0]))
    >>> sol.solution.round(4).tolist(), sol.residual < 1e-12
    ([1.0, 0.5882, 0.4706, 0.5882, 1.0], True)
    """
    if isinstance(matrix, tuple):
        if len(matrix) != 3:
            raise ValueError(f"matrix as bands must be (lower, diagonal, upper), got {len(matrix)} arrays")
        di = check_array("matrix diagonal", matrix[1], ndim=1, min_size=1)
        n = di.size
        lo = check_array("matrix lower band", matrix[0], shape=(n,)).copy()
        up = check_array("matrix upper band", matrix[2], shape=(n,)).copy()
        lo[0] = 0.0
        up[-1] = 0.0
        banded = True
    else:
        if sp.issparse(matrix):
            m = sp.csr_matrix(matrix, dtype=float)
            if not np.all(np.isfinite(m.data)):
                raise ValueError("matrix must be finite")
        else:
            m = sp.csr_matrix(check_array("matrix", matrix, ndim=2))
        if m.shape[0] != m.shape[1] or m.shape[0] < 1:
            raise ValueError(f"matrix must be square and non-empty, got shape {m.shape}")
        di = m.diagonal()
        n = di.size
        banded = False
    if not np.all(di > 0):
        i = int(np.argmin(di > 0))
        raise ValueError(f"matrix must have a positive diagonal (M-matrix), got M[{i},{i}] = {di[i]!r}")
    qv = check_array("q", q, shape=(n,))
    gv = check_array("obstacle", obstacle, shape=(n,))
    v = gv.copy() if initial is None else check_array("initial", initial, shape=(n,)).copy()
    method = check_lcp(lcp, tridiagonal=banded)
    code, omega, tol, max_iter = lcp_parameters(method, n)
    if banded:
        work = np.empty((9, n))
        di = np.ascontiguousarray(di)
        it = int(K.solve_lcp_tridiagonal(code, lo, di, up, qv, gv, v, omega, tol, max_iter, work))
        if it == 0:
            raise NumericalError("solve_lcp: the matrix is singular to working precision (zero pivot)")
        residual = float(K.natural_residual(lo, di, up, qv, gv, v))
    else:
        if isinstance(method, PSOR):
            v, it = psor_sparse(m, qv, gv, v, method)
        else:
            v, it = active_set_sparse(m, qv, gv, v, max_iter)
        residual = natural_residual_sparse(m, qv, gv, v)
    K_name = type(method).__name__
    return LCPSolution(
        solution=v,
        residual=residual,
        iterations=abs(it),
        converged=it > 0,
        active=v <= gv,
        method=K_name,
    )
