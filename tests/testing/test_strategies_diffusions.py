r"""Closed forms of diffusions: docs/science.md §A4 moments of the linear network, and the drawn SDEs with
known
laws (GBM, Ornstein--Uhlenbeck, Brownian motion, the linear limit diffusion).

* A4: :math:`\mathbb E(\|X_t\|/\|X_0\|)^p=\exp(p(\frac12-\frac1n)t+\frac{p^2t}{2n})` is the limit of the exact
  finite-depth expectation of the log-norm walk, at rate :math:`1/L`; the finite-depth formula itself is
  checked against Monte Carlo of the library's walk sampler at 5 standard errors, and the closed form
  against the library's log-normal law by quadrature.
* Drawn SDEs: the law of the statistic agrees with the moment equations (two derivations), the exact
  Euler moments converge to the SDE's at first order, and a Monte Carlo run of the library's
  Euler--Maruyama matches the exact Euler moments at 5 standard errors (no discretisation bias to
  allow for: the reference is the scheme's own law).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst
from scipy import special
from scipy import stats as st

from stochdepth.limits import linear_exact_mean_square, linear_norm_ratio_law
from stochdepth.montecarlo import Moments
from stochdepth.networks import sample_linear_log_norm
from stochdepth.sde import EulerMaruyama, coordinate, simulate, squared_norm
from stochdepth.testing.strategies import KnownLawDiffusion, depths, diffusions_with_known_laws, widths

SEEDS = hst.integers(0, 2**32 - 1)


def with_seed(**kwargs: object) -> settings:
    """Settings for properties that also take the ``seed`` fixture (constant across the examples)."""
    return settings(
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture], **kwargs
    )


# ----------------------------------------------------------------------------------------------------
# A4
# ----------------------------------------------------------------------------------------------------


def log_moment_finite_depth(n: int, L: int, t: float, p: float) -> float:
    r"""Exact :math:`\log\mathbb E(\|Y_L\|/\|Y_0\|)^p` at depth :math:`L`, horizon :math:`t` (linear network).

    Derivation (independent of the library's sampler): :math:`\|Y_L\|/\|Y_0\|=\prod_l\xi_l^{1/2}` with
    i.i.d. :math:`\xi=\frac hnV`, :math:`V\sim\chi'^2_n(\lambda=n/h)`, :math:`h=t/L`
    (:mod:`stochdepth.networks.lognorm`). :math:`V` is the Poisson(:math:`\lambda/2`) mixture of
    :math:`\chi^2_{n+2K}`, and :math:`\mathbb E(\chi^2_m)^s=2^s\Gamma(\frac m2+s)/\Gamma(\frac m2)` for
    :math:`s>-\frac m2`, so with :math:`s=p/2>-n/2`

    .. math::
        \log\mathbb E\,\xi^s=s\log\tfrac hn+\log\sum_Kw_K\,2^s\,(\tfrac n2+K)_s ,

    (Pochhammer symbol; scipy's ``poch`` keeps full precision at :math:`K\sim10^5`, where differences of
    ``gammaln`` lose 9 digits), and the log-moment is :math:`L\log\mathbb E\xi^{p/2}`. The Poisson window
    is :math:`\lambda/2\pm(12\sqrt{\lambda/2}+60)` (outside mass below 1e-30, Chernoff).
    """
    h = t / L
    half = 0.5 * n / h
    spread = 12.0 * math.sqrt(half) + 60.0
    k = np.arange(max(math.floor(half - spread), 0), math.ceil(half + spread) + 1, dtype=float)
    logw = st.poisson.logpmf(k, half)
    logw -= special.logsumexp(logw)
    s = 0.5 * p
    terms = logw + s * math.log(2.0) + np.log(special.poch(0.5 * n + k, s))
    return L * (s * math.log(h / n) + float(special.logsumexp(terms)))


def rounding(n: int, L: int, t: float) -> float:
    """Absolute rounding allowance of log_moment_finite_depth: L times the cancellation of s log(h/n)
    against the log-sum, both of size ~log(n L / t), at a few ulps each."""
    return 1e-14 * L * (1.0 + abs(math.log(n * L / t)))


def log_moment_limit(n: int, t: float, p: float) -> float:
    """docs/science.md §A4: log E (||X_t|| / ||X_0||)^p = p (1/2 - 1/n) t + p^2 t / (2 n)."""
    return p * (0.5 - 1.0 / n) * t + p * p * t / (2.0 * n)


@hst.composite
def a4_cases(draw, max_width: int = 16, max_p: float = 4.0):
    """(n, t, p) with p > -(n - 1/2): below -n the finite-depth moment is infinite (xi has mass near 0
    like v^{n/2 - 1}), while the limit's log-normal has all moments."""
    n = draw(widths(1, max_width))
    t = draw(hst.floats(0.1, 2.0))
    p = draw(hst.floats(max(-max_p, -(n - 0.5)), max_p))
    return n, t, p


def check_a4_convergence(n: int, t: float, p: float) -> None:
    errors = np.array(
        [log_moment_finite_depth(n, L, t, p) - log_moment_limit(n, t, p) for L in (16, 64, 256, 1024, 4096)]
    )
    a = np.abs(errors)
    # rounding of L log E xi^s at L = 4096: measured <= 2.1e-9 on a grid of (n, t, p), where the
    # error itself vanishes (n = 1, p = 1; n = 3, p = -1); 5x that
    slack = 1e-8
    assert np.all(a[1:] <= a[:-1] + slack), errors
    # O(1/L): the error falls by ~256 from L = 16 to 4096; at least 100 on the whole parameter box
    # (worst measured ratio 0.0056 at n = 1, t = 2, p = 4, still pre-asymptotic)
    assert a[-1] <= a[0] / 100 + slack, errors


@given(a4_cases())
def test_a4_finite_depth_moments_converge_to_the_closed_form(case) -> None:
    check_a4_convergence(*case)


@pytest.mark.slow
@settings(max_examples=400)
@given(a4_cases(max_width=64))
def test_a4_finite_depth_moments_converge_to_the_closed_form_large(case) -> None:
    check_a4_convergence(*case)


@given(widths(1, 32), depths(1, 200), hst.floats(0.1, 3.0))
def test_a4_second_moment_is_exact_at_every_depth(n: int, L: int, t: float) -> None:
    """p = 2: the finite-depth formula gives (1 + t/L)^L (library: linear_exact_mean_square), and the
    limit e^t for every width."""
    exact = log_moment_finite_depth(n, L, t, 2.0)
    assert exact == pytest.approx(math.log(linear_exact_mean_square(n, L, t)), rel=0.0, abs=rounding(n, L, t))
    assert log_moment_limit(n, t, 2.0) == pytest.approx(t, rel=1e-15)


@settings(max_examples=10)
@given(a4_cases(max_width=8, max_p=3.0))
def test_a4_closed_form_matches_the_library_law(case) -> None:
    """The closed form against E R^p of linear_norm_ratio_law by quadrature (an independent route)."""
    n, t, p = case
    law = linear_norm_ratio_law(n, t)
    q = law.expect(lambda x: x**p, epsabs=0.0, epsrel=1e-10)
    assert math.log(q) == pytest.approx(log_moment_limit(n, t, p), rel=1e-7, abs=1e-9)


@hst.composite
def mc_cases(draw):
    """(n, L, t, p) with p^2 t / n <= 1: the p-th power of the ratio then has log-variance <= 1, so the
    sample mean is near-Gaussian with 20000 paths (skewness of the mean < 0.05)."""
    n = draw(widths(1, 16))
    L = draw(depths(1, 64))
    t = draw(hst.floats(0.1, 2.0))
    p_max = min(4.0, math.sqrt(n / t))
    p = draw(hst.floats(max(-p_max, -(n - 0.5)), p_max))
    return n, L, t, p


def check_a4_monte_carlo(n: int, L: int, t: float, p: float, rng: object) -> None:
    walk = sample_linear_log_norm(n, L, n_paths=20_000, t1=t, rng=rng)
    x = np.exp(p * walk.log_ratio[:, -1])
    mean, se = float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))
    exact = math.exp(log_moment_finite_depth(n, L, t, p))
    assert abs(mean - exact) <= 5 * se + 2 * rounding(n, L, t) * exact, (mean, exact, se)


@with_seed(max_examples=15)
@given(case=mc_cases(), k=SEEDS)
def test_a4_finite_depth_formula_matches_the_walk_sampler(case, k: int, seed: int) -> None:
    """Exact E(||Y_L|| / ||Y_0||)^p at finite depth against Monte Carlo of sample_linear_log_norm
    (5 standard errors; each example fails with probability ~6e-7)."""
    check_a4_monte_carlo(*case, rng=[seed, k])


@pytest.mark.slow
@with_seed(max_examples=150)
@given(case=mc_cases(), k=SEEDS)
def test_a4_finite_depth_formula_matches_the_walk_sampler_large(case, k: int, seed: int) -> None:
    check_a4_monte_carlo(*case, rng=[seed, k])


# ----------------------------------------------------------------------------------------------------
# Drawn diffusions
# ----------------------------------------------------------------------------------------------------


def _statistic_moments(proc: KnownLawDiffusion, m: np.ndarray, M: np.ndarray) -> tuple[float, float | None]:
    """(E statistic, E statistic^2 or None) from the state's first two moments."""
    if proc.statistic_kind == "x0":
        return float(m[0]), float(M[0, 0])
    return float(np.trace(M)), None


def check_law_consistency(proc: KnownLawDiffusion) -> None:
    T = proc.horizon
    law = proc.law(T)
    m, M = proc.mean(T), proc.second_moment(T)
    first, second = _statistic_moments(proc, m, M)
    scale = 1.0 + abs(first)
    assert float(law.mean()) == pytest.approx(first, rel=1e-8, abs=1e-10 * scale)
    if second is not None:
        mean, var = (float(v) for v in law.stats("mv"))
        assert var + mean * mean == pytest.approx(second, rel=1e-8, abs=1e-10 * (1 + abs(second)))
    assert np.all(np.linalg.eigvalsh(M - np.outer(m, m)) >= -1e-9 * (1 + np.abs(M).max()))
    if proc.kind == "linear_limit":
        # ||X_T||^2 / ||x0||^2 is the square of the library's norm-ratio law (docs/science.md §A4)
        r0 = float(proc.x0 @ proc.x0)
        ratio = linear_norm_ratio_law(proc.width, T)
        xs = np.array([0.5, 0.9, 1.0, 1.3, 2.0])
        np.testing.assert_allclose(law.cdf(r0 * xs**2), ratio.cdf(xs), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(m, proc.x0, rtol=1e-12, atol=1e-12)  # a martingale


@given(diffusions_with_known_laws())
def test_law_agrees_with_the_moment_equations(proc: KnownLawDiffusion) -> None:
    """Two derivations of the same law: the explicit solution (log-normal / Van Loan Gaussian) and the
    linear moment ODE solved by one matrix exponential."""
    check_law_consistency(proc)


def check_euler_convergence(proc: KnownLawDiffusion) -> None:
    T = proc.horizon
    m, M = proc.mean(T), proc.second_moment(T)
    scale = 1.0 + np.abs(M).max()
    errs = []
    for N in (64, 256, 1024):
        me, Me = proc.euler_moments(T, N)
        errs.append(max(np.abs(me - m).max(), np.abs(Me - M).max()))
    # weak order 1 for polynomial moments of affine SDEs: the error shrinks ~4x per 4x steps (ratio
    # 0.25 + O(h)); zero up to rounding for Brownian motion, whose Euler moments are exact
    for a, b in itertools.pairwise(errs):
        assert b <= 0.3 * a + 1e-11 * scale, errs


@given(diffusions_with_known_laws())
def test_euler_moments_converge_to_the_sde_moments(proc: KnownLawDiffusion) -> None:
    check_euler_convergence(proc)


def check_euler_monte_carlo(proc: KnownLawDiffusion, rng: object) -> None:
    T, N = proc.horizon, 8  # few steps: the scheme's law is far from the SDE's, and exact
    res = simulate(
        proc.sde,
        EulerMaruyama(),
        T,
        N,
        proc.x0,
        n_paths=40_000,
        observe=[coordinate(0), squared_norm()],
        reduce=Moments(),
        rng=rng,
    )
    me, Me = proc.euler_moments(T, N)
    for name, exact in (("x0", me[0]), ("squared_norm", np.trace(Me))):
        mom = res[name].moments
        mean, se = float(mom.mean[-1]), float(mom.stderr[-1])
        assert abs(mean - exact) <= 5 * se, (name, mean, exact, se)


@with_seed(max_examples=2)
@given(proc=diffusions_with_known_laws(max_dim=2, max_width=6, max_horizon=0.5), k=SEEDS)
def test_library_euler_matches_exact_euler_moments(proc: KnownLawDiffusion, k: int, seed: int) -> None:
    """The SDE object the strategy builds, integrated by the library, has the exact Euler moments at
    5 standard errors (40000 paths; horizon <= 0.5 keeps the squared norm's log-variance <= 2). Each
    example compiles its own kernels (~2 s), hence few examples here and more under ``slow``."""
    check_euler_monte_carlo(proc, rng=[seed, k])


@pytest.mark.slow
@with_seed(max_examples=25)
@given(proc=diffusions_with_known_laws(max_dim=3, max_width=8, max_horizon=0.5), k=SEEDS)
def test_library_euler_matches_exact_euler_moments_large(proc: KnownLawDiffusion, k: int, seed: int) -> None:
    check_euler_monte_carlo(proc, rng=[seed, k])
