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
) -> LayerFit:
    r"""Least squares :math:`\min_\beta\|B\beta-y\|^2+\text{ridge}\,m\|\beta\|^2` on column-scaled :math:`B`.

    Well-conditioned designs (:math:`\kappa(B)\le10^6`) use the Cholesky factor of the normal equations;
    others a truncated SVD with relative cut-off ``1 / max_condition``. A design with
    :math:`\kappa(B)>` ``max_condition`` is flagged ``"ill-conditioned"`` in the fit's note (the solvers
    report it in their status). Fewer samples than basis functions, or features with no spread, give a
    constant fit with a note. ``fitted_out`` (``(m,)``), when given, receives the fitted values.
    """
    m = int(y.size)

    def const(note: str) -> LayerFit:
        fit = constant_fit(y, note)
        if fitted_out is not None:
            fitted_out[:] = fit.coef[0]
        return fit

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
        rhs = (B.T @ y) / (m * norms)
        coef = sla.cho_solve(sla.cho_factor(G, lower=True), rhs)
    else:
        Bs = B / norms
        if ridge > 0:
            A = np.vstack([Bs, math.sqrt(ridge * m) * np.eye(k)])
            rhs_y = np.concatenate([y, np.zeros(k)])
        else:
            A, rhs_y = Bs, y
        coef = np.linalg.lstsq(A, rhs_y, rcond=1.0 / max_condition)[0]
        if cond > max_condition:
            note = (
                f"ill-conditioned design (condition number {cond:.3g} > {max_condition:.3g}): truncated SVD"
            )
    if not np.all(np.isfinite(coef)):
        return const("regression produced non-finite coefficients: constant fit")
    coef = coef / norms
    fit = LayerFit(fb, coef, cond, m, note)
    if fitted_out is not None:
        fitted_out[:] = B @ coef
    return fit
