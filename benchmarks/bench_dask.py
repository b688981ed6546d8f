"""Benchmark of stochdepth.executors: random ReLU networks on a Dask LocalCluster against local threads.

Usage::

    python benchmarks/bench_dask.py [--paths N] [--quick] [--out PATH]

Workload: ``N`` random ReLU networks (default 10^7) of width 8 and depth 256, one input, squared norms
recorded at layers 0, 128, 256 and reduced to streaming moments (bounded memory: only a few chunk
partials are alive at any time). Every case uses the same seed and chunks of 1024 networks, and checks
that its moments are bitwise identical to the threads' result. On Dask a task folds an aligned group of
up to 16 chunks into the nodes of the fixed reduction tree (stochdepth.executors.PairwiseTree), so the
tasks are fewer than the chunks; both are counted.

Cases, side by side in one run (each executor warmed up first, so numba compilation is never timed):

1. overhead: a 2-worker LocalCluster (processes, 1 thread each) against a local 2-thread pool on the
   same machine, same ``N``: the ratio of wall times, and the resident memory of the client, the
   scheduler and each worker after the run (psutil);
2. weak scaling: ``N / 2`` networks per worker on 1 and 2 workers: chunks and tasks per second;
3. the runner's own cost per task: tasks per second of chunks that do nothing (2 000 of them through
   ``map_chunks`` on the 2-worker cluster), which bounds the throughput of the scheduler plus the
   client's in-order fold (the input of the extrapolation to 100 workers in benchmarks/README.md).

On a machine shared with other work the absolute times move with the load (recorded in the JSON);
read the ratios. The load average is recorded before and after each case. ``--quick`` runs
2 * 10^5 networks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from stochdepth.executors import chunks_per_task, use_executor
from stochdepth.montecarlo import Moments
from stochdepth.networks import sample_network, squared_norms

sys.path.insert(0, str(Path(__file__).parent))
from timing import out_argument

WIDTH, DEPTH, CHUNK = 8, 256, 1024


def run(n_paths: int, executor, threads: int = 2):
    with use_executor(executor):
        res = _sample(n_paths, threads)
    return res["squared_norms"].moments


def _sample(n_paths: int, threads: int):
    return sample_network(
        np.ones(WIDTH),
        WIDTH,
        DEPTH,
        "relu",
        n_paths=n_paths,
        record=[0, DEPTH // 2, DEPTH],
        observe=squared_norms(),
        reduce=Moments(),
        chunk_size=CHUNK,
        n_threads=threads,
        rng=2026,
    )


def cpu_s() -> float:
    """CPU seconds (user + system) used so far by this process."""
    import psutil

    t = psutil.Process().cpu_times()
    return t.user + t.system


def timed(n_paths: int, executor, threads: int = 2):
    """Wall seconds, CPU seconds of every process involved (this one, and Dask's workers), moments."""
    remote = (lambda: sum(executor.run(cpu_s).values())) if not isinstance(executor, str) else (lambda: 0.0)
    c0, r0, t0 = cpu_s(), remote(), time.perf_counter()
    m = run(n_paths, executor, threads)
    wall = time.perf_counter() - t0
    return wall, cpu_s() - c0 + remote() - r0, m


def rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def load() -> list[float] | None:
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def cluster_case(n_workers: int, n_paths: int, ref):
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        run(4 * CHUNK * n_workers, client)  # warm-up: numba compiles on every worker
        load_before = load()
        seconds, cpu, m = timed(n_paths, client)
        same = bool(np.array_equal(m.mean, ref.mean) and np.array_equal(m.var, ref.var)) if ref else None
        chunks = -(-n_paths // CHUNK)
        group = chunks_per_task(chunks - 1, client)  # the first chunk runs alone (calibration)
        empty = _empty_tasks_per_s(client) if n_workers == 2 else None
        memory = {
            "scheduler_mib": client.run_on_scheduler(rss_mib),
            "workers_mib": sorted(client.run(rss_mib).values()),
        }
    memory["empty_tasks_per_s"] = empty
    memory["cpu_s"] = cpu
    memory["chunks_per_task"] = group
    memory["tasks"] = 1 + -(-(chunks - 1) // group)
    memory["load_before_after"] = [load_before, load()]
    return seconds, same, memory


def _nothing(a: int, b: int, gen) -> int:
    return b - a


def _empty_tasks_per_s(client, n_tasks: int = 2000) -> float:
    from stochdepth.montecarlo import map_chunks

    map_chunks(_nothing, 0, 20, chunk_size=1, executor=client)  # warm-up
    t0 = time.perf_counter()
    map_chunks(_nothing, 0, n_tasks, chunk_size=1, executor=client)
    return n_tasks / (time.perf_counter() - t0)


def save(path: Path, result: dict) -> None:
    """Write ``result`` as JSON atomically (a partial result after each case: nothing is lost when a long
    run is interrupted)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    os.replace(tmp, path)
    print(f"[{time.strftime('%H:%M:%S')}] saved {path} (load {load()})", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10**7, help="networks sampled (default: 10^7)")
    parser.add_argument("--quick", action="store_true", help="2 * 10^5 networks")
    out_argument(parser, "bench_dask")
    args = parser.parse_args(argv)
    n = 200_000 if args.quick else args.paths
    chunks = -(-n // CHUNK)

    partial: dict = {"networks": n, "chunk_size": CHUNK, "partial": True}
    run(4 * CHUNK, "threads")  # warm-up
    load_threads = load()
    t_threads, cpu_threads, ref = timed(n, "threads")
    load_threads = [load_threads, load()]
    client_mib = rss_mib()
    partial.update(threads_2_s=t_threads, threads_cpu_s=cpu_threads, threads_load_before_after=load_threads)
    save(args.out, partial)
    t_dask, same, memory = cluster_case(2, n, ref)
    partial.update(dask_2_workers_s=t_dask, bitwise_identical=same, dask_2_workers=memory)
    save(args.out, partial)
    per_worker = n // 2
    t_one, _, mem_one = cluster_case(1, per_worker, None)
    weak = [
        {"workers": 1, "networks": per_worker, "chunks": -(-per_worker // CHUNK), "seconds": t_one},
        {"workers": 2, "networks": n, "chunks": chunks, "seconds": t_dask},
    ]
    for row, mem in zip(weak, (mem_one, memory)):
        row["tasks"] = mem["tasks"]
        row["chunks_per_task"] = mem["chunks_per_task"]
        row["tasks_per_s"] = row["tasks"] / row["seconds"]
        row["chunks_per_s"] = row["chunks"] / row["seconds"]
        row["chunks_per_cpu_s"] = row["chunks"] / mem["cpu_s"]
        row["load_before_after"] = mem["load_before_after"]
    result = {
        "networks": n,
        "width": WIDTH,
        "depth": DEPTH,
        "chunk_size": CHUNK,
        "chunks": chunks,
        "threads_2_s": t_threads,
        "dask_2_workers_s": t_dask,
        "overhead_ratio": t_dask / t_threads,
        "threads_cpu_s": cpu_threads,
        "cpu_overhead_ratio": memory["cpu_s"] / cpu_threads,
        "bitwise_identical": same,
        "client_mib": client_mib,
        **memory,
        "weak_scaling": weak,
        "weak_efficiency_2": weak[1]["chunks_per_s"] / (2 * weak[0]["chunks_per_s"]),
        "threads_load_before_after": load_threads,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
    }
    save(args.out, result)
    print(
        f"{n:.3g} networks (width {WIDTH}, depth {DEPTH}), {chunks} chunks of {CHUNK}, "
        f"{memory['tasks']} Dask tasks of up to {memory['chunks_per_task']} chunks"
    )
    print(f"  threads (2):          {t_threads:8.2f} s")
    print(
        f"  LocalCluster (2x1):   {t_dask:8.2f} s   overhead ratio {t_dask / t_threads:.3f}, "
        f"bitwise same: {same}"
    )
    print(
        f"  memory: client {client_mib:.0f} MiB, scheduler {memory['scheduler_mib']:.0f} MiB, workers "
        + ", ".join(f"{w:.0f}" for w in memory["workers_mib"])
        + " MiB"
    )
    print(
        f"  CPU seconds: threads {cpu_threads:.1f}, cluster {memory['cpu_s']:.1f} (all processes): "
        f"ratio {memory['cpu_s'] / cpu_threads:.3f}"
    )
    print("  weak scaling: workers  networks  tasks/s  chunks/s  chunks/CPU-s")
    for row in weak:
        print(
            f"                 {row['workers']:5d}  {row['networks']:8d}  {row['tasks_per_s']:7.2f}"
            f"  {row['chunks_per_s']:8.2f}  {row['chunks_per_cpu_s']:8.2f}"
        )
    print(f"  efficiency at 2 workers: {result['weak_efficiency_2']:.2f}")
    print(f"  empty tasks through the runner (2 workers): {memory['empty_tasks_per_s']:.0f} tasks/s")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
