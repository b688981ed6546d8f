"""The semidefinite Gram factor used by the exact sampler (stochdepth.networks.psd_factor).

Deterministic properties (hypothesis over random low-rank Gram matrices with duplicated and zero
inputs): C C^T = G to rounding, the rank is revealed, unused columns are zero, duplicated inputs get
bitwise-identical rows, zero inputs zero rows, and the numba kernel matches an independent numpy
reference.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stochdepth.networks import psd_factor
from stochdepth.networks._kernels import default_rtol
from stochdepth.testing.references import reference_factor


@st.composite
def gram_matrices(draw):
    """(G, rank, duplicate pairs, zero indices): G = B B^T with B k x r, then duplicates/zeros."""
    k = draw(st.integers(1, 6))
    r = draw(st.integers(0, k))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((k, r)) * np.exp(rng.uniform(-3, 3, size=(k, 1)))
    G = B @ B.T
    dups = []
    if k >= 2 and draw(st.booleans()):
        i, j = draw(st.lists(st.integers(0, k - 1), min_size=2, max_size=2, unique=True))
        G[j, :] = G[i, :]
        G[:, j] = G[:, i]
        dups.append((i, j))
    zeros = []
    if draw(st.booleans()):
        z = draw(st.integers(0, k - 1))
        if not any(z in pair for pair in dups):
            G[z, :] = 0.0
            G[:, z] = 0.0
            zeros.append(z)
    return G, B, dups, zeros


@given(gram_matrices())
def test_factor_properties(case):
    G, _, dups, zeros = case
    k = G.shape[0]
    C, rank = psd_factor(G)
    assert np.all(np.isfinite(C))
    scale = max(float(np.max(np.diag(G))), 1e-300)
    # C C^T = G up to rounding: the retired residuals are <= rtol G_ii and the rounding is O(k eps).
    assert np.max(np.abs(C @ C.T - G)) <= 1e-12 * scale
    assert 0 <= rank <= k
    assert np.all(C[:, rank:] == 0.0)
    # pivoted lower-trapezoidal: column j has at most k - j nonzero entries
    for j in range(rank):
        assert np.count_nonzero(C[:, j]) <= k - j
    for i, j in dups:
        assert np.array_equal(C[i], C[j])
    for z in zeros:
        assert np.all(C[z] == 0.0)
    # the revealed rank equals the rank of G when G is well conditioned
    sv = np.linalg.svd(G, compute_uv=False)
    true_rank = int(np.sum(sv > 1e-9 * scale))
    if true_rank == 0 or sv[true_rank - 1] > 1e-6 * scale:
        assert rank == true_rank
    # the numba kernel equals the independent numpy reference to rounding
    C_ref, rank_ref = reference_factor(G, default_rtol(k))
    if rank_ref == rank:
        assert np.allclose(C, C_ref, rtol=1e-9, atol=1e-12 * np.sqrt(scale))


def test_factor_full_rank_matches_cholesky_gram(seed):
    """For a positive definite G, C is a row permutation of a lower-triangular Cholesky-like factor
    with positive diagonal, and C C^T = G."""
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((5, 5))
    G = B @ B.T + 0.1 * np.eye(5)
    C, rank = psd_factor(G)
    assert rank == 5
    assert np.allclose(C @ C.T, G, rtol=1e-12, atol=1e-12)
    # first pivot is the largest diagonal entry
    p0 = int(np.argmax(np.diag(G)))
    assert C[p0, 0] == pytest.approx(np.sqrt(G[p0, p0]), rel=1e-15)
    assert np.all(C[p0, 1:] == 0.0)


def test_factor_singular_examples():
    # identical inputs: a rank-one matrix with bitwise-identical rows
    G = np.full((3, 3), 2.5)
    C, rank = psd_factor(G)
    assert rank == 1
    assert np.array_equal(C[0], C[1]) and np.array_equal(C[1], C[2])
    # zero matrix (zero input, all-dead ReLU): rank 0, C = 0, no NaN
    C, rank = psd_factor(np.zeros((4, 4)))
    assert rank == 0 and np.all(C == 0.0)
    # proportional by a power of two: rows exactly proportional
    G = np.array([[1.0, 2.0], [2.0, 4.0]]) * 3.7
    C, rank = psd_factor(G)
    assert rank == 1 and np.array_equal(2.0 * C[0], C[1])


def test_factor_rtol_retires_nearly_dependent_inputs():
    """With rtol = 1e-6, an input at angle 1e-4 (sin^2 = 1e-8) from another is retired."""
    a = np.array([1.0, 0.0])
    b = np.array([np.cos(1e-4), np.sin(1e-4)])
    Phi = np.stack([a, b], axis=1)
    G = Phi.T @ Phi
    assert psd_factor(G)[1] == 2
    C, rank = psd_factor(G, rtol=1e-6)
    assert rank == 1
    assert np.allclose(C @ C.T, G, atol=1e-7)


@pytest.mark.parametrize(
    ("G", "rtol", "err", "match"),
    [
        (np.ones((2, 3)), None, ValueError, "square"),
        (np.ones(3), None, ValueError, "dimension"),
        (np.array([[-1.0]]), None, ValueError, "semidefinite"),
        (np.array([[np.nan]]), None, ValueError, "finite"),
        (np.eye(2), 1.0, ValueError, "rtol"),
        (np.eye(2), -1e-3, ValueError, "rtol"),
        (np.eye(2), "a", TypeError, "rtol"),
    ],
)
def test_factor_bad_input(G, rtol, err, match):
    with pytest.raises(err, match=match):
        psd_factor(G, rtol=rtol)
