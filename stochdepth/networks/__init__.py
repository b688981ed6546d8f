r"""Finite-depth random residual networks without torch.

The network of docs/science.md §A1 (width :math:`n`, depth :math:`L`, final depth-time :math:`t_1`),

.. math::
    Y_0=W_{\rm in}X,\qquad Y_l=Y_{l-1}+\sqrt{t_1/L}\;W_l\,\phi(Y_{l-1}),

sampled exactly in law through Gram factors (:class:`ExactLaw`, docs/science.md §A2) or with explicit weight
matrices (:class:`ExplicitWeights`), observed layer by layer with bounded memory
(:func:`sample_network`); the random input layer (:func:`sample_input_layer`); and the exact finite-depth
log-norm random walk of the linear network (:func:`sample_linear_log_norm`, docs/science.md §A4). A
:class:`NetworkSpec` describes one network for every driver (here, in ``limits`` and in ``nn``).
"""

from __future__ import annotations

from .lognorm import LogNormWalk, sample_linear_log_norm
from .observables import (
    active_counts,
    dead,
    gram,
    log_norms,
    neuron,
    post_squared_norms,
    preactivations,
    squared_norms,
)
from .sampling import (
    ExactLaw,
    ExplicitWeights,
    NetworkSample,
    NetworkSampler,
    default_chunk_size,
    psd_factor,
    sample_input_layer,
    sample_network,
)
from .spec import NetworkSpec, as_network_spec

__all__ = [
    "ExactLaw",
    "ExplicitWeights",
    "LogNormWalk",
    "NetworkSample",
    "NetworkSampler",
    "NetworkSpec",
    "active_counts",
    "as_network_spec",
    "dead",
    "default_chunk_size",
    "gram",
    "log_norms",
    "neuron",
    "post_squared_norms",
    "preactivations",
    "psd_factor",
    "sample_input_layer",
    "sample_linear_log_norm",
    "sample_network",
    "squared_norms",
]
