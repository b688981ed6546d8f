"""The output folder of a run: results keyed by what produced them, one run per folder, corrupt
records recomputed, stale or corrupt kept results refused, orphan temporary files removed, ordinary
file permissions."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

from validation.__main__ import main
from validation.runner import Check, Context, Task, TaskOutput, run_tasks
from validation.store import OutputLockedError, RunLock, code_fingerprint, stamp, write_json_atomic

_MODULE = """
from validation.runner import TaskOutput

def fn(ctx):
    CALLS.append("task")
    value = ctx.cached("piece", lambda: CALLS.append("piece") or {"v": FACTOR * 2})
    ctx.keep({"v": value["v"]})
    out = TaskOutput(metrics={"v": value["v"]})
    out.check("v is even", value["v"] % 2 == 0, "v = 2 * FACTOR")
    return out

CALLS = []
FACTOR = 1
"""


@pytest.fixture
def experiment_module(tmp_path, monkeypatch):
    """A tiny experiment module in its own package under ``tmp_path`` (its source can be edited)."""
    pkg = tmp_path / "src" / "toycampaign"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "toy.py").write_text(_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    module = importlib.import_module("toycampaign.toy")
    yield module
    for name in ("toycampaign.toy", "toycampaign"):
        sys.modules.pop(name, None)


@dataclass(frozen=True)
class Sizes:
    n: int


def _toy_task(module, sizes=Sizes(1)):
    return Task("toy", "toy task", "toycampaign", module.fn, sizes={"quick": sizes}, module=module.__name__)


def test_fresh_recomputes_cached_pieces_too(experiment_module, tmp_path):
    out = tmp_path / "out"
    task = _toy_task(experiment_module)
    run_tasks([task], out, progress=False)
    run_tasks([task], out, progress=False)
    assert experiment_module.CALLS == ["task", "piece"]
    run_tasks([task], out, fresh=True, progress=False)
    assert experiment_module.CALLS == ["task", "piece"] * 2


def test_a_code_change_recomputes_task_and_pieces(experiment_module, tmp_path):
    """The reproducer: after an edit of the experiment's code, no old sub-result is reused."""
    out = tmp_path / "out"
    run_tasks([_toy_task(experiment_module)], out, progress=False)
    path = experiment_module.__file__
    with open(path, "a") as fh:
        fh.write("\nFACTOR = 5\n")
    module = importlib.reload(experiment_module)
    module.CALLS.clear()
    summary = run_tasks([_toy_task(module)], out, progress=False)
    assert module.CALLS == ["task", "piece"]
    assert summary["tasks"]["toy"]["metrics"]["v"] == 10


def test_a_size_change_recomputes_pieces(experiment_module, tmp_path):
    out = tmp_path / "out"
    run_tasks([_toy_task(experiment_module, Sizes(1))], out, progress=False)
    run_tasks([_toy_task(experiment_module, Sizes(2))], out, progress=False)
    assert experiment_module.CALLS == ["task", "piece"] * 2


def test_stamp_names_what_produced_a_result(experiment_module):
    import stochdepth

    s = stamp("quick", 3, Sizes(4), experiment_module.__name__)
    assert s["profile"] == "quick" and s["seed"] == 3 and s["config"] == {"n": 4}
    assert s["versions"]["stochdepth"] == stochdepth.__version__
    assert s["code"] == code_fingerprint(experiment_module.__name__) != code_fingerprint(None)


def test_a_second_run_into_a_locked_folder_refuses(tmp_path, experiment_module):
    out = tmp_path / "out"
    with RunLock(out), pytest.raises(OutputLockedError, match=str(out)):
        run_tasks([_toy_task(experiment_module)], out, progress=False)
    assert experiment_module.CALLS == []
    assert not (out / ".lock").exists()  # released by its holder
    with RunLock(out / "quick"):  # the command line writes into <out>/<profile>
        assert main(["--out", str(out), "--only", "depth.osla", "--no-progress"]) == 2


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path, experiment_module):
    out = tmp_path / "out"
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = int(child.stdout)
    out.mkdir()
    (out / ".lock").write_text(json.dumps({"pid": dead, "host": os.uname().nodename}))
    with pytest.warns(RuntimeWarning, match="stale lock"):
        run_tasks([_toy_task(experiment_module)], out, progress=False)
    assert experiment_module.CALLS == ["task", "piece"] and not (out / ".lock").exists()


@pytest.mark.parametrize(
    "content",
    [b'{"status": "do', b"\xff\xfe not utf-8", b"[1, 2, 3]", b'{"status": "done"}', b"null", b'{"a": 1}'],
    ids=["truncated", "invalid-utf8", "list", "missing-fields", "null", "no-status"],
)
def test_a_corrupt_record_is_recomputed_with_a_warning(tmp_path, experiment_module, content):
    out = tmp_path / "out"
    task = _toy_task(experiment_module)
    run_tasks([task], out, progress=False)
    (out / "tasks" / "toy.json").write_bytes(content)
    (out / "tasks" / "toy" / "piece.json").write_bytes(content)
    with pytest.warns(RuntimeWarning, match="corrupt") as caught:
        summary = run_tasks([task], out, progress=False)
    assert {str(w.message).split(" is corrupt")[0] for w in caught} >= {
        str(out / "tasks" / "toy.json"),
        str(out / "tasks" / "toy" / "piece.json"),
    }
    assert experiment_module.CALLS == ["task", "piece"] * 2
    assert summary["tasks"]["toy"]["status"] == "done"


def test_a_record_with_a_malformed_check_is_recomputed(tmp_path, experiment_module):
    out = tmp_path / "out"
    task = _toy_task(experiment_module)
    run_tasks([task], out, progress=False)
    path = out / "tasks" / "toy.json"
    rec = json.loads(path.read_text())
    rec["checks"] = [{"name": "x", "passed": "yes"}]
    path.write_text(json.dumps(rec))
    with pytest.warns(RuntimeWarning, match="check"):
        run_tasks([task], out, progress=False)
    assert experiment_module.CALLS == ["task", "piece", "task"]  # the piece itself was intact


def test_orphan_temporary_files_are_removed(tmp_path, experiment_module):
    out = tmp_path / "out"
    (out / "tasks" / "toy").mkdir(parents=True)
    orphans = [
        out / "results.json.1a2b.tmp",
        out / "tasks" / "toy.json.3c4d.tmp",
        out / "tasks" / "toy" / "p.tmp",
    ]
    for p in orphans:
        p.write_text("{")
    run_tasks([_toy_task(experiment_module)], out, progress=False)
    assert not list(out.rglob("*.tmp"))


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_result_files_follow_the_umask(tmp_path, experiment_module, umask):
    old = os.umask(umask)
    try:
        out = tmp_path / "out"
        run_tasks([_toy_task(experiment_module)], out, progress=False)
        write_json_atomic(out / "extra.json", {"a": 1})
    finally:
        os.umask(old)
    for name in (
        "results.json",
        "report.md",
        "report.html",
        "tasks/toy.json",
        "tasks/toy/piece.json",
        "tasks/toy/result.pickle",
        "extra.json",
    ):
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_consistency_checks_are_reported_apart(tmp_path):
    def fn(ctx):
        out = TaskOutput()
        out.check("measured against predicted", True, "z = 0.3")
        out.check("formula against itself", True, "same code twice", consistency=True)
        return out

    summary = run_tasks([Task("c", "c", "toy", fn)], tmp_path, progress=False)
    assert summary["n_checks"] == 2 and summary["n_consistency"] == 1
    assert summary["tasks"]["c"]["checks"][1] == {
        "name": "formula against itself",
        "passed": True,
        "detail": "same code twice",
        "consistency": True,
    }
    report = (tmp_path / "report.md").read_text()
    assert "**PASS** (consistency) formula against itself" in report
    page = (tmp_path / "report.html").read_text()
    heading = page.index("Consistency checks (hold by construction")
    assert page.index("measured against predicted") < heading < page.index("(consistency) formula against")
    assert Check("a", True, "b").consistency is False


def _kept_context(task, out):
    return Context(profile="quick", seed=0, out=out, task_id=task.id, stamp=task.stamp("quick", 0))


def test_a_kept_result_is_redrawn_only_under_the_stamp_it_was_kept_with(experiment_module, tmp_path):
    """An unreadable kept result, or one kept by other code (here: the experiment edited after the run),
    is treated like a missing one, with a warning: no figure is drawn from it."""
    out = tmp_path / "out"
    task = _toy_task(experiment_module)
    run_tasks([task], out, progress=False)
    assert _kept_context(task, out).kept() == {"v": 2}
    path = _kept_context(task, out).kept_path
    whole = path.read_bytes()
    for broken in (b"not a pickle", whole[: len(whole) - 5]):  # garbage, or the result cut short
        path.write_bytes(broken)
        with pytest.warns(RuntimeWarning, match="corrupt"), pytest.raises(LookupError, match="no usable"):
            _kept_context(task, out).kept()
    path.write_bytes(whole)
    assert _kept_context(task, out).kept(check_only=True) is None
    with open(experiment_module.__file__, "a") as fh:
        fh.write("\nFACTOR = 5\n")
    edited = _toy_task(importlib.reload(experiment_module))
    with pytest.warns(RuntimeWarning, match="stale"), pytest.raises(LookupError, match="no usable kept"):
        _kept_context(edited, out).kept()


def test_redrawing_figures_in_a_locked_folder_refuses(tmp_path):
    out = tmp_path / "out"
    with RunLock(out / "quick"):
        assert main(["figures", "--out", str(out)]) == 2
