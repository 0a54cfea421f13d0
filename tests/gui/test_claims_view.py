"""The Claims tab shows a `gkn reproduce` report folder: verdicts, numbers beside baselines, figures, runs."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import numpy as np
import pytest

pytest.importorskip("PyQt6")

import imageio.v3 as iio
from PyQt6.QtCore import Qt

from gkn_core.reproduce.claims import CHAOS_PAPER, GKN_PAPER, RULE, ClaimResult, compare, summary
from gkn_core.reproduce.report import write_report


def claim(
    claim_id: str, paper: dict, measured: list[float], baseline: list[float], figure: str
) -> ClaimResult:
    part = compare("effect", measured, baseline, "higher", paired=True, what="trained against untrained")
    return ClaimResult(
        id=claim_id,
        paper=paper,
        claim=f"the words of claim {claim_id}",
        setting={"words": f"setting of {claim_id}"},
        measured={"trained": summary(measured)},
        baseline={"untrained": summary(baseline)},
        verdict=part["verdict"],
        rule=RULE,
        figure=figure,
        parts=[part],
        runs=f"runs/{claim_id}",
        budget="quick",
        elapsed_s=12.0,
    )


@pytest.fixture
def report(tmp_path):
    folder = tmp_path / "report"
    (folder / "figures").mkdir(parents=True)
    picture = np.zeros((40, 60, 3), dtype=np.uint8)
    picture[:, :30] = 255
    iio.imwrite(folder / "figures" / "a.png", picture)
    (folder / "runs" / "a" / "sweep").mkdir(parents=True)
    for name in ("L2-seed0.h5", "L7-seed0.h5"):
        (folder / "runs" / "a" / "sweep" / name).write_bytes(b"")
    results = [
        claim("a", GKN_PAPER, [0.6, 0.65, 0.7], [0.0, 0.0, 0.01], "figures/a.png"),
        claim("e", CHAOS_PAPER, [0.1, 0.3, 0.2], [0.2, 0.2, 0.2], "figures/missing.png"),
    ]
    write_report(results, folder, "quick")
    return folder, results


def test_a_report_folder_opens_in_the_claims_tab(window, report, qtbot):
    folder, results = report
    assert [r.verdict for r in results] == ["reproduced", "inconclusive"]
    assert window.open_run_file(folder)  # a folder with claims.json is a report, not a sweep
    view = window.views["claims"]
    assert window.tabs.currentWidget() is view
    assert view.table.rowCount() == 2
    assert view.table.item(0, 0).text() == "reproduced" and view.table.item(1, 0).text() == "inconclusive"
    assert "2 claims (1 reproduced, 1 inconclusive)" in view.title.text()
    text = view.details.toPlainText()  # the first claim is selected: words, numbers beside the baseline
    assert "the words of claim a" in text and "setting of a" in text
    assert "0.65 ± 0.05 (n=3)" in text and "0.003333 ± 0.005774 (n=3)" in text
    assert not view._pixmap.isNull() and view._pixmap.width() == 60
    assert sorted(view.runs.item(i).text() for i in range(view.runs.count())) == sorted(
        str(p) for p in (folder / "runs" / "a" / "sweep").glob("*.h5")
    )
    asked: list[str] = []
    view.run_requested.connect(asked.append)
    view.runs.itemDoubleClicked.emit(view.runs.item(0))
    assert asked == [view.runs.item(0).text()]
    view.table.selectRow(1)
    assert "the words of claim e" in view.details.toPlainText()
    assert view._pixmap.isNull() and view.figure.text() == "(no figure)" and view.runs.count() == 0


def test_a_damaged_report_is_one_line(window, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "claims.json").write_text("[{\"id\": \"a\"}]")
    errors: list[str] = []
    window.show_error = errors.append
    assert not window.open_report_folder(folder)
    assert len(errors) == 1 and "\n" not in errors[0] and "lacks 'paper'" in errors[0]


def test_the_verdict_colours_say_which_is_which(window, report):
    folder, _ = report
    window.open_report_folder(folder)
    view = window.views["claims"]
    green = view.table.item(0, 0).foreground().color().name()
    amber = view.table.item(1, 0).foreground().color().name()
    assert green == "#2e7d32" and amber == "#b26a00"
    assert view.table.item(0, 1).data(Qt.ItemDataRole.ToolTipRole).startswith("(a) the words of claim a")
