r"""The limit laws of the Cramér–von Mises and Anderson–Darling statistics, checked against an
independent inversion of their characteristic functions.

Both limits are weighted sums :math:`Q=\sum_j\lambda_jZ_j^2` with :math:`\lambda_j = 1/(j^2\pi^2)` (CvM)
and :math:`\lambda_j = 1/(j(j+1))` (AD), so :math:`\varphi(t) = \prod_j(1-2it\lambda_j)^{-1/2}` and, by
Gil-Pelaez (1951), :math:`F(x) = \tfrac12 - \tfrac1\pi\int_0^\infty \mathrm{Im}(e^{-itx}\varphi(t))/t\,dt`.

* AD, closed form (derived here): :math:`1-2s/(j(j+1)) = (j-r_1)(j-r_2)/(j(j+1))` with
  :math:`r_{1,2} = (-1\pm w)/2`, :math:`w=\sqrt{1+8s}`, and
  :math:`\prod_{j\ge1}\frac{(j+a)(j+b)}{(j+c)(j+d)} = \frac{\Gamma(1+c)\Gamma(1+d)}{\Gamma(1+a)\Gamma(1+b)}`
  when :math:`a+b=c+d`; hence :math:`\log\varphi = \tfrac12[\log\Gamma(\tfrac{3-w}{2}) +
  \log\Gamma(\tfrac{3+w}{2})]` at :math:`s = it` (the principal ``loggamma`` branch is continuous in
  :math:`t` because :math:`(3\pm w)/2` never meets the negative real axis for :math:`t \ne 0`).
* CvM: the product truncated at :math:`J` terms (principal logs, each factor has real part 1) plus the
  first-order tail :math:`it\sum_{j>J}\lambda_j = it\,\psi_1(J+1)/\pi^2`; the neglected term is
  :math:`O(t^2\sum_{j>J}\lambda_j^2) = O(t^2/J^3)`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

from stochdepth.random import as_generator
from stochdepth.stats._laws import ad_inf_cdf, ad_inf_sf, cvm_inf_cdf, cvm_inf_sf

_J = 1000
_LAM_CVM = 1.0 / (np.arange(1, _J + 1) ** 2 * math.pi**2)
_CVM_TAIL = float(special.polygamma(1, _J + 1)) / math.pi**2


def _log_phi_ad(t: float) -> complex:
    w = np.sqrt(1.0 + 8.0j * t)
    return 0.5 * complex(special.loggamma((3 - w) / 2) + special.loggamma((3 + w) / 2))


def _log_phi_cvm(t: float) -> complex:
    return complex(-0.5 * np.sum(np.log(1.0 - 2.0j * t * _LAM_CVM)) + 1.0j * t * _CVM_TAIL)


def _gil_pelaez_cdf(log_phi, x: float) -> float:
    def integrand(t: float) -> float:
        return (np.exp(-1.0j * t * x + log_phi(t))).imag / t

    value, _ = integrate.quad(integrand, 0.0, np.inf, limit=4000, epsabs=1e-13, epsrel=1e-12)
    return 0.5 - value / math.pi


def test_ad_characteristic_function_matches_truncated_product():
    """The Gamma-function closed form agrees with the product itself (truncated, plus tail)."""
    lam = 1.0 / (np.arange(1, 200_001) * np.arange(2, 200_002))
    tail = 1.0 / 200_001  # sum_{j > J} 1/(j(j+1)) = 1/(J+1)
    for t in (0.3, 2.0, 15.0):
        direct = -0.5 * np.sum(np.log(1.0 - 2.0j * t * lam)) + 1.0j * t * tail
        assert _log_phi_ad(t) == pytest.approx(direct, abs=1e-8)


@pytest.mark.parametrize("z", [0.2, 0.5, 1.0, 1.933, 2.492, 4.0, 7.0])
def test_ad_limit_cdf_against_inversion(z):
    # both are accurate to about 1e-12 absolute (quadrature tolerances)
    assert float(ad_inf_cdf(z)) == pytest.approx(_gil_pelaez_cdf(_log_phi_ad, z), abs=1e-10)


@pytest.mark.parametrize("x", [0.03, 0.1, 0.3, 0.461, 1.2])
def test_cvm_limit_cdf_against_inversion(x):
    assert float(cvm_inf_cdf(x)) == pytest.approx(_gil_pelaez_cdf(_log_phi_cvm, x), abs=1e-9)


def test_published_percentage_points():
    """Upper 10% and 5% points of A^2_inf (1.933, 2.492) and of omega^2_inf (0.347, 0.461), as tabulated
    to three decimals by Anderson & Darling (1952, 1954) and Stephens (1974, JASA 69, Table 1A, case 0).
    Rounding the point by 5e-4 moves the tail probability by at most 5e-4 times the density (< 0.5 here),
    hence the tolerance 2.5e-4."""
    assert float(ad_inf_sf(1.933)) == pytest.approx(0.10, abs=2.5e-4)
    assert float(ad_inf_sf(2.492)) == pytest.approx(0.05, abs=2.5e-4)
    assert float(cvm_inf_sf(0.347)) == pytest.approx(0.10, abs=2.5e-4)
    assert float(cvm_inf_sf(0.461)) == pytest.approx(0.05, abs=2.5e-4)


def test_tail_switch_is_continuous():
    """At the switch points the series (absolute accuracy ~1e-15) and the tail expansions (relative
    error O(x^-2)) agree: the next term of the expansion is about 0.08/z^2 (AD) and 0.004/x^2 (CvM)
    relative, i.e. 1.2e-4 and 2e-4 here; 1e-3 leaves room for the series' absolute error."""
    from stochdepth.stats import _laws

    for sf, switch, cdf in [
        (ad_inf_sf, _laws._AD_TAIL_SWITCH, _laws._ad_cdf_scalar),
        (cvm_inf_sf, _laws._CVM_TAIL_SWITCH, _laws._cvm_cdf_scalar),
    ]:
        below = 1.0 - cdf(switch)
        above = float(sf(switch))
        assert above == pytest.approx(below, rel=1e-3)
        # monotone across the switch
        grid = np.linspace(0.8 * switch, 1.2 * switch, 41)
        assert np.all(np.diff(sf(grid)) < 0)


def test_limit_laws_against_monte_carlo(seed):
    """Weighted chi-square sums (first 300 terms, the rest replaced by its mean; its variance
    2 sum_{j>300} lambda_j^2 < 1e-7 is negligible): the empirical CDF at a few points is within 5
    binomial standard errors of the series."""
    gen = as_generator(seed)
    n = 40_000
    j = np.arange(1, 301)
    for lam, tail_mean, cdf, points in [
        (1.0 / (j * (j + 1.0)), 1.0 / 301, ad_inf_cdf, (0.5, 1.0, 2.5)),
        (1.0 / (j**2 * math.pi**2), float(special.polygamma(1, 301)) / math.pi**2, cvm_inf_cdf, (0.1, 0.3)),
    ]:
        q = np.zeros(n)
        for k in range(0, 300, 50):
            q += gen.standard_normal((n, 50)) ** 2 @ lam[k : k + 50]
        q += tail_mean
        for x in points:
            f = float(cdf(x))
            assert abs(np.mean(q <= x) - f) <= 5 * math.sqrt(f * (1 - f) / n)


def test_vectorised_and_edges():
    z = np.array([[0.0, 1.0], [-1.0, 50.0]])
    out = ad_inf_sf(z)
    assert out.shape == (2, 2)
    assert out[0, 0] == 1.0 and out[1, 0] == 1.0 and 0 < out[1, 1] < 1e-20
    assert float(ad_inf_cdf(1e-3)) == 0.0 and float(cvm_inf_cdf(1e-4)) == 0.0
    assert float(cvm_inf_sf(10.0)) > 0.0
    assert np.isscalar(ad_inf_sf(1.0)) or np.ndim(ad_inf_sf(1.0)) == 0
