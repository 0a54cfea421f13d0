"""The compute process (the default; GKN_COMPUTE=thread turns it off): the labs' jobs run in a child
process that owns the model; snapshots come back to the window, requests get their replies, a child
that dies leaves one dialog line, a failed run file and a window that works; closing leaves no
process behind."""

from __future__ import annotations

import os
import signal

import h5py
import numpy as np
import pytest
from helpers.waiting import HANG_GUARD, process_events, qt_wait_until

from app.gkn import compute_jobs
from app.worker import running_threads
from gkn_core.runs.reader import open_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def _in_process(monkeypatch):
    monkeypatch.setenv("GKN_COMPUTE", "process")


def wait_for(qtbot, condition) -> None:
    qt_wait_until(qtbot, condition, HANG_GUARD)


def use_preset(window, name: str, train_steps: int) -> None:
    window.gkn.controls.preset.setCurrentText(name)
    window.gkn.controls.train_steps.setValue(train_steps)


def errors_of(window) -> list[str]:
    said: list[str] = []
    show = window.show_error
    window.show_error = lambda message: (said.append(message), show(message))
    for lab in window.labs.values():  # the labs were handed the bound method when they were built
        lab.workers.died.disconnect()
        lab.workers.died.connect(window.show_error)
        lab.host = window
    return said


def child_pid(lab) -> int:
    return lab.workers.compute.process.pid


def test_training_and_sampling_run_in_the_child_and_every_step_reaches_the_window(window, qtbot):
    lab = window.gkn
    use_preset(window, "1d", 300)
    lab.train_play()
    wait_for(qtbot, lambda: lab.train_thread.finished)
    process_events(qtbot)
    assert child_pid(lab) != os.getpid()
    assert lab.state.steps.values.tolist() == list(range(1, 301))
    assert lab.train_thread.job.steps_done == 300
    with open_run(lab.run_path) as run:  # written by the job in the child
        assert run.status == "completed" and len(run.file["train/metrics/step"]) == 300
        np.testing.assert_allclose(run.file["train/manifolds/fx"][-1], lab.state.latest_manifold.fx)
    pid = child_pid(lab)
    window.gkn.controls.sample_steps.setValue(20)
    window.gkn.controls.burn_in.setValue(5)
    lab.sample_play()
    wait_for(qtbot, lambda: lab.sample_thread.finished)
    process_events(qtbot)
    assert child_pid(lab) == pid  # one process for the lab's jobs, not one per job
    assert len(lab.state.chains) == 21  # the starts (told before the first batch) and 20 generations


def test_step_and_pause_are_answered_by_the_job_in_the_child(window, qtbot):
    lab = window.gkn
    use_preset(window, "1d", 1000)
    lab.train_step()
    wait_for(qtbot, lambda: lab.state.steps.size == 1)
    lab.train_step()
    wait_for(qtbot, lambda: lab.state.steps.size == 2)
    assert lab.train_thread.job.steps_done == 2 and lab.train_thread.job.is_paused
    lab.train_play()  # resume, then stop: the run ends stopped, with its file closed
    wait_for(qtbot, lambda: lab.state.steps.size > 2)
    lab.stop_jobs()
    assert lab.train_thread is None
    with open_run(lab.run_path) as run:
        assert run.status == "stopped"


def test_requests_are_answered_by_the_child_and_a_failing_one_is_one_line(window, qtbot, tmp_path):
    lab = window.gkn
    said = errors_of(window)
    replies: list = []
    lab.request(os.getpid, (), replies.append)
    wait_for(qtbot, lambda: replies)
    assert replies == [child_pid(lab)] and replies[0] != os.getpid()
    lab.request(compute_jobs.gkn_basins, (tmp_path / "missing.h5", 0.0, 1.0), replies.append)
    wait_for(qtbot, lambda: said)
    assert len(said) == 1 and "missing.h5" in said[0] and "\n" not in said[0]
    assert not lab.workers.busy


def test_basins_of_a_2d_run_come_back_from_the_child(window, qtbot):
    lab = window.gkn
    use_preset(window, "2d", 30)
    lab.train_play()
    wait_for(qtbot, lambda: lab.train_thread.finished)
    shown: list = []
    view = window.views["2d"]
    real = view.show_basins
    view.show_basins = lambda basins: (shown.append(basins), real(basins))
    lab.compute_basins()
    wait_for(qtbot, lambda: shown)
    assert shown[0] is not None


def test_a_killed_compute_process_fails_its_run_with_one_line_and_the_window_goes_on(window, qtbot):
    lab = window.gkn
    said = errors_of(window)
    use_preset(window, "1d", 10**6)
    lab.train_play()
    wait_for(qtbot, lambda: lab.state.steps.size > 10)  # the job is running in the child
    path, thread = lab.run_path, lab.train_thread
    os.kill(child_pid(lab), signal.SIGKILL)
    wait_for(qtbot, lambda: thread.finished)
    process_events(qtbot)
    assert said == ["the compute process was killed (SIGKILL; out of memory?)"]
    assert window.isVisible() and not lab.controls.train_buttons.running
    # marked failed by the window, its writer flags cleared: plain h5py opens it again
    with h5py.File(path, "r") as f:
        assert "metrics" in f["train"]
    with open_run(path) as run:  # what was flushed is all there
        assert run.status == "failed" and "SIGKILL" in run.failure_reason
        assert run.state("status", "train") == "failed"
        steps = run.file["train/metrics/step"][:]
        np.testing.assert_array_equal(steps, np.arange(1, len(steps) + 1))
    assert not running_threads()  # the dead child is reaped, nothing else runs
    use_preset(window, "1d", 50)  # the next job starts a new compute process
    lab.train_play()
    wait_for(qtbot, lambda: lab.train_thread.finished)
    process_events(qtbot)
    assert lab.state.steps.size == 50 and said == ["the compute process was killed (SIGKILL; out of memory?)"]


def test_the_chaos_g_slider_restarts_the_dynamics_in_the_child_and_record_writes_it(window, qtbot):
    from test_chaos_window import show, small_chaos

    from gkn_core.chaos.recordings import read_recording
    from gkn_core.runs.reader import open_run

    small_chaos(window)
    lab = window.chaos
    show(window, "dynamics")
    wait_for(qtbot, lambda: lab.dynamics_thread is not None and lab.dynamics_thread.finished)
    first = lab.dynamics_thread
    lab.dynamics_view.g_slider.setValue(0.5)
    wait_for(qtbot, lambda: lab.dynamics_thread is not first and lab.dynamics_thread.finished)
    process_events(qtbot)
    assert lab.dynamics_model.settings.g == pytest.approx(0.5)
    recording = lab.finished_recording()  # handed back by the job in the child
    assert recording.model_config.g == pytest.approx(0.5)
    np.testing.assert_allclose(lab.dynamics_state.states, recording.states)
    assert lab.record()
    wait_for(qtbot, lambda: not lab.workers.busy)  # written by the child, its reply handed over
    with open_run(window.recent_runs()[0]) as run:
        np.testing.assert_array_equal(read_recording(run).states, recording.states)


def test_closing_the_window_stops_the_job_in_the_child_and_ends_the_process(window, qtbot):
    lab = window.gkn
    use_preset(window, "1d", 10**6)
    lab.train_play()
    wait_for(qtbot, lambda: lab.state.steps.size > 5)
    process, path = lab.workers.compute.process, lab.run_path
    window.close()  # stops the job at its next step, waits for its end, then for the process
    assert not process.is_alive() and process.exitcode == 0
    assert not running_threads()
    with open_run(path) as run:  # the job closed its file before the process ended
        assert run.status == "stopped"


def test_a_compute_process_that_segfaults_mid_request_is_one_line_and_the_lab_goes_on(window, qtbot):
    lab = window.chaos
    said = errors_of(window)
    replies: list = []
    lab.request(os.getpid, (), replies.append)
    wait_for(qtbot, lambda: replies)
    lab.request(os.kill, (replies[0], signal.SIGSEGV), replies.append)  # the child crashes mid-request
    wait_for(qtbot, lambda: said)
    process_events(qtbot)
    assert said == ["the compute process crashed (segmentation fault)"] and not lab.workers.busy
    lab.request(os.getpid, (), replies.append)  # a new process answers the next request
    wait_for(qtbot, lambda: len(replies) == 2)
    assert replies[1] not in (replies[0], os.getpid())
    assert said == ["the compute process crashed (segmentation fault)"]
