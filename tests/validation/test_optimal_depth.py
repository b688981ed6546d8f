"""The "optimal depth" validation campaign (validation/optimal_depth.py).

What is tested: the campaign is registered and its task list is well formed in both profiles; the size
tables of the two profiles have the same keys; the pieces the campaign builds itself -- the jittered lattice
CDF behind its exact one-sample tests, the linear-network simulator of its regression Monte Carlo, the
network depth sampler and the closed-form constants of B6 -- against independent derivations; and cheap
tasks end to end at a tiny size (sizes shrunk through the module's size table), writing their checks, tables,
cached sub-results and figures. At tiny sizes the statistical and convergence checks have little power, so
only their presence and form are asserted, except for the deterministic ones (exact identities that hold at
any size). The whole campaign is run by ``python -m validation --only depth``, not here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from task_testing import run_task_end_to_end

from validation import CAMPAIGNS, all_tasks
from validation import optimal_depth as od

TASK_IDS = ["depth.b2-bounds", "depth.b6-bridge", "depth.b5-noiseless", "depth.osla", "depth.benchmarks"]

# Sizes small enough for the test suite (each task runs in seconds, compilation aside).
TINY = {
    "b2_families": 12,
    "b2_violating": 12,
    "b2_chains": 8,
    "b6_depths": (8, 16, 32),
    "b6_law_max_depth": 32,
    "b6_pde_nodes": (101, 201),
    "b6_cdf_steps": (100, 200),
    "b6_reg_depth": 4,
    "b6_reg_horizon": 3.0,
    "b6_reg_starts": (0.0,),
    "b6_reg_paths": 2000,
    "b6_reg_inner": 10,
    "b6_reg_dual_paths": 200,
    "b6_width_paths": 1000,
    "b6_law_depth": 16,
    "b6_law_networks": 2000,
    "b5_nodes": (51, 101, 201),
    "b5_horizon_nodes": (51, 101),
    "b5_draws": 20,
    "b5_limit_depths": (100, 1000),
    "osla_monotone": 12,
    "osla_random": 12,
    "osla_depth": 8,
    "osla_horizon": 3.0,
    "osla_paths": 2000,
    "bench_put_paths": 2000,
    "bench_put_dual": (20, 20),
    "bench_maxcall_paths": 2000,
    "bench_maxcall_dual": (20, 20),
    "bench_tree_steps": (5,),
    "bench_pde_nodes": (51, 101, 201),
}


def _tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in TINY.items():
        monkeypatch.setitem(od.SIZES["quick"], key, value)


def test_registered_and_task_list_well_formed():
    assert "optimal_depth" in CAMPAIGNS
    for profile in ("quick", "full"):
        tasks = od.tasks(profile)
        assert [t.id for t in tasks] == TASK_IDS
        for t in tasks:
            assert t.campaign == od.CAMPAIGN == "optimal_depth"
            assert t.title and t.description and callable(t.fn)
    assert [t.id for t in all_tasks("quick", ["depth."])] == TASK_IDS
    with pytest.raises(ValueError, match="profile"):
        od.tasks("huge")


def test_size_tables_have_the_same_keys_and_tiny_covers_them():
    assert set(od.SIZES["quick"]) == set(od.SIZES["full"])
    assert set(TINY) == set(od.SIZES["quick"])
    for key, quick in od.SIZES["quick"].items():
        full = od.SIZES["full"][key]
        if isinstance(quick, int) and key.endswith(
            ("families", "violating", "chains", "paths", "networks", "draws")
        ):
            assert full >= quick, key


def test_b6_constants_match_the_closed_form():
    """m = 1/2 - 1/n, y* = a - c/(2m), E tau* = (y* - y0)/m, V(y0) = g(y*) - (c/m)(y* - y0) (SCIENCE.md B6),
    against the library's closed form; and the IG parametrisation has the stated mean and variance
    mean^3/shape."""
    from stochdepth.depth import linear_resnet_optimal_depth

    k = od._b6_constants()
    cf = linear_resnet_optimal_depth(od.B6["width"], od.B6["target"], od.B6["cost"])
    assert k["ystar"] == pytest.approx(cf.boundary, abs=1e-15)
    assert k["mean"] == pytest.approx(cf.expected_depth(od.B6["y0"]), rel=1e-14)
    assert k["value"] == pytest.approx(cf.value(od.B6["y0"]), abs=1e-15)
    ig = od._inverse_gaussian(k["mean"], k["shape"])
    assert ig.mean() == pytest.approx(k["mean"], rel=1e-12)
    assert ig.var() == pytest.approx(k["mean"] ** 3 / k["shape"], rel=1e-12)
    assert math.isnan(od._b6_constants(2)["ystar"])  # no upward drift: no threshold


def test_jittered_cdf_is_the_law_of_tau_minus_uniform(seed):
    """G(x) = P(tau - U <= x): at the integers it equals P(tau <= x) and it is linear in between
    (derivation in the docstring); a sample of tau - U passes the exact one-sample KS test against G
    (p > 1e-6 has probability 1 - 1e-6 under the null, for any seed)."""
    from stochdepth.stats import one_sample_test

    pmf = np.array([0.1, 0.0, 0.35, 0.25, 0.2, 0.1])
    G = od._jittered_cdf(pmf)
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


def test_network_depths_are_reproducible_and_start_at_zero_above_the_threshold(seed):
    a = od._network_depths(4, 8, 0.2, 0.0, 3000, seed, 400)
    b = od._network_depths(4, 8, 0.2, 0.0, 3000, seed, 400)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.int64 and np.all(a >= 1)  # y0 = 0 < 0.2: at least one layer
    np.testing.assert_array_equal(od._network_depths(4, 8, -0.1, 0.0, 50, seed, 10), 0)
    # censoring: a threshold out of reach within 3 layers of a width-4 network is reported as -1
    assert np.all(od._network_depths(4, 8, 50.0, 0.0, 20, seed, 3) == -1)


def _run(task_id, tmp_path, seed):
    task = next(t for t in od.tasks("quick") if t.id == task_id)
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
