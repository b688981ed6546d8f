"""The registry of the theorem book: which section modules it holds, in the order of the science.

Each section of docs/science.md (A1..A6, B1, B2, B5, B6; B3-B4, the torch depth regularisers and
transformers, are not part of the book yet) exposes its claims as ``CLAIMS``, a tuple of
:class:`~theory.book.Claim`. :data:`SECTIONS` lists the modules explicitly; :data:`BOOK` maps each claim id
to its claim, in the order of :data:`SECTIONS` and of each module's ``CLAIMS``. Adding a claim means adding
it to its module's ``CLAIMS``; adding a section means adding its module here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from types import ModuleType

from .book import Claim, Verdict

__all__ = ["BOOK", "SECTIONS", "collect", "get_claim", "run_book"]

_PART_A = ("a1_network", "a2_euler", "a3_limit", "a4_linear", "a5_relu", "a6_sequential")
_PART_B = ("b1_model", "b2_finite_depth", "b5_continuous", "b6_bridge")

#: The section modules of the book, in the order of docs/science.md.
SECTIONS: tuple[ModuleType, ...] = tuple(
    importlib.import_module(f"{__package__}.{name}") for name in (*_PART_A, *_PART_B)
)


def collect(sections: Iterable[ModuleType]) -> dict[str, Claim]:
    """The claims of ``sections`` (each module's ``CLAIMS``) by id; duplicate ids are an error."""
    book: dict[str, Claim] = {}
    for module in sections:
        for c in module.CLAIMS:
            if c.id in book:
                raise ValueError(f"duplicate claim id {c.id!r} (in {module.__name__})")
            book[c.id] = c
    return book


#: Every claim of the book by id.
BOOK: dict[str, Claim] = collect(SECTIONS)


def get_claim(id: str) -> Claim:
    """The claim ``id``."""
    if id not in BOOK:
        raise KeyError(f"no claim {id!r}; known: {sorted(BOOK)}")
    return BOOK[id]


def run_book(
    level: str = "quick",
    only: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    seed: int = 0,
) -> list[tuple[Claim, Verdict]]:
    """Check every claim (or those whose id starts with one of ``only``); errors become failed verdicts."""
    out = []
    for cid, c in sorted(BOOK.items(), key=lambda kv: _sort_key(kv[0])):
        if only and not any(cid.startswith(o) for o in only):
            continue
        if progress is not None:
            progress(cid)
        try:
            v = c.check(level, seed=seed)
        except Exception as exc:  # a crashing check is a failed check, with the reason as evidence
            v = Verdict(False, c.method, {"error": f"{type(exc).__name__}: {exc}"})
        out.append((c, v))
    return out


def _sort_key(cid: str) -> tuple[str, int, str]:
    sec, _, rest = cid.partition(".")
    digits = "".join(ch for ch in sec[1:] if ch.isdigit())
    return (sec[:1], int(digits) if digits else 0, rest)
