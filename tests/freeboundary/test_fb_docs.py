"""Every docstring example of stochdepth.freeboundary and stochdepth.symbolic.smooth_fit runs."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "stochdepth.freeboundary",
    "stochdepth.freeboundary.grids",
    "stochdepth.freeboundary.problems",
    "stochdepth.freeboundary.schemes",
    "stochdepth.freeboundary.lcp",
    "stochdepth.freeboundary.results",
    "stochdepth.freeboundary.solve",
    "stochdepth.freeboundary.examples",
    "stochdepth.symbolic.smooth_fit",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
