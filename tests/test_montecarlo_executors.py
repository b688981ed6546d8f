"""Executors of the chunk runner (stochdepth.executors): the same bits from threads, a process pool and a
Dask LocalCluster of 2 worker processes; a worker killed mid-run changes nothing; bad executors fail
before any work."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from stochdepth.executors import connect_dask, use_executor
from stochdepth.montecarlo import (
    Histogram,
    Moments,
    Observable,
    Quantiles,
    Samples,
    map_chunks,
    run_observed,
)
from stochdepth.networks import sample_network

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
    )
    cl = distributed.Client(cluster, set_as_default=False)
    yield cl
    cl.close()
    cluster.close()


def _network(executor, seed):
    with use_executor(executor):
        res = sample_network(
            np.ones(4),
            4,
            16,
            "relu",
            n_paths=600,
            chunk_size=100,
            record=[0, 8, 16],
            reduce=[Moments(), Histogram(bins=16), Quantiles(bins=256), Samples()],
            rng=seed,
        )
    return res[next(iter(res.observed))]


def _assert_same(a, b):
    for name in ("mean", "var", "skewness", "kurtosis"):
        np.testing.assert_array_equal(getattr(a.moments, name), getattr(b.moments, name))
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(a.histogram.counts, b.histogram.counts)
    np.testing.assert_array_equal(a.quantiles.values, b.quantiles.values)


def test_same_bits_from_threads_processes_and_dask(client, seed):
    threads = _network("threads", seed)
    _assert_same(threads, _network(None, seed))
    _assert_same(threads, _network("processes", seed))
    _assert_same(threads, _network(client, seed))


def test_map_chunks_closure_on_every_executor(client, seed):
    scale = 3.0

    def chunk(a, b, gen):
        return scale * gen.standard_normal(b - a)

    ref = np.concatenate(map_chunks(chunk, seed, 1000, chunk_size=128, n_threads=2))
    with ThreadPoolExecutor(3) as own_threads:
        for ex in ("processes", client, own_threads):
            got = np.concatenate(map_chunks(chunk, seed, 1000, chunk_size=128, n_threads=2, executor=ex))
            np.testing.assert_array_equal(ref, got)


def _slow_kernel(a, b, gen):
    time.sleep(0.05)
    out = np.zeros((b - a, 2, 1))
    out[:, 1, 0] = gen.standard_normal(b - a)
    return out


def _observed(seed, **kwargs):
    obs = [Observable("x", lambda s: s[..., 0])]
    res = run_observed(
        _slow_kernel, seed, 4000, np.array([0.0, 1.0]), obs, [Moments(), Samples()], chunk_size=100, **kwargs
    )
    return res["x"]


def test_killed_worker_does_not_change_the_result(client, seed):
    ref = _observed(seed, n_threads=1)
    pids = list(client.run(os.getpid).values())
    merged = []

    def progress(n):
        merged.append(n)
        if len(merged) == 5:  # mid-run: 5 of 40 chunks merged, others in flight on both workers
            os.kill(pids[0], signal.SIGKILL)

    got = _observed(seed, executor=client, progress=progress)
    assert len(merged) == 40
    np.testing.assert_array_equal(ref.samples, got.samples)
    np.testing.assert_array_equal(ref.moments.mean, got.moments.mean)
    np.testing.assert_array_equal(ref.moments.kurtosis[1], got.moments.kurtosis[1])


def _counting_kernel(calls):
    def kernel(a, b, gen):
        calls.append(a)
        return np.zeros((b - a, 1, 1))

    return kernel


def _run_with(executor, calls):
    obs = [Observable("x", lambda s: s[..., 0])]
    return run_observed(_counting_kernel(calls), 0, 10, np.array([0.0]), obs, [Moments()], executor=executor)


def test_closed_client_fails_before_any_work(client):
    closed = distributed.Client(client.scheduler.address, set_as_default=False)
    closed.close()
    calls: list[int] = []
    with pytest.raises(ValueError, match="closed"):
        _run_with(closed, calls)
    with pytest.raises(ValueError, match="closed"), use_executor(closed):
        pass
    assert calls == []


def test_unreachable_scheduler_fails_clearly():
    with pytest.raises(ConnectionError, match=r"cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:1'"):
        connect_dask("tcp://127.0.0.1:1", timeout=1.0)
    with pytest.raises(ValueError, match="address"):
        connect_dask("localhost:8786")


@pytest.mark.parametrize(("executor", "error"), [(3, TypeError), ("gpu", ValueError)])
def test_bad_executor_fails_before_any_work(executor, error):
    calls: list[int] = []
    with pytest.raises(error, match="executor"):
        _run_with(executor, calls)
    assert calls == []


def test_unpicklable_kernel_named_before_any_work():
    lock = threading.Lock()
    calls: list[int] = []

    def kernel(a, b, gen):
        calls.append(a)
        with lock:
            return np.zeros((b - a, 1, 1))

    obs = [Observable("x", lambda s: s[..., 0])]
    with pytest.raises(TypeError, match=r"cannot be serialised.*executor='threads'"):
        run_observed(kernel, 0, 10, np.array([0.0]), obs, [Moments()], executor="processes")
    assert calls == []
    res = run_observed(kernel, 0, 10, np.array([0.0]), obs, [Moments()], executor="threads")
    assert res["x"].moments.n == 10


def test_public_samplers_take_the_executor_keyword(client, seed):
    import inspect

    from stochdepth.limits import simulate_limit
    from stochdepth.networks import sample_linear_log_norm
    from stochdepth.sde import simulate, simulate_levels

    for fn in (sample_network, sample_linear_log_norm, simulate, simulate_levels, simulate_limit):
        assert "executor" in inspect.signature(fn).parameters, fn.__name__
        assert "executor : optional" in fn.__doc__, fn.__name__
    kw = dict(n_paths=300, chunk_size=64, record=[0, 4, 8], rng=seed)
    ref = sample_linear_log_norm(4, 8, **kw)
    got = sample_linear_log_norm(4, 8, **kw, executor=client)
    np.testing.assert_array_equal(ref.log_ratio, got.log_ratio)
    with pytest.raises(TypeError, match="executor"):
        sample_linear_log_norm(4, 8, **kw, executor=object())


def _cheap_kernel(a, b, gen):
    out = np.empty((b - a, 1, 1))
    out[:, 0, 0] = gen.standard_normal(b - a) * (1.0 + 1e-3 * a)  # chunks differ: merge order shows in bits
    return out


def test_dask_tasks_fold_groups_of_chunks_into_the_same_tree(client, seed):
    """80 chunks on 2 workers: Dask tasks fold groups of 8 chunks on the workers (chunks_per_task), the
    client folds the groups' tree nodes; the bits are those of threads folding every chunk itself."""
    from stochdepth.executors import chunks_per_task

    client.wait_for_workers(2, timeout=120)  # a worker killed by an earlier test may still be restarting
    assert chunks_per_task(79, client) == 8 and chunks_per_task(79, "threads") == 1
    obs = [Observable("x", lambda s: s[..., 0])]
    kw = dict(chunk_size=50, n_threads=2)
    reducers = [Moments(), Histogram(bins=32)]
    ref = run_observed(_cheap_kernel, seed, 4000, np.array([1.0]), obs, reducers, **kw)["x"]
    got = run_observed(_cheap_kernel, seed, 4000, np.array([1.0]), obs, reducers, executor=client, **kw)["x"]
    for name in ("mean", "var", "skewness", "kurtosis"):
        np.testing.assert_array_equal(getattr(ref.moments, name), getattr(got.moments, name))
    np.testing.assert_array_equal(ref.histogram.counts, got.histogram.counts)


def test_progress_bar_on_every_executor(client, seed, capsys):
    """progress=True: a tqdm bar over the chunks (10 of 100 networks) on every executor; False: silent."""
    from stochdepth.networks import sample_linear_log_norm, squared_norms

    kw = dict(n_paths=1000, chunk_size=100, observe=squared_norms(), reduce=Moments(), rng=seed)
    for ex in ("threads", "processes", client):
        sample_network(np.ones(4), 4, 8, executor=ex, progress=True, **kw)
        assert "10/10" in capsys.readouterr().err, ex
    sample_linear_log_norm(4, 8, n_paths=1000, chunk_size=100, rng=seed, executor=client, progress=True)
    assert "10/10" in capsys.readouterr().err
    sample_network(np.ones(4), 4, 8, executor=client, **kw)
    sample_network(np.ones(4), 4, 8, progress=False, **kw)
    assert capsys.readouterr().err == ""
    with pytest.raises(TypeError, match="progress"):
        sample_network(np.ones(4), 4, 8, progress="yes", **kw)
