"""Test configuration of stochdepth.nn.

Torch's CPU operations here are small (batches of small matrices): with intra-op threads on a loaded
machine they spend their time waiting for each other (10x slower measured on the 2-core project
machine), so every test of this folder runs with one torch thread, restored afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

try:
    import torch
except ImportError:  # the test modules skip themselves
    torch = None


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
