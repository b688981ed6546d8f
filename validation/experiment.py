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
* a docstring that names the experiment, once: its first line is ``<id>: <title>`` (the id, a
  lower-case dotted name such as ``depth.osla`` used by ``--only``, the results and the tests; a colon
  and a space; the title of its section in the report, on that one line), then, after one blank line,
  a paragraph of plain text (no reST roles, it is shown under the title in the report) saying what the
  experiment shows and citing its docs/science.md section: the description. The rest of the docstring
  is free.

The campaign package lists its experiment modules in run order and makes each an :class:`Experiment`
with :meth:`Experiment.of_module`: the campaign is the module's package, the id, title and description
its docstring's, the steps and sizes the module's own.

The runner (:mod:`validation.runner`) sees an experiment as a :class:`~validation.runner.Task` whose
function runs the three steps in order; its results are keyed by the experiment's sizes at the profile
and by a hash of its campaign package and of the library (:func:`validation.store.stamp`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .runner import Check, Context, Report, Task, TaskOutput

__all__ = ["Experiment", "Report", "campaign_tasks", "declared_name"]

#: The first line of an experiment module's docstring: ``<id>: <title>``.
_SUMMARY = re.compile(r"(?P<id>[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)+): (?P<title>\S.*)")
_EXPECTED = (
    "an experiment module's docstring begins with the line '<id>: <title>' (e.g. 'depth.osla: One-step "
    "look-ahead and myopic rules against the Snell policy'), then a blank line and a plain-text paragraph, "
    "the description (see validation.experiment)"
)


def declared_name(module_name: str, doc: str | None) -> tuple[str, str, str]:
    """The id, title and description that the docstring ``doc`` of the experiment module ``module_name``
    declares (the format is in this module's docstring); a ``ValueError`` naming the module and the
    expected format where it does not."""
    paragraphs = re.split(r"\n[ \t]*\n", (doc or "").strip())
    summary = _SUMMARY.fullmatch(paragraphs[0])
    if summary is None:
        problem = f"its docstring begins {paragraphs[0][:120]!r}" if paragraphs[0] else "it has no docstring"
        raise ValueError(f"{module_name}: {problem}; {_EXPECTED}")
    if len(paragraphs) < 2:
        raise ValueError(f"{module_name}: its docstring has no description; {_EXPECTED}")
    description = " ".join(paragraphs[1].split())
    if re.search(r":[a-z]+:`|``", description):
        raise ValueError(f"{module_name}: its description {description[:120]!r} has reST markup; {_EXPECTED}")
    return summary["id"], summary["title"].strip(), description


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
    def of_module(cls, module: ModuleType) -> Experiment:
        """The experiment an experiment module defines: its ``SIZES``, ``compute``, ``checks`` and
        ``report`` (and ``FIGURES``), named by its docstring (:func:`declared_name`), in the campaign
        named by its package (``validation.<campaign>.<module>``).

        Called by the campaign package on each of its experiment modules, in run order.
        """
        module_name = module.__name__
        id, title, description = declared_name(module_name, module.__doc__)
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
