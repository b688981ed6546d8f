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
