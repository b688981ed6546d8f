"""Memory of Monte Carlo runs of any size (issue "Memory and size"): with a streaming reduction a huge
count (10^12 paths) starts its first chunks at once with the memory of a small run; a result that keeps a
record per path is refused before any work when it would not fit, with the memory it would need.

Huge runs are stopped after a few chunks by ``chunk_budget.ChunkBudget`` (an executor that runs chunks
inline, then raises), with the memory traced by :mod:`tracemalloc` up to then: before the streams were
made lazily, ``10**12`` paths spawned 2.4 * 10^8 seed sequences (GiBs) before the first chunk."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from chunk_budget import ChunkBudget, run_a_few_chunks

from stochdepth.depth import simulate_stopping_depth
from stochdepth.limits import limit_sde, mckean_vlasov, relu_log_drift_mc, weak_error_study
from stochdepth.montecarlo import Moments, Quantiles, check_memory, map_chunks, memory_limit
from stochdepth.networks import sample_input_layer, sample_linear_log_norm, sample_network, squared_norms
from stochdepth.sde import EulerMaruyama, simulate, simulate_levels
from stochdepth.stats import CramerVonMises, two_sample_test

HUGE = 10**12
SMALL_MEMORY = 16 * 2**20  # traced bytes allowed when the third chunk is submitted


@functools.cache
def _limit_sde():
    return limit_sde(3, "relu")  # one object: its numba kernels compile once


def _network(executor, seed, n, reduce=None):
    return sample_network(
        np.ones(4),
        4,
        8,
        n_paths=n,
        observe=squared_norms(),
        reduce=reduce or Moments(),
        rng=seed,
        executor=executor,
    )


def _quantiles(executor, seed, n):
    return _network(executor, seed, n, [Moments(), Quantiles(bins=64)])


def _sde(executor, seed, n):
    return simulate(
        _limit_sde(),
        EulerMaruyama(),
        1.0,
        8,
        np.ones(3),
        n_paths=n,
        reduce=Moments(),
        rng=seed,
        executor=executor,
    )


def _levels(executor, seed, n):
    """Coupled levels keep moments only: a huge n_paths streams (the input fuzz marks it so)."""
    return simulate_levels(
        _limit_sde(), EulerMaruyama(), 1.0, (2, 4), np.ones(3), n_paths=n, rng=seed, executor=executor
    )


def _weak(executor, seed, n):
    return weak_error_study(np.ones(3), 3, "relu", steps=(2, 4, 8), n_paths=n, rng=seed, executor=executor)


def _permutations(executor, seed, n):
    x = np.linspace(0.0, 1.0, 30)
    return two_sample_test(x, x + 0.1, method=CramerVonMises(n_permutations=n), rng=seed, executor=executor)


@pytest.mark.parametrize(
    "run",
    [_network, _quantiles, _sde, _levels, _weak, _permutations],
    ids=[
        "sample_network",
        "sample_network_quantiles",
        "simulate",
        "simulate_levels",
        "weak_error_study",
        "permutation_test",
    ],
)
def test_huge_streaming_run_starts_with_small_memory(run, seed):
    run(None, seed, 5000)  # compile the kernels first: numba under tracemalloc is slow
    budget = run_a_few_chunks(lambda ex: run(ex, seed, HUGE))
    assert max(budget.peaks) < SMALL_MEMORY, [f"{p / 2**20:.1f} MiB" for p in budget.peaks]


@pytest.mark.parametrize(
    "call",
    [
        lambda ex, seed: sample_network(np.ones(4), 4, 8, n_paths=HUGE, rng=seed, executor=ex),  # samples
        lambda ex, seed: sample_linear_log_norm(8, 64, n_paths=HUGE, rng=seed, executor=ex),
        lambda ex, seed: simulate_stopping_depth(4, 1.0, 0.1, 0.0, n_paths=HUGE, rng=seed, executor=ex),
        lambda ex, seed: relu_log_drift_mc(4, n_paths=HUGE, rng=seed, executor=ex),
        lambda ex, seed: simulate(
            _limit_sde(), EulerMaruyama(), 1.0, 8, np.ones(3), n_paths=HUGE, rng=seed, executor=ex
        ),
    ],
    ids=[
        "sample_network",
        "sample_linear_log_norm",
        "simulate_stopping_depth",
        "relu_log_drift_mc",
        "simulate",
    ],
)
def test_records_per_path_that_cannot_fit_are_refused_before_any_work(call, seed):
    """ChunkBudget(0) raises BudgetSpent at the first chunk submitted: the ValueError comes first."""
    with pytest.raises(ValueError, match=r"n_paths=1000000000000 would keep .* in memory: [\d.]+ [TP]iB"):
        call(ChunkBudget(0), seed)


def test_input_layers_that_cannot_fit_are_refused():
    with pytest.raises(ValueError, match=r"n_paths=1000000000000 would keep the input layers in memory"):
        sample_input_layer(np.ones(3), 8, HUGE, 0)


def test_particle_system_that_cannot_fit_is_refused():
    """McKean-Vlasov particles interact, so they are all in memory at once: refused up front."""
    with pytest.raises(
        ValueError, match=r"n_clouds \* n_paths=4000000000000 would keep the particles of all clouds .*TiB"
    ):
        mckean_vlasov("relu", 1.0, n_steps=10, n_paths=HUGE, n_clouds=4, rng=0)


def test_memory_limit_follows_the_environment(monkeypatch, seed):
    """The refusal is a comparison with memory_limit(): lowered through the environment, a small run
    that keeps its samples is refused while the same run with moments goes through."""
    monkeypatch.setenv("STOCHDEPTH_MAX_MEMORY", str(2**20))
    assert memory_limit() == 2**20
    with pytest.raises(ValueError, match=r"n_paths=100000 would keep the samples .*: 2.29 MiB, more than"):
        sample_network(np.ones(4), 4, 8, n_paths=100_000, record=[0, 4, 8], rng=seed)  # 1e5 x 3 x 8 bytes
    res = sample_network(
        np.ones(4),
        4,
        8,
        n_paths=100_000,
        record=[0, 4, 8],
        observe=squared_norms(),
        reduce=Moments(),
        rng=seed,
    )
    assert res["squared_norms"].moments.n == 100_000
    with pytest.raises(ValueError, match="n_paths=131073 would keep a record per path"):
        map_chunks(lambda a, b, g: None, seed, 131_073, item_bytes=8)
    monkeypatch.setenv("STOCHDEPTH_MAX_MEMORY", "lots")
    with pytest.raises(ValueError, match="STOCHDEPTH_MAX_MEMORY"):
        memory_limit()


def test_check_memory_states_the_need():
    check_memory("n_paths", 10, 8, "x")  # 80 bytes
    with pytest.raises(ValueError, match=r"n_paths=2 would keep x in memory: 8 PiB, more than"):
        check_memory("n_paths", 2, 2**52, "x")
