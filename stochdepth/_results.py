"""Small shared result types: an estimate with its uncertainty, and readable printing of results.

Every result object of the library is a frozen dataclass inheriting :class:`Result`, so that it prints
as a compact table (arrays summarised by shape, estimates as ``value ± stderr``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from ._checks import check_finite_result, check_real

__all__ = ["Estimate", "Result"]


def _fmt(value: Any) -> str:
    if isinstance(value, Result) and not isinstance(value, Estimate):
        return f"{type(value).__name__}(...)"
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return np.array2string(value, precision=5, separator=", ")
        return f"array(shape={value.shape}, dtype={value.dtype})"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict) and (len(value) > 6 or len(repr(value)) > 100):
        keys = ", ".join(f"{k!r}: ..." for k in list(value)[:6])
        return "{" + keys + (", ...}" if len(value) > 6 else "}") + f" ({len(value)} entries)"
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


class Result:
    """Mixin for frozen result dataclasses: a readable multi-line ``repr``.

    ``@dataclass`` would replace an inherited ``__repr__`` by its generated one; subclasses therefore get
    this one placed in their own namespace at creation (unless they define their own), which the
    decorator leaves alone.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = Result.__repr__  # type: ignore[method-assign]

    def __repr__(self) -> str:
        assert dataclasses.is_dataclass(self)
        rows = [f"  {f.name} = {_fmt(getattr(self, f.name))}" for f in dataclasses.fields(self) if f.repr]
        return f"{type(self).__name__}(\n" + "\n".join(rows) + "\n)"


@dataclass(frozen=True)
class Estimate(Result):
    """A Monte Carlo (or otherwise uncertain) estimate.

    Attributes
    ----------
    value : float
        Point estimate.
    stderr : float
        Standard error (0 for an exact value).
    n : int
        Number of independent samples behind the estimate (0 when not a sample mean).

    Examples
    --------
    >>> from stochdepth import Estimate
    >>> est = Estimate(1.0, 0.1, 400)
    >>> [round(v, 4) for v in est.ci(0.95)], est.z_score(0.5)
    ([0.804, 1.196], 5.0)
    """

    value: float
    stderr: float
    n: int = 0

    def __repr__(self) -> str:
        return f"Estimate({self.value:.6g} ± {self.stderr:.2g}, n={self.n})"

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        r"""Normal-approximation confidence interval :math:`\text{value}\pm z_{(1+\text{level})/2}\,
        \text{stderr}` at ``level`` in (0, 1)."""
        level = check_real("level", level, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        # the standard normal quantile of the standard library (Wichura's AS241, full double precision):
        # importing scipy.stats here would cost about a second at ``import stochdepth``
        z = NormalDist().inv_cdf(0.5 + level / 2)
        return (self.value - z * self.stderr, self.value + z * self.stderr)

    def z_score(self, reference: float) -> float:
        """``(value - reference) / stderr`` (``inf`` or ``0`` when ``stderr == 0``)."""
        diff = self.value - reference
        if self.stderr == 0:
            return 0.0 if diff == 0 else math.copysign(math.inf, diff)
        return diff / self.stderr

    @classmethod
    def from_samples(cls, samples: Any) -> Estimate:
        """Sample mean and its standard error (``inf`` for a single sample).

        Raises
        ------
        ValueError
            If ``samples`` is empty.
        NumericalError
            If a sample is NaN or infinite.
        """
        x = np.asarray(samples, dtype=float).ravel()
        if x.size == 0:
            raise ValueError("samples must not be empty")
        check_finite_result("Estimate.from_samples: samples", x)
        se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.inf
        return cls(float(x.mean()), se, int(x.size))
