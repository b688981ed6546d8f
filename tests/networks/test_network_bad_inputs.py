"""Bad inputs of the network samplers: errors that name the parameter and the real cause."""

from __future__ import annotations

import numpy as np
import pytest

from stochdepth import NumericalError
from stochdepth.montecarlo import Histogram, Moments
from stochdepth.networks import (
    NetworkSpec,
    default_chunk_size,
    log_norms,
    sample_input_layer,
    sample_network,
    squared_norms,
)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_default_chunk_size_refuses_zero_sizes(which: int) -> None:
    args = [4, 2, 3]
    args[which] = 0
    name = ("width", "n_inputs", "n_record")[which]
    with pytest.raises(ValueError, match=f"{name} must be an int >= 1, got 0"):
        default_chunk_size(*args)


def test_moments_of_one_network_name_n_paths_before_any_work() -> None:
    with pytest.raises(ValueError, match=r"n_paths must be >= 2 for the reducer Moments\(\), got 1"):
        sample_network(np.ones(4), 4, 8, n_paths=1, observe=squared_norms(), reduce=Moments(), rng=1)


def test_zero_input_log_norm_names_the_log_of_zero() -> None:
    with pytest.raises(NumericalError, match=r"log_norms.*20 -inf.*log of zero.*zero input"):
        sample_network(np.zeros(4), 4, 8, n_paths=10, observe=log_norms(), rng=1)


def test_histogram_range_must_be_a_pair() -> None:
    with pytest.raises(ValueError, match=r"range must be None or a pair \(lo, hi\), got \(0.0,\)"):
        Histogram(range=(0.0,))
    with pytest.raises(ValueError, match="range must be None or a pair"):
        Histogram(range=3.0)


def test_huge_widths_are_refused_before_allocating() -> None:
    with pytest.raises(ValueError, match=r"width=1000000000000 would keep .* TiB"):
        sample_network(np.ones(4), 10**12, 8, n_paths=2, rng=1)
    with pytest.raises(ValueError, match=r"width=1000000000000 would keep"):
        sample_input_layer(np.ones(4), 10**12, 2, np.random.default_rng(1))
    with pytest.raises(ValueError, match=r"n_paths=1000000000000 would keep"):
        sample_input_layer(np.ones(4), 4, 10**12, np.random.default_rng(1))


def test_errors_name_the_argument_as_the_user_wrote_it() -> None:
    with pytest.raises(TypeError, match="generator must be"):
        sample_input_layer(np.ones(4), 4, 2, "seed")
    with pytest.raises(ValueError, match="inputs must be finite"):
        NetworkSpec(4, 3, inputs=np.array([1.0, np.nan]))
