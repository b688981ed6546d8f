"""Torch explicit-weight networks and the exact-in-law sampler have the same law (docs/science.md §A2, Part
C).

For each configuration (width n, depth L, k inputs, activation, dtype), ``sample_torch_network`` and
``sample_network(..., sampler=ExactLaw())`` each draw N = 20000 independent networks, and a family of
two-sample Kolmogorov-Smirnov tests (``stochdepth.stats``, asymptotic p-values) compares, at every
recorded layer: the squared norm and neuron 0 of each input, the log-norm ratio log(|Y_l| / |Y_0|) of
each input, and the off-diagonal entries of the width-normalised Gram matrix. The family is controlled
with Holm's method at family-wise level 1e-6, so a false alarm has probability < 1e-6 per configuration,
whatever the seed. float32 networks are compared with the float64 exact sampler: float32 rounding
(relative 1e-7) is far below what N = 20000 can resolve (KS resolution ~ 1 / sqrt(N) ~ 1e-2).

Power (test_battery_rejects_a_wrong_variance_scaling): torch networks with a 40 % larger branch
variance (t1 = 1.4 against 1.0) are rejected. Measured over 20 seeds: the smallest Holm-adjusted
p-value was at most 1.2e-21 (median 7e-28; -ln p = 63 +- 10, so the threshold -ln 1e-6 = 13.8 is 5
standard deviations away). Under the null, over 5 seeds per configuration, the smallest adjusted p-value
was 0.05.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _nn_testing import DEVICES  # noqa: E402

from stochdepth.networks import ExactLaw, gram, neuron, sample_network, squared_norms  # noqa: E402
from stochdepth.nn import sample_torch_network  # noqa: E402
from stochdepth.stats import KolmogorovSmirnov, test_family, two_sample_test  # noqa: E402
from stochdepth.testing import ALPHA  # noqa: E402

N = 20000
KS = KolmogorovSmirnov(exact=False)

X1 = np.array([0.7, -1.2, 0.4])
X2 = np.array([[1.0, 0.2], [-0.5, 1.0], [0.3, 0.3]])
X3 = np.array([[1.0, 0.2, -1.0], [-0.5, 1.0, 0.1], [0.3, 0.3, 0.8], [0.0, 1.0, 1.0]])

# name: (x, width, depth, activation, recorded layers, t1, dtype)
CONFIGS = {
    "relu-n4-L8-k1": (X1, 4, 8, "relu", [0, 4, 8], 1.0, torch.float64),
    "relu-n3-L6-k3": (X3, 3, 6, "relu", [0, 3, 6], 1.0, torch.float64),
    "tanh-n5-L4-k2-t2": (X2, 5, 4, "tanh", [0, 4], 2.0, torch.float64),
    "linear-n4-L10-k3": (X3, 4, 10, "linear", [0, 5, 10], 1.0, torch.float64),
    "gelu-n6-L5-k2-float32": (X2, 6, 5, "gelu", [0, 5], 1.0, torch.float32),
    "relu-n8-L16-k2-float32": (X2, 8, 16, "relu", [0, 8, 16], 1.0, torch.float32),
}

OBSERVE = [squared_norms(), neuron(0), gram()]


def battery(a, b) -> dict[str, object]:
    """Two-sample KS tests comparing two NetworkSample results, by name."""
    tests = {}
    sq_a, sq_b = a["squared_norms"].samples, b["squared_norms"].samples
    ne_a, ne_b = a["neuron_0"].samples, b["neuron_0"].samples
    gr_a, gr_b = a["gram"].samples, b["gram"].samples
    for j, layer in enumerate(a.layers):
        for i in range(a.n_inputs):
            tests[f"sq[{layer},{i}]"] = two_sample_test(sq_a[:, j, i], sq_b[:, j, i], method=KS)
            tests[f"neuron[{layer},{i}]"] = two_sample_test(ne_a[:, j, i], ne_b[:, j, i], method=KS)
            if layer > 0:
                ra = 0.5 * np.log(sq_a[:, j, i] / sq_a[:, 0, i])
                rb = 0.5 * np.log(sq_b[:, j, i] / sq_b[:, 0, i])
                tests[f"logratio[{layer},{i}]"] = two_sample_test(ra, rb, method=KS)
            for i2 in range(i + 1, a.n_inputs):
                tests[f"gram[{layer},{i},{i2}]"] = two_sample_test(
                    gr_a[:, j, i, i2], gr_b[:, j, i, i2], method=KS
                )
    return tests


def _draw_pair(config, device, seed, torch_t1=None):
    x, width, depth, act, layers, t1, dtype = CONFIGS[config]
    torch_res = sample_torch_network(
        x,
        width,
        depth,
        act,
        n_paths=N,
        t1=t1 if torch_t1 is None else torch_t1,
        record=layers,
        observe=OBSERVE,
        rng=seed,
        device=device,
        dtype=dtype,
    )
    exact = sample_network(
        x,
        width,
        depth,
        act,
        n_paths=N,
        sampler=ExactLaw(),
        t1=t1,
        record=layers,
        observe=OBSERVE,
        rng=seed + 1,
    )
    return torch_res, exact


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_torch_networks_equal_exact_law_in_law(config, device, seed):
    torch_res, exact = _draw_pair(config, device, seed)
    assert torch_res.sampler.startswith("torch_explicit_weights") and exact.sampler == "exact_law"
    family = test_family(battery(torch_res, exact), alpha=ALPHA)
    assert not family.any_rejected, f"{config} on {device}:\n{family.summary()}"


@pytest.mark.parametrize("device", DEVICES)
def test_battery_rejects_a_wrong_variance_scaling(device, seed):
    """Power: a 40 % error in the branch variance is detected by the same battery (see module doc)."""
    torch_res, exact = _draw_pair("relu-n4-L8-k1", device, seed, torch_t1=1.4)
    family = test_family(battery(torch_res, exact), alpha=ALPHA)
    assert family.any_rejected
