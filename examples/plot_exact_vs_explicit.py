r"""
The exact sampler against explicit weights
==========================================

Given the past, one residual layer adds a Gaussian matrix whose covariance is the Gram matrix of the
post-activations (docs/science.md §A2.1). :class:`stochdepth.networks.ExactLaw` samples that Gaussian
directly, in :math:`O(nk)` per layer, instead of drawing the :math:`n\times n` weight matrix
(:class:`stochdepth.networks.ExplicitWeights`). Both must give the same law of every observable; here,
the squared norm of the last layer for two inputs, and a two-sample test of the agreement.
"""

import numpy as np

from stochdepth import plot
from stochdepth.networks import ExactLaw, ExplicitWeights, sample_network, squared_norms
from stochdepth.stats import two_sample_test

X = np.array([[1.0, 0.0], [0.5, 1.0], [-1.0, 0.5]])  # two inputs of dimension 3
question = dict(n_paths=3000, observe=squared_norms())
exact = sample_network(X, 8, 32, "relu", 1.0, sampler=ExactLaw(), rng=10, **question)
explicit = sample_network(X, 8, 32, "relu", 1.0, sampler=ExplicitWeights(), rng=11, **question)

for k in range(2):
    a, b = exact["squared_norms"].samples[:, -1, k], explicit["squared_norms"].samples[:, -1, k]
    print(f"input {k}: two-sample KS p = {two_sample_test(a, b, rng=4).pvalue:.3g}")

# %%
# The first input's squared norm at the last layer, both samplers.
fig = plot.network_law(
    exact["squared_norms"].samples[:, -1, 0],
    explicit["squared_norms"].samples[:, -1, 0],
    labels=("exact law", "explicit weights"),
    quantity=r"$\|Y_L\|^2$",
)
