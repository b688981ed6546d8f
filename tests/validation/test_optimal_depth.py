"""The "optimal depth" validation campaign (the package validation/optimal_depth/).

What is tested: the campaign is registered and its experiments and task list are well formed in both
profiles; every experiment has a frozen size table per profile; the pieces the campaign builds itself --
the jittered lattice CDF behind its exact one-sample tests, the network depth sampler and the closed-form
constants of B6 -- against independent derivations (the library's linear-network simulator is tested in
tests/depth); and cheap tasks end to end at a tiny size (each experiment's quick size table replaced),
writing their checks, tables, cached sub-results and figures. At tiny sizes the statistical and convergence
checks have little power, so only their presence and form are asserted, except for the deterministic ones
(exact identities that hold at any size). The whole campaign is run by
``python -m validation --only depth``, not here.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from task_testing import check_campaign_task_list, run_task_end_to_end

from validation import optimal_depth as od
from validation.experiment import campaign_tasks
from validation.optimal_depth import b2_bounds, b5_noiseless, b6_bridge, benchmarks, osla
from validation.optimal_depth.b6_solvers import jittered_cdf
from validation.optimal_depth.problems import B6, b6_constants, inverse_gaussian

TASK_IDS = ["depth.b2-bounds", "depth.b6-bridge", "depth.b5-noiseless", "depth.osla", "depth.benchmarks"]
MODULES = [b2_bounds, b6_bridge, b5_noiseless, osla, benchmarks]

# Sizes small enough for the test suite (each task runs in seconds, compilation aside).
TINY = {
    b2_bounds: b2_bounds.Sizes(families=12, violating=12, chains=8),
    b6_bridge: b6_bridge.Sizes(
        depths=(8, 16, 32),
        law_max_depth=32,
        pde_nodes=(101, 201, 401, 801),  # a fitted order needs a refinement sequence
        cdf_steps=(100, 200),
        reg_depth=4,
        reg_t1=3.0,
        reg_starts=(0.0,),
        reg_paths=2000,
        reg_inner=10,
        reg_dual_paths=200,
        width_paths=1000,
        law_depth=16,
        law_networks=2000,
    ),
    b5_noiseless: b5_noiseless.Sizes(
        nodes=(51, 101, 201), horizon_nodes=(51, 101), draws=20, limit_depths=(100, 1000)
    ),
    osla: osla.Sizes(monotone=12, random=12, depth=8, t1=3.0, paths=2000),
    benchmarks: benchmarks.Sizes(
        put_paths=2000,
        put_dual=(20, 20),
        maxcall_paths=2000,
        maxcall_dual=(20, 20),
        tree_steps=(5,),
        pde_nodes=(51, 101, 201),
    ),
}
# Monte Carlo counts: the full profile never uses fewer than the quick one.
COUNTS = ("families", "violating", "chains", "paths", "networks", "draws", "monotone", "random")


def _tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    for module, sizes in TINY.items():
        monkeypatch.setitem(module.SIZES, "quick", sizes)


def test_registered_and_task_list_well_formed():
    check_campaign_task_list(od, "optimal_depth", TASK_IDS, "depth.")
    assert [e.module for e in od.EXPERIMENTS] == [m.__name__ for m in MODULES]


def test_size_tables_are_frozen_per_profile_and_tiny_covers_them():
    for module, experiment in zip(MODULES, od.EXPERIMENTS, strict=True):
        assert set(module.SIZES) == {"quick", "full"} and experiment.sizes is module.SIZES
        quick, full = module.SIZES["quick"], module.SIZES["full"]
        assert type(quick) is type(full) is type(TINY[module]) is module.Sizes
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(quick, dataclasses.fields(quick)[0].name, None)
        for f in dataclasses.fields(quick):
            q = getattr(quick, f.name)
            if isinstance(q, int) and f.name.endswith(COUNTS):
                assert getattr(full, f.name) >= q, (module.__name__, f.name)


def test_b6_constants_match_the_closed_form():
    """m = 1/2 - 1/n, y* = a - c/(2m), E tau* = (y* - y0)/m, V(y0) = g(y*) - (c/m)(y* - y0)
    (docs/science.md §B6),
    against the library's closed form; and the IG parametrisation has the stated mean and variance
    mean^3/shape."""
    from stochdepth.depth import linear_resnet_optimal_depth

    k = b6_constants()
    cf = linear_resnet_optimal_depth(B6["width"], B6["target"], B6["cost"])
    assert k["ystar"] == pytest.approx(cf.boundary, abs=1e-15)
    assert k["mean"] == pytest.approx(cf.expected_depth(B6["y0"]), rel=1e-14)
    assert k["value"] == pytest.approx(cf.value(B6["y0"]), abs=1e-15)
    ig = inverse_gaussian(k["mean"], k["shape"])
    assert ig.mean() == pytest.approx(k["mean"], rel=1e-12)
    assert ig.var() == pytest.approx(k["mean"] ** 3 / k["shape"], rel=1e-12)
    assert math.isnan(b6_constants(2)["ystar"])  # no upward drift: no threshold


def test_jittered_cdf_is_the_law_of_tau_minus_uniform(seed):
    """G(x) = P(tau - U <= x): at the integers it equals P(tau <= x) and it is linear in between
    (derivation in the docstring); a sample of tau - U passes the exact one-sample KS test against G
    (p > 1e-6 has probability 1 - 1e-6 under the null, for any seed)."""
    from stochdepth.stats import one_sample_test

    pmf = np.array([0.1, 0.0, 0.35, 0.25, 0.2, 0.1])
    G = jittered_cdf(pmf)
    np.testing.assert_allclose(G(np.arange(6.0)), np.cumsum(pmf), atol=1e-15)
    assert (
        G(-1.0) == 0.0 and G(-5.0) == 0.0 and G(6.0) == pytest.approx(1.0) and G(100.0) == pytest.approx(1.0)
    )
    # on [j - 1, j): G = P(tau <= j - 1) + p_j (x - j + 1)
    assert G(1.5) == pytest.approx(0.1 + 0.5 * 0.35) and G(2.25) == pytest.approx(0.45 + 0.25 * 0.25)
    xs = np.linspace(-1.5, 7.0, 2001)
    assert np.all(np.diff(G(xs)) >= 0)
    gen = np.random.default_rng(seed)
    tau = gen.choice(pmf.size, size=20_000, p=pmf)
    assert one_sample_test(tau - gen.random(tau.size), G).pvalue > 1e-6


def _run(task_id, tmp_path, seed):
    task = next(t for t in campaign_tasks(od.EXPERIMENTS, "quick") if t.id == task_id)
    rec = run_task_end_to_end(task, tmp_path, seed, min_checks=5)
    return {c["name"]: c for c in rec["checks"]}


def test_b5_runs_end_to_end_at_tiny_size(tmp_path, monkeypatch, seed):
    _tiny(monkeypatch)
    checks = _run("depth.b5-noiseless", tmp_path, seed)
    # exact statements, true at any size: the closed form is the maximum over stopping times, the symbolic
    # re-derivation, and the tau* formula against the two exact discrete solvers
    for name in (
        "the closed form is the maximum over stopping times",
        "symbolic smooth fit in u = log d re-derives the boundary and the value",
        "discrete analogue: the tau* formula = the exact discrete solvers",
        "discrete analogue -> continuous depth: tau*/L -> s* at rate 1/L",
    ):
        assert checks[name]["passed"], checks[name]["detail"]


def test_b2_runs_end_to_end_at_tiny_size(tmp_path, monkeypatch, seed):
    _tiny(monkeypatch)
    checks = _run("depth.b2-bounds", tmp_path, seed)
    # the bounds are theorems and the counterexamples are deterministic: all hold at any size
    assert all(c["passed"] for c in checks.values()), [
        c["detail"] for c in checks.values() if not c["passed"]
    ]
    assert (
        "tau* = L = 15 (solved: 15)"
        in checks["counterexamples: the hypotheses matter and the failure is reported"]["detail"]
    )


@pytest.mark.slow
@pytest.mark.parametrize("task_id", ["depth.osla", "depth.b6-bridge", "depth.benchmarks"])
def test_other_tasks_run_end_to_end_at_tiny_size(task_id, tmp_path, monkeypatch, seed):
    _tiny(monkeypatch)
    checks = _run(task_id, tmp_path, seed)
    if task_id == "depth.osla":
        for name in (
            "one-step look-ahead is optimal on monotone problems",
            "look-ahead on the B5 discrete analogue stops exactly at tau*",
            "look-ahead is strictly worse on a non-monotone problem (constructed dip)",
        ):
            assert checks[name]["passed"], checks[name]["detail"]
    if task_id == "depth.b6-bridge":
        assert checks["symbolic smooth fit re-derives the closed form"]["passed"]
