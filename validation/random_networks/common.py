"""What the experiments of the "random networks" campaign share: inputs, tolerances, test families."""

from __future__ import annotations

from typing import Any

import numpy as np

from stochdepth.testing.tolerance import ALPHA

__all__ = ["INPUTS", "SLOPE_TOL", "holm", "torch_sampler"]

#: Tolerance on fitted weak-error and fluctuation slopes: |slope - predicted| <= SLOPE_TOL.
SLOPE_TOL = 0.15

#: The inputs (d = 4): column a is input a; k inputs use the first k columns.
INPUTS = np.array(
    [
        [1.0, 0.3, -0.5],
        [-0.5, 1.0, 0.2],
        [0.25, -0.4, 1.0],
        [2.0, 0.6, 0.5],
    ]
)


def holm(pvalues: dict[str, float]) -> Any:
    """A Holm-corrected family of p-values at the family-wise error rate :data:`ALPHA`."""
    from stochdepth.stats import test_family

    return test_family(pvalues, alpha=ALPHA)


def torch_sampler(device: str) -> tuple[Any, str]:
    """The torch explicit-weight sampler when :mod:`stochdepth.nn` imports, else ``None`` and why."""
    try:
        from stochdepth.nn import TorchExplicitWeights
    except ImportError as exc:
        return None, f"stochdepth.nn unavailable ({exc})"
    try:
        return TorchExplicitWeights(device=device), ""
    except (ValueError, TypeError, RuntimeError) as exc:
        return None, f"torch device {device!r} unavailable ({exc})"
