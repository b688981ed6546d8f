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

import abc
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from .._checks import NumericalError, check_array, check_choice, check_int, check_real
from .._results import Status, StatusResult, check_status
from . import _kernels as K

__all__ = ["PSOR", "BrennanSchwartz", "LCPSolution", "LCPSolver", "PrimalDualActiveSet", "solve_lcp"]


class LCPSolver(abc.ABC):
    r"""A solver of :math:`\min(Mv-q,\ v-g)=0` (the public contract of LCP solvers).

    Subclasses implement :meth:`solve` for a sparse matrix; :func:`solve_lcp` and the 2-D problems of
    :func:`~stochdepth.freeboundary.solve_obstacle` call it. The 1-D obstacle problems march all their
    steps in one compiled kernel: a solver runs there when :meth:`kernel_parameters` names the kernel's
    method (the library's solvers do; a user-written solver applies to 2-D problems and to
    :func:`solve_lcp`).
    """

    #: True for solvers that need a tridiagonal matrix (1-D problems only).
    tridiagonal_only: ClassVar[bool] = False
    #: True for direct solvers, whose natural residual must be at round-off level (a larger one is
    #: reported as ``Status.LARGE_RESIDUAL``); False for tolerance-controlled iterations.
    exact: ClassVar[bool] = False

    @abc.abstractmethod
    def solve(
        self, matrix: sp.csr_matrix, q: np.ndarray, obstacle: np.ndarray, initial: np.ndarray
    ) -> tuple[np.ndarray, int]:
        """Solve the LCP for a sparse M-matrix from ``initial``: ``(v, iterations)``, the iterations
        negative when the solver stopped at its cap without converging."""

    def kernel_parameters(self, n: int) -> tuple[int, float, float, int] | None:
        """``(method code, omega, tol, max_iter)`` of the compiled tridiagonal kernels for ``n`` unknowns,
        or ``None`` (the default) for a solver that has no compiled form."""
        return None


@dataclass(frozen=True)
class PSOR(LCPSolver):
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

    def solve(
        self, matrix: sp.csr_matrix, q: np.ndarray, obstacle: np.ndarray, initial: np.ndarray
    ) -> tuple[np.ndarray, int]:
        """Projected SOR sweeps on a sparse matrix."""
        return psor_sparse(matrix, q, obstacle, initial, self)

    def kernel_parameters(self, n: int) -> tuple[int, float, float, int]:
        """The compiled PSOR with this relaxation, tolerance and cap."""
        return K.PSOR_CODE, self.omega, self.tol, self.max_iter


@dataclass(frozen=True)
class BrennanSchwartz(LCPSolver):
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

    tridiagonal_only: ClassVar[bool] = True
    exact: ClassVar[bool] = True
    _: KW_ONLY
    side: str | None = None

    def __post_init__(self) -> None:
        if self.side is not None:
            check_choice("side", self.side, ["lower", "upper"])

    @property
    def code(self) -> int:
        """The kernel's code for this side."""
        return {None: K.BS_AUTO_CODE, "lower": K.BS_LOWER_CODE, "upper": K.BS_UPPER_CODE}[self.side]

    def solve(
        self, matrix: sp.csr_matrix, q: np.ndarray, obstacle: np.ndarray, initial: np.ndarray
    ) -> tuple[np.ndarray, int]:
        """Elimination and projected substitution on the bands of a tridiagonal sparse matrix."""
        m = sp.csr_matrix(matrix, dtype=float)
        if sp.triu(m, 2).nnz or sp.tril(m, -2).nnz:
            raise TypeError(
                "BrennanSchwartz() needs a tridiagonal matrix; use PrimalDualActiveSet() or PSOR()"
            )
        n = m.shape[0]
        lo, up = np.zeros(n), np.zeros(n)
        lo[1:], up[:-1] = m.diagonal(-1), m.diagonal(1)
        v = np.array(initial, dtype=float)
        code, omega, tol, max_iter = self.kernel_parameters(n)
        di = np.ascontiguousarray(m.diagonal())
        g = np.ascontiguousarray(obstacle, dtype=float)
        it = int(
            K.solve_lcp_tridiagonal(
                code, lo, di, up, np.asarray(q, float), g, v, omega, tol, max_iter, np.empty((9, n))
            )
        )
        if it == 0:
            raise NumericalError("BrennanSchwartz: the matrix is singular to working precision (zero pivot)")
        return v, it

    def kernel_parameters(self, n: int) -> tuple[int, float, float, int]:
        """The compiled elimination for this side (one pass)."""
        return self.code, 1.0, 0.0, 1


@dataclass(frozen=True)
class PrimalDualActiveSet(LCPSolver):
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

    exact: ClassVar[bool] = True
    _: KW_ONLY
    max_iter: int | None = None

    def __post_init__(self) -> None:
        if self.max_iter is not None:
            object.__setattr__(self, "max_iter", check_int("max_iter", self.max_iter, min=1))

    def solve(
        self, matrix: sp.csr_matrix, q: np.ndarray, obstacle: np.ndarray, initial: np.ndarray
    ) -> tuple[np.ndarray, int]:
        """Active-set iterations with sparse LU solves, warm-started from ``initial``."""
        cap = q.size + 1 if self.max_iter is None else self.max_iter
        return active_set_sparse(matrix, q, obstacle, initial, cap)

    def kernel_parameters(self, n: int) -> tuple[int, float, float, int]:
        """The compiled active-set method with its cap (``n + 1`` by default)."""
        return K.PDAS_CODE, 1.0, 0.0, (n + 1 if self.max_iter is None else self.max_iter)


def check_lcp(lcp: Any, *, tridiagonal: bool, compiled: bool = False) -> LCPSolver:
    """Validate an ``lcp=`` argument (``None`` means :class:`PrimalDualActiveSet`).

    ``tridiagonal``: the problem is 1-D; ``compiled``: the caller runs the compiled kernels, so the solver
    must have :meth:`LCPSolver.kernel_parameters`.
    """
    if lcp is None:
        return PrimalDualActiveSet()
    if not isinstance(lcp, LCPSolver):
        raise TypeError(
            "lcp must be an LCPSolver: PSOR(...), BrennanSchwartz(...), PrimalDualActiveSet(...) or a "
            f"subclass of one's own, got {lcp!r}"
        )
    if lcp.tridiagonal_only and not tridiagonal:
        raise TypeError(
            f"{type(lcp).__name__}() needs a tridiagonal (1-D) problem; use PrimalDualActiveSet() or PSOR()"
        )
    if compiled and lcp.kernel_parameters(1) is None:
        raise TypeError(
            f"{type(lcp).__name__}() has no compiled form (kernel_parameters), which the 1-D obstacle "
            "problems need; it applies to 2-D problems and to solve_lcp"
        )
    return lcp


@dataclass(frozen=True, eq=False, repr=False)
class LCPSolution(StatusResult):
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
    status : Status
        ``CONVERGED`` or ``MAX_ITERATIONS`` (a property, from ``converged``).
    message : str
        The same in words.
    """

    solution: np.ndarray
    residual: float
    iterations: int
    converged: bool
    active: np.ndarray
    method: str

    @property  # type: ignore[override]
    def status(self) -> Status:
        """``CONVERGED`` or ``MAX_ITERATIONS``."""
        return Status.CONVERGED if self.converged else Status.MAX_ITERATIONS

    @property  # type: ignore[override]
    def message(self) -> str:
        """Empty when converged, else ``"max_iter reached"``."""
        return "" if self.converged else "max_iter reached"


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
    lcp: LCPSolver | None = None,
    initial: Any = None,
    throw: bool = True,
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
    lcp : LCPSolver, optional
        Solver: :class:`PSOR`, :class:`BrennanSchwartz`, :class:`PrimalDualActiveSet` (default) or a
        subclass of :class:`LCPSolver` of one's own. Brennan--Schwartz needs the banded form.
    initial : array_like, shape (N,), optional
        Starting point (PSOR) or warm start (active set); default the obstacle.
    throw : bool, optional
        Raise :class:`~stochdepth.ConvergenceError` when the solver stops at its iteration cap
        (default); with ``False`` return the solution, whose ``status`` says so.

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
    params = method.kernel_parameters(n)
    if banded and params is None:  # a solver without a compiled form: hand it the sparse matrix
        m = sp.diags([lo[1:], di, up[:-1]], [-1, 0, 1], format="csr")
        banded = False
    if banded:
        assert params is not None
        code, omega, tol, max_iter = params
        work = np.empty((9, n))
        di = np.ascontiguousarray(di)
        it = int(K.solve_lcp_tridiagonal(code, lo, di, up, qv, gv, v, omega, tol, max_iter, work))
        if it == 0:
            raise NumericalError("solve_lcp: the matrix is singular to working precision (zero pivot)")
        residual = float(K.natural_residual(lo, di, up, qv, gv, v))
    else:
        v, it = method.solve(m, qv, gv, v)
        v = np.asarray(v, dtype=float)
        residual = natural_residual_sparse(m, qv, gv, v)
    sol = LCPSolution(
        solution=v,
        residual=residual,
        iterations=abs(it),
        converged=it > 0,
        active=v <= gv,
        method=type(method).__name__,
    )
    return check_status(sol, "solve_lcp", throw)
