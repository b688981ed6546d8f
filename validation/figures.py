"""The figures of the campaigns: their catalogue and redrawing them from kept results.

Every experiment declares the names of its figures (``FIGURES``) and keeps its computed result in the
output folder (:meth:`validation.runner.Context.keep`); ``python -m validation figures [NAME...]`` redraws
the named figures one by one from those results, without computing anything, and rewrites the reports,
holding the output folder's lock (:class:`validation.store.RunLock`) like a run. A result kept under
another stamp than the current one (:func:`validation.store.stamp`) is refused like a missing one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import all_experiments
from .runner import PROFILES, Context, write_reports
from .store import RunLock, remove_orphans

__all__ = ["catalogue", "check_output_folder", "figure_index", "redraw"]


def figure_index() -> dict[str, Any]:
    """``{figure name: experiment}`` over every campaign (a name used twice is an error)."""
    index: dict[str, Any] = {}
    for e in all_experiments():
        for name in e.figures:
            if name in index:
                raise ValueError(f"figure {name!r} is declared by {index[name].id} and {e.id}")
            index[name] = e
    return index


def catalogue() -> str:
    """The campaigns, their experiments and each experiment's figures, as indented text."""
    lines, campaign = [], None
    for e in all_experiments():
        if e.campaign != campaign:
            campaign = e.campaign
            lines.append(f"campaign {campaign}")
        lines.append(f"  {e.id:32s} {e.title}")
        lines += [f"    figure {name}" for name in e.figures]
    return "\n".join(lines)


def check_output_folder(out: Path) -> Path:
    """Create ``out`` if needed and check that files can be written in it (``ValueError`` otherwise),
    before any work starts."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"out: cannot write in the output folder {str(out)!r} ({exc.strerror})") from None
    return out


def redraw(names: list[str] | None, out: Path, *, profile: str = "quick", seed: int = 0) -> list[str]:
    """Redraw the figures ``names`` (all when empty or ``None``) from the results kept in ``out`` by a run
    of ``profile`` and ``seed``, and rewrite the reports there; return the figures written.

    Raises
    ------
    ValueError
        For an unknown figure name or profile, or an output folder that cannot be written (before any
        figure is drawn).
    LookupError
        When a named figure's experiment has no kept result of that profile and seed, or one kept under
        another stamp (other code, sizes or versions) or unreadable (then with a ``RuntimeWarning``).
    OutputLockedError
        When another run holds the lock of the output folder.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    index = figure_index()
    unknown = [n for n in names or () if n not in index]
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; the figures are: {', '.join(index)}")
    wanted = list(names or index)
    base = check_output_folder(Path(out) / profile)
    by_experiment: dict[str, tuple[Any, set[str]]] = {}
    for name in wanted:
        by_experiment.setdefault(index[name].id, (index[name], set()))[1].add(name)
    with RunLock(base):
        remove_orphans(base)
        contexts = [
            (
                e,
                Context(
                    profile=profile,
                    seed=seed,
                    out=base,
                    task_id=e.id,
                    stamp=e.task().stamp(profile, seed),
                    redraw=frozenset(chosen),
                ),
            )
            for e, chosen in by_experiment.values()
        ]
        for _, ctx in contexts:  # every kept result must be there, of the current code, before drawing
            ctx.kept(check_only=True)
        written = []
        for e, ctx in contexts:
            written += e.redraw(ctx)
        results = base / "results.json"
        if results.exists():
            write_reports(json.loads(results.read_text()), base)
    return written
