"""The theorem book: claims as executable objects.

A :class:`Claim` carries an id (``"A4.norm-lognormal"``: docs/science.md section, then slug), its provenance
tag (``seed``, ``derived`` or ``classical``, possibly several), the statement in LaTeX, its hypotheses,
how it is checked, and a ``check(level, seed, **variant)`` function returning a :class:`Verdict` with
evidence.

Every check can fail. A criterion that holds by construction (the library against the same formula typed
again, a property the code enforces, a solver's own residual) is a *consistency check*: it is recorded in
:attr:`Verdict.consistency`, shown apart and not counted as evidence (:attr:`Verdict.n_evidence`); a
claim whose check has no other criterion says so in the book (:attr:`Verdict.has_evidence`). Each claim
lists ``wrong_variants``: keyword arguments that replace the claimed
formula or hypothesis by a deliberately wrong one (a wrong exponent, a violated hypothesis); the test
suite runs every claim with each of its wrong variants and requires the verdict to be a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

TAGS = ("seed", "derived", "classical")
LEVELS = ("quick", "full")

__all__ = ["LEVELS", "TAGS", "Claim", "Verdict", "claim", "full_text"]


@dataclass(frozen=True)
class Verdict:
    """Outcome of a claim's check.

    Attributes
    ----------
    passed : bool
    method : str
        What was done (``"symbolic"``, ``"monte carlo (2e5 paths)"``, ``"independent solver"``...).
    evidence : dict
        Numbers behind the verdict: values compared, intervals, p-values, tolerances.
    seconds : float
        Wall time of the check.
    consistency : dict
        The consistency checks (name -> passed): criteria that hold by construction, not evidence.
    n_evidence : int or None
        The number of criteria that are evidence (``None``: not counted, a verdict made by hand).
    """

    passed: bool
    method: str
    evidence: Mapping[str, Any]
    seconds: float = 0.0
    consistency: Mapping[str, bool] = field(default_factory=dict)
    n_evidence: int | None = None

    @property
    def has_evidence(self) -> bool:
        """Whether the verdict rests on at least one criterion that is not a consistency check."""
        return self.n_evidence is None or self.n_evidence > 0

    def summary(self, width: int | None = 90) -> str:
        """The evidence on one line, numbers to 4 significant digits; cut to ``width`` characters with
        "..." (``width=None``: never cut; :meth:`details` gives every number in full)."""
        parts = []
        for k, v in self.evidence.items():
            if isinstance(v, float):
                parts.append(f"{k}={v:.4g}")
            elif isinstance(v, (list, tuple)) and v and all(isinstance(u, float) for u in v):
                parts.append(f"{k}=[{', '.join(f'{u:.3g}' for u in v)}]")
            else:
                parts.append(f"{k}={v}")
        text = "; ".join(parts)
        return text if width is None or len(text) <= width else text[: width - 3] + "..."

    def details(self) -> list[tuple[str, str]]:
        """Every item of the evidence in full: ``(key, value)`` with floats in ``repr`` precision and arrays
        written out element by element (never summarised)."""
        return [(str(k), full_text(v)) for k, v in self.evidence.items()]


def full_text(value: Any) -> str:
    """``value`` as text with nothing left out: arrays as nested lists (numpy would summarise long ones
    with "..."), containers element by element."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return full_text(value.tolist())
    if isinstance(value, np.generic):
        return full_text(value.item())
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {full_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(full_text(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class Claim:
    """One claim of docs/science.md as an executable object (see the module docstring)."""

    id: str
    tags: tuple[str, ...]
    title: str
    statement: str
    hypotheses: tuple[str, ...]
    method: str
    check_fn: Callable[..., Verdict] = field(repr=False)
    wrong_variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        bad = [t for t in self.tags if t not in TAGS]
        if bad or not self.tags:
            raise ValueError(f"claim {self.id}: tags must be among {TAGS}, got {self.tags}")

    @property
    def section(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def tag(self) -> str:
        return "+".join(self.tags)

    def check(self, level: str = "quick", *, seed: int = 0, **variant: Any) -> Verdict:
        """Run the check at ``level`` (``quick`` or ``full``) with random numbers from ``seed``;
        ``variant`` replaces claimed formulas or hypotheses by others (used to show the check can fail)."""
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        t0 = time.perf_counter()
        verdict = self.check_fn(level, seed, **variant)
        return replace(verdict, seconds=time.perf_counter() - t0)


def claim(
    id: str,
    *,
    tags: tuple[str, ...] | str,
    title: str,
    statement: str,
    hypotheses: tuple[str, ...] = (),
    method: str,
    wrong: Mapping[str, Mapping[str, Any]] | None = None,
) -> Callable[[Callable[..., Verdict]], Claim]:
    """Make ``check(level, seed, **variant) -> Verdict`` the check of the claim ``id``.

    The decorated name is bound to the :class:`Claim`; nothing is registered: each section module lists
    its claims in ``CLAIMS`` and :mod:`theory.registry` collects them.
    """

    def make(fn: Callable[..., Verdict]) -> Claim:
        return Claim(
            id=id,
            tags=(tags,) if isinstance(tags, str) else tuple(tags),
            title=title,
            statement=statement,
            hypotheses=tuple(hypotheses),
            method=method,
            check_fn=fn,
            wrong_variants=dict(wrong or {}),
        )

    return make
