"""Exact Snell envelopes of Markov chains: brute force, storage formats, infinite horizon, depth laws."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings

from stochdepth import ConvergenceError, Status
from stochdepth.stopping import (
    BackwardInduction,
    BandedTransitions,
    MarkovStoppingProblem,
    PolicyIteration,
    ValueIteration,
    random_walk_transitions,
    solve_stopping,
)
from stochdepth.testing import references as ref
from stochdepth.testing.generators import random_banded_rows

from .strategies import infinite_problems, markov_problems


def _dense(prob: MarkovStoppingProblem) -> np.ndarray:
    L = prob.horizon or 1
    return np.stack([prob.chain.csr(l).toarray() for l in range(L if prob.chain.n_matrices > 1 else 1)])


# ----------------------------------------------------------------------------------------------------
# finite horizon against brute force
# ----------------------------------------------------------------------------------------------------


@given(markov_problems())
def test_backward_induction_matches_tree_of_histories(prob: MarkovStoppingProblem) -> None:
    """Value and law of the smallest optimal stopping time equal the brute-force Snell envelope computed
    on the tree of histories (exact arithmetic up to rounding: 1e-9)."""
    sol = solve_stopping(prob, BackwardInduction())
    arrays = ref.problem_arrays(prob)
    value, tau = ref.tree_snell(*arrays)
    pmf = ref.stopping_law(ref.enumerate_histories(*arrays), tau)
    assert sol.value() == pytest.approx(value, abs=1e-9)
    law = sol.depth_law()
    np.testing.assert_allclose(law.pmf, pmf, atol=1e-9)
    assert law.mean.value == pytest.approx(pmf @ np.arange(pmf.size), abs=1e-9)


@settings(max_examples=15)
@given(markov_problems(max_states=3, max_horizon=3))
def test_snell_value_is_best_markov_rule(prob: MarkovStoppingProblem) -> None:
    """No deterministic Markov rule (all 2^(S L) enumerated) beats the Snell value, and one attains it."""
    sol = solve_stopping(prob)
    assert ref.enumerate_markov_rules(prob) == pytest.approx(sol.value(), abs=1e-9)


@given(markov_problems(max_states=5, max_horizon=5))
def test_storage_formats_agree(prob: MarkovStoppingProblem) -> None:
    """Dense, banded and sparse storage give identical values and stopping regions (numba kernels vs BLAS)."""
    dense = _dense(prob)
    mats = dense[0] if dense.shape[0] == 1 else dense
    kw = {"horizon": prob.horizon, "discount": prob.discount, "initial": prob.initial}
    g = prob.gains if prob.gains.shape[0] > 1 else prob.gains[0]
    c = prob.costs
    base = solve_stopping(MarkovStoppingProblem(mats, g, c, **kw))
    banded = solve_stopping(MarkovStoppingProblem(BandedTransitions.from_dense(mats), g, c, **kw))
    sparse = [sp.csr_array(m) for m in dense] if dense.shape[0] > 1 else sp.csr_array(dense[0])
    spsol = solve_stopping(MarkovStoppingProblem(sparse, g, c, **kw))
    for other in (banded, spsol):
        np.testing.assert_allclose(other.values, base.values, rtol=1e-13, atol=1e-13)
        np.testing.assert_array_equal(other.stop, base.stop)


def test_banded_kernel_matches_numpy_reference(seed: int) -> None:
    """The numba banded kernel equals the plain numpy banded implementation on a large random chain."""
    rng = np.random.default_rng(seed)
    n, w, lower, L = 300, 7, 3, 40
    bands = rng.random((L, n, w))
    s = np.arange(n)[:, None] - lower + np.arange(w)[None, :]
    bands[:, (s < 0) | (s >= n)] = 0.0
    bands /= bands.sum(axis=2, keepdims=True)
    gains = rng.normal(size=(L + 1, n))
    costs = rng.random(L) * 0.1
    prob = MarkovStoppingProblem(BandedTransitions(bands, lower), gains, costs)
    sol = solve_stopping(prob)
    v, st = ref.banded_backward_induction(bands, lower, gains, costs, 1.0, 1e-11)
    np.testing.assert_allclose(sol.values, v, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(sol.stop, st)
    vd = ref.dense_backward_induction(BandedTransitions(bands, lower).to_dense(), gains, costs, 1.0)
    np.testing.assert_allclose(sol.values, vd, rtol=1e-12, atol=1e-12)


def test_hand_computed_example() -> None:
    """Two states, absorbing success state: V_2(0) = -0.1 + 0.5*1 = 0.4, V_1(0) = -0.1 + 0.5*0.4 + 0.5 = 0.6,
    V_0(0) = -0.1 + 0.5*0.6 + 0.5 = 0.7; tau* = first passage to state 1 (or L = 3)."""
    prob = MarkovStoppingProblem([[0.5, 0.5], [0.0, 1.0]], [0.0, 1.0], costs=0.1, horizon=3, initial=0)
    sol = solve_stopping(prob)
    np.testing.assert_allclose(sol.values[:, 0], [0.7, 0.6, 0.4, 0.0], atol=1e-15)
    np.testing.assert_allclose(sol.depth_law().pmf, [0.0, 0.5, 0.25, 0.25], atol=1e-15)
    assert sol.depth_law().quantile(0.5) == 1.0
    assert sol.depth_law().quantile(0.8) == 3.0


def test_discount_is_discounted_gains() -> None:
    """A discount beta equals the undiscounted problem with gains beta^l g and costs beta^l c."""
    rng = np.random.default_rng(3)
    P = rng.random((4, 4))
    P /= P.sum(1, keepdims=True)
    g = rng.normal(size=4)
    L, beta, c = 6, 0.9, 0.05
    a = solve_stopping(MarkovStoppingProblem(P, g, c, horizon=L, discount=beta, initial=0))
    G = np.array([beta**l * g for l in range(L + 1)])
    b = solve_stopping(MarkovStoppingProblem(P, G, c * beta ** np.arange(L), initial=0))
    assert a.value() == pytest.approx(b.value(), abs=1e-13)
    np.testing.assert_array_equal(a.stop, b.stop)


def test_depth_law_matches_simulation(seed: int) -> None:
    """The exact law of tau* against 20 000 simulated chain paths stopped by the Snell policy: the mean
    within 5 standard errors and every probability within 5 binomial standard errors (+1e-3)."""
    rng = np.random.default_rng(seed)
    P = rng.random((5, 5)) ** 3
    P /= P.sum(1, keepdims=True)
    prob = MarkovStoppingProblem(P, rng.normal(size=5), 0.05, horizon=8, initial=np.full(5, 0.2))
    sol = solve_stopping(prob)
    law = sol.depth_law()
    ev = sol.policy.evaluate(prob.sample_paths(20_000, rng=seed))
    assert abs(ev.depth.mean.value - law.mean.value) < 5 * ev.depth.mean.stderr + 1e-12
    se = np.sqrt(law.pmf * (1 - law.pmf) / 20_000)
    assert np.all(np.abs(ev.depth.pmf - law.pmf) <= 5 * se + 1e-3)
    assert abs(ev.value.value - sol.value()) < 5 * ev.value.stderr


# ----------------------------------------------------------------------------------------------------
# infinite horizon
# ----------------------------------------------------------------------------------------------------


@given(infinite_problems())
def test_value_and_policy_iteration_agree_within_certified_bounds(prob: MarkovStoppingProblem) -> None:
    """Policy iteration and value iteration are both certified and their intervals overlap; the policy's
    stopping region and law of tau* are consistent with the values."""
    pi = solve_stopping(prob, PolicyIteration())
    vi = solve_stopping(prob, ValueIteration(tol=1e-9))
    assert pi.status is Status.CERTIFIED and vi.status is Status.CERTIFIED
    assert vi.error_bound <= 1e-9
    tol = 1e-10 * (1 + np.abs(pi.values))
    assert np.all(pi.values <= vi.upper + tol) and np.all(vi.values <= pi.upper + tol)
    np.testing.assert_allclose(pi.values, vi.values, atol=2e-9 + pi.error_bound)
    law = pi.depth_law()
    if prob.costs[0] > 0:  # E tau* <= (max g - min g) / c (docs/science.md §B2) is finite
        assert math.isfinite(law.mean.value)
    else:  # beta < 1, c = 0: never stopping may be optimal in the limit (tau* = inf where V > g)
        assert math.isfinite(law.mean.value) or law.tail > 0
    assert law.pmf.sum() + law.tail == pytest.approx(1.0, abs=1e-9)


@given(infinite_problems(max_states=4))
def test_finite_horizons_increase_to_infinite_value(prob: MarkovStoppingProblem) -> None:
    """V^(L)_0 is non-decreasing in L and converges to the infinite-horizon value (gap <= 1e-6 at L = 400,
    and the gap at every L is within the certified interval)."""
    inf = solve_stopping(prob, PolicyIteration())
    prev = -np.inf * np.ones(prob.n_states)
    for L in (1, 2, 5, 20, 100, 400):
        v = solve_stopping(prob.with_horizon(L)).values[0]
        assert np.all(v >= prev - 1e-12)
        assert np.all(v <= inf.upper + 1e-10 * (1 + np.abs(v)))
        prev = v
    assert np.max(inf.values - prev) <= 1e-6


def test_value_iteration_reports_gap_on_slow_problem() -> None:
    """A lazy random walk to an absorbing prize (slow convergence): value iteration stops only when the
    certified gap is below tol, and the value matches the closed form V(s) = 1 - c * E[steps to the end]
    = 1 - 0.01 * 2 (n - 1 - s) for a walk that moves up with probability 1/2 and stays otherwise."""
    n = 60
    P = np.zeros((n, n))
    for s in range(n - 1):
        P[s, s] = P[s, s + 1] = 0.5
    P[-1, -1] = 1.0
    g = np.zeros(n)
    g[-1] = 1.0
    prob = MarkovStoppingProblem(BandedTransitions.from_dense(P), g, 0.01, initial=0)
    vi = solve_stopping(prob, ValueIteration(tol=1e-8))
    assert vi.status is Status.CERTIFIED
    exact = 1 - 0.01 * 2 * (n - 1 - np.arange(n))
    cont = exact > 0
    np.testing.assert_allclose(vi.values[cont], exact[cont], atol=1e-8)
    assert vi.iterations > 100 and vi.error_bound <= 1e-8
    pi = solve_stopping(prob, PolicyIteration())
    # from s = 20 (V > g there): 39 moves, each a geometric(1/2) number of layers -> E tau* = 78
    assert pi.depth_law(initial=20).mean.value == pytest.approx(78.0, rel=1e-10)
    assert pi.depth_law(initial=0).mean.value == 0.0  # 1 - 0.01 * 118 < 0: stop at once


def test_certificate_fails_gracefully_without_costs() -> None:
    """c = 0 and beta = 1 on a closed class with constant gain: the value is still g, but no supersolution
    certificate through exit times exists; the solver reports it instead of a wrong bound."""
    P = np.array([[0.5, 0.5], [0.5, 0.5]])
    prob = MarkovStoppingProblem(P, [1.0, 1.0], 0.0, initial=0)
    sol = solve_stopping(prob, PolicyIteration(), throw=False)
    assert sol.status is Status.NOT_CERTIFIED and not sol.success and "no certificate" in sol.message
    assert sol.value() == 1.0
    assert sol.stop.all()
    with pytest.raises(ConvergenceError, match="NOT_CERTIFIED") as err:
        solve_stopping(prob, PolicyIteration())
    assert err.value.result.value() == 1.0


# ----------------------------------------------------------------------------------------------------
# random walks on grids
# ----------------------------------------------------------------------------------------------------


def test_random_walk_transitions_moments() -> None:
    """Cell probabilities of N(mu, s^2) on a grid: mean exact up to rounding, variance s^2 + h^2/12
    (Sheppard's correction for rounding to the grid), rows stochastic with lumped edges."""
    from scipy import stats

    mu, s, h, n = 0.013, 0.1, 0.01, 400
    P = random_walk_transitions(stats.norm(mu, s).cdf, h, n)
    row = P.bands[0, n // 2]
    k = (np.arange(P.width) - P.lower) * h
    assert row @ k == pytest.approx(mu, abs=1e-12)
    assert row @ k**2 - (row @ k) ** 2 == pytest.approx(s * s + h * h / 12, rel=1e-6)
    np.testing.assert_allclose(P.bands.sum(axis=2), 1.0, atol=1e-12)


# ----------------------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"transitions": [[0.5, 0.4], [0.0, 1.0]]}, ValueError, "row-stochastic"),
        ({"transitions": [[1.5, -0.5], [0.0, 1.0]]}, ValueError, "non-negative"),
        ({"transitions": [[np.nan, 1.0], [0.0, 1.0]]}, ValueError, "finite"),
        ({"transitions": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]}, ValueError, "square"),
        ({"gains": [0.0, 1.0, 2.0]}, ValueError, "2 states"),
        ({"gains": [0.0, np.inf]}, ValueError, "finite"),
        ({"costs": -0.1}, ValueError, "costs must be >= 0"),
        ({"costs": np.nan}, ValueError, "finite"),
        ({"costs": [0.1, -0.1, 0.1]}, ValueError, ">= 0"),
        ({"costs": [0.1, 0.1]}, ValueError, "inconsistent horizon"),
        ({"horizon": 0}, ValueError, "horizon must be an int >= 1"),
        ({"horizon": 2.5}, TypeError, "horizon must be an int"),
        ({"discount": 1.5}, ValueError, "discount"),
        ({"initial": [0.5, 0.6]}, ValueError, "probability vector"),
        ({"initial": 5}, ValueError, "initial"),
        ({"transitions": "abc"}, TypeError, "transitions"),
    ],
)
def test_bad_input(kwargs: dict, exc: type, match: str) -> None:
    args = {"transitions": [[0.5, 0.5], [0.0, 1.0]], "gains": [0.0, 1.0], "costs": 0.1, "horizon": 3}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        MarkovStoppingProblem(
            args.pop("transitions"), args.pop("gains"), args.pop("costs"), args.pop("horizon"), **args
        )


def test_bad_input_layers_and_solvers() -> None:
    P = np.full((3, 2, 2), 0.5)
    with pytest.raises(ValueError, match="inconsistent horizon"):
        MarkovStoppingProblem(P, [0.0, 1.0], 0.1, horizon=4)
    with pytest.raises(ValueError, match="costs must be a scalar"):
        MarkovStoppingProblem(P[0], [0.0, 1.0], [[0.1, 0.1]])
    inf = MarkovStoppingProblem(P[0], [0.0, 1.0], 0.1)
    with pytest.raises(ValueError, match="finite horizon"):
        solve_stopping(inf, BackwardInduction())
    fin = MarkovStoppingProblem(P[0], [0.0, 1.0], 0.1, horizon=2)
    with pytest.raises(ValueError, match="infinite-horizon"):
        solve_stopping(fin, PolicyIteration())
    with pytest.raises(ValueError, match="initial is required"):
        solve_stopping(fin).value()
    with pytest.raises(ValueError, match="outside the state space"):
        BandedTransitions([[0.5, 0.5], [0.5, 0.5]], lower=1)
    with pytest.raises(ValueError, match="tol"):
        ValueIteration(tol=0.0)
    with pytest.raises(TypeError, match="does not apply"):
        from stochdepth.stopping import LongstaffSchwartz

        solve_stopping(fin, LongstaffSchwartz())


def test_banded_mmatrix_solver_matches_dense(seed: int) -> None:
    """The no-pivoting banded solver used for policy evaluation equals numpy's dense LU on I - beta P_II
    (a random sub-stochastic banded matrix), and reports a singular system (a closed class) as an error."""
    from stochdepth.stopping.evaluation import solve_restricted

    rng = np.random.default_rng(seed)
    n, lower, w = 400, 5, 11
    bands = random_banded_rows(rng, n, w, lower)
    P = BandedTransitions(bands, lower).to_dense()
    idx = np.arange(20, 380)  # leaving the index set is the exit
    rhs = rng.normal(size=idx.size)
    x = solve_restricted(sp.csr_array(P), idx, 1.0, rhs)
    ref_x = np.linalg.solve(np.eye(idx.size) - P[np.ix_(idx, idx)], rhs)
    np.testing.assert_allclose(x, ref_x, rtol=1e-9, atol=1e-9)
    closed = np.eye(n)  # every state absorbing: I - P_II = 0
    with pytest.raises(np.linalg.LinAlgError):
        solve_restricted(sp.csr_array(closed), np.arange(n), 1.0, np.ones(n))


def test_sampled_transitions_follow_the_chain(seed: int) -> None:
    """Empirical one-layer transition frequencies of sample_paths (banded and layer-dependent dense storage)
    match P within 5 binomial standard errors (+1e-3)."""
    rng = np.random.default_rng(seed)
    P = rng.random((2, 4, 4)) ** 2
    P[:, 0, 3] = 0.0
    P /= P.sum(axis=2, keepdims=True)
    for trans in (P, BandedTransitions.from_dense(P)):
        prob = MarkovStoppingProblem(trans, np.zeros(4), 0.0, initial=np.full(4, 0.25))
        X = prob.sample_paths(40_000, rng=seed).features[:, :, 0].astype(int)
        for l in range(2):
            for s in range(4):
                sel = X[:, l] == s
                freq = np.bincount(X[sel, l + 1], minlength=4) / sel.sum()
                se = np.sqrt(P[l, s] * (1 - P[l, s]) / sel.sum())
                assert np.all(np.abs(freq - P[l, s]) <= 5 * se + 1e-3)


@pytest.mark.parametrize("absorbing", [False, True])
def test_random_walk_push_by_fft_is_the_banded_push(seed: int, absorbing: bool) -> None:
    """A homogeneous random walk with a wide band is pushed by FFT convolution (edge rows lumped, absorbing
    rows pushed from their bands); it equals the O(S w) banded loop to rounding, on a random
    sub-probability with a random continuation mask, and keeps the total mass."""
    from scipy import stats

    from stochdepth.stopping import _kernels as K
    from stochdepth.stopping.transitions import as_chain

    rng = np.random.default_rng(seed)
    P = random_walk_transitions(stats.norm(0.01, 0.1).cdf, 0.1 / 16, 700, absorbing_edges=absorbing)
    chain = as_chain(P)
    mu, keep = rng.random(700), rng.random(700) < 0.8
    ref = np.empty(700)
    K.banded_push(P.bands[0], P.lower, np.where(keep, mu, 0.0), np.ones(700, bool), ref)
    got = chain.push(0, mu, keep)
    assert chain._walk_plan()  # the FFT path was taken
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13 * ref.sum())
    assert got.sum() == pytest.approx(np.where(keep, mu, 0.0).sum(), rel=1e-13)


@pytest.mark.parametrize(
    ("cdf", "match"),
    [
        (lambda x: -x, "not a cdf"),
        (lambda x: np.full_like(x, 0.5), "tails above"),
        (lambda x: np.where(x < 0.1, 0.9, 0.1), "non-decreasing|not a cdf"),
    ],
)
def test_random_walk_transitions_rejects_non_cdfs(cdf: Any, match: str) -> None:
    """A function that is not a cdf on the points probed (negative, flat at 1/2, decreasing) is refused
    before any band is built (formerly a 352 MB band)."""
    with pytest.raises(ValueError, match=match):
        random_walk_transitions(cdf, 0.05, 1000)


def test_random_walk_transitions_refuses_heavy_tails() -> None:
    """A Cauchy increment has tails above 1e-16 for 1e15 grid steps: refused with the reason, never capped
    silently; with a larger ``tail`` the band is what it must be (tails below ``tail`` each side)."""
    from scipy import stats

    with pytest.raises(ValueError, match="heavy-tailed"):
        random_walk_transitions(stats.cauchy(0, 0.1).cdf, 0.05, 100)
    P = random_walk_transitions(stats.cauchy(0, 0.1).cdf, 0.05, 100, tail=1e-3)
    K = P.lower
    assert stats.cauchy(0, 0.1).sf((K - 0.5) * 0.05) <= 1e-3 < stats.cauchy(0, 0.1).sf((K - 1.5) * 0.05)


def _reach_by_search(A: np.ndarray, target: np.ndarray, through: np.ndarray) -> np.ndarray:
    """Reference: a depth-first search from every state of ``through`` over the positive entries."""
    n = A.shape[0]
    out = np.zeros(n, dtype=bool)
    for s in np.nonzero(through)[0]:
        seen, stack = {int(s)}, [int(s)]
        while stack:
            i = stack.pop()
            if target[i]:
                out[s] = True
                break
            if not through[i]:
                continue
            for j in np.nonzero(A[i] > 0)[0]:
                if int(j) not in seen:
                    seen.add(int(j))
                    stack.append(int(j))
    return out


def test_reach_matches_a_search_on_random_graphs(seed: int) -> None:
    """evaluation.reach (one breadth-first search on the reversed graph) against a plain search from
    every state, on random sparse matrices with explicit zeros and overlapping sets."""
    from stochdepth.stopping.evaluation import reach

    rng = np.random.default_rng(seed)
    for _ in range(200):
        n = int(rng.integers(1, 30))
        A = (rng.random((n, n)) < 0.3 * rng.random()) * rng.random((n, n))
        P = sp.csr_array(A)
        P.data[rng.random(P.data.size) < 0.2] = 0.0  # explicit zeros are not transitions
        A = P.toarray()
        target, through = rng.random(n) < 0.2, rng.random(n) < 0.7
        np.testing.assert_array_equal(reach(P, target, through), _reach_by_search(A, target, through))


@pytest.mark.parametrize("mu", [0.0, 0.37, 3.0, -2.0])
def test_random_walk_band_follows_the_increment_law(mu: float) -> None:
    """The band holds the offsets where the increment has mass (and 0), not a window centred on 0: a walk
    drifting by 60 steps per layer keeps about 2 x 8.3 sd of band. Interior rows are the cell
    probabilities computed here from the normal cdf; the lumped tails are below 1e-16; rows sum to 1."""
    from scipy import stats

    h, sd, n = 0.05, 0.1, 200
    law = stats.norm(mu, sd)
    P = random_walk_transitions(law.cdf, h, n)
    offsets = np.arange(P.width) - P.lower
    assert offsets[0] <= 0 <= offsets[-1]
    # the mass (+-8.3 sd = +-16.6 steps around mu / h) plus offset 0, nothing more (a band centred on 0
    # would span 2 |mu| / h + 34 steps)
    assert offsets[-1] - offsets[0] <= abs(round(mu / h)) + 2 * 18
    row = P.to_dense()[n // 2]
    k = offsets[1:-1]
    cells = law.cdf((k + 0.5) * h) - law.cdf((k - 0.5) * h)
    np.testing.assert_allclose(row[n // 2 + k], cells, rtol=1e-12, atol=1e-15)
    assert law.cdf((offsets[0] - 0.5) * h) <= 1e-16 and law.sf((offsets[-1] + 0.5) * h) <= 1e-16
    np.testing.assert_allclose(P.to_dense().sum(axis=1), 1.0, rtol=1e-12)
