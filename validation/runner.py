"""The validation runner: tasks, checkpoints, figures and the report.

A campaign is a list of :class:`Task` objects. Each task computes metrics (JSON-serialisable numbers),
*checks* (named pass/fail comparisons of a prediction with a measurement, with the numbers behind them)
and figures. The runner:

* writes each finished task atomically to ``<out>/tasks/<task id>.json`` and skips it on the next run
  (same profile and seed), so an interrupted run loses nothing it had finished; long tasks can
  checkpoint their own sub-results with :meth:`Context.cached`;
* shows a progress bar (tqdm) over tasks;
* keeps each experiment's computed result (``<out>/tasks/<task id>/result.pickle``), from which
  ``python -m validation figures`` redraws figures without recomputing (:mod:`validation.figures`);
* writes ``<out>/results.json`` (every task's metrics and checks), the figures under ``<out>/figures``
  (PDF and PNG, drawn with :mod:`stochdepth.plot`), a Markdown report ``<out>/report.md`` and a
  self-contained HTML report ``<out>/report.html`` (:mod:`validation.html`).
"""

from __future__ import annotations

import json
import math
import os
import pickle
import platform
import tempfile
import time
import traceback
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PROFILES = ("quick", "full")

__all__ = [
    "PROFILES",
    "Check",
    "Context",
    "Task",
    "TaskOutput",
    "run_tasks",
    "write_json_atomic",
    "write_reports",
]


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else str(f)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    return obj


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` via a temporary file and an atomic rename (never a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(_jsonable(data), fh, indent=1)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class Check:
    """A prediction compared with a measurement: ``passed`` plus the numbers, in words."""

    name: str
    passed: bool
    detail: str


@dataclass
class TaskOutput:
    """What a task returns: metrics (JSON-able), checks, figure file names, Markdown tables, notes."""

    metrics: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, name: str, passed: bool, detail: str) -> bool:
        self.checks.append(Check(name, bool(passed), detail))
        return bool(passed)


@dataclass(frozen=True)
class Task:
    """One unit of validation work: ``fn(ctx) -> TaskOutput``."""

    id: str
    title: str
    campaign: str
    fn: Callable[[Context], TaskOutput]
    description: str = ""
    figures: tuple[str, ...] = ()


@dataclass
class Context:
    """Per-task environment: profile, seeds, output folders and a sub-result cache.

    ``redraw``: the names of the figures to draw when redrawing from a kept result (``None``: a run,
    every figure is drawn); :meth:`savefig` skips the others.
    """

    profile: str
    seed: int
    out: Path
    task_id: str = ""
    device: str = "cpu"
    redraw: frozenset[str] | None = None

    @property
    def quick(self) -> bool:
        return self.profile == "quick"

    def pick(self, quick: Any, full: Any) -> Any:
        """The value for the current profile."""
        return quick if self.quick else full

    def rng(self, name: str) -> int:
        """A seed for the sub-computation ``name`` of this task (stable, distinct per name)."""
        return (self.seed * 1_000_003 + zlib.crc32(f"{self.task_id}/{name}".encode())) % 2**63

    @property
    def figures(self) -> Path:
        p = self.out / "figures"
        p.mkdir(parents=True, exist_ok=True)
        return p

    def savefig(self, fig: Any, name: str) -> str:
        """Save a figure as PDF and PNG under ``figures/`` (:func:`stochdepth.plot.save`) and return the
        PNG's relative path (when redrawing, a figure not asked for is not written)."""
        from stochdepth import plot

        if self.redraw is None or name in self.redraw:
            plot.save(fig, self.figures / name)
        return f"figures/{name}.png"

    @property
    def kept_path(self) -> Path:
        """Where :meth:`keep` stores this task's result."""
        return self.out / "tasks" / self.task_id / "result.pickle"

    def keep(self, result: Any) -> None:
        """Store the computed result of this task (atomically, stamped with profile and seed), so that its
        figures can be redrawn later without recomputing."""
        path = self.kept_path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump({"stamp": {"profile": self.profile, "seed": self.seed}, "result": result}, fh)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def kept(self) -> Any:
        """The result stored by :meth:`keep` for this task, profile and seed (``LookupError`` if none).

        The file is one this program wrote into its own output folder; unpickling it runs the code of
        the result's classes, so point ``--out`` only at folders you trust.
        """
        path = self.kept_path
        if not path.exists():
            raise LookupError(
                f"no kept result of {self.task_id} in {self.out}: run `python -m validation` first"
            )
        with open(path, "rb") as fh:
            data = pickle.load(fh)
        if data.get("stamp") != {"profile": self.profile, "seed": self.seed}:
            raise LookupError(
                f"the kept result of {self.task_id} is of {data.get('stamp')}, not profile "
                f"{self.profile!r} and seed {self.seed}: rerun `python -m validation`"
            )
        return data["result"]

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """Return the JSON-able result of ``compute()``, stored under this task's folder by ``key``.

        Use it for the expensive pieces of a long task (one grid point, one training run): a rerun after
        an interruption reuses every finished piece.
        """
        path = self.out / "tasks" / self.task_id / f"{key}.json"
        stamp = {"profile": self.profile, "seed": self.seed}
        if path.exists():
            try:
                data = json.loads(path.read_text())
                if data.get("stamp") == stamp:
                    return data["value"]
            except (json.JSONDecodeError, KeyError):
                pass
        value = _jsonable(compute())
        write_json_atomic(path, {"stamp": stamp, "value": value})
        return value


def _environment() -> dict[str, Any]:
    import numba
    import scipy

    import stochdepth

    env = {
        "stochdepth": stochdepth.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    try:
        import torch

        env["torch"] = torch.__version__
        env["cuda"] = torch.cuda.is_available()
    except ImportError:
        env["torch"] = None
    return env


def run_tasks(
    tasks: Sequence[Task],
    out: Path,
    *,
    profile: str = "quick",
    seed: int = 0,
    fresh: bool = False,
    device: str = "cpu",
    progress: bool = True,
    client: Any = None,
) -> dict[str, Any]:
    """Run ``tasks`` (skipping those already finished in ``out`` unless ``fresh``) and write the report.

    With ``client`` (a ``dask.distributed.Client``) the unfinished tasks run as Dask tasks, all at once,
    and each is checkpointed by this process as soon as it finishes: the resume semantics are those of a
    local run (an interrupted run keeps every finished task). Workers write figures and
    :meth:`Context.cached` pieces under ``out`` themselves, so on a multi-machine cluster ``out`` must be
    on a file system shared by the workers.

    Returns the aggregated results (also written to ``out/results.json``).
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    if client is not None:
        from stochdepth.executors import check_executor

        if not hasattr(check_executor(client), "submit") or not hasattr(client, "scheduler_info"):
            raise TypeError(f"client must be a dask.distributed.Client, got {type(client).__name__}")
    out = Path(out)
    (out / "tasks").mkdir(parents=True, exist_ok=True)
    stamp = {"profile": profile, "seed": seed}
    records: dict[str, Any] = {}
    todo = []
    for task in tasks:
        rec = None if fresh else _finished(out / "tasks" / f"{task.id}.json", stamp)
        if rec is None:
            todo.append(task)
        else:
            records[task.id] = rec
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), initial=len(records), desc="validation", unit="task", dynamic_ncols=True)

    def store(task: Task, rec: dict[str, Any]) -> None:
        write_json_atomic(out / "tasks" / f"{task.id}.json", rec)
        records[task.id] = rec
        if bar is not None:
            bar.update(1)

    try:
        if client is None:
            for task in todo:
                if bar is not None:
                    bar.set_postfix_str(task.id)
                store(task, _execute(task, out, profile, seed, device))
        else:
            _run_on_dask(client, todo, out, profile, seed, device, store)
    finally:
        if bar is not None:
            bar.close()
        ordered = {t.id: records[t.id] for t in tasks if t.id in records}
        summary = _summarise(ordered, tasks, profile, seed)
        write_reports(summary, out)
    return summary


def write_reports(summary: dict[str, Any], out: Path) -> None:
    """Write ``results.json``, ``report.md`` and the self-contained ``report.html`` of a run."""
    from .html import html_report

    write_json_atomic(out / "results.json", summary)
    _write_text_atomic(out / "report.md", _report(summary))
    _write_text_atomic(out / "report.html", html_report(summary, out))


def _write_text_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _finished(path: Path, stamp: dict[str, Any]) -> dict[str, Any] | None:
    """The record of a task finished earlier with the same stamp, else ``None``."""
    if not path.exists():
        return None
    try:
        rec = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    return rec if rec.get("stamp") == stamp and rec.get("status") == "done" else None


def _execute(task: Task, out: Path, profile: str, seed: int, device: str) -> dict[str, Any]:
    """Run one task and return its record (an exception becomes an ``error`` record, not a crash)."""
    ctx = Context(profile=profile, seed=seed, out=out, task_id=task.id, device=device)
    t0 = time.perf_counter()
    try:
        res = task.fn(ctx)
        rec: dict[str, Any] = {
            "status": "done",
            "metrics": _jsonable(res.metrics),
            "checks": [asdict(c) for c in res.checks],
            "figures": res.figures,
            "tables": res.tables,
            "notes": res.notes,
        }
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        rec = {
            "status": "error",
            "error": reason,
            "traceback": traceback.format_exc(),
            "checks": [{"name": "task ran", "passed": False, "detail": reason}],
        }
    rec.update(
        stamp={"profile": profile, "seed": seed},
        id=task.id,
        title=task.title,
        campaign=task.campaign,
        description=task.description,
        seconds=time.perf_counter() - t0,
    )
    return rec


def _run_on_dask(
    client: Any,
    tasks: Sequence[Task],
    out: Path,
    profile: str,
    seed: int,
    device: str,
    store: Callable[[Task, dict[str, Any]], None],
) -> None:
    """Submit every task to Dask and checkpoint each as it finishes (in completion order)."""
    from distributed import as_completed

    futures = {client.submit(_execute, t, out, profile, seed, device, pure=False): t for t in tasks}
    try:
        for fut in as_completed(futures, loop=client.loop):
            store(futures[fut], fut.result())
    finally:
        unfinished = [f for f in futures if not f.done()]
        if unfinished:
            client.cancel(unfinished)


def _summarise(records: dict[str, Any], tasks: Iterable[Task], profile: str, seed: int) -> dict[str, Any]:
    checks = [c for r in records.values() for c in r.get("checks", [])]
    return {
        "profile": profile,
        "seed": seed,
        "environment": _environment(),
        "n_tasks": len(list(tasks)),
        "n_done": sum(r["status"] == "done" for r in records.values()),
        "n_checks": len(checks),
        "n_failed": sum(not c["passed"] for c in checks),
        "tasks": records,
    }


def _report(summary: dict[str, Any]) -> str:
    env = summary["environment"]
    lines = [
        "# stochdepth validation report",
        "",
        f"Profile `{summary['profile']}`, seed {summary['seed']}; stochdepth {env['stochdepth']}, "
        f"Python {env['python']}, numpy {env['numpy']}, scipy {env['scipy']}, numba {env['numba']}, "
        f"torch {env.get('torch')}, {env['cpus']} CPUs ({env['machine']}).",
        "",
        f"**{summary['n_checks'] - summary['n_failed']} of {summary['n_checks']} checks pass** "
        f"over {summary['n_done']} of {summary['n_tasks']} tasks.",
        "",
        "| task | campaign | checks | time |",
        "|---|---|---|---|",
    ]
    for tid, r in summary["tasks"].items():
        cs = r.get("checks", [])
        ok = sum(c["passed"] for c in cs)
        flag = "" if ok == len(cs) else " **(failures)**"
        lines.append(f"| [{tid}](#{tid}) | {r['campaign']} | {ok}/{len(cs)}{flag} | {r['seconds']:.1f} s |")
    lines.append("")
    for tid, r in summary["tasks"].items():
        lines += [f'<a id="{tid}"></a>', f"## {r['title']} (`{tid}`)", ""]
        if r.get("description"):
            lines += [r["description"], ""]
        if r["status"] != "done":
            lines += ["```", r.get("traceback", r.get("error", "")), "```", ""]
        for c in r.get("checks", []):
            mark = "PASS" if c["passed"] else "FAIL"
            lines.append(f"- **{mark}** {c['name']}: {c['detail']}")
        lines.append("")
        for t in r.get("tables", []):
            lines += [t, ""]
        for f in r.get("figures", []):
            lines += [f"![{Path(f).stem}]({f}) ([PDF]({Path(f).with_suffix('.pdf').as_posix()}))", ""]
        for n in r.get("notes", []):
            lines += [f"> {n}", ""]
    return "\n".join(lines)
