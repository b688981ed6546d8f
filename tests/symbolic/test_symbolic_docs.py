"""Every docstring example of stochdepth.symbolic (the modules of this area) runs."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "stochdepth.symbolic",
    "stochdepth.symbolic.sdes",
    "stochdepth.symbolic.ito_formula",
    "stochdepth.symbolic.derivations.linear",
    "stochdepth.symbolic.derivations.relu",
    "stochdepth.symbolic.derivations.moments",
    "stochdepth.symbolic.derivations.sequential",
    "stochdepth.symbolic.derivations.limit",
    "stochdepth.symbolic.codegen",
    "stochdepth.symbolic.coefficients",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert name == "stochdepth.symbolic" or result.attempted > 0
