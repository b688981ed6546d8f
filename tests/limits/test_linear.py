"""Closed forms of the linear network (docs/science.md §A4), each against Monte Carlo of the network/SDE
samplers
and against an independent numerical computation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import integrate, special
from scipy import stats as st

from stochdepth import NumericalError
from stochdepth.limits import (
    LinearLogFactorLaw,
    LinearNeuronLaw,
    linear_exact_mean_square,
    linear_log_factor_law,
    linear_log_norm_moments,
    linear_neuron_law,
    linear_norm_ratio_law,
    simulate_limit,
)
from stochdepth.montecarlo import Moments
from stochdepth.networks import log_norms, neuron, sample_linear_log_norm, sample_network, squared_norms
from stochdepth.testing import ALPHA

# ---------------------------------------------------------------------------------------------------
# The norm ratio (log-normal)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "t"), [(1, 0.5), (3, 1.0), (16, 2.0)])
def test_norm_ratio_moments_match_integration_of_the_pdf(n: int, t: float) -> None:
    """E ratio^p = exp(p(1/2 - 1/n)t + p^2 t / (2n)) (docs/science.md §A4) against quad of x^p pdf(x)."""
    law = linear_norm_ratio_law(n, t)
    for p in (1.0, 2.0, 3.0):
        num = integrate.quad(lambda x, p=p: x**p * law.pdf(x), 0, np.inf, epsrel=1e-11, limit=200)[0]
        closed = math.exp(p * (0.5 - 1 / n) * t + p * p * t / (2 * n))
        assert num == pytest.approx(closed, rel=1e-8)
    # E ratio^2 = e^t for every width
    assert law.moment(2) == pytest.approx(math.exp(t), rel=1e-12)


def test_norm_ratio_law_against_the_sde_simulation(seed: int) -> None:
    """KS test of ||X_t|| / ||X_0|| from the limit SDE (Euler, 256 steps) against the log-normal.

    The Euler bias of the log-norm mean is O(h) = O(1/256), i.e. about 1e-3 / 0.5 = 0.002 standard
    deviations, far below the KS resolution at 20000 paths (about 0.02 at p = 1e-6)."""
    n, t1 = 4, 1.0

    def ratio(s: np.ndarray) -> np.ndarray:
        return np.log(np.linalg.norm(s[..., 0], axis=-1))

    res = simulate_limit(
        np.ones(2), n, "linear", t1, n_steps=256, n_paths=20_000, observe={"log_norm": ratio}, rng=seed
    )
    s = res["log_norm"].samples
    r = np.exp(s[:, -1] - s[:, 0])
    assert st.kstest(r, linear_norm_ratio_law(n, t1).cdf).pvalue > ALPHA


def test_norm_ratio_law_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="width"):
        linear_norm_ratio_law(0, 1.0)
    with pytest.raises(ValueError, match="t must be > 0"):
        linear_norm_ratio_law(3, 0.0)
    with pytest.raises(ValueError, match="t must be > 0"):
        linear_norm_ratio_law(3, -1.0)
    with pytest.raises(TypeError, match="width"):
        linear_norm_ratio_law(3.0, 1.0)


# ---------------------------------------------------------------------------------------------------
# Moments of the log-norm walk
# ---------------------------------------------------------------------------------------------------


def test_log_norm_moments_limit_and_convergence() -> None:
    """Finite-depth cumulants (Poisson-mixture series) converge to the limit N((1/2-1/n)t, t/n) as O(1/L)."""
    n, t = 4, 1.0
    lim = linear_log_norm_moments(n, t)
    assert (lim.mean, lim.var, lim.skewness, lim.excess_kurtosis) == (0.25, 0.25, 0.0, 0.0)
    errs = []
    for L in (10, 100, 1000):
        fin = linear_log_norm_moments(n, t, depth=L)
        errs.append(abs(fin.mean - lim.mean) + abs(fin.var - lim.var))
    # O(1/L): each tenfold increase in depth divides the error by about 10 (between 5 and 20)
    assert 5 < errs[0] / errs[1] < 20 and 5 < errs[1] / errs[2] < 20
    assert linear_log_norm_moments(n, 0.0, depth=5).var == 0.0


@pytest.mark.parametrize(("n", "L"), [(1, 8), (3, 20), (32, 50)])
def test_log_norm_moments_against_the_exact_walk_sampler(seed: int, n: int, L: int) -> None:
    """Mean and variance of log(||Y_L||/||Y_0||) from the networks' walk sampler at 5 standard errors."""
    mom = linear_log_norm_moments(n, 1.0, depth=L)
    walk = sample_linear_log_norm(n, L, n_paths=100_000, rng=seed)
    r = walk.log_ratio[:, -1]
    se_mean = math.sqrt(mom.var / r.size)
    assert abs(r.mean() - mom.mean) < 5 * se_mean
    # stderr of the sample variance: sqrt((mu4 - var^2) / N), mu4 = var^2 (kurt_excess + 3)
    se_var = mom.var * math.sqrt((mom.excess_kurtosis + 2.0) / r.size)
    assert abs(r.var(ddof=1) - mom.var) < 5 * se_var


def test_log_norm_moments_against_direct_quadrature() -> None:
    """The series for the cumulants of log(xi) against quad of y^k pdf(y) (independent route)."""
    for n, L in [(1, 10), (2, 10), (5, 3), (64, 100)]:
        law = LinearLogFactorLaw(n, L)
        k1, k2, k3, _ = law.cumulants()
        sd = math.sqrt(k2)
        lo, hi = k1 - 40 * sd, k1 + 40 * sd
        pts = [k1 - 5 * sd, k1, k1 + 5 * sd]

        def moment(f: Any, law: Any = law, lo: float = lo, hi: float = hi, pts: list = pts) -> float:
            # n = 1 has an exponential left tail (log xi -> -inf where 1 + g a -> 0): integrate to -inf
            g = lambda y: f(y) * law.pdf(y)  # noqa: E731
            body = integrate.quad(g, lo, hi, points=pts, limit=500, epsabs=0)[0]
            return body + integrate.quad(g, -np.inf, lo, limit=500)[0] + integrate.quad(g, hi, np.inf)[0]

        m1 = moment(lambda y: y)
        c2 = moment(lambda y, k1=k1: (y - k1) ** 2)
        c3 = moment(lambda y, k1=k1: (y - k1) ** 3)
        assert m1 == pytest.approx(k1, rel=1e-7, abs=1e-12 * sd)
        assert c2 == pytest.approx(k2, rel=1e-7)
        assert c3 == pytest.approx(k3, rel=1e-5, abs=1e-9 * sd**3)


# ---------------------------------------------------------------------------------------------------
# The exact factor law
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "L", "t1"), [(1, 10, 1.0), (2, 10, 1.0), (16, 1000, 1.0), (5, 1, 3.0)])
def test_factor_law_noncentral_chi2_against_convolution_over_g(n: int, L: int, t1: float) -> None:
    """The vectorised non-central chi-square form against the 1-D quadrature over g (two routes)."""
    law = LinearLogFactorLaw(n, L, t1)
    m, v = law.stats()
    y = float(m) + math.sqrt(float(v)) * np.array([-5.0, -2.0, -0.5, 0.0, 0.7, 2.0, 5.0])
    np.testing.assert_allclose(law.cdf(y), law.cdf_quadrature(y), rtol=1e-9, atol=1e-13)
    # the n = 2 reference integrates an algebraic endpoint singularity: accurate to ~1e-8
    np.testing.assert_allclose(law.pdf(y), law.pdf_quadrature(y), rtol=1e-7)


def test_factor_law_is_a_density_with_mean_one_plus_h() -> None:
    """pdf integrates to 1 and E xi = E exp(log xi) = 1 + h (docs/science.md §A4)."""
    law = LinearLogFactorLaw(4, 10)
    m, v = law.stats()
    sd = math.sqrt(float(v))
    lo, hi = float(m) - 40 * sd, float(m) + 40 * sd
    assert integrate.quad(law.pdf, lo, hi, limit=300)[0] == pytest.approx(1.0, abs=1e-10)
    e_xi = integrate.quad(lambda y: math.exp(y) * law.pdf(y), lo, hi, limit=300)[0]
    assert e_xi == pytest.approx(1.1, rel=1e-10)
    assert linear_exact_mean_square(4, 10) == pytest.approx(1.1**10, rel=1e-14)


def test_factor_law_is_the_one_layer_network(seed: int) -> None:
    """log(||Y_1||^2/||Y_0||^2) of depth-1 linear networks (networks sampler) is distributed as log xi."""
    n, t1 = 3, 0.5
    res = sample_network(np.ones(2), n, 1, "linear", n_paths=20_000, t1=t1, observe=log_norms(), rng=seed)
    s = res["log_norms"].samples[:, :, 0]
    law = linear_log_factor_law(n, 1, t1)
    assert st.kstest(2.0 * (s[:, 1] - s[:, 0]), law.cdf).pvalue > ALPHA


def test_factor_law_rvs_and_vectorised_cdf(seed: int) -> None:
    law = LinearLogFactorLaw(3, 50)
    r = law.rvs(size=20_000, random_state=np.random.default_rng(seed))
    assert st.kstest(r, law.cdf).pvalue > ALPHA
    edges = np.linspace(-0.5, 0.5, 101)
    c = law.cdf(edges)
    assert c.shape == edges.shape and np.all(np.diff(c) >= 0)
    q = np.array([1e-6, 0.3, 0.5, 0.99])
    np.testing.assert_allclose(law.cdf(law.ppf(q)), q, rtol=1e-8)


def test_exact_mean_square_against_networks(seed: int) -> None:
    """E||Y_L||^2 / E||Y_0||^2 = (1 + t1/L)^L for linear networks (networks sampler, 5 SE)."""
    n, L, t1 = 5, 8, 1.5
    x = np.array([1.0, -2.0, 0.5])
    res = sample_network(
        x, n, L, "linear", n_paths=40_000, t1=t1, observe=squared_norms(), reduce=Moments(), rng=seed
    )
    mom = res["squared_norms"].moments
    # E||Y_0||^2 = n ||x||^2 / d exactly
    expected = n * float(x @ x) / x.size * linear_exact_mean_square(n, L, t1)
    assert abs(mom.mean[-1, 0] - expected) < 5 * mom.stderr[-1, 0]


def test_factor_law_bad_input() -> None:
    with pytest.raises(ValueError, match="depth"):
        LinearLogFactorLaw(3, 0)
    with pytest.raises(ValueError, match="t1"):
        LinearLogFactorLaw(3, 4, -1.0)
    with pytest.raises(ValueError, match="width"):
        linear_exact_mean_square(0, 4)
    # (1 + 1)^L = 2^L: finite for L = 1000, beyond float64 (max ~ 2^1024) for L = 1100: an error, not inf
    assert linear_exact_mean_square(3, 1000, 1000.0) == pytest.approx(2.0**1000, rel=1e-12)
    with pytest.raises(NumericalError, match="overflows"):
        linear_exact_mean_square(3, 1100, 1100.0)


# ---------------------------------------------------------------------------------------------------
# One neuron
# ---------------------------------------------------------------------------------------------------


def _dense_reference(n: int, t: float, sigma0: float, x: float) -> tuple[float, float]:
    """pdf(x) and P(X < -|x|) by the trapezoidal rule on 400001 points of G (independent of the law)."""
    mu, s = (0.5 - 1 / n) * t, math.sqrt(t / n)
    g = np.linspace(mu - 40 * s, mu + 40 * s, 400_001)
    lw = st.norm.logpdf(g, mu, s) + math.log(g[1] - g[0])
    with np.errstate(over="ignore"):
        z = abs(x) * np.exp(-g) / sigma0
        lp = lw + st.norm.logpdf(z) - g - math.log(sigma0)
    return float(np.exp(special.logsumexp(lp))), float(np.exp(special.logsumexp(lw + special.log_ndtr(-z))))


@pytest.mark.parametrize(("n", "t", "sigma0"), [(1, 0.5, 1.0), (2, 20.0, 1.5), (8, 1.0, 0.3), (1, 50.0, 1.0)])
def test_neuron_law_pdf_and_cdf_against_dense_quadrature(n: int, t: float, sigma0: float) -> None:
    """Relative accuracy of pdf and tail probabilities from the bulk to the far tails (incl. t/n = 50)."""
    law = LinearNeuronLaw(n, t, sigma0)
    for x in sigma0 * np.array([1e-6, 0.3, 1.0, 10.0, 1e3]):
        p_ref, tail_ref = _dense_reference(n, t, sigma0, float(x))
        assert law.pdf(x) == pytest.approx(p_ref, rel=1e-8)
        assert law.cdf(-x) == pytest.approx(tail_ref, rel=1e-8)
        assert law.sf(x) == pytest.approx(tail_ref, rel=1e-8)


@pytest.mark.parametrize(("n", "t"), [(1, 1.0), (3, 0.7), (16, 2.0)])
def test_neuron_law_integrates_to_one_with_closed_form_moments(n: int, t: float) -> None:
    """Mass 1, variance sigma0^2 e^t and kurtosis 3 e^{4t/n} by integrating the quadrature pdf."""
    sigma0 = 0.8
    law = LinearNeuronLaw(n, t, sigma0)
    quad = lambda f: 2 * integrate.quad(f, 0, np.inf, limit=400, epsrel=1e-10)[0]  # noqa: E731 (even integrands)
    mass = quad(law.pdf)
    m2 = quad(lambda x: x**2 * law.pdf(x))
    m4 = quad(lambda x: x**4 * law.pdf(x))
    assert mass == pytest.approx(1.0, abs=1e-8)
    assert m2 == pytest.approx(sigma0**2 * math.exp(t), rel=1e-7)
    assert m4 / m2**2 == pytest.approx(3 * math.exp(4 * t / n), rel=1e-6)
    assert law.var() == pytest.approx(sigma0**2 * math.exp(t), rel=1e-14)
    assert law.stats(moments="k") == pytest.approx(3 * math.exp(4 * t / n) - 3, rel=1e-12)
    # cdf is the integral of the pdf
    assert law.cdf(0.9) - law.cdf(-0.4) == pytest.approx(integrate.quad(law.pdf, -0.4, 0.9)[0], rel=1e-9)
    assert law.moment(6) == pytest.approx(15 * sigma0**6 * math.exp(6 * (0.5 - 1 / n) * t + 18 * t / n))


def test_neuron_law_against_the_sde_simulation(seed: int) -> None:
    """KS test of one neuron of the simulated limit (random input layer) against sigma0 Z e^G."""
    n, t1 = 4, 1.0
    x = np.array([1.0, 2.0])  # sigma0^2 = ||x||^2 / d = 2.5
    res = simulate_limit(x, n, "linear", t1, n_steps=256, n_paths=20_000, observe=neuron(0), rng=seed)
    sample = res["neuron_0"].samples[:, -1]
    law = linear_neuron_law(n, t1, sigma0=math.sqrt(2.5))
    assert st.kstest(np.ravel(sample), law.cdf).pvalue > ALPHA


def test_neuron_law_t0_is_gaussian_and_freezes() -> None:
    law = LinearNeuronLaw(3, 0.0, 2.0)
    assert law.pdf(1.0) == pytest.approx(st.norm.pdf(1.0, scale=2.0))
    assert law.cdf(-1.0) == pytest.approx(st.norm.cdf(-1.0, scale=2.0))
    frozen = LinearNeuronLaw(3, 1.0)(loc=1.0, scale=2.0)
    assert frozen.mean() == pytest.approx(1.0)
    assert frozen.var() == pytest.approx(4 * math.e)


def test_neuron_law_bad_input() -> None:
    with pytest.raises(ValueError, match="width"):
        LinearNeuronLaw(0, 1.0)
    with pytest.raises(ValueError, match="t must be >= 0"):
        LinearNeuronLaw(2, -0.1)
    with pytest.raises(ValueError, match="sigma0"):
        LinearNeuronLaw(2, 1.0, 0.0)
    with pytest.raises(ValueError, match="finite"):
        LinearNeuronLaw(2, math.nan)


def test_wide_network_cdf_by_quadrature_over_the_chi_square() -> None:
    """Width above 1e4 and non-centrality above 1e9: the cdf of log xi conditions on the chi-square part
    (Gauss-Hermite). It agrees with scipy's non-central chi-square where that still works (2e9) to 1e-10,
    with the adaptive quadrature over g (a third route) to 1e-12, and stays a finite, non-decreasing cdf
    from 0 to 1 at non-centrality 4e10, where scipy returns NaN."""
    law = linear_log_factor_law(500_000, 4096, 1.0)
    assert law.wide
    sd, mu = math.sqrt(4 / (500_000 * 4096)), 2 * (0.5 - 1 / 500_000) / 4096
    y = np.linspace(mu - 13 * sd, mu + 13 * sd, 401)
    np.testing.assert_allclose(law.cdf(y), law._ncx2.cdf(law._v(y)), rtol=0, atol=1e-10)
    # both tails summed directly: relative accuracy down to 1e-15 (1 - cdf would be rounding noise there)
    tail = sd * np.array([5.0, 6.0, 7.0, 8.0])
    np.testing.assert_allclose(law.sf(mu + tail), law._ncx2.sf(law._v(mu + tail)), rtol=1e-6)
    np.testing.assert_allclose(law.cdf(mu - tail), law._ncx2.cdf(law._v(mu - tail)), rtol=1e-6)
    pts = mu + sd * np.array([-3.0, -0.5, 0.0, 1.0, 4.0])
    np.testing.assert_allclose(law.cdf(pts), law.cdf_quadrature(pts), rtol=0, atol=1e-12)
    far = linear_log_factor_law(10**7, 4096, 1.0)
    sd, mu = math.sqrt(4 / (10**7 * 4096)), 2 * (0.5 - 1 / 10**7) / 4096
    F = far.cdf(np.linspace(mu - 13 * sd, mu + 13 * sd, 401))
    assert np.all(np.isfinite(F)) and np.all(np.diff(F) >= 0) and F[0] < 1e-30 and F[-1] == 1.0
    assert not linear_log_factor_law(1000, 10**6, 1.0).wide  # narrow: scipy's routine, still finite
