"""What the chaos lab asks its compute process for (no Qt here): module-level functions, so that a
request is a picklable (function, arguments) pair (app/compute.py).

A model made in the window (the network the dynamics and Lyapunov views study) travels as a ModelCopy:
its settings and its weights as plain arrays, copied by value (no shared-memory handles to leak), and
rebuilt in the child.
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


def chaos_record(target: Path, config: Any, recording: Any, untrained: bool) -> tuple[Path, str]:
    from gkn_core.chaos.recordings import new_untrained_run, write_recording

    if untrained:
        new_untrained_run(target, config)
    return target, write_recording(target, recording)
