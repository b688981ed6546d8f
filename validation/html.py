"""The self-contained HTML report of a validation run (``<out>/report.html``).

One file with nothing outside it: the verdict table first, then the run's environment, then each task
with its checks (the consistency checks apart: true by construction, not evidence), tables, figures
(PNG embedded as base64, with a link to the PDF beside the report), notes, and every number of its
record in ``results.json`` (the metrics flattened to one row per key, written as JSON writes them, so
the report carries the same numbers as the JSON).
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

__all__ = ["check_html_report", "flatten", "html_report", "markdown_inline", "markdown_table"]

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:70rem;margin:2rem auto;
padding:0 1rem;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2} code{background:#f5f5f5;padding:0 .2rem}
.pass{color:#0072B2;font-weight:600}.fail{color:#D55E00;font-weight:700}
figure{margin:1rem 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#555} blockquote{border-left:3px solid #ccc;margin:.5rem 0;
padding:.1rem .8rem;color:#444} details{margin:.5rem 0} td.num{font-family:monospace;word-break:break-all}
"""

# keys of a task record shown in their own sections rather than in the table of numbers
_SHOWN = ("checks", "tables", "figures", "notes", "traceback", "title", "description", "campaign", "id")


def markdown_inline(text: str) -> str:
    """Escape ``text`` for HTML and render the inline Markdown of the reports: code and bold."""
    out = html.escape(str(text), quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def markdown_table(text: str) -> str:
    """A Markdown pipe table (optionally after a bold caption line) as an HTML table; other text as
    paragraphs."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    rows = [ln for ln in lines if ln.startswith("|")]
    before = [ln for ln in lines if not ln.startswith("|")]
    parts = [f"<p>{markdown_inline(ln)}</p>" for ln in before]
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
    cells = [r for r in cells if not all(re.fullmatch(r":?-+:?", c) for c in r)]  # separator line
    if cells:
        head, body = cells[0], cells[1:]
        parts.append(
            "<table><thead><tr>" + "".join(f"<th>{markdown_inline(c)}</th>" for c in head) + "</tr></thead>"
        )
        parts.append(
            "<tbody>"
            + "".join("<tr>" + "".join(f"<td>{markdown_inline(c)}</td>" for c in r) + "</tr>" for r in body)
            + "</tbody></table>"
        )
    return "\n".join(parts)


def flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``(dotted key, leaf)`` pairs of nested dicts; lists of plain values stay one leaf."""
    if isinstance(data, dict):
        out: list[tuple[str, Any]] = []
        for k, v in data.items():
            out += flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(data, list) and any(isinstance(v, (dict, list)) for v in data):
        out = []
        for i, v in enumerate(data):
            out += flatten(v, f"{prefix}[{i}]")
        return out
    return [(prefix, data)]


def _numbers_table(pairs: list[tuple[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td><code>{html.escape(k)}</code></td><td class='num'>{html.escape(json.dumps(v))}</td></tr>"
        for k, v in pairs
    )
    return f"<table><thead><tr><th>key</th><th>value</th></tr></thead><tbody>{rows}</tbody></table>"


def _figure(path: str, out: Path) -> str:
    png = out / path
    name = Path(path).stem
    if not png.exists():
        return f"<p class='fail'>figure {html.escape(name)} is missing ({html.escape(path)})</p>"
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    pdf = Path(path).with_suffix(".pdf").as_posix()
    return (
        f"<figure><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{html.escape(name)} (<a href='{html.escape(pdf)}'>PDF</a>)</figcaption></figure>"
    )


def _verdicts(summary: dict[str, Any]) -> str:
    rows = []
    for tid, r in summary["tasks"].items():
        cs = r.get("checks", [])
        ok = sum(c["passed"] for c in cs)
        verdict = "error" if r["status"] != "done" else "pass" if ok == len(cs) else "fail"
        css = "pass" if verdict == "pass" else "fail"
        rows.append(
            f"<tr><td><a href='#{html.escape(tid)}'>{html.escape(tid)}</a></td>"
            f"<td>{html.escape(r['campaign'])}</td><td class='{css}'>{verdict.upper()}</td>"
            f"<td>{ok}/{len(cs)}</td><td>{r['seconds']:.1f} s</td></tr>"
        )
    return (
        "<table><thead><tr><th>task</th><th>campaign</th><th>verdict</th><th>checks</th><th>time</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _check_list(checks: list[dict[str, Any]]) -> str:
    items = "".join(
        f"<li><span class='{'pass' if c['passed'] else 'fail'}'>{'PASS' if c['passed'] else 'FAIL'}</span> "
        f"{'(consistency) ' if c.get('consistency') else ''}"
        f"{markdown_inline(c['name'])}: {markdown_inline(c['detail'])}</li>"
        for c in checks
    )
    return f"<ul>{items}</ul>"


def _task(tid: str, r: dict[str, Any], out: Path) -> str:
    parts = [f"<h2 id='{html.escape(tid)}'>{html.escape(r['title'])} (<code>{html.escape(tid)}</code>)</h2>"]
    if r.get("description"):
        parts.append(f"<p>{markdown_inline(r['description'])}</p>")
    if r["status"] != "done":
        parts.append(f"<pre>{html.escape(r.get('traceback', r.get('error', '')))}</pre>")
    checks = r.get("checks", [])
    parts.append(_check_list([c for c in checks if not c.get("consistency")]))
    consistency = [c for c in checks if c.get("consistency")]
    if consistency:
        parts.append("<p>Consistency checks (hold by construction; not evidence):</p>")
        parts.append(_check_list(consistency))
    parts += [markdown_table(t) for t in r.get("tables", [])]
    parts += [_figure(f, out) for f in r.get("figures", [])]
    parts += [f"<blockquote>{markdown_inline(n)}</blockquote>" for n in r.get("notes", [])]
    numbers = flatten({k: v for k, v in r.items() if k not in _SHOWN})
    parts.append(f"<details open><summary>Numbers of this task</summary>{_numbers_table(numbers)}</details>")
    return "\n".join(parts)


def html_report(summary: dict[str, Any], out: Path) -> str:
    """The report of ``summary`` (the content of ``results.json``) as one HTML page; figures are read
    from ``out`` and embedded."""
    out = Path(out)
    n_ok = summary["n_checks"] - summary["n_failed"]
    run = {k: v for k, v in summary.items() if k != "tasks"}
    parts = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'><title>stochdepth validation report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>stochdepth validation report</h1>",
        f"<p><strong>{n_ok} of {summary['n_checks']} checks pass</strong> over {summary['n_done']} of "
        f"{summary['n_tasks']} tasks (profile <code>{html.escape(str(summary['profile']))}</code>, seed "
        f"{summary['seed']}); {summary.get('n_consistency', 0)} of them are consistency checks (true by "
        "construction: they guard the code but are no evidence).</p>",
        _verdicts(summary),
        f"<details><summary>Run and environment</summary>{_numbers_table(flatten(run))}</details>",
    ]
    parts += [_task(tid, r, out) for tid, r in summary["tasks"].items()]
    parts.append("</body></html>")
    return "\n".join(parts)


class _Page(HTMLParser):
    """The text, the image sources, the tag order and the external references of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.images: list[str] = []
        self.tags: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        src = found.get("src") or ""
        if tag == "img":
            self.images.append(src)
        if tag in ("script", "link", "iframe") or (tag == "img" and not src.startswith("data:")):
            self.external.append(f"<{tag}> {found}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _numbers(data: Any) -> Iterator[int | float]:
    if isinstance(data, dict):
        for v in data.values():
            yield from _numbers(v)
    elif isinstance(data, list):
        for v in data:
            yield from _numbers(v)
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        yield data


def check_html_report(page: str, results: dict[str, Any]) -> list[str]:
    """The problems of an HTML report (an empty list when there is none), checked by parsing it (no
    browser): a reference to anything outside the file, the verdict table not first, an embedded
    figure that does not decode to a non-blank PNG, or a number of ``results`` (the content of
    ``results.json``) not written in the page's text as JSON writes it."""
    from PIL import Image

    parsed = _Page()
    parsed.feed(page)
    problems = [f"external reference {e}" for e in parsed.external]
    tags = parsed.tags
    if "table" not in tags or ("h2" in tags and tags.index("h2") < tags.index("table")):
        problems.append("the verdict table is not the first section")
    for i, src in enumerate(parsed.images):
        if not src.startswith("data:image/png;base64,"):
            problems.append(f"figure {i} is not an embedded PNG")
            continue
        try:
            with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1], validate=True))) as im:
                im.load()
                lo, hi = im.convert("L").getextrema()
            if im.width < 100 or im.height < 100 or hi - lo < 128:
                problems.append(f"figure {i} is blank or tiny ({im.width} x {im.height})")
        except Exception as exc:  # any decoding failure is a finding, not a crash
            problems.append(f"figure {i} does not decode ({type(exc).__name__}: {exc})")
    text = " ".join(parsed.text)
    problems += [f"number {json.dumps(v)} of results.json is missing" for v in _numbers(results)
                 if json.dumps(v) not in text]  # fmt: skip
    return problems
