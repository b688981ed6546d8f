"""Least-squares fits of one layer's regression (shared by Longstaff-Schwartz, look-ahead and duals)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from .basis import Basis, FittedBasis

#: Above this condition number of the (column-scaled) design matrix the normal equations are not used.
NORMAL_EQUATIONS_MAX_CONDITION = 1e6


@dataclass(frozen=True)
class LayerFit:
    """A fitted regression ``x -> basis(x) @ coef`` (or a constant when ``basis`` is None)."""

    basis: FittedBasis | None
    coef: np.ndarray
    condition: float
    n_samples: int
    note: str = ""

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.basis is None:
            return np.full(np.asarray(X).shape[0], float(self.coef[0]))
        return self.basis(X) @ self.coef

    @property
    def ill_conditioned(self) -> bool:
        return self.note.startswith("ill-conditioned")


def constant_fit(y: np.ndarray, note: str = "") -> LayerFit:
    value = float(np.mean(y)) if y.size else 0.0
    return LayerFit(None, np.array([value]), 1.0, int(y.size), note)


def fit_layer(
    basis: Basis,
    X: np.ndarray,
    y: np.ndarray,
    *,
    rng: np.random.Generator | None,
    ridge: float = 0.0,
    max_condition: float = 1e10,
    fitted_out: np.ndarray | None = None,
) -> LayerFit | list[LayerFit]:
    r"""Least squares :math:`\min_\beta\|B\beta-y\|^2+\text{ridge}\,m\|\beta\|^2` on column-scaled :math:`B`.

    ``y`` is one target (``(m,)``: one fit) or several (``(m, r)``: a list of ``r`` fits, as
    :func:`numpy.linalg.lstsq` takes either): the basis is fitted to ``X`` once and the design, its Gram
    matrix and its factor serve every target, so ``r`` regressions on the same features cost about one.
    Well-conditioned designs (:math:`\kappa(B)\le10^6`) use the Cholesky factor of the normal equations;
    others a truncated SVD with relative cut-off ``1 / max_condition``. A design with
    :math:`\kappa(B)>` ``max_condition`` is flagged ``"ill-conditioned"`` in the fits' note (the solvers
    report it in their status). Fewer samples than basis functions, or features with no spread, give
    constant fits with a note. ``fitted_out`` (shaped as ``y``), when given, receives the fitted values.
    """
    if y.ndim == 1:
        out = None if fitted_out is None else fitted_out[:, None]
        return fit_layer(
            basis, X, y[:, None], rng=rng, ridge=ridge, max_condition=max_condition, fitted_out=out
        )[0]
    Y = y
    m, r = Y.shape

    def const(note: str) -> list[LayerFit]:
        fits = [constant_fit(Y[:, j], note) for j in range(r)]
        if fitted_out is not None:
            fitted_out[:] = [f.coef[0] for f in fits]
        return fits

    if m == 0:
        return const("no regression sample at this layer")
    fb = basis.fit(X, rng)
    k = fb.n_functions
    if k == 1:
        return const("")
    if m < k:
        return const(f"{m} regression samples < {k} basis functions: constant fit")
    B = fb(X)
    G = B.T @ B / m
    norms = np.sqrt(np.diag(G)).copy()
    norms[norms == 0] = 1.0
    G /= np.outer(norms, norms)  # Gram matrix of the column-scaled design
    if ridge > 0:
        G[np.diag_indices_from(G)] += ridge
    ev = np.linalg.eigvalsh(G)
    lo = max(float(ev[0]), 0.0)
    cond = math.sqrt(float(ev[-1]) / lo) if lo > 0 else math.inf
    note = ""
    if cond <= NORMAL_EQUATIONS_MAX_CONDITION:
        rhs = (B.T @ Y) / (m * norms[:, None])
        coef = sla.cho_solve(sla.cho_factor(G, lower=True), rhs)
    else:
        Bs = B / norms
        if ridge > 0:
            A = np.vstack([Bs, math.sqrt(ridge * m) * np.eye(k)])
            rhs_y = np.vstack([Y, np.zeros((k, r))])
        else:
            A, rhs_y = Bs, Y
        coef = np.linalg.lstsq(A, rhs_y, rcond=1.0 / max_condition)[0]
        if cond > max_condition:
            note = (
                f"ill-conditioned design (condition number {cond:.3g} > {max_condition:.3g}): truncated SVD"
            )
    coef = coef / norms[:, None]
    fits = []
    for j in range(r):
        if np.all(np.isfinite(coef[:, j])):
            fits.append(LayerFit(fb, coef[:, j].copy(), cond, m, note))
            if fitted_out is not None:
                fitted_out[:, j] = B @ coef[:, j]
        else:
            fits.append(constant_fit(Y[:, j], "regression produced non-finite coefficients: constant fit"))
            if fitted_out is not None:
                fitted_out[:, j] = fits[-1].coef[0]
    return fits
