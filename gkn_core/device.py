"""Which torch device a job runs on: `auto` means CUDA when present, else CPU."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gkn_core.errors import ConfigError

if TYPE_CHECKING:  # torch is imported when a device is resolved, so settings load without it
    import torch

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def resolve_device(name: str = "auto") -> torch.device:
    """Turn a device setting into a torch.device that exists on this machine."""
    import torch

    if not DEVICE_PATTERN.match(name):
        raise ConfigError(f"device: unknown device {name!r} (use auto, cpu, cuda or cuda:N)")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device: {name} was asked for but this machine has no CUDA GPU")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(
                f"device: {name} does not exist (this machine has {torch.cuda.device_count()} GPU)"
            )
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    """A human name for the status line and the run file, e.g. 'cuda:0 (NVIDIA H100)'."""
    import torch

    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return "cpu"
