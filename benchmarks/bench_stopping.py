"""Side-by-side speed ratios for stochdepth.stopping (run: ``python benchmarks/bench_stopping.py``).

1. Bermudan max-call, 2 assets (Andersen & Broadie 2004 setting, S0 = 100), 10^5 training and 10^5
   evaluation paths: the library's Longstaff-Schwartz lower bound (numba path kernel, monomial kernel,
   Cholesky normal equations, martingale control variates) against the same algorithm written plainly in
   numpy (``stochdepth.testing.references.longstaff_schwartz_max_call``: numpy paths, ``lstsq``). The
   reference value is the product-grid Snell envelope (``bermudan_max_call_grid``, ~13.902).
2. Banded Markov-chain backward induction: state-layer updates per second of the numba kernel against
   a plain numpy banded implementation (shifted slices) and a dense numpy matrix-vector product.
3. Longstaff-Schwartz 2001 put (S0 = 36, K = 40, r = 0.06, sigma = 0.2, T = 1, 50 dates), side by side
   with QuantLib's ``MCAmericanEngine`` (its Longstaff-Schwartz, monomials of degree 3, as many
   calibration as pricing paths): the time each needs to reach the same standard error (measured at
   ``--ls-paths`` paths and scaled by se^2, Monte Carlo cost ~ 1/se^2), the lower bound; then the dual
   (Andersen-Broadie) upper bound timed separately, nested everywhere and nested only near the exercise
   boundary (``AndersenBroadie(near_fraction=0.25, subsample=0.1)``). Skipped without QuantLib.
4. With ``--brackets``: the [lower, upper] intervals of the literature benchmarks (not timed).

Every timing is the best of ``--repeat`` runs after a warm-up call (compilation is never timed). The
machine is shared: absolute timings are noisy, ratios measured in one run less so.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from stochdepth.stopping import (
    BandedTransitions,
    LongstaffSchwartz,
    MarkovStoppingProblem,
    PerfectForesight,
    Polynomial,
    solve_stopping,
)
from stochdepth.stopping.finance import (
    GeometricBrownianMotion,
    MaxCall,
    bermudan_max_call_grid,
    bermudan_problem,
)
from stochdepth.testing import references as ref
from stochdepth.testing.generators import random_banded_rows


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    fn()  # warm-up (numba compilation, caches)
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_max_call(n_paths: int, repeat: int, seed: int) -> None:
    kw = {"rate": 0.05, "volatility": 0.2, "maturity": 3.0, "n_dates": 9, "dividend": 0.1}
    reference = bermudan_max_call_grid(100.0, 100.0, **kw).value
    gbm = GeometricBrownianMotion([100.0, 100.0], **kw)
    prob = bermudan_problem(gbm, MaxCall(100.0))
    ls = LongstaffSchwartz(
        Polynomial(3), n_paths=n_paths, n_eval=n_paths, itm_only=True, dual=PerfectForesight(n_paths=2)
    )
    t_lib, res = best_of(lambda: solve_stopping(prob, ls, rng=seed), repeat)
    t_np, (est, se) = best_of(
        lambda: ref.longstaff_schwartz_max_call(
            np.random.default_rng(seed), 100.0, 100.0, 0.05, 0.2, 0.1, 3.0, 9, 2, n_paths, n_paths
        ),
        repeat,
    )
    lo = res.lower
    print(
        f"max-call 2 assets, S0=100, {n_paths} train + {n_paths} eval paths; reference (grid) {reference:.4f}"
    )
    print(
        f"  library : {t_lib:7.3f} s  lower {lo.value:.4f} +- {lo.stderr:.4f} "
        f"(plain mean {res.lower_plain.value:.4f} +- {res.lower_plain.stderr:.4f}); "
        f"|lower - ref| / ref = {abs(lo.value - reference) / reference:.2%}"
    )
    print(
        f"  numpy   : {t_np:7.3f} s  lower {est:.4f} +- {se:.4f}; |lower - ref| / ref = "
        f"{abs(est - reference) / reference:.2%}"
    )
    print(f"  speed ratio numpy / library = {t_np / t_lib:.2f}")


def bench_banded(n_states: int, width: int, n_layers: int, repeat: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lower = width // 2
    bands = random_banded_rows(rng, n_states, width, lower)
    gains = rng.normal(size=n_states)
    costs = np.full(n_layers, 0.01)
    prob = MarkovStoppingProblem(BandedTransitions(bands, lower), gains, 0.01, horizon=n_layers)
    updates = n_states * n_layers
    t_lib, sol = best_of(lambda: solve_stopping(prob), repeat)
    t_np, (v, _) = best_of(
        lambda: ref.banded_backward_induction(bands[None], lower, gains[None], costs, 1.0, 1e-11), repeat
    )
    assert np.allclose(sol.values, v, rtol=1e-12, atol=1e-12)
    print(f"banded backward induction: S={n_states}, w={width}, L={n_layers} ({updates:.2e} updates)")
    print(f"  library (numba) : {t_lib:7.4f} s  {updates / t_lib:.3e} updates/s")
    print(f"  numpy banded    : {t_np:7.4f} s  {updates / t_np:.3e} updates/s   ratio {t_np / t_lib:.1f}")
    if n_states <= 4000:
        P = BandedTransitions(bands, lower).to_dense()[None]
        t_d, vd = best_of(lambda: ref.dense_backward_induction(P, gains[None], costs, 1.0), repeat)
        assert np.allclose(sol.values, vd, rtol=1e-10, atol=1e-10)
        print(f"  numpy dense     : {t_d:7.4f} s  {updates / t_d:.3e} updates/s   ratio {t_d / t_lib:.1f}")


def bench_ls_put(n_paths: int, repeat: int, seed: int, n_outer: int, n_inner: int) -> None:
    from stochdepth.stopping import AndersenBroadie
    from stochdepth.stopping.duals import andersen_broadie_samples
    from stochdepth.stopping.finance import Put, bermudan_put_grid

    try:
        import QuantLib as ql

        from stochdepth.testing.quantlib import american_put
    except ImportError:
        print("LS 2001 put: QuantLib not installed, skipped")
        return
    kw = {"rate": 0.06, "volatility": 0.2, "maturity": 1.0, "n_dates": 50}
    reference = bermudan_put_grid(36.0, 40.0, **kw).value
    prob = bermudan_problem(GeometricBrownianMotion(36.0, **kw), Put(40.0))
    ls = LongstaffSchwartz(Polynomial(3), n_paths=n_paths, n_eval=n_paths, dual=PerfectForesight(n_paths=2))
    t_lib, res = best_of(lambda: solve_stopping(prob, ls, rng=seed, throw=False), repeat)
    qp = american_put(36.0, 40.0, 0.06, 0.0, 0.2, 1.0)  # T = 365 days = 1.0 year exactly

    def quantlib() -> tuple[float, float]:
        engine = ql.MCAmericanEngine(
            qp.process,
            "pseudorandom",
            timeSteps=50,
            polynomOrder=3,
            polynomType=ql.LsmBasisSystem.Monomial,
            requiredSamples=n_paths,
            nCalibrationSamples=n_paths,
            seed=seed,
        )
        qp.option.setPricingEngine(engine)
        return float(qp.option.NPV()), float(qp.option.errorEstimate())

    t_ql, (v_ql, se_ql) = best_of(quantlib, repeat)
    lo = res.lower
    target = min(lo.stderr, se_ql)
    print(f"LS 2001 put, 50 dates, {n_paths} + {n_paths} paths; reference (grid) {reference:.4f}")
    print(f"  {'method':<34}{'time s':>8}{'estimate':>10}{'stderr':>9}{f'time to se {target:.4f}':>20}")
    for name, t, v, se in (
        ("library lower bound (LS)", t_lib, lo.value, lo.stderr),
        ("QuantLib MCAmericanEngine (LS)", t_ql, v_ql, se_ql),
    ):
        print(f"  {name:<34}{t:8.3f}{v:10.4f}{se:9.4f}{t * (se / target) ** 2:20.3f}")
    print(f"  ratio QuantLib / library at equal se: {t_ql * se_ql**2 / (t_lib * lo.stderr**2):.2f}")
    for dual in (
        AndersenBroadie(n_outer, n_inner),
        AndersenBroadie(n_outer, n_inner, near_fraction=0.25, subsample=0.1),
    ):
        near = math.inf
        if dual.near_fraction < 1.0:  # the threshold as AndersenBroadie sets it, from pilot paths
            from stochdepth.stopping.duals import _boundary_distance

            pilot = prob.sample(max(200, n_outer // 4), rng=seed + 1)
            d = _boundary_distance(res.policy, pilot.features, pilot.payoffs, pilot.gains)
            near = float(np.quantile(d, dual.near_fraction))
        t_d, gaps = best_of(
            lambda dual=dual, near=near: andersen_broadie_samples(
                prob, res.policy, n_outer, n_inner, rng=seed, near=near, subsample=dual.subsample
            ),
            1,
        )
        gap, se_gap = float(gaps.mean()), float(gaps.std(ddof=1) / math.sqrt(gaps.size))
        print(
            f"  dual upper ({n_outer} x {n_inner}, near_fraction={dual.near_fraction:g}, "
            f"subsample={dual.subsample:g}): {t_d:7.3f} s  gap {gap:.4f} +- {se_gap:.4f}  upper "
            f"{lo.value + gap:.4f} +- {math.hypot(lo.stderr, se_gap):.4f}"
        )


def brackets(seed: int) -> None:
    """[lower, upper] of Longstaff-Schwartz + Andersen-Broadie on the literature benchmarks (not timed)."""
    from stochdepth.stopping import AndersenBroadie
    from stochdepth.stopping.finance import Put, bermudan_put_grid

    put = GeometricBrownianMotion(36.0, rate=0.06, volatility=0.2, maturity=1.0, n_dates=50)
    ref_put = bermudan_put_grid(36.0, 40.0, rate=0.06, volatility=0.2, maturity=1.0, n_dates=50)
    ls = LongstaffSchwartz(
        Polynomial(3), n_paths=100_000, n_eval=100_000, itm_only=True, dual=AndersenBroadie(300, 500)
    )
    r = solve_stopping(bermudan_problem(put, Put(40.0)), ls, rng=seed)
    print(
        f"put S0=36 K=40, 50 dates: lower {r.lower.value:.4f} +- {r.lower.stderr:.4f}, upper "
        f"{r.upper.value:.4f} +- {r.upper.stderr:.4f}, 95% [{r.interval[0]:.4f}, {r.interval[1]:.4f}]"
        f"; grid {ref_put.value:.5f}; LS2001 4.478"
    )
    kw = {"rate": 0.05, "volatility": 0.2, "maturity": 3.0, "n_dates": 9, "dividend": 0.1}
    lit = {2: (8.08, 13.90, 21.34), 5: (16.64, 26.15, 36.78)}
    for d, values in lit.items():
        for s0, value in zip((90.0, 100.0, 110.0), values):
            gbm = GeometricBrownianMotion([s0] * d, **kw)
            ls = LongstaffSchwartz(
                Polynomial(3 if d == 2 else 2),
                n_paths=100_000,
                n_eval=100_000,
                itm_only=True,
                dual=AndersenBroadie(500, 300),
            )
            r = solve_stopping(bermudan_problem(gbm, MaxCall(100.0)), ls, rng=seed)
            grid = f"; grid {bermudan_max_call_grid(s0, 100.0, **kw).value:.4f}" if d == 2 else ""
            print(
                f"max-call d={d} S0={s0:.0f}: lower {r.lower.value:.4f} +- {r.lower.stderr:.4f}, upper "
                f"{r.upper.value:.4f} +- {r.upper.stderr:.4f}, 95% [{r.interval[0]:.3f}, {r.interval[1]:.3f}]"
                f"; literature {value}{grid}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=100_000, help="Monte Carlo paths per solver")
    ap.add_argument("--repeat", type=int, default=3, help="timed repeats per case (best is kept)")
    ap.add_argument("--seed", type=int, default=2024, help="seed of the simulated paths and problems")
    ap.add_argument("--brackets", action="store_true", help="also print the benchmark brackets (slow)")
    ap.add_argument("--ls-paths", type=int, default=50_000, help="paths of the LS 2001 put comparison")
    ap.add_argument("--dual", type=int, nargs=2, default=(300, 500), help="Andersen-Broadie outer, inner")
    args = ap.parse_args()
    bench_max_call(args.paths, args.repeat, args.seed)
    bench_ls_put(args.ls_paths, args.repeat, args.seed, *args.dual)
    for n, w, L in ((2_000, 7, 1_000), (10_000, 7, 500), (10_000, 61, 100)):
        bench_banded(n, w, L, args.repeat, args.seed)
    if args.brackets:
        brackets(args.seed)


if __name__ == "__main__":
    main()
