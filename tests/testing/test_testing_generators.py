"""stochdepth.testing.generators: reproducible from the seed, valid problems, monotone by construction,
argument checks, docstring examples."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from stochdepth.stopping import BackwardInduction, OneStepLookAhead, is_monotone, solve_stopping
from stochdepth.testing import generators as G


def _arrays(prob):
    L = prob.horizon if prob.horizon is not None else 1
    P = np.stack([prob.chain.csr(l).toarray() for l in range(L)])
    return P, prob.gains_at(0), prob.cost(0), prob.initial_law(), prob.horizon


def _same(a, b) -> bool:
    return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    "make",
    [
        lambda r: G.random_lattice_problem(r, 4, horizon=3),
        lambda r: G.random_markov_problem(r),
        lambda r: G.random_monotone_problem(r),
        lambda r: G.random_monotone_problem(r, lattice=False, finite=False),
    ],
)
def test_a_seed_and_a_generator_from_it_agree(make, seed):
    """An int seed is normalised by stochdepth.random.as_generator: the same problem as from the
    generator it makes; a Generator is used in place (two draws differ)."""
    from stochdepth.random import as_generator

    assert _same(_arrays(make(seed)), _arrays(make(as_generator(seed))))
    gen = as_generator(seed)
    first, second = make(gen), make(gen)
    assert first.n_states != second.n_states or not _same(_arrays(first), _arrays(second))


@pytest.mark.parametrize(("lattice", "finite"), [(True, True), (True, False), (False, True), (False, False)])
def test_monotone_problems_are_monotone_and_look_ahead_is_optimal(lattice, finite, seed):
    gen = np.random.default_rng(seed)
    for _ in range(10):
        prob = G.random_monotone_problem(gen, lattice=lattice, finite=finite)
        assert is_monotone(prob)
        assert (prob.horizon is not None) == finite
        if finite:
            osla = OneStepLookAhead.fit(prob).evaluate(prob).value.value
            assert osla == pytest.approx(solve_stopping(prob, BackwardInduction()).value(), abs=1e-9)


def test_matrices_are_stochastic_and_m_matrices_dominant(seed):
    gen = np.random.default_rng(seed)
    for n in (1, 2, 5):
        P = G.random_stochastic_matrix(gen, n)
        assert P.shape == (n, n) and (P >= 0).all() and np.allclose(P.sum(axis=1), 1.0)
    bands = G.random_banded_rows(gen, 30, 5, 2)
    s = np.arange(30)[:, None] - 2 + np.arange(5)[None, :]
    assert np.all(bands[(s < 0) | (s >= 30)] == 0.0) and np.allclose(bands.sum(axis=1), 1.0)
    lo, di, up = G.random_m_matrix(gen, 8)
    assert lo[0] == 0.0 and up[-1] == 0.0 and (lo <= 0).all() and (up <= 0).all()
    assert np.all(di > -lo - up)


def test_lattice_chain_arrays_make_a_problem(seed):
    ch = G.random_lattice_chain(seed, 3, 4, min_cost=0.125)
    assert ch.transitions.shape == (4, 3, 3) and ch.gains.shape == (5, 3) and ch.costs.shape == (4,)
    assert np.all(ch.costs >= 0.125) and np.all(np.fmod(ch.gains * 4, 1) == 0)
    prob = ch.problem()
    assert prob.horizon == 4 and np.allclose(prob.initial_law(), ch.initial)


def test_monotone_problem_solves_for_the_one_step_gains():
    P = G.lattice_upward_chain([np.array([1, 1, 0]), np.array([0, 0])])
    assert np.allclose(P, [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    prob = G.monotone_problem(P, np.array([0.5, 0.25]), 0.125, 1.0, horizon=3, initial=np.array([1.0, 0, 0]))
    g = prob.gains_at(0)
    d = P @ g - g - 0.125
    assert np.allclose(d, [0.5, 0.25, -0.125]) and is_monotone(prob)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: G.random_stochastic_matrix(0, 0), ValueError, "n"),
        (lambda: G.random_stochastic_matrix(0, 2.5), TypeError, "n"),
        (lambda: G.random_lattice_chain(0, 2, 0), ValueError, "horizon"),
        (lambda: G.random_banded_rows(0, 5, 3, 3), ValueError, "lower"),
        (
            lambda: G.monotone_problem(np.eye(2), [0.0], -1.0, 0.0, horizon=1, initial=[1.0, 0.0]),
            ValueError,
            "cost",
        ),
    ],
)
def test_bad_arguments_name_the_parameter(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_docstring_examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(G, G.__name__):
        runner.run(test)
    res = runner.summarize(verbose=False)
    assert res.attempted >= 3 and res.failed == 0


@pytest.mark.parametrize("violation", ["", "growth", "lipschitz"])
def test_residual_family_is_reproducible_and_declares_its_constants(seed, violation):
    prob, info = G.random_residual_family(seed, violation)
    again, info2 = G.random_residual_family(seed, violation)
    assert info == info2 and info["violation"] == violation and info["gain"] in G.RESIDUAL_GAINS
    assert prob.horizon == info["L"]
    np.testing.assert_array_equal(prob.features, again.features)
    # the residuals are bounded by C rho^l (growth: by C rho~^l with rho~ > 1, undeclared)
    steps = np.linalg.norm(np.diff(prob.features, axis=1), axis=-1)
    bound = info["C"] * info["rho"] ** np.arange(info["L"])
    if violation != "growth":
        assert np.all(steps <= bound[None, :] * (1 + 1e-9) + 1e-9)


def test_residual_family_successive_draws_differ_and_bad_violation_is_refused():
    gen = np.random.default_rng(0)
    _, a = G.random_residual_family(gen)
    _, b = G.random_residual_family(gen)
    assert a != b
    with pytest.raises(ValueError, match="violation"):
        G.random_residual_family(0, "convexity")
