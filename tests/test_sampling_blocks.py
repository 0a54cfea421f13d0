"""The sampling job describes its steps in blocks (issue #15.2): a step only iterates the network, and
the movement, data distance and class score of a block are computed together. These are the numbers
one generation at a time gives, exactly; the blocks start at one step and grow, and a pause sends the
snapshots of every step done before the job waits."""

from __future__ import annotations

import queue
import threading

import numpy as np
import torch

import gkn_core.gkn.sample as sample_module
from gkn_core.class_score import class_score
from gkn_core.gkn.config import SampleConfig, preset_config
from gkn_core.gkn.data import load_dataset
from gkn_core.gkn.sample import KaleidoscopeSamplingJob
from gkn_core.gkn.sample_quality import generation_scorer
from gkn_core.gkn.train import seeded_model

STEPS = 40


def digits_job(noise: float = 0.0) -> tuple[KaleidoscopeSamplingJob, np.ndarray]:
    config = preset_config("digits8", {"device": "cpu"})
    data = load_dataset(config.data, config.seed)
    model = seeded_model(config, data.dim, torch.device("cpu"))
    settings = SampleConfig(chains=30, steps=STEPS, noise=noise, burn_in=3)
    scorer = generation_scorer("digits8", "unit", (8, 8))
    return KaleidoscopeSamplingJob(model, settings, 0.0, 1.0, 5, data.x, scorer=scorer), data.x


def test_a_block_gives_the_numbers_of_one_generation_at_a_time(monkeypatch):
    monkeypatch.setattr(sample_module, "BLOCK_SECONDS", float("inf"))  # blocks by steps only
    job, data = digits_job()
    snapshots = list(job)
    assert [s.step for s in snapshots] == list(range(1, STEPS + 1))
    blocks = [s.block for s in snapshots]
    sizes = [len(b.states) for b in dict.fromkeys(blocks)]  # the blocks, in order
    assert sizes == [1, 2, 4, 8, 16, 9]
    reference = torch.from_numpy(np.array(data[:512], dtype=np.float32))
    previous = job.starts
    for s in snapshots:
        states = torch.from_numpy(np.array(s.states))
        x = torch.from_numpy(np.array(previous)).clamp(0.0, 1.0)  # no noise: x is the last f(x)
        assert s.movement == float(((states - x) ** 2).mean().sqrt())
        nearest = torch.cdist(states, reference).amin(dim=1)
        assert s.data_distance == float((nearest / 64**0.5).mean())
        one = class_score(s.states, "digits8", "unit")
        assert (s.quality.fraction, s.quality.entropy, s.quality.reject) == (
            one.fraction,
            one.entropy,
            one.reject,
        )
        assert s.quality.histogram.tolist() == one.histogram.tolist()
        assert s.burned_in == (s.step > 3) and not s.states.flags.writeable
        previous = s.states
    assert np.array_equal(job.last_states, snapshots[-1].states)


def test_a_pause_sends_the_snapshots_of_every_step_done_before_the_job_waits():
    job, _ = digits_job(noise=0.01)
    forward = job.model.forward
    calls = [0]

    def pausing_forward(x):  # a Pause asked in the middle of the fourth block (steps 8 .. 15)
        calls[0] += 1
        if calls[0] == 10:
            job.pause()
        return forward(x)

    job.model.forward = pausing_forward
    seen: queue.Queue = queue.Queue()
    worker = threading.Thread(target=lambda: [seen.put(s.step) for s in job], daemon=True)
    worker.start()
    steps = [seen.get(timeout=120) for _ in range(10)]  # a hang guard: they come before the wait
    assert steps == list(range(1, 11)) and job.steps_done == 10
    job.stop()
    worker.join(timeout=120)
    assert not worker.is_alive() and seen.empty() and job.steps_done == 10
