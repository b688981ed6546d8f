"""Valid baseline calls of every public function of the numerical subpackages, for the input fuzz.

Each entry of :data:`CASES` is a :class:`Case`: the public callable, keyword arguments that make a
small valid call (about a tenth of a second or less), and the parameters the fuzz mutates one at a
time (all of them unless ``mutate`` says otherwise). :data:`EXCLUDED` lists the public names the fuzz
does not call, each with the reason; ``tests/test_input_fuzz.py`` checks that every name of the
packages' ``__all__`` is in exactly one of the two tables, so a new public function must be added here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import sympy as sp
from scipy import stats as sps

from stochdepth import depth, freeboundary, limits, networks, sde, stats, stopping, symbolic

#: The subpackages whose public names the fuzz covers.
PACKAGES = {
    "networks": networks,
    "sde": sde,
    "limits": limits,
    "stats": stats,
    "stopping": stopping,
    "freeboundary": freeboundary,
    "depth": depth,
    "symbolic": symbolic,
}


@dataclass(frozen=True)
class Case:
    """A valid call ``fn(**kwargs)`` and the parameters to mutate.

    ``streams`` names the counts of this function that cost time only (a streaming reduction): a huge
    value is a long run, not an error, so the fuzz does not make it huge (see also :data:`TIME_ONLY`).
    """

    name: str
    fn: Callable[..., Any]
    kwargs: Callable[[], dict[str, Any]]
    mutate: tuple[str, ...] | None = None
    streams: tuple[str, ...] = ()
    #: Why the output may hold ``inf`` or NaN (a documented value), else "".
    nonfinite_output: str = ""
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def parameters(self) -> tuple[str, ...]:
        return tuple(self.kwargs()) if self.mutate is None else self.mutate


@cache
def _markov() -> stopping.MarkovStoppingProblem:
    return stopping.MarkovStoppingProblem(
        [[0.5, 0.5], [0.0, 1.0]], [0.0, 1.0], costs=0.1, horizon=3, initial=0
    )


@cache
def _path_problem() -> stopping.PathStoppingProblem:
    h = np.stack([1.0 + 0.5 ** np.arange(7.0), 0.5 ** np.arange(7.0)])[:, :, None]
    return stopping.PathStoppingProblem(h, -np.abs(h[:, :, 0]), 0.05, deterministic=True, gains_observed=True)


@cache
def _obstacle() -> freeboundary.ObstacleProblem:
    grid = freeboundary.UniformGrid(-1.0, 1.0, 21)
    return freeboundary.ObstacleProblem(lambda x: np.maximum(-x, 0.0), 0.0, 0.3, 0.5, grid)


@cache
def _exit_trace() -> Any:
    from stochdepth.testing.exit_traces import markov_exit_trace

    P = [[0.6, 0.3, 0.1], [0.0, 0.6, 0.4], [0.0, 0.0, 1.0]]
    return markov_exit_trace(0, 200, P, [0.6, 0.3, 0.1], [0.3, 0.7, 0.95], [0.2, 1.0, 2.5], 5)[0]


@cache
def _exit_split() -> Any:
    problem = depth.ExitProblem.from_trace(_exit_trace(), cost=0.02, features=("confidence",))
    return problem.split(0.5, rng=0)


@cache
def _exit_curves() -> list[Any]:
    cal, test = _exit_split()
    return [
        depth.policy_curve(depth.ConfidenceExit(), cal, test, [0.6, 0.9], n_boot=10, rng=r) for r in (0, 1)
    ]


_X, _Y = sp.symbols("x y", real=True)
_A = sp.Symbol("a", real=True)


@cache
def _gbm() -> Any:
    return symbolic.SymbolicSDE([_X], [sp.Rational(1, 20) * _X], [[sp.Rational(1, 5) * _X]])


@cache
def _ou() -> Any:
    return sde.affine_sde(-np.eye(2), np.zeros(2), diffusion_offset=np.ones(2))


_NORM = sps.norm(0.05, 0.1)

#: Sizes that cost time only, in every function (steps, layers, iterations, permutations): a huge value
#: is a long computation that no check can refuse, so the fuzz does not make them huge.
TIME_ONLY = frozenset(
    {
        "n_steps",
        "depth",
        "max_iter",
        "n_permutations",
        "horizon",
        "max_layers",
        "n_outer",
        "n_inner",
        "rannacher_steps",
        "patience",
    }
)

#: Shared small sizes: a few paths, a few steps.
_MC = {"rng": 1}

CASES: list[Case] = [
    # networks
    Case(
        "networks.sample_network",
        networks.sample_network,
        lambda: {
            "x": np.ones(3),
            "width": 4,
            "depth": 3,
            "activation": "relu",
            "t1": 1.0,
            "n_paths": 16,
            "record": [0, 3],
            "observe": networks.squared_norms(),
            "chunk_size": 8,
            "n_threads": 1,
            **_MC,
        },
    ),
    Case(
        "networks.sample_linear_log_norm",
        networks.sample_linear_log_norm,
        lambda: {"width": 4, "depth": 3, "n_paths": 16, "t1": 1.0, "record": [0, 3], "chunk_size": 8, **_MC},
    ),
    Case(
        "networks.as_network_spec",
        networks.as_network_spec,
        lambda: {"x": np.ones(3), "width": 4, "depth": 3, "activation": "relu", "t1": 1.0},
    ),
    Case(
        "networks.default_chunk_size",
        networks.default_chunk_size,
        lambda: {"width": 4, "n_inputs": 2, "n_record": 3},
    ),
    Case("networks.psd_factor", networks.psd_factor, lambda: {"G": np.eye(3) + 0.5, "rtol": 1e-12}),
    Case(
        "networks.sample_input_layer",
        networks.sample_input_layer,
        lambda: {"x": np.ones((3, 2)), "width": 4, "n_paths": 5, "generator": np.random.default_rng(1)},
    ),
    Case("networks.neuron", networks.neuron, lambda: {"i": 0, "name": "n0"}),
    Case("networks.dead", networks.dead, lambda: {"activation": "relu", "name": "d"}),
    Case("networks.gram", networks.gram, lambda: {"activation": "relu", "name": "g"}),
    Case("networks.post_squared_norms", networks.post_squared_norms, lambda: {"activation": "tanh"}),
    Case("networks.active_counts", networks.active_counts, lambda: {"name": "a"}),
    Case("networks.log_norms", networks.log_norms, lambda: {"name": "l"}),
    Case("networks.preactivations", networks.preactivations, lambda: {"name": "p"}),
    Case("networks.squared_norms", networks.squared_norms, lambda: {"name": "s"}),
    Case(
        "networks.NetworkSpec",
        networks.NetworkSpec,
        lambda: {"width": 4, "depth": 3, "activation": "relu", "t1": 1.0, "inputs": np.ones(3)},
    ),
    Case("networks.ExplicitWeights", networks.ExplicitWeights, lambda: {"batch_size": 4}),
    Case("networks.ExactLaw", networks.ExactLaw, lambda: {"rtol": 1e-10}),
    # sde
    Case(
        "sde.simulate",
        sde.simulate,
        lambda: {
            "sde": _ou(),
            "solver": sde.EulerMaruyama(),
            "t1": 1.0,
            "n_steps": 4,
            "x0": np.ones(2),
            "n_paths": 16,
            "t0": 0.0,
            "record": [0, 4],
            "chunk_size": 8,
            "n_threads": 1,
            **_MC,
        },
    ),
    Case(
        "sde.simulate_levels",
        sde.simulate_levels,
        lambda: {
            "sde": _ou(),
            "solver": sde.EulerMaruyama(),
            "t1": 1.0,
            "steps": [2, 4],
            "x0": np.ones(2),
            "n_paths": 16,
            "chunk_size": 8,
            **_MC,
        },
        streams=("n_paths",),
        notes="moments only: a huge n_paths is a long run in flat memory (tests/test_montecarlo_memory.py)",
    ),
    Case(
        "sde.affine_sde",
        sde.affine_sde,
        lambda: {
            "drift_matrix": -np.eye(2),
            "drift_offset": np.zeros(2),
            "diffusion_offset": np.ones(2),
            "noise": "diagonal",
            "name": "ou",
        },
    ),
    Case("sde.coordinate", sde.coordinate, lambda: {"i": 0, "name": "c"}),
    Case("sde.log_norm", sde.log_norm, lambda: {"name": "l"}),
    Case("sde.squared_norm", sde.squared_norm, lambda: {"name": "s"}),
    Case("sde.state", sde.state, lambda: {"name": "s"}),
    # limits
    Case(
        "limits.simulate_limit",
        limits.simulate_limit,
        lambda: {
            "x": np.ones(3),
            "width": 4,
            "activation": "relu",
            "t1": 1.0,
            "n_steps": 4,
            "n_paths": 16,
            "chunk_size": 8,
            **_MC,
        },
    ),
    Case(
        "limits.weak_error_study",
        limits.weak_error_study,
        lambda: {
            "x": np.ones(3),
            "width": 4,
            "activation": "linear",
            "t1": 1.0,
            "steps": (2, 4, 8),
            "n_paths": 64,
            "chunk_size": 32,
            **_MC,
        },
        streams=("n_paths",),
    ),
    Case("limits.limit_sde", limits.limit_sde, lambda: {"width": 4, "activation": "relu"}),
    Case(
        "limits.commutation_grid",
        limits.commutation_grid,
        lambda: {
            "widths": [4],
            "depths": [2],
            "activation": "relu",
            "q0": 1.0,
            "t1": 1.0,
            "n_paths": 64,
            **_MC,
        },
        streams=("n_paths",),
    ),
    Case(
        "limits.fluctuation_scale",
        limits.fluctuation_scale,
        lambda: {"widths": [4], "activation": "relu", "t1": 1.0, "depth": 4, "n_paths": 64, **_MC},
        streams=("n_paths",),
    ),
    Case(
        "limits.kernel_ode",
        limits.kernel_ode,
        lambda: {"activation": "relu", "Q0": np.array([[1.0, 0.5], [0.5, 1.0]]), "t": np.array([0.0, 0.5])},
    ),
    Case(
        "limits.variance_ode",
        limits.variance_ode,
        lambda: {"activation": "tanh", "q0": 1.0, "t": np.array([0.0, 0.5])},
    ),
    Case(
        "limits.linear_exact_mean_square",
        limits.linear_exact_mean_square,
        lambda: {"width": 4, "depth": 3, "t1": 1.0},
    ),
    Case(
        "limits.linear_log_factor_law",
        limits.linear_log_factor_law,
        lambda: {"width": 4, "depth": 3, "t1": 1.0},
    ),
    Case(
        "limits.linear_log_norm_moments",
        limits.linear_log_norm_moments,
        lambda: {"width": 4, "t": 1.0, "depth": 8},
        streams=("width",),
        notes="the exact moments sum over the width: a huge width is a long sum, not memory",
    ),
    Case("limits.linear_neuron_law", limits.linear_neuron_law, lambda: {"width": 4, "t": 1.0, "sigma0": 1.0}),
    Case("limits.linear_norm_ratio_law", limits.linear_norm_ratio_law, lambda: {"width": 4, "t": 1.0}),
    Case(
        "limits.mckean_vlasov",
        limits.mckean_vlasov,
        lambda: {
            "activation": "relu",
            "q0": 1.0,
            "t1": 1.0,
            "n_steps": 4,
            "n_paths": 32,
            "n_clouds": 2,
            "n_times": 2,
            **_MC,
        },
    ),
    Case("limits.relu_correlation", limits.relu_correlation, lambda: {"c0": 0.5, "t": np.array([0.0, 1.0])}),
    Case("limits.relu_dead_probability", limits.relu_dead_probability, lambda: {"width": 4}),
    Case(
        "limits.relu_log_drift",
        limits.relu_log_drift,
        lambda: {"width": 4, "exact": False},
        streams=("width",),
        notes="a sum over the number of live neurons: a huge width is a long sum, not memory",
    ),
    Case(
        "limits.relu_log_drift_mc",
        limits.relu_log_drift_mc,
        lambda: {"width": 4, "t1": 1e-3, "n_steps": 2, "n_paths": 64, "chunk_size": 32, **_MC},
        streams=("n_paths",),
    ),
    Case(
        "limits.relu_norm_identity",
        limits.relu_norm_identity,
        lambda: {"width": 4, "t1": 1.0, "n_steps": 8, "n_paths": 64, "n_times": 2, "chunk_size": 32, **_MC},
    ),
    Case(
        "limits.relu_regime",
        limits.relu_regime,
        lambda: {
            "widths": [4],
            "t1": 1.0,
            "n_steps": 4,
            "n_paths": 64,
            "n_times": 2,
            "z_resolve": 5.0,
            "chunk_size": 32,
            **_MC,
        },
        streams=("n_paths",),
    ),
    Case("limits.relu_width1_law", limits.relu_width1_law, lambda: {"x0": 1.0, "t": 1.0}),
    Case(
        "limits.width_first_recursion",
        limits.width_first_recursion,
        lambda: {"activation": "relu", "q0": 1.0, "depth": 4, "t1": 1.0},
    ),
    # stats
    Case("stats.holm", stats.holm, lambda: {"pvalues": np.array([0.01, 0.2, 0.04]), "alpha": 0.05}),
    Case(
        "stats.mc_mean",
        stats.mc_mean,
        lambda: {"samples": np.linspace(0.0, 1.0, 20), "level": 0.95, "batch_size": 2},
    ),
    Case(
        "stats.mc_ratio",
        stats.mc_ratio,
        lambda: {
            "numerator": np.linspace(0.0, 1.0, 20),
            "denominator": np.linspace(1.0, 2.0, 20),
            "level": 0.95,
        },
    ),
    Case(
        "stats.one_sample_test",
        stats.one_sample_test,
        lambda: {"x": np.linspace(-1.0, 1.0, 20), "dist": sps.norm(), "method": stats.KolmogorovSmirnov()},
    ),
    Case(
        "stats.two_sample_test",
        stats.two_sample_test,
        lambda: {
            "x": np.linspace(-1.0, 1.0, 20),
            "y": np.linspace(-0.9, 1.1, 15),
            "method": stats.CramerVonMises(n_permutations=19),
            **_MC,
        },
    ),
    Case("stats.test_family", stats.test_family, lambda: {"results": {"a": 0.01, "b": 0.3}, "alpha": 0.05}),
    Case(
        "stats.wasserstein_distance",
        stats.wasserstein_distance,
        lambda: {"x": np.linspace(0.0, 1.0, 10), "y_or_dist": np.linspace(0.5, 1.5, 12), "p": 1},
    ),
    Case(
        "stats.weak_error_fit",
        stats.weak_error_fit,
        lambda: {
            "steps": np.array([4, 8, 16]),
            "estimates": np.array([[1.25, 0.01], [1.125, 0.01], [1.0625, 0.01]]),
            "reference": 1.0,
            "level": 0.95,
            "z_resolve": 3.0,
        },
    ),
    Case(
        "stats.weak_error_fit_differences",
        stats.weak_error_fit_differences,
        lambda: {
            "steps": np.array([4, 8, 16]),
            "differences": np.array([[0.125, 0.01], [0.0625, 0.01]]),
            "level": 0.95,
            "z_resolve": 3.0,
        },
    ),
    Case("stats.KolmogorovSmirnov", stats.KolmogorovSmirnov, lambda: {"exact": True}),
    Case("stats.CramerVonMises", stats.CramerVonMises, lambda: {"n_permutations": 99}),
    Case("stats.AndersonDarling", stats.AndersonDarling, lambda: {"n_permutations": 99, "midrank": True}),
    # stopping
    Case(
        "stopping.solve_stopping",
        stopping.solve_stopping,
        lambda: {"problem": _markov(), "solver": stopping.BackwardInduction(), "throw": True, **_MC},
    ),
    Case(
        "stopping.MarkovStoppingProblem",
        stopping.MarkovStoppingProblem,
        lambda: {
            "transitions": np.array([[0.5, 0.5], [0.0, 1.0]]),
            "gains": np.array([0.0, 1.0]),
            "costs": 0.1,
            "horizon": 3,
            "discount": 1.0,
            "initial": 0,
        },
    ),
    Case(
        "stopping.PathStoppingProblem",
        stopping.PathStoppingProblem,
        lambda: {"features": np.ones((4, 3, 1)), "gains": np.ones((4, 3)), "costs": 0.1, "discount": 1.0},
    ),
    Case("stopping.bounded_gains_bound", stopping.bounded_gains_bound, lambda: {"problem": _markov(), **_MC}),
    Case(
        "stopping.summable_residuals_bound",
        stopping.summable_residuals_bound,
        lambda: {"problem": _path_problem(), "lipschitz": 1.0, **_MC},
    ),
    Case(
        "stopping.geometric_depth_bound",
        stopping.geometric_depth_bound,
        lambda: {"problem": _path_problem(), "lipschitz": 1.0, "rho": 0.5, **_MC},
    ),
    Case("stopping.is_monotone", stopping.is_monotone, lambda: {"problem": _markov(), "tie_tol": 1e-11}),
    Case(
        "stopping.random_walk_transitions",
        stopping.random_walk_transitions,
        lambda: {"cdf": _NORM.cdf, "step": 0.05, "n_states": 41, "tail": 1e-16},
    ),
    Case(
        "stopping.random_walk_stopping_problem",
        stopping.random_walk_stopping_problem,
        lambda: {
            "increment_cdf": _NORM.cdf,
            "gain": lambda y: -((y - 1.0) ** 2),
            "cost": 0.01,
            "grid": np.linspace(-2.0, 2.0, 41),
            "horizon": 5,
            "discount": 1.0,
        },
    ),
    Case(
        "stopping.LongstaffSchwartz",
        stopping.LongstaffSchwartz,
        lambda: {
            "n_paths": 100,
            "n_eval": 100,
            "train_fraction": 0.5,
            "ridge": 0.0,
            "max_condition": 1e10,
            "level": 0.95,
        },
    ),
    Case("stopping.ValueIteration", stopping.ValueIteration, lambda: {"tol": 1e-9, "max_iter": 100}),
    Case("stopping.PolicyIteration", stopping.PolicyIteration, lambda: {"max_iter": 100, "tie_tol": 1e-11}),
    Case("stopping.BackwardInduction", stopping.BackwardInduction, lambda: {"tie_tol": 1e-11}),
    Case("stopping.Polynomial", stopping.Polynomial, lambda: {"degree": 2, "interactions": True}),
    Case("stopping.Laguerre", stopping.Laguerre, lambda: {"degree": 2, "weighted": True}),
    Case(
        "stopping.RandomFeatures",
        stopping.RandomFeatures,
        lambda: {"n_features": 8, "activation": "relu", "bandwidth": 1.0},
    ),
    Case(
        "stopping.AndersenBroadie",
        stopping.AndersenBroadie,
        lambda: {"n_outer": 10, "n_inner": 10, "chunk_size": 4},
    ),
    Case("stopping.PerfectForesight", stopping.PerfectForesight, lambda: {"n_paths": 10}),
    Case("stopping.PathwiseMaximum", stopping.PathwiseMaximum, lambda: {"n_paths": 10}),
    Case(
        "stopping.RegressionMartingale", stopping.RegressionMartingale, lambda: {"n_inner": 4, "n_paths": 10}
    ),
    Case("stopping.GainThreshold", stopping.GainThreshold, lambda: {"threshold": 0.5, "feature": 0}),
    Case("stopping.Patience", stopping.Patience, lambda: {"patience": 2, "feature": 0}),
    Case(
        "stopping.BandedTransitions",
        stopping.BandedTransitions,
        lambda: {"bands": np.array([[0.0, 0.5, 0.5], [0.25, 0.5, 0.25], [0.5, 0.5, 0.0]]), "lower": 1},
    ),
    # freeboundary
    Case(
        "freeboundary.solve_obstacle",
        freeboundary.solve_obstacle,
        lambda: {
            "problem": _obstacle(),
            "scheme": freeboundary.Implicit(n_steps=5),
            "lcp": freeboundary.PSOR(),
            "throw": True,
        },
    ),
    Case(
        "freeboundary.solve_lcp",
        freeboundary.solve_lcp,
        lambda: {
            "matrix": (-np.ones(5), 2.5 * np.ones(5), -np.ones(5)),
            "q": np.zeros(5),
            "obstacle": np.array([1.0, 0.0, 0.0, 0.0, 1.0]),
            "throw": True,
        },
    ),
    Case(
        "freeboundary.american_put_problem",
        freeboundary.american_put_problem,
        lambda: {
            "strike": 100.0,
            "rate": 0.05,
            "volatility": 0.2,
            "maturity": 1.0,
            "dividend": 0.0,
            "n_nodes": 41,
            "width": 6.0,
            "scale": 0.2,
        },
    ),
    Case(
        "freeboundary.perpetual_american_put",
        freeboundary.perpetual_american_put,
        lambda: {"strike": 100.0, "rate": 0.05, "volatility": 0.2, "dividend": 0.0},
    ),
    Case(
        "freeboundary.ObstacleProblem",
        freeboundary.ObstacleProblem,
        lambda: {
            "gain": lambda x: np.maximum(-x, 0.0),
            "drift": 0.0,
            "volatility": 0.3,
            "t1": 0.5,
            "grid": freeboundary.UniformGrid(-1.0, 1.0, 21),
            "cost": 0.0,
            "rate": 0.0,
        },
    ),
    Case(
        "freeboundary.StationaryObstacleProblem",
        freeboundary.StationaryObstacleProblem,
        lambda: {
            "gain": lambda x: np.maximum(-x, 0.0),
            "drift": 0.0,
            "volatility": 0.3,
            "grid": freeboundary.UniformGrid(-1.0, 1.0, 21),
            "cost": 0.0,
            "rate": 0.1,
        },
    ),
    Case("freeboundary.UniformGrid", freeboundary.UniformGrid, lambda: {"lower": 0.0, "upper": 1.0, "n": 11}),
    Case(
        "freeboundary.StretchedGrid",
        freeboundary.StretchedGrid,
        lambda: {"lower": 0.0, "upper": 1.0, "n": 11, "center": 0.5, "scale": 0.2},
    ),
    Case("freeboundary.Grid", freeboundary.Grid, lambda: {"nodes": np.linspace(0.0, 1.0, 5)}),
    Case("freeboundary.PSOR", freeboundary.PSOR, lambda: {"omega": 1.5, "tol": 1e-10, "max_iter": 100}),
    Case("freeboundary.BrennanSchwartz", freeboundary.BrennanSchwartz, lambda: {"side": "lower"}),
    Case("freeboundary.PrimalDualActiveSet", freeboundary.PrimalDualActiveSet, lambda: {"max_iter": 10}),
    Case(
        "freeboundary.ThetaScheme",
        freeboundary.ThetaScheme,
        lambda: {"theta": 0.5, "n_steps": 10, "rannacher_steps": 2, "grading": 1.0},
    ),
    Case(
        "freeboundary.CrankNicolson",
        freeboundary.CrankNicolson,
        lambda: {"n_steps": 10, "rannacher_steps": 2, "grading": 2.0},
    ),
    Case("freeboundary.Implicit", freeboundary.Implicit, lambda: {"n_steps": 10, "grading": 1.0}),
    Case("freeboundary.Dirichlet", freeboundary.Dirichlet, lambda: {"value": 1.0}),
    Case("freeboundary.Neumann", freeboundary.Neumann, lambda: {"slope": 0.0}),
    # depth
    Case(
        "depth.contraction_stopping_depth",
        depth.contraction_stopping_depth,
        lambda: {"d0": 1.0, "alpha": 0.1, "cost": 0.01},
    ),
    Case("depth.noiseless_contraction", depth.noiseless_contraction, lambda: {"kappa": 2.0, "cost": 0.1}),
    Case(
        "depth.linear_resnet_optimal_depth",
        depth.linear_resnet_optimal_depth,
        lambda: {"width": 8, "target": 0.0, "cost": 0.1},
    ),
    Case(
        "depth.linear_resnet_depth_problem",
        depth.linear_resnet_depth_problem,
        lambda: {"width": 8, "target": 0.0, "cost": 0.1, "n_nodes": 41},
    ),
    Case(
        "depth.linear_resnet_stopping_problem",
        depth.linear_resnet_stopping_problem,
        lambda: {
            "width": 8,
            "depth": 4,
            "target": 0.5,
            "cost": 0.1,
            "y0": 0.0,
            "t1": 1.0,
            "points_per_sd": 4,
            "margin_sd": 4.0,
        },
    ),
    Case(
        "depth.log_norm_bridge",
        depth.log_norm_bridge,
        lambda: {
            "width": 16,
            "depth": 4,
            "target": 0.5,
            "cost": 0.1,
            "y0": 0.0,
            "t1": 1.0,
            "points_per_sd": 4,
            "law": False,
        },
        notes="width and depth sizes: the engineer of its cost owns them",
        mutate=("target", "cost", "y0", "t1", "points_per_sd", "law", "solver", "increment"),
    ),
    Case(
        "depth.residual_path_problem",
        depth.residual_path_problem,
        lambda: {
            "residual": lambda l, h: 0.5**l * np.ones_like(h),
            "gain": lambda h: -np.abs(h[..., 0]),
            "h0": np.ones(1),
            "horizon": 4,
            "costs": 0.05,
        },
    ),
    Case(
        "depth.simulate_network_depths",
        depth.simulate_network_depths,
        lambda: {
            "width": 4,
            "depth": 8,
            "threshold": 0.5,
            "y0": 0.0,
            "n_paths": 16,
            "max_layers": 16,
            "chunk_size": 8,
            **_MC,
        },
    ),
    Case(
        "depth.simulate_stopping_depth",
        depth.simulate_stopping_depth,
        lambda: {
            "width": 8,
            "target": 0.0,
            "cost": 0.1,
            "y0": -0.5,
            "n_paths": 16,
            "dt": 0.01,
            "max_depth": 5.0,
            "chunk_size": 8,
            **_MC,
        },
        nonfinite_output="inf marks a path not stopped within max_depth (censored)",
    ),
    Case(
        "depth.LinearResNetSimulator",
        depth.LinearResNetSimulator,
        lambda: {"width": 8, "depth": 16, "target": 0.5, "y0": 0.0, "t1": 1.0, "state": "log_norm"},
    ),
    # exit policies on recorded traces
    Case(
        "depth.ExitProblem",
        depth.ExitProblem.from_trace,
        lambda: {
            "trace": _exit_trace(),
            "cost": 0.02,
            "cost_unit": "layers",
            "features": ("confidence", "entropy"),
            "labelled": True,
        },
        notes="fuzzed through ExitProblem.from_trace, the way problems are built",
    ),
    Case("depth.ConfidenceExit", depth.ConfidenceExit, lambda: {"threshold": 0.8}),
    Case("depth.EntropyExit", depth.EntropyExit, lambda: {"threshold": 0.3}),
    Case("depth.PatienceExit", depth.PatienceExit, lambda: {"patience": 2}),
    Case(
        "depth.BellmanExit",
        depth.BellmanExit,
        lambda: {"basis": stopping.Polynomial(2), "ridge": 1e-8, "features": ("confidence",)},
    ),
    Case(
        "depth.LookAheadExit",
        depth.LookAheadExit,
        lambda: {"basis": stopping.Polynomial(2), "features": ("confidence", "entropy")},
    ),
    Case(
        "depth.CrossValidatedExit",
        depth.CrossValidatedExit,
        lambda: {"candidates": [depth.ConfidenceExit(), depth.PatienceExit(2)], "folds": 3},
    ),
    Case(
        "depth.RiskControlledExit",
        depth.RiskControlledExit,
        lambda: {"epsilon": 0.05, "delta": 0.1, "score": "confidence", "p_value": "binomial"},
    ),
    Case("depth.FreeBoundaryExit", depth.FreeBoundaryExit, lambda: {"n_grid": 101, "n_steps": 50}),
    Case(
        "depth.evaluate_exits",
        depth.evaluate_exits,
        lambda: {"problem": _exit_split()[1], "exits": np.full(_exit_split()[1].n_samples, 2), "label": "x"},
    ),
    Case("depth.first_exit", depth.first_exit, lambda: {"hit": np.array([[False, True], [False, False]])}),
    Case("depth.fit_exit_diffusion", depth.fit_exit_diffusion, lambda: {"problem": _exit_split()[0]}),
    Case(
        "depth.policy_curve",
        depth.policy_curve,
        lambda: {
            "policy": depth.ConfidenceExit(),
            "calibration": _exit_split()[0],
            "test": _exit_split()[1],
            "values": [0.6, 0.9],
            "n_boot": 10,
            "level": 0.95,
            "rng": 0,
        },
    ),
    Case(
        "depth.prediction_streaks", depth.prediction_streaks, lambda: {"predictions": np.array([[0, 0, 1]])}
    ),
    Case(
        "depth.residual_decay",
        depth.residual_decay,
        lambda: {"trace": _exit_trace(), "level": 0.95, "n_boot": 10, "rng": 0},
    ),
    Case(
        "depth.risk_p_values",
        depth.risk_p_values,
        lambda: {"losses": [0, 3], "n": 100, "epsilon": 0.05, "method": "binomial"},
    ),
    Case("depth.seed_curve", depth.seed_curve, lambda: {"curves": _exit_curves(), "level": 0.95}),
    Case(
        "depth.trace_depth_bounds",
        depth.trace_depth_bounds,
        lambda: {"trace": _exit_trace(), "cost": 0.05, "level": 0.95, "n_boot": 10, "rng": 0},
    ),
    # symbolic
    Case(
        "symbolic.derive_linear_log_norm_law", symbolic.derive_linear_log_norm_law, lambda: {"n": 4, "t": 1}
    ),
    Case(
        "symbolic.derive_linear_norm_moment",
        symbolic.derive_linear_norm_moment,
        lambda: {"n": 4, "p": 2, "t": 1},
        streams=("p",),
        notes="sympy expands the moment of order p: a huge p is a long expansion, not memory",
    ),
    Case("symbolic.derive_relu_log_drift", symbolic.derive_relu_log_drift, lambda: {"n": 4}),
    Case("symbolic.limit_diffusion", symbolic.limit_diffusion, lambda: {"n": 2, "activation": "linear"}),
    Case(
        "symbolic.exchangeable_limit_diffusion",
        symbolic.exchangeable_limit_diffusion,
        lambda: {"n": 4, "activation": "linear"},
    ),
    Case("symbolic.generator", symbolic.generator, lambda: {"sde": _gbm(), "f": sp.log(_X)}),
    Case("symbolic.ito", symbolic.ito, lambda: {"sde": _gbm(), "f": sp.log(_X)}),
    Case("symbolic.detect_noise", symbolic.detect_noise, lambda: {"sde": _gbm()}),
    Case("symbolic.gaussian_expectation", symbolic.gaussian_expectation, lambda: {"expr": _X**2, "z": _X}),
    Case(
        "symbolic.to_numpy",
        symbolic.to_numpy,
        lambda: {"expr": _A * _X**2, "symbols": _X, "values": {_A: 2.0}},
    ),
    Case(
        "symbolic.to_numba",
        symbolic.to_numba,
        lambda: {"expr": _A * _X**2, "symbols": _X, "values": {_A: 2.0}},
    ),
    Case("symbolic.to_sde", symbolic.to_sde, lambda: {"sde": _gbm(), "values": None, "name": "gbm"}),
    Case("symbolic.derive_moment_ode", symbolic.derive_moment_ode, lambda: {"sde": _gbm(), "f": _X**2}),
    Case("symbolic.derive_kernel_ode", symbolic.derive_kernel_ode, lambda: {"activation": "relu"}),
    Case("symbolic.derive_variance_ode", symbolic.derive_variance_ode, lambda: {"activation": "relu"}),
    Case("symbolic.derive_linear_log_norm_sde", symbolic.derive_linear_log_norm_sde, lambda: {"n": 4}),
    Case("symbolic.derive_linear_norm_sde", symbolic.derive_linear_norm_sde, lambda: {"n": 4}),
    Case(
        "symbolic.derive_relu_log_post_norm_sde",
        symbolic.derive_relu_log_post_norm_sde,
        lambda: {"n": 4, "mu": 2},
    ),
    Case("symbolic.derive_relu_post_norm_sde", symbolic.derive_relu_post_norm_sde, lambda: {"n": 4, "mu": 2}),
    Case(
        "symbolic.derive_squared_norm_sde",
        symbolic.derive_squared_norm_sde,
        lambda: {"n": 4, "activation": "linear"},
    ),
    Case(
        "symbolic.solve_smooth_fit",
        symbolic.solve_smooth_fit,
        lambda: {
            "gain": -((_X - 1) ** 2),
            "drift": sp.Rational(1, 4),
            "volatility": sp.Rational(1, 2),
            "variable": _X,
            "cost": sp.Rational(1, 10),
        },
    ),
    Case(
        "symbolic.to_obstacle_coefficients",
        symbolic.to_obstacle_coefficients,
        lambda: {
            "sde": symbolic.derive_linear_log_norm_sde(8),
            "gain": -(sp.Symbol("y", real=True) ** 2),
            "values": None,
            "cost": 0.1,
            "rate": 0.0,
        },
    ),
    Case(
        "symbolic.SymbolicSDE",
        symbolic.SymbolicSDE,
        lambda: {
            "state": (_X,),
            "drift": sp.Matrix([_A * _X]),
            "diffusion": sp.Matrix([[_X]]),
            "params": (_A,),
            "name": "gbm",
        },
    ),
    Case(
        "sde.SDE",
        sde.SDE,
        lambda: {"drift": None, "diffusion": _ou().diffusion, "dim": 2, "noise": "diagonal", "name": "ou"},
    ),
    Case(
        "stopping.SimulatedStoppingProblem",
        stopping.SimulatedStoppingProblem,
        lambda: {
            "simulator": depth.LinearResNetSimulator(8, 16, 0.5, state="log_norm"),
            "horizon": 8,
            "costs": 0.01,
            "discount": 1.0,
        },
    ),
    Case("freeboundary.SteadyState", freeboundary.SteadyState, lambda: {"upwind": True}),
]

_RESULT = "a result record built by the library (its numbers are checked by Result when built)"
_ABSTRACT = "an abstract base class, subclassed by users"
_CONSTANT = "a constant, not a callable"
_NO_ARGS = "takes no arguments"

#: Public names the fuzz does not call, with the reason.
EXCLUDED: dict[str, str] = {
    **dict.fromkeys(
        [
            "networks.LogNormWalk",
            "networks.NetworkSample",
            "sde.LevelStatistics",
            "sde.LevelsResult",
            "sde.SimulationResult",
            "limits.CommutationGrid",
            "limits.FluctuationScale",
            "limits.LinearLogFactorLaw",
            "limits.LinearNeuronLaw",
            "limits.LogNormMoments",
            "limits.McKeanVlasovResult",
            "limits.NormIdentityCheck",
            "limits.ReluRegime",
            "limits.WeakErrorStudy",
            "stats.FamilyResult",
            "stats.HolmResult",
            "stats.MeanEstimate",
            "stats.TestResult",
            "stats.WeakErrorFit",
            "stopping.DepthBound",
            "stopping.DepthLaw",
            "stopping.MarkovSolution",
            "stopping.PathwiseSolution",
            "stopping.PolicyEvaluation",
            "stopping.RegressionSolution",
            "stopping.StoppingSolution",
            "freeboundary.FreeBoundary",
            "freeboundary.LCPSolution",
            "freeboundary.ObstacleSolution",
            "freeboundary.ObstacleSolution2D",
            "freeboundary.PerpetualPut",
            "freeboundary.StationarySolution",
            "depth.BridgeResult",
            "depth.LinearResNetDepth",
            "depth.NoiselessContraction",
            "depth.ResidualFamily",
            "depth.ExitBounds",
            "depth.ExitDiffusion",
            "depth.ExitEvaluation",
            "depth.PolicyCurve",
            "depth.ResidualDecay",
            "depth.TraceDepthBounds",
            "symbolic.DerivedSDE",
            "symbolic.GaussianLaw",
            "symbolic.ItoResult",
            "symbolic.KernelODE",
            "symbolic.MomentODE",
            "symbolic.NumpyFunction",
            "symbolic.ObstacleCoefficients",
            "symbolic.SmoothFitSolution",
            "symbolic.VarianceODE",
        ],
        _RESULT,
    ),
    **dict.fromkeys(
        [
            "networks.NetworkSampler",
            "sde.Solver",
            "stopping.Basis",
            "stopping.FittedBasis",
            "stopping.Policy",
            "stopping.Simulator",
            "stopping.StoppingProblem",
            "stopping.StoppingSolver",
            "stats.TestMethod",
            "freeboundary.BoundaryCondition",
            "freeboundary.LCPSolver",
            "freeboundary.TimeScheme",
            "depth.ExitPolicy",
        ],
        _ABSTRACT,
    ),
    **dict.fromkeys(
        [
            "sde.NOISE_TYPES",
            "stats.KS_EXACT_MAX_CELLS",
            "stats.PERMUTATION_CHUNK_SIZE",
            "symbolic.REGULARITIES",
            "symbolic.SYMBOLS",
            "depth.EXIT_FEATURES",
        ],
        _CONSTANT,
    ),
    **dict.fromkeys(
        [
            "sde.EulerMaruyama",
            "sde.Milstein",
            "freeboundary.Natural",
            "symbolic.derive_relu_critical_width",
            "depth.OracleExit",
        ],
        _NO_ARGS,
    ),
    "stopping.OneStepLookAhead": "a policy built from a solver's fitted tables (its inputs are the solver's)",
    "stopping.SnellPolicy": "a policy built from a solver's fitted continuation values",
    "freeboundary.ObstacleProblem2D": "its 1-d arguments are those of ObstacleProblem (fuzzed); a 2-d "
    "baseline costs seconds per call",
    "depth.Trace": "a record of a trained network's outputs, built by Trace.from_outputs and the nn "
    "package, whose shapes it checks (tests/depth)",
    "symbolic.Block": "a building block of ExchangeableSDE, checked through it",
    "symbolic.CoordinateSum": "a sympy expression node, made by ExchangeableSDE.sum",
    "symbolic.ExchangeableSDE": "takes sympy callables (coordinate sums) that have no bad numeric value "
    "to mutate; checked through exchangeable_limit_diffusion",
}

#: Mutations ``(function, parameter, label)`` (label ``"*"``: all) that wait for another change, with
#: the reason; they are left out of the fuzz until it lands (then this table shrinks).
DEFERRED: dict[tuple[str, str, str], str] = {}
