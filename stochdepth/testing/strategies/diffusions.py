"""Strategies for diffusions whose laws are known in closed form (GBM, Ornstein--Uhlenbeck, Brownian
motion, the linear network's limit diffusion), with the exact moments of their Euler schemes."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
from hypothesis import strategies as hst

from ..._checks import check_int, check_real
from ..._results import Result
from ._common import check_subset

if TYPE_CHECKING:  # pragma: no cover
    from hypothesis.strategies import SearchStrategy


__all__ = ["KnownLawDiffusion", "diffusions_with_known_laws"]


_DIFFUSION_KINDS = ("gbm", "ou", "brownian", "linear_limit")


def _noise_covariance(noise: str, c: np.ndarray, d: np.ndarray, m: np.ndarray, M: np.ndarray) -> np.ndarray:
    r""":math:`\mathbb E[\sigma(X)\sigma(X)^\top]` from :math:`m=\mathbb EX`, :math:`M=\mathbb EXX^\top`."""
    dim = m.size
    if noise == "diagonal":  # sigma_i = c_i + d_i x_i, independent W^i
        return np.diag(c * c + 2.0 * c * d * m + d * d * np.diag(M))
    if noise == "general":  # constant C
        return c @ c.T
    # isotropic, sigma = gamma ||x|| times an identity on W of dimension dim
    return (d[0] ** 2) * np.trace(M) * np.eye(dim)


@dataclass(frozen=True, eq=False, repr=False)
class KnownLawDiffusion(Result):
    r"""An SDE with affine drift whose law at time :math:`t` is known in closed form.

    .. math::
        dX_t=(AX_t+a)\,dt+\sigma(X_t)\,dW_t,\qquad X_0=x_0,

    with, by ``noise``: ``"diagonal"`` :math:`\sigma^i=c_i+d_ix_i` (independent :math:`W^i`; geometric
    Brownian motion for :math:`c=0`), ``"general"`` :math:`\sigma=C` constant (Ornstein--Uhlenbeck,
    Brownian motion with drift when :math:`A=0`), ``"isotropic"`` :math:`\sigma=\gamma\|x\|\,I`
    (the linear network's limit diffusion, docs/science.md §A3, :math:`\gamma=1/\sqrt n`).

    Three exact descriptions are attached, derived independently:

    * :meth:`law` -- the law of the scalar :attr:`statistic` at time :math:`t`, from the explicit
      solution (log-normal for GBM and for the linear network's :math:`\|X_t\|^2`, normal for the
      Gaussian processes, whose mean and covariance come from matrix exponentials, Van Loan 1978);
    * :meth:`mean`, :meth:`second_moment` -- :math:`m=\mathbb EX_t` and :math:`M=\mathbb EX_tX_t^\top` from
      the linear moment equations (Itô's formula),

      .. math::
          \dot m=Am+a,\qquad \dot M=AM+MA^\top+am^\top+ma^\top+\mathbb E[\sigma\sigma^\top](m,M),

      solved exactly by one matrix exponential;
    * :meth:`euler_moments` -- the same two moments for the Euler--Maruyama scheme with :math:`N` steps,
      exactly (no Monte Carlo, no :math:`O(h)` bias): with :math:`B=I+hA`,

      .. math::
          m'=Bm+ha,\qquad M'=BMB^\top+h(Bma^\top+am^\top B^\top)+h^2aa^\top
          +h\,\mathbb E[\sigma\sigma^\top](m,M),

      so a simulation can be checked at a few standard errors against its own scheme, and the scheme
      against the SDE as :math:`N\to\infty`.

    Attributes
    ----------
    kind : str
        ``"gbm"``, ``"ou"``, ``"brownian"`` or ``"linear_limit"``.
    x0 : ndarray, shape (dim,)
        Initial state.
    horizon : float
        A time :math:`T>0` at which the test should look (drawn with the parameters).
    drift_matrix, drift_offset : ndarray
        :math:`A` ``(dim, dim)`` and :math:`a` ``(dim,)``.
    noise : str
        ``"diagonal"``, ``"general"`` or ``"isotropic"``.
    diffusion_offset : ndarray
        :math:`c` ``(dim,)`` (diagonal) or :math:`C` ``(dim, q)`` (general); empty otherwise.
    diffusion_scale : ndarray
        :math:`d` ``(dim,)`` (diagonal) or ``[gamma]`` (isotropic); empty otherwise.
    statistic_kind : str
        ``"x0"`` (first coordinate) or ``"squared_norm"``.
    width : int or None
        :math:`n` for the linear network's limit diffusion.

    References
    ----------
    Kloeden & Platen (1992), sec. 4.4 (explicit solutions of linear SDEs); Van Loan, *IEEE Trans.
    Automat. Control* 23 (1978) 395-404 (integrals of matrix exponentials); docs/science.md §A4 (the linear
    network: :math:`\|X_t\|=\|X_0\|e^{(\frac12-\frac1n)t+W_t/\sqrt n}`).
    """

    kind: str
    x0: np.ndarray
    horizon: float
    drift_matrix: np.ndarray
    drift_offset: np.ndarray
    noise: str
    diffusion_offset: np.ndarray
    diffusion_scale: np.ndarray
    statistic_kind: str
    width: int | None = None
    _builder: Callable[[], Any] = field(default=None, repr=False)  # type: ignore[assignment]

    @property
    def dim(self) -> int:
        """State dimension."""
        return int(self.x0.size)

    @cached_property
    def sde(self) -> Any:
        """The :class:`~stochdepth.sde.SDE` (built on first access: numba compiles its coefficients)."""
        if self._builder is None:
            raise ValueError("this KnownLawDiffusion was created without an SDE builder")
        return self._builder()

    @property
    def statistic(self) -> Any:
        """Scalar observable whose law :meth:`law` gives (a :class:`~stochdepth.montecarlo.Observable`)."""
        from ...sde import coordinate, squared_norm

        return coordinate(0, "statistic") if self.statistic_kind == "x0" else squared_norm("statistic")

    # -- closed forms ----------------------------------------------------------------------------------
    def _time(self, t: Any) -> float:
        return check_real("t", t, lo=0.0, lo_open=True)

    def _gaussian(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of a Gaussian (general-noise) process by matrix exponentials."""
        from scipy.linalg import expm

        A, a, C = self.drift_matrix, self.drift_offset, self.diffusion_offset
        n = self.dim
        aug = np.zeros((n + 1, n + 1))
        aug[:n, :n], aug[:n, n] = A, a
        mean = (expm(aug * t) @ np.append(self.x0, 1.0))[:n]
        # Van Loan: expm([[-A, Q], [0, A^T]] t) = [[., F12], [0, F22]], P(t) = F22^T F12
        vl = np.zeros((2 * n, 2 * n))
        vl[:n, :n], vl[:n, n:], vl[n:, n:] = -A, C @ C.T, A.T
        F = expm(vl * t)
        P = F[n:, n:].T @ F[:n, n:]
        return mean, 0.5 * (P + P.T)

    def law(self, t: float) -> Any:
        r"""Law of :attr:`statistic` at time :math:`t>0`, a frozen ``scipy.stats`` distribution.

        * GBM: :math:`X^0_t=x_0^0\exp((\mu_0-\tfrac12s_0^2)t+s_0W_t)` -- log-normal;
        * Ornstein--Uhlenbeck, Brownian motion: :math:`X^0_t` normal, mean and variance from the matrix
          exponential formulas (Van Loan);
        * linear limit: :math:`\|X_t\|^2=\|x_0\|^2\exp((1-\tfrac2n)t+\tfrac2{\sqrt n}W_t)` -- log-normal
          (docs/science.md §A4).
        """
        from scipy import stats

        t = self._time(t)
        if self.kind == "gbm":
            mu, s = self.drift_matrix[0, 0], self.diffusion_scale[0]
            return stats.lognorm(s * math.sqrt(t), scale=self.x0[0] * math.exp((mu - 0.5 * s * s) * t))
        if self.kind == "linear_limit":
            assert self.width is not None
            n = self.width
            r0 = float(self.x0 @ self.x0)
            return stats.lognorm(2.0 * math.sqrt(t / n), scale=r0 * math.exp((1.0 - 2.0 / n) * t))
        mean, cov = self._gaussian(t)
        return stats.norm(mean[0], math.sqrt(cov[0, 0]))

    def _moment_operator(self) -> np.ndarray:
        """Generator of the linear moment equations on z = (m, vec M (row-major), 1)."""
        n = self.dim
        A, a = self.drift_matrix, self.drift_offset
        I = np.eye(n)
        N = n + n * n + 1
        G = np.zeros((N, N))
        one = N - 1
        G[:n, :n] = A
        G[:n, one] = a
        blk = slice(n, n + n * n)
        G[blk, blk] = np.kron(A, I) + np.kron(I, A)
        for i in range(n):
            for j in range(n):
                r = n + i * n + j
                G[r, j] += a[i]  # a m^T
                G[r, i] += a[j]  # m a^T
        c, d = self.diffusion_offset, self.diffusion_scale
        if self.noise == "diagonal":
            for i in range(n):
                r = n + i * n + i
                G[r, one] += c[i] ** 2
                G[r, i] += 2.0 * c[i] * d[i]
                G[r, r] += d[i] ** 2
        elif self.noise == "general":
            Q = c @ c.T
            G[blk, one] += Q.reshape(-1)
        else:
            g2 = d[0] ** 2
            for i in range(n):
                for k in range(n):
                    G[n + i * n + i, n + k * n + k] += g2
        return G

    def _moments(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        from scipy.linalg import expm

        n = self.dim
        z0 = np.concatenate([self.x0, np.outer(self.x0, self.x0).reshape(-1), [1.0]])
        z = expm(self._moment_operator() * t) @ z0
        M = z[n : n + n * n].reshape(n, n)
        return z[:n], 0.5 * (M + M.T)

    def mean(self, t: float) -> np.ndarray:
        r""":math:`\mathbb EX_t` from the moment equations (shape ``(dim,)``)."""
        return self._moments(self._time(t))[0]

    def second_moment(self, t: float) -> np.ndarray:
        r""":math:`\mathbb EX_tX_t^\top` from the moment equations (shape ``(dim, dim)``)."""
        return self._moments(self._time(t))[1]

    def euler_moments(self, t: float, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
        r"""Exact :math:`(\mathbb E\hat X_N,\ \mathbb E\hat X_N\hat X_N^\top)` of Euler--Maruyama with
        ``n_steps`` steps of :math:`h=t/N` from :math:`x_0` (recursion in the class docstring)."""
        t = self._time(t)
        N = check_int("n_steps", n_steps, min=1)
        h = t / N
        A, a = self.drift_matrix, self.drift_offset
        B = np.eye(self.dim) + h * A
        m = self.x0.copy()
        M = np.outer(m, m)
        for _ in range(N):
            S = _noise_covariance(self.noise, self.diffusion_offset, self.diffusion_scale, m, M)
            Bm = B @ m
            M = B @ M @ B.T + h * (np.outer(Bm, a) + np.outer(a, Bm)) + h * h * np.outer(a, a) + h * S
            m = Bm + h * a
        return m, 0.5 * (M + M.T)


def diffusions_with_known_laws(
    kinds: Sequence[str] = _DIFFUSION_KINDS,
    *,
    max_dim: int = 3,
    max_width: int = 8,
    max_horizon: float = 2.0,
) -> SearchStrategy[KnownLawDiffusion]:
    r"""SDEs with closed-form laws and moments (:class:`KnownLawDiffusion`).

    * ``"gbm"``: independent geometric Brownian motions :math:`dX^i=\mu_iX^idt+s_iX^idW^i`,
      :math:`\mu_i\in[-1,1]`, :math:`s_i\in[0.05,0.6]`, :math:`x_0^i\in[0.5,2]`;
    * ``"ou"``: :math:`dX=(AX+a)dt+C\,dW`, entries of :math:`A,a` in :math:`[-1,1]`, :math:`C`
      ``(dim, q)`` with :math:`q\le` ``dim + 1`` and :math:`|C_{00}|\ge0.1` (so the statistic's variance is
      positive);
    * ``"brownian"``: the same with :math:`A=0`;
    * ``"linear_limit"``: the infinite-depth limit of a linear random ResNet of width :math:`n\le`
      ``max_width``, :math:`dX=\|X\|/\sqrt n\,dB` (:func:`stochdepth.limits.limit_sde`), from
      :math:`x_0` of norm in :math:`[0.5,2]`.

    The horizon :math:`T` is drawn in :math:`[0.1,` ``max_horizon`` :math:`]`. The SDE object is built
    lazily (``.sde``), so tests that only use the closed forms pay no numba compilation.

    Parameters
    ----------
    kinds : sequence of str, optional
        Which families to draw from (default all four).
    max_dim : int, optional
        Largest dimension of GBM, OU and Brownian states (``>= 1``).
    max_width : int, optional
        Largest width of the linear network (``>= 1``).
    max_horizon : float, optional
        Largest horizon (``>= 0.1``).

    Returns
    -------
    hypothesis strategy of KnownLawDiffusion

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(diffusions_with_known_laws())
    ... def check(proc):
    ...     T = proc.horizon
    ...     m, M = proc.mean(T), proc.second_moment(T)
    ...     first = m[0] if proc.statistic_kind == "x0" else np.trace(M)
    ...     assert abs(proc.law(T).mean() - first) <= 1e-8 * (1 + abs(first))
    >>> check()
    """
    kinds_t = check_subset("kinds", kinds, _DIFFUSION_KINDS)
    max_dim = check_int("max_dim", max_dim, min=1)
    max_width = check_int("max_width", max_width, min=1)
    max_T = check_real("max_horizon", max_horizon, lo=0.1)
    empty = np.zeros(0)

    @hst.composite
    def draw_diffusion(draw: Any) -> KnownLawDiffusion:
        kind = draw(hst.sampled_from(kinds_t))
        T = draw(hst.floats(0.1, max_T))
        unit = hst.floats(-1.0, 1.0, allow_subnormal=False)
        if kind == "linear_limit":
            n = draw(hst.integers(1, max_width))
            u = np.array(draw(hst.lists(unit, min_size=n, max_size=n)), dtype=float)
            if np.linalg.norm(u) < 1e-3:
                u = np.ones(n)
            x0 = u / np.linalg.norm(u) * draw(hst.floats(0.5, 2.0))
            return KnownLawDiffusion(
                kind,
                x0,
                T,
                np.zeros((n, n)),
                np.zeros(n),
                "isotropic",
                empty,
                np.array([1.0 / math.sqrt(n)]),
                "squared_norm",
                n,
                _builder=lambda n=n: _linear_limit_sde(n),
            )
        dim = draw(hst.integers(1, max_dim))
        if kind == "gbm":
            mu = np.array(draw(hst.lists(unit, min_size=dim, max_size=dim)), dtype=float)
            s = np.array(draw(hst.lists(hst.floats(0.05, 0.6), min_size=dim, max_size=dim)))
            x0 = np.array(draw(hst.lists(hst.floats(0.5, 2.0), min_size=dim, max_size=dim)))
            A = np.diag(mu)

            def build_gbm(A: np.ndarray = A, s: np.ndarray = s) -> Any:
                from ...sde import affine_sde

                return affine_sde(A, diffusion_scale=s, name="gbm")

            return KnownLawDiffusion(
                kind, x0, T, A, np.zeros(dim), "diagonal", np.zeros(dim), s, "x0", None, _builder=build_gbm
            )
        q = draw(hst.integers(1, dim + 1))
        C = np.array(draw(hst.lists(unit, min_size=dim * q, max_size=dim * q)), dtype=float).reshape(dim, q)
        c00 = draw(hst.floats(0.1, 1.0)) * draw(hst.sampled_from([1.0, -1.0]))
        C[0, 0] = c00
        a = np.array(draw(hst.lists(unit, min_size=dim, max_size=dim)), dtype=float)
        x0 = 2.0 * np.array(draw(hst.lists(unit, min_size=dim, max_size=dim)), dtype=float)
        if kind == "ou":
            A = np.array(draw(hst.lists(unit, min_size=dim * dim, max_size=dim * dim)), dtype=float)
            A = A.reshape(dim, dim)
        else:
            A = np.zeros((dim, dim))

        def build_gaussian(A: np.ndarray = A, a: np.ndarray = a, C: np.ndarray = C, kind: str = kind) -> Any:
            from ...sde import affine_sde

            drift_matrix = A if kind == "ou" else None
            return affine_sde(drift_matrix, a, diffusion_offset=C, noise="general", name=kind)

        return KnownLawDiffusion(kind, x0, T, A, a, "general", C, empty, "x0", None, _builder=build_gaussian)

    return draw_diffusion()


def _linear_limit_sde(n: int) -> Any:
    from ...limits import limit_sde

    return limit_sde(n, "linear")
