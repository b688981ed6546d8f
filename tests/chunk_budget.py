"""An executor that stops a Monte Carlo run after a few chunks, to test huge counts in bounded time.

Kept out of ``conftest.py`` so that test modules of every folder can import it by a unique name.
``run_a_few_chunks(call)`` runs ``call(executor)`` under :mod:`tracemalloc`; the executor runs chunk tasks
inline and raises :class:`BudgetSpent` at the submission after ``chunks`` tasks, having recorded the
peak of the memory traced since the call began at every submission. A run whose memory grows with its
count before the first chunk (the streams of every chunk made up front) shows it in ``peaks[0]``.
"""

from __future__ import annotations

import tracemalloc
from concurrent.futures import Executor, Future
from typing import Any

import pytest


class BudgetSpent(Exception):
    """Raised by :class:`ChunkBudget` when its chunks are spent."""


class ChunkBudget(Executor):
    """Runs ``chunks`` tasks inline, then refuses (``BudgetSpent``); ``peaks`` holds the traced memory
    peak (bytes) at each submission."""

    _max_workers = 1

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.peaks: list[int] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        self.peaks.append(tracemalloc.get_traced_memory()[1])
        if len(self.peaks) > self.chunks:
            raise BudgetSpent(f"{self.chunks} chunks ran")
        fut: Future = Future()
        fut.set_result(fn(*args, **kwargs))
        return fut


def run_a_few_chunks(call: Any, chunks: int = 3) -> ChunkBudget:
    """Run ``call(executor)`` until ``chunks`` chunk tasks ran; return the executor (its ``peaks``)."""
    budget = ChunkBudget(chunks)
    tracemalloc.start()
    try:
        with pytest.raises(BudgetSpent):
            call(budget)
    finally:
        tracemalloc.stop()
    assert len(budget.peaks) == chunks + 1, "the run stopped before its chunks were spent"
    return budget
