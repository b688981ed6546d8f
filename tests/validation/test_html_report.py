"""The HTML report of a validation run: self-contained, verdict table first, every figure embedded as a
PNG that decodes, and every number of ``results.json`` written in it.

No headless browser is installed on the project machines, so the report is checked by parsing it:
the figures are decoded from their base64 data and the numbers are looked up in the page's text.
"""

from __future__ import annotations

import base64
import io
import json
import math
from html.parser import HTMLParser

import numpy as np
from matplotlib.image import imread

from stochdepth import plot
from validation.runner import Context, Task, TaskOutput, run_tasks


class _Page(HTMLParser):
    """The text, the image sources, the tag order and the external references of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.images: list[str] = []
        self.tags: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag in ("script", "link") or (tag == "img" and not attrs.get("src", "").startswith("data:")):
            self.external.append(f"{tag} {attrs}")

    def handle_data(self, data):
        self.text.append(data)


def _numbers(data):
    """Every number (not bool) of a JSON document."""
    if isinstance(data, dict):
        for v in data.values():
            yield from _numbers(v)
    elif isinstance(data, list):
        for v in data:
            yield from _numbers(v)
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        yield data


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


def test_html_report_is_self_contained_and_carries_every_number(tmp_path, seed):
    run_tasks([_task("a", seed), _task("b", seed + 1, fail=True)], tmp_path, seed=seed, progress=False)
    page = _Page()
    page.feed((tmp_path / "report.html").read_text(encoding="utf-8"))
    text = " ".join(page.text)
    assert page.external == []
    # the verdict table comes first, before any figure or task section
    assert page.tags.index("table") < page.tags.index("h2") < page.tags.index("img")
    assert "PASS" in text and "FAIL" in text
    # every figure decodes to a non-blank raster image
    assert len(page.images) == 2
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        image = imread(io.BytesIO(base64.b64decode(src.split(",", 1)[1])), format="png")
        assert image.shape[0] > 100 and image.shape[1] > 100 and np.ptp(image[..., :3]) > 0.5
    results = json.loads((tmp_path / "results.json").read_text())
    numbers = list(_numbers(results))
    assert len(numbers) > 20
    missing = [v for v in numbers if json.dumps(v) not in text]
    assert missing == []


def test_the_number_check_can_fail(tmp_path, seed):
    """A number the page does not carry is reported missing (the lookup is not vacuous)."""
    run_tasks([_task("a", seed)], tmp_path, seed=seed, progress=False)
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert json.dumps(0.1234567890123) not in text
    assert (
        json.dumps(json.loads((tmp_path / "results.json").read_text())["tasks"]["a"]["metrics"]["mean"])
        in text
    )
