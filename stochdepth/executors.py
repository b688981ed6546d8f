r"""Where the chunks of a Monte Carlo run execute: threads (the default), local processes, or Dask.

Every chunked run of the library (:func:`stochdepth.montecarlo.map_chunks` and
:func:`stochdepth.montecarlo.run_observed`, hence every sampler and simulator built on them) draws its
chunk streams from one seed (:mod:`stochdepth.random`) and folds the chunks' partial results *in chunk
order* on the calling side. Where a chunk runs therefore changes nothing in the result: for a seed, the
output is bitwise identical on a thread pool, on a local process pool and on a Dask cluster.

An executor is chosen

* per call, with the ``executor=`` keyword of :func:`~stochdepth.montecarlo.map_chunks` and
  :func:`~stochdepth.montecarlo.run_observed`;
* for a block of code, with :func:`use_executor`, which every public sampler and simulator obeys
  without a keyword of its own (one mechanism for the whole library):

  >>> from stochdepth.executors import current_executor, use_executor
  >>> from stochdepth.networks import sample_linear_log_norm
  >>> ref = sample_linear_log_norm(8, 64, n_paths=2000, chunk_size=256, rng=1)
  >>> with use_executor("threads"):
  ...     print(current_executor())
  ...     res = sample_linear_log_norm(8, 64, n_paths=2000, chunk_size=256, rng=1)
  threads
  >>> bool(np.array_equal(res.log_ratio, ref.log_ratio))
  True

  and a client is used the same way (``with use_executor(client):`` or ``executor=client``).

Accepted values: ``None`` (the active :func:`use_executor`, else threads), ``"threads"``,
``"processes"`` (a process pool of ``n_threads`` workers, created for the call), a
:class:`concurrent.futures.Executor` (e.g. your own ``ProcessPoolExecutor``), a
``dask.distributed.Client``, or a Dask scheduler address ``"tcp://host:port"`` (connected with
:func:`connect_dask`). Dask is optional (``pip install "stochdepth[dask]"``) and imported only when a
client or an address is given.

Remote execution (processes, Dask) ships the chunk function once to each task as bytes serialised with
``cloudpickle`` (closures and lambdas are fine; numba ``@njit`` functions defined at module level are
too). A function that cannot be serialised raises a :class:`TypeError` naming it before any chunk runs.
Chunk tasks are pure (their result depends on their arguments only: the chunk's bounds and its own
generator state), so Dask may rerun a task lost with a worker and obtain the same bits.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import pickle
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

__all__ = [
    "ExecutorLike",
    "accepts_executor",
    "check_executor",
    "connect_dask",
    "current_executor",
    "ordered_results",
    "use_executor",
]

#: What the ``executor`` arguments accept (see the module docstring).
ExecutorLike = Any

_ACTIVE: contextvars.ContextVar[Any] = contextvars.ContextVar("stochdepth_executor", default=None)
_ADDRESS_PREFIXES = ("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")


# ----------------------------------------------------------------------------------------------------
# Dask helpers (imported lazily)
# ----------------------------------------------------------------------------------------------------


def _is_dask_client(obj: object) -> bool:
    cls = type(obj)
    return cls.__name__ == "Client" and cls.__module__.split(".")[0] == "distributed"


def connect_dask(address: str, *, timeout: float = 10.0) -> Any:
    """Connect to a running Dask scheduler, with a clear error when it cannot be reached.

    Parameters
    ----------
    address : str
        Scheduler address such as ``"tcp://10.0.0.5:8786"``.
    timeout : float
        Seconds to wait for the connection.

    Raises
    ------
    ImportError
        If ``dask.distributed`` is not installed (``pip install "stochdepth[dask]"``).
    ConnectionError
        If no scheduler answers at ``address`` within ``timeout`` seconds.
    """
    if not isinstance(address, str) or not address.startswith(_ADDRESS_PREFIXES):
        raise ValueError(f"address must be a Dask scheduler address like 'tcp://host:8786', got {address!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - dask is in the test extra
        raise ImportError('a Dask scheduler needs dask.distributed: pip install "stochdepth[dask]"') from exc
    try:
        return Client(address, timeout=f"{timeout}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ConnectionError(
            f"cannot reach the Dask scheduler at {address!r} within {timeout:g} s: {exc}"
        ) from None


def _check_client(client: Any) -> Any:
    if getattr(client, "status", None) != "running":
        raise ValueError(
            f"executor: the Dask client is {getattr(client, 'status', 'unusable')!r}, not running "
            "(was it closed?); pass an open dask.distributed.Client"
        )
    return client


def check_executor(executor: object) -> Any:
    """Validate an ``executor`` argument (see the module docstring) before any work; address strings
    are connected here. Returns the executor to use (``None``: threads)."""
    if executor is None or executor in ("threads", "processes"):
        return executor
    if isinstance(executor, str):
        if executor.startswith(_ADDRESS_PREFIXES):
            return connect_dask(executor)
        raise ValueError(
            f"executor must be 'threads', 'processes', a Dask scheduler address, a concurrent.futures "
            f"Executor or a dask.distributed.Client, got {executor!r}"
        )
    if _is_dask_client(executor):
        return _check_client(executor)
    if isinstance(executor, Executor):
        if getattr(executor, "_shutdown_thread", False) or getattr(executor, "_shutdown", False):
            raise ValueError("executor: the concurrent.futures executor is shut down")
        return executor
    raise TypeError(
        f"executor must be 'threads', 'processes', a Dask scheduler address, a concurrent.futures "
        f"Executor or a dask.distributed.Client, got {type(executor).__name__}"
    )


@contextlib.contextmanager
def use_executor(executor: ExecutorLike) -> Iterator[Any]:
    """Run every chunked Monte Carlo call inside the block on ``executor``.

    The executor is validated (and an address connected) on entry, so a closed client or an unreachable
    scheduler fails before any work. Explicit ``executor=`` arguments still win.
    """
    checked = check_executor(executor)
    owned = isinstance(executor, str) and checked is not executor
    token = _ACTIVE.set(checked)
    try:
        yield checked
    finally:
        _ACTIVE.reset(token)
        if owned:
            checked.close()


_EXECUTOR_DOC = """executor : optional
    Where the Monte Carlo chunks run: threads (default), ``"processes"``, a
    ``concurrent.futures.Executor``, a ``dask.distributed.Client`` or a scheduler address
    (:mod:`stochdepth.executors`). The result is bitwise identical for every choice.
"""


def accepts_executor(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give a chunked Monte Carlo function an ``executor=`` keyword: the call runs inside
    :func:`use_executor` (validated before any work). The one mechanism by which every sampler,
    simulator and regression Monte Carlo of the library takes an executor."""
    import inspect

    @functools.wraps(fn)
    def wrapper(*args: Any, executor: ExecutorLike = None, **kwargs: Any) -> Any:
        if executor is None:
            return fn(*args, **kwargs)
        with use_executor(executor):
            return fn(*args, **kwargs)

    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    extra = inspect.Parameter("executor", inspect.Parameter.KEYWORD_ONLY, default=None)
    at = next((i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_KEYWORD), len(params))
    wrapper.__signature__ = sig.replace(parameters=[*params[:at], extra, *params[at:]])  # type: ignore[attr-defined]
    doc = fn.__doc__ or ""
    for indent in ("    ", "        "):  # functions, methods
        section = f"\n\n{indent}Returns\n{indent}-------"
        if section in doc:
            entry = "".join(f"\n{indent}{line}" for line in _EXECUTOR_DOC.splitlines())
            wrapper.__doc__ = doc.replace(section, entry + section, 1)
            break
    return wrapper


def current_executor() -> Any:
    """The executor set by the innermost :func:`use_executor` block (``None``: threads)."""
    return _ACTIVE.get()


# ----------------------------------------------------------------------------------------------------
# Running tasks in order
# ----------------------------------------------------------------------------------------------------


def _serialise(fn: Callable[..., Any]) -> bytes:
    try:
        import cloudpickle

        dumps: Callable[[Any], bytes] = cloudpickle.dumps
    except ImportError:  # pragma: no cover - cloudpickle comes with dask
        dumps = pickle.dumps
    try:
        return dumps(fn)
    except Exception as exc:
        raise TypeError(
            f"the chunk function {getattr(fn, '__qualname__', fn)!r} cannot be serialised for a process "
            f"pool or Dask ({type(exc).__name__}: {exc}); run it with executor='threads'"
        ) from None


@functools.lru_cache(maxsize=8)
def _load(payload: bytes) -> Callable[..., Any]:
    return pickle.loads(payload)


def _call_payload(payload: bytes, *args: Any) -> Any:
    """Task body on a worker: the chunk function travels as bytes, deserialised once per worker."""
    token = _ACTIVE.set(None)  # nested chunked calls inside a chunk run inline on the worker
    try:
        return _load(payload)(*args)
    finally:
        _ACTIVE.reset(token)


class _Runner:
    """A uniform ``submit(*args) -> future`` over threads, processes and Dask."""

    def __init__(self, fn: Callable[..., Any], executor: Any, n_threads: int) -> None:
        self.fn = fn
        self.owned: Executor | None = None
        self.client = executor if _is_dask_client(executor) else None
        if executor is None or executor == "threads":
            self.pool: Executor | None = ThreadPoolExecutor(max_workers=n_threads) if n_threads > 1 else None
            self.owned, self.width, self.payload = self.pool, n_threads, None
            return
        if isinstance(executor, ThreadPoolExecutor):  # the caller's threads: shared memory, no pickling
            self.pool, self.payload = executor, None
            self.width = max(1, int(getattr(executor, "_max_workers", n_threads)))
            return
        self.payload = _serialise(fn)
        if self.client is not None:
            self.pool = None
            self.width = max(1, sum(self.client.nthreads().values()))
        elif executor == "processes":
            import multiprocessing

            ctx = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
            self.pool = self.owned = ProcessPoolExecutor(max_workers=n_threads, mp_context=ctx)
            self.width = n_threads
        else:
            self.pool = executor
            self.width = max(1, int(getattr(executor, "_max_workers", n_threads)))

    @property
    def batch(self) -> int:
        """Tasks per submission: one for local pools; for Dask a batch per round trip (each submission
        and each gather costs the client a round trip to the scheduler)."""
        return max(8, self.width) if self.client is not None else 1

    def submit(self, batch: Sequence[tuple[Any, ...]]) -> Callable[[], list[Any]]:
        """Start the tasks of ``batch``; return a function waiting for their results, in order."""
        if self.client is not None:
            cols = list(zip(*batch))
            futs = self.client.map(_call_payload, [self.payload] * len(batch), *cols, pure=False)
            return _DaskBatch(self.client, futs)
        if self.pool is None:  # inline: run now, in this thread
            token = _ACTIVE.set(None)
            try:
                done = [self.fn(*a) for a in batch]
            finally:
                _ACTIVE.reset(token)
            return _Done(done)
        if self.payload is not None:
            return _LocalBatch([self.pool.submit(_call_payload, self.payload, *a) for a in batch])
        return _LocalBatch([self.pool.submit(self.fn, *a) for a in batch])

    def close(self) -> None:
        if self.owned is not None:
            self.owned.shutdown(wait=True, cancel_futures=True)


class _Done:
    def __init__(self, results: list[Any]) -> None:
        self.results = results

    def __call__(self) -> list[Any]:
        return self.results

    def cancel(self) -> None:
        pass


class _LocalBatch:
    def __init__(self, futures: list[Future[Any]]) -> None:
        self.futures = futures

    def __call__(self) -> list[Any]:
        return [f.result() for f in self.futures]

    def cancel(self) -> None:
        for f in self.futures:
            f.cancel()


class _DaskBatch:
    def __init__(self, client: Any, futures: list[Any]) -> None:
        self.client, self.futures = client, futures

    def __call__(self) -> list[Any]:
        return self.client.gather(self.futures)

    def cancel(self) -> None:
        self.client.cancel(self.futures)


def ordered_results(
    fn: Callable[..., Any], args: Sequence[tuple[Any, ...]], executor: Any, n_threads: int
) -> Iterator[Any]:
    """Yield ``fn(*a)`` for each ``a`` in ``args``, in order, computed on ``executor``.

    About ``2 * width`` tasks are in flight (``width``: threads, processes or Dask worker threads; Dask
    tasks are submitted and gathered in batches of ``max(8, width)``, one round trip each), so
    memory is bounded by a few results whatever ``len(args)``; the caller folds the results as they come,
    in order, which makes every bit of a reduction independent of the executor. ``executor`` must have
    passed :func:`check_executor`.
    """
    if not args:
        return
    runner = _Runner(fn, executor, n_threads)
    try:
        size = runner.batch
        batches = [args[i : i + size] for i in range(0, len(args), size)]
        window = max(2, -(-2 * runner.width // size))  # batches in flight: >= 2 x width tasks
        todo = iter(batches)
        pending: deque[Any] = deque()
        for b in todo:
            pending.append(runner.submit(b))
            if len(pending) >= window:
                break
        try:
            while pending:
                results = pending.popleft()()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append(runner.submit(nxt))
                yield from results
        finally:
            for handle in pending:
                handle.cancel()
    finally:
        runner.close()
