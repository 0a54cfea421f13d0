"""Trajectory recordings in chaos run files, their export (HDF5, NPZ, CSV), and a run file for an
untrained network so that its recordings have a home (docs/run-format.md, chaos section).

A recording is written in one go into /recordings/<nnnn> of an existing chaos run; its `complete`
attribute is written after the data and flushed last, so a recording torn by a crash lacks it and
the reader skips it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import h5py
import numpy as np
from pydantic import ValidationError

from gkn_core.chaos.config import ChaosConfig, ChaosModelConfig
from gkn_core.chaos.runfile import RECORDINGS, recording_names
from gkn_core.chaos.trajectories import N_COMPONENTS, TrajectoryRecording, TrajectorySettings
from gkn_core.errors import GKNError, RunFileError
from gkn_core.runs.append import add_numbered_group
from gkn_core.runs.h5util import create_checked, read_checked
from gkn_core.runs.reader import Run, open_run
from gkn_core.runs.writer import utc_now

ARRAYS = ("t", "units", "states", "rates", "projection", "components", "mean", "explained")
RecordingFormat = Literal["h5", "npz", "csv"]
UNTRAINED_REASON = "untrained: the step-0 weights of its settings, no training step was run"


def _write_group(group: h5py.Group, recording: TrajectoryRecording) -> None:
    for name in ARRAYS:
        create_checked(group, name, data=getattr(recording, name))
    group.attrs.update(
        json=recording.settings.model_dump_json(),
        model_json=recording.model_config.model_dump_json(),
        n_visible=recording.n_visible,
        seed=recording.seed,
        model_seed=-1 if recording.model_seed is None else recording.model_seed,
        source=recording.source,
        layers=json.dumps(list(recording.layers)),
        layer_sizes=np.asarray(recording.layer_sizes, dtype=np.int64),
        created=utc_now(),
    )


def write_recording(run_path: str | Path, recording: TrajectoryRecording) -> str:
    """Append the recording to a chaos run file as /recordings/<nnnn>; returns that name.

    The file must not be open elsewhere in this process (HDF5 refuses a second, writable handle).
    """
    path = Path(run_path)
    with open_run(path) as run:
        if run.kind != "chaos":
            raise RunFileError(f"{path} is a {run.kind} run; recordings go into chaos runs")
        if run.dim != recording.n_visible:
            raise RunFileError(
                f"{path} holds a network with {run.dim} visible units; "
                f"the recording has {recording.n_visible}"
            )
    return add_numbered_group(path, RECORDINGS, lambda group: _write_group(group, recording), "the recording")


def read_recording(run: Run, name: str | int | None = None) -> TrajectoryRecording:
    """One recording: by name ('0001'), by index (0, 1, -1 ...), or the newest."""
    empty = "holds no trajectory recording (record one in the Dynamics view)"
    name = run.pick(recording_names(run), name, "recording", empty)
    return _read_group(run.file[f"{RECORDINGS}/{name}"], f"{run.path}: recording {name}")


def _read_group(group: h5py.Group, where: str) -> TrajectoryRecording:
    attrs = group.attrs
    try:
        arrays = {name: read_checked(where, group[name]) for name in ARRAYS}
        settings = TrajectorySettings.model_validate_json(attrs["json"])
        model_config = ChaosModelConfig.model_validate_json(attrs["model_json"])
        layers = tuple(str(v) for v in json.loads(attrs["layers"]))
        layer_sizes = tuple(int(v) for v in attrs["layer_sizes"])
        n_visible, seed, model_seed = int(attrs["n_visible"]), int(attrs["seed"]), int(attrs["model_seed"])
        source = str(attrs["source"])
    except (KeyError, ValueError, TypeError, ValidationError) as exc:
        raise RunFileError(f"{where} is damaged ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    units = arrays["units"]
    chains, n = (*arrays["states"].shape, 0, 0)[:2]
    expected = {
        "t": (n,),
        "units": (len(units),),
        "states": (chains, n, len(units)),
        "rates": (chains, n, n_visible),
        "projection": (chains, n, N_COMPONENTS),
        "components": (N_COMPONENTS, len(units)),
        "mean": (len(units),),
        "explained": (N_COMPONENTS,),
    }
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise RunFileError(f"{where} is damaged: {key} has shape {arrays[key].shape}, expected {shape}")
    if len(units) and (units.min() < 0 or units.max() >= sum(layer_sizes)):
        raise RunFileError(f"{where} is damaged: unit indices outside the network's {sum(layer_sizes)} units")
    if len(layers) != len(layer_sizes):
        raise RunFileError(f"{where} is damaged: {len(layers)} layer names for {len(layer_sizes)} sizes")
    return TrajectoryRecording(
        settings=settings,
        model_config=model_config,
        n_visible=n_visible,
        seed=seed,
        model_seed=None if model_seed < 0 else model_seed,
        source=source,
        layers=layers,
        layer_sizes=layer_sizes,
        **{k: v for k, v in arrays.items()},
    )


def new_untrained_run(path: str | Path, config: ChaosConfig, overwrite: bool = False) -> Path:
    """A chaos run file of an untrained network: the config's data, a step-0 checkpoint of the
    seeded weights, no training rows, train status `stopped` with a reason that says untrained."""
    from gkn_core.chaos.models import build_chaos_model
    from gkn_core.chaos.runfile import ChaosRunWriter
    from gkn_core.chaos.train import ChaosCheckpoint, load_chaos_dataset

    dataset = load_chaos_dataset(config.data)
    model = build_chaos_model(config.model, dataset.dim, "cpu", seed=config.seed)
    weights = {k: v.numpy().copy() for k, v in model.weights().items()}
    shapes = {name: value.shape for name, value in weights.items()}
    writer = ChaosRunWriter.create(path, config, dataset, "cpu", overwrite, weights=shapes)
    try:
        writer.write_chaos_checkpoint(ChaosCheckpoint(0, weights))
        writer.set_status("stopped", UNTRAINED_REASON, section="train")
    finally:
        writer.close()
    return Path(path)


# -- export ------------------------------------------------------------------------------------------
def _npz_arrays(recording: TrajectoryRecording) -> dict[str, np.ndarray]:
    return {
        **{name: getattr(recording, name) for name in ARRAYS},
        "unit_names": np.asarray(recording.unit_names),
        "settings_json": np.asarray(recording.settings.model_dump_json()),
        "model_json": np.asarray(recording.model_config.model_dump_json()),
        "layers": np.asarray(recording.layers),
        "layer_sizes": np.asarray(recording.layer_sizes, dtype=np.int64),
        "n_visible": np.asarray(recording.n_visible),
        "seed": np.asarray(recording.seed),
        "model_seed": np.asarray(-1 if recording.model_seed is None else recording.model_seed),
        "source": np.asarray(recording.source),
    }


def _write_csv(path: Path, recording: TrajectoryRecording) -> None:
    """Wide: one row per chain and frame; columns chain, step (frame index), t, then one per unit."""
    chains, n, units = recording.states.shape
    # %.9g and %.17g print float32 and float64 values so that they read back exactly.
    fmt = ["%d", "%d", "%.17g"] + ["%.9g"] * units
    with open(path, "w", newline="") as handle:
        handle.write(",".join(["chain", "step", "t", *recording.unit_names]) + "\n")
        for chain in range(chains):
            rows = np.column_stack(
                [np.full(n, chain), np.arange(n), recording.t, recording.states[chain].astype(np.float64)]
            )
            np.savetxt(handle, rows, fmt=fmt, delimiter=",")


def export_recording(
    recording: TrajectoryRecording, fmt: str, path: str | Path, overwrite: bool = False
) -> dict[str, tuple[int, ...]]:
    """Write the recording as h5 (the run file's group layout at the root), npz or csv (states only);
    returns the shape of each array written."""
    from gkn_core.runs.export import check_output_path

    if fmt not in ("h5", "npz", "csv"):
        raise GKNError(f"--format: {fmt!r} is not one of h5, npz, csv")
    path = Path(path)
    check_output_path(path, overwrite)
    try:
        if fmt == "csv":
            _write_csv(path, recording)
            return {"states": recording.states.shape}
        if fmt == "npz":
            with open(path, "wb") as handle:
                np.savez_compressed(handle, **_npz_arrays(recording))
        else:
            with h5py.File(path, "w") as file:
                _write_group(file, recording)
                file.attrs["unit_names"] = json.dumps(list(recording.unit_names))
                file.attrs["complete"] = True
    except OSError as exc:
        raise GKNError(f"cannot write {path}: {exc.strerror or exc}") from None
    return {name: getattr(recording, name).shape for name in ARRAYS}


def read_recording_file(path: str | Path) -> TrajectoryRecording:
    """A recording exported as h5 (the inverse of export_recording(..., 'h5', ...))."""
    path = Path(path)
    if not path.exists() or not h5py.is_hdf5(path):
        raise RunFileError(f"{path} is not an HDF5 recording")
    with h5py.File(path, "r") as file:
        return _read_group(file, str(path))
