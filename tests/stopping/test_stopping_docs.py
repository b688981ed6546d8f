"""Every example in the docstrings of stochdepth.stopping runs and gives the printed result."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

MODULES = [
    "stochdepth.stopping",
    "stochdepth.stopping.base",
    "stochdepth.stopping.basis",
    "stochdepth.stopping.bounds",
    "stochdepth.stopping.evaluation",
    "stochdepth.stopping.finance",
    "stochdepth.stopping.markov",
    "stochdepth.stopping.policies",
    "stochdepth.stopping.problems",
    "stochdepth.stopping.regression",
    "stochdepth.stopping.results",
    "stochdepth.stopping.solve",
    "stochdepth.stopping.transitions",
    "stochdepth.stopping.walks",
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
