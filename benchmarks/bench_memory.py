"""Peak memory of a streaming Monte Carlo run does not grow with its number of networks.

Usage::

    python benchmarks/bench_memory.py [--out PATH] [--full]

Workload: random ReLU networks of width 8 and depth 32 (one input, squared norms at layers 0, 16, 32)
reduced to streaming moments and quantiles by ``sample_network`` on 2 threads, in chunks of 4096
networks. Each case runs in a fresh Python process and reports its peak resident memory
(``getrusage`` ``ru_maxrss``) after a warm-up run (numba compiled, thread pool started):

* ``10^6`` networks, run to completion (245 chunks);
* ``10^9`` and ``10^12`` networks, stopped after the same 245 chunks by design: the run is given a
  thread pool that refuses the 246th chunk. By then every cost that grows with the count has been paid
  (before lazy streams, the seed sequences of all chunks were made before the first one ran: about
  150 MiB for 10^9 networks and a MemoryError for 10^12); from there on each chunk replaces the one
  before it, as in the 10^6 run;
* ``--full`` adds a complete run of ``10^9`` networks of width 2 and depth 1 (cheap per network, 244 141
  chunks) against a complete ``10^6`` run of the same networks.

The check is that every peak lies within 10% of the 10^6 run's peak of the same networks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from timing import out_argument

CASE = r"""
import json, resource, sys
from concurrent.futures import ThreadPoolExecutor
import numpy as np
from stochdepth.montecarlo import Moments, Quantiles
from stochdepth.networks import sample_network, squared_norms

n, width, depth, stop_after = (int(v) for v in sys.argv[1:5])

class Refuse(Exception):
    pass

class StopAfter(ThreadPoolExecutor):
    def __init__(self, chunks):
        super().__init__(max_workers=2)
        self.left = chunks
    def submit(self, fn, /, *args, **kwargs):
        if self.left == 0:
            raise Refuse
        self.left -= 1
        return super().submit(fn, *args, **kwargs)

def run(count, executor):
    return sample_network(
        np.ones(width), width, depth, n_paths=count, record=[0, depth // 2, depth], observe=squared_norms(),
        reduce=[Moments(), Quantiles(bins=1024)], chunk_size=4096, n_threads=2, rng=1, executor=executor,
    )

with ThreadPoolExecutor(2) as pool:
    run(8 * 4096, pool)  # warm-up
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
pool = StopAfter(stop_after if stop_after > 0 else -1)
try:
    res = run(n, pool)
    done = res["squared_norms"].moments.n
except Refuse:
    done = None
pool.shutdown()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"networks": n, "completed": done, "rss_before_kib": before, "peak_rss_kib": peak}))
"""


def case(n: int, width: int, depth: int, stop_after: int = 0) -> dict:
    env = dict(os.environ, STOCHDEPTH_NUM_THREADS="2")
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CASE, str(n), str(width), str(depth), str(stop_after)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row.update(width=width, depth=depth, stopped_after_chunks=stop_after or None)
    row["seconds"] = time.perf_counter() - t0
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    out_argument(parser, "bench_memory")
    parser.add_argument("--full", action="store_true", help="also run 10^9 tiny networks to completion")
    args = parser.parse_args(argv)
    chunks = -(-(10**6) // 4096)
    load = [os.getloadavg()]
    rows = [case(10**6, 8, 32), case(10**9, 8, 32, chunks), case(10**12, 8, 32, chunks)]
    if args.full:
        rows += [case(10**6, 2, 1), case(10**9, 2, 1)]
    load.append(os.getloadavg())
    ok = True
    print("networks  width depth  completed   stopped  peak RSS (MiB)  vs 10^6")
    for row in rows:
        ref = next(r for r in rows if r["networks"] == 10**6 and r["width"] == row["width"])
        row["ratio_to_1e6"] = row["peak_rss_kib"] / ref["peak_rss_kib"]
        ok &= abs(row["ratio_to_1e6"] - 1) <= 0.10
        print(
            f"{row['networks']:9.0e}  {row['width']:5d} {row['depth']:5d}  {row['completed']!s:>9}"
            f"  {row['stopped_after_chunks']!s:>8}  {row['peak_rss_kib'] / 1024:14.1f}"
            f"  {row['ratio_to_1e6']:.3f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"cases": rows, "load_average_before_after": load, "within_10_percent": ok}, indent=1)
    )
    os.replace(tmp, args.out)
    print(f"every peak within 10% of the 10^6 run: {ok}; load average {load[0]} -> {load[1]}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
