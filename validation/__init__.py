"""Validation campaigns of stochdepth (run ``python -m validation``).

Each campaign module exposes ``tasks(profile) -> list[Task]``; :data:`CAMPAIGNS` lists them in the
order they run. The runner (:mod:`validation.runner`) checkpoints finished tasks, so an interrupted
run resumes where it stopped.
"""

from __future__ import annotations

CAMPAIGNS: tuple[str, ...] = ("random_networks", "optimal_depth")

__all__ = ["CAMPAIGNS", "all_tasks"]


def all_tasks(profile: str, only: list[str] | None = None) -> list:
    """Every task of every campaign (or those whose campaign or id starts with one of ``only``)."""
    import importlib

    tasks = []
    for name in CAMPAIGNS:
        module = importlib.import_module(f"{__name__}.{name}")
        tasks += module.tasks(profile)
    if only:
        tasks = [t for t in tasks if any(t.id.startswith(o) or t.campaign.startswith(o) for o in only)]
    return tasks
