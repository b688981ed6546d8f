"""LCP solvers: numba kernels against the slow references and against the least-element LP.

Random tridiagonal M-matrices (strictly diagonally dominant, non-positive off-diagonals) are drawn by
hypothesis; the LCP then has a unique solution (Cottle, Pang & Stone 2009, Thm. 3.11.6), which PSOR,
policy iteration, the dense references and the linear program must all find.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from stochdepth import ConvergenceError, Status
from stochdepth.freeboundary import PSOR, BrennanSchwartz, PrimalDualActiveSet, solve_lcp
from stochdepth.freeboundary import _kernels as K
from stochdepth.testing.generators import random_m_matrix
from stochdepth.testing.references import (
    brennan_schwartz_reference,
    dense_from_bands,
    lcp_least_element,
    policy_iteration_reference,
    psor_reference,
)


@st.composite
def lcp_data(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    n = draw(st.integers(2, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    lo, di, up = random_m_matrix(rng, n)
    q = rng.normal(size=n)
    g = rng.normal(size=n)
    return lo, di, up, q, g


@given(lcp_data())
def test_kernels_match_least_element(data):
    """PSOR and policy iteration (kernels) equal the LP least element; residual ~ 0."""
    lo, di, up, q, g = data
    m = dense_from_bands(lo, di, up)
    ref = lcp_least_element(m, q, g)
    for lcp in (PrimalDualActiveSet(), PSOR(omega=1.3, tol=1e-13)):
        sol = solve_lcp((lo, di, up), q, g, lcp=lcp)
        assert sol.converged
        np.testing.assert_allclose(sol.solution, ref, atol=1e-8)
        assert sol.residual < 1e-9
        assert np.all(sol.solution >= g)


@given(lcp_data())
def test_kernels_match_python_references(data):
    """Bitwise-close agreement of each kernel with its python twin (same algorithm, same arithmetic)."""
    lo, di, up, q, g = data
    m = dense_from_bands(lo, di, up)
    n = q.size
    v = g.copy()
    it = K.lcp_psor(lo, di, up, q, g, v, 1.2, 1e-12, 10_000)
    v_ref, it_ref = psor_reference(m, q, g, 1.2, 1e-12, 10_000)
    assert it == it_ref
    np.testing.assert_allclose(v, v_ref, rtol=1e-12, atol=1e-12)
    for upper in (False, True):
        v = np.empty(n)
        K.lcp_brennan_schwartz(lo, di, up, q, g, v, upper, np.empty(n), np.empty(n))
        np.testing.assert_allclose(v, brennan_schwartz_reference(m, q, g, upper), rtol=1e-10, atol=1e-10)
    v = g.copy()
    it = K.lcp_policy_iteration(lo, di, up, q, g, v, n + 1, np.empty((7, n)))
    v_ref, it_ref = policy_iteration_reference(m, q, g)
    assert it == it_ref
    assert 1 <= it <= n + 1  # finite termination (Bokanowski, Maroso & Zidani 2009)
    np.testing.assert_allclose(v, v_ref, rtol=1e-10, atol=1e-10)


@given(st.integers(3, 40), st.integers(0, 2**32 - 1), st.booleans())
def test_brennan_schwartz_exact_on_one_sided_problems(n, seed, upper):
    """On a one-sided problem (obstacle active on one end interval only) Brennan-Schwartz is exact.

    Construction: pick the solution v and split point j; set v = g on the stopping nodes and w = Mv - q
    > 0 there, w = 0 and v > g on the others; this defines q and g with a known one-sided solution.
    """
    rng = np.random.default_rng(seed)
    lo, di, up = random_m_matrix(rng, n)
    m = dense_from_bands(lo, di, up)
    j = int(rng.integers(0, n + 1))
    stop = np.arange(n) >= j if upper else np.arange(n) < j
    v = rng.normal(size=n)
    w = np.where(stop, rng.uniform(0.1, 1.0, n), 0.0)
    g = np.where(stop, v, v - rng.uniform(0.1, 1.0, n))
    q = m @ v - w
    sol = solve_lcp((lo, di, up), q, g, lcp=BrennanSchwartz(side="upper" if upper else "lower"))
    np.testing.assert_allclose(sol.solution, v, atol=1e-10)
    assert sol.residual < 1e-10
    auto = solve_lcp((lo, di, up), q, g, lcp=BrennanSchwartz())
    np.testing.assert_allclose(auto.solution, v, atol=1e-10)


def test_brennan_schwartz_residual_flags_two_sided_problem(seed):
    """Two-sided stopping set (both ends, built as above): the wrong structure shows in the residual."""
    rng = np.random.default_rng(seed)
    n = 21
    lo, di, up = random_m_matrix(rng, n)
    m = dense_from_bands(lo, di, up)
    stop = (np.arange(n) < 5) | (np.arange(n) >= n - 5)
    v = rng.normal(size=n)
    w = np.where(stop, rng.uniform(0.5, 1.0, n), 0.0)
    g = np.where(stop, v, v - rng.uniform(0.5, 1.0, n))
    q = m @ v - w
    exact = solve_lcp((lo, di, up), q, g)
    np.testing.assert_allclose(exact.solution, v, atol=1e-10)
    np.testing.assert_array_equal(exact.active, stop)
    for side in ("lower", "upper"):
        bs = solve_lcp((lo, di, up), q, g, lcp=BrennanSchwartz(side=side))
        assert bs.residual > 1e-3


def test_sparse_and_banded_agree(seed):
    rng = np.random.default_rng(seed)
    n = 30
    lo, di, up = random_m_matrix(rng, n)
    q, g = rng.normal(size=n), rng.normal(size=n)
    mat = sp.csr_matrix(dense_from_bands(lo, di, up))
    a = solve_lcp((lo, di, up), q, g)
    for lcp in (PrimalDualActiveSet(), PSOR(omega=1.2, tol=1e-13)):
        b = solve_lcp(mat, q, g, lcp=lcp)
        np.testing.assert_allclose(b.solution, a.solution, atol=1e-9)
        assert b.residual < 1e-9
    dense = solve_lcp(mat.toarray(), q, g)
    np.testing.assert_allclose(dense.solution, a.solution, atol=1e-12)


def test_psor_reports_non_convergence():
    n = 200
    lo, di, up = -np.ones(n), 2.0001 * np.ones(n), -np.ones(n)
    sol = solve_lcp((lo, di, up), np.full(n, 1.0), np.zeros(n), lcp=PSOR(max_iter=3), throw=False)
    assert not sol.converged and sol.status is Status.MAX_ITERATIONS and sol.iterations == 3
    with pytest.raises(ConvergenceError, match="solve_lcp"):
        solve_lcp((lo, di, up), np.full(n, 1.0), np.zeros(n), lcp=PSOR(max_iter=3))
    assert sol.residual > 1e-3


def test_docstring_example_solution():
    """The docstring example: M = tridiag(-1, 2.5, -1), q = 0, g = (1, 0, 0, 0, 1).

    The obstacle is active at both ends only; inside, v solves 2.5 v_i = v_{i-1} + v_{i+1} with
    v_0 = v_4 = 1, i.e. v_2 = 2 v_1 / 2.5 ... giving v_1 = v_3 = 10/17, v_2 = 8/17 (hand computation:
    2.5 v_1 = 1 + v_2 and 2.5 v_2 = 2 v_1).
    """
    n = 5
    sol = solve_lcp((-np.ones(n), 2.5 * np.ones(n), -np.ones(n)), np.zeros(n), np.array([1.0, 0, 0, 0, 1]))
    np.testing.assert_allclose(sol.solution, [1, 10 / 17, 8 / 17, 10 / 17, 1], atol=1e-14)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"omega": 2.0}, ValueError, "omega"),
        ({"omega": 0.0}, ValueError, "omega"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"max_iter": 1.5}, TypeError, "max_iter"),
    ],
)
def test_psor_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        PSOR(**kwargs)


def test_solve_lcp_bad_input():
    n = 4
    bands = (-np.ones(n), 2.5 * np.ones(n), -np.ones(n))
    with pytest.raises(ValueError, match="side"):
        BrennanSchwartz(side="left")
    with pytest.raises(ValueError, match="positive diagonal"):
        solve_lcp((-np.ones(n), np.array([2.0, 0.0, 2.0, 2.0]), -np.ones(n)), np.zeros(n), np.zeros(n))
    with pytest.raises(ValueError, match="q must have shape"):
        solve_lcp(bands, np.zeros(n + 1), np.zeros(n))
    with pytest.raises(ValueError, match="obstacle must be finite"):
        solve_lcp(bands, np.zeros(n), np.array([0.0, np.nan, 0.0, 0.0]))
    with pytest.raises(ValueError, match="bands"):
        solve_lcp(bands[:2], np.zeros(n), np.zeros(n))
    with pytest.raises(ValueError, match="square"):
        solve_lcp(np.ones((3, 4)), np.zeros(3), np.zeros(3))
    with pytest.raises(TypeError, match="tridiagonal"):
        solve_lcp(np.eye(n), np.zeros(n), np.zeros(n), lcp=BrennanSchwartz())
    with pytest.raises(TypeError, match="lcp must be"):
        solve_lcp(bands, np.zeros(n), np.zeros(n), lcp="psor")
