r"""
Early exit on a trained network
===============================

A trained residual network with an exit head after every block can stop early on easy inputs
(docs/science.md §B7). Here a tiny residual MLP (:class:`stochdepth.nn.ResidualMLP`) is trained with
deep supervision on the 8x8 digits of scikit-learn, and its outputs on the validation and test splits
are recorded once as :class:`stochdepth.depth.Trace` objects. Exit policies are then fitted on the
first (the calibration split) and evaluated on the second without running the network again.

A policy decides from what the network computes (each exit's confidence, entropy, margin, and how long
its prediction has stood); the label enters only through the reward it is fitted on and judged by
(:class:`stochdepth.depth.ExitProblem`). Swept over its threshold, or over the price :math:`c` of a
layer, each policy traces accuracy against mean depth: the confidence threshold of BranchyNet, the
Bellman policy of regression Monte Carlo, and the label-aware oracle as a ceiling no policy can reach.
"""

import numpy as np
import torch

from stochdepth import plot
from stochdepth.depth import BellmanExit, ConfidenceExit, ExitProblem, OracleExit, policy_curve
from stochdepth.nn import DeepSupervision, ResidualMLP, fit, load_digits, record_trace

torch.set_num_threads(1)
data = load_digits(rng=0)
model = ResidualMLP(int(np.prod(data.input_shape)), 32, 6, data.n_classes, rng=0)
history = fit(
    model,
    DeepSupervision(),
    (data.train.x, data.train.y),
    (data.val.x, data.val.y),
    epochs=15,
    batch_size=64,
    seed=0,
    progress=False,
)
calibration = ExitProblem.from_trace(record_trace(model, data.val, split="calibration", rng=0))
test = ExitProblem.from_trace(record_trace(model, data.test, split="test", rng=0))
print(f"trained {history.epochs_run} epochs; accuracy of each exit on the test split:")
print(np.round(test.correct.mean(axis=0), 3))

costs = np.geomspace(1e-4, 0.1, 12)
curves = [
    policy_curve(ConfidenceExit(), calibration, test, np.linspace(0.5, 0.999, 12), rng=0),
    policy_curve(BellmanExit(), calibration, test, costs, rng=1),
    policy_curve(OracleExit(), calibration, test, costs, rng=2),
]
for curve in curves:
    shallow, deep = curve.mean_depth.argmin(), curve.mean_depth.argmax()
    print(
        f"{curve.label}: {curve.mean_depth[shallow]:.2f} layers (accuracy {curve.accuracy[shallow]:.3f}) "
        f"to {curve.mean_depth[deep]:.2f} layers (accuracy {curve.accuracy[deep]:.3f})"
    )

# %%
# Accuracy against the mean exit depth, with 95% bootstrap bands over the test samples; the star is the
# full network.
full = (float(test.n_exits), float(test.correct[:, -1].mean()))
fig = plot.accuracy_curve(curves, full=full)

# %%
# Where the samples leave under the Bellman policy, at three prices of a layer.
fig = plot.exit_histograms(curves[1])
