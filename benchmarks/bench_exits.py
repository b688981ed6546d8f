"""Exit policies fitted and evaluated on 10^4 samples x 16 exits (``python benchmarks/bench_exits.py``).

Workload: a synthetic trace (``stochdepth.testing.exit_traces.markov_exit_trace``: a hidden 4-state chain
over 16 exits, 10 classes, Gaussian noise of s.d. 0.5 on every logit so that the features are continuous
as a real network's) of ``2 N`` samples, split into a calibration and a test half of ``N`` (default
10^4) samples each; the default features (confidence, entropy, margin) at cost 0.01 per layer.

For every policy, side by side in one run (a warm-up call first, so numba compilation is never timed;
best of ``--repeat``):

* ``fit``: ``policy.fit(calibration)`` (thresholds and patience chosen on the calibration split, the
  regressions of look-ahead and Bellman, the Learn-then-Test sequence) against the issue's target of one
  second: the ratio ``fit / 1 s``;
* ``evaluate``: ``policy.evaluate(test)`` against a floor, one vectorised first-crossing of a threshold
  on the same ``N x 16`` array (``numpy.argmax`` over exits): the ratio ``evaluate / floor``;
* the Bellman policy's bounds on the test split (lower, approximate dual, oracle).

The cross-validated Bellman policy of the trained-networks campaign is timed too: it fits each of its
three candidate regressions on five folds and refits the winner (sixteen Bellman fits), and is held to
the same one-second target as any other policy's fit.

The machine is shared: absolute times move with its load (printed); read the ratios.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from timing import NOTE, best_time, machine, out_argument, write_report

from stochdepth.depth import (
    BellmanExit,
    ConfidenceExit,
    CrossValidatedExit,
    EntropyExit,
    ExitProblem,
    FreeBoundaryExit,
    LookAheadExit,
    OracleExit,
    PatienceExit,
    RiskControlledExit,
)
from stochdepth.stopping import Polynomial
from stochdepth.testing.exit_traces import markov_exit_trace

P = np.array([[0.8, 0.15, 0.05, 0.0], [0.0, 0.8, 0.15, 0.05], [0.0, 0.0, 0.85, 0.15], [0.0, 0.0, 0.0, 1.0]])
INIT, ACC, MARGINS = [0.5, 0.3, 0.2, 0.0], [0.2, 0.5, 0.8, 0.97], [0.5, 1.5, 3.0, 5.0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=10_000, help="samples per split (default 10^4)")
    parser.add_argument("--exits", type=int, default=16, help="exits per trace (default 16)")
    parser.add_argument("--repeat", type=int, default=3, help="timing repeats; the best is kept")
    out_argument(parser, "bench_exits")
    args = parser.parse_args(argv)
    n, L = args.samples, args.exits
    trace, _ = markov_exit_trace(0, 2 * n, P, INIT, ACC, MARGINS, L, n_classes=10, logit_noise=0.5)
    prob = ExitProblem.from_trace(trace, cost=0.01)
    cal, test = prob.subset(np.arange(n)), prob.subset(np.arange(n, 2 * n))
    conf = test.confidence
    floor = best_time(lambda: np.argmax(conf >= 0.9, axis=1), max(args.repeat, 5))
    print(
        f"{n} calibration + {n} test samples x {L} exits, {cal.features.shape[2]} features; "
        f"load average {os.getloadavg()}"
    )
    print(f"floor (one first-crossing over {n} x {L}): {floor * 1e3:.3f} ms")
    print(f"{'policy':<34}{'fit [s]':>10}{'fit/1s':>9}{'eval [ms]':>12}{'eval/floor':>12}{'reward':>9}")
    rows = {}
    policies = [
        ConfidenceExit(),
        EntropyExit(),
        PatienceExit(),
        LookAheadExit(),
        BellmanExit(),
        # the trained-networks campaign's Bellman policy: its regression chosen by 5-fold cross-validation
        CrossValidatedExit(
            [BellmanExit(), BellmanExit(Polynomial(1)), BellmanExit(Polynomial(3), features=("confidence",))]
        ),
        OracleExit(),
        RiskControlledExit(0.02, 0.1),
        FreeBoundaryExit(),
    ]
    for pol in policies:
        pol.fit(cal, rng=1).evaluate(test)  # warm-up (numba compilation of the bases)
        fit = best_time(lambda pol=pol: pol.fit(cal, rng=1), args.repeat)
        ev = best_time(lambda pol=pol: pol.evaluate(test), args.repeat)
        reward = pol.evaluate(test).reward.value
        rows[pol.name] = {
            "fit_s": fit,
            "fit_over_1s": fit,
            "evaluate_s": ev,
            "evaluate_over_floor": ev / floor,
            "reward": reward,
        }
        print(f"{pol.label:<34}{fit:>10.3f}{fit:>9.2f}{ev * 1e3:>12.2f}{ev / floor:>12.1f}{reward:>9.4f}")
    bell = BellmanExit().fit(cal, rng=1)
    t_bounds = best_time(lambda: bell.bounds(test, rng=2), args.repeat)
    b = bell.bounds(test, rng=2)
    print(
        f"Bellman bounds on the test split: {t_bounds:.3f} s; lower {b.lower.value:.4f}, dual "
        f"{b.upper_dual.value:.4f} (approximate), oracle {b.upper_oracle.value:.4f}"
    )
    write_report(
        args.out,
        {
            "benchmark": "exits",
            "samples": n,
            "exits": L,
            "floor_s": floor,
            "policies": rows,
            "bellman_bounds_s": t_bounds,
            "machine": machine(numpy=np.__version__),
            "note": NOTE,
        },
    )


if __name__ == "__main__":
    main()
