"""The validation runner: tasks, checkpoints, figures and the report.

A campaign is a list of :class:`Task` objects. Each task computes metrics (JSON-serialisable numbers),
*checks* (named pass/fail comparisons of a prediction with a measurement, with the numbers behind them)
and figures. The runner:

* takes the lock of ``<out>`` (:class:`~validation.store.RunLock`): a second run into the same folder
  refuses with :class:`~validation.store.OutputLockedError`; it removes orphan ``*.tmp`` files;
* writes each finished task atomically to ``<out>/tasks/<task id>.json`` and skips it on the next run
  when its stamp (:func:`~validation.store.stamp`: profile, seed, the task's sizes, library versions
  and a hash of the code) is unchanged, so an interrupted run loses nothing it had finished and a
  changed code or size never reuses an old number; long tasks checkpoint their own sub-results with
  :meth:`Context.cached`, under the same stamp. ``fresh=True`` recomputes tasks and sub-results alike.
  A record that cannot be read (truncated, not UTF-8, wrong shape) is recomputed with a warning;
* shows a progress bar (tqdm) over tasks;
* keeps each experiment's computed result (``<out>/tasks/<task id>/result.pickle``, under the task's
  stamp), from which ``python -m validation figures`` redraws figures without recomputing
  (:mod:`validation.figures`); a kept result of another stamp, or an unreadable one, is ignored with a
  warning, like a missing one;
* writes ``<out>/results.json`` (every task's metrics and checks), the figures under ``<out>/figures``
  (PDF and PNG, drawn with :mod:`stochdepth.plot`), a Markdown report ``<out>/report.md`` and a
  self-contained HTML report ``<out>/report.html`` (:mod:`validation.html`).

A check that holds by construction (the same formula computed twice, a property the code enforces) is
a *consistency check* (``Check(..., consistency=True)``): it still has to pass, but the report lists it
apart and does not count it as evidence.
"""

from __future__ import annotations

import io
import os
import pickle
import platform
import time
import traceback
import warnings
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .store import (
    OutputLockedError,
    RunLock,
    read_json,
    remove_orphans,
    warn_corrupt,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)
from .store import jsonable as _jsonable
from .store import stamp as make_stamp

PROFILES = ("quick", "full")

__all__ = [
    "PROFILES",
    "Check",
    "Context",
    "OutputLockedError",
    "Report",
    "Task",
    "TaskOutput",
    "run_tasks",
    "write_json_atomic",
    "write_reports",
]


@dataclass(frozen=True)
class Check:
    """A prediction compared with a measurement: ``passed`` plus the numbers, in words.

    ``consistency=True`` marks a check that cannot fail while the code is what it is (a quantity
    compared with itself by another route of the same code, a property true by construction): it
    guards against regressions but is not evidence, and the report counts it apart.
    """

    name: str
    passed: bool
    detail: str
    consistency: bool = False


@dataclass
class Report:
    """What a task shows: JSON-able metrics, Markdown tables, figure paths and notes (what an
    experiment's ``report`` step returns, :mod:`validation.experiment`)."""

    metrics: dict[str, Any] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class TaskOutput(Report):
    """What a task returns: its :class:`Report` (metrics, tables, figures, notes) and its checks."""

    checks: list[Check] = field(default_factory=list)

    def check(self, name: str, passed: bool, detail: str, *, consistency: bool = False) -> bool:
        self.checks.append(Check(name, bool(passed), detail, consistency))
        return bool(passed)


@dataclass(frozen=True)
class Task:
    """One unit of validation work: ``fn(ctx) -> TaskOutput``.

    ``sizes`` maps each profile to the task's configuration at that profile and ``module`` names the
    module whose package holds the task's code (default: the module of ``fn``); both go into the stamp
    its results are keyed by (:func:`~validation.store.stamp`).
    """

    id: str
    title: str
    campaign: str
    fn: Callable[[Context], TaskOutput]
    description: str = ""
    figures: tuple[str, ...] = ()
    sizes: Mapping[str, Any] = field(default_factory=dict)
    module: str = ""

    def stamp(self, profile: str, seed: int) -> dict[str, Any]:
        """What this task's results at ``profile`` and ``seed`` are keyed by."""
        module = self.module or getattr(self.fn, "__module__", None)
        return make_stamp(profile, seed, self.sizes.get(profile), module)


@dataclass
class Context:
    """Per-task environment: profile, seeds, output folders and a sub-result cache.

    ``stamp`` is the task's stamp (what its cached sub-results and its kept result are keyed by; by
    default the profile, seed, versions and code of a task without sizes) and ``fresh`` makes
    :meth:`cached` recompute. ``redraw``: the names of the figures to draw when redrawing from a kept
    result (``None``: a run, every figure is drawn); :meth:`savefig` skips the others.
    """

    profile: str
    seed: int
    out: Path
    task_id: str = ""
    device: str = "cpu"
    stamp: dict[str, Any] | None = None
    fresh: bool = False
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

    @property
    def key(self) -> dict[str, Any]:
        """What this task's kept result and cached pieces are keyed by: :attr:`stamp`, or for a context
        without one the stamp of profile and seed alone."""
        return self.stamp if self.stamp is not None else make_stamp(self.profile, self.seed)

    def keep(self, result: Any) -> None:
        """Store the computed result of this task atomically, under :attr:`key`, so that its figures can
        be redrawn later without recomputing (the key is pickled ahead of the result, so that
        :meth:`kept` can tell a stale file without unpickling its result)."""
        buf = io.BytesIO()
        pickle.dump(self.key, buf)
        pickle.dump(result, buf)
        write_bytes_atomic(self.kept_path, buf.getvalue())

    def kept(self, *, check_only: bool = False) -> Any:
        """The result stored by :meth:`keep` for this task under the same :attr:`key` (with
        ``check_only``, ``None`` once the key is found to match).

        Raises ``LookupError`` when there is none; a result kept under another key (other code, sizes,
        versions, profile or seed) or a file that cannot be unpickled is treated like a missing one,
        with a ``RuntimeWarning``, so that no figure is ever redrawn from a result that the current code
        would not compute. The file is one this program wrote into its own output folder; unpickling
        it runs the code of the result's classes, so point ``--out`` only at folders you trust.
        """
        path = self.kept_path
        if not path.exists():
            raise LookupError(
                f"no kept result of {self.task_id} in {self.out}: run `python -m validation` first"
            )
        with open(path, "rb") as fh:
            try:
                if pickle.load(fh) == self.key:
                    return None if check_only else pickle.load(fh)
                why = "stale (kept by other code, sizes, versions, profile or seed)"
            except Exception as exc:
                why = f"corrupt ({type(exc).__name__}: {exc})"
        warnings.warn(f"ignoring the kept result {path}: it is {why}", RuntimeWarning, stacklevel=2)
        raise LookupError(
            f"no usable kept result of {self.task_id} in {self.out} (it is {why}): rerun "
            "`python -m validation`"
        )

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """Return the JSON-able result of ``compute()``, stored under this task's folder by ``key``.

        Use it for the expensive pieces of a long task (one grid point, one training run): a rerun after
        an interruption reuses every finished piece whose stamp (this context's :attr:`stamp`: profile,
        seed, the task's sizes, versions, code hash) is unchanged; with :attr:`fresh` nothing is reused.
        An unreadable piece is recomputed with a warning.
        """
        path = self.out / "tasks" / self.task_id / f"{key}.json"
        want = self.key
        if not self.fresh:
            data, why = read_json(path)
            if why is None and not (isinstance(data, dict) and {"stamp", "value"} <= data.keys()):
                why = "not a {stamp, value} record"
            if why is None:
                if data["stamp"] == want:
                    return data["value"]
            elif why != "missing":
                warn_corrupt(path, why)
        value = _jsonable(compute())
        write_json_atomic(path, {"stamp": want, "value": value})
        return value


def _processor() -> str:
    """The processor's model name (Linux: ``/proc/cpuinfo``), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
        "processor": _processor(),
        "cpus": os.cpu_count(),
    }
    try:
        import torch

        from stochdepth.nn import device_kernels

        env["torch"] = torch.__version__
        env["torch_cpu_kernels"] = device_kernels("cpu")
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
    """Run ``tasks`` (skipping those already finished in ``out`` with the same stamp, unless ``fresh``)
    and write the report.

    The run holds the lock of ``out`` throughout (a second run into the same folder raises
    :class:`~validation.store.OutputLockedError`) and first deletes orphan ``*.tmp`` files. With
    ``fresh`` every task and every cached sub-result is recomputed.

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
    with RunLock(out):
        remove_orphans(out)
        return _run_locked(tasks, out, profile, seed, fresh, device, progress, client)


def _run_locked(
    tasks: Sequence[Task],
    out: Path,
    profile: str,
    seed: int,
    fresh: bool,
    device: str,
    progress: bool,
    client: Any,
) -> dict[str, Any]:
    """:func:`run_tasks` once the folder is locked."""
    (out / "tasks").mkdir(parents=True, exist_ok=True)
    records: dict[str, Any] = {}
    todo = []
    for task in tasks:
        st = task.stamp(profile, seed)
        rec = None if fresh else _finished(out / "tasks" / f"{task.id}.json", st)
        if rec is None:
            todo.append((task, st))
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
            for task, st in todo:
                if bar is not None:
                    bar.set_postfix_str(task.id)
                store(task, _execute(task, out, profile, seed, device, st, fresh))
        else:
            _run_on_dask(client, todo, out, profile, seed, device, fresh, store)
    finally:
        if bar is not None:
            bar.close()
        ordered = {t.id: records[t.id] for t in tasks if t.id in records}
        summary = _summarise(ordered, tasks, profile, seed)
        write_reports(summary, out)
    return summary


def write_reports(summary: dict[str, Any], out: Path) -> None:
    """Write ``results.json``, ``report.md`` and the self-contained ``report.html`` of a run (atomically,
    :mod:`validation.store`); the caller holds ``out``'s :class:`~validation.store.RunLock`."""
    from .html import html_report

    write_json_atomic(out / "results.json", summary)
    write_text_atomic(out / "report.md", _report(summary))
    write_text_atomic(out / "report.html", html_report(summary, out))


_RECORD_FIELDS = {
    "status": str,
    "stamp": dict,
    "id": str,
    "title": str,
    "campaign": str,
    "description": str,
    "seconds": (int, float),
    "metrics": dict,
    "checks": list,
    "figures": list,
    "tables": list,
    "notes": list,
}


def _record_problem(rec: Any) -> str | None:
    """Why ``rec`` is not a finished task record as :func:`_execute` writes it (``None`` if it is)."""
    if not isinstance(rec, dict):
        return f"a JSON {type(rec).__name__}, not an object"
    for key, kind in _RECORD_FIELDS.items():
        if not isinstance(rec.get(key), kind):
            return f"field {key!r} missing or not {getattr(kind, '__name__', 'a number')}"
    for c in rec["checks"]:
        if not (
            isinstance(c, dict)
            and isinstance(c.get("name"), str)
            and isinstance(c.get("passed"), bool)
            and isinstance(c.get("detail"), str)
        ):
            return f"a check that is not {{name, passed, detail}}: {str(c)[:60]}"
    return None


def _finished(path: Path, want: dict[str, Any]) -> dict[str, Any] | None:
    """The record of a task finished earlier with the stamp ``want``, else ``None`` (an unreadable or
    malformed record is reported with a warning and recomputed like a missing one)."""
    rec, why = read_json(path)
    if why is None and isinstance(rec, dict) and rec.get("status") == "error":
        return None  # a failed task: rerun it
    if why is None:
        why = _record_problem(rec)
    if why is not None:
        if why != "missing":
            warn_corrupt(path, why)
        return None
    return rec if rec["stamp"] == want else None


def _execute(
    task: Task, out: Path, profile: str, seed: int, device: str, st: dict[str, Any], fresh: bool
) -> dict[str, Any]:
    """Run one task and return its record (an exception becomes an ``error`` record, not a crash)."""
    ctx = Context(profile=profile, seed=seed, out=out, task_id=task.id, device=device, stamp=st, fresh=fresh)
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
            "checks": [{"name": "task ran", "passed": False, "detail": reason, "consistency": False}],
        }
    rec.update(
        stamp=st,
        id=task.id,
        title=task.title,
        campaign=task.campaign,
        description=task.description,
        seconds=time.perf_counter() - t0,
    )
    return rec


def _run_on_dask(
    client: Any,
    todo: Sequence[tuple[Task, dict[str, Any]]],
    out: Path,
    profile: str,
    seed: int,
    device: str,
    fresh: bool,
    store: Callable[[Task, dict[str, Any]], None],
) -> None:
    """Submit every task to Dask and checkpoint each as it finishes (in completion order)."""
    from distributed import as_completed

    futures = {
        client.submit(_execute, t, out, profile, seed, device, st, fresh, pure=False): t for t, st in todo
    }
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
        "n_consistency": sum(bool(c.get("consistency")) for c in checks),
        "tasks": records,
    }


def _machine_text(env: dict[str, Any]) -> str:
    """The processor and torch's CPU kernels of a run's environment (older records lack both)."""
    parts = [env.get("processor") or env["machine"]]
    if env.get("torch_cpu_kernels"):
        parts.append(f"torch kernels {env['torch_cpu_kernels']}")
    return ", ".join(parts)


def _report(summary: dict[str, Any]) -> str:
    env = summary["environment"]
    lines = [
        "# stochdepth validation report",
        "",
        f"Profile `{summary['profile']}`, seed {summary['seed']}; stochdepth {env['stochdepth']}, "
        f"Python {env['python']}, numpy {env['numpy']}, scipy {env['scipy']}, numba {env['numba']}, "
        f"torch {env.get('torch')}, {env['cpus']} CPUs ({_machine_text(env)}).",
        "",
        f"**{summary['n_checks'] - summary['n_failed']} of {summary['n_checks']} checks pass** "
        f"over {summary['n_done']} of {summary['n_tasks']} tasks; {summary.get('n_consistency', 0)} of "
        "them are consistency checks (true by construction: they guard the code but are no evidence).",
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
        checks = r.get("checks", [])
        for c in [c for c in checks if not c.get("consistency")]:
            mark = "PASS" if c["passed"] else "FAIL"
            lines.append(f"- **{mark}** {c['name']}: {c['detail']}")
        consistency = [c for c in checks if c.get("consistency")]
        if consistency:
            lines += ["", "Consistency checks (hold by construction; not evidence):", ""]
        for c in consistency:
            mark = "PASS" if c["passed"] else "FAIL"
            lines.append(f"- **{mark}** (consistency) {c['name']}: {c['detail']}")
        lines.append("")
        for t in r.get("tables", []):
            lines += [t, ""]
        for f in r.get("figures", []):
            lines += [f"![{Path(f).stem}]({f}) ([PDF]({Path(f).with_suffix('.pdf').as_posix()}))", ""]
        for n in r.get("notes", []):
            lines += [f"> {n}", ""]
    return "\n".join(lines)
