r"""The trained models of the campaign: one recipe per (task, model, loss), trained once per seed.

A :class:`Recipe` names everything that fixes a training run apart from its seed: the task and its
size, the early-exit model and its shape, the loss (deep supervision, a depth regulariser of
docs/science.md §B3 with its weight, or PonderNet's), the optimiser schedule and the number of epochs.
:func:`trained` trains it with :func:`stochdepth.nn.fit` (AdamW, cosine schedule, the best epoch on the
validation split kept) and records two :class:`~stochdepth.depth.Trace` objects: the validation split
(the *calibration* data of exit policies, never used for gradient steps, though it chose the best epoch)
and the test split.

The data split is fixed by ``Recipe.data_seed``; the training seed changes the initial weights and the
batch order. So intervals over seeds measure the training's randomness on one data set, and bootstrap
intervals over the test split its sampling error.

Runs are stored under ``<output>/models/<key>/`` (the traces as ``.npz``, a JSON summary written last),
shared by every experiment of the campaign, so that a model used by several experiments is trained once
and an interrupted campaign loses only the run in progress. The key hashes the recipe, the seed, the
device and the kernels torch computes with there (:func:`stochdepth.nn.device_kernels`), the library
version and :func:`model_fingerprint` (the code a model depends on), so a stored model is never reused
after a change that could alter it. The kernels matter: the same recipe and seed trained with torch's
AVX-512 kernels and with its AVX2 ones (``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
MKL_CBWR=AVX2``, seed 100 of the campaign's MNIST-1D reference) end at different weights, last-exit
test accuracy 0.974 against 0.972, as two training seeds would; so the campaign's verdicts can differ
from one processor to another, as they would from one set of seeds to another.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..runner import Context
from ..store import files_hash, write_json_atomic

__all__ = ["LOSSES", "TASKS", "Recipe", "TrainedRun", "interval_text", "mean_interval", "trained"]

#: The tasks a recipe may name (see :func:`dataset`).
TASKS = ("mnist1d", "digits", "pointer", "marked")

#: The losses a recipe may name: deep supervision (the baseline every depth regulariser adds to), the
#: three depth regularisers of docs/science.md §B3 (each on top of deep supervision), look-ahead
#: consistency and residual decay together, and PonderNet's loss.
LOSSES = ("deep_supervision", "expected_depth", "residual_decay", "lookahead", "lookahead+decay", "pondernet")


@dataclass(frozen=True)
class Recipe:
    r"""Everything that fixes a training run except its seed.

    Attributes
    ----------
    task : {'mnist1d', 'digits', 'pointer', 'marked'}
        MNIST-1D signals, scikit-learn's 8x8 digits, or a sequence task whose difficulty varies per
        sample: pointer chasing (the number of hops) or the marked value (the distance to the marker).
    model : {'conv', 'mlp', 'transformer', 'ode'}
        :class:`~stochdepth.nn.ConvResNet` (1-D for MNIST-1D, 2-D for digits),
        :class:`~stochdepth.nn.ResidualMLP`, :class:`~stochdepth.nn.SequenceTransformer`,
        :class:`~stochdepth.nn.NeuralODE`.
    width, depth : int
        Channels / width / model dimension, and blocks / layers / Euler steps.
    loss : str
        One of :data:`LOSSES`.
    weight : float or (float, float)
        The weight of the loss's regulariser: :math:`\lambda` of the depth term on top of deep
        supervision, the cost weight of the expected depth, or PonderNet's :math:`\beta`; for
        ``'lookahead+decay'`` the pair (look-ahead weight, residual-decay weight).
    n_samples, epochs, batch_size, lr : int, int, int, float
    data_seed : int
    task_settings, model_settings : tuple of (name, value)
        Extra keyword arguments of the task's generator and of the model's constructor.
    """

    task: str
    model: str
    width: int
    depth: int
    n_samples: int
    epochs: int
    loss: str = "deep_supervision"
    weight: float | tuple[float, float] = 0.0
    batch_size: int = 128
    lr: float = 3e-3
    data_seed: int = 0
    task_settings: tuple = ()
    model_settings: tuple = ()

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.model not in ("conv", "mlp", "transformer", "ode"):
            raise ValueError(f"model must be 'conv', 'mlp', 'transformer' or 'ode', got {self.model!r}")

    def with_loss(self, loss: str, weight: float | tuple[float, float]) -> Recipe:
        """The same recipe trained with another loss."""
        return Recipe(**{**asdict(self), "loss": loss, "weight": weight})

    @property
    def label(self) -> str:
        """A short name: task, model, shape and loss."""
        weights = self.weight if isinstance(self.weight, tuple) else (self.weight,)
        w = f"({', '.join(f'{v:g}' for v in weights)})" if self.loss != "deep_supervision" else ""
        return f"{self.task}/{self.model}{self.width}x{self.depth}/{self.loss}{w}"


@dataclass(frozen=True)
class TrainedRun:
    """A recipe trained with one seed: the calibration and test traces and the training's summary."""

    recipe: Recipe
    seed: int
    calibration: Any  # stochdepth.depth.Trace
    test: Any  # stochdepth.depth.Trace
    seconds: float
    epochs_run: int
    best_epoch: int
    n_parameters: int


def dataset(recipe: Recipe, device: str = "cpu") -> Any:
    """The task's :class:`~stochdepth.nn.Dataset` (fixed split from ``recipe.data_seed``).

    Generated once per process and task settings, then shared by every model trained on it (the models
    only read it): MNIST-1D's 5000 signals take about 3.5 s to generate, which the quick profile paid
    once per model (eleven times) before."""
    return _dataset(recipe.task, recipe.n_samples, recipe.data_seed, recipe.task_settings, device)


@functools.lru_cache(maxsize=4)
def _dataset(task: str, n_samples: int, data_seed: int, task_settings: tuple, device: str) -> Any:
    from stochdepth import nn

    settings = dict(task_settings)
    if task == "mnist1d":
        return nn.load_mnist1d(n_samples, rng=data_seed, device=device, **settings)
    if task == "digits":
        return nn.load_digits(rng=data_seed, device=device, **settings)
    generator = nn.pointer_chasing if task == "pointer" else nn.marked_value
    return generator(n_samples, rng=data_seed, device=device, **settings)


def build_model(recipe: Recipe, data: Any, seed: int, device: str = "cpu") -> Any:
    """The untrained early-exit model of ``recipe`` for ``data``, initial weights from ``seed``."""
    from stochdepth import nn

    halting = recipe.loss in ("expected_depth", "pondernet")
    x = data.train.x
    common = dict(halting=halting, rng=seed, device=device, **dict(recipe.model_settings))
    if recipe.model == "conv":
        return nn.ConvResNet(
            x.shape[1], data.n_classes, spatial_dims=x.ndim - 2, channels=recipe.width, depth=recipe.depth,
            **common,
        )  # fmt: skip
    if recipe.model == "mlp":
        return nn.ResidualMLP(x[0].numel(), recipe.width, recipe.depth, data.n_classes, **common)
    if recipe.model == "ode":
        return nn.NeuralODE(x[0].numel(), recipe.width, data.n_classes, n_steps=recipe.depth, **common)
    vocab = int(data.train.x.max()) + 1
    vocab = max(vocab, int(data.test.x.max()) + 1, int(data.val.x.max()) + 1)
    return nn.SequenceTransformer(
        vocab,
        data.n_classes,
        max_len=x.shape[1],
        d_model=recipe.width,
        n_heads=4,
        depth=recipe.depth,
        **common,
    )


def make_loss(recipe: Recipe) -> Any:
    """The training loss of ``recipe`` (see :data:`LOSSES`)."""
    from stochdepth import nn

    if recipe.loss == "deep_supervision":
        return nn.CompositeLoss()
    if recipe.loss == "pondernet":
        return nn.PonderNetLoss(beta=recipe.weight)
    if recipe.loss == "expected_depth":
        return nn.CompositeLoss(nn.ExpectedDepthLoss(cost_weight=recipe.weight), depth_weight=1.0)
    # look-ahead consistency pulls each exit towards the next one's log-probability (a fixed target)
    terms = {
        "residual_decay": [nn.ResidualDecayPenalty(rate=2.0)],
        "lookahead": [nn.LookAheadPenalty(fixed_target=True)],
        "lookahead+decay": [nn.LookAheadPenalty(fixed_target=True), nn.ResidualDecayPenalty(rate=2.0)],
    }[recipe.loss]
    weights = list(recipe.weight) if isinstance(recipe.weight, tuple) else recipe.weight
    return nn.CompositeLoss(terms, depth_weight=weights)


def model_fingerprint() -> str:
    """A hash of the code a trained model depends on: the torch layer :mod:`stochdepth.nn` (models,
    training, data, the trace recorder), the trace format, the seed streams and this module, with the
    versions of torch and numpy.

    Narrower than :func:`validation.store.code_fingerprint` (the whole library) on purpose: a model takes
    minutes to train, and a change elsewhere in the library (a solver, a sampler) cannot change its
    weights. Any change in these files retrains.
    """
    import numpy
    import torch

    import stochdepth

    root = Path(stochdepth.__file__).parent.parent
    package = root / "stochdepth"
    files = [*sorted((package / "nn").glob("*.py")), package / "depth" / "traces.py", package / "random.py"]
    here = Path(__file__)
    code = files_hash(root, files) + files_hash(here.parent, [here])
    return hashlib.sha256(f"{torch.__version__}/{numpy.__version__}/{code}".encode()).hexdigest()[:16]


def _key(recipe: Recipe, seed: int, device: str) -> str:
    import stochdepth
    from stochdepth.nn import device_kernels

    blob = json.dumps(
        [asdict(recipe), seed, device, device_kernels(device), stochdepth.__version__, model_fingerprint()],
        sort_keys=True,
        default=str,
    )
    name = f"{recipe.task}-{recipe.model}-{recipe.loss}-s{seed}"
    return f"{name}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def _train(recipe: Recipe, seed: int, device: str) -> tuple[Any, Any, dict[str, Any]]:
    import torch

    from stochdepth import nn

    data = dataset(recipe, device)
    model = build_model(recipe, data, seed, device)
    epochs = recipe.epochs

    def optimizer(params: Any) -> Any:
        return torch.optim.AdamW(params, lr=recipe.lr, weight_decay=1e-4)

    def scheduler(opt: Any) -> Any:
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)

    start = time.perf_counter()
    history = nn.fit(
        model, make_loss(recipe), (data.train.x, data.train.y), (data.val.x, data.val.y), epochs=epochs,
        batch_size=recipe.batch_size, seed=seed, optimizer=optimizer, scheduler=scheduler, progress=False,
        metric="val_accuracy", grad_clip=1.0,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    calibration = nn.record_trace(model, data.val, split="calibration", rng=seed)
    test = nn.record_trace(model, data.test, split="test", rng=seed)
    summary = {
        "kernels": nn.device_kernels(device),
        "seconds": seconds,
        "epochs_run": history.epochs_run,
        "best_epoch": int(history.best_epoch),
        "n_parameters": int(sum(p.numel() for p in model.parameters())),
    }
    return calibration, test, summary


def trained(recipe: Recipe, seed: int, ctx: Context) -> TrainedRun:
    """``recipe`` trained with ``seed`` on ``ctx.device``; stored and reused across experiments."""
    from stochdepth.depth import Trace

    folder = Path(ctx.out) / "models" / _key(recipe, seed, ctx.device)
    summary_path = folder / "summary.json"
    if summary_path.exists():
        try:
            summary = json.loads(summary_path.read_text())
            calibration = Trace.load(folder / "calibration.npz")
            test = Trace.load(folder / "test.npz")
        except (OSError, ValueError, KeyError):
            summary = None
        if summary is not None:
            return TrainedRun(recipe, seed, calibration, test, **_summary_fields(summary))
    calibration, test, summary = _train(recipe, seed, ctx.device)
    folder.mkdir(parents=True, exist_ok=True)
    calibration.save(folder / "calibration.npz")
    test.save(folder / "test.npz")
    write_json_atomic(summary_path, {**summary, "recipe": asdict(recipe), "seed": seed})
    return TrainedRun(recipe, seed, calibration, test, **_summary_fields(summary))


def _summary_fields(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "seconds": float(summary["seconds"]),
        "epochs_run": int(summary["epochs_run"]),
        "best_epoch": int(summary["best_epoch"]),
        "n_parameters": int(summary["n_parameters"]),
    }


def mean_interval(values: Any) -> tuple[float, float, float]:
    """Mean of ``values`` (one per seed) and its Student-t 95% interval; with a single value the
    interval is unbounded (no spread can be estimated from one seed)."""
    import numpy as np
    from scipy import stats

    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if v.size < 2:
        return m, -math.inf, math.inf
    half = float(stats.t.ppf(0.975, v.size - 1)) * float(v.std(ddof=1)) / math.sqrt(v.size)
    return m, m - half, m + half


def interval_text(values: Any) -> str:
    """``mean [low, high]`` of :func:`mean_interval`; the values themselves when some are infinite (a
    depth never reached)."""
    import numpy as np

    from ..formatting import fmt

    v = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(v)):
        return f"{[round(x, 2) for x in v.tolist()]} (some never reach it)"
    m, lo, hi = mean_interval(v)
    return f"{fmt(m, 4)} [{fmt(lo, 3)}, {fmt(hi, 3)}]"
