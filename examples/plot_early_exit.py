r"""
Early exit on a trained network
===============================

A trained residual network with an exit head after every block can stop early on easy inputs
(docs/science.md §B7). Here a tiny residual MLP (:class:`stochdepth.nn.ResidualMLP`) is trained with
deep supervision on the 8x8 digits of scikit-learn, its outputs on the test split are recorded once as a
:class:`stochdepth.depth.Trace`, and the simplest exit rule is evaluated on the trace without running
the network again: leave at the first exit whose confidence :math:`\max_c p_l(c)` reaches a threshold
:math:`\lambda` (the last exit otherwise). Sweeping :math:`\lambda` trades accuracy for depth.
"""

from types import SimpleNamespace

import numpy as np
import torch
from scipy import stats

from stochdepth import plot
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
trace = record_trace(model, data.test, split="test")
print(f"trained {history.epochs_run} epochs; accuracy of each exit on the test split:")
print(np.round(trace.accuracy(), 3))


def confidence_threshold(trace, thresholds):
    """The exit of each sample for each threshold, and the policy's points as a curve for the plots."""
    n, n_exits = trace.confidence.shape
    reached = trace.confidence[None, :, :] >= np.asarray(thresholds)[:, None, None]
    reached[:, :, -1] = True  # the last exit always answers
    exits = reached.argmax(axis=2)  # (points, samples), 0-based
    correct = np.take_along_axis(np.broadcast_to(trace.correct, (*exits.shape, n_exits)), exits[..., None], 2)
    k = correct[..., 0].sum(axis=1)
    z = stats.norm.ppf(0.975)  # Wilson 95% interval of each accuracy
    centre = (k + z**2 / 2) / (n + z**2)
    half = z * np.sqrt(k * (n - k) / n + z**2 / 4) / (n + z**2)
    return SimpleNamespace(
        label="confidence threshold",
        level=0.95,
        mean_depth=exits.mean(axis=1) + 1.0,
        mean_flops=trace.flops[exits].mean(axis=1),
        accuracy=k / n,
        accuracy_low=centre - half,
        accuracy_high=centre + half,
        exit_histograms=np.stack([np.bincount(e, minlength=n_exits) for e in exits]),
    )


curve = confidence_threshold(trace, np.linspace(0.5, 0.999, 12))
full = (trace.accuracy().size, float(trace.accuracy()[-1]))
for depth, acc in zip(curve.mean_depth[::3], curve.accuracy[::3]):
    print(f"mean exit depth {depth:.2f}: accuracy {acc:.3f}")

# %%
# Accuracy against the mean exit depth, with 95% Wilson bands; the star is the full network.
fig = plot.accuracy_curve(curve, full=full)

# %%
# Where the samples leave, at three thresholds.
fig = plot.exit_histograms(curve)
