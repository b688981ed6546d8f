"""Shared end-to-end check of one validation task: it runs, and writes what a report needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from validation import all_experiments
from validation.runner import Context, Task, run_tasks


def run_task_end_to_end(task: Task, out: Path, seed: int, *, min_checks: int) -> dict[str, Any]:
    """Run ``task`` into ``out`` and assert that it finished with at least ``min_checks`` worded
    checks, Markdown tables, its declared figures as PDF and PNG, cached sub-results and a finished
    checkpoint, and that each figure redrawn from the kept result is the same picture; return its
    record."""
    summary = run_tasks([task], out, seed=seed, progress=False)
    rec = summary["tasks"][task.id]
    assert rec["status"] == "done", rec.get("traceback")
    assert len(rec["checks"]) >= min_checks
    for c in rec["checks"]:
        assert c["name"] and isinstance(c["passed"], bool) and len(c["detail"]) > 20
    assert rec["tables"] and all(t.count("|") > 10 for t in rec["tables"])
    assert rec["figures"] and [Path(f).stem for f in rec["figures"]] == list(task.figures)
    pictures = {}
    for fig in rec["figures"]:
        data = (out / fig).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        assert (out / fig).with_suffix(".pdf").read_bytes().startswith(b"%PDF-")
        pictures[fig] = data
        (out / fig).unlink()
    (experiment,) = all_experiments([task.id])
    ctx = Context(
        profile="quick",
        seed=seed,
        out=out,
        task_id=task.id,
        stamp=task.stamp("quick", seed),
        redraw=frozenset(task.figures),
    )
    assert experiment.redraw(ctx) == rec["figures"]
    for fig, data in pictures.items():
        assert (out / fig).read_bytes() == data, f"{fig} redrawn from the kept result differs"
    assert list((out / "tasks" / task.id).glob("*.json")), "sub-results should be cached"
    assert json.loads((out / "tasks" / f"{task.id}.json").read_text())["status"] == "done"
    return rec


def check_campaign_task_list(campaign: Any, name: str, task_ids: list[str], prefix: str) -> None:
    """A campaign package lists its experiments' tasks, the same for both profiles, under its name."""
    import pytest

    from validation import CAMPAIGNS, all_tasks
    from validation.experiment import campaign_tasks

    assert name in CAMPAIGNS
    assert [e.id for e in campaign.EXPERIMENTS] == task_ids
    for profile in ("quick", "full"):
        tasks = campaign_tasks(campaign.EXPERIMENTS, profile)
        assert [t.id for t in tasks] == task_ids
        for t in tasks:
            assert t.campaign == campaign.CAMPAIGN == name
            assert t.title and t.description and callable(t.fn)
    assert [t.id for t in all_tasks("quick", [prefix])] == task_ids
    with pytest.raises(ValueError, match="profile"):
        campaign_tasks(campaign.EXPERIMENTS, "huge")
