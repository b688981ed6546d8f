"""``python -m theory``: evidence printed and written in full (never cut with "..."), the book as
Markdown and HTML, and bad arguments refused before any check runs."""

from __future__ import annotations

import numpy as np
import pytest

import theory.__main__ as cli
from theory import BOOK
from theory.book import Verdict

LONG = {"values": np.linspace(0.0, 1.0, 2000), "note": "x" * 300, "ratio": 1.0 / 3.0}


@pytest.fixture
def fake_book(monkeypatch):
    """The first claim of the book with a long evidence, without running any check."""
    claim = next(iter(BOOK.values()))
    ran = []

    def run_book(level, only, progress, seed):
        ran.append(only)
        return [(claim, Verdict(True, "fake", LONG, 0.0))]

    monkeypatch.setattr(cli, "run_book", run_book)
    return claim, ran


def test_evidence_and_book_pages_are_complete(fake_book, tmp_path, capsys):
    claim, _ = fake_book
    md, page = tmp_path / "book.md", tmp_path / "book.html"
    assert cli.main(["--evidence", "--markdown", str(md), "--html", str(page)]) == 0
    out = capsys.readouterr().out
    full = ", ".join(repr(float(v)) for v in LONG["values"])
    for text in (out, md.read_text(), page.read_text()):
        assert full in text and LONG["note"] in text and repr(1.0 / 3.0) in text
        assert claim.id in text
    assert "..." not in md.read_text() and "..." not in page.read_text()
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_the_table_summary_is_cut_but_says_where_the_rest_is(fake_book, capsys):
    cli.main([])
    out = capsys.readouterr().out
    assert "..." in out and "--evidence" in out


def test_bad_arguments_are_refused_before_any_check(fake_book, tmp_path, capsys):
    _, ran = fake_book
    for argv, match in (
        (["--only", "Z9"], "no claim id starts with 'Z9'"),
        (["--html", str(tmp_path / "missing" / "book.html")], "cannot write"),
        (["--markdown", str(tmp_path)], "cannot write"),
    ):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2 and match in capsys.readouterr().err
    assert ran == []
