"""Goodness-of-fit tests: statistics against scipy and direct references, exact p-values against brute
force, permutation machinery, calibration under H0 and power under a shift."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from stochdepth._checks import NumericalError
from stochdepth.random import as_generator, chunk_generators
from stochdepth.stats import (
    PERMUTATION_CHUNK_SIZE,
    AndersonDarling,
    CramerVonMises,
    KolmogorovSmirnov,
    TestResult,
    one_sample_test,
    two_sample_test,
)
from stochdepth.stats import _kernels as K
from stochdepth.stats.gof import _labelled
from stochdepth.testing import ALPHA
from stochdepth.testing import references as R

RTOL = 1e-10


def _samples(gen, kind, n, m):
    if kind == "continuous":
        return gen.normal(size=n), gen.standard_t(3, size=m) * 0.8 + 0.2
    # heavy ties: small integer supports
    return gen.integers(0, 6, size=n).astype(float), gen.integers(0, 7, size=m).astype(float)


# ----------------------------------------------------------------------------------------------------
# Statistics and p-values against scipy
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["continuous", "ties"])
@pytest.mark.parametrize(("n", "m"), [(1, 3), (7, 7), (25, 41), (120, 90)])
def test_ks_two_sample_matches_scipy(seed, kind, n, m):
    gen = as_generator(seed)
    x, y = _samples(gen, kind, n, m)
    res = two_sample_test(x, y, method=KolmogorovSmirnov(exact=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ref = stats.ks_2samp(x, y, method="exact")
    assert res.statistic == pytest.approx(ref.statistic, rel=RTOL, abs=1e-15)
    if any("unsuccessful" in str(w.message) for w in caught):
        # scipy's exact recursion gives up for some equal sizes (and falls back to an approximation):
        # compare with the enumeration of all label orders instead.
        assert math.comb(n + m, n) <= 10**5
        exact = R.lattice_ks_sf(n, m, round(res.statistic * n * m))
        assert res.pvalue == pytest.approx(exact, rel=1e-12)
    else:
        # scipy computes the same exact null probability by another recursion; both are exact, so they
        # agree to rounding (relative 1e-9 leaves room for the rounding of O(n m) operations).
        assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)
    assert res.pvalue_kind == "exact"
    asy = two_sample_test(x, y, method=KolmogorovSmirnov(exact=False))
    z = math.sqrt(n * m / (n + m)) * ref.statistic
    assert asy.pvalue == pytest.approx(stats.kstwobign.sf(z), rel=RTOL, abs=1e-15)


def test_ks_auto_switches_to_asymptotic(monkeypatch):
    from stochdepth.stats import gof

    x, y = np.arange(10.0), np.arange(12.0) + 0.5
    assert two_sample_test(x, y).pvalue_kind == "exact"
    monkeypatch.setattr(gof, "KS_EXACT_MAX_CELLS", 100)
    res = two_sample_test(x, y)
    assert res.pvalue_kind == "asymptotic"
    assert res.pvalue == pytest.approx(stats.kstwobign.sf(math.sqrt(120 / 22) * res.statistic), rel=1e-12)


@pytest.mark.parametrize(("m", "n"), [(1, 1), (2, 3), (4, 4), (5, 6), (3, 8)])
def test_ks_exact_law_equals_lattice_brute_force(m, n):
    """Every attainable threshold: the recursion equals the enumeration of all C(m+n, m) label orders."""
    for d_int in range(0, m * n + 2):
        assert K.ks2_exact_sf(m, n, d_int) == pytest.approx(R.lattice_ks_sf(m, n, d_int), rel=1e-12, abs=0)


def test_ks_exact_small_pvalues_keep_relative_accuracy():
    """Maximal separation (all x below all y): P(D = 1) = 2 / C(m+n, m) exactly (the two extreme orders),
    far below double-precision cancellation of 1 - P(inside)."""
    m, n = 40, 45
    p = K.ks2_exact_sf(m, n, m * n)
    assert p == pytest.approx(2.0 / math.comb(m + n, m), rel=1e-10)
    assert p < 1e-20


@pytest.mark.parametrize("kind", ["continuous", "ties"])
@pytest.mark.parametrize(("n", "m"), [(2, 3), (9, 14), (60, 45), (300, 200)])
def test_cvm_two_sample_matches_scipy(seed, kind, n, m):
    gen = as_generator(seed)
    x, y = _samples(gen, kind, n, m)
    res = two_sample_test(x, y, method=CramerVonMises(n_permutations=None))
    ref = stats.cramervonmises_2samp(x, y, method="asymptotic")
    assert res.statistic == pytest.approx(ref.statistic, rel=RTOL, abs=1e-14)
    # Same approximation (Anderson 1962) and the same limit law. scipy stops its series at the first
    # term below 1e-7; the omitted remainder of this super-exponentially decaying series is below 3e-10
    # (the largest difference between the two series on (0, 4.7]), so they agree to 1e-9 absolute.
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-9)
    assert res.statistic == pytest.approx(R.cvm_2samp(x, y), rel=RTOL, abs=1e-14)


@pytest.mark.parametrize("midrank", [True, False])
@pytest.mark.parametrize("kind", ["continuous", "ties"])
@pytest.mark.parametrize(("n", "m"), [(2, 3), (9, 14), (60, 45), (300, 200)])
def test_ad_two_sample_matches_scipy(seed, midrank, kind, n, m):
    gen = as_generator(seed)
    x, y = _samples(gen, kind, n, m)
    res = two_sample_test(x, y, method=AndersonDarling(n_permutations=None, midrank=midrank))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # scipy's note that its table p-value is capped
        ref = stats.anderson_ksamp([x, y], variant="midrank" if midrank else "right")
    # scipy reports the standardised statistic (A2 - 1) / sigma_N (Scholz & Stephens eq. 4 and 7/6).
    assert res.details["standardized"] == pytest.approx(ref.statistic, rel=RTOL, abs=1e-12)
    assert res.statistic == pytest.approx(R.ad_2samp(x, y, midrank=midrank), rel=RTOL, abs=1e-14)


@pytest.mark.parametrize("n", [1, 5, 80, 1000])
def test_one_sample_ks_matches_scipy(seed, n):
    x = as_generator(seed).normal(0.1, 1.1, size=n)
    for exact, mode in [(None, "exact"), (True, "exact"), (False, "asymp")]:
        res = one_sample_test(x, stats.norm(), method=KolmogorovSmirnov(exact=exact))
        ref = stats.kstest(x, stats.norm().cdf, method=mode)
        assert res.statistic == pytest.approx(ref.statistic, rel=RTOL, abs=1e-15)
        assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-12, abs=1e-15)


def test_one_sample_cvm_matches_scipy(seed):
    """Statistic to 1e-10. scipy's p-value adds the O(1/n) correction of Csörgő & Faraway (1996, eq. 1.8),
    F_n(x) = F(x) + psi_1(x)/n + O(n^-2), while ours is the limit law: the difference is bounded by
    sup|psi_1|/n + O(n^-2). Evaluating their eq. 1.10 on (0, 3] gives sup|psi_1| = 0.114 (at x = 0.063),
    so 0.12/n + 1/n^2 bounds the difference for the sizes used here."""
    gen = as_generator(seed)
    for n in (50, 200, 2000):
        x = gen.normal(size=n) * (1.0 + 0.1 * gen.random())
        res = one_sample_test(x, stats.norm(), method=CramerVonMises())
        ref = stats.cramervonmises(x, stats.norm().cdf)
        assert res.statistic == pytest.approx(ref.statistic, rel=RTOL, abs=1e-14)
        assert abs(res.pvalue - ref.pvalue) <= 0.12 / n + 1.0 / n**2


def test_one_sample_ad_statistic_matches_scipy(seed):
    gen = as_generator(seed)
    x = gen.normal(0.2, 1.0, size=150)
    res = one_sample_test(x, stats.norm(), method=AndersonDarling())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's own notices about goodness_of_fit internals
        ref = stats.goodness_of_fit(
            stats.norm, x, known_params={"loc": 0.0, "scale": 1.0}, statistic="ad", n_mc_samples=99, rng=1
        )
    assert res.statistic == pytest.approx(ref.statistic, rel=RTOL)
    # callable cdf without logcdf/logsf: same statistic from log(u), log1p(-u)
    res2 = one_sample_test(x, stats.norm().cdf, method=AndersonDarling())
    assert res2.statistic == pytest.approx(res.statistic, rel=1e-9)


def test_one_sample_outside_support(seed):
    x = as_generator(seed).random(size=20) + 0.5  # values above 1: impossible under U(0, 1)
    res = one_sample_test(x, stats.uniform(), method=AndersonDarling())
    assert res.statistic == math.inf and res.pvalue == 0.0
    # all values above the support: D = 1, which has probability 0 under H0
    far = one_sample_test(x + 0.5, stats.uniform())
    assert far.statistic == 1.0 and far.pvalue < 1e-20


# ----------------------------------------------------------------------------------------------------
# Kernels against the direct references, and the permutation machinery
# ----------------------------------------------------------------------------------------------------


def _python_shuffle(lab, gen):
    u = gen.random(lab.size)
    for i in range(lab.size - 1, 0, -1):
        j = min(int(u[i] * (i + 1)), i)
        lab[i], lab[j] = lab[j], lab[i]


def test_shuffle_is_uniform(seed):
    """24000 shuffles of 4 items: the counts of the 24 orders pass a chi-square test (p > 1e-6)."""
    gen = np.random.Generator(np.random.SFC64(seed))
    counts: dict[tuple, int] = {}
    lab = np.arange(4, dtype=np.int64)
    for _ in range(24_000):
        K.shuffle(lab, gen)
        key = tuple(lab.tolist())
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 24
    assert stats.chisquare(list(counts.values())).pvalue > ALPHA


@pytest.mark.parametrize("kind", ["continuous", "ties"])
def test_permutation_kernels_match_reference(seed, kind):
    """The numba loops relabel with ``_kernels.shuffle``; the reference repeats the same Fisher-Yates
    steps in Python from the same uniforms (``Generator.random(n)``, the same stream in numba and numpy)
    and recomputes every statistic directly from the relabelled samples."""
    gen = as_generator(seed)
    x, y = _samples(gen, kind, 23, 31)
    n, m = x.size, y.size
    big_n = n + m
    labels, ends = _labelled(x, y)
    zs = np.sort(np.concatenate([x, y]), kind="stable")
    n_perm = 40
    out_cvm = np.empty(n_perm)
    K.perm_cvm(labels, ends, n, m, np.random.Generator(np.random.SFC64(seed)), out_cvm)
    lj = np.diff(np.concatenate([[0], ends])).astype(float)
    before, after = ends - lj, big_n - ends.astype(float)
    b = before + lj / 2.0
    w = lj / (before * after + (before + after) * lj / 4.0)
    out_ad = np.empty(n_perm)
    K.perm_ad(labels, ends, 0.5, b, w, n, big_n, np.random.Generator(np.random.SFC64(seed)), out_ad)
    coef = (big_n - 1.0) / big_n**2 * (1.0 / n + 1.0 / m)
    ref_gen = np.random.Generator(np.random.SFC64(seed))
    lab = labels.copy()
    for k in range(n_perm):
        _python_shuffle(lab, ref_gen)
        xs, ys = zs[lab == 1], zs[lab == 0]
        d_int = K.ks_dint_labels(lab, ends, n, m)
        assert d_int / (n * m) == pytest.approx(R.ks_2samp(xs, ys), rel=1e-12)
        t = out_cvm[k] / (n * m * big_n) - (4 * n * m - 1) / (6 * big_n)
        assert t == pytest.approx(R.cvm_2samp(xs, ys), rel=1e-12, abs=1e-14)
        assert coef * out_ad[k] == pytest.approx(R.ad_2samp(xs, ys), rel=1e-12)


@pytest.mark.parametrize(
    "method", [CramerVonMises(n_permutations=2500), AndersonDarling(n_permutations=2500)]
)
def test_permutation_pvalue_definition_and_reproducibility(seed, method):
    """p = (b + 1) / (B + 1) with b counted from the same chunked streams; identical for any thread
    count; never 0; the Monte Carlo standard error is reported."""
    gen = as_generator(seed)
    x, y = gen.normal(size=40), gen.normal(0.3, 1.0, size=35)
    res1 = two_sample_test(x, y, method=method, rng=seed, n_threads=1)
    res2 = two_sample_test(x, y, method=method, rng=seed, n_threads=3)
    assert res1 == res2
    assert res1.pvalue_kind == "permutation" and res1.n_permutations == 2500
    b = res1.pvalue * 2501 - 1
    assert b == pytest.approx(round(b), abs=1e-9) and round(b) >= 0
    assert res1.pvalue_stderr == pytest.approx(math.sqrt(res1.pvalue * (1 - res1.pvalue) / 2500))
    # recount b from the chunk streams of the seed
    labels, ends = _labelled(x, y)
    n, m = x.size, y.size
    stats_all = []
    for a, bb, g in chunk_generators(seed, 2500, PERMUTATION_CHUNK_SIZE):
        out = np.empty(bb - a)
        if isinstance(method, CramerVonMises):
            K.perm_cvm(labels, ends, n, m, g, out)
        else:
            lj = np.diff(np.concatenate([[0], ends])).astype(float)
            before, after = ends - lj, (n + m) - ends.astype(float)
            bj = before + lj / 2.0
            w = lj / (before * after + (before + after) * lj / 4.0)
            K.perm_ad(labels, ends, 0.5, bj, w, n, n + m, g, out)
        stats_all.append(out)
    perm = np.concatenate(stats_all)
    if isinstance(method, CramerVonMises):
        observed = res1.details["U"]
    else:
        observed = res1.statistic / ((n + m - 1.0) / (n + m) ** 2 * (1.0 / n + 1.0 / m))
    assert round(b) == np.count_nonzero(perm >= observed * (1 - 1e-12))
    # separated samples: no relabelling reaches the statistic, p = 1/(B+1) exactly, never 0
    sep = two_sample_test(np.arange(30.0), np.arange(30.0) + 100, method=method, rng=seed)
    assert sep.pvalue == 1 / 2501
    # a different seed gives a different Monte Carlo p-value in general, but the same statistic
    other = two_sample_test(x, y, method=method, rng=seed + 1)
    assert other.statistic == res1.statistic


def test_identical_samples_and_single_value():
    x = np.ones(5)
    assert two_sample_test(x, x).pvalue == 1.0
    assert two_sample_test(x, x, method=CramerVonMises(n_permutations=99), rng=0).pvalue == 1.0
    with pytest.raises(ValueError, match="two distinct values"):
        two_sample_test(x, x, method=AndersonDarling(n_permutations=99), rng=0)


# ----------------------------------------------------------------------------------------------------
# Calibration under H0 and power
# ----------------------------------------------------------------------------------------------------


def _check_uniform(p, what, *, randomized=None):
    """The number of p <= 0.05 passes an exact two-sided binomial test against rate 0.05 at level 1e-6
    (a 5-standard-error band would be a 9e-6 false alarm at 200 replications: the binomial is skewed),
    and a KS test of the (randomised, when given) p-values against U(0, 1) has p > 1e-6."""
    p = np.asarray(p)
    r = p.size
    count = int(np.count_nonzero(p <= 0.05))
    tail = min(stats.binom.cdf(count, r, 0.05), stats.binom.sf(count - 1, r, 0.05))
    assert tail > ALPHA / 2, f"{what}: {count} of {r} p-values <= 0.05 (binomial tail {tail:.2g})"
    u = p if randomized is None else np.asarray(randomized)
    ks = stats.kstest(u, "uniform")
    assert ks.pvalue > ALPHA, f"{what}: p-values are not uniform (KS p = {ks.pvalue:.2g})"


TWO_SAMPLE_CALIBRATION = [
    ("ks-exact", KolmogorovSmirnov()),
    ("cvm-perm", CramerVonMises(n_permutations=199)),
    ("ad-perm", AndersonDarling(n_permutations=199)),
    ("cvm-asym", CramerVonMises(n_permutations=None)),
    ("ad-asym", AndersonDarling(n_permutations=None)),
]


def _two_sample_calibration(seed, method, reps, n, m):
    """p-values under H0, and exactly uniform randomised versions where p is discrete: for the exact KS
    test p~ = P(D > d) + U P(D = d) (D n m is an integer, so P(D > d) = sf(d_int + 1)); for permutation
    tests with B relabellings p~ = (b + U) / (B + 1) is uniform when the statistic has no ties, which
    holds with probability ~1 for continuous data of these sizes except for a rounding-level effect."""
    gen = as_generator(seed)
    pv, rand = [], []
    for k in range(reps):
        x, y = gen.normal(size=n), gen.normal(size=m)
        res = two_sample_test(x, y, method=method, rng=[seed, k])
        pv.append(res.pvalue)
        u = gen.random()
        if isinstance(method, KolmogorovSmirnov):
            d_int = round(res.statistic * n * m)
            hi, lo = K.ks2_exact_sf(n, m, d_int), K.ks2_exact_sf(n, m, d_int + 1)
            rand.append(lo + u * (hi - lo))
        elif res.pvalue_kind == "permutation":
            b = round(res.pvalue * (res.n_permutations + 1) - 1)
            rand.append((b + u) / (res.n_permutations + 1))
        else:
            rand.append(res.pvalue)
    return np.array(pv), np.array(rand)


@pytest.mark.parametrize(("name", "method"), TWO_SAMPLE_CALIBRATION)
def test_two_sample_calibration(seed, name, method):
    """200 replications at n = 30, m = 40 under H0. The binomial check accepts 0 to 28 p-values <= 0.05: it
    only catches gross errors (a true rate of 0.2 is rejected with probability 0.98); the KS test of the
    randomised p-values and the long version (slow, 2000 replications: accepts 56 to 151, rejects a rate
    of 0.1 with probability 0.9999) are the finer checks."""
    pv, rand = _two_sample_calibration(seed, method, 200, 30, 40)
    _check_uniform(pv, name, randomized=rand)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "method"), TWO_SAMPLE_CALIBRATION)
def test_two_sample_calibration_long(seed, name, method):
    """2000 replications at n = 20, m = 27 (band 0.05 ± 0.024; KS of 2000 p-values resolves a
    miscalibration of about 0.05 in distribution)."""
    pv, rand = _two_sample_calibration(seed, method, 2000, 20, 27)
    _check_uniform(pv, name, randomized=rand)


ONE_SAMPLE_CALIBRATION = [
    ("ks", KolmogorovSmirnov()),
    ("ks-asym", KolmogorovSmirnov(exact=False)),
    ("cvm", CramerVonMises()),
    ("ad", AndersonDarling()),
]


@pytest.mark.parametrize(("name", "method"), ONE_SAMPLE_CALIBRATION)
def test_one_sample_calibration(seed, name, method):
    """200 replications at n = 60 against the true law (a Gamma law: asymmetric, to catch index slips);
    the limit-law p-values are accurate to O(1/n), far below what 200 replications resolve."""
    gen = as_generator(seed)
    law = stats.gamma(2.5, scale=0.7)
    pv = [one_sample_test(law.rvs(size=60, random_state=gen), law, method=method).pvalue for _ in range(200)]
    _check_uniform(pv, name)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "method"), ONE_SAMPLE_CALIBRATION)
def test_one_sample_calibration_long(seed, name, method):
    """3000 replications (KS of the p-values resolves a distribution error of about 0.05). The Kolmogorov
    limit law is off by O(n^-1/2) (Stephens' 0.12/sqrt(n) shift of sqrt(n) D moves p by ~0.005 at
    n = 1000, but by ~0.03 at n = 40, which this check detects): the asymptotic KS p-value is checked at
    n = 1000, the others at n = 40 (their errors are O(1/n))."""
    gen = as_generator(seed)
    law = stats.gamma(2.5, scale=0.7)
    n = 1000 if name == "ks-asym" else 40
    pv = [one_sample_test(law.rvs(size=n, random_state=gen), law, method=method).pvalue for _ in range(3000)]
    _check_uniform(pv, name)


@pytest.mark.parametrize(
    "method",
    [KolmogorovSmirnov(), CramerVonMises(n_permutations=999), AndersonDarling(n_permutations=999)],
)
def test_power_half_sd_shift(seed, method):
    """n = m = 500, shift of 0.5 SD. Under this alternative the two-sample KS distance has mean 0.218 and
    SD 0.028 (simulated, 4000 replications; the population value is Phi(0.25) - Phi(-0.25) = 0.197),
    4.7 SD above the 5% critical value 1.36 sqrt(2/500) = 0.086, and its lower tail is lighter than
    normal: the test fails to reject with probability ~1e-6. CvM and AD are more powerful against a
    shift. One sample against N(0, 1): D = 0.197 +- 0.022 against a critical value 1.36/sqrt(500) =
    0.061, a 6 SD margin."""
    gen = as_generator(seed)
    x, y = gen.normal(size=500), gen.normal(0.5, 1.0, size=500)
    res = two_sample_test(x, y, method=method, rng=seed)
    assert res.reject(0.05)
    one = one_sample_test(y, stats.norm(), method=method)
    assert one.reject(0.05)


# ----------------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------------


def test_input_validation():
    x = np.arange(5.0)
    with pytest.raises(ValueError, match="x must hold at least"):
        two_sample_test([], x)
    with pytest.raises(ValueError, match="y must hold at least 2"):
        two_sample_test(x, [1.0], method=CramerVonMises())
    with pytest.raises(ValueError, match="finite"):
        two_sample_test(x, [1.0, np.nan])
    with pytest.raises(ValueError, match="dimension"):
        two_sample_test(np.ones((2, 2)), x)
    with pytest.raises(TypeError, match="instance"):
        two_sample_test(x, x, method=KolmogorovSmirnov)
    with pytest.raises(TypeError, match="method must be"):
        two_sample_test(x, x, method="ks")
    with pytest.raises(ValueError, match="n_permutations must be an int >= 1"):
        CramerVonMises(n_permutations=0)
    with pytest.raises(TypeError, match="n_permutations must be an int"):
        AndersonDarling(n_permutations=10.0)
    with pytest.raises(TypeError, match="exact"):
        KolmogorovSmirnov(exact="yes")
    with pytest.raises(TypeError, match="midrank"):
        AndersonDarling(midrank=1)
    with pytest.raises(TypeError, match="rng"):
        two_sample_test(x, x + 1, method=CramerVonMises(n_permutations=9), rng=1.5)
    with pytest.raises(TypeError, match="vectorised cdf"):
        one_sample_test(x, object())
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        one_sample_test(x, lambda v: v)
    with pytest.raises(NumericalError):
        one_sample_test(x, lambda v: np.full_like(v, np.nan))
    with pytest.raises(ValueError, match="vectorised"):
        one_sample_test(x, lambda v: 0.5)
    with pytest.raises(ValueError, match="alpha"):
        two_sample_test(x, x).reject(1.0)


def test_result_prints_and_is_not_collected():
    res = two_sample_test(np.arange(6.0), np.arange(6.0) + 0.5)
    text = repr(res)
    assert "TestResult(" in text and "pvalue" in text
    assert TestResult.__test__ is False
