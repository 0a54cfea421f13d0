"""What a process holds, read from /proc (Linux): resident memory, open files, threads."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process in MB (VmRSS)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def open_fds(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def os_threads(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


@dataclass
class MemoryTrace:
    """Resident memory sampled over time: (seconds since the start, MB)."""

    samples: list[tuple[float, float]] = field(default_factory=list)

    def add(self, elapsed: float, mb: float) -> None:
        self.samples.append((elapsed, mb))

    def growth_after(self, warmup: float) -> float:
        """MB gained from the first sample after `warmup` (a share of the run, 0..1) to the highest later."""
        end = self.samples[-1][0]
        later = [mb for t, mb in self.samples if t >= warmup * end]
        return max(later) - later[0]

    @property
    def peak(self) -> float:
        return max(mb for _, mb in self.samples)

    def describe(self) -> str:
        shown = ", ".join(f"{t:.0f}s {mb:.0f}" for t, mb in self.samples[:: max(1, len(self.samples) // 8)])
        return f"RSS MB over time: {shown} (peak {self.peak:.0f})"


def sample_while(
    alive: Callable[[], bool], pid: int | str, seconds: float, every: float = 0.5
) -> MemoryTrace:
    """Sample a process's resident memory every `every` s for `seconds` s or until it ends."""
    trace = MemoryTrace()
    start = time.monotonic()
    while alive() and (elapsed := time.monotonic() - start) < seconds:
        try:
            trace.add(elapsed, rss_mb(pid))
        except (FileNotFoundError, ProcessLookupError, RuntimeError):
            break
        time.sleep(every)
    return trace
