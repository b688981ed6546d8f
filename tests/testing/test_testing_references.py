"""stochdepth.testing.references and .quantlib: the tree references agree with the library and with each
other; QuantLib is optional and its absence says how to install it."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import norm

from stochdepth.stopping import BackwardInduction, solve_stopping
from stochdepth.testing import generators as G
from stochdepth.testing import references as R


def test_tree_snell_equals_best_rule_and_backward_induction(seed):
    gen = np.random.default_rng(seed)
    for S, L in ((2, 1), (2, 3), (3, 2)):
        prob = G.random_lattice_chain(gen, S, L).problem()
        arrays = R.problem_arrays(prob)
        paths = R.enumerate_histories(*arrays)
        assert paths.prob.sum() == pytest.approx(1.0) and paths.states.shape == (S ** (L + 1), L + 1)
        values, _ = R.brute_force_rules(paths)
        value, tau = R.tree_snell(*arrays)
        sol = solve_stopping(prob, BackwardInduction())
        assert value == pytest.approx(values.max(), abs=1e-9)
        assert value == pytest.approx(sol.value(), abs=1e-9)
        assert value == pytest.approx(R.enumerate_markov_rules(prob), abs=1e-9)
        np.testing.assert_allclose(R.stopping_law(paths, tau), sol.depth_law().pmf, atol=1e-9)
        no_max, _ = R.tree_snell(*arrays, envelope="no-max")
        assert no_max == pytest.approx(float(paths.prob @ paths.Z[:, -1]))


def test_tree_references_reject_what_they_cannot_do():
    with pytest.raises(ValueError, match="finite horizon"):
        R.problem_arrays(G.random_lattice_problem(0, 3))
    P, Z, mu = R.problem_arrays(G.random_lattice_problem(0, 2, horizon=1))
    with pytest.raises(ValueError, match="rule"):
        R.tree_snell(P, Z, mu, rule="largest")


def test_missing_quantlib_names_the_validation_extra():
    code = (
        "import sys\n"
        "sys.modules['QuantLib'] = None\n"
        "from stochdepth.testing.quantlib import american_put\n"
        "try:\n"
        "    american_put(100.0, 100.0, 0.05, 0.0, 0.2, 1.0)\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "stochdepth[validation]" in res.stdout, res.stderr


def test_quantlib_put_reports_the_year_fraction_it_priced():
    pytest.importorskip("QuantLib")
    from stochdepth.testing.quantlib import american_put

    put = american_put(100.0, 100.0, 0.05, 0.0, 0.2, 0.5)
    assert put.tau == pytest.approx(round(0.5 * 365) / 365)
    # above the European price (Black-Scholes, same year fraction) by an early-exercise premium < 0.5
    d1 = (0.05 + 0.02) * put.tau / (0.2 * math.sqrt(put.tau))
    euro = 100.0 * math.exp(-0.05 * put.tau) * norm.cdf(0.2 * math.sqrt(put.tau) - d1) - 100.0 * norm.cdf(-d1)
    assert euro < put.price < euro + 0.5 and put.option.NPV() == put.price
