"""Write the API reference pages (docs/api/*.rst) from the ``__all__`` of every public package.

Run ``python docs/api_pages.py`` after adding or removing a public name; ``tests/test_docs.py`` fails
while a name of some ``__all__`` is missing from these pages. Each page lists its package's public names
in one ``autosummary`` table (one generated page per name); a public module named in an ``__all__``
(``stochdepth.networks``, ``stochdepth.testing.strategies``, ...) gets a page of its own.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = "stochdepth"


def public_modules() -> dict[str, list[str]]:
    """Every public package or module with a page, and the names its page documents.

    First those reachable from ``stochdepth`` through the ``__all__`` lists (each with all its names),
    then every other public module (no ``_`` in its path) whose ``__all__`` holds objects that no page
    documents yet (``stochdepth.executors``, ``stochdepth.stopping.finance``, the helpers of a
    subpackage's modules, ...), with those names only.
    """
    pages = {name: public_names(name) for name in _reachable()}
    documented = {id(getattr(importlib.import_module(m), n)) for m, names in pages.items() for n in names}
    package = importlib.import_module(ROOT)
    for info in pkgutil.walk_packages(package.__path__, f"{ROOT}."):
        if any(part.startswith("_") for part in info.name.split(".")) or info.name in pages:
            continue
        module = importlib.import_module(info.name)
        rest = [n for n in public_names(info.name) if id(getattr(module, n)) not in documented]
        if rest:
            pages[info.name] = rest
            documented |= {id(getattr(module, n)) for n in rest}
    return pages


def _reachable() -> list[str]:
    order: list[str] = []
    todo = [ROOT]
    while todo:
        name = todo.pop(0)
        if name in order:
            continue
        order.append(name)
        module = importlib.import_module(name)
        for item in getattr(module, "__all__", ()):
            obj = getattr(module, item)
            if isinstance(obj, types.ModuleType) and obj.__name__.startswith(f"{ROOT}."):
                todo.append(obj.__name__)
    return order


def public_names(module_name: str) -> list[str]:
    """The names of ``module_name.__all__`` documented on its page (modules get pages of their own)."""
    module = importlib.import_module(module_name)
    return [
        item
        for item in getattr(module, "__all__", ())
        if not isinstance(getattr(module, item), types.ModuleType) and not item.startswith("__")
    ]


def page(module_name: str, names: list[str], children: list[str]) -> str:
    title = f"``{module_name}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {module_name}", "   :no-members:", ""]
    if names:
        lines += [f".. currentmodule:: {module_name}", "", ".. autosummary::", "   :toctree: generated", ""]
        lines += [f"   {name}" for name in names]
        lines.append("")
    if children:
        lines += ["Modules", "-------", "", ".. toctree::", "   :maxdepth: 1", ""]
        lines += [f"   {child}" for child in children]
        lines.append("")
    return "\n".join(lines)


def write_pages(folder: Path = HERE / "api") -> list[Path]:
    folder.mkdir(exist_ok=True)
    pages = public_modules()
    written = []
    for name, names in pages.items():
        # a page's children: the pages of the modules just below it (or, at the root, of every
        # subpackage), so that every page is in the table of contents once
        children = [
            other
            for other in pages
            if other.rpartition(".")[0] == name
            or (name == ROOT and other.count(".") > 1 and other.rpartition(".")[0] not in pages)
        ]
        path = folder / f"{name}.rst"
        path.write_text(page(name, names, children))
        written.append(path)
    for stale in set(folder.glob("*.rst")) - set(written):
        stale.unlink()
    return written


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    for path in write_pages():
        print(path.relative_to(HERE.parent))
