"""Absurd inputs of the limit simulators: a NumericalError or a ValueError naming the cause, never a
result holding inf or NaN (with only a RuntimeWarning) nor an error about something else."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from stochdepth import NumericalError
from stochdepth.limits import mckean_vlasov, relu_norm_identity, simulate_limit


def test_mckean_vlasov_with_an_absurd_scale_raises() -> None:
    # q0 = 1e160: the particles (~1e80) are finite, their fourth powers overflow
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(NumericalError, match=r"McKeanVlasovResult\.\w+: .*overflow"):
            mckean_vlasov("relu", 1e160, 1.0, n_steps=10, n_paths=200, n_clouds=4, rng=1)


def test_relu_norm_identity_with_an_absurd_horizon_raises() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(NumericalError, match=r"NormIdentityCheck\.\w+: .*overflow"):
            relu_norm_identity(4, 1e300, n_steps=20, n_paths=200, rng=1)


def test_simulate_limit_refuses_a_width_no_memory_holds() -> None:
    with pytest.raises(
        ValueError, match=r"width=1000000000000 would keep the state of one network in memory: 7\.28"
    ):
        simulate_limit(np.ones(4), 10**12, "relu", 1.0, n_steps=10, n_paths=10, rng=1)
