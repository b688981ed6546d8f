"""The hidden exit chain the exit-policy tests share (the model: :mod:`stochdepth.testing.exit_traces`).

Four states that drift up to a confident, accurate one: transition matrix ``P``, initial law ``INIT``,
and per state the probability ``ACC`` that an exit is right and the logit margin ``MARGINS`` it shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stochdepth.depth import Trace
from stochdepth.testing.exit_traces import markov_exit_trace

P = np.array([[0.6, 0.3, 0.1, 0.0], [0.0, 0.6, 0.3, 0.1], [0.0, 0.0, 0.7, 0.3], [0.0, 0.0, 0.0, 1.0]])
INIT = np.array([0.5, 0.3, 0.2, 0.0])
ACC = np.array([0.3, 0.55, 0.8, 0.97])
MARGINS = np.array([0.2, 0.8, 1.6, 3.0])


def chain_trace(rng: Any, n: int, n_exits: int, **options: Any) -> tuple[Trace, np.ndarray]:
    """``markov_exit_trace`` of this chain: ``n`` samples over ``n_exits`` exits, ``options`` passed on."""
    return markov_exit_trace(rng, n, P, INIT, ACC, MARGINS, n_exits, **options)
