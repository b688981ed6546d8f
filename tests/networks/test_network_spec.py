"""NetworkSpec: one description of a random ResNet accepted by every driver, and the sampler base class."""

from __future__ import annotations

import numpy as np
import pytest

from stochdepth.activations import get_activation
from stochdepth.limits import limit_sde, simulate_limit
from stochdepth.networks import (
    ExactLaw,
    NetworkSampler,
    NetworkSpec,
    as_network_spec,
    sample_network,
    squared_norms,
)


def test_fields_are_validated_and_normalised():
    x = np.array([1.0, 2.0])
    spec = NetworkSpec(np.int64(4), 8, "tanh", t1=2, inputs=x)
    assert (spec.width, spec.depth, spec.t1) == (4, 8, 2.0)
    assert spec.activation is get_activation("tanh")
    assert (spec.input_dim, spec.n_inputs) == (2, 1)
    assert spec.input_matrix.shape == (2, 1) and spec.input_matrix.flags.writeable
    x[0] = 9.0  # the spec holds its own read-only copy
    assert spec.inputs[0] == 1.0 and not spec.inputs.flags.writeable
    assert repr(spec) == "NetworkSpec(width=4, depth=8, activation='tanh', t1=2, inputs=array of shape (2,))"
    assert spec == NetworkSpec(4, 8, "tanh", 2.0, inputs=[1.0, 2.0]) and spec != spec.replace(t1=1.0)
    assert NetworkSpec(3, None).depth is None


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(width=0, depth=2), ValueError, "width"),
        (dict(width=2, depth=0), ValueError, "depth"),
        (dict(width=2, depth=2, activation="nope"), ValueError, "activation"),
        (dict(width=2, depth=2, t1=0.0), ValueError, "t1"),
        (dict(width=2, depth=2, inputs=[np.nan]), ValueError, "inputs"),
        (dict(width=2, depth=2, inputs=np.ones((2, 2, 2))), ValueError, "inputs"),
    ],
)
def test_bad_fields(kwargs, err, match):
    with pytest.raises(err, match=match):
        NetworkSpec(**kwargs)


def test_spec_or_explicit_arguments_not_both():
    spec = NetworkSpec(4, 8, inputs=np.ones(2))
    assert as_network_spec(spec) is spec
    with pytest.raises(TypeError, match="not both"):
        sample_network(spec, 4, n_paths=2)
    with pytest.raises(TypeError, match="width is required"):
        sample_network(np.ones(2), n_paths=2)
    with pytest.raises(ValueError, match="no inputs"):
        sample_network(NetworkSpec(4, 8), n_paths=2)
    with pytest.raises(ValueError, match="no depth"):
        sample_network(NetworkSpec(4, None, inputs=np.ones(2)), n_paths=2)


def test_every_driver_gives_the_same_numbers_from_a_spec(seed):
    x = np.array([[1.0, 0.5], [-1.0, 2.0], [0.0, 1.0]])
    spec = NetworkSpec(6, 5, "relu", 0.7, inputs=x)
    kw = dict(n_paths=40, observe=squared_norms(), rng=seed, record=[0, 2, 5])
    a = sample_network(spec, **kw)
    b = sample_network(x, 6, 5, "relu", 0.7, **kw)
    np.testing.assert_array_equal(a["squared_norms"].samples, b["squared_norms"].samples)

    one = spec.replace(inputs=x[:, 0], depth=None)
    kw = dict(n_steps=16, n_paths=30, observe=squared_norms(), rng=seed)
    c = simulate_limit(one, **kw)
    d = simulate_limit(x[:, 0], 6, "relu", 0.7, **kw)
    np.testing.assert_array_equal(c["squared_norms"].samples, d["squared_norms"].samples)
    e = simulate_limit(one.replace(depth=16), n_paths=30, observe=squared_norms(), rng=seed)
    np.testing.assert_array_equal(c["squared_norms"].samples, e["squared_norms"].samples)
    assert limit_sde(spec) is limit_sde(6, "relu")


def test_sampler_is_an_abstract_base_users_can_subclass(seed):
    with pytest.raises(TypeError, match="abstract"):
        NetworkSampler()

    class Zeros(NetworkSampler):
        """Every weight zero: the states stay at the input layer (here: at zero)."""

        name = "zeros"

        def make_kernel(self, spec, layers):
            def kernel(start, stop, gen):
                return np.zeros((stop - start, layers.size, spec.width, spec.n_inputs))

            return kernel

    res = sample_network(np.ones(2), 3, 4, n_paths=5, sampler=Zeros(), rng=seed)
    assert res.sampler == "zeros" and not np.any(res["preactivations"].samples)
    assert isinstance(ExactLaw(), NetworkSampler)
