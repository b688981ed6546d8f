"""API of stochdepth.nn: lazy import, devices and dtypes, argument validation, docstring examples."""

from __future__ import annotations

import doctest
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import stochdepth  # noqa: E402
import stochdepth.nn as snn  # noqa: E402
from stochdepth.activations import Activation  # noqa: E402
from stochdepth.nn import RandomResNet, TorchExplicitWeights, default_device, sample_torch_network  # noqa: E402
from stochdepth.nn._device import as_device, as_dtype  # noqa: E402

# ----------------------------------------------------------------------------------------------------
# imports
# ----------------------------------------------------------------------------------------------------


def test_import_stochdepth_does_not_import_torch_and_nn_says_how_to_install_it():
    """In a fresh interpreter: the core never imports torch; without torch, stochdepth.nn fails clearly."""
    code = textwrap.dedent(
        """
        import sys
        import stochdepth
        import stochdepth.networks
        assert "torch" not in sys.modules, "import stochdepth imported torch"
        sys.modules["torch"] = None  # makes `import torch` fail, as on a machine without torch
        try:
            stochdepth.nn
        except ImportError as exc:
            print(exc)
        else:
            raise SystemExit("stochdepth.nn imported without torch")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pip install stochdepth[torch]" in out.stdout


def test_root_package_loads_nn_lazily():
    assert stochdepth.nn is snn
    assert snn.RandomResNet is RandomResNet and snn.sample_torch_network is sample_torch_network
    assert {
        "ConvResNet",
        "Dataset",
        "EarlyExitModel",
        "ExitOutputs",
        "NeuralODE",
        "ProbedModel",
        "RandomResNet",
        "ResidualMLP",
        "SequenceTransformer",
        "Split",
        "TorchExplicitWeights",
        "default_device",
        "gaussian_mixture",
        "load_digits",
        "load_mnist1d",
        "load_trace",
        "marked_value",
        "model_signature",
        "parity_sequences",
        "pointer_chasing",
        "record_trace",
        "sample_torch_network",
        "torch_activation",
    } <= set(snn.__all__)
    assert all(hasattr(snn, name) for name in snn.__all__)


# ----------------------------------------------------------------------------------------------------
# devices and dtypes
# ----------------------------------------------------------------------------------------------------


def test_default_device():
    dev = default_device()
    assert isinstance(dev, torch.device)
    assert dev.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert as_device(None) == dev


@pytest.mark.parametrize(
    ("device", "expected"),
    [("cpu", torch.device("cpu")), (torch.device("cpu"), torch.device("cpu"))],
)
def test_as_device_accepts(device, expected):
    assert as_device(device) == expected


@pytest.mark.parametrize(
    ("device", "err", "match"),
    [
        ("gpu", ValueError, "device must name a torch device such as 'cpu', 'cuda' or 'cuda:0', got 'gpu'"),
        ("cuda:x", ValueError, "device must name a torch device"),
        ("", ValueError, "device must name a torch device"),
        ("cuda:99", ValueError, "device 'cuda:99' is not available"),
        (99, ValueError, "device 'cuda:99' is not available"),
        (-1, ValueError, "CUDA index >= 0"),
        ("meta", ValueError, "'meta' holds no numbers"),
        (3.5, TypeError, "device must be None, a str, a torch.device or an int, got float"),
        (True, TypeError, "got bool"),
    ],
)
def test_as_device_rejects(device, err, match):
    with pytest.raises(err, match=match):
        as_device(device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(
        ValueError, match=r"device 'cuda' is not available: torch.cuda.is_available\(\) is False"
    ):
        as_device("cuda")
    with pytest.raises(ValueError, match="device 'cuda' is not available"):
        sample_torch_network(np.ones(2), 3, 2, n_paths=2, device="cuda")


def test_as_dtype():
    assert as_dtype(torch.float64) is torch.float64 and as_dtype("float32") is torch.float32
    for bad in (torch.float16, torch.bfloat16, torch.int64, "double", np.float64, [], None):
        with pytest.raises(ValueError, match=r"dtype must be torch\.float64 or torch\.float32"):
            as_dtype(bad)
    with pytest.raises(ValueError, match="not supported on device 'mps'"):
        as_dtype(torch.float64, torch.device("mps"))


# ----------------------------------------------------------------------------------------------------
# argument validation
# ----------------------------------------------------------------------------------------------------

NO_TORCH = Activation.custom("cube_root_free", lambda v: v * 0.5)


@pytest.mark.parametrize(
    ("changes", "err", "match"),
    [
        (dict(width=0), ValueError, "width must be an int >= 1, got 0"),
        (dict(width=2.0), TypeError, "width must be an int"),
        (dict(depth=0), ValueError, "depth must be an int >= 1"),
        (dict(input_dim=0), ValueError, "input_dim must be an int >= 1"),
        (dict(activation="swish"), ValueError, "activation must be one of"),
        (dict(activation=3), TypeError, "activation must be a str or an Activation"),
        (dict(activation=NO_TORCH), ValueError, "has no torch implementation"),
        (dict(t1=0.0), ValueError, "t1 must be > 0"),
        (dict(t1=np.inf), ValueError, "t1 must be finite"),
        (dict(device="tpu0"), ValueError, "device must name a torch device"),
        (dict(dtype=torch.float16), ValueError, "dtype must be torch.float64 or torch.float32"),
        (dict(rng=-3), ValueError, "rng"),
        (dict(rng="seed"), TypeError, "rng"),
        (dict(requires_grad="yes"), TypeError, "requires_grad must be a bool"),
    ],
)
def test_random_resnet_bad_arguments(changes, err, match):
    kwargs = {**dict(input_dim=3, width=4, depth=2, activation="relu", device="cpu"), **changes}
    with pytest.raises(err, match=match):
        RandomResNet(**kwargs)


@pytest.mark.parametrize(
    ("x", "record", "err", "match"),
    [
        (
            torch.ones(2, 4, dtype=torch.float64),
            None,
            ValueError,
            r"x must have shape \(..., input_dim\) = \(..., 3\)",
        ),
        (torch.ones(3, dtype=torch.float64), None, None, None),
        (torch.tensor(1.0, dtype=torch.float64), None, ValueError, "x must have shape"),
        (torch.ones(0, 3, dtype=torch.float64), None, ValueError, "x must hold at least 1"),
        (
            torch.ones(2, 3, dtype=torch.float32),
            None,
            TypeError,
            "x has dtype torch.float32 but the network is torch.float64",
        ),
        (
            torch.ones(2, 3, dtype=torch.int64),
            None,
            TypeError,
            "x must be a floating-point tensor of dtype torch.float64, got dtype torch.int64",
        ),
        (torch.tensor([[1.0, float("nan"), 0.0]], dtype=torch.float64), None, ValueError, "x must be finite"),
        (
            np.ones((2, 5)),
            None,
            ValueError,
            r"x must have shape \(..., input_dim\) = \(..., 3\), got shape \(2, 5\)",
        ),
        (np.array([[1.0, np.inf, 0.0]]), None, ValueError, "x must be finite"),
        (["a", "b", "c"], None, TypeError, "x must be a real numeric array"),
        (np.ones(3), [0, 3], ValueError, r"record must hold layer indices in \[0, depth\] = \[0, 2\]"),
        (np.ones(3), [1.5], TypeError, "record must hold integer layer indices"),
        (np.ones(3), [0.5], TypeError, "record must hold integer"),
    ],
)
def test_forward_bad_input(x, record, err, match):
    net = RandomResNet(3, 4, 2, device="cpu", rng=0)
    if err is None:
        assert net(x, record=record) is not None
        return
    with pytest.raises(err, match=match):
        net(x, record=record)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_forward_wrong_device():
    net = RandomResNet(3, 4, 2, device="cuda", rng=0)
    with pytest.raises(ValueError, match="x is on device 'cpu' but the network is on 'cuda:0'"):
        net(torch.ones(2, 3, dtype=torch.float64))


@pytest.mark.parametrize(
    ("changes", "err", "match"),
    [
        (dict(width=0), ValueError, "width must be an int >= 1, got 0"),
        (dict(depth=-1), ValueError, "depth must be an int >= 1"),
        (dict(n_paths=0), ValueError, "n_paths must be an int >= 1"),
        (dict(x=np.ones((2, 2, 2))), ValueError, "x must have 1 or 2 dimension"),
        (dict(x=np.array([1.0, np.nan])), ValueError, "x must be finite"),
        (dict(activation="swish"), ValueError, "activation must be one of"),
        (dict(activation=NO_TORCH), ValueError, "has no torch implementation"),
        (dict(t1=-1.0), ValueError, "t1 must be > 0"),
        (dict(record=[0, 9]), ValueError, r"record must hold layer indices in \[0, depth\]"),
        (dict(device="npu"), ValueError, "device must name a torch device"),
        (dict(device=1.0), TypeError, "device must be None"),
        (dict(dtype="float16"), ValueError, "dtype must be torch.float64 or torch.float32"),
        (dict(batch_size=0), ValueError, "batch_size must be an int >= 1"),
        (dict(batch_size=2.0), TypeError, "batch_size must be an int"),
        (dict(chunk_size=0), ValueError, "chunk_size"),
        (dict(observe="norms"), TypeError, "observe"),
        (dict(reduce="moments"), TypeError, "reduce"),
        (dict(rng=-1), ValueError, "rng"),
    ],
)
def test_sample_torch_network_bad_arguments(changes, err, match):
    kwargs = {**dict(x=np.ones(3), width=3, depth=4, n_paths=4, device="cpu"), **changes}
    x = kwargs.pop("x")
    with pytest.raises(err, match=match):
        sample_torch_network(x, **kwargs)


def test_sampler_object():
    s = TorchExplicitWeights(device="cpu", dtype="float32", batch_size=np.int64(3))
    assert s.device == torch.device("cpu") and s.dtype is torch.float32 and s.batch_size == 3
    assert type(s.batch_size) is int
    assert s.name == "torch_explicit_weights(cpu, float32)"
    assert TorchExplicitWeights(device="cpu") == TorchExplicitWeights(device=torch.device("cpu"))
    with pytest.raises(TypeError, match="unexpected keyword"):
        TorchExplicitWeights(name="x")  # type: ignore[call-arg]


def test_non_finite_states_raise_numerical_error(seed):
    # float32 linear network with huge inputs overflows (see test_random_resnet.py for the arithmetic)
    with pytest.raises(stochdepth.NumericalError, match="states"):
        sample_torch_network(
            np.full(2, 1e35),
            8,
            4,
            "linear",
            t1=1e4,
            n_paths=3,
            rng=seed,
            device="cpu",
            dtype=torch.float32,
        )


# ----------------------------------------------------------------------------------------------------
# docstring examples
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module",
    [
        "stochdepth.nn",
        "stochdepth.nn._device",
        "stochdepth.nn.random_resnet",
        "stochdepth.nn.data",
        "stochdepth.nn.models",
        "stochdepth.nn.transformer",
        "stochdepth.nn.probes",
        "stochdepth.nn.traces",
    ],
)
def test_docstring_examples_run(module):
    import importlib

    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if module != "stochdepth.nn":
        assert result.attempted > 0


def test_network_spec_is_accepted(seed):
    """A NetworkSpec stands for (input_dim or x, width, depth, activation, t1) and changes no number."""
    from stochdepth.networks import NetworkSpec, squared_norms

    x = np.array([1.0, -2.0, 0.5])
    spec = NetworkSpec(5, 3, "tanh", 0.5, inputs=x)
    a = RandomResNet(spec, rng=seed, device="cpu")
    b = RandomResNet(3, 5, 3, "tanh", 0.5, rng=seed, device="cpu")
    assert (a.input_dim, a.width, a.depth, a.t1) == (3, 5, 3, 0.5)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.input_weight, b.input_weight)
    kw = dict(n_paths=20, observe=squared_norms(), rng=seed, device="cpu")
    r1 = sample_torch_network(spec, **kw)
    r2 = sample_torch_network(x, 5, 3, "tanh", 0.5, **kw)
    np.testing.assert_array_equal(r1["squared_norms"].samples, r2["squared_norms"].samples)
    with pytest.raises(TypeError, match="not both"):
        RandomResNet(spec, 5, device="cpu")
    with pytest.raises(ValueError, match="no inputs"):
        RandomResNet(NetworkSpec(5, 3), device="cpu")
