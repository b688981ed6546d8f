"""The exact Markov solvers never draw, yet a wrong ``rng`` is refused as everywhere else."""

from __future__ import annotations

import numpy as np
import pytest

from stochdepth.stopping import BackwardInduction, MarkovStoppingProblem, PolicyIteration, solve_stopping


def _problem(horizon: int | None) -> MarkovStoppingProblem:
    return MarkovStoppingProblem([[0.5, 0.5], [0.0, 1.0]], [0.0, 1.0], costs=0.1, horizon=horizon, initial=0)


@pytest.mark.parametrize("rng", ["seed", 1.5, object(), -1, True])
@pytest.mark.parametrize("horizon", [3, None])
def test_markov_solvers_refuse_a_wrong_rng(rng: object, horizon: int | None) -> None:
    with pytest.raises((TypeError, ValueError), match="rng"):
        solve_stopping(_problem(horizon), rng=rng)


def test_a_valid_rng_changes_nothing() -> None:
    prob = _problem(3)
    gen = np.random.default_rng(0)
    state = gen.bit_generator.state
    values = [solve_stopping(prob, BackwardInduction(), rng=r).value() for r in (None, 7, gen)]
    assert values[0] == values[1] == values[2]
    assert gen.bit_generator.state == state  # an exact solver does not draw from the user's generator
    assert solve_stopping(_problem(None), PolicyIteration(), rng=[1, 2]).success


def test_throw_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="throw must be a bool"):
        solve_stopping(_problem(3), throw="yes")


def test_depth_bounds_refuse_a_wrong_rng_even_when_nothing_is_drawn() -> None:
    from stochdepth.stopping import bounded_gains_bound

    assert bounded_gains_bound(_problem(3), rng=1).holds
    with pytest.raises(TypeError, match="rng must be"):
        bounded_gains_bound(_problem(3), rng="seed")
