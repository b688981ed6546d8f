"""simulate(): kernels against the pure-python reference, laws with closed forms, arguments, streams.

Statistical checks compare Monte Carlo estimates with exact values through z-scores at |z| < 5
(false-alarm probability below 6e-7 per comparison, for any seed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sde_models as models

from stochdepth import NumericalError
from stochdepth.montecarlo import Histogram, Moments, Observable, Quantiles, Samples
from stochdepth.random import chunk_generators
from stochdepth.sde import (
    SDE,
    EulerMaruyama,
    Milstein,
    coordinate,
    log_norm,
    simulate,
    squared_norm,
    state,
)
from stochdepth.testing import Z_MAX
from stochdepth.testing.references import reference_paths

# ----------------------------------------------------------------------------------------------------
# The numba kernels against the slow reference (same random numbers)
# ----------------------------------------------------------------------------------------------------

CASES = [
    ("ou", models.ou, EulerMaruyama, [0.3]),
    ("gbm_diagonal", models.gbm_diagonal, Milstein, [1.0, 2.0]),
    ("gbm_scalar", lambda: models.gbm_augmented(models.MU_STRONG, models.SIGMA_STRONG), Milstein, [1.0, 0.0]),
    ("general", models.general_ou, EulerMaruyama, [0.5, -1.0]),
    ("isotropic", lambda: models.linear_limit(4), EulerMaruyama, [1.0, -0.5, 0.2, 2.0]),
    ("isotropic_1d", models.isotropic_1d, Milstein, [0.4]),
]


@pytest.mark.parametrize(("label", "make", "solver_cls", "x0"), CASES, ids=[c[0] for c in CASES])
def test_kernel_matches_reference(label, make, solver_cls, x0, seed):
    sde = make()
    n_paths, n_steps, t0, t1 = 5, 12, 0.25, 1.5
    rec = [0, 3, 12]
    res = simulate(sde, solver_cls(), t1, n_steps, x0, n_paths=n_paths, t0=t0, record=rec, rng=seed)
    ((_, _, gen),) = chunk_generators(seed, n_paths)
    ref = reference_paths(
        sde,
        solver_cls is Milstein,
        np.tile(np.asarray(x0, float), (n_paths, 1)),
        t0,
        (t1 - t0) / n_steps,
        n_steps,
        np.asarray(rec),
        gen,
    )
    np.testing.assert_allclose(res["state"].samples, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.times, [0.25, 0.25 + 3 * 1.25 / 12, 1.5])


# ----------------------------------------------------------------------------------------------------
# Laws with closed forms
# ----------------------------------------------------------------------------------------------------


def test_ornstein_uhlenbeck_mean_and_variance(seed):
    """dX = theta (m - X) dt + s dW, theta=2, m=0.5, s=0.7, X_0 = 0.3, T = 1, N = 100.

    Euler--Maruyama is linear-Gaussian here: X_{k+1} = (1 - theta h) X_k + theta m h + s sqrt(h) Z, so
    mean_{k+1} = (1 - theta h) mean_k + theta m h and var_{k+1} = (1 - theta h)^2 var_k + s^2 h exactly
    (derived). Both are compared by z-scores with 4e4 paths (power: a 2% error in the variance is
    about a 5-sigma effect), and the exact recursion is checked to approach the continuous law
    mean = m + (x0 - m) e^{-theta t}, var = s^2 (1 - e^{-2 theta t}) / (2 theta) at rate O(h).
    """
    theta, m, s, x0, n_steps, n = 2.0, 0.5, 0.7, 0.3, 100, 40_000
    res = simulate(
        models.ou(),
        EulerMaruyama(),
        1.0,
        n_steps,
        [x0],
        n_paths=n,
        rng=seed,
        reduce=Moments(),
        record=[0, 50, 100],
    )
    mom = res["state"].moments
    h = 1.0 / n_steps
    mean, var = [x0], [0.0]
    for _ in range(n_steps):
        mean.append((1 - theta * h) * mean[-1] + theta * m * h)
        var.append((1 - theta * h) ** 2 * var[-1] + s * s * h)
    for j, k in enumerate([50, 100]):
        i = j + 1
        assert abs(mom.mean[i, 0] - mean[k]) < Z_MAX * mom.stderr[i, 0]
        # Gaussian: Var(sample variance) = 2 var^2 / (n - 1)
        assert abs(mom.var[i, 0] - var[k]) < Z_MAX * var[k] * math.sqrt(2.0 / (n - 1))
        assert abs(mom.skewness[i, 0]) < Z_MAX * math.sqrt(6.0 / n)
        assert abs(mom.kurtosis[i, 0] - 3.0) < Z_MAX * math.sqrt(24.0 / n)
    t = 1.0
    cont_mean = m + (x0 - m) * math.exp(-theta * t)
    cont_var = s * s * (1 - math.exp(-2 * theta * t)) / (2 * theta)
    assert abs(mean[-1] - cont_mean) < 5 * h and abs(var[-1] - cont_var) < 5 * h
    # at t = 0 every path is x0 (up to the rounding of chunk means)
    assert mom.var[0, 0] < 1e-20 and mom.mean[0, 0] == pytest.approx(x0, rel=1e-14)


def test_general_noise_covariance(seed):
    """dX = -A X dt + C dW, C of shape 2x3, X_0 = 0.

    Euler: X_{k+1} = M X_k + sqrt(h) C Z with M = I - h A, so Cov_{k+1} = M Cov_k M^T + h C C^T exactly
    (derived). The continuous covariance solves A S + S A^T = C C^T at stationarity and
    Cov_t = S - e^{-At} S e^{-A^T t}. Sample covariances are tested entrywise by z-scores (Gaussian:
    Var(sample cov_ij) = (P_ii P_jj + P_ij^2) / n), and the exact recursion against the continuous
    covariance at O(h).
    """
    from scipy.linalg import expm, solve_continuous_lyapunov

    A, C = models.GENERAL_A, models.GENERAL_C
    n_steps, n = 200, 30_000
    res = simulate(
        models.general_ou(), EulerMaruyama(), 1.0, n_steps, [0.0, 0.0], n_paths=n, rng=seed, record=[n_steps]
    )
    x = res["state"].samples[:, 0, :]
    h = 1.0 / n_steps
    M = np.eye(2) - h * A
    P = np.zeros((2, 2))
    for _ in range(n_steps):
        P = M @ P @ M.T + h * C @ C.T
    S = solve_continuous_lyapunov(A, C @ C.T)
    E = expm(-A)
    P_cont = S - E @ S @ E.T
    assert np.max(np.abs(P - P_cont)) < 5 * h
    emp = np.cov(x.T)
    se = np.sqrt((np.outer(np.diag(P), np.diag(P)) + P**2) / n)
    assert np.all(np.abs(emp - P) < Z_MAX * se), (emp, P, se)
    assert np.all(np.abs(x.mean(axis=0)) < Z_MAX * np.sqrt(np.diag(P) / n))


def test_isotropic_noise_linear_limit(seed):
    """dX = ||X|| / sqrt(n) dB, n = 4 (docs/science.md §A3-A4), X_0 = (1, 1, 1, 1).

    Euler: E ||X_{k+1}||^2 = E ||X_k||^2 (1 + h) exactly (E||s dB||^2 = s^2 n h = ||X||^2 h), so
    E ||X_N||^2 = ||X_0||^2 (1 + h)^N; each coordinate is a martingale (E X^i = 1) and, the noise being
    isotropic, E X^i X^j = 1 for i != j (derived). z-scores on 3e4 paths.
    The log-norm variance approaches t/n (A4; a 0.5% bias at N = 100) -- checked at 5 stderr + that bias.
    """
    n, n_steps, paths = 4, 100, 30_000
    sde = models.linear_limit(n)
    res = simulate(
        sde,
        EulerMaruyama(),
        1.0,
        n_steps,
        np.ones(n),
        n_paths=paths,
        rng=seed,
        observe=[state(), squared_norm(), log_norm(), Observable("x0x1", lambda s: s[..., 0] * s[..., 1])],
        reduce=Moments(),
        record=[n_steps],
    )
    h = 1.0 / n_steps
    sq = res["squared_norm"].moments
    assert abs(sq.mean[0] - n * (1 + h) ** n_steps) < Z_MAX * sq.stderr[0]
    st = res["state"].moments
    assert np.all(np.abs(st.mean[0] - 1.0) < Z_MAX * st.stderr[0])
    cross = res["x0x1"].moments
    assert abs(cross.mean[0] - 1.0) < Z_MAX * cross.stderr[0]
    # coordinates are exchangeable: equal variances
    v = st.var[0]
    assert np.ptp(v) < 2 * Z_MAX * np.max(v) * math.sqrt(2.0 * (st.kurtosis[0].max() - 1) / paths)
    ln = res["log_norm"].moments
    assert abs(ln.var[0] - 1.0 / n) < Z_MAX * ln.var[0] * math.sqrt(2.0 / paths) + 0.05 / n


# ----------------------------------------------------------------------------------------------------
# Initial conditions, record / observe / reduce
# ----------------------------------------------------------------------------------------------------


def test_x0_forms(seed):
    sde = models.ou()
    n = 7
    # per-path x0: with a common seed each path sees the same noise as in the shared-x0 run, and the OU
    # update is affine in x0: X_N = (1 - theta h)^N x0 + (noise part), so differences are exact.
    x0s = np.linspace(-1, 1, n)[:, None]
    a = simulate(sde, EulerMaruyama(), 1.0, 10, x0s, n_paths=n, rng=seed, record=[10])
    b = simulate(sde, EulerMaruyama(), 1.0, 10, [0.0], n_paths=n, rng=seed, record=[10])
    diff = a["state"].samples[:, 0, 0] - b["state"].samples[:, 0, 0]
    np.testing.assert_allclose(diff, (1 - 2.0 / 10) ** 10 * x0s[:, 0], rtol=1e-9, atol=1e-12)

    # callable x0 draws from each chunk's generator, before the chunk's Brownian increments
    def x0_fn(gen, m):
        return gen.normal(2.0, 0.5, size=(m, 1))

    c = simulate(sde, EulerMaruyama(), 1.0, 3, x0_fn, n_paths=9, rng=seed, chunk_size=4, record=[0])
    expected = np.concatenate([x0_fn(g, bb - aa) for aa, bb, g in chunk_generators(seed, 9, 4)])
    np.testing.assert_array_equal(c["state"].samples[:, 0], expected)


@pytest.mark.parametrize(
    ("x0", "exc", "match"),
    [
        ([0.0, 1.0], ValueError, r"x0 must have shape \(1,\)"),
        (np.zeros((3, 1)), ValueError, r"x0 must have shape"),
        (np.zeros((5, 2)), ValueError, r"x0 must have shape"),
        ([np.nan], ValueError, "x0 must be finite"),
        ([np.inf], ValueError, "x0 must be finite"),
        ("a", TypeError, "x0 must be a real numeric array"),
        (lambda g, m: np.zeros((m, 2)), ValueError, r"x0\(generator, m\) must have shape"),
        (lambda g, m: np.full((m, 1), np.nan), ValueError, "must be finite"),
    ],
)
def test_bad_x0(x0, exc, match):
    with pytest.raises(exc, match=match):
        simulate(models.ou(), EulerMaruyama(), 1.0, 2, x0, n_paths=5, rng=0)


def test_record_observe_reduce(seed):
    sde = models.gbm_diagonal()
    n = 3000
    res = simulate(
        sde,
        EulerMaruyama(),
        2.0,
        20,
        [1.0, 2.0],
        n_paths=n,
        rng=seed,
        chunk_size=700,
        record=[20, 5, 0, 5],
        observe={"x1": lambda s: s[..., 1], "both": lambda s: s},
        reduce=[Samples(), Moments(), Quantiles(probs=(0.1, 0.5, 0.9)), Histogram(bins=30)],
    )
    np.testing.assert_array_equal(res.steps, [0, 5, 20])
    np.testing.assert_allclose(res.times, [0.0, 0.5, 2.0])
    assert res.n_paths == n and res.n_steps == 20 and res.dt == 0.1 and res.solver == "EulerMaruyama"
    assert set(res.observed) == {"x1", "both"} and "x1" in repr(res)
    obs = res["both"]
    assert obs.samples.shape == (n, 3, 2)
    np.testing.assert_array_equal(res["x1"].samples, obs.samples[..., 1])
    np.testing.assert_allclose(obs.moments.mean, obs.samples.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(obs.moments.var, obs.samples.var(axis=0, ddof=1), rtol=1e-10, atol=1e-300)
    assert (
        obs.histogram.counts.sum(axis=-1).tolist()
        == (n - obs.histogram.underflow - obs.histogram.overflow).tolist()
    )
    q = obs.quantiles
    emp = np.quantile(obs.samples[:, 1:], q.probs, axis=0, method="inverted_cdf")
    assert np.all(np.abs(q.values[:, 1:] - emp) <= q.max_error * (1 + 1e-9))
    with pytest.raises(KeyError, match="no observable 'nope'"):
        res["nope"]
    single = simulate(sde, EulerMaruyama(), 1.0, 4, [1.0, 2.0], n_paths=10, rng=seed, observe=coordinate(1))
    assert list(single.observed) == ["x1"] and single["x1"].samples.shape == (10, 2)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"record": [0, 11]}, ValueError, r"record must hold step indices in \[0, n_steps\] = \[0, 10\]"),
        ({"record": [-1]}, ValueError, "record must hold step indices"),
        ({"record": [0.5]}, TypeError, "record must hold integer"),
        ({"record": []}, ValueError, "record must be an int or a non-empty 1-d sequence"),
        ({"record": [[0, 1]]}, ValueError, "record must be an int or a non-empty 1-d sequence"),
        ({"record": [True]}, TypeError, "record must hold integer step indices"),
        ({"observe": "state"}, TypeError, "observe must be"),
        ({"observe": {"bad": lambda s: s[:, 0, 0]}}, ValueError, "must keep the leading"),
        ({"reduce": "moments"}, TypeError, "reduce must be"),
        ({"n_paths": 0}, ValueError, "n_paths must be an int >= 1"),
        ({"n_paths": 2.5}, TypeError, "n_paths must be an int"),
        ({"t0": 1.0}, ValueError, "t1 must be > t0"),
        ({"t0": np.nan}, ValueError, "t0 must be finite"),
        ({"chunk_size": 0}, ValueError, "chunk_size must be an int >= 1"),
        ({"n_threads": 0}, ValueError, "n_threads must be an int >= 1"),
        ({"rng": -1}, ValueError, "rng must be a non-negative"),
        ({"progress": "yes"}, TypeError, "progress must be a bool"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    args = {"n_paths": 4, "rng": 0, **kwargs}
    with pytest.raises(exc, match=match):
        simulate(models.ou(), EulerMaruyama(), 1.0, 10, [0.0], **args)


def test_bad_positional_arguments():
    ou = models.ou()
    with pytest.raises(ValueError, match="n_steps must be an int >= 1"):
        simulate(ou, EulerMaruyama(), 1.0, 0, [0.0], n_paths=2)
    with pytest.raises(ValueError, match="t1 must be > t0"):
        simulate(ou, EulerMaruyama(), 0.0, 5, [0.0], n_paths=2)
    with pytest.raises(ValueError, match="t1 must be finite"):
        simulate(ou, EulerMaruyama(), np.inf, 5, [0.0], n_paths=2)
    with pytest.raises(TypeError, match="sde must be an SDE"):
        simulate("ou", EulerMaruyama(), 1.0, 5, [0.0], n_paths=2)
    with pytest.raises(TypeError, match="solver must be a solver object"):
        simulate(ou, EulerMaruyama, 1.0, 5, [0.0], n_paths=2)
    no_derivative = SDE(None, models._sin_sigma, 1)  # diagonal, commutativity not declared
    with pytest.raises(ValueError, match="Milstein needs"):
        simulate(no_derivative, Milstein(), 1.0, 5, [0.0], n_paths=2)
    with pytest.raises(ValueError, match="isotropic"):
        simulate(models.linear_limit(4), Milstein(), 1.0, 5, np.ones(4), n_paths=2)


def test_exploding_sde_raises(seed):
    with pytest.raises(NumericalError, match="became NaN or infinite"):
        simulate(models.exploding(), EulerMaruyama(), 3.0, 300, [1.0], n_paths=50, rng=seed, record=[0])


def test_non_finite_observable_raises(seed):
    with pytest.raises(NumericalError, match="log_norm"):
        simulate(models.ou(), EulerMaruyama(), 1.0, 5, [0.0], n_paths=3, rng=seed, observe=log_norm())


# ----------------------------------------------------------------------------------------------------
# Streams
# ----------------------------------------------------------------------------------------------------


def test_reproducible_across_threads_and_seeds(seed):
    sde = models.gbm_diagonal()
    kw = {
        "n_paths": 1000,
        "rng": seed,
        "chunk_size": 97,
        "record": [0, 7, 15],
        "reduce": [Samples(), Moments(), Quantiles()],
    }
    runs = [simulate(sde, EulerMaruyama(), 1.0, 15, [1.0, 1.0], n_threads=t, **kw) for t in (1, 2, 3, 1)]
    for r in runs[1:]:
        a, b = runs[0]["state"], r["state"]
        np.testing.assert_array_equal(a.samples, b.samples)
        for x, y in zip(
            (a.moments.mean, a.moments.var, a.moments.kurtosis, a.quantiles.values),
            (b.moments.mean, b.moments.var, b.moments.kurtosis, b.quantiles.values),
        ):
            np.testing.assert_array_equal(x, y)
    other = simulate(sde, EulerMaruyama(), 1.0, 15, [1.0, 1.0], n_threads=2, **{**kw, "rng": seed + 1})
    assert not np.any(other["state"].samples[:, 1:] == runs[0]["state"].samples[:, 1:])
    # a Generator as rng is advanced: two calls differ, and reproduce from the same generator seed
    g1, g2 = np.random.default_rng(seed), np.random.default_rng(seed)
    kw2 = {k: v for k, v in kw.items() if k != "rng"}
    r1 = simulate(sde, EulerMaruyama(), 1.0, 15, [1.0, 1.0], rng=g1, **kw2)
    r2 = simulate(sde, EulerMaruyama(), 1.0, 15, [1.0, 1.0], rng=g1, **kw2)
    r3 = simulate(sde, EulerMaruyama(), 1.0, 15, [1.0, 1.0], rng=g2, **kw2)
    np.testing.assert_array_equal(r1["state"].samples, r3["state"].samples)
    assert not np.array_equal(r1["state"].samples, r2["state"].samples)


def test_progress_bar(seed, capsys):
    res = simulate(
        models.ou(),
        EulerMaruyama(),
        1.0,
        5,
        [0.0],
        n_paths=50,
        rng=seed,
        chunk_size=10,
        progress=True,
        n_threads=2,
    )
    assert res["state"].samples.shape == (50, 2, 1)
    assert "5/5" in capsys.readouterr().err  # 50 paths in 5 chunks of 10: the bar counts chunks
