"""Shared helpers of the tests of stochdepth.nn: available devices and slow references."""

from __future__ import annotations

import math

import numpy as np
import torch

from stochdepth.activations import Activation
from stochdepth.nn._device import torch_generator
from stochdepth.random import chunk_generators

#: Devices every device-dependent test runs on: the CPU, and CUDA when this machine has it.
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def hand_forward(net, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """docs/science.md §A1 written out with numpy float64 loops, from the weights of a RandomResNet.

    x has shape (batch, d) (inputs as rows); returns Y_L (batch, n) and the list [Y_0, ..., Y_L].
    """
    w_in = net.input_weight.detach().to("cpu", torch.float64).numpy()
    w = net.weight.detach().to("cpu", torch.float64).numpy()
    act = net.activation
    s = math.sqrt(net.t1 / net.depth)
    out = np.empty((x.shape[0], w_in.shape[0]))
    states = [np.empty_like(out) for _ in range(net.depth + 1)]
    for b in range(x.shape[0]):
        y = np.array([sum(w_in[i, j] * x[b, j] for j in range(w_in.shape[1])) for i in range(w_in.shape[0])])
        states[0][b] = y
        for l in range(1, net.depth + 1):
            p = act.fn(y)
            y = y + s * np.array([sum(w[l - 1, i, j] * p[j] for j in range(len(p))) for i in range(len(p))])
            states[l][b] = y
        out[b] = y
    return out, states


def reference_sample(
    X: np.ndarray,
    width: int,
    depth: int,
    act: Activation,
    t1: float,
    layers: list[int],
    n_paths: int,
    rng: int,
    chunk: int,
    batch: int,
    device: str,
    dtype: torch.dtype,
) -> np.ndarray:
    """Slow reference of TorchExplicitWeights: the documented draw order, one network at a time.

    Per chunk, a torch generator seeded from the chunk's spawned stream; per batch of the chunk, the
    normals Z_in (b, n, d), then Z_1, ..., Z_last (b, n, n) each; network i of the batch is
    W_in = Z_in[i] / sqrt(d), W_l = Z_l[i] / sqrt(n), pushed through A1 in float64 numpy.
    """
    d, k = X.shape
    last = layers[-1]
    out = np.empty((n_paths, len(layers), width, k))
    for a, b_end, gen in chunk_generators(rng, n_paths, chunk):
        tgen = torch_generator(gen, torch.device(device))
        for b0 in range(a, b_end, batch):
            b = min(b_end, b0 + batch) - b0
            z_in = torch.empty((b, width, d), dtype=dtype, device=device).normal_(generator=tgen)
            zs = [
                torch.empty((b, width, width), dtype=dtype, device=device).normal_(generator=tgen)
                for _ in range(last)
            ]
            z_in = z_in.to("cpu", torch.float64).numpy()
            zs = [z.to("cpu", torch.float64).numpy() for z in zs]
            for i in range(b):
                y = (z_in[i] / math.sqrt(d)) @ X
                if 0 in layers:
                    out[b0 + i, layers.index(0)] = y
                for l in range(1, last + 1):
                    y = y + math.sqrt(t1 / depth) * ((zs[l - 1][i] / math.sqrt(width)) @ act.fn(y))
                    if l in layers:
                        out[b0 + i, layers.index(l)] = y
    return out
