r"""Validation campaign "trained networks": docs/science.md §B3, §B4 and §B7 on networks that were trained.

The random-network campaigns check the mathematics on networks whose weights are drawn; this one trains
early-exit networks (:mod:`stochdepth.nn`) on offline tasks where depth matters and checks what the
optimal-depth paper predicts of them. The models come from :mod:`.zoo` (one recipe per task, model and
loss, trained once per seed and shared by the experiments; traces of the calibration and test splits);
the measures on traces are in :mod:`.measures`.

:mod:`.regularizers` (``nets.regularizers``)
    Depth matters on MNIST-1D; the depth regularisers of §B3 keep accuracy; the campaign's regulariser
    (look-ahead consistency with a fixed target plus residual decay) makes the residual norms decay and
    accuracy rise earlier than deep supervision alone and PonderNet's loss.
:mod:`.policies` (``nets.policies``)
    Exit policies fitted on calibration traces: the Bellman policy against threshold and patience rules,
    the oracle, risk control; regularised models under the Bellman policy.
:mod:`.sequence` (``nets.sequence``)
    A pre-LN Transformer on pointer chasing: its accuracy, and harder samples (more hops) needing deeper
    oracle exits.
:mod:`.continuous` (``nets.continuous``)
    A neural ODE on MNIST-1D with an exit at every Euler step, its hidden-state path recorded.
:mod:`.theory` (``nets.theory``)
    The B2 bounds on the recorded residuals of trained networks, and the neural ODE's exit as a
    free-boundary problem against the Bellman policy.
"""

from __future__ import annotations

from ..experiment import Experiment
from . import continuous, policies, regularizers, sequence, theory

__all__ = ["CAMPAIGN", "EXPERIMENTS"]

CAMPAIGN = "trained_networks"

#: The experiments in the order they run.
EXPERIMENTS: tuple[Experiment, ...] = tuple(
    Experiment.of_module(module) for module in (regularizers, policies, sequence, continuous, theory)
)
