r"""The optimal depth of neural networks: the application of the generic stopping solvers (docs/science.md
Part B).

A network's depth seen as an optimal stopping problem, built from the networks' own laws and solved by
the generic machinery of :mod:`stochdepth.stopping` (discrete depth) and :mod:`stochdepth.freeboundary`
(continuous depth):

* B2, finite optimal depth of residual networks (:mod:`stochdepth.depth.residuals`):
  :func:`residual_path_problem` builds the paths :math:`h_{l+1}=h_l+f_l(h_l)`, :class:`ResidualFamily`
  carries their declared constants and computes the bound they are built for (the bound formulas are
  generic, in :mod:`stochdepth.stopping.bounds`);
* B5, the noiseless contraction (:mod:`stochdepth.depth.contraction`): :func:`noiseless_contraction`
  (closed form and obstacle problem), :func:`contraction_stopping_depth` (discrete depth);
* B6, the optimal depth of the linear random ResNet, continuous half (:mod:`stochdepth.depth.continuous`):
  :func:`linear_resnet_optimal_depth` (closed form by smooth fit, :class:`LinearResNetDepth`),
  :func:`linear_resnet_depth_problem` (obstacle problem);
* B6, discrete half (:mod:`stochdepth.depth.discrete`): :func:`linear_resnet_stopping_problem` (the exact
  finite-depth log-norm walk as a Markov stopping problem), :func:`log_norm_bridge` (its Snell envelope
  against the closed forms, :class:`BridgeResult`);
* simulators (:mod:`stochdepth.depth.simulators`): :func:`simulate_stopping_depth` (first passage of
  the infinite-depth log-norm) and :class:`LinearResNetSimulator` (finite-depth networks as a
  :class:`~stochdepth.stopping.Simulator` for regression Monte Carlo) and
  :func:`simulate_network_depths` (first passage of finite-depth networks with explicit weights);
* B7, traces of trained early-exit networks (:mod:`stochdepth.depth.traces`): :class:`Trace`, per sample
  and exit what an exit policy may look at, saved to and loaded from one file (numpy only; recorded by
  :func:`stochdepth.nn.record_trace`);
* B7, exits of trained networks as a partially observed stopping problem: the problem
  (:mod:`stochdepth.depth.exit_problem`: :class:`ExitProblem`, observations kept apart from the
  label-dependent reward), the policies (:mod:`stochdepth.depth.exit_policies`: :class:`ConfidenceExit`,
  :class:`EntropyExit`, :class:`PatienceExit`, :class:`LookAheadExit`, :class:`BellmanExit` with
  :class:`ExitBounds`, :class:`OracleExit`; :mod:`stochdepth.depth.risk`: :class:`RiskControlledExit`;
  :mod:`stochdepth.depth.exit_selection`: :class:`CrossValidatedExit`, a candidate chosen by
  cross-validation),
  their evaluation (:mod:`stochdepth.depth.exit_evaluation`: :class:`ExitEvaluation`,
  :class:`PolicyCurve`, :func:`policy_curve`, :func:`seed_curve`) and the theory on trained networks
  (:mod:`stochdepth.depth.exit_theory`: :func:`residual_decay`, :func:`trace_depth_bounds`,
  :func:`fit_exit_diffusion`, :class:`FreeBoundaryExit`).
"""

from __future__ import annotations

from .continuous import LinearResNetDepth, linear_resnet_depth_problem, linear_resnet_optimal_depth
from .contraction import NoiselessContraction, contraction_stopping_depth, noiseless_contraction
from .discrete import BridgeResult, linear_resnet_stopping_problem, log_norm_bridge
from .exit_evaluation import ExitEvaluation, PolicyCurve, evaluate_exits, policy_curve, seed_curve
from .exit_policies import (
    BellmanExit,
    ConfidenceExit,
    EntropyExit,
    ExitBounds,
    ExitPolicy,
    LookAheadExit,
    OracleExit,
    PatienceExit,
    first_exit,
)
from .exit_problem import EXIT_FEATURES, ExitProblem, prediction_streaks
from .exit_selection import CrossValidatedExit
from .exit_theory import (
    ExitDiffusion,
    FreeBoundaryExit,
    ResidualDecay,
    TraceDepthBounds,
    fit_exit_diffusion,
    residual_decay,
    trace_depth_bounds,
)
from .residuals import ResidualFamily, residual_path_problem
from .risk import RiskControlledExit, risk_p_values
from .simulators import LinearResNetSimulator, simulate_network_depths, simulate_stopping_depth
from .traces import Trace

__all__ = [
    "EXIT_FEATURES",
    "BellmanExit",
    "BridgeResult",
    "ConfidenceExit",
    "CrossValidatedExit",
    "EntropyExit",
    "ExitBounds",
    "ExitDiffusion",
    "ExitEvaluation",
    "ExitPolicy",
    "ExitProblem",
    "FreeBoundaryExit",
    "LinearResNetDepth",
    "LinearResNetSimulator",
    "LookAheadExit",
    "NoiselessContraction",
    "OracleExit",
    "PatienceExit",
    "PolicyCurve",
    "ResidualDecay",
    "ResidualFamily",
    "RiskControlledExit",
    "Trace",
    "TraceDepthBounds",
    "contraction_stopping_depth",
    "evaluate_exits",
    "first_exit",
    "fit_exit_diffusion",
    "linear_resnet_depth_problem",
    "linear_resnet_optimal_depth",
    "linear_resnet_stopping_problem",
    "log_norm_bridge",
    "noiseless_contraction",
    "policy_curve",
    "prediction_streaks",
    "residual_decay",
    "residual_path_problem",
    "risk_p_values",
    "seed_curve",
    "simulate_network_depths",
    "simulate_stopping_depth",
    "trace_depth_bounds",
]
