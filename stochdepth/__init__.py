"""stochdepth: stochastic analysis of the depth of neural networks.

Two research programmes in one library (see the README and ``theory/`` for the claims):

* the infinite-depth limit of finite-width random residual networks (:mod:`stochdepth.networks`,
  :mod:`stochdepth.sde`, :mod:`stochdepth.limits`, :mod:`stochdepth.stats`);
* the optimal depth of a network as an optimal stopping problem (:mod:`stochdepth.depth`, built on the
  generic solvers of :mod:`stochdepth.stopping` and :mod:`stochdepth.freeboundary`), with torch models
  in :mod:`stochdepth.nn`;

and :mod:`stochdepth.plot` draws their results in one house style (matplotlib, the ``plot`` extra).

Subpackages are imported on first attribute access, so ``import stochdepth`` stays light and never
imports torch, dask or matplotlib.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from . import activations, random
from ._checks import NumericalError
from ._results import ConvergenceError, Estimate, Result, Status
from .activations import Activation, get_activation

try:
    __version__ = version("stochdepth")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without installing
    __version__ = "0+unknown"

_SUBPACKAGES = (
    "montecarlo",
    "networks",
    "sde",
    "limits",
    "stats",
    "stopping",
    "freeboundary",
    "depth",
    "symbolic",
    "testing",
    "nn",
    "plot",
)

__all__ = [
    "Activation",
    "ConvergenceError",
    "Estimate",
    "NumericalError",
    "Result",
    "Status",
    "__version__",
    "activations",
    "get_activation",
    "random",
    *_SUBPACKAGES,
]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBPACKAGES))
