r"""Goodness-of-fit tests: are two samples (or a sample and a law) equal in distribution?

Three classical statistics, each a method object passed to :func:`two_sample_test` or
:func:`one_sample_test`:

* :class:`KolmogorovSmirnov` -- the sup distance between distribution functions; exact p-values.
* :class:`CramerVonMises` -- the integrated squared distance; two-sample p-values by permutation.
* :class:`AndersonDarling` -- the squared distance weighted by :math:`1/(F(1-F))`, sensitive in the
  tails; two-sample p-values by permutation.

Permutation p-values use the estimator :math:`(b+1)/(B+1)` of Phipson & Smyth (2010, Stat. Appl. Genet.
Mol. Biol. 9(1), art. 39), with :math:`b` the number of the :math:`B` random relabellings whose statistic
reaches the observed one: it is a valid (never anti-conservative) p-value and is never 0. Relabellings run
in fixed chunks of :data:`PERMUTATION_CHUNK_SIZE` with spawned streams (:mod:`stochdepth.random`), so the
p-value depends on the seed only, not on the number of threads.

These are the tests of docs/science.md Part C.1 (finite random networks, the exact-law sampler and the Euler
scheme agree in law); use :func:`stochdepth.stats.test_family` to control the family-wise error rate when
many are run at once.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from scipy import special
from scipy import stats as _st

from .._checks import check_array, check_bool, check_finite_result, check_int, check_real
from .._results import Result
from ..executors import accepts_executor
from ..montecarlo import check_threads, reduce_chunks
from ..random import RNGLike
from . import _kernels as K
from ._laws import ad_inf_sf, cvm_inf_sf

__all__ = [
    "KS_EXACT_MAX_CELLS",
    "PERMUTATION_CHUNK_SIZE",
    "AndersonDarling",
    "CramerVonMises",
    "KolmogorovSmirnov",
    "TestMethod",
    "TestResult",
    "one_sample_test",
    "two_sample_test",
]

#: Relabellings per chunk of a permutation test. Part of the definition of a permutation p-value: each
#: chunk draws from its own spawned stream.
PERMUTATION_CHUNK_SIZE = 1024

#: ``two_sample_test`` with ``KolmogorovSmirnov(exact=None)`` uses the exact p-value while
#: ``n_x * n_y`` is at most this (the O(n_x n_y) lattice recursion then takes about 0.2 s or less).
KS_EXACT_MAX_CELLS = 100_000_000

# Relative tolerance under which a permuted statistic counts as equal to the observed one (the
# Anderson-Darling sums are float sums that may differ in the last bits between equivalent labellings).
_TIE_RTOL = 1e-12

# Standard deviation of the Anderson-Darling limit law: Var A^2_inf = sum_j 2/(j(j+1))^2 = 2 pi^2/3 - 6.
_AD_INF_SD = math.sqrt(2.0 * math.pi**2 / 3.0 - 6.0)


# ----------------------------------------------------------------------------------------------------
# Method objects and the result
# ----------------------------------------------------------------------------------------------------


class TestMethod:
    """Base class of the goodness-of-fit statistics (:class:`KolmogorovSmirnov`,
    :class:`CramerVonMises`, :class:`AndersonDarling`)."""

    __test__ = False  # not a pytest test class
    name: ClassVar[str] = "test"
    _min_size: ClassVar[int] = 1


def _check_permutations(value: Any) -> int | None:
    if value is None:
        return None
    return check_int("n_permutations", value, min=1)


@dataclass(frozen=True)
class KolmogorovSmirnov(TestMethod):
    r"""Kolmogorov–Smirnov statistic :math:`D = \sup_t |F_1(t) - F_2(t)|` (two-sided).

    Parameters
    ----------
    exact : bool or None, default None
        ``True``: exact p-value; ``False``: the Kolmogorov limit law,
        :math:`P(D > d) \approx Q_{KS}(\sqrt{n_e}\,d)` with :math:`n_e = n` (one sample) or
        :math:`n_x n_y/(n_x+n_y)` (two samples), :math:`Q_{KS}(z)=2\sum_{k\ge1}(-1)^{k-1}e^{-2k^2z^2}`
        (Kolmogorov 1933; Smirnov 1939). ``None``: exact for one sample, and for two samples while
        :math:`n_x n_y \le` :data:`KS_EXACT_MAX_CELLS`.

    Notes
    -----
    One sample: the exact law of :math:`D_n` is :data:`scipy.stats.kstwo` (Simard & L'Ecuyer 2011,
    J. Stat. Softw. 39(11)). Two samples: the exact null probability is computed by the lattice-path
    recursion of Hodges (1957) in :math:`O(n_x n_y)`, with small p-values kept to full relative accuracy.
    The exact law assumes continuous data; with ties the p-value is conservative (use a permutation test,
    :class:`CramerVonMises` or :class:`AndersonDarling`, for discrete data).
    """

    exact: bool | None = None
    name: ClassVar[str] = "Kolmogorov-Smirnov"

    def __post_init__(self) -> None:
        if self.exact is not None and not isinstance(self.exact, (bool, np.bool_)):
            raise TypeError(f"exact must be True, False or None, got {type(self.exact).__name__}")


@dataclass(frozen=True)
class CramerVonMises(TestMethod):
    r"""Cramér–von Mises statistic (integrated squared distance between distribution functions).

    One sample (Cramér 1928; von Mises 1931), with :math:`u_{(i)} = F(x_{(i)})`:

    .. math:: W^2 = \frac{1}{12n} + \sum_{i=1}^n \Big(u_{(i)} - \frac{2i-1}{2n}\Big)^2 .

    Two samples (Anderson 1962, Ann. Math. Statist. 33, 1148–1159, eq. 9–10), with mid-ranks
    :math:`r_i` (:math:`s_j`) of the sorted :math:`x` (:math:`y`) in the pooled sample, :math:`N=n+m`:

    .. math::

        T = \frac{U}{nmN} - \frac{4nm-1}{6N},\qquad
        U = n\sum_{i=1}^n (r_i-i)^2 + m\sum_{j=1}^m (s_j-j)^2 .

    Parameters
    ----------
    n_permutations : int >= 1 or None, default 9999
        Two-sample p-value from this many random relabellings, :math:`(b+1)/(B+1)`. ``None``: Anderson's
        (1962, eq. 11, 14, 15) approximation, the limit law :math:`\omega^2_\infty` evaluated at
        :math:`1/6 + (T - \mathbb E T)/\sqrt{45\,\mathrm{Var}\,T}` with the exact null mean and variance
        of :math:`T`. One-sample p-values always come from the limit law :math:`\omega^2_\infty`
        (error :math:`O(1/n)`, Csörgő & Faraway 1996, JRSS B 58, 221–234); ``n_permutations`` is not used
        there.
    """

    n_permutations: int | None = 9999
    name: ClassVar[str] = "Cramer-von Mises"
    _min_size: ClassVar[int] = 2

    def __post_init__(self) -> None:
        _check_permutations(self.n_permutations)


@dataclass(frozen=True)
class AndersonDarling(TestMethod):
    r"""Anderson–Darling statistic (squared distance weighted by :math:`1/(F(1-F))`).

    One sample (Anderson & Darling 1954, JASA 49, 765–769), with :math:`u_{(i)} = F(x_{(i)})`:

    .. math:: A^2 = -n - \frac1n\sum_{i=1}^n (2i-1)\big(\log u_{(i)} + \log(1-u_{(n+1-i)})\big).

    Two samples (Scholz & Stephens 1987, JASA 82, 918–924, eq. 7, mid-rank version): with the distinct
    pooled values :math:`z^*_1<\dots<z^*_L`, multiplicities :math:`l_j`, :math:`a_j` (:math:`b_j`) pooled
    values below (above) :math:`z^*_j`, :math:`B_j = a_j + l_j/2` and :math:`M_j` the number of
    :math:`x` values below :math:`z^*_j` plus half of those equal to it,

    .. math::

        A^2 = \frac{N-1}{N^2}\Big(\frac1n+\frac1m\Big)\sum_{j=1}^{L}
        \frac{l_j\,(N M_j - B_j n)^2}{a_j b_j + (a_j+b_j)\,l_j/4}

    (the paper's sum over both samples, simplified for two samples; its denominator
    :math:`B_j(N-B_j)-Nl_j/4` equals :math:`a_jb_j+(a_j+b_j)l_j/4`). ``midrank=False`` gives the
    right-continuous version (eq. 6), equal to the continuous-data statistic (eq. 3) without ties. The
    result also carries ``details["standardized"]`` :math:`=(A^2-1)/\sigma_N`, with :math:`\sigma_N^2`
    the exact null variance of the paper's eq. 4 (``scipy.stats.anderson_ksamp`` reports this).

    Parameters
    ----------
    n_permutations : int >= 1 or None, default 9999
        Two-sample p-value from this many random relabellings, :math:`(b+1)/(B+1)`. ``None``: the limit
        law :math:`A^2_\infty` evaluated at :math:`1 + \sigma_\infty (A^2-1)/\sigma_N`, which matches the
        exact null mean (1) and variance :math:`\sigma_N^2` to those of the limit law
        (:math:`\sigma_\infty^2 = 2\pi^2/3-6`; derived, the device of Anderson 1962 for the Cramér–von
        Mises statistic). One-sample p-values always come from the limit law :math:`A^2_\infty`;
        ``n_permutations`` is not used there.
    midrank : bool, default True
        Mid-rank (eq. 7, suited to ties) or right-continuous (eq. 6) empirical distribution functions.
    """

    n_permutations: int | None = 9999
    midrank: bool = True
    name: ClassVar[str] = "Anderson-Darling"
    _min_size: ClassVar[int] = 2

    def __post_init__(self) -> None:
        _check_permutations(self.n_permutations)
        check_bool("midrank", self.midrank)


@dataclass(frozen=True)
class TestResult(Result):
    """Outcome of a goodness-of-fit test.

    Attributes
    ----------
    statistic : float
        The test statistic (see the method's class for its definition; ``inf`` for a one-sample test
        with a value outside the support of the law).
    pvalue : float
        p-value in [0, 1] (a permutation p-value is never 0; an exact or asymptotic one underflows to 0
        only for data impossible under the null hypothesis, or far beyond any practical threshold).
    method : TestMethod
        The method object used.
    n_x, n_y : int
        Sample sizes (``n_y`` is ``None`` for a one-sample test).
    n_permutations : int
        Relabellings behind a permutation p-value (0 otherwise).
    pvalue_kind : str
        ``"exact"``, ``"asymptotic"`` or ``"permutation"``.
    pvalue_stderr : float
        Monte Carlo standard error of a permutation p-value, :math:`\\sqrt{p(1-p)/B}` (0 otherwise).
    details : dict
        Method-specific extras (``"standardized"`` for Anderson–Darling, ``"ties"``, ...).
    """

    __test__ = False  # not a pytest test class

    statistic: float
    pvalue: float
    method: TestMethod
    n_x: int
    n_y: int | None
    n_permutations: int = 0
    pvalue_kind: str = "exact"
    pvalue_stderr: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    #: ``inf`` for a sample outside the support of the law (p-value 0).
    nonfinite_fields = ("statistic",)

    def reject(self, alpha: float = 0.05) -> bool:
        """Whether the null hypothesis is rejected at level ``alpha`` in (0, 1)."""
        alpha = check_real("alpha", alpha, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        return bool(self.pvalue <= alpha)


# ----------------------------------------------------------------------------------------------------
# Two-sample tests
# ----------------------------------------------------------------------------------------------------


def _labelled(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels (1 for x) of the sorted pooled sample and the exclusive ends of its tie groups."""
    z = np.concatenate([x, y])
    order = np.argsort(z, kind="stable")
    zs = z[order]
    labels = (order < x.size).astype(np.int64)
    ends = np.append(np.flatnonzero(np.diff(zs) != 0) + 1, z.size).astype(np.int64)
    return labels, ends


def _permutation_count(
    kernel: Callable[..., None],
    args: tuple,
    threshold: float,
    n_perm: int,
    rng: RNGLike,
    n_threads: int | None,
) -> int:
    """How many of ``n_perm`` random relabellings give a statistic ``>= threshold``: counted chunk by
    chunk (bounded memory for any ``n_perm``)."""

    def chunk(start: int, stop: int, gen: np.random.Generator) -> int:
        out = np.empty(stop - start)
        kernel(*args, gen, out)
        return int(np.count_nonzero(out >= threshold))

    return reduce_chunks(
        chunk, operator.add, rng, n_perm, chunk_size=PERMUTATION_CHUNK_SIZE, n_threads=n_threads
    )


def _permutation_test(
    kernel: Callable[..., None],
    args: tuple,
    observed: float,
    stat: float,
    method: CramerVonMises | AndersonDarling,
    n: int,
    m: int,
    details: dict[str, Any],
    rng: RNGLike,
    n_threads: int | None,
) -> TestResult:
    """Permutation p-value :math:`(b+1)/(B+1)` of the label statistic ``observed`` (``kernel`` recomputes
    it on random relabellings), and the test result reporting ``stat``."""
    n_perm = method.n_permutations
    assert n_perm is not None
    hits = _permutation_count(kernel, args, observed - _TIE_RTOL * abs(observed), n_perm, rng, n_threads)
    p = (hits + 1) / (n_perm + 1)
    return TestResult(
        stat,
        p,
        method,
        n,
        m,
        n_permutations=n_perm,
        pvalue_kind="permutation",
        pvalue_stderr=math.sqrt(p * (1 - p) / n_perm),
        details=details,
    )


def _ad_variance(n: int, m: int) -> float:
    """Exact null variance of the two-sample A^2_kN (Scholz & Stephens 1987, eq. 4, k = 2)."""
    big_n = n + m
    k = 2
    inv = 1.0 / np.arange(1, big_n, dtype=float)  # 1/i, i = 1..N-1
    h = float(inv.sum())
    cum = np.cumsum(inv)  # h_i = sum_{j<=i} 1/j
    i = np.arange(1, big_n - 1)  # i = 1..N-2
    # g = sum_{i=1}^{N-2} sum_{j=i+1}^{N-1} 1/((N-i) j) = sum_i (h_{N-1} - h_i)/(N-i)
    g = float(np.sum((h - cum[i - 1]) / (big_n - i)))
    hh = 1.0 / n + 1.0 / m
    a = (4 * g - 6) * (k - 1) + (10 - 6 * g) * hh
    b = (2 * g - 4) * k**2 + 8 * h * k + (2 * g - 14 * h - 4) * hh - 8 * h + 4 * g - 6
    c = (6 * h + 2 * g - 2) * k**2 + (4 * h - 4 * g + 6) * k + (2 * h - 6) * hh + 4 * h
    d = (2 * h + 6) * k**2 - 4 * h * k
    return (a * big_n**3 + b * big_n**2 + c * big_n + d) / ((big_n - 1.0) * (big_n - 2.0) * (big_n - 3.0))


def _two_sample_ks(x, y, labels, ends, method: KolmogorovSmirnov) -> TestResult:
    n, m = x.size, y.size
    d_int = int(K.ks_dint_labels(labels, ends, n, m))
    stat = d_int / (n * m)
    exact = method.exact if method.exact is not None else n * m <= KS_EXACT_MAX_CELLS
    if exact:
        p = float(K.ks2_exact_sf(n, m, d_int))
    else:
        p = float(special.kolmogorov(math.sqrt(n * m / (n + m)) * stat))
    p = min(max(p, 0.0), 1.0)
    check_finite_result("Kolmogorov-Smirnov p-value", p)
    return TestResult(
        statistic=stat,
        pvalue=p,
        method=method,
        n_x=n,
        n_y=m,
        pvalue_kind="exact" if exact else "asymptotic",
        details={"ties": bool(ends.size < n + m)},
    )


def _two_sample_cvm(x, y, labels, ends, method: CramerVonMises, rng, n_threads) -> TestResult:
    n, m = x.size, y.size
    big_n = n + m
    nm = n * m
    u = float(K.cvm_u_labels(labels, ends, n, m))
    stat = u / (nm * big_n) - (4 * nm - 1) / (6 * big_n)
    details: dict[str, Any] = {"U": u, "ties": bool(ends.size < big_n)}
    if method.n_permutations is None:
        # Anderson (1962), eq. 11 and 14: exact null mean and variance of T; eq. 15: standardisation.
        mean_t = (1.0 + 1.0 / big_n) / 6.0
        var_t = (big_n + 1.0) * (4.0 * nm * big_n - 3.0 * (n * n + m * m) - 2.0 * nm)
        var_t /= 45.0 * big_n**2 * 4.0 * nm
        tn = 1.0 / 6.0 + (stat - mean_t) / math.sqrt(45.0 * var_t)
        p = float(cvm_inf_sf(tn)) if tn > 0 else 1.0
        details["standardized"] = tn
        check_finite_result("Cramer-von Mises p-value", p)
        return TestResult(stat, p, method, n, m, pvalue_kind="asymptotic", details=details)
    return _permutation_test(K.perm_cvm, (labels, ends, n, m), u, stat, method, n, m, details, rng, n_threads)


def _two_sample_ad(x, y, labels, ends, method: AndersonDarling, rng, n_threads) -> TestResult:
    n, m = x.size, y.size
    big_n = n + m
    if ends.size < 2:
        raise ValueError(
            "the Anderson-Darling statistic needs at least two distinct values in the pooled sample, "
            "got a single value"
        )
    lj = np.diff(np.concatenate([[0], ends])).astype(float)
    before = ends - lj
    after = big_n - ends.astype(float)
    if method.midrank:
        frac = 0.5
        b = before + lj / 2.0
        w = lj / (before * after + (before + after) * lj / 4.0)
        coef = (big_n - 1.0) / big_n**2 * (1.0 / n + 1.0 / m)
    else:
        frac = 1.0
        b = ends.astype(float)
        denom = b * (big_n - b)
        w = np.zeros_like(b)
        w[:-1] = lj[:-1] / denom[:-1]  # the last group (B = N) does not enter eq. 6
        coef = (1.0 / big_n) * (1.0 / n + 1.0 / m)
    args = (labels, ends, frac, b, w, n, big_n)
    s_obs = float(K.ad_sum_labels(*args))
    stat = coef * s_obs
    sigma_n = math.sqrt(_ad_variance(n, m))  # N >= 4 since both samples have >= 2 values
    standardized = (stat - 1.0) / sigma_n
    details: dict[str, Any] = {"standardized": standardized, "ties": bool(ends.size < big_n)}
    if method.n_permutations is None:
        z = 1.0 + _AD_INF_SD * standardized
        p = float(ad_inf_sf(z)) if z > 0 else 1.0
        check_finite_result("Anderson-Darling p-value", p)
        return TestResult(stat, p, method, n, m, pvalue_kind="asymptotic", details=details)
    return _permutation_test(K.perm_ad, args, s_obs, stat, method, n, m, details, rng, n_threads)


def _check_method(method: Any) -> TestMethod:
    if isinstance(method, type) and issubclass(method, TestMethod):
        raise TypeError(f"method must be an instance, e.g. {method.__name__}(), got the class itself")
    if not isinstance(method, TestMethod):
        raise TypeError(
            "method must be KolmogorovSmirnov(), CramerVonMises() or AndersonDarling(), "
            f"got {type(method).__name__}"
        )
    return method


@accepts_executor
def two_sample_test(
    x: Any,
    y: Any,
    *,
    method: TestMethod = KolmogorovSmirnov(),
    rng: RNGLike = None,
    n_threads: int | None = None,
) -> TestResult:
    r"""Test whether two independent samples come from the same law.

    .. math:: H_0:\ x_1,\dots,x_n \overset{iid}{\sim} F,\quad y_1,\dots,y_m \overset{iid}{\sim} G,
        \quad F = G

    against :math:`F \ne G`, with the statistic given by ``method`` (definitions and p-values in
    :class:`KolmogorovSmirnov`, :class:`CramerVonMises`, :class:`AndersonDarling`).

    Parameters
    ----------
    x, y : array_like, 1-D
        The samples (finite values; ``n >= 1`` for Kolmogorov–Smirnov, ``n >= 2`` otherwise).
    method : TestMethod, default ``KolmogorovSmirnov()``
        The statistic and how its p-value is obtained.
    rng : None, int, SeedSequence or Generator
        Randomness of permutation p-values (unused otherwise); see :mod:`stochdepth.random`.
    n_threads : int or None
        Threads for the permutation chunks (the result does not depend on it).

    Returns
    -------
    TestResult

    Raises
    ------
    ValueError
        Empty or too small samples, non-finite values, a single distinct value (Anderson–Darling).
    TypeError
        ``method`` is not a method instance.

    References
    ----------
    Hodges (1957), Anderson (1962), Scholz & Stephens (1987), Phipson & Smyth (2010); see the classes.

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.stats import two_sample_test, CramerVonMises
    >>> gen = np.random.default_rng(1)
    >>> x, y = gen.normal(size=300), gen.normal(0.5, 1.0, size=300)
    >>> res = two_sample_test(x, y)
    >>> res.pvalue < 1e-4
    True
    >>> res = two_sample_test(x, y, method=CramerVonMises(n_permutations=999), rng=7)
    >>> res.pvalue == 1 / 1000  # no relabelling reached the observed statistic
    True
    """
    method = _check_method(method)
    min_size = method._min_size
    x = check_array("x", x, ndim=1, min_size=min_size)
    y = check_array("y", y, ndim=1, min_size=min_size)
    n_threads = check_threads(n_threads)
    labels, ends = _labelled(x, y)
    if isinstance(method, KolmogorovSmirnov):
        return _two_sample_ks(x, y, labels, ends, method)
    if isinstance(method, CramerVonMises):
        return _two_sample_cvm(x, y, labels, ends, method, rng, n_threads)
    if isinstance(method, AndersonDarling):
        return _two_sample_ad(x, y, labels, ends, method, rng, n_threads)
    raise TypeError(f"two_sample_test does not support {type(method).__name__}")  # pragma: no cover


# ----------------------------------------------------------------------------------------------------
# One-sample tests
# ----------------------------------------------------------------------------------------------------


def _cdf_values(dist: Any, xs: np.ndarray) -> tuple[np.ndarray, Callable | None, Callable | None]:
    if hasattr(dist, "cdf") and callable(dist.cdf):
        cdf = dist.cdf
        logcdf = getattr(dist, "logcdf", None)
        logsf = getattr(dist, "logsf", None)
    elif callable(dist):
        cdf, logcdf, logsf = dist, None, None
    else:
        raise TypeError(
            "dist must have a vectorised cdf method (e.g. a frozen scipy.stats distribution) or be a "
            f"callable cdf, got {type(dist).__name__}"
        )
    u = np.asarray(cdf(xs), dtype=float)
    if u.shape != xs.shape:
        raise ValueError(f"dist.cdf must be vectorised: returned shape {u.shape} for input {xs.shape}")
    check_finite_result("dist.cdf", u)
    if np.any(u < -1e-12) or np.any(u > 1 + 1e-12):
        raise ValueError(
            f"dist.cdf must return values in [0, 1], got values in [{u.min():.6g}, {u.max():.6g}]"
        )
    return np.clip(u, 0.0, 1.0), logcdf, logsf


def one_sample_test(x: Any, dist: Any, *, method: TestMethod = KolmogorovSmirnov()) -> TestResult:
    r"""Test whether a sample comes from a fully specified continuous law :math:`F`.

    .. math:: H_0:\ x_1,\dots,x_n \overset{iid}{\sim} F

    with the statistic given by ``method`` computed from :math:`u_{(i)} = F(x_{(i)})` (definitions in
    :class:`KolmogorovSmirnov`, :class:`CramerVonMises`, :class:`AndersonDarling`). p-values:
    Kolmogorov–Smirnov exact (:data:`scipy.stats.kstwo`) or asymptotic; Cramér–von Mises and
    Anderson–Darling from their limit laws (accurate to :math:`O(1/n)`; with parameters estimated from
    the same data these p-values are not valid).

    Parameters
    ----------
    x : array_like, 1-D
        The sample (finite values, ``n >= 1``, ``n >= 2`` for Cramér–von Mises and Anderson–Darling).
    dist : object with a vectorised ``cdf``, or a callable cdf
        A frozen :mod:`scipy.stats` law, a library ``rv_continuous`` law, or any object whose ``cdf``
        maps an array to values in [0, 1]. ``logcdf``/``logsf`` are used by Anderson–Darling when present
        (accurate tails).
    method : TestMethod, default ``KolmogorovSmirnov()``
        The statistic.

    Returns
    -------
    TestResult
        ``n_y`` is ``None``. An observation where :math:`F` is 0 or 1 makes the Anderson–Darling
        statistic infinite and its p-value 0 (the sample cannot come from :math:`F`).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> from stochdepth.stats import one_sample_test, AndersonDarling
    >>> x = np.random.default_rng(2).normal(size=200)
    >>> one_sample_test(x, stats.norm()).pvalue > 0.01
    True
    >>> one_sample_test(x + 0.5, stats.norm(), method=AndersonDarling()).pvalue < 1e-6
    True
    """
    method = _check_method(method)
    x = check_array("x", x, ndim=1, min_size=method._min_size)
    xs = np.sort(x)
    n = xs.size
    u, logcdf, logsf = _cdf_values(dist, xs)
    i = np.arange(1, n + 1, dtype=float)
    if isinstance(method, KolmogorovSmirnov):
        d = float(max(np.max(i / n - u), np.max(u - (i - 1) / n)))
        exact = method.exact is not False
        p = float(_st.kstwo.sf(d, n)) if exact else float(special.kolmogorov(math.sqrt(n) * d))
        p = min(max(p, 0.0), 1.0)
        check_finite_result("Kolmogorov-Smirnov p-value", p)
        return TestResult(d, p, method, n, None, pvalue_kind="exact" if exact else "asymptotic")
    if isinstance(method, CramerVonMises):
        w2 = float(1.0 / (12 * n) + np.sum((u - (2 * i - 1) / (2 * n)) ** 2))
        p = float(cvm_inf_sf(w2))
        check_finite_result("Cramer-von Mises p-value", p)
        return TestResult(w2, p, method, n, None, pvalue_kind="asymptotic")
    if isinstance(method, AndersonDarling):
        with np.errstate(divide="ignore"):
            if callable(logcdf) and callable(logsf):
                lc = np.asarray(logcdf(xs), dtype=float)
                ls = np.asarray(logsf(xs), dtype=float)
            else:
                lc, ls = np.log(u), np.log1p(-u)
        if np.any(np.isnan(lc)) or np.any(np.isnan(ls)):
            check_finite_result("dist.logcdf/logsf", np.where(np.isnan(lc) | np.isnan(ls), np.nan, 0.0))
        total = np.sum((2 * i - 1) * (lc + ls[::-1]))
        a2 = float(-n - total / n) if np.isfinite(total) else math.inf
        p = float(ad_inf_sf(a2)) if math.isfinite(a2) else 0.0
        check_finite_result("Anderson-Darling p-value", p)
        return TestResult(a2, p, method, n, None, pvalue_kind="asymptotic")
    raise TypeError(f"one_sample_test does not support {type(method).__name__}")  # pragma: no cover
