r"""
A Bermudan option against its reference
=======================================

The stopping solvers of :mod:`stochdepth.stopping` know nothing of networks: the same regression Monte
Carlo that stops a network (docs/science.md §B1.3) prices a Bermudan put. Longstaff--Schwartz gives a
lower bound (the value of its policy on fresh paths) and a dual upper bound, an interval that must hold
the price; the reference is a fine lattice (:func:`stochdepth.stopping.finance.bermudan_put_grid`).
The example is the classical one of Longstaff and Schwartz (2001): :math:`S_0=36`, :math:`K=40`,
:math:`r=6\%`, :math:`\sigma=20\%`, one year, 50 exercise dates.
"""

from stochdepth import plot
from stochdepth.stopping import AndersenBroadie, LongstaffSchwartz, Polynomial, solve_stopping
from stochdepth.stopping.finance import GeometricBrownianMotion, Put, bermudan_problem, bermudan_put_grid

spot, strike, rate, vol, maturity, dates = 36.0, 40.0, 0.06, 0.2, 1.0, 50
gbm = GeometricBrownianMotion(spot, rate=rate, volatility=vol, maturity=maturity, n_dates=dates)
solver = LongstaffSchwartz(
    Polynomial(3), n_paths=20_000, n_eval=20_000, itm_only=True, dual=AndersenBroadie(n_outer=200, n_inner=50)
)
ls = solve_stopping(bermudan_problem(gbm, Put(strike)), solver, rng=7)
reference = bermudan_put_grid(spot, strike, rate=rate, volatility=vol, maturity=maturity, n_dates=dates)

lo, hi = ls.interval
print(f"lattice reference   {reference.value:.4f} (error estimate {reference.error_estimate:.1e})")
print(f"Longstaff-Schwartz  lower {ls.lower.value:.4f} +- {ls.lower.stderr:.4f}, upper {ls.upper.value:.4f}")
print(f"95% interval        [{lo:.4f}, {hi:.4f}] holds the reference: {lo <= reference.value <= hi}")

# %%
# The law of the exercise date of the fitted policy, in years.
fig = plot.depth_law(ls.depth, step=maturity / dates, label="exercise date (years)")
