"""A run's trained network out as a safetensors file, and back into a model.

The file holds the weights of one checkpoint under their checkpoint names (plain tensors: no pickle, no
code) and, in its metadata, the run's kind, its config as JSON, the data dimension and the step, which
is all it takes to build the same network again:

    from gkn_core.runs.weights import load_weights_file
    model = load_weights_file("M.safetensors")   # gkn: a torch.nn.Module; chaos: a ChaoticRNN
    y = model(x)                                 # (gkn) the run's f(x)

Building a network from its settings is the only per-family part (each family's `weights_model`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from gkn_core.errors import GKNError, RunFileError

WEIGHT_FORMATS = ("safetensors",)
METADATA_FORMAT = "gkn-studio-weights"


def weights_metadata(run: Any, step: int) -> dict[str, str]:
    """The metadata of a weights file (safetensors metadata is str -> str)."""
    return {
        "format": METADATA_FORMAT,
        "kind": run.kind,
        "config": run.config.model_dump_json(),
        "dim": str(run.dim),
        "step": str(step),
        "run": str(Path(run.path).name),
    }


def export_weights(run: Any, out: Path, step: int | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Write the weights of the newest checkpoint (or of `step`) of an open run; returns the metadata."""
    from safetensors.numpy import save_file

    out = Path(out)
    if out.exists() and not overwrite:
        raise GKNError(f"{out} exists (use --overwrite to replace it)")
    if not out.parent.exists():
        raise GKNError(f"{out.parent}: no such folder")
    checkpoint = run.checkpoint(step)
    tensors = {
        name: np.ascontiguousarray(value, dtype=np.float32) for name, value in checkpoint.weights.items()
    }
    metadata = weights_metadata(run, checkpoint.step)
    save_file(tensors, str(out), metadata=metadata)
    return metadata


def read_weights_file(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors and metadata of a weights file written by export_weights."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise GKNError(f"{path}: no such file")
    try:
        with safe_open(str(path), framework="np") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as exc:
        raise GKNError(f"{path} is not a safetensors file ({str(exc).splitlines()[0]})") from None
    if metadata.get("format") != METADATA_FORMAT:
        raise GKNError(f"{path} holds no GKN Studio settings in its metadata")
    return tensors, metadata


def load_weights_file(path: str | Path) -> Any:
    """The network of a weights file: a torch.nn.Module for gkn, a ChaoticRNN for chaos."""
    from gkn_core.families import FAMILIES

    tensors, metadata = read_weights_file(path)
    kind = metadata.get("kind", "")
    if kind not in FAMILIES:
        raise GKNError(f"{path}: unknown run kind {kind!r} in its metadata")
    config = FAMILIES[kind].config_model().model_validate(json.loads(metadata["config"]))
    try:
        return FAMILIES[kind].get("weights_model")(config, int(metadata["dim"]), tensors)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise RunFileError(
            f"{path}: the weights do not fit their settings ({str(exc).splitlines()[0]})"
        ) from None
