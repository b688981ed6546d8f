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


def _two_class_trace(Y: np.ndarray, right: np.ndarray) -> Trace:
    """A trace whose exit l predicts the label (class 0) where ``right`` holds and class 1 elsewhere,
    with log-odds ``Y`` (> 0) for the predicted class."""
    n, L = Y.shape
    top = np.stack([Y, np.zeros_like(Y)], axis=2)
    logits = np.where(right[..., None], top, top[..., ::-1])
    return Trace.from_outputs(
        logits,
        np.zeros(n, dtype=np.int64),
        hidden_norms=np.ones((n, L)),
        hidden_projection=np.zeros((n, L, 1)),
        residual_norms=np.ones((n, L)),
        flops=np.arange(1.0, L + 1),
    )


def _euler_log_odds(
    rng: np.random.Generator, n: int, a: np.ndarray, b: np.ndarray, s: np.ndarray
) -> np.ndarray:
    """Euler steps of dY = (a_l + b_l Y) dt + s_l dW from Y_0 ~ N(3, 0.3^2) on the grid of len(a) + 1
    exits; positive, so the predicted class keeps log-odds Y."""
    dt = 1.0 / len(a)
    Y = np.empty((n, len(a) + 1))
    Y[:, 0] = 3.0 + 0.3 * rng.standard_normal(n)
    for l in range(len(a)):
        Y[:, l + 1] = Y[:, l] + (a[l] + b[l] * Y[:, l]) * dt + s[l] * np.sqrt(dt) * rng.standard_normal(n)
    assert Y.min() > 0
    return Y


def test_exit_diffusion_recovers_drift_and_volatility(seed: int) -> None:
    """Log-odds Y following the Euler steps of dY = (a + bY) dt + s dW on the exit grid are fitted by
    exactly the model's regression: a and b within 5 standard errors, s^2 within 5 of its standard error
    s^2 sqrt(2 / m) (m increments)."""
    n, L, a, b, s = 4000, 11, 3.0, -1.0, 0.5
    Y = _euler_log_odds(np.random.default_rng(seed), n, *(np.full(L - 1, v) for v in (a, b, s)))
    tr = _two_class_trace(Y, np.ones_like(Y, dtype=bool))
    d = fit_exit_diffusion(ExitProblem.from_trace(tr), state="log_odds", drift="constant")
    assert np.all(d.drift == d.drift[0]) and np.all(d.volatility == d.volatility[0])
    assert abs(d.drift[0, 0] - a) <= Z_MAX * d.drift_stderr[0, 0]
    assert abs(d.drift[0, 1] - b) <= Z_MAX * d.drift_stderr[0, 1]
    m = n * (L - 1)
    assert abs(d.volatility[0] ** 2 - s**2) <= Z_MAX * s**2 * np.sqrt(2 / m)
    np.testing.assert_allclose(d.times, np.linspace(0, 1, L))


def test_exit_diffusion_recovers_a_drift_per_step(seed: int) -> None:
    """Euler steps of dY = (a_l + b_l Y) dt + s_l dW with coefficients that change from step to step:
    each step's regression is the model's own least squares on n increments, so a_l and b_l lie within
    5 standard errors, and s_l^2 within 5 of its standard error s_l^2 sqrt(2 / n)."""
    rng = np.random.default_rng(seed)
    n = 4000
    a, b, s = (
        np.array([4.0, 1.0, 0.0, 3.0, 2.0]),
        np.array([-1.0, 0.0, 0.5, -2.0, -0.5]),
        np.linspace(0.3, 0.8, 5),
    )
    Y = _euler_log_odds(rng, n, a, b, s)
    right = rng.random(Y.shape) < 0.7
    d = fit_exit_diffusion(ExitProblem.from_trace(_two_class_trace(Y, right)), state="log_odds")
    assert np.all(np.abs(d.drift[:, 0] - a) <= Z_MAX * d.drift_stderr[:, 0])
    assert np.all(np.abs(d.drift[:, 1] - b) <= Z_MAX * d.drift_stderr[:, 1])
    assert np.all(np.abs(d.volatility**2 - s**2) <= Z_MAX * s**2 * np.sqrt(2 / n))
    assert d.step(np.array([0.0, 0.19, 0.2, 0.99, 1.0])).tolist() == [0, 0, 1, 4, 4]


def test_calibrated_state_recovers_each_exits_calibration(seed: int) -> None:
    """Correctness at exit l drawn as Bernoulli(1 / (1 + exp(-(alpha_l + beta_l Y_l)))): the per-exit
    logistic fit is the maximum-likelihood estimate of that model, so alpha_l and beta_l lie within 5
    standard errors from the inverse Fisher information at the truth, and the state is
    alpha_l + beta_l Y_l with the gain g(s) = 1 / (1 + exp(-s))."""
    rng = np.random.default_rng(seed)
    n, L = 4000, 4
    alpha, beta = np.array([-2.0, -1.0, 0.0, 0.5]), np.array([1.5, 1.0, 0.7, 0.4])
    Y = rng.uniform(0.1, 4.0, size=(n, L))
    p = 1.0 / (1.0 + np.exp(-(alpha + beta * Y)))
    right = rng.random((n, L)) < p
    prob = ExitProblem.from_trace(_two_class_trace(Y, right))
    d = fit_exit_diffusion(prob)
    assert d.state == "calibrated" and d.gain == (0.0, 1.0)
    for l in range(L):
        X = np.stack([np.ones(n), Y[:, l]], axis=1)
        cov = np.linalg.inv(X.T @ (X * (p[:, l] * (1 - p[:, l]))[:, None]))
        se = np.sqrt(np.diag(cov))
        assert np.all(np.abs(d.calibration[l] - [alpha[l], beta[l]]) <= Z_MAX * se)
    Yp = np.log(prob.confidence) - np.log1p(-prob.confidence)
    np.testing.assert_allclose(d.summary(prob), d.calibration[:, 0] + d.calibration[:, 1] * Yp)
    np.testing.assert_allclose(d.gain_function(np.array([0.0, np.log(3.0)])), [0.5, 0.75])


def test_free_boundary_policy_agrees_with_bellman_on_the_markov_trace(seed: int) -> None:
    """On the Markov trace the confidences take 4 values (log-odds 0.2, 0.8, 1.6, 3.0) and the exact
    policy exits in the top state only. The homogeneous diffusion of the log-odds has its free boundary
    between 1.6 and 3.0 at every exit but the last, so it chooses the exact policy's exits; so does the
    default model (calibrated state, a drift per step), whose boundary is not derived here (at the
    first exit, fitted on one step, it can sit just above 3.0)."""
    tr, _ = chain_trace(seed, 20000, 8)
    cal, test = ExitProblem.from_trace(tr, cost=0.02, features=("confidence",)).split(0.5, rng=seed)
    bellman = BellmanExit().fit(cal, rng=seed).exits(test)
    homogeneous = FreeBoundaryExit(state="log_odds", drift="constant").fit(cal)
    assert np.all((homogeneous.boundary_[:-1] > 1.6) & (homogeneous.boundary_[:-1] < 3.0))
    np.testing.assert_array_equal(homogeneous.exits(test), bellman)
    assert homogeneous.solution_.success
    default = FreeBoundaryExit().fit(cal)
    np.testing.assert_array_equal(default.exits(test), bellman)
    assert default.solution_.success


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
    with pytest.raises(ValueError, match="state"):
        fit_exit_diffusion(ExitProblem.from_trace(tr), state="raw")
    with pytest.raises(ValueError, match="drift"):
        FreeBoundaryExit(drift="linear")
    n, L = 50, 3
    with pytest.raises(ValueError, match="exit 0 lacks one of them"):
        fit_exit_diffusion(ExitProblem.from_trace(_two_class_trace(np.ones((n, L)), np.ones((n, L), bool))))
