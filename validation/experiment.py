"""Experiments: the unit a validation campaign is made of, as compute -> checks -> report.

An experiment is one module of a campaign package (``validation/<campaign>/<experiment>.py``) that
defines

* a frozen ``Sizes`` dataclass and one instance per profile (``SIZES = {"quick": ..., "full": ...}``);
* ``compute(sizes, ctx) -> Result``: all the numerics, returning a frozen dataclass of plain numbers and
  arrays. It draws its seeds with ``ctx.rng(name)``, may checkpoint expensive pieces with
  ``ctx.cached(key, fn)`` and reads the torch device from ``ctx.device``; it writes no file and draws no
  figure;
* ``checks(result) -> list[Check]``: the verdicts (a prediction against a measurement, in words); a
  check that holds by construction is marked ``Check(..., consistency=True)`` and is not evidence;
* ``report(result, ctx) -> Report``: the metrics written to ``results.json``, Markdown tables, figures
  (drawn with :mod:`stochdepth.plot` and saved with ``ctx.savefig``) and notes; it draws from the result
  alone, so that ``python -m validation figures`` can redraw from a kept result;
* ``FIGURES``: the names of the figures ``report`` saves (``ctx.savefig(fig, name)``), listed by
  ``python -m validation --list``;
* ``EXPERIMENT = Experiment.of_module(__name__, id=..., title=..., description=...)`` tying them
  together: the campaign is the module's package, the steps and sizes are the module's own.

The runner (:mod:`validation.runner`) sees an experiment as a :class:`~validation.runner.Task` whose
function runs the three steps in order; its results are keyed by the experiment's sizes at the profile
and by a hash of its campaign package and of the library (:func:`validation.store.stamp`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .runner import Check, Context, Task, TaskOutput

__all__ = ["Experiment", "Report", "campaign_tasks"]


@dataclass
class Report:
    """What an experiment shows: JSON-able metrics, Markdown tables, figure paths and notes."""

    metrics: dict[str, Any] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Experiment:
    """One experiment of a campaign: sizes per profile and its compute, checks and report steps."""

    id: str
    title: str
    campaign: str
    description: str
    sizes: Mapping[str, Any]
    compute: Callable[[Any, Context], Any]
    checks: Callable[[Any], list[Check]]
    report: Callable[[Any, Context], Report]
    figures: tuple[str, ...] = ()
    module: str = ""

    @classmethod
    def of_module(cls, module_name: str, *, id: str, title: str, description: str) -> Experiment:
        """The experiment an experiment module defines: its ``SIZES``, ``compute``, ``checks`` and
        ``report`` (and ``FIGURES``), in the campaign named by its package
        (``validation.<campaign>.<module>``).

        Called at the end of the module as ``Experiment.of_module(__name__, ...)``, once those four
        names exist.
        """
        module = sys.modules[module_name]
        return cls(
            id=id,
            title=title,
            campaign=module_name.split(".")[-2],
            description=description,
            sizes=module.SIZES,
            compute=module.compute,
            checks=module.checks,
            report=module.report,
            figures=tuple(getattr(module, "FIGURES", ())),
            module=module_name,
        )

    def run(self, ctx: Context) -> TaskOutput:
        """Compute at the context's profile, judge and report; the runner's task function."""
        if ctx.profile not in self.sizes:
            raise ValueError(f"profile must be one of {sorted(self.sizes)}, got {ctx.profile!r}")
        result = self.compute(self.sizes[ctx.profile], ctx)
        ctx.keep(result)
        verdicts = [  # numpy bools too
            Check(c.name, bool(c.passed), c.detail, bool(c.consistency)) for c in self.checks(result)
        ]
        rep = self.report(result, ctx)
        return TaskOutput(
            metrics=rep.metrics, checks=verdicts, figures=rep.figures, tables=rep.tables, notes=rep.notes
        )

    def redraw(self, ctx: Context) -> list[str]:
        """Draw the figures named in ``ctx.redraw`` from the result kept by an earlier run (no
        computation); return the paths of the figures written."""
        rep = self.report(ctx.kept(), ctx)
        return [f for f in rep.figures if Path(f).stem in (ctx.redraw or ())]

    def task(self) -> Task:
        """This experiment as a runner task."""
        return Task(
            self.id,
            self.title,
            self.campaign,
            self.run,
            self.description,
            figures=self.figures,
            sizes=self.sizes,
            module=self.module,
        )


def campaign_tasks(experiments: Iterable[Experiment], profile: str) -> list[Task]:
    """The runner tasks of a campaign's ``experiments`` (in order), after checking that every one has
    sizes for ``profile``: the tasks of a campaign package's ``EXPERIMENTS``."""
    experiments = list(experiments)
    for e in experiments:
        if profile not in e.sizes:
            raise ValueError(f"profile must be one of {sorted(e.sizes)}, got {profile!r}")
    return [e.task() for e in experiments]
