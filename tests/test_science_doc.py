"""docs/science.md stays consistent with the code that cites it and the claims that check it.

* every section A1..A6, B1..B7, C1..C4 has its anchor (``<a id="b6"></a>``);
* every citation ``docs/science.md §X`` (or ``docs/science.md#x``) anywhere in the repository names an
  anchor that exists;
* every claim of the theorem book (ids such as ``"A4.norm-lognormal"`` in ``theory/``) is named in the
  section of the document that it checks.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "science.md"
SECTIONS = [f"a{i}" for i in range(1, 7)] + [f"b{i}" for i in range(1, 8)] + [f"c{i}" for i in range(1, 5)]
_ANCHOR = re.compile(r'<a id="([a-z0-9.\-]+)"></a>')
_CITATION = re.compile(r"docs/science\.md(?:\s*§\s*|#)([A-Ca-c][0-9](?:\.[0-9]+)?|part-[abc])")
_CLAIM_ID = re.compile(r"\"([AB][0-9])\.([a-z0-9]+(?:-[a-z0-9]+)*)\"")
_SCANNED = ("stochdepth", "theory", "validation", "benchmarks", "tests", "docs")


def _anchors() -> list[str]:
    return _ANCHOR.findall(DOC.read_text(encoding="utf-8"))


def _section_texts() -> dict[str, str]:
    """Text of each top-level section (from its anchor to the next top-level anchor)."""
    text = DOC.read_text(encoding="utf-8")
    marks = [(m.start(), m.group(1)) for m in _ANCHOR.finditer(text) if "." not in m.group(1)]
    out = {}
    for (start, name), (stop, _) in zip(marks, [*marks[1:], (len(text), "")]):
        out[name] = text[start:stop]
    return out


def _repository_files() -> list[Path]:
    files = [ROOT / "README.md"] if (ROOT / "README.md").exists() else []
    for top in _SCANNED:
        base = ROOT / top
        if base.is_dir():
            files += [p for p in base.rglob("*") if p.suffix in {".py", ".md"} and p.is_file()]
    return files


def test_every_section_has_an_anchor() -> None:
    anchors = _anchors()
    assert len(anchors) == len(set(anchors)), "duplicated anchors"
    missing = [s for s in SECTIONS if s not in anchors]
    assert not missing, f"sections without an anchor: {missing}"


def test_citations_resolve() -> None:
    anchors = set(_anchors())
    bad = []
    for path in _repository_files():
        for m in _CITATION.finditer(path.read_text(encoding="utf-8", errors="replace")):
            if m.group(1).lower() not in anchors:
                bad.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert not bad, "citations of missing sections:\n" + "\n".join(bad)


def test_every_claim_is_named_in_its_section() -> None:
    sections = _section_texts()
    claims = set()
    for path in (ROOT / "theory").rglob("*.py"):
        claims |= set(_CLAIM_ID.findall(path.read_text(encoding="utf-8")))
    assert claims, "no claim ids found in theory/"
    missing = [
        f"{sec}.{slug}"
        for sec, slug in sorted(claims)
        if f"`{sec}.{slug}`" not in sections.get(sec.lower(), "")
    ]
    assert not missing, f"claims not named in their section of docs/science.md: {missing}"
