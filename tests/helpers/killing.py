"""Start a child that reports its progress, SIGKILL it at a random moment.

The child (tests/helpers/killable_run.py) prints `flushed STEP` after each flush of its run file and
`progress STEP TIME` as its job advances (TIME is time.monotonic(), the same clock in every process
on Linux), so the parent knows both what must be in the file and how far the job had got.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from helpers.waiting import HANG_GUARD, wait_until


@dataclass
class KillResult:
    flushed: int  # the last step the child reported flushed
    killed_at: float  # time.monotonic() of the SIGKILL
    progress: list[tuple[int, float]] = field(default_factory=list)  # (step, time) reports

    @property
    def reached(self) -> int:
        """The last step the child reported reaching before it was killed."""
        return max((step for step, _ in self.progress), default=0)

    def lost_seconds(self, last_saved_step: int) -> float:
        """How long before the kill the oldest step missing from the file was reached (0: none lost)."""
        times = [t for step, t in self.progress if step > last_saved_step]
        return self.killed_at - min(times) if times else 0.0

    def longest_step(self) -> float:
        """The longest gap between two progress reports, or between the last one and the kill (the
        step the kill interrupted): a bound on one step's duration, descheduled time included."""
        times = [t for _, t in self.progress] + ([self.killed_at] if self.progress else [])
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


def kill_at_random(
    args: list[str], rng: random.Random, min_step: int = 0, delay: tuple[float, float] = (0.05, 1.5)
) -> KillResult:
    """Run the child, kill it a random `delay` after its first flush of a step >= min_step."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True, env=env)
    result = KillResult(flushed=0, killed_at=0.0)
    first = threading.Event()

    def read() -> None:
        for line in child.stdout:
            words = line.split()
            if not line.endswith("\n") or len(words) < 2:
                continue  # the last line, cut by the kill
            if words[0] == "flushed":
                result.flushed = int(words[1])
                if result.flushed >= min_step:
                    first.set()
            elif words[0] == "progress" and len(words) == 3:
                result.progress.append((int(words[1]), float(words[2])))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_until(first.is_set, "the child never flushed", alive=lambda: child.poll() is None)
    time.sleep(rng.uniform(*delay))  # a random moment to kill at, not a wait for anything
    result.killed_at = time.monotonic()
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=HANG_GUARD)
    reader.join(timeout=HANG_GUARD)
    assert child.returncode == -signal.SIGKILL
    return result


def run_and_kill(args: list[str], rng: random.Random, min_step: int = 0) -> int:
    """Kill the child at a random moment after its first flush of a step >= min_step.

    Returns the last step the child reported flushed.
    """
    return kill_at_random(args, rng, min_step).flushed
