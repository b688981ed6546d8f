"""Part A of the theorem book (theory/a1_network.py ... a6_sequential.py), beyond test_book.py.

* every claim of docs/science.md §A1-A6 is registered, with the provenance tags docs/science.md gives it;
* every wrong variant names keyword arguments that the check accepts (so it fails on the comparison,
  not on a TypeError);
* verdicts carry their numbers as plain values;
* the small statistical and symbolic helpers the checks rely on are right.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from seeding import seed_for

from theory import BOOK
from theory.common import (
    Criteria,
    gaussian_expectation,
    log_slope,
    plain,
    stream,
    sympy_equal_on_grid,
    wls,
)

SEED_DERIVED = ("seed", "derived")
# Provenance as docs/science.md states it: A1 [seed + derived]; A2 [derived]; A3 [seed; exact statement
# derived]
# with the Euler-Maruyama rates [classical] and "not Gaussian at finite n" [seed]; A4 [derived]; A5
# [derived], its bullet "change of regime between width 3 and 4" (D(n), the sign table, the long-depth
# decay) [seed; this reading derived]; A6 [seed; formulas derived].
EXPECTED_TAGS = {
    "A1.branch-scaling": SEED_DERIVED,
    "A2.euler-in-law": ("derived",),
    "A2.mean-square-identity": ("derived",),
    "A3.weak-error-rate": ("classical",),
    "A3.strong-error-rate": ("classical",),
    "A3.second-moment-identity": SEED_DERIVED,
    "A3.shared-clock": SEED_DERIVED,
    "A3.non-gaussian": ("seed",),
    "A4.norm-lognormal": ("derived",),
    "A4.norm-moments": ("derived",),
    "A4.direction": ("derived",),
    "A4.finite-depth-walk": ("derived",),
    "A4.neuron-law": ("derived",),
    "A5.norm-identity": ("derived",),
    "A5.dead-probability": ("derived",),
    "A5.width-one": ("derived",),
    "A5.log-drift": SEED_DERIVED,
    "A5.regime-3-4": SEED_DERIVED,
    "A5.long-depth-decay": SEED_DERIVED,
    "A6.variance-ode": SEED_DERIVED,
    "A6.width-first-euler": SEED_DERIVED,
    "A6.kernel-ode": SEED_DERIVED,
    "A6.fluctuations": SEED_DERIVED,
    "A6.commutation": SEED_DERIVED,
}
PART_A = sorted(cid for cid in BOOK if cid.startswith("A"))


def test_every_part_a_claim_is_registered_with_its_tags():
    assert sorted(EXPECTED_TAGS) == PART_A
    for cid, tags in EXPECTED_TAGS.items():
        assert BOOK[cid].tags == tags, cid
    assert {c.section for c in (BOOK[cid] for cid in PART_A)} == {f"A{k}" for k in range(1, 7)}


def _is_plain(v):
    if isinstance(v, (bool, int, float, str)):
        return True
    if isinstance(v, list):
        return all(_is_plain(u) for u in v)
    return isinstance(v, dict) and all(isinstance(k, str) and _is_plain(u) for k, u in v.items())


@pytest.mark.parametrize("cid", ["A2.mean-square-identity", "A5.dead-probability"])
def test_verdict_evidence_holds_plain_numbers(cid):
    v = BOOK[cid].check("quick", seed=seed_for(cid))  # test_book's seed: its simulations are cached
    assert v.passed, dict(v.evidence)
    assert v.evidence["criteria"] >= 2 and v.evidence["failed"] == []
    assert all(_is_plain(x) for x in v.evidence.values())
    assert sum(isinstance(x, float) for x in v.evidence.values()) >= 3  # the numbers behind the verdict


def test_criteria_fail_when_one_fails_and_when_empty():
    c = Criteria()
    assert not c.verdict("m").passed  # no criterion: nothing was checked
    c.add("a", True, value=1.0)
    c.add("b", False, z=7.0)
    v = c.verdict("m")
    assert (
        not v.passed and v.evidence["failed"] == ["b"] and v.evidence["b.z"] == 7.0 and v.evidence["a"] == 1.0
    )


def test_plain_values():
    assert plain(np.float64(1.23456789)) == 1.23457
    assert plain(np.arange(3)) == [0, 1, 2]
    assert plain(sp.Rational(1, 21)) == "1/21"
    assert plain(np.bool_(True)) is True


def test_gaussian_expectation_uses_the_moment_generating_function():
    w, s2, a = sp.Symbol("w", real=True), sp.Symbol("s2", positive=True), sp.Symbol("a", real=True)
    assert gaussian_expectation(w**2, w, s2) == s2
    assert gaussian_expectation(w**4, w, s2) == 3 * s2**2  # Gaussian fourth moment
    assert sp.simplify(gaussian_expectation(sp.exp(a * w), w, s2) - sp.exp(a**2 * s2 / 2)) == 0
    # E[W e^{aW}] = a s2 e^{a^2 s2 / 2} (derivative of the mgf)
    assert sp.simplify(gaussian_expectation(w * sp.exp(a * w), w, s2) - a * s2 * sp.exp(a**2 * s2 / 2)) == 0
    with pytest.raises(ValueError):
        gaussian_expectation(sp.sin(w), w, s2)


def test_wls_and_log_slope_recover_exact_laws():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    fit = wls(x, 3.0 + 2.0 / x, np.full(4, 0.1), [np.ones_like, lambda u: 1.0 / u])
    assert np.allclose(fit["beta"], [3.0, 2.0]) and fit["chi2"] < 1e-20 and fit["dof"] == 2
    slope, se = log_slope(x, 5.0 * x**-0.5, 0.01 * x**-0.5)
    assert abs(slope + 0.5) < 1e-12 and se > 0


def test_sympy_equal_on_grid_detects_a_wrong_formula():
    n = sp.Symbol("n", positive=True)
    expr = sp.Rational(1, 4) / (1 - 2**-n) - 1 / n  # D(n) of docs/science.md §A5
    grid = [(k,) for k in range(1, 9)]
    assert sympy_equal_on_grid(expr, (n,), lambda k: 0.25 / (1 - 2.0**-k) - 1 / k, grid)[0]
    ok, worst = sympy_equal_on_grid(expr, (n,), lambda k: 0.25 - 1 / k, grid)
    assert not ok and worst > 0.1


def test_streams_are_reproducible_and_independent():
    a = np.random.default_rng(stream(7, "x", 1)).standard_normal(4)
    b = np.random.default_rng(stream(7, "x", 1)).standard_normal(4)
    c = np.random.default_rng(stream(7, "x", 2)).standard_normal(4)
    d = np.random.default_rng(stream(8, "x", 1)).standard_normal(4)
    assert np.array_equal(a, b) and not np.array_equal(a, c) and not np.array_equal(a, d)
    assert math.isfinite(float(a.sum()))
