"""The "trained networks" validation campaign (the package validation/trained_networks/).

What is tested: the campaign is registered and its task list is well formed in both profiles; the
recipes of the model zoo reject bad names and are stored once and reused (a second call on the same
kernels reads the stored traces instead of training); the trace measures against hand-made traces whose
answers are known; and every experiment end to end at a tiny size (a one-epoch model on a few hundred
samples), writing checks, tables and figures. At that size the models are barely trained, so only the
presence and form of the checks are asserted. The campaign itself is run by
``python -m validation --only nets``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from task_testing import check_campaign_task_list

from stochdepth.depth import Trace
from validation import trained_networks as tn
from validation.runner import Context, run_tasks
from validation.trained_networks import continuous, policies, regularizers, sequence, theory
from validation.trained_networks.measures import depth_matters, exit_accuracy, oracle_exit, rise
from validation.trained_networks.zoo import Recipe, interval_text, mean_interval, trained

TASK_IDS = ["nets.regularizers", "nets.policies", "nets.sequence", "nets.continuous", "nets.theory"]

_MNIST = Recipe("mnist1d", "conv", width=4, depth=4, n_samples=400, epochs=1, batch_size=64)
_ODE = Recipe("mnist1d", "ode", width=8, depth=3, n_samples=400, epochs=1)
TINY = {
    regularizers: regularizers.Sizes(
        _MNIST,
        (
            ("deep_supervision", 0.0),
            ("residual_decay", 0.01),
            ("lookahead+decay", (0.5, 0.01)),
            ("pondernet", 0.01),
        ),
        2,
        0.5,
    ),
    policies: policies.Sizes(
        _MNIST, (("deep_supervision", 0.0), ("residual_decay", 0.01)), 2, (0.0, 0.01, 0.1), 0.01, 0.05, 0.2, 5
    ),
    sequence: sequence.Sizes(
        Recipe(
            "marked",
            "transformer",
            width=8,
            depth=2,
            n_samples=400,
            epochs=1,
            batch_size=64,
            task_settings=(("seq_len", 4), ("n_values", 2)),
            model_settings=(("window", 1), ("readout", "first")),
        ),
        1,
        0.5,
    ),
    continuous: continuous.Sizes(_ODE),
    theory: theory.Sizes(_MNIST, _MNIST.with_loss("lookahead+decay", (0.5, 0.01)), 2, _ODE, 0.01, (0.01,)),
}


def _trace(correct: np.ndarray, residuals: np.ndarray | None = None) -> Trace:
    """A trace whose exits are right exactly where ``correct`` says (two classes, label 0)."""
    n, L = correct.shape
    logits = np.zeros((n, L, 2))
    logits[..., 0] = np.where(correct, 1.0, -1.0)
    return Trace.from_outputs(
        logits, np.zeros(n, dtype=np.int64), hidden_norms=np.ones((n, L)),
        hidden_projection=np.zeros((n, L, 1)),
        residual_norms=np.ones((n, L)) if residuals is None else residuals, flops=np.arange(1.0, L + 1),
    )  # fmt: skip


def test_registered_and_task_list_well_formed():
    check_campaign_task_list(tn, "trained_networks", TASK_IDS, "nets.")


def test_size_tables_are_frozen_per_profile():
    for module in TINY:
        quick, full = module.SIZES["quick"], module.SIZES["full"]
        assert type(quick) is type(full) is module.Sizes
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(quick, dataclasses.fields(quick)[0].name, None)


def test_recipe_rejects_unknown_names():
    with pytest.raises(ValueError, match="loss"):
        Recipe("mnist1d", "conv", 4, 4, 100, 1, loss="dropout")
    with pytest.raises(ValueError, match="task"):
        Recipe("cifar", "conv", 4, 4, 100, 1)
    with pytest.raises(ValueError, match="model"):
        Recipe("mnist1d", "vit", 4, 4, 100, 1)


def test_oracle_exit_is_the_first_exit_that_stays_right():
    correct = np.array([[1, 1, 1], [0, 1, 1], [1, 0, 1], [1, 1, 0], [0, 0, 0]], dtype=bool)
    assert oracle_exit(_trace(correct)).tolist() == [0, 1, 2, 3, 3]


def test_rise_and_exit_accuracy_on_a_known_trace():
    # accuracies by exit: 0.25, 0.5, 1.0, 1.0
    correct = np.array([[1, 1, 1, 1], [0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]], dtype=bool)
    r = rise(_trace(correct))
    assert r["area"] == pytest.approx((0.25 + 0.5 + 1 + 1) / 4)
    assert r["first_within_1pt"] == pytest.approx(3 / 4)
    acc = exit_accuracy(_trace(correct), n_boot=200, rng=0)
    assert acc["accuracy"] == pytest.approx([0.25, 0.5, 1.0, 1.0])
    assert all(lo <= a <= hi for lo, a, hi in zip(acc["low"], acc["accuracy"], acc["high"]))


def test_depth_to_reach_interpolates_the_pareto_front():
    from validation.trained_networks.policies import depth_to_reach

    # (depth, accuracy): (1, .5), (2, .9), (3, .8) dominated, (4, 1.0)
    d, a = [3.0, 1.0, 4.0, 2.0], [0.8, 0.5, 1.0, 0.9]
    assert depth_to_reach(d, a, 0.7) == pytest.approx(1.5)
    assert depth_to_reach(d, a, 0.95) == pytest.approx(3.0)
    assert depth_to_reach(d, a, 0.5) == pytest.approx(1.0)
    assert depth_to_reach(d, a, 1.01) == np.inf


def test_mean_interval_is_a_student_interval():
    m, lo, hi = mean_interval([1.0, 2.0, 3.0])
    # t_{0.975, 2} = 4.3027, sd = 1, n = 3
    assert (m, hi - m) == pytest.approx((2.0, 4.302652729911275 / np.sqrt(3)))
    assert lo == pytest.approx(2 * m - hi)
    assert mean_interval([1.0])[1] == -np.inf


def test_depth_matters_judges_the_mean_gap_over_seeds():
    # gaps 0.04 and 0.025: the mean 0.0325 clears three points although one seed does not
    check = depth_matters([0.97, 0.96], [0.93, 0.935])
    assert check.passed and "per seed [0.04, 0.025]" in check.detail
    assert not depth_matters([0.97, 0.96], [0.95, 0.94]).passed  # mean gap 0.02
    assert interval_text([0.5, float("inf")]) == "[0.5, inf] (some never reach it)"


def test_trained_runs_are_stored_and_reused(tmp_path, monkeypatch):
    ctx = Context("quick", 0, tmp_path, "t")
    first = trained(_MNIST, 0, ctx)
    from validation.trained_networks import zoo

    def fail(*args, **kwargs):
        raise AssertionError("a stored run must not be trained again")

    monkeypatch.setattr(zoo, "_train", fail)
    again = trained(_MNIST, 0, ctx)
    assert np.array_equal(first.test.logits, again.test.logits)
    assert first.test.split == "test" and first.calibration.split == "calibration"
    # other kernels (another processor) round differently, so the stored run is not theirs
    import stochdepth.nn

    class Retrained(Exception):
        pass

    def retrain(*args, **kwargs):
        raise Retrained

    monkeypatch.setattr(stochdepth.nn, "device_kernels", lambda device="cpu": "cpu:ANOTHER")
    monkeypatch.setattr(zoo, "_train", retrain)
    with pytest.raises(Retrained):
        trained(_MNIST, 0, ctx)


def test_experiments_run_end_to_end(tmp_path, monkeypatch, seed):
    for module, sizes in TINY.items():
        monkeypatch.setitem(module.SIZES, "quick", sizes)
    tasks = [e.task() for e in tn.EXPERIMENTS]
    summary = run_tasks(tasks, tmp_path, seed=seed, progress=False)
    for task in tasks:
        rec = summary["tasks"][task.id]
        assert rec["status"] == "done", rec.get("traceback")
        assert len(rec["checks"]) >= 2
        for c in rec["checks"]:
            assert c["name"] and isinstance(c["passed"], bool) and len(c["detail"]) > 20
        for fig in rec["figures"]:
            assert (tmp_path / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # four losses x two seeds (shared by the policies and theory), one sequence model, one neural ODE
    assert len(list((tmp_path / "models").iterdir())) == 4 * 2 + 1 + 1
