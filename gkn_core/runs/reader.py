"""Read-only access to run files: `open_run(path)`.

Anything that is not a readable run of a known format version raises RunFileError with one line
that says why. The reader never executes anything stored in a file: weights are plain arrays and
the config is JSON validated like any user input.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import h5py
import numpy as np
from pydantic import ValidationError

from gkn_core.errors import RunFileError
from gkn_core.families import family
from gkn_core.job import Checkpoint
from gkn_core.runs.h5util import read_checked
from gkn_core.runs.header import check_header, open_read_only
from gkn_core.runs.layout import checkpoint_count, read_state, stacked_checkpoints
from gkn_core.settings import describe_validation_error


def _h5_reason(exc: Exception) -> str:
    text = str(exc)
    return text[text.find("(") + 1 : text.rfind(")")] if "(" in text else text


# What h5py, numpy and pydantic raise when a file's objects are missing, damaged or of the wrong type.
DAMAGE_ERRORS = (KeyError, OSError, ValueError, TypeError, RuntimeError, IndexError)
ReturnT = TypeVar("ReturnT")


def damage_reason(exc: BaseException) -> str:
    """One line saying what is wrong, from the error a damaged object raised."""
    if isinstance(exc, ValidationError):
        return describe_validation_error(exc)
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    text = (text.splitlines() or [type(exc).__name__])[0]
    if "Unable to" in text and "(" in text:  # h5py: 'Unable to synchronously open object (reason)'
        text = _h5_reason(exc)
    return text or type(exc).__name__


def weights_mismatch(expected: dict[str, tuple], found: dict[str, tuple]) -> str | None:
    """Why stored weights (name -> shape) do not fit a model's, or None when they do."""
    for name, shape in expected.items():
        if name not in found:
            return f"it has no {name}"
        if tuple(found[name]) != tuple(shape):
            return f"{name} has shape {tuple(found[name])}, expected {tuple(shape)}"
    extra = sorted(set(found) - set(expected))
    return f"{extra[0]} is not a weight of the model" if extra else None


def reads_file(method: Callable[..., ReturnT]) -> Callable[..., ReturnT]:
    """A Run method that reads the file: a damaged or missing object raises RunFileError, one line."""

    @functools.wraps(method)
    def wrapper(self: Run, *args: Any, **kwargs: Any) -> ReturnT:
        try:
            return method(self, *args, **kwargs)
        except RunFileError:
            raise
        except DAMAGE_ERRORS as exc:
            raise RunFileError(f"{self.path} is damaged: {damage_reason(exc)}") from None

    return wrapper


def check_run_file(path: str | Path) -> None:
    """Raise RunFileError unless `path` is a run file this version can read."""
    with open_run(path):
        pass


@dataclass(frozen=True)
class RunSummary:
    """A run in a few words, as each family puts it (the app's runs table): its settings, and its best
    score with the key that sorts it (lower is better; inf: none yet)."""

    settings: str
    best: str = ""
    best_key: float = math.inf


class Run:
    """An open run file of any kind. Use as a context manager, or call close().

    `open_run` returns the Run class of the file's family (gkn_core.families), which adds what only
    that kind holds (the GKN one: manifolds, samplings of chains, the network).
    """

    TRAIN_SERIES_REQUIRED: tuple[str, ...] = ("step",)

    def __init__(self, path: Path, file: h5py.File) -> None:
        self.path = path
        self.file = file
        attrs = file.attrs
        self.kind: str = str(attrs["kind"])
        self.format_version = int(attrs["format_version"])
        self.config = self._read_config()

    @reads_file
    def _attr(self, name: str, default: Any = None) -> Any:
        value = self.file.attrs.get(name, default)
        return value.decode() if isinstance(value, bytes) else value

    @reads_file
    def state(self, name: str, where: str = "/", default: str = "") -> str:
        """A state string (status, failure_reason, updated, finished) of the root or of a group:
        a dataset in format version 2, an attribute in version 1."""
        return read_state(self.file[where], name, default)

    @property
    def status(self) -> str:
        return self.state("status", default="unknown")

    @property
    def failure_reason(self) -> str:
        return self.state("failure_reason")

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
        states = ("updated", "status", "failure_reason")
        return {
            k: self.state(k) if k in states else self._attr(k)
            for k in keys
            if k in self.file.attrs or (k in states and k in self.file)
        }

    def _read_config(self) -> Any:
        """The stored settings, validated by the config model of the run's kind."""
        try:
            return family(self.kind).config_model().model_validate_json(self.file["config"].attrs["json"])
        except KeyError:
            raise RunFileError(f"{self.path} has no stored config (/config)") from None
        except ImportError:
            raise RunFileError(
                f"{self.path} is a {self.kind} run, which this GKN Studio cannot read"
            ) from None
        except ValidationError as exc:
            problem = describe_validation_error(exc)
            raise RunFileError(f"{self.path} holds an invalid config: {problem}") from None

    @reads_file
    def dataset(self, name: str) -> h5py.Dataset:
        """The dataset at `name`, or RunFileError saying it is missing or not a dataset."""
        parent, _, leaf = name.rpartition("/")
        if parent and parent not in self.file:
            raise RunFileError(f"{self.path} has no {parent}")
        if leaf not in (self.file[parent] if parent else self.file):
            raise RunFileError(f"{self.path}: {parent or '/'} has no {leaf}")
        item = self.file[name]
        if not isinstance(item, h5py.Dataset):
            raise RunFileError(f"{self.path}: {name} is not a dataset")
        return item

    _dataset = dataset

    @reads_file
    def numbers(self, name: str, ndim: int | None = None) -> np.ndarray:
        """A numeric dataset read whole, checked to hold numbers (and to have `ndim` axes if given)."""
        dataset = self.dataset(name)
        if dataset.dtype.kind not in "biuf":
            raise RunFileError(f"{self.path}: {name} holds {dataset.dtype}, not numbers")
        if ndim is not None and dataset.ndim != ndim:
            raise RunFileError(f"{self.path}: {name} has shape {dataset.shape}; expected {ndim} axes")
        return read_checked(self.path, dataset)

    # -- data and training ---------------------------------------------------------------------
    @property
    @reads_file
    def data_range(self) -> tuple[float, float]:
        attrs = self.file["data"].attrs
        return float(attrs["low"]), float(attrs["high"])

    @property
    @reads_file
    def dim(self) -> int:
        return int(self.file["data"].attrs["dim"])

    @property
    @reads_file
    def image_shape(self) -> tuple[int, int] | None:
        shape = self.file["data"].attrs.get("image_shape")
        return None if shape is None else (int(shape[0]), int(shape[1]))

    @reads_file
    def training_data(self) -> np.ndarray | None:
        """The stored training data, or None when the run did not store it (large image sets)."""
        if "data/x" not in self.file:
            return None
        x = self.numbers("data/x", ndim=2)
        if not np.isfinite(x).all():
            raise RunFileError(f"{self.path}: the stored training data (data/x) is not finite")
        return x

    @reads_file
    def train_metrics(self) -> dict[str, np.ndarray]:
        if "train/metrics" not in self.file:
            return {}
        return self.series("train/metrics", self.TRAIN_SERIES_REQUIRED)

    @reads_file
    def series(self, where: str, required: Iterable[str] = ("step",)) -> dict[str, np.ndarray]:
        """The 1-D series of a group, every one cut to the length of the shortest (the rows
        written for every series: a killed writer may have grown some by one flush more)."""
        if where not in self.file:
            raise RunFileError(f"{self.path} has no {where}")
        group = self.file[where]
        for name in required:
            if name not in group:
                raise RunFileError(f"{self.path}: {where} has no {name}")
        series = {name: self.numbers(f"{where}/{name}") for name in group}
        for name, values in series.items():
            if values.ndim != 1:
                raise RunFileError(
                    f"{self.path}: {where}/{name} has shape {values.shape}; expected one value per row"
                )
        length = min((len(v) for v in series.values()), default=0)
        if "step" in series and where.startswith("train/") and where != "train/metrics":
            length = min(length, self.records_saved(series["step"][:length]))
        return {name: values[:length] for name, values in series.items()}

    @reads_file
    def saved_step(self) -> int | None:
        """The training's last saved step: the last of /train/metrics/step (every series cut to the
        shortest), or None without training rows. The writer writes a flush's metrics rows after
        all else, so every secondary record of a step up to this one is in the file."""
        if "train/metrics/step" not in self.file:
            return None
        group = self.file["train/metrics"]
        count = min(len(item) for item in group.values() if isinstance(item, h5py.Dataset))
        if count == 0:
            return 0
        return int(read_checked(self.path, group["step"], slice(count - 1, count))[-1])

    def records_saved(self, steps: np.ndarray) -> int:
        """How many of a secondary record's `steps` (frames, grids, scores) belong to saved steps:
        a kill inside a flush may leave records of steps after the last saved one."""
        last = self.saved_step()
        return len(steps) if last is None else int(np.searchsorted(steps, last, side="right"))

    def _consistent_series(self, group: h5py.Group) -> dict[str, np.ndarray]:
        """Kept for callers that hold a group: `series(group.name)`."""
        return self.series(group.name, ())

    @reads_file
    def checkpoint_steps(self) -> list[int]:
        if "checkpoints" not in self.file:
            return []
        group = self.file["checkpoints"]
        if stacked_checkpoints(self.file):
            self._checkpoint_stacks()
            steps = read_checked(self.path, group["step"])[: checkpoint_count(group)]
            last = self.saved_step()
            return sorted(int(step) for step in steps if last is None or step <= last)
        return sorted(int(group[name].attrs["step"]) for name in group)

    def _checkpoint_stacks(self) -> dict[str, h5py.Dataset]:
        """The weight stacks of format 2, checked to be datasets of numbers, one row a checkpoint."""
        stacks = {}
        for name in ("step", "loss"):
            self.dataset(f"checkpoints/{name}")
        for key, stack in self.file["checkpoints/weights"].items():
            where = f"checkpoints/weights/{key}"
            if isinstance(stack, h5py.Group):
                raise RunFileError(f"{self.path}: {where} is not a dataset")
            if not isinstance(stack, h5py.Dataset):  # h5py could not open it: a damaged header
                raise RunFileError(f"{self.path} is damaged: {where} cannot be opened")
            if stack.dtype.kind not in "biuf" or stack.ndim < 1:
                raise RunFileError(f"{self.path}: {where} holds {stack.dtype} {stack.shape}, not numbers")
            stacks[key] = stack
        return stacks

    @reads_file
    def checkpoint(self, step: int | None = None) -> Checkpoint:
        """The weights of the newest checkpoint (or of `step`), checked to be finite numbers."""
        steps = self.checkpoint_steps()
        if not steps:
            raise RunFileError(f"{self.path} holds no trained weights yet (no checkpoint)")
        step = steps[-1] if step is None else step
        if step not in steps:
            raise RunFileError(f"{self.path} has no checkpoint at step {step} (it has {steps})")
        if stacked_checkpoints(self.file):
            group = self.file["checkpoints"]
            index = int(
                np.flatnonzero(read_checked(self.path, group["step"])[: checkpoint_count(group)] == step)[-1]
            )
            stacks = self._checkpoint_stacks()
            weights = {key: read_checked(self.path, stack, index) for key, stack in stacks.items()}
            loss = float(read_checked(self.path, group["loss"], index))
        else:
            name = f"checkpoints/{step:010d}"
            group = self.file[name]
            weights = {key: self.numbers(f"{name}/{key}") for key in group}
            loss = float(group.attrs.get("loss", np.nan))
        bad = [key for key, value in weights.items() if not np.isfinite(value).all()]
        if bad:
            raise RunFileError(f"{self.path}: checkpoint {step} holds non-finite weights ({bad[0]})")
        return Checkpoint(step, loss if math.isfinite(loss) else float("nan"), weights)

    # -- sampling --------------------------------------------------------------------------------
    @reads_file
    def sampling_names(self) -> list[str]:
        return sorted(self.file["sampling"]) if "sampling" in self.file else []

    def pick(self, names: list[str], name: str | int | None, what: str, empty: str) -> str:
        """One of `names` (groups such as samplings): by name ('0001'), by index (0, 1, -1 ...), or
        the newest when `name` is None; RunFileError with one line (`empty` when there is none)."""
        if not names:
            raise RunFileError(f"{self.path} {empty}")
        if name is None:
            return names[-1]
        if isinstance(name, int):
            if not -len(names) <= name < len(names):
                raise RunFileError(f"{self.path} has {len(names)} {what}s; there is no number {name}")
            return names[name]
        if name not in names:
            raise RunFileError(f"{self.path} has no {what} {name!r} (it has {', '.join(names)})")
        return name

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
        file = open_read_only(path)
    except OSError as exc:
        raise RunFileError(f"{path} is damaged or truncated ({_h5_reason(exc)})") from None
    try:
        check_header(path, file)
        return family(str(file.attrs["kind"])).run_class()(path, file)
    except RunFileError:
        file.close()
        raise
    except DAMAGE_ERRORS as exc:
        with contextlib.suppress(*DAMAGE_ERRORS):
            file.close()
        raise RunFileError(f"{path} is damaged: {damage_reason(exc)}") from None
