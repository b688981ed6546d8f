"""The documentation site's sources: every public name is in the API reference, every page is reachable.

The site itself is built by ``python -m sphinx -W -b html docs docs/_build/html`` (CI, after the
tests); these checks need no Sphinx. ``docs/api_pages.py`` writes the reference pages from the
packages' ``__all__``; a name added to an ``__all__`` without rerunning it fails here.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS))
import api_pages  # noqa: E402

_ENTRY = re.compile(r"^   (\w+)$", re.MULTILINE)


def _entries(module_name: str) -> set[str]:
    path = DOCS / "api" / f"{module_name}.rst"
    assert path.exists(), f"no API page {path.name}: run python docs/api_pages.py"
    return set(_ENTRY.findall(path.read_text()))


def _documented() -> dict[int, str]:
    """Object id -> the page documenting it, over every committed API page."""
    found = {}
    for path in (DOCS / "api").glob("*.rst"):
        module = importlib.import_module(path.stem)
        for name in _ENTRY.findall(path.read_text()):
            if hasattr(module, name):
                found[id(getattr(module, name))] = f"{path.stem}.{name}"
    return found


@pytest.mark.parametrize("module_name", api_pages._reachable())
def test_every_name_of_every_all_is_in_the_api_reference(module_name):
    """Each public package's page lists every non-module name of its ``__all__``; each public module
    named in an ``__all__`` has a page of its own."""
    module = importlib.import_module(module_name)
    listed = _entries(module_name)
    for name in module.__all__:
        obj = getattr(module, name)
        if isinstance(obj, type(module)):
            assert (DOCS / "api" / f"{obj.__name__}.rst").exists(), f"{obj.__name__} has no API page"
        elif not name.startswith("__"):
            assert name in listed, f"{module_name}.{name} is not in docs/api/{module_name}.rst"


def test_public_names_of_modules_are_documented_somewhere():
    """A public module's ``__all__`` names not re-exported by its package are on the module's own page."""
    documented = _documented()
    missing = [
        f"{module_name}.{name}"
        for module_name, names in api_pages.public_modules().items()
        for name in names
        if id(getattr(importlib.import_module(module_name), name)) not in documented
    ]
    assert not missing, f"public names missing from docs/api (run python docs/api_pages.py): {missing}"


def test_the_pages_are_what_the_generator_writes(tmp_path):
    """The committed pages are up to date: regenerating them changes nothing."""
    written = api_pages.write_pages(tmp_path)
    committed = {p.name: p.read_text() for p in (DOCS / "api").glob("*.rst")}
    fresh = {p.name: p.read_text() for p in written}
    assert fresh == committed, "docs/api is stale: run python docs/api_pages.py"


def test_every_guide_and_example_is_linked():
    """Each guide is in the index's table of contents; each gallery script follows sphinx-gallery's name
    pattern and opens with a title, so that its figure is in the built site."""
    index = (DOCS / "index.md").read_text()
    for guide in (DOCS / "guide").glob("*.md"):
        assert f"guide/{guide.stem}" in index, f"{guide.name} is not in docs/index.md"
    examples = sorted((ROOT / "examples").glob("*.py"))
    assert len(examples) >= 7
    for script in examples:
        text = script.read_text()
        assert script.name.startswith("plot_"), script.name
        assert re.match(r'r?"""\n.+\n=+\n', text), f"{script.name} does not open with a titled docstring"
        assert "stochdepth import plot" in text, f"{script.name} does not draw with stochdepth.plot"


_CODE = re.compile(r"```python\n(.*?)```", re.DOTALL)
#: Guides whose code blocks need what a test run has not: the Dask guide's blocks share a ``client``
#: of a cluster the reader starts (tests/test_montecarlo_executors.py and
#: tests/validation/test_runner_dask.py run the library on a local cluster instead).
_NOT_RUN = {"dask.md"}
_GUIDES = sorted(p.name for p in (DOCS / "guide").glob("*.md") if _CODE.search(p.read_text()))


@pytest.mark.parametrize("name", [g for g in _GUIDES if g not in _NOT_RUN])
def test_guide_code_runs(name, tmp_path, monkeypatch):
    """The Python blocks of a guide, run in order as one script in a scratch folder, finish without
    an error (they show the API as it is)."""
    monkeypatch.chdir(tmp_path)
    source = "\n".join(_CODE.findall((DOCS / "guide" / name).read_text()))
    exec(compile(source, name, "exec"), {"__name__": "__guide__"})
