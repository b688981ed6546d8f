"""Helpers the benchmark scripts share: best-of timing, a description of the machine, the JSON report.

The scripts run as ``python benchmarks/bench_<name>.py``, so this module is imported by its plain name.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: what every report says about its timings
NOTE = "best of repeats after a warm-up; shared-machine timings are noisy, read the ratios"


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    """The shortest wall-clock time of ``repeats`` calls of ``fn`` (seconds)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def machine(**versions: Any) -> dict[str, Any]:
    """Platform, CPU count, load and Python version, followed by ``versions`` (library versions)."""
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "python": sys.version.split()[0],
        **versions,
    }


def write_report(out: Path, report: dict[str, Any]) -> None:
    """Write ``report`` as indented JSON to ``out`` atomically (through a temporary file)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2))
    tmp.replace(out)
    print(f"\nwritten: {out}")
