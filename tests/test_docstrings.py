"""Every example in the docstrings of the library's modules runs and gives the printed result (doctest).

One parametrised test over the modules of every area, so a new module is covered by adding its name
below. The examples see ``np`` and ``math`` as if imported; a module listed in ``WITHOUT_EXAMPLES`` may
have none (a package front page), every other module must have at least one.
"""

from __future__ import annotations

import doctest
import importlib
import math

import numpy as np
import pytest

AREAS = {
    "foundation": [
        "stochdepth.random",
        "stochdepth.activations",
        "stochdepth._checks",
        "stochdepth._results",
        "stochdepth.executors",
        "stochdepth.reducers",
    ],
    "sde": [
        "stochdepth.sde.problem",
        "stochdepth.sde.solvers",
        "stochdepth.sde.simulate",
        "stochdepth.sde.observables",
    ],
    "limits": [
        "stochdepth.limits.linear",
        "stochdepth.limits.relu",
        "stochdepth.limits.diffusion",
        "stochdepth.limits.sequential",
    ],
    "stats": [
        "stochdepth.stats.gof",
        "stochdepth.stats.multiple",
        "stochdepth.stats.montecarlo",
        "stochdepth.stats.distance",
        "stochdepth.stats.weak_error",
    ],
    "symbolic": [
        "stochdepth.symbolic",
        "stochdepth.symbolic.sdes",
        "stochdepth.symbolic.ito_formula",
        "stochdepth.symbolic.derivations.linear",
        "stochdepth.symbolic.derivations.relu",
        "stochdepth.symbolic.derivations.moments",
        "stochdepth.symbolic.derivations.sequential",
        "stochdepth.symbolic.derivations.limit",
        "stochdepth.symbolic.codegen",
        "stochdepth.symbolic.coefficients",
        "stochdepth.symbolic.smooth_fit",
    ],
    "stopping": [
        "stochdepth.stopping",
        "stochdepth.stopping.base",
        "stochdepth.stopping.basis",
        "stochdepth.stopping.bounds",
        "stochdepth.stopping.evaluation",
        "stochdepth.stopping.finance",
        "stochdepth.stopping.markov",
        "stochdepth.stopping.policies",
        "stochdepth.stopping.problems",
        "stochdepth.stopping.regression",
        "stochdepth.stopping.pathwise",
        "stochdepth.stopping.results",
        "stochdepth.stopping.solve",
        "stochdepth.stopping.transitions",
        "stochdepth.stopping.walks",
    ],
    "freeboundary": [
        "stochdepth.freeboundary",
        "stochdepth.freeboundary.grids",
        "stochdepth.freeboundary.problems",
        "stochdepth.freeboundary.schemes",
        "stochdepth.freeboundary.lcp",
        "stochdepth.freeboundary.results",
        "stochdepth.freeboundary.solve",
        "stochdepth.freeboundary.examples",
    ],
    "depth": [
        "stochdepth.depth",
        "stochdepth.depth.continuous",
        "stochdepth.depth.contraction",
        "stochdepth.depth.discrete",
        "stochdepth.depth.residuals",
        "stochdepth.depth.simulators",
        "stochdepth.depth.traces",
        "stochdepth.depth.exit_problem",
        "stochdepth.depth.exit_policies",
        "stochdepth.depth.exit_evaluation",
        "stochdepth.depth.exit_theory",
        "stochdepth.depth.risk",
    ],
    "plot": [
        "stochdepth.plot",
        "stochdepth.plot.style",
        "stochdepth.plot.laws",
        "stochdepth.plot.convergence",
        "stochdepth.plot.boundaries",
        "stochdepth.plot.exits",
    ],
}
MODULES = [name for names in AREAS.values() for name in names]
WITHOUT_EXAMPLES = {
    "stochdepth._checks",
    "stochdepth.symbolic",
    "stochdepth.stopping",
    "stochdepth.stopping.evaluation",
    "stochdepth.stopping.results",
    "stochdepth.freeboundary",
    "stochdepth.freeboundary.results",
    "stochdepth.depth",
    "stochdepth.depth.residuals",
}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(
        module,
        extraglobs={"np": np, "math": math},
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
    assert name in WITHOUT_EXAMPLES or result.attempted > 0, f"no docstring example in {name}"
