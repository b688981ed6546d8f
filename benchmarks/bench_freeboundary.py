"""American put to 1e-4: stochdepth.freeboundary against QuantLib's FdBlackScholesVanillaEngine.

Run: ``python benchmarks/bench_freeboundary.py [--quick]``.

For each engine a family of grids is scanned; the reported time is the fastest configuration whose price
is within 1e-4 of QuantLib's high-precision QdFpAmericanEngine (Andersen, Lake & Offengenden fixed-point
method, ~1e-10), and whose refinements in space and in time (one doubling each) are within 1e-4 too: no
configuration wins by a lucky cancellation of space and time errors. Both engines run in the same
process, side by side; each timing is the best of several repetitions (the numba kernels are compiled by
a warm-up call first, never timed). The script also prints the fitted convergence orders (price error
against grid size, space and time refined together).
"""

from __future__ import annotations

import argparse
import itertools
import math
import time

import numpy as np
import QuantLib as ql

from stochdepth.freeboundary import (
    BrennanSchwartz,
    CrankNicolson,
    Implicit,
    PrimalDualActiveSet,
    american_put_problem,
    solve_obstacle,
)
from stochdepth.testing.quantlib import american_put

TARGET = 1e-4
CASES = [
    # spot, strike, rate, dividend, volatility, maturity
    (100.0, 100.0, 0.05, 0.00, 0.20, 1.0),
    (90.0, 100.0, 0.03, 0.01, 0.30, 0.5),
]


def best_time(fn, min_total=0.2, max_reps=50):
    """Best wall time of repeated calls (at least one, until ~min_total seconds are spent)."""
    times, spent = [], 0.0
    while len(times) < max_reps and (not times or spent < min_total):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        spent += dt
    return min(times), out


def ours(case, tau, n_nodes, n_steps, scheme=CrankNicolson, lcp=None):
    spot, strike, rate, dividend, vol, _ = case
    lcp = BrennanSchwartz(side="lower") if lcp is None else lcp

    def run():
        problem = american_put_problem(strike, rate, vol, tau, dividend=dividend, n_nodes=n_nodes)
        return solve_obstacle(problem, scheme=scheme(n_steps=n_steps), lcp=lcp).value_at(0.0, math.log(spot))

    return run


def quantlib_fd(process, option, t_grid, x_grid, damping, scheme):
    def run():
        option.setPricingEngine(
            ql.FdBlackScholesVanillaEngine(
                process, t_grid, x_grid, damping, getattr(ql.FdmSchemeDesc, scheme)()
            )
        )
        return option.NPV()

    return run


def scan(label, configs, make, ref, finer):
    """Fastest configuration reaching the target robustly; returns (time, config, error) or None.

    A configuration counts only if its refinements ``finer(config)`` (one step finer in each direction)
    reach the target too, so that no configuration wins by a lucky cancellation of space and time errors.
    """
    cache: dict = {}

    def error(cfg):
        if cfg not in cache:
            cache[cfg] = make(*cfg)() - ref  # untimed call: error check (and warm-up)
        return cache[cfg]

    best = None
    for cfg in configs:
        if abs(error(cfg)) >= TARGET or any(abs(error(f)) >= TARGET for f in finer(cfg)):
            continue
        t, _ = best_time(make(*cfg))
        if best is None or t < best[0]:
            best = (t, cfg, error(cfg))
    if best is None:
        print(f"  {label}: no configuration reached {TARGET:g}")
    else:
        print(f"  {label}: {best[0] * 1e3:9.3f} ms  config={best[1]}  error={best[2]:+.2e}")
    return best


def fitted_order(sizes, errors):
    return -np.polyfit(np.log(sizes), np.log(np.abs(errors)), 1)[0]


def run_case(case: tuple[float, ...], quick: bool) -> None:
    put = american_put(*case)
    process, option, ref, tau = put.process, put.option, put.price, put.tau
    print(f"put S={case[0]} K={case[1]} r={case[2]} q={case[3]} sigma={case[4]} T={tau:.6f}: ref {ref:.10f}")
    ours(case, tau, 101, 10)()  # compile the kernels
    ours_cfgs = sorted(itertools.product([201, 301, 401, 601, 801, 1201], [25, 50, 100, 200]), key=math.prod)
    mine = scan(
        "stochdepth CN+Rannacher, graded steps, Brennan-Schwartz (n_nodes, n_steps)",
        ours_cfgs,
        lambda n, m: ours(case, tau, n, m),
        ref,
        lambda c: [(c[0], 2 * c[1]), (2 * c[0] - 1, c[1])],
    )
    scan(
        "stochdepth CN, active set (same grids)",
        ours_cfgs,
        lambda n, m: ours(case, tau, n, m, lcp=PrimalDualActiveSet()),
        ref,
        lambda c: [(c[0], 2 * c[1]), (2 * c[0] - 1, c[1])],
    )
    # QuantLib applies the American condition explicitly after each step: its error falls like 1/tGrid,
    # so 1e-4 needs ~1e4 time steps (measured: tGrid 6400 stays above 1e-4 at xGrid 800)
    xs = [800, 1600] if quick else [400, 800, 1600, 3200]
    ts = [12800] if quick else [3200, 6400, 12800, 25600]
    schemes = ("Douglas",) if quick else ("Douglas", "CrankNicolson", "TrBDF2")
    ql_cfgs = sorted(((t, x, 2, sc) for sc in schemes for x in xs for t in ts), key=lambda c: c[0] * c[1])
    theirs = scan(
        "QuantLib FdBlackScholesVanillaEngine (tGrid, xGrid, damping, scheme)",
        ql_cfgs,
        lambda t, x, d, sc: quantlib_fd(process, option, t, x, d, sc),
        ref,
        lambda c: [(2 * c[0], c[1], c[2], c[3]), (c[0], 2 * c[1], c[2], c[3])],
    )
    if mine and theirs:
        print(f"  => ratio QuantLib / stochdepth time at {TARGET:g}: {theirs[0] / mine[0]:.0f}x")
    # convergence orders (space and time refined together)
    sizes = np.array([101, 201, 401, 801, 1601])
    for name, sch in (("CN graded", CrankNicolson), ("implicit", Implicit)):
        errs = [ours(case, tau, int(n), int(n) // 4, sch)() - ref for n in sizes]
        print(f"  fitted order, {name:9s} (N nodes, N/4 steps): {fitted_order(sizes, errs):.2f}")
    ql_sizes = np.array([200, 400, 800, 1600])
    ql_errs = [quantlib_fd(process, option, int(n) // 2, int(n), 0, "Douglas")() - ref for n in ql_sizes]
    print(f"  fitted order, QuantLib Douglas (xGrid N, tGrid N/2): {fitted_order(ql_sizes, ql_errs):.2f}\n")


def main(quick: bool) -> None:
    print(
        f"QuantLib {ql.__version__}; target |error| < {TARGET:g} against QdFpAmericanEngine (high precision)"
    )
    print(
        "timings are wall-clock on a shared machine (noisy); ratios are measured side by side in this run\n"
    )
    for case in CASES[:1] if quick else CASES:
        run_case(case, quick)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one case, fewer QuantLib grids")
    main(parser.parse_args().quick)
