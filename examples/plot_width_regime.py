r"""
The change of regime between widths 3 and 4
===========================================

At fixed width :math:`n` and infinite depth, the post-activation norm of a ReLU residual network
follows :math:`d\log\|\phi(X_t)\|^2 = \big(\tfrac12-\tfrac{2}{\mu_t}\big)\,\tfrac{\mu_t}{n}\,dt + \dots`
(docs/science.md §A5.1, §A5.4), where :math:`\mu_t` is the number of active units. The drift of the
log-norm changes sign between :math:`n=3` and :math:`n=4`: narrow networks shrink the norm, wider ones
grow it. :func:`stochdepth.limits.relu_regime` estimates :math:`\mathbb E\log\|\phi(X_t)\|^2` along
depth-time for several widths (with a control variate), and :func:`stochdepth.plot.width_regime` draws it.
"""

import numpy as np

from stochdepth import plot
from stochdepth.limits import relu_regime

regime = relu_regime([2, 3, 4, 5, 8], t1=1.0, n_steps=64, n_paths=4000, n_times=9, rng=2023)

# the sign of the drift of the log-norm at the end of the horizon, width by width
for width, sign, z in zip(regime.widths, regime.sign, regime.final_z):
    print(f"width {width}: drift sign {int(sign):+d} (z = {z:+.1f})")

fig = plot.width_regime(regime)

# %%
# Widths 2 and 3 have a negative log-norm drift and widths 4 and above a positive one, as the
# critical width 4 of docs/science.md §A5.4 says. A longer horizon shows the second fact of §A5.5:
# every finite width eventually loses units, and the regime is a statement about moderate depths.
print(np.round(regime.mean[:, -1], 3))
