"""Part B of the theorem book (theory/b1_model.py ... b6_bridge.py), beyond test_book.py.

* every claim of docs/science.md §B1, B2, B5, B6 is registered, with the provenance tags docs/science.md
gives it;
* every wrong variant names keyword arguments that the check accepts (so it fails on the comparison,
  not on a TypeError), and verdicts carry plain numbers;
* the machinery the checks rely on is right: path enumeration and brute force on hand-solved chains, the
  tree recursion, the tight and violating residual families, the monotone chains, the exact OU chain,
  the convergence criterion (the B6 network simulator is tested in tests/depth).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from seeding import seed_for

from stochdepth.stopping import is_monotone
from stochdepth.testing.generators import random_monotone_problem
from stochdepth.testing.references import brute_force_rules
from stochdepth.testing.strategies import residual_families
from theory import BOOK
from theory.b1_model import chain_snell, enumerate_paths, late_chain, random_chain, tie_chain
from theory.b2_finite_depth import own_bounds, pathwise_tau, straight_family, violating_family
from theory.b5_continuous import ou_chain
from theory.common import Criteria, at_most, close, convergence, plain, stream

SEED_CLASSICAL = ("seed", "classical")
SEED_DERIVED = ("seed", "derived")
# docs/science.md: B1 [seed framing; formulation classical]; B2 [seed: finite expected depth; precise
# statements
# derived], one-step look-ahead optimal in the monotone case [classical]; B5 [seed: connection;
# formulation classical], its closed-form check [derived]; B6 [derived].
EXPECTED_TAGS = {
    "B1.snell-envelope": SEED_CLASSICAL,
    "B1.smallest-optimal": SEED_CLASSICAL,
    "B1.infinite-horizon": SEED_CLASSICAL,
    "B2.bounded-gains": SEED_DERIVED,
    "B2.summable-residuals": SEED_DERIVED,
    "B2.geometric-depth": SEED_DERIVED,
    "B2.one-step-look-ahead": ("classical",),
    "B5.obstacle-problem": SEED_CLASSICAL,
    "B5.noiseless-closed-form": ("derived",),
    "B5.discrete-analogue": ("derived",),
    "B6.threshold-value": ("derived",),
    "B6.depth-law": ("derived",),
    "B6.width-threshold": ("derived",),
}
PART_B = sorted(cid for cid in BOOK if cid.startswith("B"))


def test_every_part_b_claim_is_registered_with_its_tags():
    assert sorted(EXPECTED_TAGS) == PART_B
    for cid, tags in EXPECTED_TAGS.items():
        assert BOOK[cid].tags == tags, cid
    assert {BOOK[cid].section for cid in PART_B} == {"B1", "B2", "B5", "B6"}


@pytest.mark.parametrize("cid", ["B1.snell-envelope", "B2.bounded-gains", "B6.width-threshold"])
def test_evidence_is_plain_and_names_failed_criteria(cid):
    c = BOOK[cid]
    v = c.check("quick", seed=seed_for(cid))
    json.dumps(dict(v.evidence))  # plain numbers, strings and lists only
    # at least two criteria that are evidence (consistency checks are counted apart)
    assert v.evidence["failed"] == [] and v.evidence["criteria"] >= 2
    assert v.evidence["consistency"] == list(v.consistency)
    name, variant = next(iter(c.wrong_variants.items()))
    bad = c.check("quick", seed=seed_for(cid), **variant)
    assert bad.evidence["failed"], name


# ----------------------------------------------------------------------------------------------------
# B1 machinery
# ----------------------------------------------------------------------------------------------------


def test_enumeration_and_brute_force_on_the_tie_chain():
    """Tie chain: from state 0, stop (payoff 0) or pay 1/4 for a fair coin between 0 and 1/2: both rules
    are worth exactly 0; the history rules are the 2^2 decisions at (s_0 = 0) and (s_0 = 1)."""
    ch = tie_chain()
    paths = enumerate_paths(ch)
    assert math.isclose(paths.prob.sum(), 1.0)
    assert paths.n_hist == 2 and paths.states.shape == (4, 2)
    values, taus = brute_force_rules(paths)
    np.testing.assert_allclose(values, 0.0, atol=1e-15)
    assert taus.shape == (4, 4)
    value, tau = chain_snell(ch)
    assert value == 0.0
    assert np.all(tau[paths.prob > 0] == 0)  # the tie stops: smallest optimal time
    _, late = chain_snell(ch, rule="ties-continue")
    assert np.all(late[paths.prob > 0] == 1)


def test_tree_recursion_on_the_wait_through_a_loss_chain():
    """0 -> 1 -> 2 with gains 0, -1, 2 and cost 0.1: waiting two layers pays 2 - 0.2 = 1.8 (the maximum of
    the brute force); the myopic rule (one layer ahead looks like a loss of 1.1) stops at once."""
    ch = late_chain()
    paths = enumerate_paths(ch)
    values, _ = brute_force_rules(paths)
    assert math.isclose(values.max(), 1.8)
    v, tau = chain_snell(ch)
    assert math.isclose(v, 1.8) and tau[paths.prob > 0].tolist() == [2]
    _, myopic = chain_snell(ch, rule="myopic")
    assert myopic[paths.prob > 0].tolist() == [0]


def test_tree_recursion_matches_brute_force_on_random_chains(seed):
    rng = np.random.default_rng(stream(seed, "test-tree"))
    for S, L in ((2, 3), (3, 2)):
        ch = random_chain(rng, S, L)
        paths = enumerate_paths(ch)
        values, _ = brute_force_rules(paths)
        v, tau = chain_snell(ch)
        assert close(v, float(values.max()))
        assert close(float(paths.prob @ paths.Z[np.arange(tau.size), tau]), v)
        v_nomax, _ = chain_snell(ch, envelope="no-max")
        # without the max the "envelope" is E Z_L, the value of never stopping early
        assert close(v_nomax, float(paths.prob @ paths.Z[:, -1]))


# ----------------------------------------------------------------------------------------------------
# B2 machinery
# ----------------------------------------------------------------------------------------------------


def test_tight_families_reach_their_bounds(seed):
    """Constant steps: tau* = L on every input (bound L/u, tightness u); geometric steps: tau* = l_bar."""
    rng = np.random.default_rng(stream(seed, "test-tight"))
    fam = straight_family(rng, geometric=False)
    prob = fam.problem
    assert np.all(pathwise_tau(prob) == prob.horizon)
    assert 0.6 <= float(prob.costs[0]) / fam.C <= 0.95
    geo = straight_family(rng, geometric=True)
    lbar = math.ceil(math.log(float(geo.problem.costs[0]) / geo.C) / math.log(geo.rho))
    assert np.all(pathwise_tau(geo.problem) == lbar) and lbar < geo.problem.horizon


def test_violating_families_break_the_conclusions(seed):
    rng = np.random.default_rng(stream(seed, "test-violating"))
    steep = violating_family(rng, "steep-gain")
    bound = float(steep.envelope.sum()) / float(steep.problem.costs[0])
    assert pathwise_tau(steep.problem)[0] == steep.problem.horizon > bound
    grow = violating_family(rng, "growing")
    lbar = math.ceil(math.log(float(grow.problem.costs[0]) / grow.C) / math.log(grow.rho))
    assert pathwise_tau(grow.problem)[0] == grow.problem.horizon > lbar


@given(residual_families(satisfying=True, kind=None))
def test_own_bound_formulas_hold_on_the_public_strategy_families(fam):
    """The bounds as the book computes them (independently of stochdepth.stopping.bounds) hold on the
    residual families of stochdepth.testing.strategies: geometric, polynomially summable and bounded-gain
    ones."""
    own = own_bounds(fam.problem, fam.lipschitz, fam.residual_bounds, fam.C, fam.rho)
    assert at_most(own["e_tau"], own["bounded"])
    assert at_most(own["e_tau"], own["summable"])
    if fam.kind == "geometric":
        assert own["max_tau"] <= max(0, math.ceil(own["ratio"]))


def test_monotone_chains_are_monotone(seed):
    rng = np.random.default_rng(stream(seed, "test-monotone"))
    for _ in range(20):
        assert is_monotone(random_monotone_problem(rng))


# ----------------------------------------------------------------------------------------------------
# B5-B6 machinery
# ----------------------------------------------------------------------------------------------------


def test_ou_chain_is_stochastic_with_the_exact_mean():
    """Rows sum to 1; away from the edges the mean of a step is h e^{-kappa dt}: the cells have width
    sd / 8, and by Poisson summation the mean of a Gaussian binned to cell centres differs from its mean by
    O(delta exp(-2 pi^2 sd^2 / delta^2)) = O(e^{-1000}); the band of +-10 sd drops O(e^{-50})."""
    x, sol = ou_chain(1 / 16)
    P = sol.problem.chain.csr(0).toarray()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    inner = np.abs(x) < 1.5
    np.testing.assert_allclose((P @ x)[inner], x[inner] * math.exp(-1 / 16), atol=1e-12)


# ----------------------------------------------------------------------------------------------------
# Common machinery
# ----------------------------------------------------------------------------------------------------


def test_convergence_criterion_accepts_the_predicted_rate_and_rejects_an_offset():
    h = np.array([1 / 16, 1 / 32, 1 / 64])
    crit = Criteria()
    assert convergence(crit, "ok", h, 1.0 + 0.3 * h + 0.5 * h**2, 1.0, 1.0)
    assert not convergence(crit, "offset", h, 1.01 + 0.3 * h, 1.0, 1.0)
    assert not convergence(crit, "wrong-order", h, 1.0 + 0.3 * np.sqrt(h), 1.0, 1.0)
    assert convergence(crit, "half", h, 1.0 + 0.3 * np.sqrt(h) + 0.1 * h, 1.0, 0.5)
    v = crit.verdict("synthetic")
    assert not v.passed and v.evidence["failed"] == ["offset", "wrong-order"]


def test_plain_and_close():
    assert plain(np.float64(1.234567891)) == 1.23457
    assert plain(np.array([1, 2])) == [1, 2] and plain(np.bool_(True)) is True
    assert close(1.0, 1.0 + 1e-12) and not close(1.0, 1.0 + 1e-6)
    assert not close(math.nan, math.nan)


@pytest.mark.slow
@pytest.mark.parametrize("cid", ["B1.snell-envelope", "B2.geometric-depth", "B5.discrete-analogue"])
def test_full_level_passes(cid):
    assert BOOK[cid].check("full", seed=seed_for(cid)).passed
