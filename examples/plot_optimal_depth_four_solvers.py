r"""
The optimal depth of a random ResNet, four ways
===============================================

Add layers to a wide linear random ResNet while the gain :math:`-(Y-a)^2` of its log-norm
:math:`Y` beats the cost :math:`c` per unit of depth-time. In the infinite-depth limit :math:`Y` is a
Brownian motion with drift :math:`m=\tfrac12-\tfrac1n` and volatility :math:`s=1/\sqrt n`
(docs/science.md §A4, §B6): stop when :math:`Y` first reaches :math:`y^\star=a-c/(2m)`, and the optimal
depth is inverse Gaussian. The library reaches :math:`y^\star` four independent ways (§B6.5):

1. symbolically, by smooth fit on the SDE derived from the network (:mod:`stochdepth.symbolic`);
2. with the free-boundary solver (:mod:`stochdepth.freeboundary`);
3. by backward induction on the finite-depth network's exact log-norm walk
   (:func:`~stochdepth.depth.log_norm_bridge`);
4. by regression Monte Carlo on simulated networks (:class:`~stochdepth.stopping.LongstaffSchwartz`),
   an interval for the value.
"""

import sympy as sp

from stochdepth import plot
from stochdepth.depth import (
    LinearResNetSimulator,
    linear_resnet_depth_problem,
    linear_resnet_optimal_depth,
    log_norm_bridge,
)
from stochdepth.freeboundary import solve_obstacle
from stochdepth.stopping import (
    LongstaffSchwartz,
    Polynomial,
    RegressionMartingale,
    SimulatedStoppingProblem,
    solve_stopping,
)
from stochdepth.symbolic import derive_linear_log_norm_sde, solve_smooth_fit

n, a, c, y0 = 16, 0.5, 0.2, 0.0
closed = linear_resnet_optimal_depth(n, a, c)

# 1. symbolic smooth fit on the derived SDE of the log-norm
sde = derive_linear_log_norm_sde(n)
smooth = solve_smooth_fit(
    -((sde.variable - a) ** 2), sde.drift, sde.volatility, variable=sde.variable, cost=c
)
# 2. the stationary obstacle problem
pde = solve_obstacle(linear_resnet_depth_problem(n, a, c))
# 3. the finite network of depth L: Snell envelope of its exact log-norm walk
L = 64
bridge = log_norm_bridge(n, L, a, c, y0=y0, points_per_sd=8, law=True)
# 4. Longstaff-Schwartz on simulated networks of L layers per unit of depth-time, up to depth-time 3
h = 1.0 / L
networks = SimulatedStoppingProblem(LinearResNetSimulator(n, L, a, state="log_norm"), 3 * L, c * h)
# the dual upper bound from a regression martingale with a few inner paths (Andersen-Broadie's nested
# simulation, the default, is far costlier on 192 layers)
dual = RegressionMartingale(n_inner=8, n_paths=2500)
lsmc = solve_stopping(networks, LongstaffSchwartz(Polynomial(3), n_paths=2500, n_eval=2500, dual=dual), rng=5)

print(f"closed form      y* = {closed.boundary:.4f}   value {closed.value(y0):.4f}")
print(f"symbolic         y* = {float(sp.N(smooth.boundary)):.4f}")
print(f"free boundary    y* = {pde.free_boundary.location:.4f}")
print(f"network, L = {L}  y* = {bridge.threshold:.4f}   value {bridge.value:.4f}")
lo, hi = lsmc.interval
print(
    f"regression MC    value in [{lo:.4f}, {hi:.4f}] ({lsmc.level:.0%}; the upper bound {lsmc.upper_method})"
)

# %%
# The law of the optimal depth of the finite network (bars, in depth-time) against the inverse
# Gaussian law of the limit (curve).
fig = plot.depth_law(
    bridge.depth_law,
    reference=closed.depth_law(y0),
    step=h,
    label=f"network, $L={L}$",
    reference_label="limit",
)
