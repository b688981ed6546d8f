"""Campaign tasks as Dask tasks: the same records as a local run, and the same resume semantics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from validation.__main__ import main
from validation.runner import Task, TaskOutput, run_tasks

distributed = pytest.importorskip("distributed")


def _tasks(marks: Path) -> list[Task]:
    def make(name: str, fail: bool = False) -> Task:
        def fn(ctx):
            (marks / f"{name}-{ctx.seed}").touch()  # one file per execution: counts runs across processes
            if fail:
                raise RuntimeError("boom")
            out = TaskOutput(metrics={"x": ctx.rng("x") % 1000})
            out.check("positive", True, "always")
            return out

        return Task(id=name, title=name, campaign="demo", fn=fn)

    return [make("a"), make("b"), make("c", fail=True)]


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as cl,
    ):
        yield cl


def _strip(summary):
    return {
        tid: {k: v for k, v in r.items() if k != "seconds" and k != "traceback"} for tid, r in summary.items()
    }


def test_dask_run_matches_local_run_and_resumes(client, tmp_path, seed):
    marks = tmp_path / "marks"
    marks.mkdir()
    local = run_tasks(_tasks(marks), tmp_path / "local", seed=seed, progress=False)
    remote = run_tasks(_tasks(marks), tmp_path / "dask", seed=seed, progress=False, client=client)
    assert list(remote["tasks"]) == ["a", "b", "c"]
    assert _strip(remote["tasks"]) == _strip(local["tasks"])
    assert json.loads((tmp_path / "dask" / "tasks" / "a.json").read_text())["status"] == "done"
    for m in marks.iterdir():
        m.unlink()
    run_tasks(_tasks(marks), tmp_path / "dask", seed=seed, progress=False, client=client)
    assert sorted(p.name for p in marks.iterdir()) == [f"c-{seed}"]  # only the failed task reran


def test_closed_client_is_refused_before_any_task(client, tmp_path):
    closed = distributed.Client(client.scheduler.address, set_as_default=False)
    closed.close()
    marks = tmp_path / "marks"
    marks.mkdir()
    with pytest.raises(ValueError, match="closed"):
        run_tasks(_tasks(marks), tmp_path / "out", progress=False, client=closed)
    assert list(marks.iterdir()) == []


def test_cli_rejects_unreachable_scheduler_and_bad_workers(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path), "--only", "depth.osla"])
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--workers", "0", "--out", str(tmp_path)])
    assert "--workers must be >= 1" in capsys.readouterr().err


def _piece_task(marks: Path, size: int) -> Task:
    def fn(ctx):
        def piece():
            (marks / f"piece-{len(list(marks.iterdir()))}").touch()  # one file per computation
            return {"v": size}

        out = TaskOutput(metrics=ctx.cached("piece", piece))
        out.check("v is the size", out.metrics["v"] == size, f"v = {out.metrics['v']}")
        return out

    return Task(id="p", title="p", campaign="demo", fn=fn, sizes={"quick": {"n": size}})


def test_dask_run_keys_pieces_like_a_local_run(client, tmp_path):
    """Cached pieces on the workers are keyed by the task's stamp: reused on a rerun, recomputed with
    ``fresh`` or new sizes, as in a local run."""
    marks = tmp_path / "marks"
    marks.mkdir()
    out = tmp_path / "out"
    counts = []
    for size, fresh in [(1, False), (1, False), (1, True), (2, False)]:
        run_tasks([_piece_task(marks, size)], out, fresh=fresh, progress=False, client=client)
        counts.append(len(list(marks.iterdir())))
    assert counts == [1, 1, 2, 3]
    assert json.loads((out / "tasks" / "p.json").read_text())["metrics"] == {"v": 2}
