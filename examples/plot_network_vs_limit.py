r"""
Finite networks against their infinite-depth limit
==================================================

A random ResNet of width :math:`n` and depth :math:`L` with branch scale :math:`\sqrt{t_1/L}` is an
Euler scheme of the limit diffusion :math:`dX_t=\frac{\|\phi(X_t)\|}{\sqrt n}\,dB_t`
(docs/science.md §A2, §A3). The law of the log-norm of the last layer of networks of growing depth
approaches the law of the limit, which :func:`stochdepth.limits.simulate_limit` samples on a fine time
grid. Both calls answer the same question in the same shape: samples of ``log_norms`` of shape
``(n_paths, n_record, k)``.
"""

import numpy as np

from stochdepth import plot
from stochdepth.limits import simulate_limit
from stochdepth.networks import log_norms, sample_network
from stochdepth.stats import two_sample_test

x = np.ones(4)
width, t1, n_paths = 4, 1.0, 4000

limit = simulate_limit(x, width, "tanh", t1, n_steps=512, n_paths=n_paths, observe=log_norms(), rng=1)
for depth in (4, 64):
    net = sample_network(x, width, depth, "tanh", t1, n_paths=n_paths, observe=log_norms(), rng=2 + depth)
    same = net["log_norms"].samples.shape == limit["log_norms"].samples.shape
    test = two_sample_test(net["log_norms"].samples[:, -1, 0], limit["log_norms"].samples[:, -1, 0], rng=3)
    print(f"depth {depth:3d}: same sample shape as the limit: {same}, two-sample KS p = {test.pvalue:.3g}")

# %%
# The deepest networks against the limit: histograms and a detrended QQ plot with its 95% band.
fig = plot.network_law(
    net, limit, observable="log_norms", labels=(f"network, $L={depth}$", "limit"), quantity=r"$\log\|Y_L\|$"
)
