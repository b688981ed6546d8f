"""The "random networks" validation campaign (validation/random_networks/).

What is tested: the campaign is registered and its task list is well formed in both profiles; every
experiment module follows the experiment contract (frozen size tables with the same fields in both
profiles); the one formula the campaign derives itself (the exact finite-depth kurtosis of a neuron of
the linear network) against an independent closed form, its limit and Monte Carlo of the network; and
tasks run end to end at a tiny size (each experiment's quick sizes swapped for tiny ones), writing their
checks, tables, cached sub-results and figures. At the tiny sizes the statistical checks have little
power, so only their presence and form are asserted, except for the deterministic ones. The whole
campaign is run by ``python -m validation --only random``, not here.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from task_testing import check_campaign_task_list, run_task_end_to_end

from validation import random_networks as rn
from validation.experiment import Experiment, campaign_tasks
from validation.random_networks import (
    law_agreement,
    linear_closed_forms,
    relu_facts,
    sequential_limits,
    weak_error,
)
from validation.random_networks.neuron_kurtosis import exact_neuron_kurtosis

TASK_IDS = [
    "random.law-agreement",
    "random.weak-error",
    "random.linear-closed-forms",
    "random.relu-facts",
    "random.sequential-limits",
]

MODULES = {
    "random.law-agreement": law_agreement,
    "random.weak-error": weak_error,
    "random.linear-closed-forms": linear_closed_forms,
    "random.relu-facts": relu_facts,
    "random.sequential-limits": sequential_limits,
}

# Sizes small enough for the test suite (every task runs in a few seconds, compilation aside).
TINY = {
    "random.law-agreement": law_agreement.Sizes(
        law_configs=((2, 4, 1, "relu"), (3, 4, 2, "tanh")),
        law_networks=300,
        law_permutations=99,
        depth_configs=((2, "linear"),),
        depth_depths=(1, 2, 4),
        depth_fine_steps=16,
        depth_networks=400,
    ),
    "random.weak-error": weak_error.Sizes(
        weak_width=2,
        weak_steps=(2, 4, 8),
        weak_cases=(("linear", 2000, ("squared_norm",)), ("relu", 2000, ())),
    ),
    "random.linear-closed-forms": linear_closed_forms.Sizes(
        lin_widths=(2, 4),
        lin_depth=16,
        lin_paths=1000,
        lin_moment_depths=(4, 16),
        lin_walk_depth=4,
        kurt_widths=(8,),
        kurt_depth=16,
        kurt_networks=1000,
        ms_widths=(2,),
        ms_depths=(1, 2),
        ms_networks=1000,
    ),
    "random.relu-facts": relu_facts.Sizes(
        regime_paths=1000,
        identity_width=4,
        identity_steps=(10, 40),
        identity_paths=300,
        dead_networks=1000,
        dead_depth=4,
        dead_sweep_depths=(4, 16),
        drift_paths=5000,
        long_widths=(4,),
        long_t1=10.0,
        long_steps=100,
        long_paths=300,
    ),
    "random.sequential-limits": sequential_limits.Sizes(
        grid_activations=("linear", "relu"),
        grid_widths=(2, 8),
        grid_depths=(4, 16),
        grid_networks=500,
        fluct_activations=("linear", "relu"),
        fluct_widths=(4, 16),
        fluct_depth=8,
        fluct_paths=500,
        mv_activations=("relu",),
        mv_steps=20,
        mv_particles=500,
        mv_clouds=4,
        corr_c0=(0.0, 0.5),
        corr_sizes=((4, 4), (8, 8)),
        corr_networks=300,
    ),
}


def test_registered_and_task_list_well_formed():
    check_campaign_task_list(rn, "random_networks", TASK_IDS, "random.")


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_experiment_modules_follow_the_contract(task_id):
    module = MODULES[task_id]
    exp = next(e for e in rn.EXPERIMENTS if e.module == module.__name__)
    assert isinstance(exp, Experiment) and exp.id == task_id and exp.campaign == rn.CAMPAIGN
    assert exp.sizes is module.SIZES and set(module.SIZES) == {"quick", "full"}
    assert (exp.compute, exp.checks, exp.report) == (module.compute, module.checks, module.report)
    assert dataclasses.is_dataclass(module.Result) and module.Result.__dataclass_params__.frozen
    quick, full = module.SIZES["quick"], module.SIZES["full"]
    assert isinstance(quick, module.Sizes) and isinstance(full, module.Sizes)
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.__setattr__(dataclasses.fields(quick)[0].name, None)
    # the full profile is at least as large as the quick one wherever a size is a count
    for f in dataclasses.fields(module.Sizes):
        q, v = getattr(quick, f.name), getattr(full, f.name)
        if isinstance(q, int) and f.name.endswith(("networks", "paths", "particles", "permutations")):
            assert v >= q, f.name


def test_exact_neuron_kurtosis_against_direct_moments_and_limit():
    # xi = (1 + g a)^2 + a^2 chi2_{n-1}, a^2 = h/n: E(1 + g a)^4 = 1 + 6a^2 + 3a^4, E(1 + g a)^2 = 1 + a^2,
    # E chi2_{n-1} = n - 1, E chi2_{n-1}^2 = (n - 1)(n + 1); so E xi^2 = 1 + 6a^2 + 3a^4
    # + 2 (1 + a^2) a^2 (n - 1) + a^4 (n - 1)(n + 1) and E xi = 1 + h; kurtosis 3 (E xi^2 / (E xi)^2)^l.
    for n, h, layer in [(1, 0.5, 1), (2, 0.25, 3), (8, 1 / 64, 64), (16, 0.01, 7)]:
        a2 = h / n
        e2 = 1 + 6 * a2 + 3 * a2**2 + 2 * (1 + a2) * a2 * (n - 1) + a2**2 * (n - 1) * (n + 1)
        direct = 3.0 * (e2 / (1 + h) ** 2) ** layer
        assert exact_neuron_kurtosis(n, layer, h) == pytest.approx(direct, rel=1e-12)
    # depth -> infinity at fixed t: 3 exp(4t/n)
    for n, t in [(2, 0.5), (8, 1.0)]:
        L = 2**20
        assert exact_neuron_kurtosis(n, L, t / L) == pytest.approx(3 * math.exp(4 * t / n), rel=1e-5)


def test_exact_neuron_kurtosis_matches_networks(seed):
    """Monte Carlo of depth-2 linear networks (t/n = 1/8, far from the limit 3e^(1/2) = 4.95).

    The finite-depth value is 3.891; at 40000 networks the delta-method standard error is about 0.03, so
    the 5-stderr check would catch any error in the formula larger than about 0.15 (the limit is 35 stderr
    away).
    """
    from stochdepth.montecarlo import Observable
    from stochdepth.networks import sample_network

    n, L, N = 8, 2, 40_000
    m2 = Observable("m2", lambda s: np.mean(s**2, axis=-2))
    m4 = Observable("m4", lambda s: np.mean(s**4, axis=-2))
    res = sample_network(np.ones(1), n, L, "linear", n_paths=N, record=[L], observe=[m2, m4], rng=seed)
    a, b = res["m4"].samples[:, 0, 0], res["m2"].samples[:, 0, 0]
    K = a.mean() / b.mean() ** 2
    infl = a / b.mean() ** 2 - 2 * a.mean() * b / b.mean() ** 3
    se = infl.std(ddof=1) / math.sqrt(N)
    exact = exact_neuron_kurtosis(n, L, 1 / L)
    assert exact == pytest.approx(3.891, abs=1e-3)
    assert abs(K - exact) <= 5 * se
    assert abs(3 * math.exp(0.5) - exact) > 20 * se


@pytest.mark.parametrize(
    "task_id",
    [
        "random.relu-facts",
        "random.linear-closed-forms",
        "random.sequential-limits",
        pytest.param("random.law-agreement", marks=pytest.mark.slow),
        pytest.param("random.weak-error", marks=pytest.mark.slow),
    ],
)
def test_task_runs_end_to_end_at_tiny_size(task_id, tmp_path, monkeypatch, seed):
    monkeypatch.setitem(MODULES[task_id].SIZES, "quick", TINY[task_id])
    task = next(t for t in campaign_tasks(rn.EXPERIMENTS, "quick") if t.id == task_id)
    rec = run_task_end_to_end(task, tmp_path, seed, min_checks=3)
    if task_id == "random.relu-facts":
        exact = next(c for c in rec["checks"] if "(exact)" in c["name"])
        assert exact["passed"] and "D(3) = -1/21" in exact["detail"]
        absorbing = next(c for c in rec["checks"] if c["name"] == "the dead set is absorbing")
        assert absorbing["passed"]  # pathwise: a dead network never revives, at any size
