"""The job contract: steps, snapshots, pause/resume/stop from another thread, seeds, divergence."""

import dataclasses
import threading

import numpy as np
import pytest
import torch
from helpers.waiting import HANG_GUARD, wait_until, watch_waits

from gkn_core.device import resolve_device
from gkn_core.errors import ConfigError
from gkn_core.gkn.config import SampleConfig, preset_config
from gkn_core.gkn.data import load_dataset
from gkn_core.gkn.manifolds import Manifold1D
from gkn_core.gkn.sample import KaleidoscopeSamplingJob, collect_chains
from gkn_core.gkn.train import GKNTrainingJob, TrainingDiverged
from gkn_core.job import JobState

CPU = torch.device("cpu")


def training_job(overrides=None, preset="1d"):
    config = preset_config(preset, overrides or {"train": {"steps": 300, "manifold_every": 50}})
    return GKNTrainingJob(config, load_dataset(config.data, config.seed), CPU)


def test_training_learns_the_two_points():
    job = training_job()
    snapshots = list(job)
    assert [s.step for s in snapshots] == list(range(1, 301))
    assert job.state is JobState.COMPLETED
    assert snapshots[-1].loss < 0.01 * snapshots[0].loss
    with torch.no_grad():
        fx = job.model(torch.tensor([[0.2], [0.8]]))
    np.testing.assert_allclose(fx.numpy().ravel(), [0.2, 0.8], atol=0.02)


def test_snapshots_are_immutable_copies():
    job = training_job()
    first = job.step()
    assert isinstance(first.manifold, Manifold1D)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.loss = 0.0
    with pytest.raises(ValueError, match="read-only"):
        first.manifold.fx[0] = 1.0
    before = first.manifold.fx.copy()
    for _ in range(60):
        job.step()
    np.testing.assert_array_equal(first.manifold.fx, before)  # training on does not change it


def test_manifold_and_checkpoint_cadence():
    job = training_job({"train": {"steps": 120, "manifold_every": 50, "checkpoint_every": 40}})
    snaps = list(job)
    assert [s.step for s in snaps if s.manifold is not None] == [1, 50, 100, 120]
    assert [s.step for s in snaps if s.checkpoint is not None] == [40, 80, 120]
    last = snaps[-1].checkpoint
    assert last.step == job.best_step and last.loss == pytest.approx(job.best_loss)
    assert set(last.weights) == set(job.model.state_dict())


def test_keep_best_leaves_the_best_weights_in_the_model():
    job = training_job({"train": {"steps": 200, "keep_best": True}})
    list(job)
    batch = job.data
    with torch.no_grad():
        loss = torch.mean((job.model(batch) - batch) ** 2).item()
    assert loss == pytest.approx(job.best_loss, rel=1e-5, abs=1e-12)


def test_same_seed_same_run_and_other_seed_other_run():
    runs = [training_job({"seed": s, "train": {"steps": 50}}) for s in (1, 1, 2)]
    losses = [[snap.loss for snap in job] for job in runs]
    assert losses[0] == losses[1]
    assert losses[0] != losses[2]


def test_minibatches_cover_the_data_in_shuffled_epochs():
    job = training_job({"train": {"steps": 3, "batch_size": 500}}, preset="digits8")
    seen = [job._next_batch() for _ in range(4)]
    assert all(batch.shape == (500, 64) for batch in seen)
    first_epoch = torch.cat(seen[:3])
    assert torch.unique(first_epoch, dim=0).shape[0] == 1500  # no row twice within an epoch


def test_pause_resume_and_stop_from_another_thread():
    job = training_job({"train": {"steps": 100_000, "manifold_every": 100_000}})
    blocked = watch_waits(job)
    steps_seen = []
    worker = threading.Thread(target=lambda: steps_seen.extend(s.step for s in job))
    worker.start()
    wait_until(lambda: job.steps_done > 0, "the job never started")
    job.pause()
    assert job.state is JobState.PAUSED
    blocked.wait_for_block()  # the job's thread waits in its pause now: the step in flight is done
    paused_at = job.steps_done
    blocked.clear()
    job._control.acquire()  # a spurious wake-up (another thread notifying) must not advance it either
    job._control.notify_all()
    job._control.release()
    blocked.wait_for_block()
    assert job.steps_done == paused_at  # nothing advances while paused
    job.resume()
    wait_until(lambda: job.steps_done > paused_at + 5, "the job did not go on after resume")
    job.stop()
    worker.join(timeout=HANG_GUARD)
    assert not worker.is_alive()
    assert job.state is JobState.STOPPED
    assert steps_seen == list(range(1, len(steps_seen) + 1))


def test_stop_wakes_a_paused_job():
    job = training_job({"train": {"steps": 100_000}})
    job.pause()
    blocked = watch_waits(job)
    worker = threading.Thread(target=lambda: list(job))
    worker.start()
    blocked.wait_for_block()
    job.stop()
    worker.join(timeout=HANG_GUARD)
    assert not worker.is_alive() and job.steps_done == 0


def test_step_ignores_pause_for_single_stepping():
    job = training_job()
    job.pause()
    assert job.step().step == 1 and job.step().step == 2


def test_divergence_is_detected_within_one_step_and_keeps_last_good_weights():
    job = training_job({"train": {"steps": 50, "lr": 1e-3}})
    for _ in range(5):
        job.step()
    with torch.no_grad():
        for p in job.model.parameters():
            p.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="loss became nan at step 6") as info:
        job.step()
    assert job.state is JobState.FAILED
    weights = info.value.checkpoint.weights
    assert all(np.isfinite(w).all() for w in weights.values())
    assert info.value.checkpoint.step == job.best_step


def test_device_choice():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == CPU
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_sampling_records_full_chains_with_zero_mean_noise():
    job = training_job({"train": {"steps": 300}})
    list(job)
    settings = SampleConfig(chains=200, steps=40, noise=0.05, noise_law="uniform", burn_in=10)
    sampler = KaleidoscopeSamplingJob(job.model, settings, 0.0, 1.0, seed=3, reference_data=job.dataset.x)
    snaps = list(sampler)
    chains = np.concatenate([sampler.starts[:, None], np.stack([s.states for s in snaps], axis=1)], axis=1)
    assert chains.shape == (200, 41, 1)
    np.testing.assert_array_equal(sampler.last_states, chains[:, -1])
    assert [s.burned_in for s in snaps[9:11]] == [False, True]
    np.testing.assert_array_equal(chains[:, 5], snaps[4].states)
    assert chains.min() >= 0.0 and chains.max() <= 1.0
    assert snaps[-1].data_distance < 0.05  # the chains sit on the training points


@pytest.mark.parametrize(("law", "std_per_sigma"), [("gaussian", 1.0), ("uniform", 1 / np.sqrt(3))])
def test_noise_is_zero_mean_with_the_law_asked_for(law, std_per_sigma):
    identity = torch.nn.Linear(2, 2)
    with torch.no_grad():
        identity.weight.copy_(torch.eye(2))
        identity.bias.zero_()
    sigma = 0.01
    settings = SampleConfig(
        chains=500, steps=20, noise=sigma, noise_law=law, start="clipped_normal", start_std=0.01
    )
    sampler = KaleidoscopeSamplingJob(identity, settings, 0.0, 1.0, seed=0)
    kicks = np.diff(collect_chains(sampler), axis=1).ravel()  # f is the identity: every move is the noise
    assert abs(kicks.mean()) < 4 * sigma / np.sqrt(kicks.size)
    assert kicks.std() == pytest.approx(sigma * std_per_sigma, rel=0.05)


def test_sampling_is_reproducible_and_takes_given_starts():
    job = training_job({"train": {"steps": 100}})
    list(job)
    settings = SampleConfig(chains=4, steps=5, noise=0.01, start="clipped_normal")
    a, b = (collect_chains(KaleidoscopeSamplingJob(job.model, settings, 0.0, 1.0, seed=7)) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    starts = np.array([[0.1], [0.5], [0.9]], dtype=np.float32)
    c = collect_chains(KaleidoscopeSamplingJob(job.model, settings, 0.0, 1.0, seed=7, starts=starts))
    assert c.shape == (3, 6, 1)
    np.testing.assert_array_equal(c[:, 0], starts)


def test_advance_one_lets_exactly_one_step_through_a_pause():
    job = training_job({"train": {"steps": 100_000}})
    job.pause()
    blocked = watch_waits(job)
    seen = []
    worker = threading.Thread(target=lambda: seen.extend(s.step for s in job))
    worker.start()
    blocked.wait_for_block()
    assert seen == [] and job.state is JobState.PAUSED
    blocked.clear()
    job.advance_one()
    job.advance_one()
    wait_until(lambda: len(seen) >= 2 and blocked.blocked.is_set(), "two single steps never came")
    assert seen == [1, 2]  # and the job waits again: no third step
    job.stop()
    worker.join(timeout=HANG_GUARD)
    assert not worker.is_alive()
