"""What the GKN lab asks its compute process for (no Qt here): module-level functions, so that a
request is a picklable (function, arguments) pair (app/compute.py). A job factory makes its job in
the child and returns (job, snapshots, info): info holds the plain values the window wants before the
first batch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


def gkn_training(config: Any, path: Path) -> tuple[Any, Iterator, dict]:
    from gkn_core.gkn.sessions import training_session

    job, snapshots = training_session(config, path)
    return job, snapshots, {"device": str(job.device), "total_steps": job.total_steps}


def gkn_sampling(path: Path, overrides: dict, starts: np.ndarray | None) -> tuple[Any, Iterator, dict]:
    from gkn_core.gkn.sessions import sampling_session

    job, snapshots = sampling_session(path, overrides, starts=starts)
    info = {
        "starts": job.starts, "burn_in": job.settings.burn_in, "total_steps": job.total_steps,
        "start_quality": job.start_quality,
    }  # fmt: skip
    return job, snapshots, info


def gkn_basins(path: Path, low: float, high: float) -> Any:
    from gkn_core.gkn.manifolds import basins_2d
    from gkn_core.runs.reader import open_run

    with open_run(path) as run:
        model = run.load_model()
    return basins_2d(model, low, high, n=128)
