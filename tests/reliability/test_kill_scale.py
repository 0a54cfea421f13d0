"""SIGKILL at scale: training and sampling of both kinds of run, killed at random moments.

Every killed file must open with plain h5py and with the product's reader and hold a consistent
prefix (tests/helpers/killed_files.py), losing at most one flush interval. Quick mode: 6 kills;
full mode (--full): 60, times GKN_KILL_SCALE. The count of kills survived is printed at the end of
the session.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import train_chaos_run, train_gkn_run
from helpers.killed_files import check_killed_file
from helpers.killing import kill_at_random

CHILD = Path(__file__).parents[1] / "helpers" / "killable_run.py"


@dataclass(frozen=True)
class KillCase:
    child: str  # the killable_run.py mode
    attempt: int
    source: str | None  # the trained run a sampling child starts from (a key of `sources`)
    min_step: int = 0  # kill only after a flush at this step or later


# mode: (quick count, full count, source run, min_step)
PLAN = {
    "train": (2, 20, None, 0),
    "sample": (1, 10, "gkn", 0),
    "chaos-train": (2, 20, None, 1),
    "chaos-sample": (1, 10, "chaos", 1),
}


def kill_plan(full: bool) -> list[KillCase]:
    """Full mode's counts times GKN_KILL_SCALE (default 1; 17 gives 1,020 kills, about 70 minutes of
    one core at about 4 s a kill)."""
    scale = max(1, int(os.environ.get("GKN_KILL_SCALE", "1") or 1))
    cases = [
        (attempt / count, KillCase(mode, attempt, source, min_step))
        for mode, (quick, many, source, min_step) in PLAN.items()
        for count in [many * scale if full else quick]
        for attempt in range(count)
    ]
    # interleaved (train, sample, chaos-train, ... in proportion), so that every part of a run cut
    # short covers all four kinds of job
    return [case for _, case in sorted(cases, key=lambda item: item[0])]


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """Trained runs for the sampling children (each kill samples a fresh copy)."""
    folder = tmp_path_factory.mktemp("kill-sources")
    return {
        "gkn": train_gkn_run(folder / "gkn.h5", "2d", steps=60, sample=False),
        "chaos": train_chaos_run(folder / "chaos.h5", steps=2, sample=False),
    }


def test_killed_run_holds_a_consistent_prefix(kill_case, sources, tmp_path, full, tally):
    path = tmp_path / "killed.h5"
    if kill_case.source is not None:
        shutil.copyfile(sources[kill_case.source], path)
    rng = random.Random(f"{kill_case.child}-{kill_case.attempt}")
    delay = (0.05, 3.0) if full else (0.05, 1.5)
    args = [str(CHILD), kill_case.child, str(path)]
    result = kill_at_random(args, rng, kill_case.min_step, delay, forked=True)
    tally.add("kills run", 1)
    tally.add("kills inside a flush", int(result.in_flush))
    record = {"case": f"{kill_case.child}-{kill_case.attempt}", "in_flush": result.in_flush}
    try:
        last = check_killed_file(kill_case.child, path, result)
        assert last >= 1 or kill_case.min_step == 0
    except BaseException as exc:
        log_kill({**record, "survived": False, "error": repr(exc)[:3000]})
        raise
    log_kill({**record, "survived": True, "last_step": last})
    tally.add("kills survived", 1)


def log_kill(record: dict) -> None:
    """One JSON line per kill to the file GKN_KILL_LOG names, if any (xdist workers append alike)."""
    log = os.environ.get("GKN_KILL_LOG")
    if log:
        with open(log, "a") as out:
            out.write(json.dumps(record) + "\n")
