"""Every docstring example of the foundation modules runs (doctest)."""

from __future__ import annotations

import doctest

import pytest

from stochdepth import _checks, _results, activations, random


@pytest.mark.parametrize("module", [random, activations, _checks, _results], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
