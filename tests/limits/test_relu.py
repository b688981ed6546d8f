"""ReLU facts (docs/science.md §A5): dead probability, the drift D(n), width 1, the norm identity, the
regime."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as st

from stochdepth.limits import _kernels as K
from stochdepth.limits import (
    limit_sde,
    relu_dead_probability,
    relu_log_drift,
    relu_log_drift_mc,
    relu_norm_identity,
    relu_regime,
    relu_width1_law,
)
from stochdepth.networks import dead, sample_network
from stochdepth.sde import EulerMaruyama, coordinate, simulate
from stochdepth.testing import ALPHA


def test_log_drift_exact_values() -> None:
    """D(3) = -1/21 < 0 < D(4) = 1/60.

    Derivation: mu_0 ~ Bin(n, 1/2) and P(alive) = 1 - 2^-n, so E[mu_0 | alive] = (n/2) / (1 - 2^-n) and
    D(n) = (E[mu_0 | alive] - 2) / (2n) = 1 / (4 (1 - 2^-n)) - 1/n.
    n = 3: 1 / (4 * 7/8) - 1/3 = 2/7 - 1/3 = -1/21;  n = 4: 1 / (4 * 15/16) - 1/4 = 4/15 - 1/4 = 1/60.
    """
    assert relu_log_drift(3, exact=True) == Fraction(-1, 21)
    assert relu_log_drift(4, exact=True) == Fraction(1, 60)
    assert relu_log_drift(1) == -0.5
    assert relu_log_drift(3) < 0 < relu_log_drift(4)


@pytest.mark.parametrize("n", range(1, 31))
def test_log_drift_by_enumeration_over_active_counts(n: int) -> None:
    """The closed form against exact enumeration of E[(mu - 2) / (2n) | mu >= 1], mu ~ Bin(n, 1/2)."""
    total = sum(Fraction(math.comb(n, k), 2**n) * Fraction(k - 2, 2 * n) for k in range(1, n + 1))
    assert total / (1 - Fraction(1, 2**n)) == relu_log_drift(n, exact=True)


@pytest.mark.parametrize("n", [3, 4])
def test_log_drift_monte_carlo(seed: int, n: int) -> None:
    """Short simulated paths give D(n) within 5 SE (bias O(horizon) = O(1e-3) * |D''|, measured below the
    1.3e-4 standard error at 1e6 paths: z-scores of 0.8-2.5 over n = 1, 3, 4, 8 in development)."""
    est = relu_log_drift_mc(n, n_paths=600_000, rng=seed)
    assert abs(est.z_score(relu_log_drift(n))) < 5


def test_dead_probability_against_networks(seed: int) -> None:
    """Fraction of dead networks at layer 0 and at layer L: 2^-n (binomial standard error, 5 SE)."""
    n, N = 3, 40_000
    res = sample_network(np.ones(2), n, 32, "relu", n_paths=N, observe=dead("relu"), rng=seed)
    frac = res["dead"].samples[:, :, 0].mean(axis=0)
    p = relu_dead_probability(n)
    se = math.sqrt(p * (1 - p) / N)
    assert p == 0.125
    # at finite depth the network can jump into the dead set only if one step moves every active
    # coordinate below 0: probability < Phi(-sqrt(nL)) per step, negligible here
    assert np.all(np.abs(frac - p) < 5 * se)


def test_width1_law_against_the_sde(seed: int) -> None:
    """X_t = x0 exp(B_t - t/2) for x0 > 0 (KS against the Euler scheme with 512 steps; Euler bias of the
    log mean is about 3h/4 = 0.0015, i.e. 0.0015 standard deviations: invisible at 20000 paths)."""
    x0, t = 1.5, 1.0
    res = simulate(
        limit_sde(1, "relu"), EulerMaruyama(), t, 512, [x0], n_paths=20_000, observe=coordinate(0), rng=seed
    )
    assert st.kstest(res["x0"].samples[:, -1], relu_width1_law(x0, t).cdf).pvalue > ALPHA
    frozen = relu_width1_law(-0.7, 3.0)
    assert frozen.mean() == -0.7 and frozen.var() == 0.0
    assert relu_width1_law(2.0, 0.0).mean() == 2.0


def test_width1_regime_mean_is_the_exact_euler_value(seed: int) -> None:
    """For n = 1 the network is Y <- Y (1 + sqrt(h) z): E log ratio = L E log|1 + sqrt(h) z| exactly
    (computed by quadrature, with the log singularity at z = -1/sqrt(h) as a break point)."""
    L = 50
    h = 1.0 / L
    zc = -1 / math.sqrt(h)
    f = lambda z: math.log(abs(1 + math.sqrt(h) * z)) * st.norm.pdf(z)  # noqa: E731
    e1 = integrate.quad(f, -np.inf, zc, limit=200)[0] + integrate.quad(f, zc, np.inf, limit=200)[0]
    reg = relu_regime(1, n_steps=L, n_paths=20_000, n_times=2, rng=seed)
    assert abs(reg.mean[0, -1] - L * e1) < 5 * reg.stderr[0, -1]
    assert abs(reg.plain_mean[0, -1] - L * e1) < 5 * reg.plain_stderr[0, -1]


def test_path_kernel_matches_python_reference() -> None:
    """The numba kernel (log-domain, renormalised) and the plain numpy reference give the same paths."""
    rec = np.array([0, 3, 10], dtype=np.int64)
    for n in (1, 3, 6):
        m = 40
        g1 = np.random.Generator(np.random.SFC64(n))
        g2 = np.random.Generator(np.random.SFC64(n))
        out = [np.empty((m, 3)) for _ in range(3)]
        status = np.empty(m, dtype=np.int64)
        K.relu_path_kernel(g1, n, 10, 0.05, rec, *out, status)
        ref = K.relu_path_reference(g2, n, 10, 0.05, rec, m)
        for a, b in zip(out, ref[:3]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(status, ref[3])


def test_norm_identity_residual_vanishes_like_sqrt_h(seed: int) -> None:
    """The Ito identity for log||phi(X)|| holds with no local time: the residual along Euler paths is the
    discretisation error, whose RMS decreases like h^(1/2) (slope in [-0.65, -0.35] over a 16x range;
    measured in development: RMS halves for every 4x steps)."""
    steps = [25, 100, 400]
    rms = [relu_norm_identity(4, n_steps=s, n_paths=3000, rng=seed).rms_error[-1] for s in steps]
    slope = np.polyfit(np.log(steps), np.log(rms), 1)[0]
    assert -0.65 < slope < -0.35
    chk = relu_norm_identity(4, n_steps=50, n_paths=500, rng=seed)
    assert chk.n_alive + chk.n_dead_at_start + chk.n_died == 500
    assert chk.lhs.shape == chk.martingale.shape == (chk.n_alive, chk.times.size)


def test_regime_sign_widths_3_and_4(seed: int) -> None:
    """Fast version: mean log post-norm ratio over [0, 1] negative for n = 3, positive for n = 4,
    resolved beyond 5 SE (development: -0.0506 and +0.0144 with stderr ~3.5e-4 at 1e5 paths)."""
    reg = relu_regime([3, 4], n_paths=30_000, rng=seed)
    assert reg.sign.tolist() == [-1, 1]
    assert reg.mean[0, -1] + 5 * reg.stderr[0, -1] < 0 < reg.mean[1, -1] - 5 * reg.stderr[1, -1]
    # the control variate does not move the mean: both estimates agree within their errors
    diff = np.abs(reg.mean[:, -1] - reg.plain_mean[:, -1])
    assert np.all(diff < 5 * reg.plain_stderr[:, -1])
    assert "D(n)" in reg.table()


@pytest.mark.slow
def test_regime_sign_widths_1_to_8(seed: int) -> None:
    """Negative for n <= 3 and positive for n >= 4 at every resolved time of [0, 1], and at t = 1 every
    width resolved beyond 5 SE (development, step 0.01: -0.508, -0.170, -0.0507, +0.0140, +0.0559,
    +0.0854, +0.1077, +0.1246 with stderr 2.5e-4 to 4e-4)."""
    reg = relu_regime(list(range(1, 9)), n_paths=100_000, rng=seed)
    assert reg.sign.tolist() == [-1, -1, -1, 1, 1, 1, 1, 1]
    assert np.all(np.abs(reg.final_z) > 5)


@pytest.mark.slow
def test_every_width_eventually_decays(seed: int) -> None:
    """Long depth: the mean curve turns down (peak before t1) and ends negative for n = 4 (t1 = 100) and
    n = 8 (t1 = 400); development numbers: n = 4 peaks near t = 5 and reaches -9.0 at t = 100; n = 8
    peaks near t = 140 at +5.4 and reaches -3.5 at t = 400 (step 0.1)."""
    r4 = relu_regime(4, 100.0, n_steps=2000, n_paths=5000, n_times=21, rng=seed)
    assert r4.peak_time[0] < 20 and r4.mean[0, -1] + 5 * r4.stderr[0, -1] < 0
    r8 = relu_regime(8, 400.0, n_steps=4000, n_paths=3000, n_times=21, rng=seed + 1)
    assert 40 < r8.peak_time[0] < 300 and r8.mean[0, -1] + 5 * r8.stderr[0, -1] < 0
    assert r8.peak_mean[0] - 5 * r8.stderr[0, -1] > 0


def test_relu_bad_input() -> None:
    with pytest.raises(ValueError, match="width"):
        relu_dead_probability(0)
    with pytest.raises(TypeError, match="width"):
        relu_log_drift(2.5)
    with pytest.raises(TypeError, match="exact"):
        relu_log_drift(3, exact=1)
    with pytest.raises(ValueError, match="t must be >= 0"):
        relu_width1_law(1.0, -1.0)
    with pytest.raises(ValueError, match="t1"):
        relu_log_drift_mc(3, t1=0.0)
    with pytest.raises(ValueError, match=r"widths\[1\]"):
        relu_regime([3, 0])
    with pytest.raises(ValueError, match="t1"):
        relu_regime(3, -1.0)
    with pytest.raises(ValueError, match="n_paths"):
        relu_norm_identity(3, n_paths=1)
    # too few live networks is an error, never a NaN result
    from stochdepth.limits.relu import _live_paths

    with pytest.raises(ValueError, match="fewer than 2 live networks of width 1 among n_paths=3"):
        _live_paths(np.array([K.DEAD_AT_START, K.ALIVE, K.DIED]), 1, 3)
    ok = _live_paths(np.array([K.ALIVE, K.DIED, K.ALIVE]), 1, 3)
    np.testing.assert_array_equal(ok, [True, False, True])


def test_initial_drift_from_network_active_counts(seed: int) -> None:
    """The active count mu_0 of the networks sampler at layer 0, through (mu_0 - 2)/(2n) averaged over
    live networks, matches D(n) (5 SE).

    This is not a measurement of the drift of log||phi(X_t)||: it averages a function of mu_0, which is
    Binomial(n, 1/2) given mu_0 >= 1, so it checks the sampler's signs at initialisation against the
    binomial sum that defines D(n) (test_log_drift_by_enumeration_over_active_counts evaluates the same
    sum exactly). The drift itself is measured on simulated paths in test_log_drift_monte_carlo."""
    from stochdepth.networks import active_counts

    n, N = 4, 50_000
    res = sample_network(np.ones(1), n, 1, "relu", n_paths=N, record=[0], observe=active_counts(), rng=seed)
    mu = res["active_counts"].samples[:, 0, 0]
    alive = mu > 0
    vals = (mu[alive] - 2) / (2 * n)
    assert abs(vals.mean() - relu_log_drift(n)) < 5 * vals.std(ddof=1) / math.sqrt(alive.sum())
