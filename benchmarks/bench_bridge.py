"""Cost of ``log_norm_bridge`` against depth and width (run: ``python benchmarks/bench_bridge.py``).

The finite-depth optimal stopping of the log-norm walk (docs/science.md §B6) is solved on a grid whose
step is a sixteenth of one layer's standard deviation: the number of states grows like
``sqrt(depth)`` and, as the drift ``m = 1/2 - 1/n`` falls, like ``1/m`` (the margin below the start that
the walk visits with probability ``exp(-16)``). The table gives the wall time of one call (after a
warm-up call, so numba compilation is not timed), the grid size and the answers, for the default call
(``law=False``: threshold, value, exact mean and standard deviation of the depth, certified error) and
with the law of the stopping depth (``law=True``: one FFT convolution per layer up to 200 depth-time
units or a tail of 1e-8, O(depth^1.5)), and for each width the growth exponent ``b`` of a least-squares
fit ``cpu time ~ depth^b``. Wall and CPU seconds are both given: on a loaded machine the CPU seconds of
this (single-threaded) process are the cost.

Options: ``--widths``, ``--depths``, ``--law-depths`` (depths also timed with the law), ``--out`` (JSON
report, default ``benchmarks/results/bench_bridge.json``). Shared-machine timings are noisy: the report
records the load average.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from timing import NOTE, machine, out_argument, write_report

from stochdepth.depth import log_norm_bridge

TARGET, COST = 0.5, 0.05


def run(width: int, depth: int, law: bool) -> dict[str, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    r = log_norm_bridge(width, depth, TARGET, COST, law=law)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "width": width,
        "depth": depth,
        "law": law,
        "seconds": dt,
        "cpu_seconds": cpu,
        "n_states": r.n_states,
        "threshold": r.threshold,
        "threshold_limit": r.threshold_limit,
        "value": r.value,
        "expected_depth": r.expected_depth,
        "ks_distance": r.ks_distance,
    }


def exponent(rows: list[dict[str, float]]) -> float:
    """Least-squares slope of log(CPU seconds) on log(depth) (CPU time: what the load does not change)."""
    if len(rows) < 2:
        return math.nan
    x = np.log([r["depth"] for r in rows])
    y = np.log([r["cpu_seconds"] for r in rows])
    return float(np.polyfit(x, y, 1)[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[3, 4, 8, 16, 64], help="widths n timed")
    ap.add_argument("--depths", type=int, nargs="+", default=[64, 256, 1024, 4096], help="depths L timed")
    ap.add_argument(
        "--law-depths",
        type=int,
        nargs="*",
        default=[64, 256],
        help="depths also timed with the law of the depth",
    )
    out_argument(ap, "bench_bridge")
    args = ap.parse_args()
    log_norm_bridge(4, 8, TARGET, COST)  # warm-up: numba compilation
    rows = []
    print(f"log_norm_bridge(width, depth, target={TARGET}, cost={COST}); load {machine()['load_average']}")
    head = {
        "width": 5,
        "depth": 6,
        "law": 5,
        "seconds": 9,
        "cpu s": 8,
        "states": 7,
        "threshold": 10,
        "value": 11,
    }
    print(" ".join(f"{name:>{w}}" for name, w in head.items()))
    for n in args.widths:
        for law, depths in ((False, args.depths), (True, args.law_depths)):
            for L in depths:
                r = run(n, L, law)
                rows.append(r)
                print(
                    f"{n:5d} {L:6d} {law!s:>5} {r['seconds']:9.2f} {r['cpu_seconds']:8.2f} "
                    f"{r['n_states']:7d} {r['threshold']:10.5f} {r['value']:11.7f}",
                    flush=True,
                )
    print("\ngrowth exponent b of cpu time ~ depth^b")
    fits = {}
    for n in args.widths:
        for law in (False, True):
            sel = [r for r in rows if r["width"] == n and r["law"] == law]
            fits[f"width={n}, law={law}"] = b = exponent(sel)
            print(f"  width {n:3d}, law={law!s:5}: b = {b:.2f}")
    write_report(args.out, {"rows": rows, "exponents": fits, "machine": machine(), "note": NOTE})


if __name__ == "__main__":
    main()
