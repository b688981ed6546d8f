r"""Where the chunks of a Monte Carlo run execute: threads (the default), local processes, or Dask.

Every chunked run of the library (:func:`stochdepth.montecarlo.map_chunks`,
:func:`stochdepth.montecarlo.reduce_chunks` and :func:`stochdepth.montecarlo.run_observed`, hence every
sampler and simulator built on them) draws its chunk streams from one seed (:mod:`stochdepth.random`)
and combines the chunks' partial results in a *fixed pairwise tree* (:class:`PairwiseTree`) whose shape
depends on the number of chunks only, never on where or in which order the chunks ran. Where a chunk
runs therefore changes nothing in the result: for a seed, the output is bitwise identical on a thread
pool, on a local process pool and on a Dask cluster. On Dask, each task folds an aligned group of chunks
into the nodes of that same tree on its worker, and the client folds the groups' nodes: fewer tasks and
round trips, the same bits.

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

Chunks are made lazily and submitted in a bounded window (about twice the number of workers), so the
memory of the caller, of the scheduler and of the workers does not depend on the number of chunks.

The same decorator that adds ``executor=`` (:func:`accepts_executor`) adds ``progress=``: with
``progress=True`` a tqdm bar advances chunk by chunk (for every executor); with ``False`` (the default)
nothing is printed.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import os
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

__all__ = [
    "ExecutorLike",
    "PairwiseTree",
    "accepts_executor",
    "check_executor",
    "chunks_per_task",
    "connect_dask",
    "current_executor",
    "ordered_results",
    "progress_bar",
    "tree_reduce",
    "use_executor",
]

#: What the ``executor`` arguments accept (see the module docstring).
ExecutorLike = Any

_ACTIVE: contextvars.ContextVar[Any] = contextvars.ContextVar("stochdepth_executor", default=None)
_PROGRESS: contextvars.ContextVar[bool] = contextvars.ContextVar("stochdepth_progress", default=False)
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
progress : bool, default False
    Show a tqdm progress bar advancing chunk by chunk (any executor); nothing is printed when False.
"""


def accepts_executor(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give a chunked Monte Carlo function the keywords ``executor=`` and ``progress=``: the call runs
    inside :func:`use_executor` (validated before any work) and, with ``progress=True``, every chunked
    run inside it shows a progress bar (:func:`progress_bar`). The one mechanism by which every sampler,
    simulator and regression Monte Carlo of the library takes an executor and a progress bar."""
    import inspect

    from ._checks import check_bool

    @functools.wraps(fn)
    def wrapper(*args: Any, executor: ExecutorLike = None, progress: bool = False, **kwargs: Any) -> Any:
        token = _PROGRESS.set(check_bool("progress", progress) or _PROGRESS.get())
        try:
            if executor is None:
                return fn(*args, **kwargs)
            with use_executor(executor):
                return fn(*args, **kwargs)
        finally:
            _PROGRESS.reset(token)

    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    extra = [
        inspect.Parameter("executor", inspect.Parameter.KEYWORD_ONLY, default=None),
        inspect.Parameter("progress", inspect.Parameter.KEYWORD_ONLY, default=False),
    ]
    at = next((i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_KEYWORD), len(params))
    wrapper.__signature__ = sig.replace(parameters=[*params[:at], *extra, *params[at:]])  # type: ignore[attr-defined]
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


def progress_bar(total: int, desc: str, *, show: bool | None = None) -> Any:
    """A tqdm bar of ``total`` chunks if progress is on, else ``None``.

    ``show=None`` follows the ``progress=`` argument of the innermost call made through
    :func:`accepts_executor`. The bar is closed by the caller (``bar.close()``).
    """
    if not (_PROGRESS.get() if show is None else show):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="chunk")


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
    fn: Callable[..., Any], args: Iterable[tuple[Any, ...]], executor: Any, n_threads: int
) -> Iterator[Any]:
    """Yield ``fn(*a)`` for each ``a`` in ``args``, in order, computed on ``executor``.

    ``args`` is consumed lazily: about ``2 * width`` tasks are in flight (``width``: threads, processes
    or Dask worker threads; Dask tasks are submitted and gathered in batches of ``max(8, width)``, one
    round trip each), so memory is bounded by a few arguments and results whatever the length of
    ``args``. The caller folds the results as they come, in order. ``executor`` must have passed
    :func:`check_executor`.
    """
    todo = iter(args)
    first = list(itertools.islice(todo, 1))
    if not first:
        return
    runner = _Runner(fn, executor, n_threads)
    try:
        size = runner.batch
        window = max(2, -(-2 * runner.width // size))  # batches in flight: >= 2 x width tasks
        batches = itertools.chain([first + list(itertools.islice(todo, size - 1))], _batches(todo, size))
        pending: deque[Any] = deque(runner.submit(b) for b in itertools.islice(batches, window))
        try:
            while pending:
                results = pending.popleft()()
                nxt = next(batches, None)
                if nxt is not None:
                    pending.append(runner.submit(nxt))
                yield from results
        finally:
            for handle in pending:
                handle.cancel()
    finally:
        runner.close()


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(itertools.islice(items, size)):
        yield batch


# ----------------------------------------------------------------------------------------------------
# The reduction tree
# ----------------------------------------------------------------------------------------------------


class PairwiseTree:
    r"""Fold leaves ``0, 1, ..., n-1`` with ``merge`` in a tree fixed by ``n`` alone.

    Every aligned dyadic block of leaves :math:`[k2^j, (k+1)2^j)` inside ``[0, n)`` is the merge of its
    two halves (left first); the maximal blocks left at the end (one per binary digit of ``n``) are
    merged from the right. Nodes may be pushed as single leaves or as whole blocks (the nodes another
    tree built over a sub-range, :meth:`nodes`): the merges, hence every bit of a floating-point result,
    are the same however the leaves were grouped and wherever the groups were folded. At most
    :math:`\log_2 n + 1` nodes are held.

    Pairwise summation also has a rounding error growing like :math:`\log n` rather than :math:`n`
    (Higham, *Accuracy and Stability of Numerical Algorithms*, 2002, sec. 4.2).

    Examples
    --------
    >>> from stochdepth.executors import PairwiseTree
    >>> whole = PairwiseTree(lambda a, b: f"({a}{b})")
    >>> for i in range(6):
    ...     whole.push(i, 1, str(i))
    >>> whole.result()
    '(((01)(23))(45))'
    >>> left, right = PairwiseTree(whole.merge), PairwiseTree(whole.merge)   # any grouping
    >>> for i in range(3):
    ...     left.push(i, 1, str(i))
    >>> for i in range(3, 6):
    ...     right.push(i, 1, str(i))
    >>> joined = PairwiseTree(whole.merge)
    >>> for node in left.nodes() + right.nodes():
    ...     joined.push(*node)
    >>> joined.result() == whole.result()
    True
    """

    def __init__(self, merge: Callable[[Any, Any], Any]) -> None:
        self.merge = merge
        self._stack: list[tuple[int, int, Any]] = []  # (first leaf, leaves, value)

    def push(self, start: int, size: int, value: Any) -> None:
        """Append the node of leaves ``[start, start + size)`` (the next ones) and merge what it completes."""
        stack = self._stack
        if stack and stack[-1][0] + stack[-1][1] != start:
            raise ValueError(f"node at leaf {start} does not follow leaf {stack[-1][0] + stack[-1][1] - 1}")
        stack.append((start, size, value))
        while len(stack) > 1:
            (a, m, left), (_, k, right) = stack[-2], stack[-1]
            if m != k or a % (2 * m):
                break
            stack[-2:] = [(a, 2 * m, self.merge(left, right))]

    def nodes(self) -> list[tuple[int, int, Any]]:
        """The pending nodes ``(start, size, value)``, left to right."""
        return list(self._stack)

    def result(self) -> Any:
        """The fold of every leaf pushed (at least one)."""
        if not self._stack:
            raise ValueError("nothing was pushed")
        acc = self._stack[-1][2]
        for _, _, value in reversed(self._stack[:-1]):
            acc = self.merge(value, acc)
        return acc


def _fold_group(
    fn: Callable[..., Any], merge: Callable[[Any, Any], Any], items: list[tuple[int, tuple[Any, ...]]]
) -> tuple[int, list[tuple[int, int, Any]]]:
    """Task of a group of leaves ``(index, args)``: their tree nodes, and the number of leaves."""
    tree = PairwiseTree(merge)
    for index, args in items:
        tree.push(index, 1, fn(*args))
    return len(items), tree.nodes()


def chunks_per_task(n_leaves: int, executor: Any) -> int:
    """Chunks (leaves) folded by one task of :func:`tree_reduce` on ``executor``: 1 on local pools; on
    Dask a power of two, at most 16, leaving at least ``4 * width`` tasks (``width``: the cluster's
    worker threads), to cut the scheduler's and the client's per-task costs. The result does not depend
    on it."""
    if not _is_dask_client(executor):
        return 1
    width = max(1, sum(executor.nthreads().values()))
    g = 1
    while g < 16 and n_leaves // (2 * g) >= 4 * width:
        g *= 2
    return g


def tree_reduce(
    fn: Callable[..., Any],
    merge: Callable[[Any, Any], Any],
    args: Iterable[tuple[Any, ...]],
    n_leaves: int,
    executor: Any,
    n_threads: int,
    *,
    tree: PairwiseTree | None = None,
    start: int = 0,
    progress: Callable[[int], None] | None = None,
) -> PairwiseTree:
    """Fold ``fn(*a)`` over ``args`` (leaves ``start, start + 1, ...``; ``n_leaves`` of them) into
    ``tree`` (a new :class:`PairwiseTree` of ``merge`` if ``None``), computed on ``executor``.

    Leaves are grouped into tasks aligned on multiples of the group size (:class:`PairwiseTree` makes
    the result independent of it); ``args`` is consumed lazily, a bounded window of tasks in flight.
    ``progress`` is called with the number of leaves of each finished task, in order.
    """
    tree = PairwiseTree(merge) if tree is None else tree
    if n_leaves <= 0:
        return tree
    group = chunks_per_task(n_leaves, executor)
    indexed = zip(itertools.count(start), args)
    groups = ((list(items),) for _, items in itertools.groupby(indexed, key=lambda item: item[0] // group))
    task = functools.partial(_fold_group, fn, merge)
    for count, nodes in ordered_results(task, groups, executor, min(n_threads, -(-n_leaves // group))):
        for node in nodes:
            tree.push(*node)
        if progress is not None:
            progress(count)
    return tree
