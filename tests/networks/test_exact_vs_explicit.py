"""ExactLaw and ExplicitWeights sample the same law (docs/science.md §A2), by two-sample tests.

For each configuration (width n, depth L, k inputs, activation) both samplers draw N = 20000 independent
networks and a family of two-sample tests compares, at every recorded layer: the squared norm and one
neuron of each input (Kolmogorov-Smirnov), the log-norm ratio log(|Y_l| / |Y_0|) of each input (KS), the
off-diagonal entries of the width-normalised Gram matrix (KS), and the number of active neurons of each
input (chi-square homogeneity test). The family is controlled with Holm's method: it passes when the
smallest Holm-adjusted p-value exceeds 1e-6, so a false alarm has probability < 1e-6 per configuration,
whatever the seed.

Power (measured over seeds 0..29 on the relu-n4-L8-k1 configuration, N = 20000 each): with the branch
variance of the exact sampler wrong by 30 % (t1 = 1.3 against 1.0) the battery rejected 30/30 times
(worst adjusted p 5e-13, median 1e-18); wrong by 40 % (t1 = 1.4), worst adjusted p 3e-23 (-ln p = 68 +- 8,
so p < 1e-6 sits 6.7 standard deviations away): that is the case asserted in
test_battery_rejects_a_wrong_variance_scaling.
"""

from __future__ import annotations

import numpy as np
import pytest
from _network_testing import counts_pvalue, holm_min_adjusted, ks_pvalue

from stochdepth.networks import (
    ExactLaw,
    ExplicitWeights,
    active_counts,
    gram,
    neuron,
    sample_network,
    squared_norms,
)
from stochdepth.testing import ALPHA

N = 20000

X1 = np.array([0.7, -1.2, 0.4])
X2 = np.array([[1.0, 0.2], [-0.5, 1.0], [0.3, 0.3]])
X3 = np.array([[1.0, 0.2, -1.0], [-0.5, 1.0, 0.1], [0.3, 0.3, 0.8], [0.0, 1.0, 1.0]])

CONFIGS = {
    "relu-n4-L8-k1": (X1, 4, 8, "relu", [0, 4, 8]),
    "relu-n3-L6-k3": (X3, 3, 6, "relu", [0, 3, 6]),
    "tanh-n5-L4-k3": (X3, 5, 4, "tanh", [0, 4]),
    "linear-n4-L10-k3": (X3, 4, 10, "linear", [0, 5, 10]),
    "gelu-n6-L5-k2": (X2, 6, 5, "gelu", [0, 5]),
}

OBSERVE = [squared_norms(), neuron(0), gram(), active_counts()]


def _draw(X, width, depth, act, layers, sampler, t1, rng):
    return sample_network(
        X, width, depth, act, n_paths=N, sampler=sampler, t1=t1, record=layers, observe=OBSERVE, rng=rng
    )


def battery(a, b) -> dict[str, float]:
    """p-values of the two-sample family comparing two NetworkSample results."""
    k = a.n_inputs
    p = {}
    sq_a, sq_b = a["squared_norms"].samples, b["squared_norms"].samples
    for j, layer in enumerate(a.layers):
        for i in range(k):
            p[f"sq[{layer},{i}]"] = ks_pvalue(sq_a[:, j, i], sq_b[:, j, i])
            p[f"neuron[{layer},{i}]"] = ks_pvalue(
                a["neuron_0"].samples[:, j, i], b["neuron_0"].samples[:, j, i]
            )
            p[f"active[{layer},{i}]"] = counts_pvalue(
                a["active_counts"].samples[:, j, i], b["active_counts"].samples[:, j, i]
            )
            if layer > 0:
                ra = 0.5 * np.log(sq_a[:, j, i] / sq_a[:, 0, i])
                rb = 0.5 * np.log(sq_b[:, j, i] / sq_b[:, 0, i])
                p[f"logratio[{layer},{i}]"] = ks_pvalue(ra, rb)
            for i2 in range(i + 1, k):
                p[f"gram[{layer},{i},{i2}]"] = ks_pvalue(
                    a["gram"].samples[:, j, i, i2], b["gram"].samples[:, j, i, i2]
                )
    return p


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_exact_law_equals_explicit_weights_in_law(config, seed):
    X, width, depth, act, layers = CONFIGS[config]
    exact = _draw(X, width, depth, act, layers, ExactLaw(), 1.0, seed)
    explicit = _draw(X, width, depth, act, layers, ExplicitWeights(), 1.0, seed + 1)
    assert exact.sampler == "exact_law" and explicit.sampler == "explicit_weights"
    pvalues = battery(exact, explicit)
    adjusted, worst = holm_min_adjusted(pvalues)
    assert adjusted > ALPHA, f"{config}: {worst} p = {pvalues[worst]:.3g} (Holm-adjusted {adjusted:.3g})"


def test_battery_rejects_a_wrong_variance_scaling(seed):
    """Power: a 40 % error in the branch variance (t1 = 1.4 vs 1.0) is detected by the same battery.

    Measured with seeds 0..29: -ln(adjusted p) = 68 +- 8 (worst p 3e-23), so the assertion
    (adjusted p < 1e-6, i.e. -ln p > 13.8) holds with a margin of about 6.7 standard deviations.
    """
    X, width, depth, act, layers = CONFIGS["relu-n4-L8-k1"]
    wrong = _draw(X, width, depth, act, layers, ExactLaw(), 1.4, seed)
    explicit = _draw(X, width, depth, act, layers, ExplicitWeights(), 1.0, seed + 1)
    adjusted, _ = holm_min_adjusted(battery(wrong, explicit))
    assert adjusted < ALPHA
