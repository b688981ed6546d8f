"""Every option of the command lines (``python -m validation``, ``python -m validation figures``,
``python -m theory``) says what it does: each argparse action carries a help string."""

from __future__ import annotations

import argparse

import pytest

import theory.__main__ as theory_cli
import validation.__main__ as validation_cli

PARSERS = {
    "validation": validation_cli.run_parser,
    "validation figures": validation_cli.figures_parser,
    "theory": theory_cli.parser,
}


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_option_has_help(name):
    parser = PARSERS[name]()
    actions = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    assert actions, "the parser defines no option"
    missing = [a.dest for a in actions if not (a.help and a.help.strip() and a.help != argparse.SUPPRESS)]
    assert missing == [], f"{name}: options without help: {missing}"
    text = parser.format_help()
    for a in actions:
        assert a.help.split("%")[0].strip()[:20] in " ".join(text.split()), a.dest


def test_the_check_catches_an_option_without_help():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bare")
    bare = [a.dest for a in parser._actions if not isinstance(a, argparse._HelpAction) and not a.help]
    assert bare == ["bare"]


def _add_argument_calls_without_help(source: str) -> list[int]:
    """Line numbers of ``*.add_argument(...)`` calls that pass no ``help=``."""
    import ast

    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "add_argument"
        and not any(k.arg == "help" for k in node.keywords)
    ]


def test_every_command_line_of_the_repository_has_help():
    """The scripts built inline (benchmarks) are read as source: each ``add_argument`` passes ``help=``."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = [p for folder in ("benchmarks", "validation", "theory") for p in (root / folder).rglob("*.py")]
    scripts = [p for p in files if "add_argument(" in p.read_text(encoding="utf-8")]
    assert len(scripts) >= 5
    missing = {
        str(p.relative_to(root)): lines
        for p in scripts
        if (lines := _add_argument_calls_without_help(p.read_text(encoding="utf-8")))
    }
    assert missing == {}
    assert _add_argument_calls_without_help("p.add_argument('--x', help='h')\np.add_argument('--y')\n") == [2]
