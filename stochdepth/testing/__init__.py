"""Tools for testing code that uses stochdepth, and the ones stochdepth's own tests, theorem book and
campaigns share.

* :mod:`.tolerance`: the tolerance policy of statistical checks (:data:`Z_MAX`, :data:`ALPHA`,
  :func:`within_z`);
* :mod:`.convergence`: convergence orders fitted on refinement sequences, with their interval
  (:func:`~.convergence.fitted_order`);
* :mod:`.generators`: random problem generators driven by ``rng`` (random stochastic matrices, Markov
  stopping problems, monotone chains by construction);
* :mod:`.exit_traces`: synthetic traces of early-exit networks whose optimal exit policy is known;
* :mod:`.strategies`: hypothesis strategies, one module per domain (needs hypothesis, a test extra);
* :mod:`.references`: slow, direct reference implementations of the library's algorithms;
* :mod:`.quantlib`: QuantLib's American put as an external reference (needs QuantLib, the ``validation``
  extra).

``import stochdepth`` does not import this package; ``import stochdepth.testing`` imports neither
hypothesis nor QuantLib: :mod:`.convergence`, :mod:`.strategies`, :mod:`.references` and
:mod:`.quantlib` load on first access (``stochdepth.testing.strategies`` or
``from stochdepth.testing.strategies import ...``). The library itself never imports this package.
"""

from __future__ import annotations

import importlib
from typing import Any

from .tolerance import ALPHA, Z_MAX, within_z

_SUBMODULES = ("convergence", "exit_traces", "generators", "quantlib", "references", "strategies")

__all__ = ["ALPHA", "Z_MAX", "within_z", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES))
