r"""Regression bases for regression Monte Carlo (Longstaff-Schwartz, one-step look-ahead, dual martingales).

A :class:`Basis` is a recipe; :meth:`Basis.fit` looks at the features of the regression sample at one layer
and returns a :class:`FittedBasis`, a fixed map :math:`x\mapsto(\psi_1(x),\dots,\psi_K(x))` that can be
applied to new paths (out-of-sample policies, dual bounds). Every basis contains the constant function.
Fitting standardises the features (:math:`z=(x-\bar x)/s_x`, columns with zero spread dropped), which
keeps the design matrices well conditioned; what remains ill-conditioned is reported by the solvers.

* :class:`Polynomial` -- monomials of total degree :math:`\le p` in the standardised features;
* :class:`Laguerre` -- weighted Laguerre functions :math:`e^{-u/2}L_k(u)` of each scaled feature
  :math:`u=x/\overline{|x|}` (Longstaff & Schwartz 2001, §2.2, eq. (2));
* :class:`RandomFeatures` -- :math:`\phi(w_j\cdot z+b_j)` with Gaussian :math:`w_j,b_j` (random features,
  Rahimi & Recht, NeurIPS 2007), plus the constant and linear terms.
"""

from __future__ import annotations

import abc
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from .._checks import check_array, check_bool, check_int, check_real
from ..activations import Activation, get_activation
from . import _kernels as K

__all__ = ["Basis", "FittedBasis", "Laguerre", "Polynomial", "RandomFeatures"]


class FittedBasis(abc.ABC):
    """A basis fitted to one layer's regression sample: a fixed map ``(m, d) -> (m, K)``."""

    #: Number of basis functions ``K`` (the constant included).
    n_functions: int

    @abc.abstractmethod
    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Design matrix ``(m, K)`` of the features ``X`` (``(m, d)``)."""


class Basis(abc.ABC):
    """A family of regression functions (see the module docstring)."""

    @abc.abstractmethod
    def fit(self, X: np.ndarray, rng: np.random.Generator | None = None) -> FittedBasis:
        """Fit to the ``(m, d)`` features of a regression sample."""

    @abc.abstractmethod
    def n_functions(self, n_features: int) -> int:
        """Number of functions for ``n_features`` non-constant features (an upper bound after fitting)."""


def _standardise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = check_array("X", X, ndim=2)
    mean = X.mean(axis=0)
    sd = X.std(axis=0)
    keep = sd > 1e-12 * np.maximum(1.0, np.abs(mean))
    return mean, np.where(keep, sd, 1.0), keep


def _exponents(d: int, degree: int, interactions: bool) -> np.ndarray:
    if interactions:
        rows = [e for e in itertools.product(range(degree + 1), repeat=d) if sum(e) <= degree]
        rows.sort(key=lambda e: (sum(e), tuple(-x for x in e)))
    else:
        rows = [tuple([0] * d)]
        for p in range(1, degree + 1):
            for j in range(d):
                e = [0] * d
                e[j] = p
                rows.append(tuple(e))
    return np.array(rows, dtype=np.int64).reshape(len(rows), d)


@dataclass(frozen=True)
class _FittedPolynomial(FittedBasis):
    mean: np.ndarray
    scale: np.ndarray
    keep: np.ndarray
    exponents: np.ndarray
    n_functions: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_functions", int(self.exponents.shape[0]))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        z = np.ascontiguousarray(((X - self.mean) / self.scale)[:, self.keep])
        out = np.empty((X.shape[0], self.n_functions))
        K.monomial_design(z, self.exponents, out)
        return out


@dataclass(frozen=True)
class Polynomial(Basis):
    r"""Monomials :math:`\prod_jz_j^{e_j}` of the standardised features with :math:`\sum_je_j\le p`.

    Parameters
    ----------
    degree : int
        Total degree :math:`p\ge0` (0 gives the constant only).
    interactions : bool, optional
        If False, pure powers :math:`z_j^k` only (:math:`1+dp` functions instead of
        :math:`\binom{d+p}{p}`). Default True.

    Examples
    --------
    >>> fb = Polynomial(2).fit(np.random.default_rng(0).normal(size=(50, 2)))
    >>> fb.n_functions
    6
    """

    degree: int = 2
    interactions: bool = True

    def __post_init__(self) -> None:
        check_int("degree", self.degree, min=0, max=20)
        check_bool("interactions", self.interactions)

    def n_functions(self, n_features: int) -> int:
        if self.interactions:
            return math.comb(n_features + self.degree, self.degree)
        return 1 + n_features * self.degree

    def fit(self, X: np.ndarray, rng: np.random.Generator | None = None) -> FittedBasis:
        mean, scale, keep = _standardise(X)
        ex = _exponents(int(keep.sum()), self.degree, self.interactions)
        return _FittedPolynomial(mean, scale, keep, ex)


@dataclass(frozen=True)
class _FittedLaguerre(FittedBasis):
    scale: np.ndarray
    keep: np.ndarray
    degree: int
    weighted: bool
    n_functions: int = field(init=False)

    def __post_init__(self) -> None:
        d = int(self.keep.sum())
        per = self.degree + 1 if self.weighted else self.degree
        object.__setattr__(self, "n_functions", 1 + d * per)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        u = (np.asarray(X, dtype=float) / self.scale)[:, self.keep]
        cols = [np.ones(u.shape[0])]
        for j in range(u.shape[1]):
            w = np.exp(-u[:, j] / 2) if self.weighted else 1.0
            for k in range(0 if self.weighted else 1, self.degree + 1):
                cols.append(w * special.eval_laguerre(k, u[:, j]))
        return np.stack(cols, axis=1)


@dataclass(frozen=True)
class Laguerre(Basis):
    r"""Laguerre functions of each scaled feature :math:`u=x/\overline{|x|}`.

    .. math::
        \psi_0=1,\qquad \psi_{j,k}(x)=e^{-u_j/2}L_k(u_j),\quad k=0,\dots,p,

    with :math:`L_k` the Laguerre polynomials (:math:`L_1(u)=1-u`, :math:`L_2(u)=1-2u+u^2/2`); with
    ``weighted=False`` the factor :math:`e^{-u/2}` is dropped (and :math:`k\ge1`). No cross terms.
    Meant for non-negative features such as prices.

    Parameters
    ----------
    degree : int
        Highest order :math:`p\ge1`.
    weighted : bool, optional
        Use the weight :math:`e^{-u/2}`. Default True.

    References
    ----------
    Longstaff & Schwartz, *Rev. Financial Studies* 14 (2001) 113-147, §2.2 (weighted Laguerre basis).

    Examples
    --------
    >>> fb = Laguerre(3).fit(np.abs(np.random.default_rng(0).normal(size=(50, 1))) + 1)
    >>> fb.n_functions
    5
    """

    degree: int = 3
    weighted: bool = True

    def __post_init__(self) -> None:
        check_int("degree", self.degree, min=1, max=30)
        check_bool("weighted", self.weighted)

    def n_functions(self, n_features: int) -> int:
        return 1 + n_features * (self.degree + 1 if self.weighted else self.degree)

    def fit(self, X: np.ndarray, rng: np.random.Generator | None = None) -> FittedBasis:
        X = check_array("X", X, ndim=2)
        scale = np.abs(X).mean(axis=0)
        sd = X.std(axis=0)
        keep = (scale > 0) & (sd > 1e-12 * np.maximum(1.0, scale))
        return _FittedLaguerre(np.where(scale > 0, scale, 1.0), keep, self.degree, self.weighted)


@dataclass(frozen=True)
class _FittedRandom(FittedBasis):
    mean: np.ndarray
    scale: np.ndarray
    keep: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    activation: Activation
    linear: bool
    n_functions: int = field(init=False)

    def __post_init__(self) -> None:
        d = int(self.keep.sum())
        object.__setattr__(self, "n_functions", 1 + (d if self.linear else 0) + self.weights.shape[0])

    def __call__(self, X: np.ndarray) -> np.ndarray:
        z = ((np.asarray(X, dtype=float) - self.mean) / self.scale)[:, self.keep]
        parts = [np.ones((z.shape[0], 1))]
        if self.linear:
            parts.append(z)
        parts.append(np.asarray(self.activation.fn(z @ self.weights.T + self.bias), dtype=float))
        return np.concatenate(parts, axis=1)


@dataclass(frozen=True)
class RandomFeatures(Basis):
    r"""Random features :math:`\phi(w_j\cdot z+b_j)`, :math:`j=1..m`, plus the constant and :math:`z`.

    .. math::
        w_j\sim\mathcal N\big(0,\ \sigma^2I_d/d\big),\qquad b_j\sim\mathcal N(0,\sigma^2),

    on the standardised features :math:`z`; :math:`\phi` is any :class:`~stochdepth.activations.Activation`.
    The random weights are drawn at :meth:`fit` from the generator the solver passes (one spawned stream
    per layer), so results depend on the solver's seed only.

    Parameters
    ----------
    n_features : int
        Number :math:`m\ge1` of random features.
    activation : str or Activation, optional
        :math:`\phi`. Default ``"relu"``.
    bandwidth : float, optional
        :math:`\sigma>0`. Default 1.
    linear : bool, optional
        Include the linear terms :math:`z`. Default True.

    References
    ----------
    Rahimi & Recht, *Random features for large-scale kernel machines*, NeurIPS 2007.

    Examples
    --------
    >>> fb = RandomFeatures(20).fit(np.random.default_rng(0).normal(size=(50, 3)), np.random.default_rng(1))
    >>> fb.n_functions
    24
    """

    n_features: int = 50
    activation: Any = "relu"
    bandwidth: float = 1.0
    linear: bool = True

    def __post_init__(self) -> None:
        check_int("n_features", self.n_features, min=1)
        object.__setattr__(self, "activation", get_activation(self.activation))
        check_real("bandwidth", self.bandwidth, lo=0.0, lo_open=True)
        check_bool("linear", self.linear)

    def n_functions(self, n_features: int) -> int:
        return 1 + (n_features if self.linear else 0) + self.n_features

    def fit(self, X: np.ndarray, rng: np.random.Generator | None = None) -> FittedBasis:
        if rng is None:
            raise ValueError("RandomFeatures.fit needs a generator (the solver passes one per layer)")
        mean, scale, keep = _standardise(X)
        d = max(int(keep.sum()), 1)
        W = rng.standard_normal((self.n_features, int(keep.sum()))) * self.bandwidth / math.sqrt(d)
        b = rng.standard_normal(self.n_features) * self.bandwidth
        return _FittedRandom(mean, scale, keep, W, b, self.activation, self.linear)
