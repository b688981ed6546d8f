"""Every docstring example of stochdepth.stats runs."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "stochdepth.stats.gof",
    "stochdepth.stats.multiple",
    "stochdepth.stats.montecarlo",
    "stochdepth.stats.distance",
    "stochdepth.stats.weak_error",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
