"""Regression Monte Carlo: bounds bracket exact chain values, bases, conditioning, reproducibility, errors."""

from __future__ import annotations

import numpy as np
import pytest

from stochdepth import Status
from stochdepth.stopping import (
    AndersenBroadie,
    Laguerre,
    LongstaffSchwartz,
    MarkovStoppingProblem,
    PathStoppingProblem,
    PathwiseMaximum,
    PerfectForesight,
    Polynomial,
    RandomFeatures,
    RegressionMartingale,
    SimulatedStoppingProblem,
    Simulator,
    solve_stopping,
)


class ChainSimulator(Simulator):
    """A finite Markov chain as a simulator (state index as the feature), for exact comparisons."""

    dim = 1

    def __init__(self, prob: MarkovStoppingProblem) -> None:
        self.prob = prob
        self.cdf = np.cumsum(prob.chain.csr(0).toarray(), axis=1)

    def initial(self, generator: np.random.Generator, m: int) -> np.ndarray:
        return generator.choice(self.prob.n_states, size=m, p=self.prob.initial_law())[:, None].astype(float)

    def step(self, layer: int, states: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        s = states[:, 0].astype(np.int64)
        u = generator.random(s.size)[:, None]
        nxt = np.minimum((self.cdf[s] <= u).sum(axis=1), self.prob.n_states - 1)
        return nxt[:, None].astype(float)

    def gain(self, layer: int, states: np.ndarray) -> np.ndarray:
        return self.prob.gains_at(layer)[states[:, 0].astype(np.int64)]


def _chain(seed: int, n: int = 5, L: int = 6) -> MarkovStoppingProblem:
    rng = np.random.default_rng(seed)
    P = rng.random((n, n)) ** 2
    P /= P.sum(1, keepdims=True)
    return MarkovStoppingProblem(P, rng.normal(size=n), 0.05, horizon=L, initial=np.full(n, 1 / n))


def test_bounds_bracket_exact_value_on_simulated_chain(seed: int) -> None:
    """On a chain (exact V from backward induction) driven through the simulator interface: the LS lower
    bound is <= V and both true dual bounds (Andersen-Broadie nested, one-step regression martingale) are
    >= V, each up to 5 standard errors. A polynomial of degree S - 1 in the state index is exact here."""
    prob = _chain(seed)
    V = solve_stopping(prob).value()
    sim = SimulatedStoppingProblem(ChainSimulator(prob), prob.horizon, 0.05)
    for dual in (AndersenBroadie(n_outer=300, n_inner=100), RegressionMartingale(n_inner=50, n_paths=2000)):
        res = solve_stopping(
            sim, LongstaffSchwartz(Polynomial(4), n_paths=5000, n_eval=20000, dual=dual), rng=seed
        )
        assert res.upper_valid and res.status is Status.OK
        assert res.lower.value <= V + 5 * res.lower.stderr
        assert res.upper.value >= V - 5 * res.upper.stderr
        lo, hi = res.interval
        assert lo < hi


def test_recorded_paths_lower_bound_and_prophet_bound(seed: int) -> None:
    """Recorded chain paths: out-of-sample LS value <= V (5 se); perfect foresight E max Z >= V (5 se); the
    non-nested regression martingale is flagged approximate."""
    prob = _chain(seed)
    V = solve_stopping(prob).value()
    paths = prob.sample_paths(20_000, rng=seed)
    res = solve_stopping(paths, LongstaffSchwartz(Polynomial(4)), rng=seed)
    assert not res.upper_valid and res.status is Status.APPROXIMATE and res.success
    assert res.lower.value <= V + 5 * res.lower.stderr
    pf = solve_stopping(paths, LongstaffSchwartz(Polynomial(4), dual=PerfectForesight()), rng=seed)
    assert pf.upper_valid and pf.upper.value >= V - 5 * pf.upper.stderr
    pw = solve_stopping(paths, PathwiseMaximum())
    assert not pw.exact and pw.status is Status.UPPER_BOUND
    # the same quantity E max_l Z_l on all paths and on the evaluation half
    assert abs(pw.value.value - pf.upper.value) < 5 * (pw.value.stderr + pf.upper.stderr)


def test_same_seed_same_answer_any_thread_count(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Results depend on the seed only: identical for 1 and 3 threads, different for another seed."""
    prob = _chain(seed)
    sim = SimulatedStoppingProblem(ChainSimulator(prob), prob.horizon, 0.05)
    ls = LongstaffSchwartz(
        Polynomial(2), n_paths=3000, n_eval=9000, dual=AndersenBroadie(n_outer=70, n_inner=20)
    )
    monkeypatch.setenv("STOCHDEPTH_NUM_THREADS", "1")
    a = solve_stopping(sim, ls, rng=seed)
    monkeypatch.setenv("STOCHDEPTH_NUM_THREADS", "3")
    b = solve_stopping(sim, ls, rng=seed)
    c = solve_stopping(sim, ls, rng=seed + 1)
    assert (a.lower.value, a.upper.value, a.in_sample.value) == (
        b.lower.value,
        b.upper.value,
        b.in_sample.value,
    )
    assert a.lower.value != c.lower.value


def test_ill_conditioned_regression_is_reported(seed: int) -> None:
    """Two features equal up to 1e-13: the cubic design is numerically singular; the solver falls back to a
    truncated SVD, flags the layers in its status and still returns finite bounds."""
    rng = np.random.default_rng(seed)
    n, L = 4000, 4
    x = rng.normal(size=(n, L + 1))
    X = np.stack([x, x + 1e-13 * rng.normal(size=x.shape)], axis=2)
    G = -np.abs(x - 0.5) + 0.1 * rng.normal(size=x.shape)
    prob = PathStoppingProblem(X, G, 0.01)
    res = solve_stopping(prob, LongstaffSchwartz(Polynomial(3)), rng=seed)
    # a warning, not a failure: the bounds stay valid
    assert res.status is Status.ILL_CONDITIONED and res.success and "ill-conditioned" in res.message
    assert any("ill-conditioned" in note for note in res.notes)
    assert np.max(res.condition_numbers) > 1e10
    assert np.isfinite(res.lower.value) and np.isfinite(res.upper.value)


def test_bases_on_recorded_paths(seed: int) -> None:
    """Laguerre and random-feature bases give valid lower bounds (<= V within 5 se) on positive features."""
    prob = _chain(seed)
    V = solve_stopping(prob).value()
    paths = prob.sample_paths(10_000, rng=seed)
    shifted = PathStoppingProblem(paths.features + 1.0, paths.gains, paths.costs)
    for basis in (Laguerre(3), RandomFeatures(20, activation="tanh")):
        res = solve_stopping(shifted, LongstaffSchwartz(basis, dual=PerfectForesight()), rng=seed)
        assert res.lower.value <= V + 5 * res.lower.stderr
        assert res.upper.value >= V - 5 * res.upper.stderr


def test_bad_input() -> None:
    """Fewer paths than basis functions, inconsistent shapes, bad solver arguments: clear errors."""
    X = np.zeros((5, 4, 3))
    G = np.zeros((5, 4))
    with pytest.raises(ValueError, match="fewer training paths"):
        solve_stopping(PathStoppingProblem(X, G), LongstaffSchwartz(Polynomial(3), train_fraction=0.8))
    with pytest.raises(ValueError, match="gains must have shape"):
        PathStoppingProblem(X, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="horizon L >= 1"):
        PathStoppingProblem(np.zeros((5, 1)), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="costs must be >= 0"):
        PathStoppingProblem(X, G, -1.0)
    with pytest.raises(ValueError, match="finite"):
        PathStoppingProblem(X, np.full((5, 4), np.nan))
    with pytest.raises(ValueError, match="costs must have shape"):
        PathStoppingProblem(X, G, [0.1, 0.1])
    with pytest.raises(ValueError, match="itm_only"):
        solve_stopping(PathStoppingProblem(X, G, 0.1), LongstaffSchwartz(itm_only=True))
    with pytest.raises(TypeError, match="basis must be a Basis"):
        LongstaffSchwartz(basis="poly")
    with pytest.raises(TypeError, match="dual must be"):
        LongstaffSchwartz(dual="nested")
    with pytest.raises(TypeError, match="needs a SimulatedStoppingProblem"):
        solve_stopping(
            PathStoppingProblem(np.random.default_rng(0).normal(size=(40, 3)), np.zeros((40, 3))),
            LongstaffSchwartz(Polynomial(1), dual=AndersenBroadie()),
        )
    with pytest.raises(ValueError, match="degree must be an int >= 0"):
        Polynomial(-1)
    with pytest.raises(ValueError, match="n_features must be an int >= 1"):
        RandomFeatures(0)
    with pytest.raises(TypeError, match="problem must be"):
        solve_stopping("problem")


def test_overflowing_gains_raise_instead_of_an_infinite_interval() -> None:
    """Gains scaled by 1e200: the squared payoffs overflow, so a variance (a standard error) is infinite;
    regression Monte Carlo raises NumericalError instead of returning stderr=inf and an interval of
    (-inf, inf) under a successful status (with throw=False too: there is no result to return)."""
    from stochdepth import NumericalError
    from stochdepth.stopping.finance import GeometricBrownianMotion, Put, bermudan_problem

    gbm = GeometricBrownianMotion(36.0, rate=0.06, volatility=0.2, maturity=1.0, n_dates=10)
    paths = bermudan_problem(gbm, Put(40.0)).sample(2000, rng=1)
    big = PathStoppingProblem(paths.features, paths.gains * 1e200, paths.costs, discount=paths.discount)
    with np.errstate(over="ignore"), pytest.raises(NumericalError, match="stderr"):
        solve_stopping(big, LongstaffSchwartz(Polynomial(2)), rng=1, throw=False)
    ok = PathStoppingProblem(paths.features, paths.gains * 1e100, paths.costs, discount=paths.discount)
    res = solve_stopping(ok, LongstaffSchwartz(Polynomial(2)), rng=1)  # large but finite: fine
    assert np.isfinite(res.lower.stderr) and np.isfinite(res.interval).all()


@pytest.mark.parametrize("case", ["cholesky", "svd", "too-few-samples"])
def test_regressions_sharing_a_design_equal_separate_ones(seed: int, case: str) -> None:
    """``fit_layer`` regresses several targets on one design (the Bellman exit policy fits the gain and
    the continuation value of a layer together): each fit and its fitted values equal those of
    a fit of that target alone, on the normal-equation path, the truncated-SVD path of a
    numerically singular design, and the constant fit of a sample smaller than the basis."""
    from stochdepth.stopping._regress import fit_layer

    rng = np.random.default_rng(seed)
    m = {"cholesky": 500, "svd": 500, "too-few-samples": 5}[case]
    x = rng.normal(size=m)
    spread = 1e-13 if case == "svd" else 1.0
    X = np.stack([x, x + spread * rng.normal(size=m)], axis=1)
    Y = np.stack([np.sin(x) + 0.1 * rng.normal(size=m), x**2 - rng.normal(size=m)], axis=1)
    ridge = 0.0 if case == "svd" else 1e-8  # a ridge would keep the singular design on Cholesky
    fitted = np.empty((m, 2))
    joint = fit_layer(Polynomial(3), X, Y, rng=None, ridge=ridge, fitted_out=fitted)
    for j in range(2):
        alone_fitted = np.empty(m)
        alone = fit_layer(Polynomial(3), X, Y[:, j], rng=None, ridge=ridge, fitted_out=alone_fitted)
        np.testing.assert_allclose(joint[j].coef, alone.coef, rtol=1e-10, atol=1e-12)
        tol = 1e-10 * np.std(Y[:, j])
        np.testing.assert_allclose(fitted[:, j], alone_fitted, rtol=0, atol=tol)
        np.testing.assert_allclose(joint[j].predict(X), alone_fitted, rtol=0, atol=tol)
        assert joint[j].note == alone.note and joint[j].condition == alone.condition
    assert (case == "svd") == joint[0].ill_conditioned
    assert (case == "too-few-samples") == (joint[0].basis is None)
