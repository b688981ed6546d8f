"""What the strategy modules share: the seed strategy and the checks of their arguments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as hst

from ..._checks import check_choice

__all__ = ["SEEDS", "check_optional_bool", "check_subset"]

#: Seeds of the generators that draw the random arrays inside a drawn object.
SEEDS = hst.integers(0, 2**32 - 1)


def check_subset(name: str, values: Any, allowed: Sequence[str]) -> tuple[str, ...]:
    """A non-empty tuple of distinct choices from ``allowed`` (a single string is accepted)."""
    if isinstance(values, str):
        items: tuple[Any, ...] = (values,)
    elif isinstance(values, Sequence):
        items = tuple(values)
    else:
        raise TypeError(f"{name} must be a str or a sequence of str, got {type(values).__name__}")
    if not items:
        raise ValueError(f"{name} must name at least one of {list(allowed)}, got an empty sequence")
    for v in items:
        if not isinstance(v, str):
            raise TypeError(f"{name} must hold str, got {type(v).__name__} {v!r}")
        check_choice(name, v, allowed)
    return tuple(dict.fromkeys(items))


def check_optional_bool(name: str, value: Any) -> bool | None:
    if value is not None and not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True, False or None, got {type(value).__name__} {value!r}")
    return None if value is None else bool(value)
