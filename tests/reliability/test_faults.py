"""Faults injected into running jobs: divergence, out of memory, a full disk, a file being written.

Each must end with a clear one-line message (the CLI: `gkn: error: ...`, exit 2) and a run file that
plain h5py and the product's reader open, marked `failed` with its reason, keeping the last good
weights. A full disk is simulated three ways: a writer whose flush fails (in-process), a file-size
limit (`ulimit -f`, a real EFBIG from the kernel, no root needed) and, where this user may mount one,
a real 3 MB tmpfs.
"""

from __future__ import annotations

import errno
import math
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from helpers.waiting import HANG_GUARD, EventLog, event_env, qt_wait_until

from gkn_core.chaos.config import chaos_preset_config
from gkn_core.chaos.runfile import load_chaos_model
from gkn_core.chaos.sessions import chaos_training_session
from gkn_core.cli import main
from gkn_core.errors import Diverged, JobFailed, RunFileError
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.data import load_dataset
from gkn_core.gkn.sessions import sampling_session, training_session
from gkn_core.gkn.train import GKNTrainingJob, TrainingDiverged, seeded_model
from gkn_core.runs.reader import open_run


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return info.value.code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def assert_failed_run(path: Path, reason: str, section: str | None = "train") -> None:
    """Plain h5py opens the file; it is marked failed with `reason`, at the root and in `section`."""
    with h5py.File(path, "r", locking=False) as f:
        status, why = f["status"][0].decode(), f["failure_reason"][0].decode()
        assert status == "failed" and reason in why, (status, why)
        if section is not None:
            assert f[section]["status"][0].decode() == "failed"
            assert reason in f[section]["failure_reason"][0].decode()


# -- divergence ---------------------------------------------------------------------------------------------
def first_non_finite_step(config) -> int:
    """A bare torch loop with the job's model, data and optimizer: the first step whose loss is not finite."""
    dataset = load_dataset(config.data, config.seed)
    model = seeded_model(config, dataset.dim, torch.device("cpu"))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.train.lr, betas=(0.9, 0.999), foreach=True)
    x = torch.from_numpy(np.array(dataset.x))
    for step in range(1, config.train.steps + 1):
        loss = torch.mean((model(x) - x) ** 2)
        if not math.isfinite(loss.item()):
            return step
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    raise AssertionError("this learning rate does not diverge")


@pytest.mark.parametrize("preset, lr", [("1d", 1e6), ("1d", 1e7), ("2d", 1e5), ("1d-tanh", 1e10)])
def test_divergence_is_caught_at_the_first_bad_step_and_keeps_the_last_good_weights(preset, lr, tmp_path):
    config = preset_config(preset, {"device": "cpu", "train": {"lr": lr, "steps": 200}})
    bad_step = first_non_finite_step(config)
    path = tmp_path / "diverged.h5"
    _job, snapshots = training_session(config, path)
    seen = []
    with pytest.raises(TrainingDiverged) as info:
        for snapshot in snapshots:
            seen.append(snapshot.step)
    assert f"at step {bad_step}" in str(info.value)  # no update from a non-finite loss was ever applied
    assert seen == list(range(1, bad_step))
    assert_failed_run(path, f"training diverged: the loss became nan at step {bad_step}")
    with open_run(path) as run:
        assert run.train_metrics()["step"].tolist() == seen
        assert np.isfinite(run.train_metrics()["loss"]).all()
        steps = run.checkpoint_steps()
        assert steps and steps[-1] <= bad_step - 1
        kept = run.checkpoint()
        assert kept.loss == pytest.approx(min(run.train_metrics()["loss"]))  # the best weights
        model = run.load_model()
        with torch.no_grad():
            assert torch.isfinite(model(torch.rand(5, run.dim))).all()


def test_the_cli_says_training_diverged_in_one_line(capsys, tmp_path):
    path = tmp_path / "run.h5"
    code, _, err = run_cli(capsys, "train", "gkn", "--preset", "1d", "--lr", "1e7", "-q", "--out", str(path))
    assert code == 2
    assert one_line(err) == "gkn: error: training diverged: the loss became nan at step 3 (try a smaller lr)"
    with open_run(path) as run:
        assert run.status == "failed" and run.checkpoint_steps() == [0]  # the initial weights were the best


def small_chaos_config(steps: int = 50):
    return chaos_preset_config(
        "digits8",
        {
            "device": "cpu",
            "model": {"Nh": 20, "T": 5.0},
            "train": {
                "steps": steps,
                "M": 20,
                "metrics_samples": 20,
                "lyapunov_every": None,
                "sample_every": 2,
                "n_samples": 4,
                "checkpoint_every": 3,
            },
        },
    )


def test_chaos_divergence_is_caught_before_the_update_and_keeps_the_last_good_weights(tmp_path):
    path = tmp_path / "chaos.h5"
    job, snapshots = chaos_training_session(small_chaos_config(), path)
    weights_after = {}
    with pytest.raises(Diverged) as info:
        for snapshot in snapshots:
            if snapshot.step == 4:  # from now on the data is poisoned: the next update is not finite
                weights_after = {k: v.clone() for k, v in job.model.weights().items()}
                job.data.fill_(float("nan"))
    assert "chaos training diverged at step 5" in str(info.value)
    assert_failed_run(path, "chaos training diverged at step 5")
    with open_run(path) as run:
        assert run.checkpoint_steps() == [3, 4]  # the periodic one, and the last good weights
        model, step = load_chaos_model(run)
        assert step == 4
        for name, value in model.weights().items():  # exactly the weights before the bad step
            torch.testing.assert_close(value, weights_after[name])
        assert len(run.series("train/metrics")["step"]) == 4


def test_chaos_weights_gone_bad_are_caught_in_the_next_step(tmp_path):
    path = tmp_path / "chaos.h5"
    job, snapshots = chaos_training_session(small_chaos_config(), path)
    with pytest.raises(JobFailed) as info:
        for snapshot in snapshots:
            if snapshot.step == 4:
                job.model.biases[0].fill_(float("nan"))  # as if a weight had gone bad
    assert str(info.value) == "chaos training diverged at step 5: the free phase is not finite"
    assert_failed_run(path, "chaos training diverged at step 5")
    with open_run(path) as run:
        model, step = load_chaos_model(run)  # the last periodic checkpoint is intact
        assert step == 3 and all(torch.isfinite(v).all() for v in model.weights().values())


# -- out of memory (simulated: this machine has no GPU) --------------------------------------------------
CUDA_OOM = (
    "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.10 GiB total capacity; 77.00 GiB already)"
)


def out_of_memory_at(step: int, advance):
    def failing(self):
        if self.steps_done + 1 == step:
            raise torch.OutOfMemoryError(CUDA_OOM)
        return advance(self)

    return failing


def test_gpu_out_of_memory_in_training_is_one_line_and_a_valid_file(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(GKNTrainingJob, "_advance", out_of_memory_at(40, GKNTrainingJob._advance))
    path = tmp_path / "oom.h5"
    code, _, err = run_cli(
        capsys, "train", "gkn", "--preset", "1d", "--steps", "100", "-q", "--out", str(path)
    )
    assert code == 2
    assert one_line(err).startswith(
        "gkn: error: out of GPU memory (tried to allocate 2.00 gib) on cpu at step 40"
    )
    assert_failed_run(path, "out of GPU memory")
    with open_run(path) as run:
        assert len(run.train_metrics()["step"]) == 39
        assert run.checkpoint_steps()[-1] <= 39  # the best weights so far were kept
        run.load_model()


def test_out_of_memory_in_sampling_marks_the_sampling_failed(monkeypatch, tmp_path):
    from gkn_core.gkn.sample import KaleidoscopeSamplingJob

    path = tmp_path / "run.h5"
    for _ in training_session(preset_config("1d", {"train": {"steps": 20}}), path)[1]:
        pass
    step = KaleidoscopeSamplingJob._advance_deferred  # the step (its snapshot comes with its block)
    monkeypatch.setattr(KaleidoscopeSamplingJob, "_advance_deferred", out_of_memory_at(5, step))
    _job, snapshots = sampling_session(path, {"steps": 50, "burn_in": 0})
    with pytest.raises(JobFailed, match="out of GPU memory"):
        list(snapshots)
    assert_failed_run(path, "out of GPU memory", section="sampling/0000")
    with open_run(path) as run:
        record = run.sampling()
        assert record.status == "failed" and record.chains.shape[1] == 5  # the start and 4 steps
        assert run.info["status"] == "failed"


def test_cpu_allocation_failure_is_out_of_memory_too(monkeypatch, tmp_path):
    def failing(self):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:116] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(GKNTrainingJob, "_advance", failing)
    _job, snapshots = training_session(preset_config("1d"), tmp_path / "r.h5")
    with pytest.raises(JobFailed, match=r"^out of memory on cpu at step 1 \(try a smaller batch"):
        list(snapshots)


# -- a full disk ---------------------------------------------------------------------------------------------
def test_a_failing_flush_is_one_line_and_the_file_keeps_its_last_flush(monkeypatch, capsys, tmp_path):
    """The first flush after step FAIL_FROM fails, whenever it comes (a timed flush on a slow machine,
    the checkpoint at 1500 or the end on a fast one): the flushes before it, the checkpoint of step
    500 among them, are in the file, however fast the steps ran."""
    from gkn_core.gkn.runfile import GknRunWriter

    fail_from = 1000
    written = {"step": 0}
    real_flush, real_write = h5py.File.flush, GknRunWriter.write_train_snapshot

    def write_train_snapshot(self, snapshot):
        written["step"] = snapshot.step
        return real_write(self, snapshot)

    def flush(self):
        if written["step"] >= fail_from:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_flush(self)

    monkeypatch.setattr(GknRunWriter, "write_train_snapshot", write_train_snapshot)
    monkeypatch.setattr(h5py.File, "flush", flush)
    path = tmp_path / "full.h5"
    code, _, err = run_cli(
        capsys, "train", "gkn", "--preset", "2d", "--steps", "5000", "-q", "--out", str(path)
    )
    monkeypatch.undo()
    assert code == 2
    assert one_line(err) == f"gkn: error: cannot write {path}: No space left on device"
    assert_failed_run(path, "No space left on device")
    with open_run(path) as run:  # everything up to the last good flush, consistent
        metrics = run.train_metrics()
        assert len(metrics["step"]) >= 500 and metrics["step"][-1] == len(metrics["step"])
        assert run.checkpoint_steps() and run.checkpoint_steps()[-1] <= 500
        run.load_model()


FULL_DISK_CHILD = r"""
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from gkn_core.cli import main
main(sys.argv[2:])
"""


def check_full_disk_run(path: Path, stderr: str, returncode: int, why: str = "the disk is full") -> None:
    assert returncode == 2, stderr
    line = one_line(stderr)
    assert line.startswith(f"gkn: error: cannot write {path}: {why}"), line
    assert "the run keeps everything saved up to its last flush" in line
    assert_failed_run(path, why)
    with open_run(path) as run:
        metrics = run.train_metrics()
        assert metrics["step"].tolist() == list(range(1, len(metrics["step"]) + 1))
        frames = run.manifolds()
        assert frames["step"][-1] <= metrics["step"][-1]
        assert run.checkpoint_steps() and run.checkpoint_steps()[-1] <= metrics["step"][-1]
        run.load_model()


def train_until_full(path: Path, limit: int | None = None) -> subprocess.CompletedProcess:
    args = ["train", "gkn", "--preset", "2d", "--steps", "1000000", "-q", "--out", str(path)]
    command = [sys.executable, "-c", FULL_DISK_CHILD, str(limit), *args] if limit else None
    return subprocess.run(
        command or [sys.executable, "-m", "gkn_core.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def test_a_file_size_limit_is_a_full_disk(tmp_path):
    """A real EFBIG from the kernel (ulimit -f): the writer stops 1 MB short and closes the run."""
    path = tmp_path / "limited.h5"
    result = train_until_full(path, limit=3_000_000)
    check_full_disk_run(path, result.stderr, result.returncode, "the file size limit (ulimit -f, 3.0 MB)")
    assert path.stat().st_size <= 3_000_000


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A 3 MB tmpfs, where this user may mount one (root on Linux); skipped elsewhere."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root; the file-size-limit test covers a full disk")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_a_real_full_filesystem(tiny_filesystem, tmp_path):
    path = tiny_filesystem / "full.h5"
    result = train_until_full(path)
    check_full_disk_run(path, result.stderr, result.returncode)
    (tiny_filesystem / "filler").write_bytes(b"x" * 500_000)  # the disk keeps the room it was promised


def fill_up(folder: Path) -> int:
    """Write a file until the disk refuses; returns the bytes written."""
    written = 0
    with open(folder / "filler", "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
                written += 65536
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return written


def test_another_program_filling_the_disk_mid_run(tiny_filesystem):
    """The disk fills up behind the writer's back: its reserved blocks carry it to a clean end."""
    path = tiny_filesystem / "run.h5"
    args = ["train", "gkn", "--preset", "2d", "--steps", "1000000", "-q", "--out", str(path)]
    log = EventLog(tiny_filesystem.parent / "events.log")
    child = subprocess.Popen(
        [sys.executable, "-m", "gkn_core.cli", *args],
        stderr=subprocess.PIPE,
        text=True,
        env=event_env(log.path),
    )
    try:
        # the disk fills up once the child reports a checkpoint written and flushed, however long it took
        log.wait_for("checkpoint", alive=lambda: child.poll() is None)
        assert fill_up(tiny_filesystem) > 0
        _, stderr = child.communicate(timeout=HANG_GUARD)
    finally:
        if child.poll() is None:
            child.kill()
    check_full_disk_run(path, stderr, child.returncode)


def test_sampling_onto_a_full_disk_fails_cleanly(tmp_path, monkeypatch):
    import gkn_core.runs.disk as writer_module  # the writer keeps its disk room there (RoomKeeper)

    path = tmp_path / "run.h5"
    for _ in training_session(preset_config("1d", {"train": {"steps": 20}}), path)[1]:
        pass
    _job, snapshots = sampling_session(path, {"steps": 100_000, "burn_in": 0}, flush_interval=0)
    with pytest.raises(RunFileError, match="the disk is full"):
        for count, _ in enumerate(snapshots):
            if count == 20:
                monkeypatch.setattr(writer_module, "room_for_writing", lambda *args: 1000)
    monkeypatch.undo()
    assert_failed_run(path, "the disk is full", section="sampling/0000")
    with open_run(path) as run:
        assert run.train_metrics()["step"][-1] == 20 and run.checkpoint_steps()  # training intact
        record = run.sampling()
        assert record.status == "failed" and record.chains.shape[1] == len(record.metrics["step"]) + 1 >= 20


# -- a run read while this process writes it --------------------------------------------------------------
def test_reading_a_run_this_process_is_writing(tmp_path):
    """The app exports or replays the run its own job is recording: HDF5 shares the open file."""
    path = tmp_path / "live.h5"
    _job, snapshots = training_session(preset_config("1d", {"train": {"steps": 50}}), path, flush_interval=0)
    for snapshot in snapshots:
        if snapshot.step == 25:
            with open_run(path) as run:
                assert run.status == "running" and run.train_metrics()["step"][-1] == 25
    with open_run(path) as run:
        assert run.status == "completed" and run.train_metrics()["step"][-1] == 50


def test_out_of_memory_outside_a_job_is_one_line_too(monkeypatch, capsys):
    import gkn_core.chaos.models as models

    def failing(*args, **kwargs):
        raise torch.OutOfMemoryError(CUDA_OOM)

    monkeypatch.setattr(models, "build_chaos_model", failing)
    code, _, err = run_cli(capsys, "lyapunov", "--untrained", "--nv", "4", "--nh", "4", "--exponents", "2")
    assert code == 2
    assert one_line(err) == (
        "gkn: error: out of GPU memory (tried to allocate 2.00 gib) (try smaller settings or another device)"
    )


def _disk_fills(monkeypatch) -> None:
    import gkn_core.runs.disk as writer_module  # the writer keeps its disk room there (RoomKeeper)

    monkeypatch.setattr(writer_module, "room_for_writing", lambda *args: 1000)


def _gpu_runs_out(monkeypatch) -> None:
    def failing(self):
        raise torch.OutOfMemoryError(CUDA_OOM)

    monkeypatch.setattr(GKNTrainingJob, "_advance", failing)


@pytest.mark.parametrize(
    "fault, message",
    [(_disk_fills, "the disk is full"), (_gpu_runs_out, "out of GPU memory")],
    ids=["disk-full", "out-of-memory"],
)
def test_the_window_reports_a_fault_in_a_dialog_and_goes_on(
    fault, message, monkeypatch, qtbot, qapp, tmp_path
):
    from PyQt6.QtCore import QSettings

    from app.main_window import MainWindow
    from gkn_core.runs.writer import RunWriter

    monkeypatch.setenv("GKN_COMPUTE", "thread")  # the faults are patched into this process
    flushed_steps: list[int] = []  # the steps in the run file at each flush that succeeded
    real_flush = RunWriter.flush

    def flush(self):
        real_flush(self)
        flushed_steps.append(self.file["train/metrics/step"].shape[0])

    monkeypatch.setattr(RunWriter, "flush", flush)
    window = MainWindow(
        runs_dir=tmp_path / "runs", settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    )
    qtbot.addWidget(window)
    window.confirm = lambda question: True
    window.show()
    window.gkn.controls.preset.setCurrentText("2d")
    window.gkn.controls.train_steps.setValue(1_000_000)
    window.gkn.train_play()
    qt_wait_until(qtbot, lambda: window.gkn.state.steps.size > 50)
    qt_wait_until(qtbot, lambda: flushed_steps and flushed_steps[-1] > 0)  # a flush with steps in it
    fault(monkeypatch)
    qt_wait_until(qtbot, lambda: window.gkn.train_thread.finished)
    qt_wait_until(qtbot, lambda: message in window.last_error)
    assert window.last_error.startswith("the job failed: ") and "\n" not in window.last_error
    monkeypatch.undo()
    assert_failed_run(window.gkn.run_path, message)
    with open_run(window.gkn.run_path) as run:
        assert len(run.train_metrics()["step"]) >= 1
        if fault is _gpu_runs_out:  # the best weights so far are kept (a full disk cannot take them)
            run.load_model()
    window.gkn.controls.train_steps.setValue(30)  # the window goes on: a new run trains to the end
    window.gkn.train_play()
    qt_wait_until(qtbot, lambda: window.gkn.train_thread.finished)
    with h5py.File(window.gkn.run_path, "r") as f:
        assert f["status"][0].decode() == "completed"
    window.close()


@pytest.mark.parametrize(
    "fault, message",
    [("fill_the_disk", "the disk is full"), ("exhaust_gpu_memory", "out of GPU memory")],
    ids=["disk-full", "out-of-memory"],
)
def test_a_fault_in_the_compute_process_is_a_dialog_line_and_the_window_goes_on(
    fault, message, monkeypatch, qtbot, qapp, tmp_path
):
    """The same faults, injected in the compute process (the default) through requests."""
    from helpers import faults
    from PyQt6.QtCore import QSettings

    from app.main_window import MainWindow

    monkeypatch.setenv("GKN_COMPUTE", "process")
    window = MainWindow(
        runs_dir=tmp_path / "runs", settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    )
    qtbot.addWidget(window)
    window.confirm = lambda question: True
    window.show()
    lab = window.gkn
    lab.controls.preset.setCurrentText("2d")
    lab.controls.train_steps.setValue(1_000_000)
    lab.train_play()
    qt_wait_until(qtbot, lambda: lab.state.steps.size > 50)
    qt_wait_until(qtbot, lambda: _flushed_steps(lab.run_path) > 0)  # a flush with steps in it
    replies: list = []
    lab.request(getattr(faults, fault), (), replies.append)
    qt_wait_until(qtbot, lambda: lab.train_thread.finished)
    qt_wait_until(qtbot, lambda: message in window.last_error)
    assert window.last_error.startswith("the job failed: ") and "\n" not in window.last_error
    assert_failed_run(lab.run_path, message)
    lab.request(faults.undo_faults, (), replies.append)
    qt_wait_until(qtbot, lambda: len(replies) == 2)
    assert replies == [None, 1]
    lab.controls.train_steps.setValue(30)  # the window goes on: a new run trains to the end
    lab.train_play()
    qt_wait_until(qtbot, lambda: lab.train_thread.finished)
    with h5py.File(lab.run_path, "r") as f:
        assert f["status"][0].decode() == "completed"
    window.close()


def _flushed_steps(path: Path | None) -> int:
    """Training steps the run file holds so far (read beside its live writer)."""
    if path is None or not path.exists():
        return 0
    with open_run(path) as run:
        metrics = run.train_metrics()
        return len(metrics["step"]) if metrics else 0

