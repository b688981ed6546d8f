"""Every example in the docstrings of stochdepth.depth runs and gives the printed result."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

MODULES = [
    "stochdepth.depth",
    "stochdepth.depth.continuous",
    "stochdepth.depth.contraction",
    "stochdepth.depth.discrete",
    "stochdepth.depth.residuals",
    "stochdepth.depth.simulators",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name, extraglobs={"np": np}):
        runner.run(test)
    res = runner.summarize(verbose=False)
    assert res.failed == 0, f"{res.failed} docstring example(s) failed in {name}"
