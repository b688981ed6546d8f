"""Test seeds: stable per name, shifted by ``STOCHDEPTH_TEST_SEED`` (default 0).

Kept out of ``conftest.py`` so that test modules can import it by a unique name (``import conftest``
is ambiguous when several folders hold a conftest).
"""

from __future__ import annotations

import os
import zlib

SEED_SHIFT = int(os.environ.get("STOCHDEPTH_TEST_SEED", "0"))


def seed_for(name: str) -> int:
    """A seed for ``name``, stable across runs and shifted by ``STOCHDEPTH_TEST_SEED``."""
    return (zlib.crc32(name.encode()) + 7919 * SEED_SHIFT) % 2**32
