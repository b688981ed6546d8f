r"""Machinery shared by every claim module of the book: streams, level parameters, criteria.

Every check collects *criteria* (named pass/fail decisions with the numbers behind them) in a
:class:`Criteria` object and turns them into a :class:`theory.book.Verdict`. Monte Carlo agreement is
judged within ``Z_MAX`` = 5 standard errors and goodness of fit at p >= ``P_MIN`` = 1e-6 (the
project's tolerance policy, :mod:`stochdepth.testing.tolerance`), so a correct claim passes for any seed.

Randomness: a check receives one integer ``seed``; each of its random draws comes from
:func:`stream`\ ``(seed, *key)``, a :class:`numpy.random.SeedSequence` derived from the seed and a label,
so that draws are independent and reproducible, and a computation cached under ``(level, seed, key)``
(``functools.lru_cache``) is shared between a claim's check and the checks of its wrong variants, which
only change the comparison.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from stochdepth.random import as_seed_sequence
from stochdepth.testing.tolerance import ALPHA as P_MIN
from stochdepth.testing.tolerance import Z_MAX

from .book import Verdict

__all__ = ["P_MIN", "Z_MAX", "Criteria", "params", "plain", "stream"]

# The project's tolerance policy (stochdepth.testing.tolerance): agreement within Z_MAX standard errors,
# goodness of fit at p >= P_MIN (its ALPHA, under the book's name).


def stream(seed: int, *key: Any) -> np.random.SeedSequence:
    """An independent, reproducible seed sequence for the computation labelled ``key`` of a check."""
    label = zlib.crc32(repr(key).encode())
    return as_seed_sequence([int(seed) % 2**32, label])


def params(level: str, quick: Mapping[str, Any], full: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of ``level`` (``full`` overrides ``quick`` key by key)."""
    out = dict(quick)
    if level == "full":
        out.update(full)
    return out


def plain(value: Any, digits: int = 6) -> Any:
    """A plain Python value for the evidence: floats rounded to ``digits`` significant digits, short
    lists, strings for sympy expressions."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v) or v == 0.0:
            return v
        return float(f"{v:.{digits}g}")
    if isinstance(value, sp.Basic):
        return str(value)
    if isinstance(value, np.ndarray):
        return [plain(v, digits) for v in value.ravel().tolist()]
    if isinstance(value, (list, tuple)):
        return [plain(v, digits) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v, digits) for k, v in value.items()}
    return value if isinstance(value, str) else str(value)


class Criteria:
    """Named pass/fail criteria of a check, with their evidence.

    ``add(name, ok, **numbers)`` records one criterion; its numbers go into the evidence under
    ``name.key`` (or ``name`` for a single ``value``). ``headline(**numbers)`` records the few numbers
    that summarise the check (shown first, so the one-line summary of ``python -m theory`` shows them);
    ``note(**numbers)`` records context (sample sizes, derived values, measured tightness) that is not a
    criterion. :meth:`verdict` passes iff at least one criterion was recorded and every criterion passed;
    the evidence lists ``failed`` first when a criterion failed, then the headline, the criteria's
    numbers, the notes and ``criteria`` (their count).
    """

    def __init__(self) -> None:
        self.head: dict[str, Any] = {}
        self.evidence: dict[str, Any] = {}
        self.notes: dict[str, Any] = {}
        self.failed: list[str] = []
        self.n_criteria = 0

    def headline(self, **numbers: Any) -> None:
        """The few numbers that summarise the check (shown first)."""
        for k, v in numbers.items():
            self.head[k] = plain(v, 4)

    def note(self, **numbers: Any) -> None:
        """Evidence that is not a criterion (context, derived values)."""
        for k, v in numbers.items():
            self.notes[k] = plain(v)

    def add(self, name: str, ok: bool, **numbers: Any) -> bool:
        """Record the criterion ``name`` (passed iff ``ok``) with its numbers; return ``ok``."""
        ok = bool(ok)
        self.n_criteria += 1
        for k, v in numbers.items():
            self.evidence[name if k == "value" else f"{name}.{k}"] = plain(v)
        if not ok:
            self.failed.append(name)
        return ok

    def verdict(self, method: str) -> Verdict:
        """The :class:`~theory.book.Verdict` of the recorded criteria."""
        evidence = {
            **({"failed": list(self.failed)} if self.failed else {}),
            **self.head,
            **self.evidence,
            **self.notes,
            "criteria": self.n_criteria,
            "failed": list(self.failed),
        }
        return Verdict(not self.failed and self.n_criteria > 0, method, evidence)
