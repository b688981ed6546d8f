"""The two problems the optimal-depth campaign is about (docs/science.md §B5 and B6) and their closed forms.

Shared by the experiments: the B6 linear random ResNet (width, target log-norm, cost per unit depth,
start), its closed-form constants and inverse-Gaussian depth law, the discrete-monitoring correction of its
threshold, the B5 noiseless contraction and the Kolmogorov-Smirnov critical distance at the campaign's
p-value threshold.
"""

from __future__ import annotations

import math
from typing import Any

from scipy import stats as st

from stochdepth.testing.tolerance import ALPHA

__all__ = ["B5", "B6", "BETA_BGK", "b6_constants", "closed_value", "inverse_gaussian", "ks_critical"]

#: The B6 problem of the campaign: width n, target log-norm a, cost c per unit depth, start y0 = log|Y_0|.
#: m = 1/2 - 1/n = 0.375, s = 1/sqrt(8): y* = a - c/(2m) = 0.3667, E tau* = (y* - y0)/m = 0.978 (about one
#: paper network), IG shape (y* - y0)^2/s^2 = 1.076.
B6: dict[str, Any] = {"width": 8, "target": 0.5, "cost": 0.1, "y0": 0.0}
#: Continuity correction of a discretely monitored boundary, -zeta(1/2)/sqrt(2 pi) (Broadie, Glasserman &
#: Kou, Math. Finance 7 (1997) 325-349): the discrete threshold sits BETA_BGK s sqrt(h) below y*.
BETA_BGK = 0.5825971579390106
#: The B5 problem: contraction rate kappa and cost c (boundary sqrt(c/(2 kappa)) = 0.1581).
B5: dict[str, float] = {"kappa": 2.0, "cost": 0.1}


def ks_critical(n: int) -> float:
    """Kolmogorov-Smirnov distance exceeded with probability ALPHA by n i.i.d. draws of the tested law."""
    return float(st.kstwo.isf(ALPHA, n))


def b6_constants(width: int | None = None) -> dict[str, float]:
    """m, s, y*, E tau*, V(y0) and the IG shape of the B6 problem (closed forms, docs/science.md §B6)."""
    n = B6["width"] if width is None else width
    a, c, y0 = B6["target"], B6["cost"], B6["y0"]
    m, s = 0.5 - 1.0 / n, 1.0 / math.sqrt(n)
    ystar = a - c / (2 * m) if m > 0 else math.nan
    out = {"m": m, "s": s, "ystar": ystar, "a": a, "c": c, "y0": y0}
    if m > 0 and ystar > y0:
        out["mean"] = (ystar - y0) / m
        out["shape"] = (ystar - y0) ** 2 / s**2
        out["value"] = -((ystar - a) ** 2) - c / m * (ystar - y0)
    return out


def inverse_gaussian(mean: float, shape: float) -> Any:
    """IG(mean, shape) as scipy's ``invgauss(mean / shape, scale=shape)``."""
    return st.invgauss(mean / shape, scale=shape)


def closed_value(y: float) -> float:
    """The closed-form B6 value V(y) (docs/science.md §B6)."""
    from stochdepth.depth import linear_resnet_optimal_depth

    return float(linear_resnet_optimal_depth(B6["width"], B6["target"], B6["cost"]).value(y))
