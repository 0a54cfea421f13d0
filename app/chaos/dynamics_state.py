"""What the Dynamics view draws: the snapshots of the current trajectory job (DynamicsState) and the
units chosen for the traces (parse_units, a display choice). No Qt here; nothing is computed but joins."""

from __future__ import annotations

import re

import numpy as np

from gkn_core.chaos.trajectories import TrajectorySnapshot

MAX_TRACES = 16
UNIT_TOKEN = re.compile(r"^(v|h1_|h2_|h)?(\d+)(?:-(\d+))?$")


def layer_of(name: str) -> str:
    """'v12' -> 'v', 'h1_3' -> 'h1_': the layer prefix of a unit name."""
    return name.rstrip("0123456789")


class DynamicsState:
    """The snapshots of the current trajectory job, kept as append-only lists joined on demand."""

    def __init__(self) -> None:
        self.version = 0
        self.reset()

    def reset(self) -> None:
        self._parts: dict[str, list[np.ndarray]] = {"t": [], "states": [], "rates": [], "projection": []}
        self._joined: dict[str, np.ndarray] = {}
        self.latest: TrajectorySnapshot | None = None
        self.abs_max = 0.0  # largest |state| so far: the raster's fixed colour levels
        self.version += 1

    def add(self, batch: list[TrajectorySnapshot]) -> None:
        for snap in batch:
            for name, parts in self._parts.items():
                parts.append(getattr(snap, name))
            self.abs_max = max(self.abs_max, float(np.abs(snap.states).max(initial=0.0)))
            self.latest = snap
        if batch:
            self._joined.clear()
            self.version += 1

    def _get(self, name: str) -> np.ndarray:
        if name not in self._joined:
            parts = self._parts[name]
            self._joined[name] = np.concatenate(parts, axis=0 if name == "t" else 1) if parts else np.zeros(0)
        return self._joined[name]

    t = property(lambda self: self._get("t"))  # (n,) in units of tau
    states = property(lambda self: self._get("states"))  # (chains, n, U)
    rates = property(lambda self: self._get("rates"))  # (chains, n, Nv)
    projection = property(lambda self: self._get("projection"))  # (chains, n, 3)

    @property
    def n_frames(self) -> int:
        return sum(len(t) for t in self._parts["t"])

    @property
    def done(self) -> bool:
        return self.latest is not None and self.latest.step == self.latest.total_steps


def parse_units(text: str, names: tuple[str, ...], units: np.ndarray) -> list[int]:
    """Columns of the recorded states for '0-3, 64-67' (indices into the state, visible first) or
    'v0-3, h0-3' (unit names); empty text: the first 4 units of the first two layers."""
    if not text.strip():
        groups: dict[str, list[int]] = {}
        for column, name in enumerate(names):
            groups.setdefault(layer_of(name), []).append(column)
        return [c for cols in list(groups.values())[:2] for c in cols[:4]]
    by_index = {int(u): c for c, u in enumerate(units)}
    by_name = {name: c for c, name in enumerate(names)}
    columns: list[int] = []
    for token in re.split(r"[,\s]+", text.strip()):
        match = UNIT_TOKEN.match(token)
        if not match:
            raise ValueError(f"cannot read {token!r}: write e.g. 0-3, 64-67 or v0-3, h5")
        prefix, first, last = match.group(1), int(match.group(2)), int(match.group(3) or match.group(2))
        if last < first or last - first > 4096:
            raise ValueError(f"{token!r} is not a range from low to high")
        for i in range(first, last + 1):
            column = by_name.get(f"{prefix}{i}") if prefix else by_index.get(i)
            if column is None:
                raise ValueError(f"unit {prefix or ''}{i} is not recorded")
            columns.append(column)
    return list(dict.fromkeys(columns))[:MAX_TRACES]
