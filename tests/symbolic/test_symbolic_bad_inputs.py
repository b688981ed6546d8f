"""Bad inputs of the symbolic layer: a clear ValueError naming the argument, never a law of NaNs or a
SyntaxError from generated code."""

from __future__ import annotations

import math

import pytest
import sympy as sp

from stochdepth.symbolic import derive_linear_log_norm_law, derive_linear_norm_moment, to_numba, to_numpy


@pytest.mark.parametrize("t", [math.nan, math.inf, sp.nan, sp.oo, sp.zoo])
def test_non_finite_numbers_are_refused(t: object) -> None:
    with pytest.raises(ValueError, match="t must be finite"):
        derive_linear_log_norm_law(4, t)
    with pytest.raises(ValueError, match="p must be finite"):
        derive_linear_norm_moment(4, t, 1)


@pytest.mark.parametrize("translate", [to_numpy, to_numba])
def test_values_cannot_bind_an_argument(translate) -> None:
    x = sp.Symbol("x")
    for values in ({x: 1.0}, {"x": 1.0}):
        with pytest.raises(ValueError, match="values binds x, which is also an argument in symbols"):
            translate(x**2, x, values)
