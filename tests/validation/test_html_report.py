"""The HTML report of a validation run: self-contained, verdict table first, every figure embedded as a
PNG that decodes, and every number of ``results.json`` written in it.

The report is checked by parsing it (:func:`validation.html.check_html_report`: figures decoded from
their base64 data, numbers looked up in the page's text) and by laying it out headless with an HTML/CSS
engine and rasterising the pages (:func:`validation.rendering.render_report`: every image on a page,
with area and non-blank pixels). No browser binary can be installed on the project machines; the
layout engine stands in for one. Each checker is shown to catch each kind of problem.
"""

from __future__ import annotations

import json
import math

import numpy as np

from stochdepth import plot
from validation.html import check_html_report
from validation.runner import Context, Task, TaskOutput, run_tasks


def _task(tid: str, seed: int, *, fail: bool = False) -> Task:
    def fn(ctx: Context) -> TaskOutput:
        rng = np.random.default_rng(seed)
        x = rng.normal(size=5)
        out = TaskOutput(
            metrics={
                "mean": float(x.mean()),
                "values": x.tolist(),
                "nested": {"scale": float(np.pi * rng.random()), "count": 17, "rows": [{"z": -1.25e-7}]},
            },
            tables=["**A table**\n\n| a | b |\n|---|---|\n| 1 | `x` |"],
            notes=["a note with `code`"],
        )
        out.check("mean is finite", math.isfinite(x.mean()) and not fail, f"mean = {x.mean()!r}")
        fig, axes = plot.figure(ncols=2)
        axes[0, 0].plot(x)
        axes[0, 1].hist(x)
        out.figures.append(ctx.savefig(fig, f"toy_{tid}"))
        return out

    return Task(tid, f"toy {tid}", "toy", fn, "what it shows", (f"toy_{tid}",))


def _run(tmp_path, seed):
    run_tasks([_task("a", seed), _task("b", seed + 1, fail=True)], tmp_path, seed=seed, progress=False)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    return page, json.loads((tmp_path / "results.json").read_text())


def test_html_report_is_self_contained_and_carries_every_number(tmp_path, seed):
    page, results = _run(tmp_path, seed)
    assert check_html_report(page, results) == []
    assert page.count("<img ") == 2 and "PASS" in page and "FAIL" in page
    assert page.index("<table>") < page.index("<h2") < page.index("<img ")


def test_the_checker_finds_each_kind_of_problem(tmp_path, seed):
    page, results = _run(tmp_path, seed)
    results["tasks"]["a"]["metrics"]["extra"] = 0.1234567890123
    assert check_html_report(page, results) == ["number 0.1234567890123 of results.json is missing"]
    del results["tasks"]["a"]["metrics"]["extra"]
    start = page.index("base64,") + len("base64,")
    broken = page[:start] + "AAAA" + page[start + 4 :]
    assert [p.split(" (")[0] for p in check_html_report(broken, results)] == ["figure 0 does not decode"]
    outside = page.replace("</body>", "<script src='https://example.org/x.js'></script></body>")
    assert check_html_report(outside, results)[0].startswith("external reference <script>")
    late = page.replace("<table>", "<h2>x</h2><table>", 1)
    assert check_html_report(late, results) == ["the verdict table is not the first section"]


def test_rendered_report_shows_every_figure(tmp_path, seed):
    from validation.rendering import render_report

    _run(tmp_path, seed)
    r = render_report(tmp_path / "report.html", tmp_path / "shot.png")
    assert r.problems == [] and len(r.images) == 2 and r.n_pages >= 1
    assert all(im["pixel_std"] > 10 for im in r.images)  # plotted lines and bars on white
    assert (tmp_path / "shot.png").stat().st_size > 1000


def test_renderer_finds_blank_and_broken_figures(tmp_path, seed):
    import base64
    import io

    from PIL import Image

    from validation.rendering import render_report

    page, _ = _run(tmp_path, seed)
    white = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(white, format="PNG")
    start = page.index("data:image/png;base64,") + len("data:image/png;base64,")
    end = page.index("'", start)
    blank = page[:start] + base64.b64encode(white.getvalue()).decode() + page[end:]
    (tmp_path / "blank.html").write_text(blank, encoding="utf-8")
    assert any("is blank" in p for p in render_report(tmp_path / "blank.html").problems)
    broken = page[:start] + "bm90IGEgcG5n" + page[end:]
    (tmp_path / "broken.html").write_text(broken, encoding="utf-8")
    assert any("images laid out" in p for p in render_report(tmp_path / "broken.html").problems)
