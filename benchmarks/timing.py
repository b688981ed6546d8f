"""Helpers the benchmark scripts share: best-of timing, a description of the machine, the JSON report.

The scripts run as ``python benchmarks/bench_<name>.py``, so this module is imported by its plain name.
"""

from __future__ import annotations

import argparse
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


def threaded_arguments(name: str, doc: str, threads_help: str, argv: list[str] | None) -> argparse.Namespace:
    """Parse the options of a benchmark that times samplers on a thread count and writes a JSON report:
    ``--quick`` (a smoke run), ``--threads N`` and ``--out PATH`` (default ``results/<name>.json``)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer networks and repeats (a smoke run)")
    parser.add_argument("--threads", type=int, default=1, help=threads_help)
    out_argument(parser, name)
    return parser.parse_args(argv)


def out_argument(parser: argparse.ArgumentParser, name: str) -> None:
    """Add ``--out PATH``, where the JSON report goes (default ``benchmarks/results/<name>.json``)."""
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "results" / f"{name}.json",
        help=f"where the JSON report goes (default: benchmarks/results/{name}.json)",
    )


def write_threaded_report(
    name: str, args: argparse.Namespace, versions: dict[str, Any], **content: Any
) -> None:
    """Write the report of a benchmark parsed by :func:`threaded_arguments` to ``args.out``: its name,
    mode and thread count, then ``content``, the machine (with library ``versions``) and :data:`NOTE`."""
    report = {
        "benchmark": name,
        "mode": "quick" if args.quick else "full",
        "threads": args.threads,
        **content,
        "machine": machine(**versions),
        "note": NOTE,
    }
    write_report(args.out, report)
