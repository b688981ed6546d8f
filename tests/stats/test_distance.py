"""Wasserstein distances: against scipy, against the sorted matching of replicated samples, and
against closed forms for laws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from stochdepth._checks import NumericalError
from stochdepth.random import as_generator
from stochdepth.stats import wasserstein_distance


@pytest.mark.parametrize(("n", "m"), [(1, 1), (1, 5), (7, 7), (30, 45), (500, 321)])
def test_w1_matches_scipy(seed, n, m):
    gen = as_generator(seed)
    x, y = gen.normal(size=n), gen.exponential(size=m)
    assert wasserstein_distance(x, y) == pytest.approx(stats.wasserstein_distance(x, y), rel=1e-10)


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
def test_wp_matches_sorted_matching(seed, p):
    """Derived: the empirical law of n points equals that of the same points each repeated k times, so
    with k = lcm(n, m)/n and lcm/m copies both samples have lcm(n, m) points and the optimal coupling in
    1-D is the sorted matching: W_p^p = mean |x_(i) - y_(i)|^p."""
    gen = as_generator(seed)
    n, m = 6, 10
    x, y = gen.normal(size=n), gen.normal(1.0, 2.0, size=m)
    big = math.lcm(n, m)
    xr, yr = np.sort(np.repeat(x, big // n)), np.sort(np.repeat(y, big // m))
    expected = np.mean(np.abs(xr - yr) ** p) ** (1 / p)
    assert wasserstein_distance(x, y, p=p) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("a", [-1.3, 0.0, 0.4, 2.5])
def test_point_mass_against_normal(a):
    """W_1(delta_a, N(0,1)) = E|Z - a| = 2 phi(a) + a (2 Phi(a) - 1);
    W_2(delta_a, N(0,1)) = sqrt(E (Z - a)^2) = sqrt(1 + a^2)."""
    w1 = 2 * stats.norm.pdf(a) + a * (2 * stats.norm.cdf(a) - 1)
    assert wasserstein_distance([a], stats.norm()) == pytest.approx(w1, rel=1e-9)
    assert wasserstein_distance([a], stats.norm(), p=2) == pytest.approx(math.sqrt(1 + a * a), rel=1e-9)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_against_uniform_law_closed_form(seed, p):
    """Q(u) = u for U(0, 1): on ((i-1)/n, i/n] the integral of |x_(i) - u|^p is
    [|x - a|^(p+1) sign(x - a) - |x - b|^(p+1) sign(x - b)] / (p + 1) (antiderivative of |x - u|^p in u,
    valid whether or not x lies in [a, b])."""
    gen = as_generator(seed)
    n = 9
    x = np.sort(gen.uniform(-0.2, 1.3, size=n))
    a, b = np.arange(n) / n, np.arange(1, n + 1) / n

    def prim(u):
        d = x - u
        return -np.sign(d) * np.abs(d) ** (p + 1) / (p + 1)

    expected = np.sum(prim(b) - prim(a)) ** (1 / p)
    assert wasserstein_distance(x, stats.uniform(), p=p) == pytest.approx(expected, rel=1e-10)


def test_w1_against_normal_law_via_cdf_integral(seed):
    """Independent representation for p = 1: W_1 = integral over t of |F_n(t) - Phi(t)|, integrated
    piecewise between the sorted sample points with adaptive quadrature."""
    x = np.sort(as_generator(seed).normal(0.3, 1.2, size=40))
    n = x.size
    law = stats.norm()
    total = integrate.quad(law.cdf, -np.inf, x[0], epsabs=1e-13)[0]
    total += integrate.quad(law.sf, x[-1], np.inf, epsabs=1e-13)[0]
    for i in range(n - 1):
        total += integrate.quad(lambda t, i=i: abs((i + 1) / n - law.cdf(t)), x[i], x[i + 1], epsabs=1e-13)[0]
    assert wasserstein_distance(x, law) == pytest.approx(total, rel=1e-9)


def test_heavy_tail_raises():
    """A Cauchy law has no mean: W_1 is infinite, and the tail integral must not return a number."""
    with pytest.raises(NumericalError, match="moment"):
        wasserstein_distance([0.0, 1.0, 2.0], stats.cauchy())


def test_validation():
    with pytest.raises(ValueError, match="at least 1"):
        wasserstein_distance([], [1.0])
    with pytest.raises(ValueError, match="finite"):
        wasserstein_distance([1.0, np.nan], [1.0])
    with pytest.raises(ValueError, match="p must be >= 1"):
        wasserstein_distance([1.0], [2.0], p=0.5)
    with pytest.raises(TypeError, match="ppf and cdf"):
        wasserstein_distance([1.0], type("Law", (), {"ppf": staticmethod(lambda u: u)})())
