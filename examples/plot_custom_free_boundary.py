r"""
A free-boundary problem of one's own
====================================

Any one-dimensional optimal stopping problem of a diffusion :math:`dX=b(X)\,dt+\sigma(X)\,dW` with a
gain :math:`g`, a running cost :math:`c` and a discount rate :math:`r` is an obstacle problem
(docs/science.md §B5.1): :math:`\max\big(\mathcal A V - rV - c,\ g - V\big)=0`. Here a mean-reverting
process of our own, :math:`dX=\kappa(\theta-X)\,dt+\sigma\,dW`, stopped to collect
:math:`g(x)=\max(x-1,0)` with discount :math:`r`: the coefficients are plain numpy functions of
:math:`x` (a stationary problem takes ``f(x)``, a finite-horizon one ``f(t, x)``; the problem says
which when given the wrong one). The free boundary of the stationary problem is checked against the
finite-horizon solutions, which approach it as the horizon grows.
"""

import numpy as np

from stochdepth import plot
from stochdepth.freeboundary import ObstacleProblem, StationaryObstacleProblem, UniformGrid, solve_obstacle

kappa, theta, sigma, rate = 1.0, 0.8, 0.4, 0.1
grid = UniformGrid(-1.0, 3.0, 401)


def gain(x):
    return np.maximum(x - 1.0, 0.0)


def drift(x):
    return kappa * (theta - x)


stationary = solve_obstacle(StationaryObstacleProblem(gain, drift, sigma, grid, rate=rate))
print(f"stationary free boundary: x* = {stationary.free_boundary.location:.4f}")

# The same process over a finite horizon: coefficients of (t, x).
finite = solve_obstacle(ObstacleProblem(gain, lambda t, x: drift(x), sigma, 8.0, grid, rate=rate))
boundary = finite.free_boundary
print(f"finite horizon T = 8, boundary at t = 0: {boundary.location[0]:.4f}")

try:
    ObstacleProblem(gain, drift, sigma, 8.0, grid, rate=rate)  # drift(x) where drift(t, x) is needed
except TypeError as err:
    print(err)

# %%
# Value function and free boundary of the finite-horizon problem, with the stationary boundary as the
# reference it tends to far from the horizon.
fig = plot.free_boundary(finite, reference=stationary.free_boundary.location, quantity="$x$")
