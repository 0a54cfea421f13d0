"""`gkn sweep`: a grid of jobs, locally and on Ray; the summary holds the runs' own numbers; bad grids
are one line and exit 2; a killed sweep resumes with only the missing jobs; a failed job is reported."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from helpers.waiting import HANG_GUARD, EventLog, event_env, wait_until

from gkn_core.cli import main
from gkn_core.errors import ConfigError
from gkn_core.gkn.manifolds import flat_fraction_1d, steps_to_reach
from gkn_core.runs.reader import open_run
from gkn_core.sweeps import build_spec, load_sweep, plan_jobs, read_sweep_file, run_sweep
from gkn_core.sweeps.spec import parse_values, resolve_field

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[1]
# 4 jobs of the 1d preset: long enough (600 steps) that burn-in and flatness are not trivial.
# The machinery checks read the run files' own numbers back, so they name metrics that are simple to
# recompute (the older burn-in and flatness metrics stay measurable for old sweeps).
OLD_METRICS = "final_loss,best_loss,burn_in_steps,reach_fraction,flat_fraction"
SMALL = [
    "--preset", "1d", "--grid", "layers=3,5", "--seeds", "2", "--set", "train.steps=600",
    "--metrics", OLD_METRICS, "-q",
]  # fmt: skip


def run_main(*args: str) -> int:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    return int(info.value.code or 0)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory) -> Path:
    """The small sweep on the local engine: a pool of 2 spawned processes."""
    out = tmp_path_factory.mktemp("sweep") / "local"
    assert run_main("sweep", *SMALL, "--workers", "2", "--out", str(out)) == 0
    return out


def test_local_sweep_summary_holds_the_runs_own_numbers(local_sweep):
    rows = read_csv(local_sweep / "summary.csv")
    assert [(r["model.layers"], r["seed"], r["status"]) for r in rows] == [
        ("3", "0", "completed"),
        ("3", "1", "completed"),
        ("5", "0", "completed"),
        ("5", "1", "completed"),
    ]
    for row in rows:
        with open_run(local_sweep / row["run"]) as run:
            assert run.status == "completed"
            assert run.config.model.layers == int(row["model.layers"]) and run.config.seed == int(row["seed"])
            assert run.config.train.steps == 600
            metrics = run.train_metrics()
            assert float(row["final_loss"]) == metrics["loss"][-1]
            assert float(row["best_loss"]) == metrics["best_loss"][-1]
            model = run.load_model()
            data = torch.from_numpy(run.training_data())
        # Burn-in: noise-free iterations from a 201-point grid of [0, 1] until within 0.01 of a point.
        steps = steps_to_reach(model, torch.linspace(0, 1, 201)[:, None], data, tol=0.01, max_steps=100)
        reached = steps <= 100
        assert float(row["reach_fraction"]) == pytest.approx(float(reached.float().mean()))
        assert float(row["burn_in_steps"]) == pytest.approx(float(steps[reached].float().mean()))
        # The sweep's flatness (largest Jacobian singular value) is the core's 1D definition in 1D.
        assert float(row["flat_fraction"]) == pytest.approx(flat_fraction_1d(model, 0.0, 1.0, 201, 0.1))
    burn_in = [float(r["burn_in_steps"]) for r in rows]
    assert all(b > 0 for b in burn_in), burn_in  # chains did have to travel to the data

    with h5py.File(local_sweep / "summary.h5", "r") as summary:
        assert json.loads(summary.attrs["columns"])[:5] == ["job", "model.layers", "seed", "status", "reason"]
        assert summary["model.layers"][:].tolist() == [3, 3, 5, 5]
        assert summary["final_loss"][:].tolist() == [float(r["final_loss"]) for r in rows]
        assert [s.decode() for s in summary["status"][:]] == ["completed"] * 4
    spec = json.loads((local_sweep / "sweep.json").read_text())
    assert spec["grid"] == {"model.layers": [3, 5]} and spec["seeds"] == [0, 1]


def test_curves_are_mean_and_std_over_seeds(local_sweep):
    rows = read_csv(local_sweep / "summary.csv")
    (curve,) = load_sweep(local_sweep).curves("burn_in_steps", "model.layers")
    assert curve.x.tolist() == [3.0, 5.0]
    for i, layers in enumerate(("3", "5")):
        values = [float(r["burn_in_steps"]) for r in rows if r["model.layers"] == layers]
        assert curve.mean[i] == pytest.approx(np.mean(values))
        assert curve.std[i] == pytest.approx(np.std(values, ddof=1))
        assert curve.n[i] == 2
        assert [r.seed for r in curve.rows[i]] == [0, 1]


def test_rerun_skips_finished_jobs(local_sweep, capsys):
    before = {p.name: p.stat().st_mtime_ns for p in (local_sweep / "runs").glob("*.h5")}
    assert run_main("sweep", *SMALL, "--workers", "0", "--out", str(local_sweep)) == 0
    assert "4 completed (0 now, 4 already done)" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in (local_sweep / "runs").glob("*.h5")} == before


def test_show_prints_mean_and_std_per_point(local_sweep, capsys):
    assert run_main("sweep", "show", str(local_sweep)) == 0
    out = capsys.readouterr().out
    assert "gkn sweep of 4 jobs (4 completed); mean ± std over seeds" in out
    (curve,) = load_sweep(local_sweep).curves("burn_in_steps", "model.layers")
    assert f"{curve.mean[0]:.4g} ± {curve.std[0]:.2g}" in out and out.count("2/2") == 2


def test_a_completed_run_without_its_record_is_measured_not_trained_again(tmp_path):
    spec = build_spec({"grid": {"model.layers": [3]}, "set": {"train.steps": 200}})
    folder = tmp_path / "measure"
    assert run_sweep(spec, folder, workers=0).completed == 1
    (record,) = (folder / "runs").glob("*.json")
    first = json.loads(record.read_text())
    run_file = folder / first["run"]
    written = run_file.stat().st_mtime_ns
    record.unlink()  # as if the sweep died between the run's end and its record
    outcome = run_sweep(spec, folder, workers=0)
    assert outcome.already_done == 0 and outcome.completed == 1
    assert run_file.stat().st_mtime_ns == written
    assert json.loads(record.read_text())["metrics"] == first["metrics"]


def test_another_spec_into_the_same_folder_is_refused(local_sweep, capsys):
    code = run_main(
        "sweep", "--grid", "layers=3,4", "--seeds", "2", "--metrics", OLD_METRICS, "--out", str(local_sweep)
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "holds another sweep (its grid, set differ)" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grid", "layrs=2,3"], "unknown field 'layrs' for gkn jobs (did you mean 'layers'?)"),
        (["--grid", "steps=2,3"], "field 'steps' is ambiguous for gkn jobs: train.steps or sample.steps"),
        (
            ["--grid", "layers=2,0"],
            "model.layers: must be greater than or equal to 1 (got 0) (grid point layers=0",
        ),
        (["--grid", "activation=relu,sigmoid"], "model.activation: must be 'relu'"),
        (["--grid", "preset=1d,3d"], "preset: unknown gkn preset '3d'"),
        (["--grid", "layers=2", "--metrics", "loss"], "metrics: unknown gkn metric 'loss'"),
        (["--kind", "chaos", "--grid", "g=1,200"], "model.g: must be less than or equal to 100 (got 200)"),
        (["--grid", "seed=1,2"], "seed is not swept like a field"),
        (["--grid", "layers"], "--grid: expected FIELD=VALUES"),
    ],
)
def test_bad_grid_is_one_line_and_exit_2_before_any_job(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    assert run_main("sweep", *args, "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert err.startswith("gkn: error: ") and err.count("\n") == 1
    assert message in err
    assert not out.exists()


def test_failed_job_is_reported_and_the_others_finish(tmp_path, capsys):
    out = tmp_path / "diverge"
    args = ["--grid", "train.lr=1e30,0.001", "--set", "train.steps=40", "--workers", "0", "-q"]
    assert run_main("sweep", *args, "--out", str(out)) == 1
    captured = capsys.readouterr()
    assert "2 jobs, 1 completed" in captured.out and "1 failed" in captured.out
    assert "failed 0000_lr=1e+30_seed=0: training diverged: the loss became nan" in captured.err
    failed, done = read_csv(out / "summary.csv")
    assert failed["status"] == "failed" and failed["reason"].startswith("training diverged")
    assert failed["final_loss"] == ""
    assert done["status"] == "completed" and float(done["final_loss"]) > 0
    with open_run(out / failed["run"]) as run:  # the run file says the same
        assert run.status == "failed" and "diverged" in run.failure_reason


def _count_records(folder: Path) -> int:
    return len(list((folder / "runs").glob("*.json")))


def test_resume_after_a_killed_sweep_runs_only_the_missing_jobs(tmp_path):
    out = tmp_path / "killed"
    grid = ["--preset", "1d", "--grid", "layers=2..7", "--set", "train.steps=800"]
    child = subprocess.Popen(
        [sys.executable, "-m", "gkn_core.cli", "sweep", *grid, "--workers", "1", "-q", "--out", str(out)],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes the pool's worker with it
    )
    wait_until(
        lambda: out.exists() and _count_records(out) >= 2,
        "the sweep never finished two jobs",
        alive=lambda: child.poll() is None,
    )
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=HANG_GUARD)

    table = load_sweep(out)
    finished = {r.job: r.run.stat().st_mtime_ns for r in table.rows if r.status == "completed"}
    assert 2 <= len(finished) < 6, table.counts()
    spec = build_spec(read_sweep_file(out / "sweep.json"))
    outcome = run_sweep(spec, out, workers=0)
    assert outcome.already_done == len(finished) and outcome.completed == 6 - len(finished)
    assert not outcome.failed
    rows = load_sweep(out).rows
    assert [r.status for r in rows] == ["completed"] * 6
    for row in rows:  # the jobs finished before the kill were not run again
        if row.job in finished:
            assert row.run.stat().st_mtime_ns == finished[row.job]
        with open_run(row.run) as run:
            assert run.status == "completed" and run.train_metrics()["step"][-1] == 800
    assert [r["status"] for r in read_csv(out / "summary.csv")] == ["completed"] * 6


def test_ctrl_c_stops_the_running_jobs_cleanly(tmp_path):
    out = tmp_path / "interrupted"
    args = ["--grid", "layers=2..5", "--set", "train.steps=100000", "--workers", "1", "-q", "--out", str(out)]
    log = EventLog(tmp_path / "events.log")
    child = subprocess.Popen(
        [sys.executable, "-m", "gkn_core.cli", "sweep", *args],
        env=event_env(log.path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_file = out / "runs" / "0000_layers=2_seed=0.h5"
    # Ctrl+C once the first job (in the pool's worker) has flushed steps to its run file
    log.wait_for("flushed", lambda event: event.step > 0, alive=lambda: child.poll() is None)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=HANG_GUARD)
    assert child.returncode == 130, err
    assert "stopped early: `gkn sweep resume" in err
    rows = read_csv(out / "summary.csv")
    assert rows[0]["status"] == "stopped" and [r["status"] for r in rows[1:]] == ["pending"] * 3
    with open_run(run_file) as run:
        assert run.status == "stopped" and 0 < run.train_metrics()["step"][-1] < 100000


@pytest.mark.full  # Ray takes ~30 s to start; the engine interface is covered by the local engine's tests
def test_ray_engine_runs_the_same_sweep(local_sweep, tmp_path, capsys):
    ray = pytest.importorskip(
        "ray", reason="Ray is not installed (the cluster extra: pip install '.[cluster]')"
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        out = tmp_path / "ray"
        assert run_main("sweep", *SMALL, "--engine", "ray", "--out", str(out)) == 0
    finally:
        ray.shutdown()
    assert "4 jobs, 4 completed" in capsys.readouterr().out
    local_rows, ray_rows = read_csv(local_sweep / "summary.csv"), read_csv(out / "summary.csv")
    numbers = ("final_loss", "best_loss", "burn_in_steps", "reach_fraction", "flat_fraction")
    for local, remote in zip(local_rows, ray_rows, strict=True):
        assert {k: remote[k] for k in ("job", "status", *numbers)} == {
            k: local[k] for k in ("job", "status", *numbers)
        }
        with open_run(out / remote["run"]) as run:  # the task's file came back whole
            assert run.status == "completed" and run.train_metrics()["step"][-1] == 600


def test_ray_missing_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as where it is not installed
    assert run_main("sweep", "--grid", "layers=2", "--engine", "ray", "--out", str(tmp_path / "x")) == 2
    assert "install the cluster extra: pip install '.[cluster]'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_untrained_lyapunov_jobs_match_gkn_lyapunov(tmp_path, capsys):
    sizes = ["--set", "nv=16", "--set", "Nh=16", "--set", "lyapunov.steps=100"]
    args = ["--kind", "lyapunov", "--grid", "g=0.5,1.5", *sizes, "--workers", "0", "-q"]
    assert run_main("sweep", *args, "--out", str(tmp_path / "lyap")) == 0
    largest = [float(r["largest"]) for r in read_csv(tmp_path / "lyap" / "summary.csv")]
    capsys.readouterr()
    cli = ["--untrained", "--g", "0.5,1.5", "--nv", "16", "--nh", "16", "--steps", "100", "--exponents", "1"]
    assert run_main("lyapunov", *cli) == 0
    # Each network's estimate is printed to 10 decimals: the sweep's numbers to the last digit.
    shown = [float(v) for v in re.findall(r"g=[\d.]+: ([+-]?\d+\.\d{10});", capsys.readouterr().out)]
    assert shown == pytest.approx(largest, abs=1e-6) and len(shown) == 2  # the sweep table keeps float32
    assert largest[0] < -0.3 < largest[1]  # g = 0.5 is stable; 1.5 nearer the edge of chaos


def test_chaos_end_metrics_are_the_runs_last_values(tmp_path):
    spec = build_spec(
        {
            "kind": "chaos",
            "grid": {"model.g": [0.5, 2.5]},
            "set": {"model": {"Nh": 16, "T": 20.0}, "train": {"steps": 4, "metrics_every": 4}},
        }
    )
    outcome = run_sweep(spec, tmp_path / "chaos", workers=0)
    assert outcome.completed == 2
    for row in load_sweep(tmp_path / "chaos").rows:
        with h5py.File(row.run, "r") as f:
            assert row.metrics["E2"] == f["train/scores/E2"][-1]
            assert row.metrics["AAI"] == f["train/scores/AAI"][-1]
            # The job measured its exponent at its last step with the same seeds as the sweep.
            assert row.metrics["lyapunov_after"] == f["train/lyapunov/largest"][-1]
            first = f["train/lyapunov/largest"][0]  # after one small update: near the untrained value
        # one CHL update at k = 0.01 moves the exponent by less than its estimate's spread (4 chains)
        assert row.metrics["lyapunov_before"] == pytest.approx(first, abs=0.1)
        assert math.isfinite(row.metrics["digit"])


def test_grid_values_and_field_names():
    assert parse_values("2,4,7") == [2, 4, 7]
    assert parse_values("2..5") == [2, 3, 4, 5]
    assert parse_values("0.5..1.5:0.25") == [0.5, 0.75, 1.0, 1.25, 1.5]
    assert parse_values("relu,tanh") == ["relu", "tanh"]
    assert parse_values("[[0.2], [0.8]]") == [[0.2], [0.8]]
    assert parse_values("1e-3,1e-2") == [0.001, 0.01]
    assert resolve_field("gkn", "layers") == "model.layers"
    assert resolve_field("gkn", "n") == "data.n"
    assert resolve_field("chaos", "g") == "model.g"
    assert resolve_field("lyapunov", "exponents") == "lyapunov.exponents"
    with pytest.raises(ConfigError, match="ambiguous"):
        resolve_field("chaos", "T")


@pytest.mark.parametrize(
    ("name", "jobs"), [("gkn-depth", 2 * 11 * 5), ("gkn-points", 12 * 2 * 3), ("chaos-g", 3 * 5 * 2)]
)
def test_ready_sweep_files_are_valid(name, jobs):
    spec = build_spec(read_sweep_file(ROOT / "sweeps" / f"{name}.toml"))
    assert len(plan_jobs(spec)) == jobs


def test_capture_metrics_are_the_capture_report_beside_the_untrained_network(tmp_path):
    """The sweep's over-generalisation numbers are gkn_core.gkn.capture's, and its baseline is ~0."""
    from gkn_core.gkn.capture import capture_with_baseline
    from gkn_core.gkn.metrics import CAPTURE

    names = [*CAPTURE, *(f"{n}_untrained" for n in CAPTURE)]
    spec = build_spec(
        {
            "kind": "gkn",
            "preset": "1d",
            "grid": {"model.layers": [7]},
            "seeds": 1,
            "set": {"train": {"steps": 600, "manifold_every": 600, "checkpoint_every": 600}},
            "metrics": names,
            "measure": {"tol": 0.05},
        }
    )
    assert run_sweep(spec, tmp_path / "cap", workers=0).completed == 1
    (row,) = load_sweep(tmp_path / "cap").rows
    with open_run(row.run) as run:
        model, points, seed = run.load_model(), run.training_data(), run.config.seed
        config = run.config
    both = capture_with_baseline(config, model, points, seed, 0.0, 1.0, tol=0.05, n_steps=100)
    def same(stored: float, measured: float) -> bool:  # the table has no inf: "never" is stored as NaN
        return math.isnan(stored) if not math.isfinite(measured) else stored == pytest.approx(measured)

    for name in CAPTURE:
        assert same(row.metrics[name], getattr(both.trained, name)), name
        assert same(row.metrics[f"{name}_untrained"], getattr(both.untrained, name)), name
    assert row.metrics["one_step_capture_untrained"] < 0.05 and row.metrics["flat_near_data_untrained"] < 0.05
    assert row.metrics["one_step_capture"] > row.metrics["one_step_capture_untrained"]
