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
    """The snapshots of the current trajectory job. New frames wait in append-only lists and are
    copied, when an array is asked for, into buffers that grow by doubling along the time axis, so
    a redraw never re-joins every frame (at paper size a set is up to 200 MB)."""

    NAMES = ("t", "states", "rates", "projection")

    def __init__(self) -> None:
        self.version = 0
        self.reset()

    def reset(self) -> None:
        self._pending: dict[str, list[np.ndarray]] = {name: [] for name in self.NAMES}
        self._buffers: dict[str, np.ndarray] = {}
        self._filled = dict.fromkeys(self.NAMES, 0)
        self.n_frames = 0
        self.latest: TrajectorySnapshot | None = None
        self.abs_max = 0.0  # largest |state| so far: the raster's fixed colour levels
        self.version += 1

    def add(self, batch: list[TrajectorySnapshot]) -> None:
        for snap in batch:
            for name, pending in self._pending.items():
                pending.append(getattr(snap, name))
            self.abs_max = max(self.abs_max, float(np.abs(snap.states).max(initial=0.0)))
            self.n_frames += len(snap.t)
            self.latest = snap
        if batch:
            self.version += 1

    def _get(self, name: str) -> np.ndarray:
        """Frames 0..n_frames-1 of one array, time on axis 0 for t and axis 1 otherwise (read-only)."""
        axis = 0 if name == "t" else 1

        def frames(start: int, stop: int) -> tuple[slice, ...]:
            return (slice(None),) * axis + (slice(start, stop),)

        pending, filled = self._pending[name], self._filled[name]
        if pending:
            new = np.concatenate(pending, axis=axis)
            pending.clear()
            needed = filled + new.shape[axis]
            buffer = self._buffers.get(name)
            if buffer is None or buffer.shape[axis] < needed:
                shape = list(new.shape)
                shape[axis] = max(needed, 2 * (0 if buffer is None else buffer.shape[axis]))
                grown = np.empty(shape, dtype=new.dtype)
                if buffer is not None:
                    grown[frames(0, filled)] = buffer[frames(0, filled)]
                self._buffers[name] = buffer = grown
            buffer[frames(filled, needed)] = new
            self._filled[name] = filled = needed
        if name not in self._buffers:
            return np.zeros(0, np.float32)
        view = self._buffers[name][frames(0, filled)]
        view.flags.writeable = False  # the view only: frames past n_frames are still to be written
        return view

    t = property(lambda self: self._get("t"))  # (n,) in units of tau
    states = property(lambda self: self._get("states"))  # (chains, n, U)
    rates = property(lambda self: self._get("rates"))  # (chains, n, Nv)
    projection = property(lambda self: self._get("projection"))  # (chains, n, 3)

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
