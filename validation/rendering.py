"""Lay out a validation report with a real HTML/CSS engine and check that every figure is visible.

The project machines cannot download a browser binary, so the headless check uses WeasyPrint, an
HTML/CSS layout engine installable from the package index, and pdfium (``pypdfium2``) to rasterise
the laid-out pages: both are in the ``render`` extra (and the ``test`` extra). :func:`render_report`
lays the page out as a printer would, finds every image box, checks that each has a positive size on
a page and that its pixels in the rasterised page are not blank, and can write the pages as PNG
screenshots.

Command line: ``python -m validation.rendering validation-output/quick/report.html --png shot.png``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["RenderedReport", "render_report"]

_PX_TO_PT = 0.75  # one CSS pixel is 3/4 of a PDF point


@dataclass(frozen=True)
class RenderedReport:
    """What the layout engine made of a report: pages, and each image's page, box and pixel spread."""

    n_pages: int
    n_img_tags: int
    images: list[dict[str, Any]] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Empty when every ``<img>`` of the page is laid out with a positive size and non-blank pixels."""
        out = []
        if len(self.images) != self.n_img_tags:
            out.append(f"{self.n_img_tags} <img> tags but {len(self.images)} images laid out")
        for im in self.images:
            if im["width"] <= 0 or im["height"] <= 0:
                out.append(f"image {im['alt']!r} has no area ({im['width']} x {im['height']})")
            elif im["pixel_std"] <= 1.0:
                out.append(f"image {im['alt']!r} is blank on page {im['page'] + 1}")
        return out


def _image_boxes(box: Any, out: list[Any], kind: type) -> None:
    """Collect the boxes of class ``kind`` (WeasyPrint's replaced boxes: images) under ``box``."""
    if isinstance(box, kind):
        out.append(box)
    for child in getattr(box, "children", None) or ():
        _image_boxes(child, out, kind)


def render_report(report: str | Path, png: str | Path | None = None, *, scale: float = 1.0) -> RenderedReport:
    """Lay out ``report`` (an HTML file), rasterise its pages and measure every image in them.

    ``png``: write the pages as ``png`` (page 1) and ``<stem>-<k>.png`` (page k > 1).
    """
    try:
        import pypdfium2 as pdfium
        import weasyprint
        from weasyprint.formatting_structure.boxes import ReplacedBox
    except ImportError as exc:  # pragma: no cover - the extra is documented
        raise ImportError(
            'rendering a report needs the render extra: pip install "stochdepth[render]"'
        ) from exc
    path = Path(report)
    if not path.is_file():
        raise FileNotFoundError(f"report: no file {path}")
    text = path.read_text(encoding="utf-8")
    doc = weasyprint.HTML(string=text, base_url=str(path.parent)).render()
    pdf = pdfium.PdfDocument(doc.write_pdf())
    images: list[dict[str, Any]] = []
    for k, page in enumerate(doc.pages):
        shot = pdf[k].render(scale=scale).to_pil()
        pixels = np.asarray(shot.convert("L"), dtype=float)
        if png is not None:
            shot.save(Path(png) if k == 0 else Path(png).with_name(f"{Path(png).stem}-{k + 1}.png"))
        boxes: list[Any] = []
        _image_boxes(page._page_box, boxes, ReplacedBox)
        for b in boxes:
            f = _PX_TO_PT * scale
            x0, y0 = int(b.content_box_x() * f), int(b.content_box_y() * f)
            x1, y1 = int((b.content_box_x() + b.width) * f), int((b.content_box_y() + b.height) * f)
            patch = pixels[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)]
            images.append(
                {
                    "alt": b.element.get("alt", "") if b.element is not None else "",
                    "page": k,
                    "width": float(b.width),
                    "height": float(b.height),
                    "pixel_std": float(patch.std()) if patch.size else 0.0,
                }
            )
    return RenderedReport(len(doc.pages), text.count("<img "), images)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the report.html of a validation run")
    parser.add_argument("--png", type=Path, default=None, help="write the pages as PNG screenshots here")
    args = parser.parse_args(argv)
    r = render_report(args.report, args.png)
    print(f"{r.n_pages} pages, {len(r.images)} of {r.n_img_tags} images laid out")
    for p in r.problems:
        print(f"  PROBLEM {p}")
    return 1 if r.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
