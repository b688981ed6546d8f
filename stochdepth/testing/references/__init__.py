"""Slow, direct reference implementations of the library's algorithms, for tests and benchmarks.

Each reference computes what a library routine computes by the most direct means (plain numpy or
python loops, dense matrices, enumeration, a different principle where there is one), so a test can
compare the two and a benchmark can measure what the fast version buys. One module per domain:

* :mod:`.stopping`: backward induction (banded and dense), Longstaff--Schwartz on a max-call, the best
  Markov rule by enumeration;
* :mod:`.trees`: every path, every stopping rule and the Snell envelope on the tree of histories;
* :mod:`.freeboundary`: LCP solvers (least element by linear programming, PSOR, Brennan--Schwartz,
  policy iteration) and the theta-scheme march with dense matrices;
* :mod:`.stats`: two-sample statistics from the samples themselves, the exact lattice KS tail;
* :mod:`.networks`: the exact-law sampler (pivoted Cholesky factor included) and the log-norm walk,
  with the kernels' draw order;
* :mod:`.sde`: the Euler--Maruyama / Milstein kernels in python with the same random numbers.

The library never imports this package.
"""

from .freeboundary import (
    brennan_schwartz_reference,
    dense_from_bands,
    lcp_least_element,
    policy_iteration_reference,
    psor_reference,
    theta_march_reference,
)
from .networks import reference_exact, reference_factor, reference_log_norm_walk
from .sde import reference_levels, reference_paths
from .stats import ad_2samp, cvm_2samp, ks_2samp, lattice_ks_sf
from .stopping import (
    banded_backward_induction,
    dense_backward_induction,
    enumerate_markov_rules,
    gbm_paths,
    longstaff_schwartz_max_call,
)
from .trees import (
    HistoryPaths,
    brute_force_rules,
    enumerate_histories,
    problem_arrays,
    stopping_law,
    tree_snell,
)

__all__ = [
    "HistoryPaths",
    "ad_2samp",
    "banded_backward_induction",
    "brennan_schwartz_reference",
    "brute_force_rules",
    "cvm_2samp",
    "dense_backward_induction",
    "dense_from_bands",
    "enumerate_histories",
    "enumerate_markov_rules",
    "gbm_paths",
    "ks_2samp",
    "lattice_ks_sf",
    "lcp_least_element",
    "longstaff_schwartz_max_call",
    "policy_iteration_reference",
    "problem_arrays",
    "psor_reference",
    "reference_exact",
    "reference_factor",
    "reference_levels",
    "reference_log_norm_walk",
    "reference_paths",
    "stopping_law",
    "theta_march_reference",
    "tree_snell",
]
