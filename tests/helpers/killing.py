"""Start a child that prints 'flushed STEP' after each flush, SIGKILL it at a random moment."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time


def run_and_kill(args: list[str], rng: random.Random, min_step: int = 0) -> int:
    """Kill the child at a random moment after its first flush of a step >= min_step.

    Returns the last step the child reported flushed.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True, env=env)
    flushed: list[int] = []
    first = threading.Event()

    def read() -> None:
        for line in child.stdout:
            if line.startswith("flushed"):
                flushed.append(int(line.split()[1]))
                if flushed[-1] >= min_step:
                    first.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 90
    while not first.wait(timeout=0.1):
        assert child.poll() is None, f"the child exited with {child.returncode} before its first flush"
        assert time.monotonic() < deadline, "the child never flushed"
    time.sleep(rng.uniform(0.05, 1.5))
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    reader.join(timeout=10)
    assert child.returncode == -signal.SIGKILL
    return flushed[-1]
