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


@pytest.mark.parametrize(("cid", "variant"), VARIANTS)
def test_wrong_variant_fails(cid, variant):
    c = BOOK[cid]
    verdict = c.check("quick", seed=seed_for(cid), **c.wrong_variants[variant])
    assert not verdict.passed, f"{cid} did not detect the wrong variant {variant!r}: {dict(verdict.evidence)}"


@pytest.mark.parametrize("cid", CLAIMS)
def test_wrong_variants_are_keyword_arguments_of_the_check(cid):
    c = BOOK[cid]
    params = inspect.signature(c.check_fn).parameters
    assert list(params)[:2] == ["level", "seed"]
    for name, variant in c.wrong_variants.items():
        for key in variant:
            assert key in params and params[key].kind is inspect.Parameter.KEYWORD_ONLY, (cid, name, key)
