r"""The tolerance policy of every statistical check in the project (tests, theorem book, campaigns).

A statistical check must pass for any seed (``STOCHDEPTH_TEST_SEED``) when the claim is true, and fail
when it is wrong by more than its resolution. Two thresholds serve every check:

* :data:`Z_MAX`: a Monte Carlo estimate agrees with a prediction when
  :math:`|\hat\theta-\theta|\le 5\,\mathrm{se}(\hat\theta)` (a true claim fails with probability about
  :math:`5.7\times10^{-7}` per check under the normal approximation);
* :data:`ALPHA`: a hypothesis test (goodness of fit, two-sample, Holm-corrected families) rejects only at
  :math:`p<10^{-6}`, the same order of false alarms.
"""

from __future__ import annotations

import math

__all__ = ["ALPHA", "Z_MAX", "within_z"]

#: Largest accepted distance between an estimate and its prediction, in standard errors.
Z_MAX: float = 5.0

#: Smallest accepted p-value of a goodness-of-fit or two-sample test (family-wise after Holm).
ALPHA: float = 1e-6


def within_z(estimate: float, reference: float, stderr: float, z_max: float = Z_MAX) -> bool:
    """Whether ``|estimate - reference| <= z_max * stderr`` (an exact ``stderr == 0`` needs equality).

    Examples
    --------
    >>> within_z(1.04, 1.0, 0.01), within_z(1.06, 1.0, 0.01)
    (True, False)
    """
    if not (math.isfinite(estimate) and math.isfinite(reference)):
        return False
    return abs(estimate - reference) <= z_max * stderr
