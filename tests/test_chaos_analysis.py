"""The Lyapunov analysis job (gkn_core.chaos.analysis) on a small real network, against the library.

The network: untrained restricted2, Nv = 16, Nh = 24 (40 units), g = 2.5, tau = 2, dt = 1, T = 20
and a transient of 100 steps (50 tau). tau = 2 makes each Euler step half a tau, so 200 steps average
over 100 tau: long enough for the finite-time check below while the whole module runs in a few s.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gkn_core.chaos.analysis import (
    LyapunovAnalysisJob,
    LyapunovSettings,
    g_grid,
    lyapunov_settings,
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
    per_step = lyapunov_spectrum(model.flat_step, x0, 40, 200, transient=100, renorm_every=1, seed=3)
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
