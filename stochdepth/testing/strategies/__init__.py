r"""Hypothesis strategies for property-based tests of depth models, built on the library's objects.

The strategies live in one module per domain (:mod:`.networks`, :mod:`.diffusions`, :mod:`.stopping`,
:mod:`.residuals`, :mod:`.freeboundary`, :mod:`.finance`) and are re-exported here. Each strategy
draws a *library object together with what is known about it*, so that a property test
can compare a computation with a closed form, or check that a theorem's conclusion holds whenever its
hypotheses do:

============================================  ============================================================
strategy                                      draws
============================================  ============================================================
:func:`activations`                           :class:`~stochdepth.Activation` objects (built-ins, leaky
                                              slopes)
:func:`widths`, :func:`depths`                widths :math:`n` and depths :math:`L`
:func:`network_inputs`                        inputs :math:`x` of shape ``(d, k)``, collinear columns too
:func:`network_configs`                       :class:`NetworkConfig`: a random ResNet of docs/science.md §A1
:func:`diffusions_with_known_laws`            :class:`KnownLawDiffusion`: GBM, Ornstein--Uhlenbeck,
                                              Brownian motion, the linear network's limit diffusion, with
                                              exact laws and exact moments (of the SDE and of its Euler
                                              scheme)
:func:`stochastic_matrices`                   row-stochastic matrices with exact zeros
:func:`markov_stopping_problems`              :class:`~stochdepth.stopping.MarkovStoppingProblem` (finite
                                              or infinite horizon, monotone by construction or not)
:func:`residual_families`                     :class:`~stochdepth.depth.ResidualFamily`: residual
                                              networks that satisfy (or observably violate) the
                                              hypotheses of docs/science.md §B2
:func:`obstacle_problems_with_closed_forms`   :class:`ObstacleCase`: perpetual put, B5 noiseless
                                              contraction, B6 bridge, with closed-form solutions
:func:`american_options`                      :class:`AmericanPut`: European closed form, American PDE,
                                              Bermudan grid reference
============================================  ============================================================

Every strategy validates its arguments when it is *built* (a wrong size knob raises at once, not at
draw time) and is parametrised by size knobs (``max_states``, ``max_width``, ...) so that the same
property runs small in a default test suite and large under a ``slow`` marker.

hypothesis is a test extra: importing this package without it raises an :class:`ImportError` that says
how to install it, and neither ``import stochdepth`` nor ``import stochdepth.testing`` imports it
(nor hypothesis). The heavy subpackages (:mod:`~stochdepth.stopping`, :mod:`~stochdepth.freeboundary`,
:mod:`~stochdepth.sde`) are imported when a strategy that needs them is built.

Random arrays inside a drawn object (weights of a residual family, directions) come from a generator
seeded by a drawn integer through :func:`stochdepth.random.as_generator`: the draw, hence the test, is
reproducible under hypothesis' derandomised profile.

Examples
--------
>>> from hypothesis import given, settings
>>> from stochdepth.testing.strategies import markov_stopping_problems
>>> from stochdepth.stopping import solve_stopping
>>> @settings(max_examples=5)
... @given(markov_stopping_problems(max_states=3, max_horizon=3))
... def check(prob):
...     sol = solve_stopping(prob)
...     assert (sol.values >= prob.gains - 1e-12).all()     # the Snell envelope dominates the gain
>>> check()
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "stochdepth.testing.strategies needs hypothesis, a test extra of stochdepth: pip install hypothesis "
        "(or pip install 'stochdepth[test]')"
    ) from exc

from .diffusions import KnownLawDiffusion, diffusions_with_known_laws
from .finance import AmericanPut, american_options
from .freeboundary import ObstacleCase, obstacle_problems_with_closed_forms
from .networks import NetworkConfig, activations, depths, network_configs, network_inputs, widths
from .residuals import residual_families
from .stopping import markov_stopping_problems, stochastic_matrices

__all__ = [
    "AmericanPut",
    "KnownLawDiffusion",
    "NetworkConfig",
    "ObstacleCase",
    "activations",
    "american_options",
    "depths",
    "diffusions_with_known_laws",
    "markov_stopping_problems",
    "network_configs",
    "network_inputs",
    "obstacle_problems_with_closed_forms",
    "residual_families",
    "stochastic_matrices",
    "widths",
]
