"""``python -m validation``: the catalogue of campaigns, experiments and figures, and bad arguments
refused with a clear message before any work (nothing computed, nothing written)."""

from __future__ import annotations

import pytest

from validation import all_experiments
from validation.__main__ import main
from validation.figures import figure_index


def _refused(argv, capsys, match):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert match in capsys.readouterr().err


def test_list_names_campaigns_experiments_and_figures(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for e in all_experiments():
        assert f"campaign {e.campaign}" in out and e.id in out
        for name in e.figures:
            assert f"figure {name}" in out
    assert main(["figures", "--list"]) == 0
    assert capsys.readouterr().out == out


def test_every_experiment_declares_figures_with_unique_names():
    index = figure_index()
    assert all(e.figures for e in all_experiments())
    assert sorted(index) == sorted(n for e in all_experiments() for n in e.figures)


def test_unknown_figure_is_refused_before_any_work(tmp_path, capsys):
    _refused(["figures", "no_such_figure", "--out", str(tmp_path / "out")], capsys, "unknown figure")
    assert not (tmp_path / "out").exists()


def test_figure_without_a_kept_result_is_refused(tmp_path, capsys):
    name = next(iter(figure_index()))
    _refused(["figures", name, "--out", str(tmp_path)], capsys, "no kept result")
    assert not (tmp_path / "quick" / "figures").exists()


def test_unknown_campaign_is_refused_before_any_work(tmp_path, capsys):
    _refused(["--only", "no_such_campaign", "--out", str(tmp_path / "out")], capsys, "prefix of no campaign")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [[], ["figures"]])
def test_unwritable_output_folder_is_refused_before_any_work(command, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    _refused([*command, "--only", "depth.osla", "--out", str(blocker)] if not command else
             [*command, "--out", str(blocker)], capsys, "cannot write")  # fmt: skip
    assert list(tmp_path.iterdir()) == [blocker]
