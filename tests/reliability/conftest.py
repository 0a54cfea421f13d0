"""The reliability suite (issue #8): quick by default, full counts with `--full` or GKN_FULL=1.

    pytest tests/reliability                 # quick: a few kills, short soaks (CI)
    pytest tests/reliability --full          # >= 50 kills, minutes-long soaks
    GKN_FULL=1 pytest tests/reliability      # the same

Every test records what it counted (kills survived, bad inputs handled, memory growth) with the
`tally` fixture; the totals are printed at the end of the session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.tally import TALLY

from gkn_core.chaos.config import chaos_preset_config
from gkn_core.chaos.sessions import chaos_sampling_session, chaos_training_session
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.sessions import sampling_session, training_session


def full_mode(config: pytest.Config | None = None) -> bool:
    """Full counts: `--full` (tests/conftest.py turns it into GKN_FULL=1, so modules can read it)."""
    if config is not None and config.getoption("--full", default=False):
        return True
    return os.environ.get("GKN_FULL", "") not in ("", "0")


def counts(quick: int, full: int) -> int:
    """A count for quick mode (CI) or full mode."""
    return full if full_mode() else quick


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that take `kill_case` get one case per kill, from their module's `kill_plan(full)`."""
    if "kill_case" in metafunc.fixturenames:
        plan = metafunc.module.kill_plan(full_mode(metafunc.config))
        metafunc.parametrize("kill_case", plan, ids=[f"{c.child}-{c.attempt}" for c in plan])


@pytest.fixture(scope="session")
def full(request: pytest.FixtureRequest) -> bool:
    return full_mode(request.config)


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_torch_thread: None) -> Iterator[None]:
    yield


class Tally:
    """Counts for the session summary: tally.add('kills survived', 1)."""

    def add(self, name: str, value: float) -> None:
        TALLY[name].append(value)


@pytest.fixture(scope="session")
def tally() -> Tally:
    return Tally()


# -- good runs every test may copy and damage ---------------------------------------------------------
def train_gkn_run(path: Path, preset: str = "1d", steps: int = 30, sample: bool = True) -> Path:
    config = preset_config(preset, {"device": "cpu", "train": {"steps": steps, "checkpoint_every": 10}})
    _, snapshots = training_session(config, path)
    for _ in snapshots:
        pass
    if sample:
        _, snapshots = sampling_session(path, {"chains": 4, "steps": 6, "burn_in": 1})
        for _ in snapshots:
            pass
    return path


def train_chaos_run(path: Path, steps: int = 3, sample: bool = True) -> Path:
    config = chaos_preset_config(
        "digits8",
        {
            "device": "cpu",
            "model": {"Nh": 20, "T": 5.0},
            "train": {
                "steps": steps,
                "M": 20,
                "metrics_samples": 20,
                "lyapunov_steps": 3,
                "lyapunov_chains": 1,
                "n_samples": 4,
                "checkpoint_every": 2,
            },
        },
    )
    _, snapshots = chaos_training_session(config, path)
    for _ in snapshots:
        pass
    if sample:
        _, snapshots = chaos_sampling_session(path, {"n": 6, "record_chains": 2, "record_units": 3})
        for _ in snapshots:
            pass
    return path


@pytest.fixture(scope="session")
def good_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small trained-and-sampled run of each kind (1d gkn, 2d gkn, digits8 gkn, chaos)."""
    folder = tmp_path_factory.mktemp("good-runs")
    return {
        "gkn": train_gkn_run(folder / "gkn-1d.h5"),
        "gkn2d": train_gkn_run(folder / "gkn-2d.h5", "2d", steps=20),
        "chaos": train_chaos_run(folder / "chaos.h5"),
    }
