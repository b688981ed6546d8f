"""SDEs shared by the sde tests (built once per test session: each compiles its kernels once)."""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from stochdepth.sde import SDE, affine_sde

# GBM parameters of the weak-order test: a large weak-error constant for E X (exp(mu) mu^2 / 4 h) and a
# moderate noise, so the coupled differences are resolved to a few percent with 5e4 paths.
MU_WEAK, SIGMA_WEAK = 1.0, 0.5
# GBM parameters of the strong-order tests (both schemes are in their asymptotic regime from N = 16).
MU_STRONG, SIGMA_STRONG = 1.0, 1.0


@cache
def ou() -> SDE:
    """dX = 2 (0.5 - X) dt + 0.7 dW (diagonal, dim 1)."""
    return affine_sde([[-2.0]], [1.0], diffusion_offset=[0.7], name="ou")


@cache
def gbm_augmented(mu: float, sigma: float) -> SDE:
    """(X, W) with dX = mu X dt + sigma X dW, dW = dW: scalar noise, so W_T is carried along and the
    exact solution X_T = X_0 exp((mu - sigma^2/2) T + sigma W_T) is known path by path."""
    return affine_sde(
        [[mu, 0.0], [0.0, 0.0]],
        diffusion_offset=[0.0, 1.0],
        diffusion_scale=[sigma, 0.0],
        noise="scalar",
        name=f"gbm({mu}, {sigma}) + W",
    )


@cache
def gbm_diagonal() -> SDE:
    """Two independent GBMs with different coefficients (diagonal, commutative)."""
    return affine_sde(np.diag([0.3, -0.2]), diffusion_scale=[0.4, 0.9], name="gbm2")


@cache
def general_ou() -> SDE:
    """dX = -A X dt + C dW with a 2x3 constant C (general noise, noise_dim = 3)."""
    return affine_sde(-GENERAL_A, diffusion_offset=GENERAL_C, noise="general", name="ou-general")


GENERAL_A = np.array([[1.0, 0.5], [-0.3, 2.0]])
GENERAL_C = np.array([[0.8, 0.0, 0.3], [0.4, 0.6, -0.5]])


def _linear_limit_sigma(t, x, out):
    # ||x|| / sqrt(n): the linear network's limit diffusion (docs/science.md §A3, A4); plain python, njit-ed
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * x[i]
    out[0] = math.sqrt(s / x.shape[0])


@cache
def linear_limit(n: int) -> SDE:
    """dX = ||X|| / sqrt(n) dB in dimension n (isotropic noise)."""
    return SDE(None, _linear_limit_sigma, n, noise="isotropic", name=f"linear limit n={n}")


def _sin_sigma(t, x, out):
    out[0] = 0.5 + 0.3 * math.sin(x[0])


def _sin_dsigma(t, x, out):
    out[0] = 0.3 * math.cos(x[0])


def _sin_drift(t, x, out):
    out[0] = -x[0] + t


@cache
def isotropic_1d() -> SDE:
    """A non-linear 1-d SDE written with isotropic noise (commutative in dimension 1)."""
    return SDE(_sin_drift, _sin_sigma, 1, noise="isotropic", diffusion_derivative=_sin_dsigma, name="sin-1d")


def _explode_drift(t, x, out):
    out[0] = x[0] * x[0]


def _explode_sigma(t, x, out):
    out[0] = 0.1 * x[0]


@cache
def exploding() -> SDE:
    """dX = X^2 dt + 0.1 X dW from X_0 = 1: blows up near t = 1."""
    return SDE(_explode_drift, _explode_sigma, 1, name="explode")
