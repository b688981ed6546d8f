"""Benchmark of stochdepth.nn: random ResNets with explicit torch weights against the other samplers.

Usage::

    python benchmarks/bench_nn.py [--quick] [--threads N] [--out PATH]

One configuration (ReLU, width n = 64, depth L = 64, k = 4 inputs, states recorded at layers 0 and L,
squared norms observed), timed side by side in one run with the same thread count (warm-up first, so
numba compilation and torch start-up are never timed; best of a few repeats):

* ``ExactLaw`` (numba, Gram factors: O(L (n k^2 + k^3)) per network -- the fast path for laws);
* ``ExplicitWeights`` (numpy reference with explicit weight matrices);
* ``TorchExplicitWeights`` on the CPU in float64 and float32, and on CUDA when available;
* the floor of every explicit-weight sampler: drawing its L n^2 standard normals per network with torch
  on the same device and dtype (nothing else), so ``sampler / floor`` says how close the torch kernel is
  to its random-number cost.

Ratios are what to read; absolute times depend on the machine and its load (recorded in the JSON).
"""

from __future__ import annotations

import numpy as np
import torch
from timing import best_time, threaded_arguments, write_threaded_report

from stochdepth.networks import ExactLaw, ExplicitWeights, sample_network, squared_norms
from stochdepth.nn import sample_torch_network

WIDTH, DEPTH, K = 64, 64, 4


def rng_floor(n_paths: int, device: str, dtype: torch.dtype, chunk: int) -> None:
    """Draw the L n^2 normals per network that an explicit-weight sampler needs (chunk by chunk)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(0)
    buf = torch.empty((min(chunk, n_paths), WIDTH, WIDTH), dtype=dtype, device=device)
    for start in range(0, n_paths, chunk):
        b = min(chunk, n_paths - start)
        for _ in range(DEPTH):
            buf[:b].normal_(generator=gen)
    if device == "cuda":
        torch.cuda.synchronize()


def main(argv=None) -> int:
    args = threaded_arguments("bench_nn", __doc__, "threads (numba/numpy chunks, torch intra-op)", argv)
    torch.set_num_threads(args.threads)
    n_cpu, n_gpu, repeats = (256, 8192, 2) if args.quick else (1024, 65536, 3)
    x = np.random.default_rng(0).standard_normal((8, K))
    kw = dict(record=[0, DEPTH], observe=squared_norms(), rng=1)

    def numpy_case(sampler):
        return lambda n: sample_network(
            x, WIDTH, DEPTH, "relu", n_paths=n, sampler=sampler, n_threads=args.threads, **kw
        )

    def torch_case(device, dtype):
        def fn(n):
            res = sample_torch_network(x, WIDTH, DEPTH, "relu", n_paths=n, device=device, dtype=dtype, **kw)
            if device == "cuda":
                torch.cuda.synchronize()
            return res

        return fn

    cases = [
        ("exact_law (numba)", numpy_case(ExactLaw()), "cpu", None, n_cpu),
        ("explicit_weights (numpy)", numpy_case(ExplicitWeights()), "cpu", None, n_cpu),
        ("torch cpu float64", torch_case("cpu", torch.float64), "cpu", torch.float64, n_cpu),
        ("torch cpu float32", torch_case("cpu", torch.float32), "cpu", torch.float32, n_cpu),
    ]
    if torch.cuda.is_available():
        cases += [
            ("torch cuda float64", torch_case("cuda", torch.float64), "cuda", torch.float64, n_gpu),
            ("torch cuda float32", torch_case("cuda", torch.float32), "cuda", torch.float32, n_gpu),
        ]

    rows = []
    for label, fn, device, dtype, n in cases:
        chunk = fn(min(n, 64)).chunk_size  # warm-up (numba compilation, torch start-up, CUDA context)
        chunk = fn(n).chunk_size
        t = best_time(lambda fn=fn, n=n: fn(n), repeats)
        row = {"sampler": label, "device": device, "n_paths": n, "seconds": t, "networks_per_s": n / t}
        if dtype is not None:
            floor = best_time(lambda d=device, dt=dtype, c=chunk, n=n: rng_floor(n, d, dt, c), repeats)
            row["rng_floor_seconds"] = floor
            row["ratio_to_rng_floor"] = t / floor
        rows.append(row)

    cpu = {r["sampler"]: r for r in rows if r["device"] == "cpu"}
    base = cpu["explicit_weights (numpy)"]["seconds"] / cpu["explicit_weights (numpy)"]["n_paths"]
    print(f"stochdepth.nn benchmark ({'quick' if args.quick else 'full'}, threads={args.threads}), "
          f"relu n={WIDTH} L={DEPTH} k={K}")  # fmt: skip
    print(f"{'sampler':<26}{'networks':>9}{'s':>9}{'net/s':>11}{'vs numpy explicit':>19}{'vs RNG floor':>14}")
    for r in rows:
        speedup = base / (r["seconds"] / r["n_paths"])
        r["speedup_vs_numpy_explicit"] = speedup
        floor = f"{r['ratio_to_rng_floor']:.2f}x" if "ratio_to_rng_floor" in r else "-"
        print(
            f"{r['sampler']:<26}{r['n_paths']:>9}{r['seconds']:>9.3f}{r['networks_per_s']:>11.0f}"
            f"{speedup:>18.2f}x{floor:>14}"
        )

    cuda = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    write_threaded_report(
        "bench_nn",
        args,
        {"torch": torch.__version__, "cuda": cuda},
        config={"activation": "relu", "width": WIDTH, "depth": DEPTH, "n_inputs": K},
        rows=rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
