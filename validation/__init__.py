"""Validation campaigns of stochdepth (run ``python -m validation``).

Each campaign package lists its experiments in ``EXPERIMENTS`` (:mod:`validation.experiment`);
:data:`CAMPAIGNS` lists the campaigns in the order they run. The runner (:mod:`validation.runner`)
checkpoints finished tasks, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

CAMPAIGNS: tuple[str, ...] = ("random_networks", "optimal_depth", "trained_networks")

__all__ = ["CAMPAIGNS", "all_tasks"]


def all_tasks(profile: str, only: list[str] | None = None) -> list:
    """Every task of every campaign (or those whose campaign or id starts with one of ``only``)."""
    import importlib

    from .experiment import campaign_tasks

    tasks = []
    for name in CAMPAIGNS:
        module = importlib.import_module(f"{__name__}.{name}")
        tasks += campaign_tasks(module.EXPERIMENTS, profile)
    if only:
        tasks = [t for t in tasks if any(t.id.startswith(o) or t.campaign.startswith(o) for o in only)]
    return tasks
