r"""Validation campaign "trained networks": docs/science.md §B3, §B4 and §B7 on networks that were trained.

The random-network campaigns check the mathematics on networks whose weights are drawn; this one trains
early-exit networks (:mod:`stochdepth.nn`) on offline tasks where depth matters and checks what the
optimal-depth paper predicts of them. The models come from :mod:`.zoo` (one recipe per task, model and
loss, trained once per seed and shared by the experiments; traces of the calibration and test splits);
the measures on traces are in :mod:`.measures`.

Its experiments are the modules listed, in run order, in ``EXPERIMENTS``; each is named and described by
its own module docstring (``python -m validation --list`` prints them).
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
