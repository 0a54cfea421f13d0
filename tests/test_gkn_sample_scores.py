"""The class score of every generation of a GKN image sampling: computed by the sampling job, written
to the run file (/sampling/<nnnn>/quality), shown by `gkn runs show`, and a sweep metric."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from gkn_core.class_score import class_score
from gkn_core.cli import main
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.metrics import gkn_metrics
from gkn_core.gkn.sessions import sampling_session, training_session
from gkn_core.runs.reader import open_run

CHAINS, STEPS = 200, 30


def digits8_run(path, steps: int):
    config = preset_config("digits8", {"train": {"steps": steps, "checkpoint_every": steps}})
    list(training_session(config, path)[1])
    job, snapshots = sampling_session(path, {"chains": CHAINS, "steps": STEPS, "burn_in": 5})
    return job, list(snapshots)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """digits8, the preset's L=7 network after 1 step (untrained) and after 300 (about 4 s each)."""
    folder = tmp_path_factory.mktemp("scores")
    made = {}
    for steps in (1, 300):
        path = folder / f"digits8-{steps}.h5"
        made[steps] = (path, *digits8_run(path, steps))
    return made


def curve(path):
    with open_run(path) as run:
        return run.sampling(read_chains=False)


def test_untrained_scores_at_the_noise_baseline_and_training_lifts_it(runs):
    untrained, trained = curve(runs[1][0]), curve(runs[300][0])
    u, t = untrained.quality["class_score"], trained.quality["class_score"]
    # measured: untrained 0.00 at every generation; after 300 steps 0.00 -> 0.80 (gen 5) -> 0.99 (gen 30)
    assert u[0] < 0.05 and t[0] < 0.05  # the uniform starts: noise
    assert np.abs(u - u[0]).max() < 0.05  # an untrained net maps noise onto noise (or one grey image)
    assert t[-1] > 0.5 and t[-1] - u[-1] > 0.4
    assert trained.quality["classes_seen"][-1] >= 4 > untrained.quality["classes_seen"][-1]


def test_the_snapshots_carry_the_score_of_their_states(runs):
    job, snapshots = runs[300][1], runs[300][2]
    last = snapshots[-1]
    again = class_score(last.states, "digits8", "unit")
    assert last.quality.fraction == again.fraction and last.quality.entropy == again.entropy
    assert job.start_quality.fraction == class_score(job.starts, "digits8", "unit").fraction


def test_the_run_file_holds_the_curve_for_plain_h5py(runs):
    path, _, snapshots = runs[300]
    with h5py.File(path, "r") as f:
        q = f["sampling/0000/quality"]
        assert q.attrs["name"] == "digit score" and q.attrs["reason"] == ""
        assert {name: q[name].shape for name in q} == {
            name: (STEPS + 1,)
            for name in ("generation", "class_score", "class_entropy", "classes_seen", "reject")
        }
        np.testing.assert_array_equal(q["generation"][:], np.arange(STEPS + 1))
        assert q["class_score"][-1] == snapshots[-1].quality.fraction
        assert q["class_score"].fletcher32


def test_runs_show_prints_the_curve_and_old_files_say_none_was_recorded(runs, capsys, tmp_path):
    path = runs[300][0]
    with pytest.raises(SystemExit) as ended:
        main(["runs", "show", str(path)])
    out = capsys.readouterr().out
    assert ended.value.code in (0, None)
    last = curve(path).quality["class_score"][-1]
    assert "digit score (confident share), by generation" in out and f"gen {STEPS}: {last:.2f}" in out
    old = tmp_path / "old.h5"
    old.write_bytes(path.read_bytes())
    with h5py.File(old, "r+") as f:  # a file from before samplings were scored
        del f["sampling/0000/quality"]
    assert not curve(old).has_quality
    with pytest.raises(SystemExit):
        main(["runs", "show", str(old)])
    assert "no class score recorded" in capsys.readouterr().out


def test_sweep_metrics_read_the_recorded_curve(runs):
    path = runs[300][0]
    q = curve(path).quality
    with open_run(path) as run:
        names = (
            "sample_class_score",
            "sample_class_entropy",
            "sample_classes_seen",
            "sample_class_score_burned",
            "sample_class_score_start",
        )
        got = gkn_metrics(run, names, {}, "cpu")
    assert got["sample_class_score"] == q["class_score"][-1]
    assert got["sample_classes_seen"] == q["classes_seen"][-1]
    assert got["sample_class_score_burned"] == pytest.approx(q["class_score"][6:].mean())
    assert got["sample_class_score_start"] == q["class_score"][0]


def test_toy_data_record_no_class_score(tmp_path):
    path = tmp_path / "1d.h5"
    list(training_session(preset_config("1d", {"train": {"steps": 20}}), path)[1])
    _, snapshots = sampling_session(path, {"chains": 4, "steps": 5, "burn_in": 1})
    assert all(s.quality is None for s in snapshots)
    with h5py.File(path, "r") as f:
        assert "quality" not in f["sampling/0000"]
    with open_run(path) as run:
        assert np.isnan(gkn_metrics(run, ("sample_class_score",), {}, "cpu")["sample_class_score"])
