"""`gkn reproduce`: the verdict rule on constructed numbers, claims.json's schema from a tiny-budget run
(resumable), load_report, and the one-line CLI errors (exit 2)."""

import json
import math

import pytest

from gkn_core.cli import main
from gkn_core.errors import GKNError
from gkn_core.reproduce import load_report, run_reproduction
from gkn_core.reproduce.claims import CLAIM_IDS, VERDICTS, combine, compare, part_verdict

SUMMARY_KEYS = {"mean", "std", "n", "se", "values"}


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return info.value.code, out, err


# -- the rule ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("values", [[0.5, 0.5, 0.5], [0.1, 0.5, 0.9], [0.0, 0.0], [1.0, 3.0, 2.0, 2.5]])
@pytest.mark.parametrize("direction", ["higher", "lower"])
@pytest.mark.parametrize("paired", [True, False])
def test_measured_equal_to_baseline_is_never_reproduced(values, direction, paired):
    part = compare("same", values, list(values), direction, paired=paired)
    assert part["verdict"] != "reproduced"
    assert part["difference"] == pytest.approx(0.0)


def test_rule_follows_two_standard_errors():
    clear = compare("up", [1.0, 1.1, 0.9], [0.0, 0.1, -0.1], "higher")
    assert clear["verdict"] == "reproduced" and clear["difference"] == pytest.approx(1.0)
    assert compare("up", [1.0, 1.1, 0.9], [0.0, 0.1, -0.1], "lower")["verdict"] == "not reproduced"
    noisy = compare("up", [1.0, -1.0, 2.0], [0.0, 0.5, -0.5], "higher")
    assert noisy["verdict"] == "inconclusive"
    assert noisy["difference"] - 2 * noisy["se"] <= 0 < noisy["difference"] + 2 * noisy["se"]
    assert compare("one seed", [5.0], [0.0], "higher")["verdict"] == "inconclusive"
    assert compare("nan", [math.nan, math.nan], [0.0, 0.0], "higher")["verdict"] == "inconclusive"
    assert part_verdict(0.3, 0.1) == "reproduced" and part_verdict(0.2, 0.1) == "inconclusive"
    assert part_verdict(0.0, 0.0) == "not reproduced" and part_verdict(-0.3, 0.1) == "not reproduced"
    assert combine(["reproduced", "reproduced"]) == "reproduced"
    assert combine(["reproduced", "inconclusive"]) == "inconclusive"
    assert combine(["reproduced", "not reproduced", "inconclusive"]) == "not reproduced"
    assert combine([]) == "inconclusive"


# -- a tiny run ----------------------------------------------------------------------------------------
TINY_ONLY = ["b", "d", "e", "f", "h"]  # one GKN sweep claim, the chaos claims on one shared sweep, h


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    results = run_reproduction("tiny", out, only=TINY_ONLY, workers=0)
    return out, results


def test_tiny_run_writes_claims_json_with_the_schema(tiny_report):
    out, results = tiny_report
    claims = json.loads((out / "claims.json").read_text())
    assert [c["id"] for c in claims] == TINY_ONLY == [r.id for r in results]
    for claim in claims:
        for key in ("id", "paper", "claim", "setting", "measured", "baseline", "verdict", "rule", "figure"):
            assert key in claim, key
        assert set(claim["paper"]) == {"title", "authors", "arxiv"}
        assert claim["paper"]["arxiv"] in ("2402.11793", "2405.10822")
        assert claim["verdict"] in VERDICTS
        assert claim["claim"] and claim["rule"] and claim["setting"]["words"]
        assert (out / claim["figure"]).stat().st_size > 1000  # a real PNG
        assert (out / claim["figure"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        for block in (claim["measured"], claim["baseline"]):
            for summary in block.values():
                assert set(summary) >= SUMMARY_KEYS
                assert summary["n"] == sum(v is not None for v in summary["values"])
        for part in claim["parts"]:
            assert part["verdict"] in VERDICTS
        assert (out / claim["runs"]).is_dir()
    by_id = {c["id"]: c for c in claims}
    items = by_id["h"]  # Fashion-MNIST: the item score of trained runs beside their untrained selves
    assert items["measured"]["item score"]["n"] == 2 and items["baseline"]["item score untrained"]["n"] == 2
    assert all(0 <= v <= 1 for v in items["measured"]["item score"]["values"])
    assert by_id["b"]["measured"]["d=2 n=16"]["n"] == 2  # two seeds at the tiny budget
    report = (out / "report.md").read_text()
    assert "| claim | paper | verdict |" in report and "## (f)" in report


def test_rerun_keeps_finished_claims_and_load_report_reads_them(tiny_report):
    out, _results = tiny_report
    stamps = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("*.h5")}
    again = run_reproduction("tiny", out, only=["b", "f"], workers=0)
    assert [r.id for r in again] == TINY_ONLY  # the folder's report keeps every finished claim
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("*.h5")} == stamps
    loaded = load_report(out)
    assert [r.as_dict() for r in loaded] == [r.as_dict() for r in again]


def test_load_report_errors_are_one_line(tmp_path):
    with pytest.raises(GKNError, match=r"no claims\.json"):
        load_report(tmp_path)
    (tmp_path / "claims.json").write_text('[{"id": "a"}]')
    with pytest.raises(GKNError, match="lacks 'paper'"):
        load_report(tmp_path)


# -- the CLI -------------------------------------------------------------------------------------------
def test_cli_bad_budget_unknown_claim_unwritable_out_exit_2(capsys, tmp_path):
    code, _, err = run_main(capsys, "reproduce", "--budget", "huge", "--out", str(tmp_path / "r"))
    assert code == 2 and "unknown budget 'huge'" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_main(capsys, "reproduce", "--budget", "quick", "--only", "z", "--out", str(tmp_path))
    assert code == 2 and "unknown claim 'z'" in err and len(err.strip().splitlines()) == 1
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, _, err = run_main(capsys, "reproduce", "--budget", "quick", "--out", str(blocker / "sub"))
    assert code == 2 and "--out" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_main(capsys, "reproduce", "--budget", "quick")
    assert code == 2 and "--out" in err
    assert not list(tmp_path.glob("r*"))  # nothing was run or written


def test_every_claim_has_a_runner():
    from gkn_core.reproduce.runner import RUNNERS

    assert tuple(RUNNERS) == CLAIM_IDS == ("a", "b", "c", "d", "e", "f", "g", "h")
