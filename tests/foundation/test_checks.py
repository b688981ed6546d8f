"""Tests of the shared argument checks: the messages name the parameter and the value."""

from __future__ import annotations

import numpy as np
import pytest

from stochdepth._checks import (
    NumericalError,
    check_array,
    check_bool,
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


def test_check_record():
    """One rule for every simulator: None -> default; ints (or integer-valued floats) in [0, last],
    returned sorted without duplicates."""
    from stochdepth._checks import check_record

    np.testing.assert_array_equal(check_record(None, 8, default=(0, 8)), [0, 8])
    np.testing.assert_array_equal(check_record(None, 8, default=(8, 8)), [8])
    np.testing.assert_array_equal(check_record(3, 8, default=(0, 8)), [3])
    out = check_record([8, 2, 2, 0], 8, default=(0, 8))
    np.testing.assert_array_equal(out, [0, 2, 8])
    assert out.dtype == np.int64 and out.flags.c_contiguous
    np.testing.assert_array_equal(check_record(np.array([4.0, 1.0]), 8, default=(0,)), [1, 4])
    with pytest.raises(ValueError, match=r"record must hold layer indices in \[0, depth\] = \[0, 8\]"):
        check_record([0, 9], 8, default=(0,), index="layer", last_name="depth")
    with pytest.raises(ValueError, match=r"in \[0, n_steps\] = \[0, 8\], got values in \[-1, 2\]"):
        check_record([-1, 2], 8, default=(0,))
    with pytest.raises(ValueError, match="non-empty 1-d"):
        check_record([], 8, default=(0,))
    with pytest.raises(ValueError, match="non-empty 1-d"):
        check_record([[0, 1]], 8, default=(0,))
    for bad in ([0.5], [True, False], ["a"], [np.nan]):
        with pytest.raises(TypeError, match="record must hold integer step indices"):
            check_record(bad, 8, default=(0,))


def test_check_bool():
    assert check_bool("flag", True) is True
    assert check_bool("flag", np.bool_(False)) is False
    with pytest.raises(TypeError, match="flag must be a bool, got int"):
        check_bool("flag", 1)
    with pytest.raises(TypeError, match="flag must be a bool, got str"):
        check_bool("flag", "yes")
