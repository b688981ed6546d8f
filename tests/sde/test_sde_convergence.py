"""Orders of convergence measured on coupled nested grids (simulate_levels).

Geometric Brownian motion dX = mu X dt + sigma X dW is simulated together with its driving Brownian
motion (scalar noise, state (X, W)), so the exact solution X_T = X_0 exp((mu - sigma^2/2) T + sigma W_T)
is known on every path. Levels N = 16, 32, ..., 256 share the Brownian path.

* strong error  e_N = E|X^N_T - X_T|  ~ C N^{-gamma}: gamma = 1/2 (Euler--Maruyama), 1 (Milstein);
* weak error    E f(X^N_T) - E f(X_T) ~ C N^{-1}, measured through the coupled differences
  D_N = E f(X^{2N}_T) - E f(X^N_T) ~ C' N^{-1} (variance O(1/N) instead of O(1): Giles 2008).

Slopes are fitted by (weighted) least squares in log-log and must lie within +-0.15 of the theory.
The noise of each fitted slope (from the stderr of the level estimates) is at most 0.015, i.e. below
0.075 at 5 sigma; the pre-asymptotic bias of the exact discrete quantities on this range is 0.035
(weak) and about 0.02 (strong), so the tests hold for any seed. The level means are moreover compared
with their exact discrete values by z-scores (|z| < 5): for Euler on GBM, E X^N_T = X_0 (1 + mu h)^N and
E (X^N_T)^2 = X_0^2 ((1 + mu h)^2 + sigma^2 h)^N (derived: E[X_{k+1} | X_k] = X_k (1 + mu h) and
E[X_{k+1}^2 | X_k] = X_k^2 ((1 + mu h)^2 + sigma^2 h)).
"""

from __future__ import annotations

import numpy as np
import pytest
import sde_models as models

from stochdepth.random import chunk_generators
from stochdepth.sde import EulerMaruyama, Milstein, simulate_levels
from stochdepth.testing import Z_MAX
from stochdepth.testing.references import reference_levels

STEPS = (16, 32, 64, 128, 256)
TOL = 0.15


def _slope(h, y, se=None):
    """Least-squares slope of log|y| against log h (weights 1/relative-stderr^2 when given)."""
    x, ly = np.log(h), np.log(np.abs(y))
    w = None if se is None else np.abs(y) / se
    return float(np.polyfit(x, ly, 1, w=w)[0])


def _strong_observables(mu, sigma):
    def err(s):
        return np.abs(s[..., 0] - np.exp(mu - sigma**2 / 2 + sigma * s[..., 1]))

    return {"err": err, "x": lambda s: s[..., 0], "x2": lambda s: s[..., 0] ** 2}


@pytest.mark.parametrize(
    ("solver", "order"), [(EulerMaruyama(), 0.5), (Milstein(), 1.0)], ids=["EM", "Milstein"]
)
def test_strong_order(solver, order, seed):
    mu, sigma = models.MU_STRONG, models.SIGMA_STRONG
    sde = models.gbm_augmented(mu, sigma)
    res = simulate_levels(
        sde, solver, 1.0, STEPS, [1.0, 0.0], n_paths=10_000, rng=seed, observe=_strong_observables(mu, sigma)
    )
    e = res["err"].moments
    slope = _slope(res.dt, e.mean[-1], e.stderr[-1])
    assert abs(slope - order) < TOL, slope
    # the strong error of the difference of consecutive levels decays at the same rate
    assert np.all(e.mean[-1] > 0) and np.all(np.diff(e.mean[-1]) < 0)


def test_weak_order_euler(seed):
    mu, sigma = models.MU_WEAK, models.SIGMA_WEAK
    sde = models.gbm_augmented(mu, sigma)
    n = 50_000
    res = simulate_levels(
        sde,
        EulerMaruyama(),
        1.0,
        STEPS,
        [1.0, 0.0],
        n_paths=n,
        rng=seed,
        observe=_strong_observables(mu, sigma),
    )
    N = np.asarray(STEPS, dtype=float)
    exact1 = (1 + mu / N) ** N
    exact2 = ((1 + mu / N) ** 2 + sigma**2 / N) ** N
    for key, exact in (("x", exact1), ("x2", exact2)):
        st = res[key]
        lev, dif = st.moments, st.differences
        assert np.all(np.abs(lev.mean[-1] - exact) < Z_MAX * lev.stderr[-1]), key
        assert np.all(np.abs(dif.mean[-1] - np.diff(exact)) < Z_MAX * dif.stderr[-1]), key
        # coupling: Var of a difference is O(h), far below Var of a level (O(1))
        assert np.all(dif.var[-1] < 0.05 * lev.var[-1][1:])
    d = res["x"].differences
    slope = _slope(res.dt[:-1], d.mean[-1], d.stderr[-1])
    assert abs(slope - 1.0) < TOL, slope
    # the weak error against the continuous closed form E X_1 = e^mu shrinks like C h: its fitted slope
    # from the exact discrete values is 1 within the same tolerance
    assert abs(_slope(res.dt, exact1 - np.exp(mu)) - 1.0) < TOL


@pytest.mark.parametrize("solver", [EulerMaruyama(), Milstein()], ids=["EM", "Milstein"])
def test_levels_kernel_matches_reference(solver, seed):
    sde = models.gbm_augmented(models.MU_STRONG, models.SIGMA_STRONG)
    steps, n = (2, 4, 8), 4
    res = simulate_levels(
        sde,
        solver,
        1.5,
        steps,
        [1.0, 0.0],
        n_paths=n,
        rng=seed,
        t0=0.5,
        record=[0, 1, 2],
        observe={"s": lambda s: s},
    )
    ((_, _, gen),) = chunk_generators(seed, n)
    ref = reference_levels(
        sde,
        isinstance(solver, Milstein),
        np.tile([1.0, 0.0], (n, 1)),
        0.5,
        1.5,
        np.asarray(steps),
        np.array([0, 1, 2]),
        gen,
    )
    np.testing.assert_allclose(res["s"].moments.mean, ref.mean(axis=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        res["s"].differences.mean, np.diff(ref, axis=2).mean(axis=0), rtol=1e-9, atol=1e-13
    )
    # the W coordinate is the same Brownian path on every level: differences are zero up to rounding
    assert np.all(np.abs(np.diff(ref[..., 1], axis=2)) < 1e-12)
    np.testing.assert_allclose(res.times, [0.5, 1.0, 1.5])


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"steps": (8,)}, ValueError, "at least 2 levels"),
        ({"steps": (8, 12)}, ValueError, "each must divide the next"),
        ({"steps": (8, 4)}, ValueError, "increasing"),
        ({"steps": 8}, TypeError, "steps must be a sequence"),
        ({"steps": (0, 2)}, ValueError, r"steps\[0\] must be an int >= 1"),
        ({"n_paths": 1}, ValueError, "n_paths must be an int >= 2"),
        ({"record": [5]}, ValueError, r"record must hold step indices in \[0, steps\[0\]\] = \[0, 4\]"),
    ],
)
def test_levels_bad_arguments(kwargs, exc, match):
    args = {"steps": (4, 8), "n_paths": 4, **kwargs}
    steps = args.pop("steps")
    with pytest.raises(exc, match=match):
        simulate_levels(models.ou(), EulerMaruyama(), 1.0, steps, [0.0], rng=0, **args)


def test_levels_reproducible_across_threads(seed):
    sde = models.gbm_augmented(models.MU_STRONG, models.SIGMA_STRONG)
    kw = {"n_paths": 500, "rng": seed, "chunk_size": 64, "observe": {"x": lambda s: s[..., 0]}}
    a = simulate_levels(sde, EulerMaruyama(), 1.0, (4, 8), [1.0, 0.0], n_threads=1, **kw)
    b = simulate_levels(sde, EulerMaruyama(), 1.0, (4, 8), [1.0, 0.0], n_threads=3, **kw)
    np.testing.assert_array_equal(a["x"].moments.mean, b["x"].moments.mean)
    np.testing.assert_array_equal(a["x"].differences.var, b["x"].differences.var)
    assert "x" in repr(a) and a["x"].moments.mean.shape == (1, 2)
