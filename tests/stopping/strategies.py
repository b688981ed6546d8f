"""Test-private adapters: the stopping tests' names for the public strategy
:func:`stochdepth.testing.strategies.markov_stopping_problems`."""

from __future__ import annotations

from hypothesis.strategies import SearchStrategy

from stochdepth.stopping import MarkovStoppingProblem
from stochdepth.testing.strategies import markov_stopping_problems

__all__ = ["infinite_problems", "markov_problems", "monotone_problems"]


def markov_problems(max_states: int = 4, max_horizon: int = 4) -> SearchStrategy[MarkovStoppingProblem]:
    """Small random finite-horizon chains (brute-force sized)."""
    return markov_stopping_problems(max_states, max_horizon)


def infinite_problems(max_states: int = 6) -> SearchStrategy[MarkovStoppingProblem]:
    """Homogeneous infinite-horizon chains with ``c > 0`` or ``beta < 1``."""
    return markov_stopping_problems(max_states, infinite=True)


def monotone_problems(max_states: int = 6, max_horizon: int = 6) -> SearchStrategy[MarkovStoppingProblem]:
    """Monotone finite-horizon problems by construction."""
    return markov_stopping_problems(max_states, max_horizon, monotone=True)
