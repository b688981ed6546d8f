"""Holm's step-down procedure and families of tests."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stochdepth.random import as_generator
from stochdepth.stats import FamilyResult, holm, test_family, two_sample_test


def test_holm_hand_worked_example():
    """m = 5, alpha = 0.05, p = (0.012, 0.001, 0.04, 0.013, 0.2).
    Sorted: 0.001 (H2), 0.012 (H1), 0.013 (H4), 0.04 (H3), 0.2 (H5); thresholds alpha/(m - i + 1):
    0.01, 0.0125, 0.01667, 0.025, 0.05.
      i=1: 0.001 <= 0.01    reject H2
      i=2: 0.012 <= 0.0125  reject H1
      i=3: 0.013 <= 0.01667 reject H4
      i=4: 0.04  >  0.025   stop: H3 and H5 are retained (although 0.2 > 0.05 anyway).
    Adjusted: running max of (5 * 0.001, 4 * 0.012, 3 * 0.013, 2 * 0.04, 1 * 0.2)
            = (0.005, 0.048, 0.048, 0.08, 0.2) -> in input order (0.048, 0.005, 0.08, 0.048, 0.2)."""
    res = holm([0.012, 0.001, 0.04, 0.013, 0.2], alpha=0.05)
    assert res.rejected.tolist() == [True, True, False, True, False]
    np.testing.assert_allclose(res.adjusted, [0.048, 0.005, 0.08, 0.048, 0.2], rtol=1e-12)
    assert res.n_rejected == 3 and res.alpha == 0.05
    # at alpha = 0.04 the second step fails (0.012 > 0.04/4 = 0.01): only H2 is rejected
    assert holm([0.012, 0.001, 0.04, 0.013, 0.2], alpha=0.04).rejected.tolist() == [
        False,
        True,
        False,
        False,
        False,
    ]


def _holm_brute(p, alpha):
    """The step-down rule and the adjusted p-values written out directly, with loops."""
    m = len(p)
    order = sorted(range(m), key=lambda i: (p[i], i))
    rejected = [False] * m
    for step, i in enumerate(order):
        if p[i] <= alpha / (m - step):
            rejected[i] = True
        else:
            break
    adjusted = [0.0] * m
    for step, i in enumerate(order):
        adjusted[i] = max(min(1.0, (m - j) * p[order[j]]) for j in range(step + 1))
    return rejected, adjusted


def test_holm_against_brute_force(seed):
    gen = as_generator(seed)
    for _ in range(200):
        m = int(gen.integers(1, 30))
        # mixture of small and uniform p-values, with exact ties
        p = np.where(gen.random(m) < 0.3, gen.random(m) * 0.01, gen.random(m))
        if m > 3:
            p[1] = p[0]
        alpha = float(gen.uniform(0.001, 0.3))
        res = holm(p, alpha)
        rej, adj = _holm_brute(p.tolist(), alpha)
        assert res.rejected.tolist() == rej
        np.testing.assert_allclose(res.adjusted, adj, rtol=1e-14)


def test_holm_controls_family_wise_error(seed):
    """2000 families of 10 independent uniform p-values (all nulls true): the fraction with any rejection
    is at most alpha + 5 binomial standard errors (for independent tests it is close to
    1 - (1 - alpha/10)^10 = 0.0489 < 0.05)."""
    gen = as_generator(seed)
    reps = 2000
    hits = sum(holm(gen.random(10), 0.05).rejected.any() for _ in range(reps))
    assert hits / reps <= 0.05 + 5 * math.sqrt(0.05 * 0.95 / reps)


def test_family_of_tests(seed):
    gen = as_generator(seed)
    fam = {f"same{k}": two_sample_test(gen.normal(size=80), gen.normal(size=80)) for k in range(3)}
    fam["shifted"] = two_sample_test(gen.normal(size=500), gen.normal(1.0, 1.0, size=500))
    res = test_family(fam, alpha=0.01)
    assert isinstance(res, FamilyResult)
    assert res.names == ("same0", "same1", "same2", "shifted")
    assert "shifted" in res.rejected_names and res.any_rejected  # KS p ~ 1e-50 for a 1 SD shift
    np.testing.assert_allclose(res.adjusted, holm(res.pvalues, 0.01).adjusted)
    assert "shifted" in res.summary() and "REJECT" in res.summary()
    # plain p-values are accepted too
    assert test_family({"a": 0.001, "b": 0.5}).rejected.tolist() == [True, False]


def test_validation():
    with pytest.raises(ValueError, match="at least 1"):
        holm([])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([0.5, 1.5])
    with pytest.raises(ValueError, match="finite"):
        holm([0.5, np.nan])
    with pytest.raises(ValueError, match="alpha"):
        holm([0.5], alpha=0.0)
    with pytest.raises(ValueError, match="alpha"):
        holm([0.5], alpha=1.0)
    with pytest.raises(TypeError, match="mapping"):
        test_family([0.1, 0.2])
    with pytest.raises(ValueError, match="empty"):
        test_family({})
    with pytest.raises(ValueError, match="pvalue"):
        test_family({"a": 2.0})
