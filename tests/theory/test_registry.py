"""The registry of the theorem book: one module per section, each listing its claims, collected in order.

No claim is registered by importing a module: the book is exactly the ``CLAIMS`` of the modules that
:data:`theory.registry.SECTIONS` names, in that order.
"""

from __future__ import annotations

import types

import pytest

from theory import BOOK, SECTIONS, Claim, get_claim
from theory.book import claim
from theory.registry import collect


def test_every_section_module_lists_claims_of_its_own_section():
    for module in SECTIONS:
        section = module.__name__.rsplit(".", 1)[1].split("_", 1)[0].upper()  # "a1_network" -> "A1"
        assert module.CLAIMS, module.__name__
        assert all(isinstance(c, Claim) and c.section == section for c in module.CLAIMS), module.__name__


def test_book_is_the_sections_claims_in_order():
    ids = [c.id for module in SECTIONS for c in module.CLAIMS]
    assert list(BOOK) == ids and len(set(ids)) == len(ids)
    sections = [m.__name__.rsplit(".", 1)[1][:2] for m in SECTIONS]
    assert sections == sorted(sections, key=lambda s: (s[0], int(s[1:])))
    assert get_claim(ids[0]) is BOOK[ids[0]]
    with pytest.raises(KeyError):
        get_claim("Z9.nothing")


def test_making_a_claim_registers_nothing():
    before = dict(BOOK)

    @claim("A1.scratch", tags="derived", title="t", statement="s", method="m", wrong={"w": {}})
    def scratch(level, seed):  # pragma: no cover - never run
        raise AssertionError

    assert isinstance(scratch, Claim) and scratch.id == "A1.scratch"
    assert before == BOOK and "A1.scratch" not in BOOK


def test_collect_rejects_duplicate_ids():
    first = SECTIONS[0]
    twin = types.ModuleType("theory.twin")
    twin.CLAIMS = first.CLAIMS[:1]
    with pytest.raises(ValueError, match="duplicate claim id"):
        collect([first, twin])
