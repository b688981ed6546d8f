"""Number formatting and small numerical helpers shared by the campaigns' checks and reports."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["as_floats", "fmt", "fmt_p", "fmt_pm", "loglog_slope", "max_abs", "table"]


def fmt(x: Any, digits: int = 4) -> str:
    """A number for tables and check details, ``digits`` significant digits (``nan`` and strings pass)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "nan"
    return f"{v:.{digits}g}"


def fmt_p(x: Any) -> str:
    """A p-value (two significant digits)."""
    return fmt(x, 2)


def fmt_pm(value: Any, stderr: Any, digits: int = 5) -> str:
    """``value ± stderr``."""
    return f"{fmt(value, digits)} ± {fmt(stderr, 2)}"


def as_floats(values: Any) -> np.ndarray:
    """A float array from cached JSON (non-finite numbers come back from JSON as strings)."""
    return np.array([float(v) for v in values], dtype=float)


def loglog_slope(x: Any, y: Any) -> float:
    """Least-squares slope of ``log|y|`` against ``log x`` (a fitted convergence rate)."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.abs(np.asarray(y, float))), 1)[0])


def max_abs(values: Any) -> float:
    """Largest ``|value|`` ignoring NaNs (the worst z-score of a family); ``nan`` when empty."""
    arr = np.abs(np.asarray(values, dtype=float))
    return float(np.nanmax(arr)) if arr.size else math.nan


def table(header: list[str], rows: list[list[Any]], caption: str | None = None) -> str:
    """A Markdown table (cells converted with ``str``), optionally preceded by a bold caption line."""
    lines = [f"**{caption}**", ""] if caption else []
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
