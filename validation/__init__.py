"""Validation campaigns of stochdepth (run ``python -m validation``).

Each campaign package lists its experiments in ``EXPERIMENTS`` (:mod:`validation.experiment`);
:data:`CAMPAIGNS` lists the campaigns in the order they run. The runner (:mod:`validation.runner`)
checkpoints finished tasks, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

CAMPAIGNS: tuple[str, ...] = ("random_networks", "optimal_depth", "trained_networks")

__all__ = ["CAMPAIGNS", "all_experiments", "all_tasks"]


def all_experiments(only: list[str] | None = None) -> list:
    """Every experiment of every campaign, in order (or those whose campaign or id starts with one of
    ``only``; a prefix that matches nothing is a ``ValueError`` naming the campaigns and tasks)."""
    import importlib

    experiments = []
    for name in CAMPAIGNS:
        experiments += importlib.import_module(f"{__name__}.{name}").EXPERIMENTS
    if only:
        for o in only:
            if not any(e.id.startswith(o) or e.campaign.startswith(o) for e in experiments):
                raise ValueError(
                    f"only: {o!r} is the prefix of no campaign ({', '.join(CAMPAIGNS)}) and no task "
                    f"({', '.join(e.id for e in experiments)})"
                )
        experiments = [
            e for e in experiments if any(e.id.startswith(o) or e.campaign.startswith(o) for o in only)
        ]
    return experiments


def all_tasks(profile: str, only: list[str] | None = None) -> list:
    """Every task of every campaign (or those whose campaign or id starts with one of ``only``)."""
    from .experiment import campaign_tasks

    return campaign_tasks(all_experiments(only), profile)
