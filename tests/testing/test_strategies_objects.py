"""Sanity of every strategy: what is drawn validates and keeps the documented guarantees, and the closed
forms attached to it are consistent with independent routes (quadrature, library functions, brute force).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst

from stochdepth import Status
from stochdepth.activations import Activation
from stochdepth.networks import log_norms
from stochdepth.stopping import MarkovStoppingProblem, PolicyIteration, is_monotone, solve_stopping
from stochdepth.testing.strategies import (
    activations,
    depths,
    markov_stopping_problems,
    network_configs,
    network_inputs,
    residual_families,
    stochastic_matrices,
    widths,
)

SEEDS = hst.integers(0, 2**32 - 1)


def with_seed(**kwargs: object) -> settings:
    """Settings for properties that also take the ``seed`` fixture (constant across the examples)."""
    return settings(
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture], **kwargs
    )


# ----------------------------------------------------------------------------------------------------
# activations, widths, depths, inputs, networks
# ----------------------------------------------------------------------------------------------------


@given(activations(), hst.lists(hst.floats(-20, 20), min_size=2, max_size=8))
def test_activations_keep_their_declared_facts(phi: Activation, xs: list[float]) -> None:
    """Lipschitz constant, homogeneity and the numba function hold on the drawn points; closed-form
    second moments and kernels agree with the quadrature the library uses otherwise."""
    x = np.array(xs)
    y = phi(x)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose([phi.numba_fn(float(v)) for v in x], y, rtol=1e-12, atol=1e-12)
    dx = np.abs(x[:, None] - x[None, :])
    dy = np.abs(y[:, None] - y[None, :])
    assert math.isfinite(phi.lipschitz)
    assert np.all(dy <= phi.lipschitz * dx * (1 + 1e-12) + 1e-12)
    if phi.homogeneity is not None:
        np.testing.assert_allclose(phi(2.5 * x), 2.5**phi.homogeneity * y, rtol=1e-12, atol=1e-12)
    if phi.has_closed_form_kernel:
        quad = Activation(phi.name + "-quadrature", phi.fn, phi.numba_fn)  # no closed forms: quadrature
        q = np.array([0.3, 1.0, 4.0])
        np.testing.assert_allclose(phi.second_moment(q), quad.second_moment(q), rtol=1e-9)
        # the 2-D rule is ~1e-5 accurate when phi has a kink (activations.py, _Q2 comment)
        np.testing.assert_allclose(phi.kernel(1.0, 2.0, 0.7), quad.kernel(1.0, 2.0, 0.7), rtol=1e-4)


@given(widths(2, 5), depths(3, 7))
def test_widths_and_depths_stay_in_range(n: int, L: int) -> None:
    assert 2 <= n <= 5 and 3 <= L <= 7


@given(network_inputs(max_dim=5, max_inputs=4, min_norm=0.5, max_norm=3.0))
def test_network_inputs_guarantees(x: np.ndarray) -> None:
    """float64, finite, (d, k) with column norms in range; collinear columns give a singular Gram."""
    assert x.dtype == np.float64 and x.ndim == 2 and np.all(np.isfinite(x))
    norms = np.linalg.norm(x, axis=0)
    assert np.all(norms >= 0.5 * (1 - 1e-12)) and np.all(norms <= 3.0 * (1 + 1e-12))


def test_network_inputs_draw_collinear_columns() -> None:
    """The singular case is actually generated (some draw has two parallel columns)."""
    found = []

    @settings(max_examples=60)
    @given(network_inputs(d=3, k=3))
    def look(x: np.ndarray) -> None:
        u = x / np.linalg.norm(x, axis=0)
        found.append(bool(np.any(np.abs(np.abs(u.T @ u) - 1.0)[np.triu_indices(3, 1)] < 1e-12)))

    look()
    assert any(found) and not all(found)


@with_seed(max_examples=8)
@given(
    cfg=network_configs(max_width=6, max_depth=12, activation=activations(names=["linear"]), t1=0.25), k=SEEDS
)
def test_linear_network_configs_have_the_exact_mean_square(cfg, k: int, seed: int) -> None:
    r"""Linear configurations through the library's sampler: :math:`\|Y_L\|^2/\|Y_0\|^2` has mean
    :math:`(1+h)^L` exactly at every width (docs/science.md §A4), checked at 5 standard errors with 4000
    networks (the ratio is independent of :math:`Y_0`; :math:`t_1=0.25` keeps its log-variance
    :math:`\le t_1/n\cdot4\le1`, so the standard error is reliable)."""
    res = cfg.sample(n_paths=4000, record=[0, cfg.depth], observe=log_norms(), rng=[seed, k])
    r = res["log_norms"].samples  # (networks, 2, k)
    ratio = np.exp(2.0 * (r[:, 1, :] - r[:, 0, :]))
    exact = (1.0 + cfg.step) ** cfg.depth
    for j in range(ratio.shape[1]):
        mean, se = ratio[:, j].mean(), ratio[:, j].std(ddof=1) / math.sqrt(ratio.shape[0])
        assert abs(mean - exact) <= 5 * se, (mean, exact, se)


@settings(max_examples=10)
@given(network_configs(max_width=5, max_depth=6, activation=activations(leaky_slopes=())))
def test_network_configs_sample_with_any_activation(cfg) -> None:
    """Drawn configurations run through the sampler (collinear inputs, dead ReLU units included). The
    built-in activations only: each extra leaky slope compiles its own kernels (seconds)."""
    res = cfg.sample(n_paths=16, rng=0)
    s = res["preactivations"].samples
    assert s.shape == (16, 2, cfg.width, cfg.x.shape[1]) and np.all(np.isfinite(s))
    assert cfg.step == pytest.approx(cfg.t1 / cfg.depth)
    np.testing.assert_allclose(cfg.input_variance, np.sum(cfg.x**2, axis=0) / cfg.x.shape[0])


# ----------------------------------------------------------------------------------------------------
# Markov stopping problems
# ----------------------------------------------------------------------------------------------------


@given(hst.integers(1, 6).flatmap(stochastic_matrices))
def test_stochastic_matrices_are_stochastic(P: np.ndarray) -> None:
    assert np.all(P >= 0) and np.allclose(P.sum(axis=1), 1.0, atol=1e-15)


@given(markov_stopping_problems(max_states=5, max_horizon=5))
def test_markov_problems_validate(prob: MarkovStoppingProblem) -> None:
    assert 1 <= prob.n_states <= 5 and prob.horizon is not None and 1 <= prob.horizon <= 5
    assert prob.initial is not None and prob.initial.sum() == pytest.approx(1.0)
    assert np.all(np.isfinite(prob.gains)) and np.all(prob.costs >= 0)
    assert np.all(np.isin(prob.gains * 4, np.arange(-8, 9)))  # the coarse grid that makes ties


@given(markov_stopping_problems(max_states=5, infinite=True))
def test_infinite_problems_have_finite_certified_values(prob: MarkovStoppingProblem) -> None:
    assert prob.infinite and (prob.costs[0] > 0 or prob.discount < 1)
    sol = solve_stopping(prob, PolicyIteration())
    assert sol.status is Status.CERTIFIED and np.all(np.isfinite(sol.values))


@given(markov_stopping_problems(max_states=5, max_horizon=5, monotone=True))
def test_monotone_problems_are_monotone(prob: MarkovStoppingProblem) -> None:
    assert is_monotone(prob) and prob.discount == 1.0 and prob.costs.min() > 0


@given(hst.booleans().flatmap(lambda inf: markov_stopping_problems(4, 4, infinite=inf, monotone=False)))
def test_non_monotone_problems_are_not_monotone(prob: MarkovStoppingProblem) -> None:
    assert not is_monotone(prob)


@given(markov_stopping_problems(max_states=4, infinite=True, monotone=True))
def test_infinite_monotone_problems(prob: MarkovStoppingProblem) -> None:
    assert prob.infinite and is_monotone(prob)


# ----------------------------------------------------------------------------------------------------
# residual families
# ----------------------------------------------------------------------------------------------------


@given(hst.booleans().flatmap(lambda sat: residual_families(sat, None, max_horizon=12)))
def test_residual_families_are_what_they_declare(fam) -> None:
    """Recorded residual norms against the declared envelope, the gain against the declared Lipschitz
    constant, and each violation visible in the data; the paths follow h_{l+1} = h_l + f_l(h_l)."""
    prob = fam.problem
    assert prob.deterministic and prob.horizon == fam.residual_bounds.size
    norms = np.linalg.norm(np.diff(prob.features, axis=1), axis=2)  # (paths, L)
    over = norms > fam.residual_bounds * (1 + 1e-9) + 1e-12
    if fam.violation in ("growth", "bounds"):
        assert np.any(over)
    else:
        assert not np.any(over)
    h, G = prob.features, prob.gains
    # |G_l - G_0| <= L_g ||h_l - h_0|| up to rounding of the magnitudes involved
    dg = np.abs(G[:, 1:] - G[:, :1])
    dh = np.linalg.norm(h[:, 1:] - h[:, :1], axis=2)
    mag = np.abs(G[:, 1:]) + np.abs(G[:, :1]) + fam.lipschitz * np.linalg.norm(h, axis=2).max()
    steep = np.any(dg > fam.lipschitz * dh + 1e-12 * mag)
    assert steep == (fam.violation == "lipschitz")
    assert (fam.cost == 0.0) == (fam.violation == "zero_cost")
    assert (prob.discount < 1.0) == (fam.violation == "discounted")
    assert fam.satisfying == (fam.violation == "")
    if fam.kind == "geometric":
        np.testing.assert_allclose(fam.residual_bounds, fam.C * fam.rho ** np.arange(prob.horizon))
    if fam.kind == "bounded":
        assert np.all(G <= 0) and np.all(-fam.lipschitz <= G)
