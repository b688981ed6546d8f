"""Benchmark of the permutation two-sample tests of stochdepth.stats.

    python benchmarks/bench_stats.py [--quick] [--repeats R]

Two standard-normal samples of n = m (200 and 2000 per sample), B = 9999 relabellings. Measured side by
side in one run (warm-up call first: numba compilation is never timed; each timing the minimum of
``--repeats`` runs), single thread (``n_threads=1``) so that the comparison is per core:

(a) stochdepth (numba: one label shuffle + one O(N) pass per relabelling) against a vectorised numpy
    implementation of the same test (``Generator.permuted`` on a (chunk, N) label matrix, cumulative
    sums, same statistic): does numba pay for the permutation loop?
(b) stochdepth against scipy: ``anderson_ksamp(..., method=PermutationMethod(n_resamples))`` and
    ``permutation_test`` with ``cramervonmises_2samp``'s statistic (both run fewer relabellings and are
    scaled linearly per relabelling, a scaling that favours scipy since its fixed costs are spread).

Prints a table of seconds and ratios, and writes JSON to ``benchmarks/results/bench_stats[_quick].json``.
Timings on a shared machine are noisy: compare the ratios, which are taken within one run.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

from stochdepth.stats import AndersonDarling, CramerVonMises, two_sample_test

RESULTS = Path(__file__).resolve().parent / "results"
B = 9999


def best_of(repeats: int, fn, *args, **kwargs) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - t)
    return min(times)


def permutation_p_value(statistic, labels: np.ndarray, n_perm: int, seed: int, chunk: int) -> float:
    """Permutation p-value of ``statistic`` (large is extreme), relabelling ``chunk`` samples at a time."""
    observed = statistic(labels)
    gen = np.random.default_rng(seed)
    count = 0
    done = 0
    while done < n_perm:
        k = min(chunk, n_perm - done)
        perm = gen.permuted(np.broadcast_to(labels, (k, labels.size)), axis=1)
        count += int(np.count_nonzero(statistic(perm) >= observed * (1 - 1e-12)))
        done += k
    return (count + 1) / (n_perm + 1)


def numpy_cvm_permutation(x: np.ndarray, y: np.ndarray, n_perm: int, seed: int, chunk: int = 512) -> float:
    """Vectorised numpy permutation p-value of Anderson's U (no ties): ranks are positions 1..N in the
    sorted pooled sample; for a label row, sum over x-positions of (rank - running count)^2."""
    n, m = x.size, y.size
    z = np.concatenate([x, y])
    order = np.argsort(z)
    labels = (order < n).astype(np.int8)
    ranks = np.arange(1, n + m + 1, dtype=float)

    def u_of(lab: np.ndarray) -> np.ndarray:
        cx = np.cumsum(lab, axis=-1)
        cy = np.arange(1, n + m + 1) - cx
        dx = np.where(lab == 1, ranks - cx, 0.0)
        dy = np.where(lab == 0, ranks - cy, 0.0)
        return n * np.sum(dx * dx, axis=-1) + m * np.sum(dy * dy, axis=-1)

    return permutation_p_value(u_of, labels, n_perm, seed, chunk)


def numpy_ad_permutation(x: np.ndarray, y: np.ndarray, n_perm: int, seed: int, chunk: int = 512) -> float:
    """Vectorised numpy permutation p-value of the two-sample Anderson-Darling sum (no ties, mid-rank
    form): M_j = (# x before position j) + label_j / 2, weights 1 / (a b + (a + b) / 4)."""
    n, m = x.size, y.size
    big_n = n + m
    z = np.concatenate([x, y])
    order = np.argsort(z)
    labels = (order < n).astype(np.int8)
    before = np.arange(big_n, dtype=float)
    after = big_n - 1 - before
    bj = before + 0.5
    w = 1.0 / (before * after + (before + after) / 4.0)

    def s_of(lab: np.ndarray) -> np.ndarray:
        mj = np.cumsum(lab, axis=-1) - 0.5 * lab
        d = big_n * mj - bj * n
        return np.sum(w * d * d, axis=-1)

    return permutation_p_value(s_of, labels, n_perm, seed, chunk)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer scipy relabellings")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per case (best is kept)")
    args = parser.parse_args()
    sizes = [200] if args.quick else [200, 2000]
    scipy_b = 199 if args.quick else 999
    gen = np.random.default_rng(0)
    rows = []
    for n in sizes:
        x, y = gen.normal(size=n), gen.normal(0.1, 1.0, size=n)
        for name, method, numpy_fn, scipy_fn in [
            (
                "CvM",
                CramerVonMises(n_permutations=B),
                numpy_cvm_permutation,
                lambda x, y, b: stats.permutation_test(
                    (x, y),
                    lambda u, v: stats.cramervonmises_2samp(u, v).statistic,
                    n_resamples=b,
                    alternative="greater",
                    rng=1,
                ),
            ),
            (
                "AD",
                AndersonDarling(n_permutations=B),
                numpy_ad_permutation,
                lambda x, y, b: stats.anderson_ksamp(
                    [x, y], variant="midrank", method=stats.PermutationMethod(n_resamples=b, rng=1)
                ),
            ),
        ]:
            two_sample_test(x, y, method=method, rng=1, n_threads=1)  # warm-up (numba compilation)
            t_ours = best_of(args.repeats, two_sample_test, x, y, method=method, rng=1, n_threads=1)
            t_threads = best_of(args.repeats, two_sample_test, x, y, method=method, rng=1)
            t_numpy = best_of(args.repeats, numpy_fn, x, y, B, 1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_scipy = best_of(1, scipy_fn, x, y, scipy_b) * (B / scipy_b)
            p_ours = two_sample_test(x, y, method=method, rng=1).pvalue
            p_numpy = numpy_fn(x, y, B, 1)
            rows.append(
                {
                    "test": name,
                    "n": n,
                    "B": B,
                    "stochdepth_1thread_s": t_ours,
                    "stochdepth_all_threads_s": t_threads,
                    "numpy_vectorised_s": t_numpy,
                    "scipy_scaled_s": t_scipy,
                    "numpy_over_stochdepth": t_numpy / t_ours,
                    "scipy_over_stochdepth": t_scipy / t_ours,
                    "pvalue_stochdepth": p_ours,
                    "pvalue_numpy": p_numpy,
                }
            )
    header = f"{'test':<5}{'n':>6}{'ours 1thr':>11}{'ours all':>10}{'numpy':>10}{'scipy*':>10}{'np/ours':>9}"
    header += f"{'sp/ours':>9}"
    print(header)
    for r in rows:
        print(
            f"{r['test']:<5}{r['n']:>6}{r['stochdepth_1thread_s']:>11.4f}{r['stochdepth_all_threads_s']:>10.4f}"
            f"{r['numpy_vectorised_s']:>10.4f}{r['scipy_scaled_s']:>10.3f}{r['numpy_over_stochdepth']:>9.1f}"
            f"{r['scipy_over_stochdepth']:>9.0f}"
        )
    print("(scipy* scaled linearly from fewer relabellings; p-values of ours and numpy differ by Monte Carlo")
    print(" error only: different random streams)")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("bench_stats_quick.json" if args.quick else "bench_stats.json")
    meta = {"machine": platform.platform(), "python": platform.python_version(), "repeats": args.repeats}
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
