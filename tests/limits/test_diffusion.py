"""The limit diffusion (docs/science.md §A3): the SDE object, simulation from the random input layer, and the
depth error as the weak error of Euler--Maruyama."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from stochdepth.activations import Activation
from stochdepth.limits import limit_sde, simulate_limit, weak_error_study
from stochdepth.montecarlo import Moments
from stochdepth.networks import gram, sample_network, squared_norms
from stochdepth.sde import Milstein
from stochdepth.testing import ALPHA


def test_limit_sde_structure_and_cache() -> None:
    sde = limit_sde(5, "tanh")
    assert (sde.dim, sde.noise, sde.noise_dim) == (5, "isotropic", 5)
    assert limit_sde(5, "tanh") is sde
    out = np.empty(1)
    x = np.array([0.3, -1.0, 2.0, 0.0, 0.5])
    sde.diffusion(0.0, x, out)
    assert out[0] == pytest.approx(np.linalg.norm(np.tanh(x)) / math.sqrt(5))


def test_simulate_limit_mean_square_is_exact_for_linear(seed: int) -> None:
    """E||Y_L||^2 = n sigma0^2 (1 + t1/L)^L for the Euler scheme of the linear limit (5 SE)."""
    x = np.array([1.0, 2.0, -1.0])  # sigma0^2 = 2
    n, L, t1 = 4, 16, 0.8
    res = simulate_limit(
        x, n, "linear", t1, n_steps=L, n_paths=30_000, observe=squared_norms(), reduce=Moments(), rng=seed
    )
    m = res["squared_norms"].moments
    assert abs(m.mean[-1, 0] - n * 2.0 * (1 + t1 / L) ** L) < 5 * m.stderr[-1, 0]
    assert res.times[-1] == pytest.approx(t1)


def test_simulate_limit_matches_the_network_sampler(seed: int) -> None:
    """The SDE's Euler scheme and the exact-law network sampler of the same depth: same law of ||Y_L||^2
    (two-sample KS, p > 1e-6) for tanh."""
    x = np.array([0.5, 1.5])
    n, L = 3, 8
    a = simulate_limit(x, n, "tanh", n_steps=L, n_paths=10_000, observe=squared_norms(), rng=seed)
    b = sample_network(x, n, L, "tanh", n_paths=10_000, observe=squared_norms(), rng=seed + 1)
    assert (
        st.ks_2samp(a["squared_norms"].samples[:, -1, 0], b["squared_norms"].samples[:, -1, 0]).pvalue > ALPHA
    )


@pytest.mark.parametrize("x", [np.array([0.5, 1.5, -1.0]), np.array([[0.5, 1.0], [1.5, 0.0], [-1.0, 2.0]])])
@pytest.mark.parametrize("observe", [None, "squared_norms", "gram"])
def test_simulate_limit_and_the_network_sampler_give_samples_of_one_shape(x, observe, seed: int) -> None:
    """The same question (inputs, width, activation, depth = n_steps, record, observable) gets samples of
    the same shape and name from the finite network and from its limit, for one input and for several."""
    obs = {None: None, "squared_norms": squared_norms(), "gram": gram("relu")}[observe]
    kw = dict(n_paths=7, observe=obs, record=[0, 2, 4], rng=seed)
    net = sample_network(x, 5, 4, "relu", 0.5, **kw)
    lim = simulate_limit(x, 5, "relu", 0.5, n_steps=4, **kw)
    assert list(net.observed) == list(lim.observed)
    for name in net.observed:
        assert net[name].samples.shape == lim[name].samples.shape
    np.testing.assert_array_equal(net.times, lim.times)


def test_simulate_limit_several_inputs(seed: int) -> None:
    """k inputs go through the network sampler (the Euler scheme of the matrix SDE); states (width, k)."""
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    res = simulate_limit(X, 6, "relu", n_steps=8, n_paths=200, observe=gram(), rng=seed)
    assert res["gram"].samples.shape == (200, 2, 2, 2)
    with pytest.raises(ValueError, match="EulerMaruyama"):
        simulate_limit(X, 6, "relu", n_steps=8, n_paths=10, solver=Milstein())


def test_simulate_limit_custom_activation(seed: int) -> None:
    softsign = Activation.custom("softsign", lambda v: v / (1.0 + abs(v)), lipschitz=1.0)
    res = simulate_limit(np.ones(2), 3, softsign, n_steps=4, n_paths=100, observe=squared_norms(), rng=seed)
    assert res["squared_norms"].samples.shape == (100, 2, 1)


def test_limit_bad_input() -> None:
    with pytest.raises(ValueError, match="width"):
        limit_sde(0, "relu")
    with pytest.raises(ValueError, match="activation"):
        limit_sde(3, "swishy")
    with pytest.raises(ValueError, match="x must not be zero"):
        simulate_limit(np.zeros(3), 3, "relu", n_steps=4, n_paths=10)
    with pytest.raises(ValueError, match="t1"):
        simulate_limit(np.ones(3), 3, "relu", -1.0, n_steps=4, n_paths=10)
    with pytest.raises(ValueError, match="finite"):
        simulate_limit(np.array([1.0, np.nan]), 3, "relu", n_steps=4, n_paths=10)
    with pytest.raises(ValueError, match="steps"):
        weak_error_study(np.ones(2), 3, "tanh", steps=(4, 8), n_paths=10)
    with pytest.raises(TypeError, match="steps"):
        weak_error_study(np.ones(2), 3, "tanh", steps=8, n_paths=10)
    # rejected before any simulation: nested levels, and a constant ratio for the rate fit
    with pytest.raises(ValueError, match="each must divide the next"):
        weak_error_study(np.ones(2), 3, "tanh", steps=(4, 8, 12), n_paths=10)
    with pytest.raises(ValueError, match="geometric"):
        weak_error_study(np.ones(2), 3, "tanh", steps=(4, 8, 32), n_paths=10)
    with pytest.raises(ValueError, match="chunk_size"):
        weak_error_study(np.ones(2), 3, "tanh", n_paths=10, chunk_size=0)


def test_weak_error_study_linear_against_exact_values(seed: int) -> None:
    """Level means and coupled differences of E||Y_L||^2 for the linear network against the exact
    n sigma0^2 (1 + 1/L)^L at 5 SE (fast: few paths, coarse levels)."""
    study = weak_error_study(np.ones(3), 4, "linear", steps=(2, 4, 8), n_paths=20_000, rng=seed)
    exact = study.exact["squared_norm"]  # n sigma0^2 (1 + 1/L)^L with sigma0 = 1
    assert exact is not None
    for est, ex in zip(study.means["squared_norm"], exact):
        assert abs(est.value - ex) < 5 * est.stderr
    for k, d in enumerate(study.differences["squared_norm"]):
        assert abs(d.value - (exact[k + 1] - exact[k])) < 5 * d.stderr
    assert set(study.fits) == {"squared_norm", "log1p_post_squared_norm"}


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_weak_error_rate_is_one(seed: int, activation: str) -> None:
    """Fitted weak-error slope within 0.15 of -1 for E||Y_L||^2 (tanh, ReLU) and for the non-trivial
    E log(1 + ||phi(Y_L)||^2) (tanh; for ReLU its differences are too small to resolve at this cost).
    Development (n = 4, steps 8..128, 2e5 paths): slopes -0.92..-1.02."""
    study = weak_error_study(np.ones(2), 4, activation, steps=(8, 16, 32, 64, 128), n_paths=200_000, rng=seed)
    names = ["squared_norm", "log1p_post_squared_norm"] if activation == "tanh" else ["squared_norm"]
    for name in names:
        fit = study.fits[name]
        assert abs(study.slopes[name] + 1.0) < 0.15, (name, fit)
