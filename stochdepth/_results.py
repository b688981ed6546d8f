"""Small shared result types: an estimate with its uncertainty, the status of a solver, readable printing.

Every result object of the library is a frozen dataclass inheriting :class:`Result`, so that it prints
as a compact table (arrays summarised by shape, estimates as ``value ± stderr``). Results of iterative
solvers and fits carry a :class:`Status` (an enum, never free text) with a human-readable ``message``;
their drivers take ``throw=`` and raise :class:`ConvergenceError` when the status is not a success.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import os
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any, ClassVar

import numpy as np

from . import _serialization
from ._checks import NumericalError, check_finite_result, check_real

__all__ = ["ConvergenceError", "Estimate", "Result", "Status", "StatusResult", "check_status"]


def _fmt(value: Any) -> str:
    if isinstance(value, Status):
        return f"Status.{value.name}"
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


def _then_check_finite(post_init: Any) -> Any:
    """Wrap a subclass's own ``__post_init__`` so that :meth:`Result._require_finite` runs after it."""

    def __post_init__(self: Result, *args: Any) -> None:
        post_init(self, *args)
        self._require_finite()

    __post_init__._checks_finite = True  # type: ignore[attr-defined]
    __post_init__.__doc__ = post_init.__doc__
    return __post_init__


class Result:
    """Mixin for frozen result dataclasses: a readable multi-line ``repr``, and finite numbers.

    ``@dataclass`` would replace an inherited ``__repr__`` by its generated one; subclasses therefore get
    this one placed in their own namespace at creation (unless they define their own), which the
    decorator leaves alone. Every result checks its float fields when it is built (see
    ``_require_finite``): a NaN or an infinity raises :class:`~stochdepth.NumericalError` unless the
    field is listed in ``nonfinite_fields`` or the result's ``status`` is a failure.
    """

    #: Fields where NaN or infinity is a documented value (e.g. "no bound", "undefined for one sample");
    #: every other float field must be finite when the result is built.
    nonfinite_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = Result.__repr__  # type: ignore[method-assign]
        _serialization.register(cls)
        own = cls.__dict__.get("__post_init__")
        if own is not None and not getattr(own, "_checks_finite", False):
            cls.__post_init__ = _then_check_finite(own)  # type: ignore[attr-defined]

    def __post_init__(self) -> None:
        self._require_finite()

    def _require_finite(self) -> None:
        """Raise :class:`~stochdepth.NumericalError` if a float field holds NaN or infinity.

        Run by every result when it is built (after its own ``__post_init__``), so that no non-finite
        number leaves the library silently, whatever computed it. Fields listed in the class attribute
        ``nonfinite_fields`` are exempt (their NaN or infinity has a documented meaning), and so is a
        result whose ``status`` is a failure (the status reports it; ``throw=True`` raises). Checked
        are float scalars, float arrays and tuples or lists of floats.
        """
        if not dataclasses.is_dataclass(self):
            return
        status = getattr(self, "status", None)
        if isinstance(status, Status) and not status.success:
            return  # a failed status already says the numbers are not to be used (and throw= raises)
        for f in dataclasses.fields(self):
            if f.name in self.nonfinite_fields:
                continue
            value = getattr(self, f.name, None)
            if isinstance(value, (tuple, list)) and all(isinstance(v, (float, np.floating)) for v in value):
                value = np.asarray(value, dtype=float)
            if isinstance(value, (float, np.floating, np.ndarray)):
                check_finite_result(f"{type(self).__name__}.{f.name}", value)

    def __repr__(self) -> str:
        assert dataclasses.is_dataclass(self)
        rows = [f"  {f.name} = {_fmt(getattr(self, f.name))}" for f in dataclasses.fields(self) if f.repr]
        return f"{type(self).__name__}(\n" + "\n".join(rows) + "\n)"

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON data: numbers with their uncertainty, arrays, nested results.

        ``json.dumps(result.to_dict())`` works for every result. The form is that of
        ``stochdepth._serialization``: ``{"__result__": "module.Class", field: value, ...}``, an
        :class:`Estimate` as its ``value``, ``stderr`` and ``n``, an array as its flat data, dtype and
        shape, a :class:`Status` as its value; the inputs of the computation that are not data (a
        problem, a solver, a callable) as a description only.

        Examples
        --------
        >>> import json
        >>> from stochdepth import Estimate
        >>> d = Estimate(1.5, 0.25, 100).to_dict()
        >>> d["value"], d["stderr"], d["n"]
        (1.5, 0.25, 100)
        >>> Estimate.from_dict(json.loads(json.dumps(d)))
        Estimate(1.5 ± 0.25, n=100)
        """
        return _serialization.encode(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """The result whose :meth:`to_dict` is ``data`` (fields set as saved, nothing recomputed).

        Fields that were described rather than saved (problems, solvers, callables) come back as
        ``None``.

        Raises
        ------
        TypeError
            If ``data`` describes a result that is not a ``cls``.
        ValueError
            If ``data`` is not the form of a result, or names a class that cannot be found.
        """
        if not isinstance(data, dict) or "__result__" not in data:
            raise ValueError("data must be the to_dict() of a result (no '__result__' key)")
        return _checked_type(cls, _serialization.decode(data))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the result to ``path`` atomically and return the path.

        A ``.json`` path gets plain JSON (arrays as lists, exact to the last bit through Python's
        shortest float repr); any other suffix one ``.npz`` file holding the JSON and every array in
        binary form. Read it back with :meth:`load`.

        Raises
        ------
        ValueError
            If the folder of ``path`` does not exist.
        """
        return _serialization.write(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Any:
        """Read a result written by :meth:`save`; ``Result.load`` reads any, ``Class.load`` a ``Class``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from stochdepth import Estimate, Result
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Estimate(2.0, 0.5, 10).save(pathlib.Path(folder) / "estimate.npz")
        ...     Result.load(path)
        Estimate(2 ± 0.5, n=10)

        Raises
        ------
        ValueError
            If the file cannot be read or is not a saved result.
        TypeError
            If it holds a result that is not a ``cls``.
        """
        return _checked_type(cls, _serialization.read(path))


def _checked_type(cls: type, obj: Any) -> Any:
    if not isinstance(obj, cls):
        raise TypeError(f"the saved result is a {type(obj).__name__}, not a {cls.__name__}")
    return obj


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

    #: ``inf`` is meaningful (an infinite expected depth; the standard error of one sample); NaN is not.
    nonfinite_fields = ("value", "stderr")

    def __post_init__(self) -> None:
        if math.isnan(self.value) or math.isnan(self.stderr):
            raise NumericalError(f"Estimate: {self.value} ± {self.stderr} holds NaN (an invalid operation)")

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


class Status(enum.Enum):
    """Outcome of a solver or a fit, as data.

    The value of each member is a short lower-case string (what results used to print), so that a
    status written to JSON is ``status.value``. :attr:`success` is true for the members that mean the
    computation did what it was asked; the others name what went wrong, with the details in the
    result's ``message``.

    Examples
    --------
    >>> from stochdepth import Status
    >>> Status.CERTIFIED.success, Status.MAX_ITERATIONS.success, Status("converged")
    (True, False, <Status.CONVERGED: 'converged'>)
    """

    #: Exact finite-horizon solution (backward induction).
    OPTIMAL = "optimal"
    #: Infinite-horizon value with a certified error bound within the tolerance.
    CERTIFIED = "certified"
    #: Iteration met its convergence criterion.
    CONVERGED = "converged"
    #: A Monte Carlo solver or a fit with nothing to flag.
    OK = "ok"
    #: Exact on deterministic paths (pathwise maximum).
    EXACT = "exact"
    #: A valid upper bound and no more, by construction (perfect foresight on random paths).
    UPPER_BOUND = "upper_bound"
    #: A fit of exact (zero-variance) data: no confidence interval.
    DETERMINISTIC = "deterministic"
    #: The upper bound is approximate by the choice of method (non-nested regression martingale).
    APPROXIMATE = "approximate"
    #: The iteration cap was reached before convergence.
    MAX_ITERATIONS = "max_iterations"
    #: The iteration stopped but no certificate within the tolerance could be built.
    NOT_CERTIFIED = "not_certified"
    #: A step of the solver failed (e.g. a singular policy-evaluation system).
    FAILED = "failed"
    #: An exact solver left a residual far above round-off (its assumption does not hold).
    LARGE_RESIDUAL = "large_residual"
    #: Ill-conditioned regressions: a warning (the policy may be poorer, its lower bound and the dual
    #: upper bound stay valid; see the notes).
    ILL_CONDITIONED = "ill_conditioned"
    #: Estimates contradict each other (an upper bound clearly below a lower bound).
    INCONSISTENT = "inconsistent"
    #: Some errors are below the resolution threshold: a fit on the resolved levels only, or none.
    UNRESOLVED = "unresolved"
    #: The fitted model does not describe the data within their errors.
    POOR_FIT = "poor_fit"

    @property
    def success(self) -> bool:
        """True when the computation did what it was asked."""
        return self in _SUCCESS


_SUCCESS = frozenset(
    {
        Status.OPTIMAL,
        Status.CERTIFIED,
        Status.CONVERGED,
        Status.OK,
        Status.EXACT,
        Status.UPPER_BOUND,
        Status.DETERMINISTIC,
        Status.APPROXIMATE,
        Status.ILL_CONDITIONED,
    }
)


class ConvergenceError(RuntimeError):
    """A solver or a fit ended with an unsuccessful :class:`Status` and was asked to throw.

    A subclass of :class:`RuntimeError`, not of :class:`ArithmeticError`: nothing was computed wrongly
    (non-finite numbers raise :class:`~stochdepth.NumericalError`); the method ran and did not reach
    its goal. The unsuccessful result is kept in ``result`` (its ``status`` in ``status``), so a caller
    can catch the error and still inspect what was computed; passing ``throw=False`` to the driver
    returns it directly.
    """

    def __init__(self, what: str, result: Any) -> None:
        self.result = result
        self.status: Status = result.status
        message = getattr(result, "message", "")
        super().__init__(f"{what}: {self.status.name}" + (f" ({message})" if message else ""))


class StatusResult(Result):
    """Mixin for results that carry a :class:`Status` and a ``message`` (dataclass fields of the subclass).

    ``success`` is the status's :attr:`Status.success`.
    """

    status: Status
    message: str

    @property
    def success(self) -> bool:
        """True when :attr:`status` is a success."""
        return self.status.success


def check_status(result: Any, what: str, throw: bool) -> Any:
    """Return ``result``; raise :class:`ConvergenceError` naming ``what`` if ``throw`` and it failed."""
    if throw and not result.status.success:
        raise ConvergenceError(what, result)
    return result
