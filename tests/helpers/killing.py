"""Start a child that reports its progress, SIGKILL it at a random moment.

The child (tests/helpers/killable_run.py) prints `flushed STEP` after each flush of its run file and
`progress STEP TIME` as its job advances (TIME is time.monotonic(), the same clock in every process
on Linux), so the parent knows both what must be in the file and how far the job had got.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from helpers.waiting import HANG_GUARD, wait_until


@dataclass
class KillResult:
    flushed: int  # the last step the child reported flushed
    killed_at: float  # time.monotonic() of the SIGKILL
    progress: list[tuple[int, float]] = field(default_factory=list)  # (step, time) reports
    in_flush: bool = False  # killed after a flush started and before it reported done
    flushing: int = 0  # the step of the last flush that started

    @property
    def highest(self) -> int:
        """The highest step the file may hold rows of: reached, or being flushed at the kill."""
        return max(self.reached, self.flushing, self.flushed)

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


class _Child:
    """A started child: its pid, the lines it prints, and a wait for its end (its exit code)."""

    def __init__(self, pid: int, lines: Iterable[str], wait: Callable[[], int | None]) -> None:
        self.pid, self.lines, self.wait = pid, lines, wait


def _interpreter(args: list[str]) -> _Child:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True, env=env)

    def wait() -> int | None:
        child.wait(timeout=HANG_GUARD)
        return child.returncode

    return _Child(child.pid, child.stdout, wait)


_SERVER = None


def _forked_main(mode: str, path: str, out) -> None:
    os.dup2(out.fileno(), 1)  # the child's prints go to the pipe, as a fresh interpreter's would
    from helpers.killable_run import main

    main(mode, path)


def _forked(args: list[str]) -> _Child:
    """A child forked from a server that has torch and the product imported already (the
    multiprocessing forkserver): the same killable_run.main, in a process of its own, without the
    seconds a fresh interpreter spends importing. `args` is [killable_run.py, MODE, RUN.h5]."""
    global _SERVER
    if _SERVER is None:
        os.environ["OMP_NUM_THREADS"] = "1"  # the server and every child it forks: one thread
        here = str(Path(__file__).parents[1])
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
        _SERVER = multiprocessing.get_context("forkserver")
        _SERVER.set_forkserver_preload(["torch", "gkn_core.gkn.sessions", "gkn_core.chaos.sessions"])
    read_end, write_end = _SERVER.Pipe(duplex=False)
    process = _SERVER.Process(target=_forked_main, args=(args[1], args[2], write_end), daemon=True)
    process.start()
    write_end.close()
    lines = os.fdopen(os.dup(read_end.fileno()), "r")
    read_end.close()

    def wait() -> int | None:
        process.join(timeout=HANG_GUARD)
        return process.exitcode

    return _Child(process.pid, lines, wait)


def kill_at_random(
    args: list[str],
    rng: random.Random,
    min_step: int = 0,
    delay: tuple[float, float] = (0.05, 1.5),
    forked: bool = False,
) -> KillResult:
    """Run the child, kill it a random `delay` after its first flush of a step >= min_step.

    forked: fork the child from a preloaded server (see `_forked`) instead of a fresh interpreter.
    """
    child = (_forked if forked else _interpreter)(args)
    result = KillResult(flushed=0, killed_at=0.0)
    first = threading.Event()
    ended = threading.Event()

    def read() -> None:
        for line in child.lines:
            words = line.split()
            if not line.endswith("\n") or len(words) < 2:
                continue  # the last line, cut by the kill
            if words[0] == "flushing":
                result.in_flush, result.flushing = True, int(words[1])
            elif words[0] == "flushed":
                result.in_flush = False
                result.flushed = int(words[1])
                if result.flushed >= min_step:
                    first.set()
            elif words[0] == "progress" and len(words) == 3:
                result.progress.append((int(words[1]), float(words[2])))
        ended.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_until(first.is_set, "the child never flushed", alive=lambda: not ended.is_set())
    time.sleep(rng.uniform(*delay))  # a random moment to kill at, not a wait for anything
    result.killed_at = time.monotonic()
    os.kill(child.pid, signal.SIGKILL)
    code = child.wait()
    reader.join(timeout=HANG_GUARD)
    assert code == -signal.SIGKILL
    return result


def run_and_kill(args: list[str], rng: random.Random, min_step: int = 0) -> int:
    """Kill the child at a random moment after its first flush of a step >= min_step.

    Returns the last step the child reported flushed.
    """
    return kill_at_random(args, rng, min_step).flushed
