"""Chaos scores against sampling time (gkn_core.chaos.score_times) and the Lyapunov change with its
standard error (gkn_core.chaos.lyapunov_change)."""

import tracemalloc

import numpy as np
import pytest
import torch

from gkn_core.chaos.config import ChaosDataConfig, ChaosModelConfig, chaos_preset_config
from gkn_core.chaos.lyapunov_change import LyapunovChange, lyapunov_change
from gkn_core.chaos.models import build_chaos_model
from gkn_core.chaos.score_times import best_time_verdict, chains_at_times, score_times, time_steps
from gkn_core.chaos.scores import all_scores
from gkn_core.chaos.sessions import chaos_training_session
from gkn_core.chaos.train import load_chaos_dataset
from gkn_core.errors import ConfigError


@pytest.fixture(scope="module")
def data():
    return np.asarray(load_chaos_dataset(ChaosDataConfig()).x)  # digits8 in [-1, 1], 64 pixels


def small_model(nh: int = 16, seed: int = 0):
    return build_chaos_model(ChaosModelConfig(Nh=nh, T=20.0), 64, seed=seed)


def test_time_t_samples_are_the_same_chains_as_a_separate_run_to_t():
    model = small_model()
    together = {}
    for _start, i, rates in chains_at_times(model, 300, [5, 12, 30], seed=9, batch=100):
        together.setdefault(i, []).append(rates.clone())
    for i, steps in enumerate([5, 12, 30]):
        alone = torch.cat([r for _, _, r in chains_at_times(model, 300, [steps], seed=9, batch=100)])
        assert torch.equal(torch.cat(together[i]), alone)
    # and a batch is exactly model.run from that batch's own random states
    states = model.random_state(100, torch.Generator().manual_seed(9 + 1))
    direct = model.visible_rates(model.run(states, 12))
    assert torch.equal(torch.cat(together[1])[100:200], direct)


def test_batched_scores_equal_the_whole_set_scores(data):
    model = small_model()
    n = 600
    rows = data[:n]
    result = score_times(model, rows, times=(12.0,), n=n, seed=3, batch=128, dataset_name="digits8")
    samples = torch.cat([r for _, _, r in chains_at_times(model, n, [12], seed=3, batch=128)])
    whole = all_scores(rows, samples)
    for name in ("E2", "Es", "ER", "AAI", "AAI_data", "AAI_gen"):
        assert result.scores[name][0] == pytest.approx(whole[name], rel=1e-4, abs=1e-7), name
    from gkn_core.class_score import class_score

    digits = class_score(samples.numpy(), "digits8", "symmetric")
    assert result.scores["class_score"][0] == pytest.approx(digits.fraction)
    assert result.scores["class_entropy"][0] == pytest.approx(digits.entropy)
    assert result.times.tolist() == [12.0] and result.n == n


def _peak_traced(model, data, n):
    tracemalloc.start()
    score_times(
        model, data, times=(1.0, 2.0, 3.0), n=n, seed=0, batch=500, aai_rows=500, dataset_name="digits8"
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_ten_thousand_chains_in_batches_keep_memory_bounded(data):
    model = small_model(nh=4)
    all_samples = 10_000 * 64 * 4 * 3  # every sample of the three times, float32: 7.7 MB
    small, large = _peak_traced(model, data, 2_000), _peak_traced(model, data, 10_000)
    assert large < all_samples / 3  # never the whole set
    assert large < 1.5 * small  # five times the chains, about the same peak


def test_score_times_refuses_bad_times():
    with pytest.raises(ConfigError):
        time_steps([10, 5], 1.0)
    with pytest.raises(ConfigError):
        time_steps([0.2, 0.4], 1.0)  # both round to one step
    with pytest.raises(ConfigError):
        time_steps([], 1.0)


def test_best_time_verdict_reads_the_numbers(data):
    model = small_model()
    trained = score_times(model, data, times=(5.0, 10.0, 20.0, 40.0), n=200, training_T=20.0)
    untrained = score_times(small_model(seed=1), data, times=(5.0, 10.0, 20.0, 40.0), n=200)
    verdict = best_time_verdict(trained, untrained)
    e2 = verdict["scores"]["E2"]
    assert e2["best_value"] == pytest.approx(np.min(np.abs(trained.scores["E2"])))
    assert e2["within_factor"] == (10.0 <= e2["best_time"] <= 40.0)
    assert len(e2["untrained"]) == 4 and verdict["training_T"] == 20.0


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("lyap") / "run.h5"
    config = chaos_preset_config("digits8", {
        "model": {"Nh": 24, "T": 20.0}, "device": "cpu",
        "train": {"steps": 4, "M": 32, "metrics_every": 4, "metrics_samples": 50, "lyapunov_every": None,
                  "sample_every": None, "checkpoint_every": 4}})
    _job, snapshots = chaos_training_session(config, path)
    for _ in snapshots:
        pass
    return path


def test_lyapunov_standard_error_shrinks_with_more_chains(short_run):
    few = lyapunov_change([short_run], chains=8, steps=60, transient=20)
    many = lyapunov_change([short_run], chains=128, steps=60, transient=20)
    assert few.before.shape == (1, 8) and many.after.shape == (1, 128)
    assert many.standard_error < 0.6 * few.standard_error
    assert many.standard_error == many.se_chains  # one seed: the chain spread is the noise
    assert "noise" in many.statement()


def test_lyapunov_change_beyond_or_within_its_noise():
    rng = np.random.default_rng(0)
    before = 0.2 + 0.01 * rng.standard_normal((3, 10))
    fell = LyapunovChange((0, 1, 2), before, before - 0.3, 10, 100, 10)
    assert fell.difference == pytest.approx(-0.3) and fell.beyond_noise
    same = LyapunovChange((0, 1, 2), before, before.copy(), 10, 100, 10)
    assert same.difference == 0 and not same.beyond_noise and "within its noise" in same.statement()
