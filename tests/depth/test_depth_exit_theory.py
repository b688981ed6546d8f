"""B2 bounds on recorded residuals and the free-boundary exit (docs/science.md §B2, §B5, §B7)."""

from __future__ import annotations

import numpy as np
import pytest
from exit_chain import chain_trace

from stochdepth.depth import (
    BellmanExit,
    ExitProblem,
    FreeBoundaryExit,
    Trace,
    fit_exit_diffusion,
    residual_decay,
    trace_depth_bounds,
)
from stochdepth.stopping import PathStoppingProblem, PathwiseMaximum, solve_stopping
from stochdepth.testing import Z_MAX


@pytest.mark.parametrize("rho", [0.7, 0.9, 1.05])
def test_decay_rate_is_recovered(seed: int, rho: float) -> None:
    """Steps C rho^l exp(0.3 Z): their means are C rho^l exp(0.045), exactly log-linear with slope log rho,
    so the fitted rate is within 5 bootstrap standard errors (interval width / 3.92) of rho."""
    tr, _ = chain_trace(seed, 3000, 10, rho=rho, noise=0.3)
    d = residual_decay(tr, n_boot=300, rng=seed)
    se = (d.rate_high - d.rate_low) / 3.92
    assert abs(d.rate - rho) <= Z_MAX * se
    assert d.decay_met is (rho < 1)
    assert d.r_squared > 0.99


def test_bounds_on_a_trace_hold_and_match_the_formula(seed: int) -> None:
    """Summable bound L_g S / c with S the sum of the largest step per layer, by hand; the realised
    E tau* (pathwise maximum of confidence - c l, exact: the confidence is computed from the input) is
    below it and below the geometric bound."""
    tr, _ = chain_trace(seed, 2000, 8, rho=0.6, noise=0.1)
    c = 0.01
    b = trace_depth_bounds(tr, c, rng=seed)
    steps = tr.residual_norms[:, 1:]
    S = steps.max(axis=0).sum()
    assert b.summable.bound == pytest.approx(b.lipschitz * S / c)
    assert b.summable.holds and b.geometric.holds and b.summable.hypotheses_hold
    assert b.geometric.hypotheses["rho_below_one"]
    # consistency: E tau* is the pathwise maximum of confidence minus cost, whatever the features
    paths = PathStoppingProblem(
        np.arange(tr.n_samples)[:, None] * np.ones((1, 8)),
        tr.confidence,
        c,
        deterministic=True,
        gains_observed=True,
    )
    tau = solve_stopping(paths, PathwiseMaximum()).tau
    assert b.summable.expected_depth.value == pytest.approx(tau.mean())
    assert 0 < b.summable.tightness <= 1


def test_exit_diffusion_recovers_drift_and_volatility(seed: int) -> None:
    """Log-odds Y following the Euler steps of dY = (a + bY) dt + s dW on the exit grid are fitted by
    exactly the model's regression: a and b within 5 standard errors, s^2 within 5 of its standard error
    s^2 sqrt(2 / m) (m increments)."""
    rng = np.random.default_rng(seed)
    n, L, a, b, s = 4000, 11, 3.0, -1.0, 0.5
    dt = 1.0 / (L - 1)
    Y = np.empty((n, L))
    Y[:, 0] = 3.0 + 0.3 * rng.standard_normal(n)
    for l in range(L - 1):
        Y[:, l + 1] = Y[:, l] + (a + b * Y[:, l]) * dt + s * np.sqrt(dt) * rng.standard_normal(n)
    assert Y.min() > 0  # the predicted class stays class 0, so the confidence's log-odds is Y
    logits = np.stack([Y, np.zeros_like(Y)], axis=2)
    tr = Trace.from_outputs(
        logits,
        np.zeros(n, dtype=np.int64),
        hidden_norms=np.ones((n, L)),
        hidden_projection=np.zeros((n, L, 1)),
        residual_norms=np.ones((n, L)),
        flops=np.arange(1.0, L + 1),
    )
    d = fit_exit_diffusion(ExitProblem.from_trace(tr))
    assert abs(d.drift[0] - a) <= Z_MAX * d.drift_stderr[0]
    assert abs(d.drift[1] - b) <= Z_MAX * d.drift_stderr[1]
    m = n * (L - 1)
    assert abs(d.volatility**2 - s**2) <= Z_MAX * s**2 * np.sqrt(2 / m)
    np.testing.assert_allclose(d.times, np.linspace(0, 1, L))


def test_free_boundary_policy_agrees_with_bellman_on_the_markov_trace(seed: int) -> None:
    """On the Markov trace the confidences take 4 values (log-odds 0.2, 0.8, 1.6, 3.0) and the exact
    policy exits in the top state only; the fitted diffusion's free boundary lies between 1.6 and 3.0
    (log-odds) at every exit but the last, so both policies choose the same exits."""
    tr, _ = chain_trace(seed, 20000, 8)
    cal, test = ExitProblem.from_trace(tr, cost=0.02, features=("confidence",)).split(0.5, rng=seed)
    fb = FreeBoundaryExit().fit(cal)
    assert np.all((fb.boundary_[:-1] > 1.6) & (fb.boundary_[:-1] < 3.0))
    np.testing.assert_array_equal(fb.exits(test), BellmanExit().fit(cal, rng=seed).exits(test))
    assert fb.solution_.success


def test_bad_input(seed: int) -> None:
    tr, _ = chain_trace(seed, 50, 2)
    with pytest.raises(ValueError, match="at least 3 exits"):
        residual_decay(tr)
    tr, _ = chain_trace(seed, 50, 5)
    with pytest.raises(ValueError, match="cost"):
        trace_depth_bounds(tr, 0.0)
    with pytest.raises(ValueError, match="gains"):
        trace_depth_bounds(tr, 0.1, gains=np.zeros((3, 3)))
    with pytest.raises(TypeError, match="trace"):
        residual_decay(np.zeros(3))
    with pytest.raises(ValueError, match="unlabelled"):
        fit_exit_diffusion(ExitProblem.from_trace(tr, labelled=False))
