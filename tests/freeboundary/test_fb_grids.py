"""Grids and time discretisations: shapes, stretching, centre node, Rannacher and graded steps, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stochdepth.freeboundary import (
    CrankNicolson,
    Grid,
    Implicit,
    SteadyState,
    StretchedGrid,
    ThetaScheme,
    UniformGrid,
)
from stochdepth.freeboundary.grids import as_grid


def test_uniform_grid():
    g = UniformGrid(-1.0, 3.0, 9)
    np.testing.assert_allclose(g.spacing, 0.5)
    assert g.size == len(g) == 9 and g.lower == -1.0 and g.upper == 3.0
    with pytest.raises(ValueError):
        g.nodes[0] = 5.0  # read-only


@given(
    st.floats(-10, 10),
    st.floats(0.1, 20),
    st.integers(3, 300),
    st.floats(0, 1),
    st.floats(0.01, 10),
)
def test_stretched_grid_properties(lo, length, n, frac, scale):
    """Strictly increasing, exact ends, a node on the centre, finer near the centre than at the far end."""
    hi = lo + length
    centre = lo + frac * length
    g = StretchedGrid(lo, hi, n, centre, scale)
    x = g.nodes
    assert x.size == n and x[0] == lo and x[-1] == hi
    assert np.all(np.diff(x) > 0)
    k = int(np.argmin(np.abs(x - centre)))
    if 0 < k < n - 1:
        assert x[k] == centre
    if n > 20 and scale < 0.05 * length and 0.2 < frac < 0.8:
        h = np.diff(x)
        near = h[max(0, k - 1)]
        assert near < h[0] and near < h[-1]


def test_stretched_grid_tends_to_uniform():
    g = StretchedGrid(0.0, 1.0, 11, 0.5, 1e6)
    np.testing.assert_allclose(g.nodes, np.linspace(0, 1, 11), atol=1e-9)


def test_grid_from_nodes_and_as_grid():
    g = Grid([0.0, 1.0, 3.0])
    np.testing.assert_array_equal(g.spacing, [1.0, 2.0])
    assert as_grid("grid", [0.0, 1.0, 3.0]).size == 3
    assert as_grid("grid", g) is g


@pytest.mark.parametrize(
    ("build", "exc", "match"),
    [
        (lambda: Grid([0.0, 2.0, 1.0]), ValueError, "strictly increasing"),
        (lambda: Grid([0.0, 1.0, 1.0]), ValueError, "strictly increasing"),
        (lambda: Grid([0.0, np.nan, 1.0]), ValueError, "finite"),
        (lambda: Grid([0.0, 1.0]), ValueError, "at least 3"),
        (lambda: Grid([[0.0, 1.0, 2.0]]), ValueError, "dimension"),
        (lambda: UniformGrid(1.0, 0.0, 5), ValueError, "upper must be > lower"),
        (lambda: UniformGrid(0.0, 1.0, 2), ValueError, "n must be"),
        (lambda: UniformGrid(0.0, np.inf, 5), ValueError, "upper must be finite"),
        (lambda: StretchedGrid(0.0, 1.0, 5, 2.0, 0.1), ValueError, "center"),
        (lambda: StretchedGrid(0.0, 1.0, 5, 0.5, 0.0), ValueError, "scale"),
        (lambda: as_grid("grid", "abc"), TypeError, "grid must be"),
        (lambda: as_grid("grid", [2.0, 1.0, 0.0]), ValueError, "grid: nodes must be strictly increasing"),
    ],
)
def test_bad_grids(build, exc, match):
    with pytest.raises(exc, match=match):
        build()


def test_time_grids():
    times, thetas = Implicit(n_steps=4).time_grid(2.0)
    np.testing.assert_allclose(times, [0, 0.5, 1, 1.5, 2])
    np.testing.assert_array_equal(thetas, 1.0)
    # graded CN: time to go tau_j = T (j/n)^2; the last (Rannacher) interval halved, implicit
    times, thetas = CrankNicolson(n_steps=4, rannacher_steps=1).time_grid(1.0)
    np.testing.assert_allclose(times, [0, 7 / 16, 12 / 16, 15 / 16, 31 / 32, 1])
    np.testing.assert_array_equal(thetas, [0.5, 0.5, 0.5, 1, 1])
    times, thetas = CrankNicolson(n_steps=3, rannacher_steps=5, grading=1.0).time_grid(3.0)
    np.testing.assert_allclose(times, np.arange(7) / 2)
    np.testing.assert_array_equal(thetas, 1.0)
    times, thetas = ThetaScheme(0.6, n_steps=2).time_grid(1.0)
    np.testing.assert_allclose(times, [0, 0.5, 1])
    np.testing.assert_array_equal(thetas, 0.6)


@pytest.mark.parametrize(
    ("build", "exc", "match"),
    [
        (lambda: ThetaScheme(0.4), ValueError, "theta"),
        (lambda: ThetaScheme(1.1), ValueError, "theta"),
        (lambda: CrankNicolson(n_steps=0), ValueError, "n_steps"),
        (lambda: CrankNicolson(rannacher_steps=-1), ValueError, "rannacher_steps"),
        (lambda: CrankNicolson(grading=0.5), ValueError, "grading"),
        (lambda: CrankNicolson(upwind="yes"), TypeError, "upwind"),
        (lambda: SteadyState(upwind=1), TypeError, "upwind"),
        (lambda: Implicit(n_steps=2.0), TypeError, "n_steps"),
    ],
)
def test_bad_schemes(build, exc, match):
    with pytest.raises(exc, match=match):
        build()


def test_stretched_grid_refuses_a_scale_that_collapses_the_nodes_at_once():
    """A scale so small that float64 cannot hold distinct nodes fails when the grid is made, naming
    ``scale`` (not later, at the first use of ``nodes``)."""
    with pytest.raises(ValueError, match=r"scale = 1e-300 gives no valid grid of n = 11 nodes"):
        StretchedGrid(0.0, 1.0, 11, center=0.5, scale=1e-300)
