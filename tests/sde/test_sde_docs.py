"""Every docstring example of stochdepth.sde runs."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "stochdepth.sde.problem",
    "stochdepth.sde.solvers",
    "stochdepth.sde.simulate",
    "stochdepth.sde.observables",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
