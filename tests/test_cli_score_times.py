"""`gkn sample CHAOS_RUN --score-times ...`: every score of the same chains at each sampling time,
recorded in /scores_vs_time/<nnnn>, printed, shown by `gkn runs show`; bad input gets one line."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from gkn_core.chaos.config import chaos_preset_config
from gkn_core.chaos.runfile import SCORE_TIME_NAMES, read_score_times
from gkn_core.chaos.score_times import run_score_times
from gkn_core.chaos.sessions import chaos_training_session
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.sessions import training_session
from gkn_core.runs.reader import open_run


@pytest.fixture(scope="module")
def chaos_run(tmp_path_factory):
    """digits8 chaos preset cut to Nh = 30, T = 20 and 20 steps (about 2 s)."""
    path = tmp_path_factory.mktemp("times") / "chaos.h5"
    config = chaos_preset_config(
        "digits8",
        {
            "model": {"Nh": 30, "T": 20.0},
            "train": {"steps": 20, "metrics_every": 20, "lyapunov_every": None, "sample_every": None},
        },
    )
    list(chaos_training_session(config, path)[1])
    return path


def test_score_times_are_recorded_printed_and_shown(chaos_run, gkn):
    done = gkn("sample", str(chaos_run), "--score-times", "5,10,20,40", "--score-samples", "300", "-q")
    assert done.returncode == 0, done.stderr
    assert "20 (T)" in done.stdout and "best (training T = 20)" in done.stdout
    with h5py.File(chaos_run, "r") as f:  # plain h5py
        group = f["scores_vs_time/0000"]
        assert group.attrs["complete"] and group.attrs["n"] == 300 and group.attrs["training_T"] == 20.0
        assert group["times"][:].tolist() == [5.0, 10.0, 20.0, 40.0]
        assert group["steps"][:].tolist() == [5, 10, 20, 40]
        assert all(group[name].shape == (4,) for name in SCORE_TIME_NAMES)
        assert group.attrs["class_score_name"] == "digit score"
        stored = {name: group[name][:] for name in SCORE_TIME_NAMES}
    # the same numbers as the core computes for the same chains (the run's seed + 5000)
    again = run_score_times(chaos_run, times=(5, 10, 20, 40), n=300)
    for name in SCORE_TIME_NAMES:
        np.testing.assert_allclose(stored[name], again.scores[name], rtol=1e-12, equal_nan=True)
    assert np.isfinite(stored["class_score"]).all() and np.isfinite(stored["E2"]).all()
    shown = gkn("runs", "show", str(chaos_run))
    assert shown.returncode == 0 and "scores against sampling time 0000: 300 chains" in shown.stdout
    assert f"{stored['E2'][0]:.3g}" in shown.stdout and "20 (T)" in shown.stdout
    with open_run(chaos_run) as run:
        record = read_score_times(run)
    assert record.checkpoint_step == 20 and record.scores["AAI"].tolist() == stored["AAI"].tolist()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--score-times", "10,abc"), "'abc' is not a number"),
        (("--score-times", "10,-5"), "must be positive"),
        (("--score-times", "0"), "must be positive"),
        (("--score-times", "10,10,25"), "each time once, in increasing order"),
        (("--score-times", "25,10"), "each time once, in increasing order"),
        (("--score-times", "10,20", "--score-samples", "20000"), "--score-samples: give 2 to 10000"),
        (("--score-times", "10.2,10.4"), "increase by at least one step"),  # both round to 10 steps
        (("--score-times", "10", "--chains", "5"), "--chains does not apply with --score-times"),
        (
            (
                "--score-samples",
                "500",
            ),
            "--score-samples goes with --score-times",
        ),
    ],
)
def test_bad_score_times_get_one_line_and_exit_2(chaos_run, gkn, args, says):
    done = gkn("sample", str(chaos_run), *args, "-q")
    assert done.returncode == 2 and says in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_score_times_refused_for_a_gkn_run(gkn, tmp_path):
    path = tmp_path / "1d.h5"
    list(training_session(preset_config("1d", {"train": {"steps": 5}}), path)[1])
    done = gkn("sample", str(path), "--score-times", "10,20", "-q")
    assert done.returncode == 2 and "are for chaos runs" in done.stderr
