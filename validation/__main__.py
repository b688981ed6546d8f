"""``python -m validation``: run the validation campaigns and write results, figures and a report.

Usage::

    python -m validation                       # quick profile (minutes on 2 cores)
    python -m validation --profile full        # the full campaigns (larger samples and grids)
    python -m validation --out DIR             # output folder (default: validation-output)
    python -m validation --only random         # campaigns or task ids starting with a prefix
    python -m validation --fresh               # ignore finished tasks from an earlier run
    python -m validation --list                # list the campaigns, experiments and figures
    python -m validation figures               # redraw every figure from the kept results
    python -m validation figures depth_osla    # ... only the named figures (no recomputation)
    python -m validation --workers 4           # tasks as Dask tasks on a local cluster of 4 processes
    python -m validation --scheduler tcp://host:8786   # ... on a running Dask cluster (shared --out)

Writes ``results.json``, ``report.md`` and a self-contained ``report.html`` (figures embedded) under
``OUT/PROFILE``, the figures as PDF and PNG under ``OUT/PROFILE/figures``. Finished tasks and their
sub-results are checkpointed, keyed by profile, seed, sizes, library versions and a hash of the code:
rerunning after an interruption continues where it stopped, and a change of code recomputes what it
affects. One run (or ``figures`` redraw) at a time per output folder. Exit status 0 when every check
passes, 1 otherwise; 2 for bad arguments (before any work) or an output folder in use by another run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("MPLBACKEND", "Agg")

from . import all_tasks
from .figures import check_output_folder
from .runner import PROFILES, OutputLockedError, run_tasks


def _default_device() -> str:
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def _dask_client(workers: int | None, scheduler: str | None, stack: contextlib.ExitStack) -> Any:
    """A Dask client for ``--workers`` (a local cluster, closed on exit) or ``--scheduler``, else ``None``."""
    if workers is None and scheduler is None:
        return None
    if scheduler is not None:
        from stochdepth.executors import connect_dask

        return stack.enter_context(connect_dask(scheduler))
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError('--workers needs dask.distributed: pip install "stochdepth[dask]"') from exc
    cluster = stack.enter_context(
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
    )
    return stack.enter_context(Client(cluster, set_as_default=False))


def run_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m validation`` (running the campaigns)."""
    parser = argparse.ArgumentParser(
        prog="python -m validation",
        description=__doc__.splitlines()[0],
        epilog="`python -m validation figures --help`: redraw figures from kept results.",
    )
    parser.add_argument(
        "--profile", choices=PROFILES, default="quick", help="sizes of the campaigns (default: quick)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("validation-output"),
        help="output folder; results go to OUT/PROFILE (default: validation-output)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every random number (default: 0)")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="PREFIX",
        help="run only the campaigns or task ids starting with one of these prefixes",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="recompute every task and cached sub-result (reuse nothing)"
    )
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    parser.add_argument(
        "--list", action="store_true", help="list the campaigns, experiments and figures, then exit"
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, metavar="N", help="run tasks on a local Dask cluster of N processes"
    )
    where.add_argument("--scheduler", metavar="ADDRESS", help="run tasks on the Dask scheduler at ADDRESS")
    return parser


def figures_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m validation figures`` (redrawing figures from kept results)."""
    parser = argparse.ArgumentParser(
        prog="python -m validation figures",
        description="Redraw figures from the results kept by an earlier run, without recomputing, and "
        "rewrite the reports.",
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help="figures to redraw (default: all; see --list)"
    )
    parser.add_argument(
        "--profile", choices=PROFILES, default="quick", help="profile of the run to read (default: quick)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("validation-output"), help="output folder of that run"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of that run (default: 0)")
    parser.add_argument("--list", action="store_true", help="list the figures by experiment, then exit")
    return parser


def _figures(argv: list[str]) -> int:
    from .figures import catalogue, redraw

    parser = figures_parser()
    args = parser.parse_args(argv)
    if args.list:
        print(catalogue())
        return 0
    try:
        written = redraw(args.names, args.out, profile=args.profile, seed=args.seed)
    except (ValueError, LookupError) as exc:
        parser.error(str(exc))
    except OutputLockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"redrew {args.out / args.profile / path} (and its PDF)")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["figures"]:
        return _figures(argv[1:])
    parser = run_parser()
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    if args.list:
        from .figures import catalogue

        print(catalogue())
        return 0
    try:
        tasks = all_tasks(args.profile, args.only)
        out = check_output_folder(args.out / args.profile)
    except ValueError as exc:
        parser.error(str(exc))
    with contextlib.ExitStack() as stack:
        try:
            client = _dask_client(args.workers, args.scheduler, stack)
        except (ConnectionError, ImportError) as exc:
            parser.error(str(exc))
        try:
            summary = run_tasks(
                tasks,
                out,
                profile=args.profile,
                seed=args.seed,
                fresh=args.fresh,
                device=args.device or _default_device(),
                progress=not args.no_progress,
                client=client,
            )
        except OutputLockedError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(
        f"{summary['n_checks'] - summary['n_failed']}/{summary['n_checks']} checks pass; "
        f"report: {out / 'report.html'} (and report.md); results: {out / 'results.json'}"
    )
    failed = [(tid, c) for tid, r in summary["tasks"].items() for c in r.get("checks", []) if not c["passed"]]
    for tid, c in failed:
        print(f"  FAIL {tid}: {c['name']}: {c['detail']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
