"""The theorem book: every claim is well formed, passes its quick check, and fails on wrong variants.

This is the test that keeps ``theory/`` honest: a check that cannot fail is a defect, so each claim
lists deliberately wrong variants (a wrong exponent, a violated hypothesis) and each must be rejected.
"""

from __future__ import annotations

import inspect

import pytest
from seeding import seed_for

from theory import BOOK, TAGS

CLAIMS = sorted(BOOK)
VARIANTS = [(cid, name) for cid in CLAIMS for name in BOOK[cid].wrong_variants]


def test_book_is_not_empty():
    assert len(CLAIMS) > 0


@pytest.mark.parametrize("cid", CLAIMS)
def test_claim_is_well_formed(cid):
    c = BOOK[cid]
    assert c.section[0] in "AB" and c.section[1:].isdigit(), cid
    assert all(t in TAGS for t in c.tags)
    assert c.statement.strip() and c.title.strip() and c.method.strip()
    assert c.wrong_variants, f"claim {cid} has no wrong variant: its check could be one that cannot fail"


@pytest.mark.parametrize("cid", CLAIMS)
def test_claim_passes(cid):
    verdict = BOOK[cid].check("quick", seed=seed_for(cid))
    assert verdict.passed, f"{cid}: {dict(verdict.evidence)}"
    assert verdict.has_evidence, f"{cid} rests on consistency checks only: {dict(verdict.consistency)}"


@pytest.mark.parametrize(("cid", "variant"), VARIANTS)
def test_wrong_variant_fails(cid, variant):
    c = BOOK[cid]
    verdict = c.check("quick", seed=seed_for(cid), **c.wrong_variants[variant])
    assert not verdict.passed, f"{cid} did not detect the wrong variant {variant!r}: {dict(verdict.evidence)}"
    # detected by evidence, not only by a check that holds by construction
    failed_evidence = set(verdict.evidence.get("failed", [])) - set(verdict.consistency)
    assert failed_evidence or "error" in verdict.evidence, (cid, variant, verdict.evidence.get("failed"))


@pytest.mark.parametrize("cid", CLAIMS)
def test_wrong_variants_are_keyword_arguments_of_the_check(cid):
    c = BOOK[cid]
    params = inspect.signature(c.check_fn).parameters
    assert list(params)[:2] == ["level", "seed"]
    for name, variant in c.wrong_variants.items():
        for key in variant:
            assert key in params and params[key].kind is inspect.Parameter.KEYWORD_ONLY, (cid, name, key)


def test_consistency_checks_are_counted_apart_and_shown_in_the_book():
    from theory.common import Criteria
    from theory.pages import markdown_book as markdown

    crit = Criteria()
    crit.add("measured", True, z=0.4)
    crit.add("formula_typed_twice", True, gap=0.0, consistency=True)
    v = crit.verdict("demo")
    assert v.passed and v.n_evidence == 1 and v.has_evidence
    assert v.consistency == {"formula_typed_twice": True} and v.evidence["consistency"] == [
        "formula_typed_twice"
    ]
    only = Criteria()
    only.add("formula_typed_twice", True, consistency=True)
    bare = only.verdict("demo")
    assert bare.passed and not bare.has_evidence  # passes, but the book says it has no evidence
    failing = Criteria()
    failing.add("formula_typed_twice", False, consistency=True)
    assert not failing.verdict("demo").passed  # a consistency check must still pass
    claim = BOOK[CLAIMS[0]]
    text = markdown([(claim, v), (claim, bare)])
    assert "Consistency checks (hold by construction; not evidence):" in text
    assert "- formula_typed_twice: pass" in text
    assert "pass (consistency checks only: no evidence)" in text
