"""What a process holds, read from /proc (Linux): resident memory, open files, threads."""

from __future__ import annotations

import os
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
    """Resident memory sampled as a job advances: (steps done, MB)."""

    samples: list[tuple[float, float]] = field(default_factory=list)

    def add(self, step: float, mb: float) -> None:
        self.samples.append((step, mb))

    def growth_after(self, warmup: float) -> float:
        """MB gained from the first sample after `warmup` (a share of the steps, 0..1) to the peak later."""
        end = self.samples[-1][0]
        later = [mb for t, mb in self.samples if t >= warmup * end]
        return max(later) - later[0]

    @property
    def peak(self) -> float:
        return max(mb for _, mb in self.samples)

    def describe(self) -> str:
        shown = ", ".join(
            f"step {t:.0f}: {mb:.0f}" for t, mb in self.samples[:: max(1, len(self.samples) // 8)]
        )
        return f"RSS MB by step: {shown} (peak {self.peak:.0f})"
