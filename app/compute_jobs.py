"""What the labs ask the compute process for (no Qt here): module-level functions, so that a request is
a picklable (function, arguments) pair. Each job factory makes its job in the child and returns
(job, snapshots, info): info holds the plain values the window wants before the first batch.

A model made in the window (the network the chaos dynamics and Lyapunov views study) travels as a
ModelCopy: its settings and its weights as plain arrays, copied by value (no shared-memory handles to
leak), and rebuilt in the child.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DataShape:
    """What the window needs of a data set the child loaded: its size, not its arrays."""

    dim: int
    image_shape: tuple[int, int] | None


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


def chaos_training(config: Any, path: Path) -> tuple[Any, Iterator, dict]:
    from gkn_core.chaos.sessions import chaos_training_session

    job, snapshots = chaos_training_session(config, path)
    shape = DataShape(job.dataset.dim, job.dataset.image_shape)
    return job, snapshots, {"device": str(job.device), "total_steps": job.total_steps, "dataset": shape}


@dataclass(frozen=True)
class ModelCopy:
    """A chaotic network of the window, by value: enough to build the same network in the child."""

    settings: Any  # its ChaosModelConfig
    n_visible: int
    device: str
    dtype: Any  # a torch dtype
    weights: dict[str, np.ndarray]

    def build(self) -> Any:
        from gkn_core.chaos.models import build_chaos_model

        model = build_chaos_model(self.settings, self.n_visible, self.device, dtype=self.dtype)
        model.load_weights(self.weights)
        return model


def model_copy(model: Any) -> ModelCopy:
    weights = {name: tensor.detach().cpu().numpy().copy() for name, tensor in model.weights().items()}
    return ModelCopy(model.settings, model.n_visible, str(model.device), model.dtype, weights)


def with_model(factory: Any, model: ModelCopy, *args: Any, **kwargs: Any) -> Any:
    """factory(model, *args, **kwargs) with the window's model rebuilt here (a trajectory or Lyapunov job)."""
    job = factory(model.build(), *args, **kwargs)
    return job, iter(job), {"total_steps": job.total_steps}


def gkn_basins(path: Path, low: float, high: float) -> Any:
    from gkn_core.gkn.manifolds import basins_2d
    from gkn_core.runs.reader import open_run

    with open_run(path) as run:
        model = run.load_model()
    return basins_2d(model, low, high, n=128)


def chaos_record(target: Path, config: Any, recording: Any, untrained: bool) -> tuple[Path, str]:
    from gkn_core.chaos.recordings import new_untrained_run, write_recording

    if untrained:
        new_untrained_run(target, config)
    return target, write_recording(target, recording)


def warm_up() -> None:
    """What a first job would pay once (torch's optimizer machinery imports sympy and more, about
    2 s on a busy 2-core machine): paid when the process starts, before anyone presses Train."""
    import torch

    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.zeros(1, 2)).sum().backward()
    optimizer.step()
