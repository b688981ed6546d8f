"""The executable theorem book of stochdepth (run ``python -m theory``).

Every claim of docs/science.md that the library implements is a :class:`theory.book.Claim` with its provenance
tag ([seed], [derived], [classical]) and a check that can fail. The claims live in one module per section
of the mathematics (:mod:`theory.a1_network` ... :mod:`theory.b6_bridge`), each listing them in
``CLAIMS``; :mod:`theory.registry` names the section modules and collects their claims into :data:`BOOK`.
"""

from __future__ import annotations

from .book import LEVELS, TAGS, Claim, Verdict
from .registry import BOOK, SECTIONS, get_claim, run_book

__all__ = ["BOOK", "LEVELS", "SECTIONS", "TAGS", "Claim", "Verdict", "get_claim", "run_book"]
