"""The validation runner: checkpoints, resume after interruption, atomic files, report."""

from __future__ import annotations

import json

import pytest

from validation.runner import Context, Task, TaskOutput, run_tasks, write_json_atomic


def _task(tid, calls, fail=False, interrupt=False):
    def fn(ctx: Context) -> TaskOutput:
        calls.append(tid)
        if interrupt:
            raise KeyboardInterrupt
        if fail:
            raise RuntimeError("boom")
        out = TaskOutput(metrics={"x": 1.5, "seed": ctx.rng("a")})
        out.check("x is 1.5", out.metrics["x"] == 1.5, "x = 1.5")
        return out

    return Task(tid, f"title {tid}", "toy", fn)


def test_run_writes_results_and_report(tmp_path):
    calls = []
    summary = run_tasks([_task("a", calls), _task("b", calls, fail=True)], tmp_path, progress=False)
    assert summary["n_checks"] == 2 and summary["n_failed"] == 1
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["tasks"]["a"]["metrics"]["x"] == 1.5
    assert data["tasks"]["b"]["status"] == "error"
    report = (tmp_path / "report.md").read_text()
    assert "**PASS** x is 1.5" in report and "RuntimeError: boom" in report


def test_resume_skips_finished_tasks_and_reruns_on_new_seed(tmp_path):
    calls = []
    tasks = [_task("a", calls), _task("b", calls)]
    run_tasks(tasks, tmp_path, progress=False)
    run_tasks(tasks, tmp_path, progress=False)
    assert calls == ["a", "b"]
    run_tasks(tasks, tmp_path, seed=1, progress=False)
    assert calls == ["a", "b", "a", "b"]
    run_tasks(tasks, tmp_path, seed=1, fresh=True, progress=False)
    assert len(calls) == 6


def test_interrupted_run_keeps_finished_tasks(tmp_path):
    calls = []
    with pytest.raises(KeyboardInterrupt):
        run_tasks([_task("a", calls), _task("b", calls, interrupt=True)], tmp_path, progress=False)
    assert (tmp_path / "tasks" / "a.json").exists()
    assert json.loads((tmp_path / "results.json").read_text())["n_done"] == 1
    calls.clear()
    run_tasks([_task("a", calls), _task("b", calls)], tmp_path, progress=False)
    assert calls == ["b"]


def test_context_cache_and_seeds(tmp_path):
    ctx = Context(profile="quick", seed=3, out=tmp_path, task_id="t")
    n = []
    assert ctx.cached("k", lambda: n.append(1) or {"v": 2}) == {"v": 2}
    assert ctx.cached("k", lambda: n.append(1) or {"v": 3}) == {"v": 2}
    assert n == [1]
    assert ctx.rng("a") != ctx.rng("b")
    assert ctx.pick(1, 2) == 1


def test_atomic_write_leaves_no_partial_file(tmp_path):
    path = tmp_path / "x.json"
    write_json_atomic(path, {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_experiment_runs_compute_checks_report_as_a_task(tmp_path):
    from dataclasses import dataclass

    from validation.experiment import Experiment, Report, campaign_tasks
    from validation.runner import Check

    @dataclass(frozen=True)
    class Sizes:
        n: int

    seen = []

    def compute(sizes, ctx):
        seen.append(sizes.n)
        return {"value": sizes.n * 1.5, "seed": ctx.rng("a")}

    def checks(result):
        return [Check("value is positive", result["value"] > 0, f"value = {result['value']}")]

    def report(result, ctx):
        return Report(metrics={"value": result["value"]}, notes=["a note"])

    exp = Experiment("toy.exp", "a toy", "toy", "what it shows", {"quick": Sizes(2), "full": Sizes(4)},
                     compute, checks, report)  # fmt: skip
    tasks = campaign_tasks([exp], "full")
    assert [(t.id, t.campaign, t.title, t.description) for t in tasks] == [
        ("toy.exp", "toy", "a toy", "what it shows")
    ]
    summary = run_tasks(tasks, tmp_path, profile="full", progress=False)
    rec = summary["tasks"]["toy.exp"]
    assert seen == [4] and rec["metrics"] == {"value": 6.0} and rec["notes"] == ["a note"]
    assert rec["checks"] == [
        {"name": "value is positive", "passed": True, "detail": "value = 6.0", "consistency": False}
    ]
    with pytest.raises(ValueError, match="profile"):
        campaign_tasks([exp], "huge")
    with pytest.raises(ValueError, match="profile"):
        exp.run(Context(profile="huge", seed=0, out=tmp_path))


def test_experiment_of_module_takes_the_module_steps():
    """An experiment module gives its own sizes and steps, its docstring the name, its package the
    campaign."""
    from validation.experiment import Experiment
    from validation.optimal_depth import osla

    exp = Experiment.of_module(osla)
    assert exp.id == "depth.osla"
    assert exp.title == "One-step look-ahead and myopic rules against the Snell policy"
    assert exp.description.startswith("docs/science.md §B2 (last item): look-ahead is optimal on monotone")
    assert exp.campaign == "optimal_depth" and exp.sizes is osla.SIZES and exp.module == osla.__name__
    assert (exp.compute, exp.checks, exp.report) == (osla.compute, osla.checks, osla.report)
    assert exp.figures == osla.FIGURES == ("depth_osla",)


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        (None, "no docstring"),
        ("Experiment depth.x: a title\n\nWhat it shows.", "begins 'Experiment depth.x: a title'"),
        ("depth.x: a title\nthat goes on\n\nWhat it shows.", "begins 'depth.x: a title\\nthat goes on'"),
        ("depth: a title\n\nWhat it shows.", "begins 'depth: a title'"),
        ("depth.x: a title\n", "has no description"),
        ("depth.x: a title\n\nWhat :math:`L` shows.", "has reST markup"),
    ],
)
def test_experiment_docstring_that_does_not_declare_a_name_is_an_error(doc, problem):
    """The docstring's first line is '<id>: <title>' and a description paragraph follows; otherwise the
    error names the module, what is wrong and the expected format."""
    from validation.experiment import declared_name

    with pytest.raises(ValueError, match="<id>: <title>") as err:
        declared_name("validation.toy.exp", doc)
    assert str(err.value).startswith("validation.toy.exp: ") and problem in str(err.value)


def test_experiment_docstring_declares_id_title_and_description():
    """The title is the rest of the first line (colons allowed); the description is the second paragraph
    with its lines joined."""
    from validation.experiment import declared_name

    doc = "depth.x-y: A title: more\n\nWhat it\n  shows.\n\nMore."
    assert declared_name("validation.toy.exp", doc) == ("depth.x-y", "A title: more", "What it shows.")
