"""Benchmark of stochdepth.networks: exact-in-law sampling against explicit weight matrices.

Usage::

    python benchmarks/bench_networks.py [--quick] [--threads N] [--out PATH]

Cases, each timed side by side in one run (same networks, same recorded layers, same observable,
same thread count; a warm-up call first, so numba compilation is never timed; best of a few repeats):

1. k-input sampler: ``ExactLaw`` vs ``ExplicitWeights`` at width n = 256, depth L = 256, k = 4 inputs,
   ReLU (target: exact >= 30x faster). Costs: O(L (n k^2 + k^3)) vs O(L n^2 k) flops plus
   L n k vs L n^2 normals per network, so the expected ratio is of order n / k = 64.
2. the same with one input (k = 1, the specialised kernel, n / k = 256).
3. linear network, log-norm ratio at layer L: the exact log-norm walk (two random numbers per layer) vs
   the full linear network sampled with ``ExactLaw`` and with ``ExplicitWeights``.

Ratios are what to read; absolute times depend on the machine and its load (the load average is
recorded in the JSON written to benchmarks/results/).
"""

from __future__ import annotations

import numba
import numpy as np
from timing import best_time, threaded_arguments, write_threaded_report

from stochdepth.networks import (
    ExactLaw,
    ExplicitWeights,
    log_norms,
    sample_linear_log_norm,
    sample_network,
    squared_norms,
)


def time_both_samplers(run, repeats: int) -> tuple[float, float]:
    """Best times of ``run(ExactLaw())`` and ``run(ExplicitWeights())`` (the slower with half the repeats)."""
    return best_time(lambda: run(ExactLaw()), repeats), best_time(
        lambda: run(ExplicitWeights()), max(1, repeats // 2)
    )


def bench_samplers(width, depth, k, n_paths, threads, repeats):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, k)) if k > 1 else rng.standard_normal(8)
    kw = dict(n_paths=n_paths, record=[0, depth // 2, depth], observe=squared_norms(), n_threads=threads)

    def run(sampler, n=n_paths):
        return sample_network(x, width, depth, "relu", **{**kw, "n_paths": n}, sampler=sampler, rng=1)

    run(ExactLaw(), 2)  # warm-up (compilation, caches)
    run(ExplicitWeights(), 1)
    t_exact, t_explicit = time_both_samplers(run, repeats)
    return {
        "case": f"relu n={width} L={depth} k={k}",
        "n_paths": n_paths,
        "exact_law_s": t_exact,
        "explicit_weights_s": t_explicit,
        "ratio": t_explicit / t_exact,
    }


def bench_walk(width, depth, n_paths, threads, repeats):
    x = np.ones(8)

    def walk():
        return sample_linear_log_norm(width, depth, n_paths=n_paths, n_threads=threads, rng=1)

    def net(sampler):
        return sample_network(
            x, width, depth, "linear", n_paths=n_paths, sampler=sampler, observe=log_norms(),
            n_threads=threads, rng=1,
        )  # fmt: skip

    sample_linear_log_norm(width, depth, n_paths=2, rng=0)  # warm-up
    sample_network(x, width, depth, "linear", n_paths=2, observe=log_norms(), rng=0)
    t_walk = best_time(walk, repeats)
    t_exact, t_explicit = time_both_samplers(net, repeats)
    return {
        "case": f"linear log-norm n={width} L={depth}",
        "n_paths": n_paths,
        "walk_s": t_walk,
        "exact_law_s": t_exact,
        "explicit_weights_s": t_explicit,
        "ratio_exact_over_walk": t_exact / t_walk,
        "ratio_explicit_over_walk": t_explicit / t_walk,
    }


def main(argv=None) -> int:
    args = threaded_arguments("bench_networks", __doc__, "threads for every sampler (default 1)", argv)
    n_nets, n_walk, repeats = (8, 8, 2) if args.quick else (32, 32, 3)

    rows = [
        bench_samplers(256, 256, 4, n_nets, args.threads, repeats),
        bench_samplers(256, 256, 1, n_nets, args.threads, repeats),
    ]
    walk = bench_walk(256, 256, n_walk, args.threads, repeats)

    print(f"stochdepth.networks benchmark ({'quick' if args.quick else 'full'}, threads={args.threads})")
    print(f"{'case':<28}{'networks':>9}{'exact [s]':>12}{'explicit [s]':>14}{'explicit/exact':>16}")
    for r in rows:
        print(
            f"{r['case']:<28}{r['n_paths']:>9}{r['exact_law_s']:>12.4f}{r['explicit_weights_s']:>14.4f}"
            f"{r['ratio']:>15.1f}x"
        )
    print(
        f"\n{'case':<34}{'paths':>7}{'walk [s]':>11}{'exact [s]':>11}{'explicit [s]':>14}"
        f"{'exact/walk':>12}{'explicit/walk':>15}"
    )
    print(
        f"{walk['case']:<34}{walk['n_paths']:>7}{walk['walk_s']:>11.5f}{walk['exact_law_s']:>11.4f}"
        f"{walk['explicit_weights_s']:>14.4f}{walk['ratio_exact_over_walk']:>11.1f}x"
        f"{walk['ratio_explicit_over_walk']:>14.1f}x"
    )

    write_threaded_report(
        "bench_networks",
        args,
        {"numpy": np.__version__, "numba": numba.__version__},
        samplers=rows,
        log_norm_walk=walk,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
