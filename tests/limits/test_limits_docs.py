"""Every docstring example of stochdepth.limits runs (doctest)."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from stochdepth.limits import diffusion, linear, relu, sequential


@pytest.mark.parametrize("module", [linear, relu, diffusion, sequential], ids=lambda m: m.__name__)
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(
        module, extraglobs={"np": np, "math": math}, optionflags=doctest.ELLIPSIS, verbose=False
    )
    assert result.attempted > 0
    assert result.failed == 0
