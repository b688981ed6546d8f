"""Tests of the shared argument checks: the messages name the parameter and the value."""

from __future__ import annotations

import numpy as np
import pytest

from stochdepth._checks import (
    NumericalError,
    check_array,
    check_choice,
    check_finite_result,
    check_int,
    check_real,
)


def test_check_int():
    assert check_int("width", np.int64(3), min=1) == 3
    with pytest.raises(ValueError, match=r"width must be an int >= 1, got 0"):
        check_int("width", 0, min=1)
    with pytest.raises(TypeError, match="width must be an int, got float"):
        check_int("width", 2.0)
    with pytest.raises(TypeError, match="width"):
        check_int("width", True)
    with pytest.raises(ValueError, match="<= 5"):
        check_int("k", 6, max=5)


def test_check_real():
    assert check_real("c", 1) == 1.0
    with pytest.raises(ValueError, match="c must be finite"):
        check_real("c", float("nan"))
    with pytest.raises(ValueError, match="c must be finite"):
        check_real("c", float("inf"))
    assert check_real("c", float("inf"), finite=False) == float("inf")
    with pytest.raises(ValueError, match="c must be > 0"):
        check_real("c", 0.0, lo=0.0, lo_open=True)
    with pytest.raises(ValueError, match="c must be <= 1"):
        check_real("c", 2.0, hi=1.0)
    with pytest.raises(TypeError, match="c must be a real number"):
        check_real("c", "1")
    with pytest.raises(TypeError, match="c must be a real number"):
        check_real("c", 1j)


def test_check_array():
    a = check_array("x", [1, 2, 3], ndim=1)
    assert a.dtype == np.float64
    with pytest.raises(ValueError, match=r"x must have 2 dimension\(s\), got shape \(3,\)"):
        check_array("x", [1, 2, 3], ndim=2)
    with pytest.raises(ValueError, match=r"x must have shape \(\*, 2\)"):
        check_array("x", np.zeros((3, 3)), shape=(None, 2))
    with pytest.raises(ValueError, match="x must be finite, got 1 non-finite"):
        check_array("x", [1.0, np.nan])
    with pytest.raises(TypeError, match="real numeric"):
        check_array("x", ["a"])
    with pytest.raises(TypeError, match="real numeric"):
        check_array("x", [1j])
    with pytest.raises(ValueError, match="at least 1"):
        check_array("x", [], min_size=1)


def test_check_choice_and_finite_result():
    assert check_choice("noise", "scalar", ["scalar", "diagonal"]) == "scalar"
    with pytest.raises(ValueError, match="noise must be one of"):
        check_choice("noise", "x", ["scalar"])
    check_finite_result("ok", np.ones(3))
    with pytest.raises(NumericalError, match="states: 1 of 3"):
        check_finite_result("states", np.array([1.0, np.inf, 2.0]))
