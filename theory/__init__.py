"""The executable theorem book of stochdepth (run ``python -m theory``).

Every claim of SCIENCE.md that the library implements is registered here as a
:class:`theory.book.Claim` with its provenance tag ([seed], [derived], [classical]) and a check that can
fail. The claim modules are imported below; each registers its claims into :data:`BOOK` on import.
"""

from __future__ import annotations

from .book import BOOK, LEVELS, TAGS, Claim, Verdict, get_claim, run_book

__all__ = ["BOOK", "LEVELS", "TAGS", "Claim", "Verdict", "get_claim", "load_all", "run_book"]

_CLAIM_MODULES: tuple[str, ...] = ("claims_a", "claims_b")


def load_all() -> dict[str, Claim]:
    """Import every claim module (registering its claims) and return the book."""
    import importlib

    for name in _CLAIM_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return BOOK
