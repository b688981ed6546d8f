"""``python -m theory``: check every claim of the book and print it as a table (or write the book).

Usage::

    python -m theory                     # quick level, table on stdout
    python -m theory --level full        # larger Monte Carlo, finer grids
    python -m theory --evidence          # also print every claim's evidence in full
    python -m theory --markdown BOOK.md  # also write the book as Markdown
    python -m theory --html BOOK.html    # also write the book as one HTML file
    python -m theory --only A4 B6        # claims whose id starts with A4 or B6
    python -m theory --list              # list the claims without checking them

Exit status 0 when every checked claim passes, 1 otherwise; 2 for bad arguments (before any check).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .book import LEVELS
from .pages import CONSISTENCY_HEADING, consistency_lines, html_book, markdown_book, verdict_word
from .registry import BOOK, run_book


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m theory``."""
    p = argparse.ArgumentParser(prog="python -m theory", description=__doc__.splitlines()[0])
    p.add_argument("--level", choices=LEVELS, default="quick", help="size of the checks (default: quick)")
    p.add_argument("--markdown", metavar="FILE", type=Path, help="write the book as Markdown to FILE")
    p.add_argument("--html", metavar="FILE", type=Path, help="write the book as one HTML file to FILE")
    p.add_argument(
        "--evidence", action="store_true", help="print every claim's evidence in full after the table"
    )
    p.add_argument("--only", nargs="+", metavar="PREFIX", help="check claims whose id starts so")
    p.add_argument("--seed", type=int, default=0, help="seed of the Monte Carlo checks")
    p.add_argument("--list", action="store_true", help="list claims without checking")
    return p


def _check_arguments(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse unknown claim prefixes and unwritable output files before any check runs."""
    for prefix in args.only or ():
        if not any(cid.startswith(prefix) for cid in BOOK):
            p.error(f"--only: no claim id starts with {prefix!r} (see --list)")
    for option in ("markdown", "html"):
        path = getattr(args, option)
        if path is None:
            continue
        folder = path.parent if str(path.parent) else Path(".")
        if path.is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK):
            p.error(f"--{option}: cannot write {str(path)!r} (the folder must exist and be writable)")


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.list:
        rows = [[c.id, c.tag, c.method, c.title] for c in BOOK.values()]
        print(_table(rows, ["id", "tag", "method", "claim"]))
        return 0
    _check_arguments(p, args)

    def announce(cid: str) -> None:
        print(f"checking {cid} ...", file=sys.stderr)

    results = run_book(args.level, args.only, progress=announce, seed=args.seed)
    rows = [
        [
            c.id,
            c.tag,
            v.method,
            verdict_word(v),
            f"{v.n_evidence if v.n_evidence is not None else '-'}+{len(v.consistency)}",
            f"{v.seconds:.1f}s",
            v.summary(70),
        ]
        for c, v in results
    ]
    headers = ["id", "tag", "method", "verdict", "ev+cons", "time", "evidence (--evidence: in full)"]
    print(_table(rows, headers))
    n_fail = sum(not v.passed for _, v in results)
    n_cons = sum(len(v.consistency) for _, v in results)
    n_ev = sum(v.n_evidence or 0 for _, v in results)
    print(f"\n{len(results) - n_fail}/{len(results)} claims pass at level {args.level!r}")
    print(f"{n_ev} evidence criteria; {n_cons} consistency checks (hold by construction, not evidence)")
    bare = [c.id for c, v in results if not v.has_evidence]
    if bare:
        print(f"claims with consistency checks only (no evidence): {', '.join(bare)}")
    if args.evidence:
        for c, v in results:
            print(f"\n{c.id} ({verdict_word(v)}, {v.method})")
            print("\n".join(f"  {k}: {val}" for k, val in v.details()))
            if v.consistency:
                print(f"  {CONSISTENCY_HEADING}")
                print("\n".join(f"    {k}: {ok}" for k, ok in consistency_lines(v)))
    for path, write in ((args.markdown, markdown_book), (args.html, html_book)):
        if path is not None:
            path.write_text(write(results), encoding="utf-8")
            print(f"wrote {path}")
    for c, v in results:
        if not v.passed:
            print(f"  FAILED {c.id}: " + "; ".join(f"{k}={val}" for k, val in v.details()), file=sys.stderr)
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
