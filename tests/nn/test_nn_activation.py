"""Torch forms of the activations (stochdepth.nn.torch_activation) against their numpy forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from stochdepth import Activation, get_activation
from stochdepth.activations import leaky_relu
from stochdepth.nn import torch_activation

NAMES = ["linear", "relu", "tanh", "gelu", "leaky_relu"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_torch_form_agrees_with_numpy(name, dtype):
    act = get_activation(name)
    x = np.linspace(-3, 3, 13)
    y = torch_activation(act)(torch.tensor(x, dtype=dtype)).double().numpy()
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    np.testing.assert_allclose(y, act(x), rtol=tol, atol=tol)


def test_leaky_slope_reaches_torch():
    x = torch.tensor([-2.0, 3.0], dtype=torch.float64)
    assert torch_activation(leaky_relu(0.2))(x).tolist() == [-0.4, 3.0]


def test_custom_activation_needs_torch_fn():
    plain = Activation.custom("softplus", lambda v: math.log1p(math.exp(v)), lipschitz=1.0)
    with pytest.raises(ValueError, match=r"softplus.*torch_fn"):
        torch_activation(plain)
    own = Activation.custom(
        "softplus", lambda v: math.log1p(math.exp(v)), lipschitz=1.0, torch_fn=torch.nn.functional.softplus
    )
    assert torch_activation(own) is torch.nn.functional.softplus
