"""Results that leave the program: ``to_dict``, ``save`` and ``load`` for every result class.

Every subclass of :class:`stochdepth._results.Result` in the library (found by walking the packages and
enumerating subclasses, so a new result class without a factory here fails
``test_every_result_class_has_a_factory``) is built once by a small call of the public API; its
``to_dict()`` must survive ``json.dumps(..., allow_nan=False)`` and both file formats must give back an
object of the same class whose ``to_dict()`` is the original one (fields that describe an input object
rather than data come back as ``None``), with arrays equal bit for bit in dtype, shape and content.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import math
import pkgutil
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from seeding import seed_for

import stochdepth
from stochdepth import Estimate
from stochdepth._results import Result

_SKIP_MODULES = ("stochdepth.testing.quantlib",)


def _all_result_classes() -> list[type]:
    for info in pkgutil.walk_packages(stochdepth.__path__, "stochdepth."):
        if info.name not in _SKIP_MODULES:
            importlib.import_module(info.name)
    found: list[type] = []
    stack = [Result]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if (
                dataclasses.is_dataclass(sub)
                and sub.__module__.startswith("stochdepth.")
                and sub not in found
            ):
                found.append(sub)
    return found


# --------------------------------------------------------------------------- one small instance per class


@functools.cache
def _network_sample(rng):
    from stochdepth.montecarlo import Histogram, Moments, Quantiles, Samples
    from stochdepth.networks import sample_network

    return sample_network(
        np.ones(2),
        3,
        4,
        "relu",
        1.0,
        n_paths=40,
        rng=rng,
        reduce=[Samples(), Moments(), Histogram(5, (0.0, 5.0)), Quantiles([0.5])],
    )


@functools.cache
def _sde_problem():
    from stochdepth.sde import affine_sde

    return affine_sde(np.array([[-1.0]]), np.array([0.0]), diffusion_offset=np.array([0.5]))


def _simulation(rng):
    from stochdepth.sde import EulerMaruyama, simulate

    return simulate(_sde_problem(), EulerMaruyama(), 1.0, 4, np.array([1.0]), n_paths=30, rng=rng)


@functools.cache
def _levels(rng):
    from stochdepth.sde import EulerMaruyama, simulate_levels

    return simulate_levels(_sde_problem(), EulerMaruyama(), 1.0, (2, 4), np.array([1.0]), n_paths=30, rng=rng)


def _markov():
    from stochdepth.stopping import BackwardInduction, MarkovStoppingProblem, solve_stopping

    P = [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]
    return solve_stopping(
        MarkovStoppingProblem(P, [0.0, 0.5, 1.0], 0.1, horizon=4, initial=0), BackwardInduction()
    )


def _bermudan(rng, **solver):
    from stochdepth.stopping import LongstaffSchwartz, solve_stopping
    from stochdepth.stopping.finance import GeometricBrownianMotion, Put, bermudan_problem

    gbm = GeometricBrownianMotion(36.0, rate=0.06, volatility=0.2, maturity=1.0, n_dates=4)
    problem = bermudan_problem(gbm, Put(40.0))
    return solve_stopping(problem, LongstaffSchwartz(n_paths=200, n_eval=200, **solver), rng=rng)


def _pathwise():
    from stochdepth.stopping import PathStoppingProblem, PathwiseMaximum, solve_stopping

    gains = np.array([[0.0, 1.0, 0.5], [0.2, 0.1, 0.9]])
    return solve_stopping(
        PathStoppingProblem(gains[..., None], gains, 0.1, deterministic=True, gains_observed=True),
        PathwiseMaximum(),
    )


@functools.cache
def _put():
    from stochdepth.freeboundary import american_put_problem, solve_obstacle

    return solve_obstacle(american_put_problem(1.0, 0.05, 0.3, 0.5, n_nodes=41))


def _stationary():
    from stochdepth.freeboundary import StationaryObstacleProblem, UniformGrid, solve_obstacle

    problem = StationaryObstacleProblem(
        lambda x: np.maximum(1.0 - x, 0.0),
        lambda x: 0.0 * x,
        lambda x: 0.3 + 0.0 * x,
        UniformGrid(0.0, 3.0, 31),
        rate=0.05,
    )
    return solve_obstacle(problem)


def _obstacle_2d():
    from stochdepth.freeboundary import ObstacleProblem2D, UniformGrid, solve_obstacle

    problem = ObstacleProblem2D(
        lambda x, y: np.maximum(1.0 - 0.5 * (x + y), 0.0),
        (lambda t, x, y: 0.0 * x, lambda t, x, y: 0.0 * y),
        (lambda t, x, y: 0.3 + 0.0 * x, lambda t, x, y: 0.3 + 0.0 * y),
        UniformGrid(0.0, 3.0, 9),
        UniformGrid(0.0, 3.0, 9),
        t1=0.25,
        rate=0.05,
    )
    return solve_obstacle(problem)


def _lcp():
    from stochdepth.freeboundary import solve_lcp

    n = 5
    bands = (-np.ones(n), 2.5 * np.ones(n), -np.ones(n))
    return solve_lcp(bands, np.zeros(n), np.array([1.0, 0, 0, 0, 1.0]))


def _two_sample(rng):
    from stochdepth.stats import two_sample_test

    g = np.random.default_rng(rng)
    return two_sample_test(g.normal(size=30), g.normal(size=25))


@functools.cache
def _example(name):
    from hypothesis import HealthCheck, find, settings

    from stochdepth.testing import strategies

    strategy = getattr(strategies, name)()
    quiet = settings(database=None, max_examples=50, suppress_health_check=list(HealthCheck))
    return find(strategy, lambda _: True, settings=quiet)


def _policy_evaluation():
    from stochdepth.stopping import MarkovStoppingProblem, OneStepLookAhead

    P = [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]
    problem = MarkovStoppingProblem(P, [0.0, 0.5, 1.0], 0.1, horizon=4, initial=0)
    return OneStepLookAhead.fit(problem).evaluate(problem)


def _smooth_fit():
    import sympy as sp

    from stochdepth.symbolic import solve_smooth_fit

    y, a = sp.Symbol("y", real=True), sp.Symbol("a", real=True)
    m, s, c = sp.symbols("m s c", positive=True)
    return solve_smooth_fit(-((y - a) ** 2), m, s, variable=y, cost=c)


def _symbolic_sde():
    import sympy as sp

    from stochdepth.symbolic import SymbolicSDE

    x, mu, s = sp.symbols("x mu sigma", positive=True)
    return x, mu, s, SymbolicSDE((x,), sp.Matrix([mu * x]), sp.Matrix([[s * x]]), params=(mu, s))


def _trace():
    from stochdepth.depth import Trace

    g = np.random.default_rng(0)
    return Trace.from_outputs(
        g.normal(size=(6, 2, 3)),
        np.array([0, 1, 2, 0, 1, 2]),
        hidden_norms=g.random((6, 2)),
        hidden_projection=g.normal(size=(6, 2, 2)),
        residual_norms=g.random((6, 2)),
        flops=np.array([1.0, 2.0]),
    )


@functools.cache
def _exit_split(rng):
    from stochdepth.depth import ExitProblem
    from stochdepth.testing.exit_traces import markov_exit_trace

    P = np.array([[0.6, 0.3, 0.1], [0.0, 0.6, 0.4], [0.0, 0.0, 1.0]])
    trace, _ = markov_exit_trace(rng, 400, P, [0.6, 0.3, 0.1], [0.3, 0.7, 0.95], [0.2, 1.0, 2.5], 5)
    problem = ExitProblem.from_trace(trace, cost=0.02, features=("confidence",))
    return trace, problem.split(0.5, rng=rng)


def _exit_bounds(rng):
    from stochdepth.depth import BellmanExit

    _, (calibration, test) = _exit_split(rng)
    return BellmanExit().fit(calibration).bounds(test, rng=rng)


def _policy_curve(rng):
    from stochdepth.depth import ConfidenceExit, policy_curve

    _, (calibration, test) = _exit_split(rng)
    return policy_curve(ConfidenceExit(), calibration, test, [0.5, 0.8, 0.95], n_boot=20, rng=rng)


def _training_history():
    from stochdepth.nn.training import EpochRecord, TrainingHistory

    records = (
        EpochRecord(1, 0.7, 0.6, 0.5, (0.4, 0.5), 0.01),
        EpochRecord(2, 0.5, math.nan, math.nan, (), 0.01),
    )
    return TrainingHistory(records, "val_loss", 1, 0.6, False, 0, True, "abc")


def _factories(rng) -> dict[str, Callable[[], Any]]:
    from stochdepth import depth, freeboundary, limits, stats, symbolic
    from stochdepth.networks import sample_linear_log_norm
    from stochdepth.stopping.finance import bermudan_put_grid
    from stochdepth.testing import strategies

    x, mu, s, sde = _symbolic_sde()

    def observed():
        sample = _network_sample(rng)
        return sample.observed[next(iter(sample.observed))]

    return {
        "Estimate": lambda: Estimate(1.5, math.inf, 1),
        "MeanEstimate": lambda: stats.mc_mean(np.arange(10.0)),
        "WeakErrorFit": lambda: stats.weak_error_fit(
            [4, 8, 16],
            [Estimate(0.5, 0.01, 100), Estimate(0.25, 0.01, 100), Estimate(0.125, 0.01, 100)],
            reference=0.0,
        ),
        "HolmResult": lambda: stats.holm([0.01, 0.2, 0.03]),
        "FamilyResult": lambda: stats.test_family({"a": _two_sample(rng), "b": 0.5}),
        "TestResult": lambda: _two_sample(rng),
        "MomentsResult": lambda: observed().moments,
        "HistogramResult": lambda: observed().histogram,
        "QuantilesResult": lambda: observed().quantiles,
        "Observed": observed,
        "NetworkSample": lambda: _network_sample(rng),
        "LogNormWalk": lambda: sample_linear_log_norm(3, 4, n_paths=20, rng=rng),
        "SimulationResult": lambda: _simulation(rng),
        "LevelsResult": lambda: _levels(rng),
        "LevelStatistics": lambda: next(iter(_levels(rng).observed.values())),
        "WeakErrorStudy": lambda: limits.weak_error_study(
            np.ones(2), 3, "linear", 1.0, steps=(2, 4, 8), n_paths=50, rng=rng
        ),
        "LogNormMoments": lambda: limits.linear_log_norm_moments(3, 1.0),
        "NormIdentityCheck": lambda: limits.relu_norm_identity(3, n_steps=8, n_paths=20, n_times=3, rng=rng),
        "ReluRegime": lambda: limits.relu_regime([2, 5], n_steps=8, n_paths=50, n_times=3, rng=rng),
        "McKeanVlasovResult": lambda: limits.mckean_vlasov(
            "relu", 1.0, n_steps=4, n_paths=20, n_clouds=2, n_times=3, rng=rng
        ),
        "FluctuationScale": lambda: limits.fluctuation_scale([2, 4], "relu", depth=4, n_paths=50, rng=rng),
        "CommutationGrid": lambda: limits.commutation_grid([2, 4], [2, 4], "relu", n_paths=50, rng=rng),
        "MarkovSolution": _markov,
        "RegressionSolution": lambda: _bermudan(rng),
        "PathwiseSolution": _pathwise,
        "DepthLaw": lambda: _markov().depth_law(),
        "PolicyEvaluation": _policy_evaluation,
        "DepthBound": lambda: _example("residual_families").depth_bound(),
        "GridPrice": lambda: bermudan_put_grid(
            36.0, 40.0, rate=0.06, volatility=0.2, maturity=1.0, n_dates=4
        ),
        "ResidualFamily": lambda: _example("residual_families"),
        "LinearResNetDepth": lambda: depth.linear_resnet_optimal_depth(4, 1.0, 0.1),
        "NoiselessContraction": lambda: depth.noiseless_contraction(0.5, 0.1),
        "BridgeResult": lambda: depth.log_norm_bridge(4, 8, 0.5, 0.05, points_per_sd=4),
        "Trace": _trace,
        "ObstacleSolution": _put,
        "StationarySolution": _stationary,
        "ObstacleSolution2D": _obstacle_2d,
        "LCPSolution": _lcp,
        "FreeBoundary": lambda: _put().free_boundary,
        "PerpetualPut": lambda: freeboundary.perpetual_american_put(1.0, 0.05, 0.3),
        "Grid": lambda: freeboundary.Grid(np.array([0.0, 0.5, 2.0])),
        "UniformGrid": lambda: freeboundary.UniformGrid(0.0, 1.0, 5),
        "StretchedGrid": lambda: freeboundary.StretchedGrid(0.0, 2.0, 9, center=1.0, scale=0.5),
        "ItoResult": lambda: symbolic.ito(sde, x**2),
        "DerivedSDE": lambda: symbolic.derive_linear_norm_sde(),
        "GaussianLaw": lambda: symbolic.derive_linear_log_norm_law(),
        "MomentODE": lambda: symbolic.derive_moment_ode(sde, x**2),
        "VarianceODE": lambda: symbolic.derive_variance_ode("linear"),
        "KernelODE": lambda: symbolic.derive_kernel_ode("linear"),
        "NumpyFunction": lambda: symbolic.to_numpy(mu * x**2, (x,), {mu: 2.0}),
        "ObstacleCoefficients": lambda: symbolic.to_obstacle_coefficients(sde, 1 - x, {mu: 0.0, s: 0.3}),
        "SmoothFitSolution": _smooth_fit,
        "AmericanPut": lambda: strategies.AmericanPut(36.0, 40.0, 0.06, 0.2, 1.0, 0.0, 4),
        "NetworkConfig": lambda: strategies.NetworkConfig(
            np.ones(2), 3, 4, stochdepth.get_activation("relu"), 1.0
        ),
        "KnownLawDiffusion": lambda: _example("diffusions_with_known_laws"),
        "ObstacleCase": lambda: _example("obstacle_problems_with_closed_forms"),
        "EpochRecord": lambda: _training_history().records[0],
        "TrainingHistory": _training_history,
        "ExitProblem": lambda: _exit_split(rng)[1][0],
        "ExitEvaluation": lambda: depth.evaluate_exits(_exit_split(rng)[1][1], np.full(200, 2), "fixed"),
        "PolicyCurve": lambda: _policy_curve(rng),
        "ExitBounds": lambda: _exit_bounds(rng),
        "ResidualDecay": lambda: depth.residual_decay(_exit_split(rng)[0], n_boot=20, rng=rng),
        "TraceDepthBounds": lambda: depth.trace_depth_bounds(_exit_split(rng)[0], 0.05, rng=rng),
        "ExitDiffusion": lambda: depth.fit_exit_diffusion(_exit_split(rng)[1][0]),
    }


_NAMES = tuple(_factories(0))


def test_every_result_class_has_a_factory():
    from stochdepth.stopping.base import StoppingSolution  # an abstract base: no fields of its own

    names = {cls.__name__ for cls in _all_result_classes()} - {StoppingSolution.__name__}
    missing = names - set(_NAMES)
    assert not missing, f"result classes without a round-trip factory: {sorted(missing)}"


def _described_as_none(data):
    """What a loaded result's to_dict() is: descriptions of input objects become None."""
    if isinstance(data, dict):
        return None if "__object__" in data else {k: _described_as_none(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_described_as_none(v) for v in data]
    return data


def _assert_same_arrays(a, b, where="result"):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), where
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            _assert_same_arrays(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_arrays(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for k in a:
            _assert_same_arrays(a[k], b[k], f"{where}[{k!r}]")


@pytest.fixture(scope="module")
def module_seed():
    """One seed for the module, so that results shared by several classes are computed once."""
    return seed_for("tests/foundation/test_result_io.py")


@pytest.mark.parametrize("name", _NAMES)
def test_round_trip(name, module_seed, tmp_path):
    result = _factories(module_seed)[name]()
    assert type(result).__name__ == name
    data = result.to_dict()
    assert data["__result__"].endswith(f".{name}")
    back = type(result).from_dict(json.loads(json.dumps(data, allow_nan=False)))
    assert type(back) is type(result)
    assert back.to_dict() == _described_as_none(data)
    _assert_same_arrays(result if "__object__" not in json.dumps(data) else back, back)
    for suffix in (".json", ".npz"):
        if name == "Trace" and suffix == ".npz":
            continue  # a trace keeps its own validated .npz format (Trace.save / Trace.load)
        path = Result.save(result, tmp_path / f"{name}{suffix}")
        loaded = Result.load(path)
        assert type(loaded) is type(result)
        assert loaded.to_dict() == _described_as_none(data)
        _assert_same_arrays(back, loaded)
