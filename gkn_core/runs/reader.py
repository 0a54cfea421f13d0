"""Read-only access to run files: `open_run(path)`.

Anything that is not a readable run of a known format version raises RunFileError with one line
that says why. The reader never executes anything stored in a file: weights are plain arrays and
the config is JSON validated like any user input.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from pydantic import BaseModel, ValidationError

from gkn_core.config import SampleConfig, describe_validation_error
from gkn_core.errors import RunFileError
from gkn_core.jobs.gkn_train import Checkpoint
from gkn_core.models import KaleidoscopeMLP, build_model
from gkn_core.runs.format import CONFIG_MODELS, FORMAT_NAME, FORMAT_VERSION, KINDS


def config_model_for(kind: str) -> type[BaseModel]:
    """The pydantic model of a run kind's config; imported on demand to keep kinds independent."""
    module_name, class_name = CONFIG_MODELS[kind].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def _h5_reason(exc: Exception) -> str:
    text = str(exc)
    return text[text.find("(") + 1 : text.rfind(")")] if "(" in text else text


def check_run_file(path: str | Path) -> None:
    """Raise RunFileError unless `path` is a run file this version can read."""
    with open_run(path):
        pass


@dataclass(frozen=True)
class SamplingRecord:
    name: str
    settings: SampleConfig
    seed: int
    checkpoint_step: int
    status: str
    failure_reason: str
    chains: np.ndarray  # (n_chains, steps + 1, d), start included
    samples: np.ndarray | None  # (n_chains, d) last states, once the sampling ended
    metrics: dict[str, np.ndarray]


class Run:
    """An open run file. Use as a context manager, or call close()."""

    def __init__(self, path: Path, file: h5py.File) -> None:
        self.path = path
        self.file = file
        attrs = file.attrs
        self.kind: str = str(attrs["kind"])
        self.format_version = int(attrs["format_version"])
        self.config = self._read_config()

    def _attr(self, name: str, default: Any = None) -> Any:
        value = self.file.attrs.get(name, default)
        return value.decode() if isinstance(value, bytes) else value

    @property
    def status(self) -> str:
        return str(self._attr("status", "unknown"))

    @property
    def failure_reason(self) -> str:
        return str(self._attr("failure_reason", ""))

    @property
    def info(self) -> dict[str, Any]:
        keys = (
            "format",
            "format_version",
            "kind",
            "created",
            "updated",
            "software_version",
            "seed",
            "device",
            "status",
            "failure_reason",
        )
        return {k: self._attr(k) for k in keys if k in self.file.attrs}

    def _read_config(self) -> Any:
        """The stored settings, validated by the config model of the run's kind."""
        try:
            return config_model_for(self.kind).model_validate_json(self.file["config"].attrs["json"])
        except KeyError:
            raise RunFileError(f"{self.path} has no stored config (/config)") from None
        except ImportError:
            raise RunFileError(
                f"{self.path} is a {self.kind} run, which this GKN Studio cannot read"
            ) from None
        except ValidationError as exc:
            problem = describe_validation_error(exc)
            raise RunFileError(f"{self.path} holds an invalid config: {problem}") from None

    def _dataset(self, name: str) -> h5py.Dataset:
        try:
            item = self.file[name]
        except KeyError:
            raise RunFileError(f"{self.path} has no {name}") from None
        if not isinstance(item, h5py.Dataset):
            raise RunFileError(f"{self.path}: {name} is not a dataset")
        return item

    # -- data and training ---------------------------------------------------------------------
    @property
    def data_range(self) -> tuple[float, float]:
        attrs = self.file["data"].attrs
        return float(attrs["low"]), float(attrs["high"])

    @property
    def dim(self) -> int:
        return int(self.file["data"].attrs["dim"])

    @property
    def image_shape(self) -> tuple[int, int] | None:
        shape = self.file["data"].attrs.get("image_shape")
        return None if shape is None else (int(shape[0]), int(shape[1]))

    def training_data(self) -> np.ndarray | None:
        return self.file["data/x"][()] if "data/x" in self.file else None

    def train_metrics(self) -> dict[str, np.ndarray]:
        if "train/metrics" not in self.file:
            return {}
        return self._consistent_series(self.file["train/metrics"])

    @staticmethod
    def _consistent_series(group: h5py.Group) -> dict[str, np.ndarray]:
        """Every series cut to the length of the shortest: the rows written for every metric."""
        series = {name: group[name][()] for name in group if isinstance(group[name], h5py.Dataset)}
        length = min((len(v) for v in series.values()), default=0)
        return {name: values[:length] for name, values in series.items()}

    def manifolds(self) -> dict[str, np.ndarray]:
        """Manifold frames over training, cut to the frames every stack holds.

        1D: 'step', 'x', 'fx', 'loss'. 2D: 'step', 'xs', 'ys', 'loss', 'displacement'.
        """
        if "train/manifolds" not in self.file:
            return {}
        group = self.file["train/manifolds"]
        frames = {name: group[name][()] for name in group}
        stacked = [k for k in ("step", "fx", "loss", "displacement") if k in frames]
        count = min(len(frames[k]) for k in stacked)
        return {k: (v[:count] if k in stacked else v) for k, v in frames.items()}

    def checkpoint_steps(self) -> list[int]:
        if "checkpoints" not in self.file:
            return []
        return sorted(int(self.file["checkpoints"][name].attrs["step"]) for name in self.file["checkpoints"])

    def checkpoint(self, step: int | None = None) -> Checkpoint:
        steps = self.checkpoint_steps()
        if not steps:
            raise RunFileError(f"{self.path} holds no trained weights yet (no checkpoint)")
        step = steps[-1] if step is None else step
        if step not in steps:
            raise RunFileError(f"{self.path} has no checkpoint at step {step} (it has {steps})")
        group = self.file[f"checkpoints/{step:010d}"]
        weights = {name: group[name][()] for name in group}
        return Checkpoint(step, float(group.attrs.get("loss", np.nan)), weights)

    def load_model(self, step: int | None = None, device: torch.device | str = "cpu") -> KaleidoscopeMLP:
        """The network of the newest checkpoint (or of `step`), ready to evaluate."""
        if self.kind != "gkn":
            raise RunFileError(f"{self.path} is a {self.kind} run; it holds no kaleidoscopic network")
        checkpoint = self.checkpoint(step)
        model = build_model(self.dim, self.config.model, self.config.data.value_range)
        try:
            state = {k: torch.from_numpy(np.asarray(v)) for k, v in checkpoint.weights.items()}
            model.load_state_dict(state)
        except (RuntimeError, KeyError) as exc:
            raise RunFileError(
                f"{self.path}: checkpoint {checkpoint.step} does not fit the stored model settings "
                f"({str(exc).splitlines()[0]})"
            ) from None
        return model.to(device).eval()

    # -- sampling --------------------------------------------------------------------------------
    def sampling_names(self) -> list[str]:
        return sorted(self.file["sampling"]) if "sampling" in self.file else []

    def sampling(self, name: str | int | None = None) -> SamplingRecord:
        """One sampling session; the newest when `name` is None; an int is an index."""
        names = self.sampling_names()
        if not names:
            raise RunFileError(f"{self.path} holds no sampling yet (run `gkn sample {self.path}`)")
        if name is None:
            name = names[-1]
        elif isinstance(name, int):
            if not -len(names) <= name < len(names):
                raise RunFileError(f"{self.path} has {len(names)} samplings; there is no number {name}")
            name = names[name]
        if name not in names:
            raise RunFileError(f"{self.path} has no sampling {name!r} (it has {', '.join(names)})")
        group = self.file[f"sampling/{name}"]
        metrics = self._consistent_series(group["metrics"]) if "metrics" in group else {}
        chains = group["chains"][()]
        if "step" in metrics:  # a killed sampler may have grown chains past its last metric row
            chains = chains[:, : len(metrics["step"]) + 1]
        attrs = group.attrs
        return SamplingRecord(
            name=name,
            settings=SampleConfig.model_validate_json(attrs["json"]),
            seed=int(attrs["seed"]),
            checkpoint_step=int(attrs["checkpoint_step"]),
            status=str(attrs.get("status", "unknown")),
            failure_reason=str(attrs.get("failure_reason", "")),
            chains=chains,
            samples=group["samples"][()] if "samples" in group else None,
            metrics=metrics,
        )

    def close(self) -> None:
        if self.file.id.valid:
            self.file.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_run(path: str | Path) -> Run:
    """Open a run file read-only, or raise RunFileError saying why it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise RunFileError(f"{path}: no such file")
    if path.is_dir():
        raise RunFileError(f"{path} is a directory, not a run file")
    if path.stat().st_size == 0:
        raise RunFileError(f"{path} is empty, not a run file")
    if not h5py.is_hdf5(path):
        raise RunFileError(f"{path} is not an HDF5 file, so not a GKN Studio run")
    try:
        # No lock: `gkn runs show` may look at a run another process is still writing.
        file = h5py.File(path, "r", locking=False)
    except OSError as exc:
        raise RunFileError(f"{path} is damaged or truncated ({_h5_reason(exc)})") from None
    try:
        _check_header(path, file)
        return Run(path, file)
    except RunFileError:
        file.close()
        raise
    except (KeyError, ValueError, TypeError, OSError, json.JSONDecodeError) as exc:
        file.close()
        raise RunFileError(f"{path} is damaged: {type(exc).__name__}: {exc}") from None


def _check_header(path: Path, file: h5py.File) -> None:
    attrs = file.attrs
    name = attrs.get("format")
    if name != FORMAT_NAME:
        raise RunFileError(f"{path} is an HDF5 file but not a GKN Studio run (no format={FORMAT_NAME!r})")
    version = attrs.get("format_version")
    if not isinstance(version, int | np.integer):
        raise RunFileError(f"{path} has no valid format_version")
    if int(version) > FORMAT_VERSION or int(version) < 1:
        raise RunFileError(
            f"{path} has run format version {int(version)}; this GKN Studio reads version {FORMAT_VERSION}"
            " (a newer GKN Studio wrote it?)"
        )
    if attrs.get("kind") not in KINDS:
        raise RunFileError(f"{path} has unknown run kind {attrs.get('kind')!r} (known: {', '.join(KINDS)})")
    for required in ("config", "data"):
        if required not in file:
            raise RunFileError(f"{path} is missing its /{required} group")
