"""The Lyapunov analysis job (gkn_core.chaos.analysis) on a small real network, against the library.

The network: untrained restricted2, Nv = 16, Nh = 24 (40 units), g = 2.5, tau = 2, dt = 1, T = 20
and a transient of 100 steps (50 tau). tau = 2 makes each Euler step half a tau, so 200 steps average
over 100 tau: long enough for the finite-time check below while the whole module runs in a few s.
"""

from __future__ import annotations

import math
import queue
import threading

import numpy as np
import pytest
import torch

from gkn_core.chaos.analysis import (
    WORK_PER_JOB_STEP,
    LyapunovAnalysisJob,
    LyapunovSettings,
    euler_steps_per_job_step,
    g_grid,
    lyapunov_settings,
    network_spectrum,
    zero_crossing,
)
from gkn_core.chaos.config import ChaosModelConfig
from gkn_core.chaos.models import ChaoticRNN, build_chaos_model
from gkn_core.errors import ConfigError
from gkn_core.job import JobState
from gkn_core.lyapunov import kaplan_yorke_dimension, lyapunov_spectrum, participation_ratio

NV, MODEL_SEED = 16, 0
MODEL = ChaosModelConfig(arch="restricted2", Nh=24, g=2.5, tau=2.0, dt=1.0, T=20.0)
SETTINGS = {
    "steps": 200,
    "transient": 100,
    "chains": 2,
    "local_window": 10,
    "g_values": [0.5, 1.5, 3.0],
    "g_steps": 100,
    "seed": 3,
}


def small_network() -> ChaoticRNN:
    return build_chaos_model(MODEL, NV, "cpu", seed=MODEL_SEED)


@pytest.fixture(scope="module")
def finished(one_torch_thread):
    job = LyapunovAnalysisJob(small_network(), lyapunov_settings(SETTINGS), NV, MODEL_SEED)
    snapshots = list(job)
    return job, snapshots


def test_steps_and_stages(finished):
    job, snaps = finished
    assert job.total_steps == 2 + 3 and job.state is JobState.COMPLETED
    assert [s.stage for s in snaps] == [
        "spectrum",
        "finite-time exponent",
        "g sweep 1/3",
        "g sweep 2/3",
        "g sweep 3/3",
    ]
    assert [s.step for s in snaps] == [1, 2, 3, 4, 5] and snaps[-1].total_steps == 5
    # Cumulative: the spectrum of step 1 is still in the last snapshot; the sweep grows by one gain.
    np.testing.assert_array_equal(snaps[0].spectrum, snaps[-1].spectrum)
    assert [len(s.g_values) for s in snaps] == [0, 0, 1, 2, 3]
    assert len(snaps[0].local_largest) == 0 and len(snaps[1].local_largest) == 20
    assert snaps[-1].network_g == 2.5 and snaps[-1].n_units == 40
    assert not snaps[-1].spectrum.flags.writeable and not snaps[-1].g_largest.flags.writeable


def test_spectrum_is_the_library_spectrum(finished):
    _, snaps = finished
    last = snaps[-1]
    # Default exponents: every unit (40 <= 128), descending.
    assert last.spectrum.shape == (40,) and last.spectrum_std.shape == (40,)
    assert np.all(np.diff(last.spectrum) <= 0)
    # The same computation done by hand: states from seed + 7, frame from the seed.
    model = small_network()
    gen = torch.Generator().manual_seed(3 + 7)
    x0 = torch.cat(model.random_state(2, gen), dim=1)
    per_step = lyapunov_spectrum(model.euler_map(), x0, 40, 200, transient=100, renorm_every=1, seed=3)
    direct = per_step * (2.0 / 1.0)  # tau / dt
    np.testing.assert_array_equal(last.spectrum, direct.mean(0).double().numpy())
    np.testing.assert_array_equal(last.spectrum_std, direct.std(0, correction=0).double().numpy())
    assert last.participation_ratio == float(participation_ratio(direct.mean(0)))
    assert last.kaplan_yorke == float(kaplan_yorke_dimension(direct.mean(0)))
    # The real numbers of this network: chaotic with one or two unstable directions, the sum of
    # all 40 exponents strongly negative (a dissipative map), so KY lies between 1 and 40.
    assert 0.02 < last.spectrum[0] < 0.3
    assert 1.0 <= last.participation_ratio < 3.0
    assert 1.0 < last.kaplan_yorke < 40.0
    assert last.spectrum.sum() < -10


def test_finite_time_exponent_averages_to_the_largest(finished):
    _, snaps = finished
    last = snaps[-1]
    np.testing.assert_allclose(last.local_t, np.arange(1, 21) * 10 * 1.0 / 2.0)  # window ends, in tau
    assert last.local_mean == pytest.approx(float(last.local_largest.mean()))
    # Both follow the leading tangent direction of the same trajectories; they differ only in the
    # random initial vector. A vector starting with overlap ~1/sqrt(N) with the leading direction
    # loses about ln sqrt(N) of log growth once: even with no alignment in the transient, spread over
    # the 100 tau averaged that is 0.5 ln(40) / 100 = 0.018 per tau. The 50 tau transient aligns the
    # vectors first: the measured difference is 0.003 at most over seeds 0..5 (0.017 with a 10 tau
    # transient), while the finite-time values themselves swing by ~0.3.
    tolerance = 0.5 * math.log(40) / 100
    assert abs(last.local_mean - last.spectrum[0]) < tolerance
    assert last.local_largest.max() - last.local_largest.min() > 5 * tolerance


def test_g_sweep_crosses_into_chaos(finished):
    _, snaps = finished
    last = snaps[-1]
    np.testing.assert_array_equal(last.g_values, [0.5, 1.5, 3.0])
    # Real values of the untrained 16 + 24 network: -0.62 at g = 0.5 (contracting to the fixed
    # point 0), -0.001 at g = 1.5 and +0.089 at g = 3 (chaotic); the crossing lies in between.
    assert last.g_largest[0] < -0.4
    assert last.g_largest[-1] > 0.05
    assert last.g_largest[-1] > last.g_largest[0]
    assert last.g_crossing is not None and 0.5 < last.g_crossing < 3.0
    assert snaps[2].g_crossing is None  # one point cannot cross


def test_zero_crossing_and_grid():
    assert zero_crossing(np.array([1.0, 2.0, 3.0]), np.array([-0.2, 0.2, 0.4])) == pytest.approx(1.5)
    assert zero_crossing(np.array([3.0, 1.0]), np.array([0.1, -0.3])) == pytest.approx(2.5)  # unsorted
    assert zero_crossing(np.array([1.0, 2.0]), np.array([-0.2, -0.1])) is None
    assert g_grid(0.5, 3.0, 0.25) == [0.5 + 0.25 * i for i in range(11)]
    assert g_grid(1.0, 1.0, 0.1) == [1.0] and g_grid(2.0, 1.0, 0.1) == []
    assert LyapunovSettings().g_values == tuple(g_grid(0.5, 3.0, 0.25))


def test_stop_between_steps(one_torch_thread):
    job = LyapunovAnalysisJob(
        small_network(), lyapunov_settings({"exponents": 4, "steps": 20, "g_steps": 5}), NV, MODEL_SEED
    )
    seen = []
    for snapshot in job:
        seen.append(snapshot)
        job.stop()
    assert len(seen) == 1 and seen[0].stage == "spectrum" and seen[0].spectrum.shape == (4,)
    assert job.state is JobState.STOPPED and job.steps_done == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"steps": 0}, "lyapunov.steps: must be greater than or equal to 1"),
        ({"steps": 50, "local_window": 60}, "local_window (60) must not exceed steps (50)"),
        ({"g_values": []}, "lyapunov.g_values: give 1 to 200 gains"),
        ({"g_values": [1.0, -0.5]}, "lyapunov.g_values.1"),
        ({"chains": 0}, "lyapunov.chains"),
        ({"exponent": 3}, "lyapunov.exponent: unknown setting"),
    ],
)
def test_bad_settings_are_one_line(raw, message):
    with pytest.raises(ConfigError) as caught:
        lyapunov_settings(raw)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_too_many_exponents_for_the_network():
    with pytest.raises(ConfigError, match=r"lyapunov.exponents: the network has only 40 units \(got 41\)"):
        LyapunovAnalysisJob(small_network(), lyapunov_settings({"exponents": 41}), NV, MODEL_SEED)


def test_job_steps_are_short_and_the_answers_those_of_one_piece(one_torch_thread):
    """steps_per_job_step = 25: every job step does at most 25 Euler steps (counted, not timed),
    states, frames and sums carry over, and the spectrum equals the one computed in one go."""
    raw = {**SETTINGS, "steps_per_job_step": 25}
    job = LyapunovAnalysisJob(small_network(), lyapunov_settings(raw), NV, MODEL_SEED)
    # 300 spectrum steps -> 12 job steps, 300 finite-time -> 12, 3 gains x 200 steps -> 3 x 8
    assert job.total_steps == 12 + 12 + 3 * 8
    snaps, before = [], 0
    for snap in job:
        assert 1 <= snap.euler_steps - before <= 25
        before = snap.euler_steps
        snaps.append(snap)
    assert len(snaps) == 48 and job.state is JobState.COMPLETED
    assert snaps[0].stage == "spectrum (25/300 steps)" and snaps[0].spectrum is None  # in the transient
    assert snaps[3].stage == "spectrum (100/300 steps)" and snaps[3].spectrum is None
    assert snaps[4].spectrum is not None  # 25 steps averaged: a running estimate, already reported
    assert snaps[11].stage == "spectrum" and snaps[23].stage == "finite-time exponent"
    assert snaps[-1].stage == "g sweep 3/3" and snaps[-1].euler_steps == 300 + 300 + 3 * 200
    direct = network_spectrum(small_network(), 40, 200, 100, 2, 1, 3)
    np.testing.assert_array_equal(snaps[-1].spectrum, direct.mean(0).double().numpy())
    assert 1.0 <= snaps[-1].frame_condition < 1e6
    # the same answers as the job in one piece per stage (the module's fixture)
    whole = list(LyapunovAnalysisJob(small_network(), lyapunov_settings(SETTINGS), NV, MODEL_SEED))
    np.testing.assert_array_equal(snaps[-1].local_largest, whole[-1].local_largest)
    np.testing.assert_array_equal(snaps[-1].g_largest, whole[-1].g_largest)
    assert len(whole) == 5  # 300 steps of the 40-unit network fit in one job step's work


def test_default_job_step_is_bounded_at_paper_size():
    """At paper size (784 + 500 units, every exponent up to 128, 2 chains) a job step is one Euler
    step (four with 20 exponents): WORK_PER_JOB_STEP floating-point operations, about 0.05-0.3 s
    on one CPU core."""
    from gkn_core.chaos.config import chaos_preset_config

    paper = build_chaos_model(chaos_preset_config("paper-mnist").model, 784, "cpu")
    assert euler_steps_per_job_step(paper, 128, 2) == 1
    assert euler_steps_per_job_step(paper, 20, 2) == 4
    assert euler_steps_per_job_step(paper, 1, 2) == 46  # the g sweep and the finite-time exponent
    per_step = 2 * 2 * 21 * 2 * 784 * 500
    assert euler_steps_per_job_step(paper, 20, 2) * per_step <= WORK_PER_JOB_STEP


def test_stop_a_running_analysis_ends_at_the_next_step_boundary(one_torch_thread):
    """Driven from a thread as the app does: Stop after the first snapshot ends the job at the next
    job step, so at most two job steps (2 x 10 Euler steps) of a 1300-step spectrum are done."""
    raw = {**SETTINGS, "steps": 1200, "steps_per_job_step": 10}
    job = LyapunovAnalysisJob(small_network(), lyapunov_settings(raw), NV, MODEL_SEED)
    seen: queue.Queue = queue.Queue()
    stop_sent = threading.Event()

    def drive() -> None:  # like the app's worker, but it waits for the Stop after each snapshot,
        for snapshot in job:  # so how far the job gets does not depend on thread scheduling
            seen.put(snapshot)
            stop_sent.wait(timeout=60)

    worker = threading.Thread(target=drive, daemon=True)
    worker.start()
    first = seen.get(timeout=60)
    job.stop()
    stop_sent.set()
    worker.join(timeout=60)
    assert not worker.is_alive() and job.state is JobState.STOPPED
    assert first.step == 1 and first.euler_steps == 10
    assert job.steps_done in (1, 2) and job.euler_steps == 10 * job.steps_done
    assert job.total_steps > 100
