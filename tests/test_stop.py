"""Stop within one step in every job (issue #17.6), counted in steps, never in seconds.

Each job kind is driven from a thread as the app's worker drives it; Stop comes from another thread
after the first snapshot and the job ends at the next step boundary. The long steps (chaos training,
the trajectories' first step) look at the stop flag between their phases and inside their Euler
loops: a Stop that arrives mid-step gives the step up within one Euler step, the model as the last
whole step left it. One step's work is bounded in floating-point operations at paper size.
"""

from __future__ import annotations

import queue
import threading

import numpy as np
import pytest
import torch

from gkn_core.chaos.analysis import WORK_PER_JOB_STEP, LyapunovAnalysisJob, lyapunov_settings
from gkn_core.chaos.config import chaos_preset_config
from gkn_core.chaos.models import CHECK_EVERY, build_chaos_model
from gkn_core.chaos.runfile import sample_settings
from gkn_core.chaos.sample import ChaosSamplingJob
from gkn_core.chaos.train import ChaosTrainingJob, load_chaos_dataset
from gkn_core.chaos.trajectories import TrajectoryJob, trajectory_settings
from gkn_core.gkn.config import SampleConfig, preset_config
from gkn_core.gkn.data import load_dataset
from gkn_core.gkn.sample import KaleidoscopeSamplingJob
from gkn_core.gkn.train import GKNTrainingJob
from gkn_core.job import JobState

CPU = torch.device("cpu")
SMALL_CHAOS = {"device": "cpu", "model": {"Nh": 20, "T": 20.0}, "train": {"steps": 50, "M": 20}}


def gkn_train():
    config = preset_config("1d", {"device": "cpu", "train": {"steps": 500}})
    return GKNTrainingJob(config, load_dataset(config.data, config.seed), CPU)


def gkn_sample():
    trained = gkn_train()
    return KaleidoscopeSamplingJob(trained.model, SampleConfig(chains=8, steps=500), 0.0, 1.0, seed=1)


def chaos_train():
    config = chaos_preset_config("digits8", SMALL_CHAOS)
    return ChaosTrainingJob(config, load_chaos_dataset(config.data), CPU)


def chaos_model():
    return build_chaos_model(chaos_preset_config("digits8", SMALL_CHAOS).model, 64, "cpu", seed=0)


def chaos_sample():
    return ChaosSamplingJob(chaos_model(), sample_settings({"n": 20, "T": 50.0}), seed=0)


def trajectories():
    return TrajectoryJob(chaos_model(), trajectory_settings({"chains": 3, "steps": 400}), "untrained")


def lyapunov():
    settings = lyapunov_settings({"exponents": 4, "chains": 2, "steps": 400, "steps_per_job_step": 5})
    return LyapunovAnalysisJob(chaos_model(), settings, 64, 0)


JOBS = {
    "gkn-train": gkn_train,
    "gkn-sample": gkn_sample,
    "chaos-train": chaos_train,
    "chaos-sample": chaos_sample,
    "trajectories": trajectories,
    "lyapunov": lyapunov,
}


@pytest.mark.parametrize("kind", list(JOBS))
def test_stop_from_another_thread_ends_the_job_at_the_next_step_boundary(kind, one_torch_thread):
    job = JOBS[kind]()
    assert job.total_steps > 3
    seen: queue.Queue = queue.Queue()
    stop_sent = threading.Event()

    def drive() -> None:  # the app's worker, waiting for the Stop after its first snapshot
        for snapshot in job:
            seen.put(snapshot)
            stop_sent.wait(timeout=120)

    worker = threading.Thread(target=drive, daemon=True)
    worker.start()
    first = seen.get(timeout=300)
    job.stop()
    stop_sent.set()
    worker.join(timeout=300)
    assert not worker.is_alive()
    assert job.state is JobState.STOPPED
    assert first.step == 1 and job.steps_done == 1 and seen.empty()  # not one step more


def interrupt_after(job, checks: int) -> list[int]:
    """Ask the job to stop from inside its own step, at its `checks`-th look at the stop flag (as if
    the other thread's Stop came exactly then); returns the count of looks, which goes on growing
    only if the step ignored the stop."""
    looks = [0]
    real = job.check_stop

    def check() -> None:
        looks[0] += 1
        if looks[0] == checks:
            job.stop()
        real()

    job.check_stop = check
    return looks


# 20 Euler steps per phase (T=20, dt=1; the restricted clamped phase is closed-form): looks 1-20 are
# the free phase, 21-40 the scores' samples, then the Lyapunov exponent's steps.
@pytest.mark.parametrize("checks", [1, 12, 30, 100])
def test_a_stop_mid_step_gives_the_chaos_training_step_up_within_one_euler_step(checks, one_torch_thread):
    job = chaos_train()
    before = {k: v.copy() for k, v in job.checkpoint(0).weights.items()}
    looks = interrupt_after(job, checks)
    snapshots = list(job)
    assert looks[0] == checks  # no Euler step after the one the stop came in
    assert job.state is JobState.STOPPED
    if checks <= job.n_steps:  # before the update (clamped or free phase): the step is given up
        assert snapshots == [] and job.steps_done == 0
        after = job.checkpoint(0).weights
        assert all(np.array_equal(before[k], after[k]) for k in before)
    else:  # in the measurements after the update: the step counts, the rest of them is left out
        assert job.steps_done == 1 and len(snapshots) == 1 and snapshots[0].lyapunov is None
        assert (snapshots[0].scores == {}) == (checks <= 2 * job.n_steps)


def test_a_stop_mid_step_ends_the_trajectories_first_step(one_torch_thread):
    job = trajectories()
    looks = interrupt_after(job, 3)
    assert list(job) == [] and looks[0] == 3 and job.state is JobState.STOPPED


def test_one_look_at_the_stop_flag_is_bounded_work_at_paper_size():
    """Between two looks at the stop flag the paper-size chaos training does CHECK_EVERY Euler steps
    of its M=500 chains: about 0.8 GFLOP (0.1-0.3 s on one core), about a Lyapunov job step's work."""
    config = chaos_preset_config("paper-mnist")
    nv, nh, m = 784, config.model.Nh, config.train.M
    flops = CHECK_EVERY * 2 * 2 * m * nv * nh  # two products (v<-h, h<-v) per Euler step
    assert flops <= 3 * WORK_PER_JOB_STEP
