"""Test-only hooks: a Python process started with GKN_TEST_EVENTS=FILE reports its run writer's events.

tests/helpers/waiting.py (`event_env`, `EventLog`) turns this on for the children a test starts; this
folder is then first on PYTHONPATH, so Python loads this file at start-up (the sitecustomize hook),
in the CLI and in every process it starts (a sweep's pool workers). Nothing is imported early: the
hooks wrap gkn_core.runs.writer.RunWriter when that module is first imported. One line per event,
appended to FILE (O_APPEND: lines of several processes do not mix):

    step PID N RSS_MB      every GKN_TEST_EVENTS_EVERY steps (and the first), as the step is written
    flushed PID N          after each flush that succeeded, N the last step it saved
    checkpoint PID N       after a checkpoint was written and flushed, N its step
    peak PID N HWM_MB      at exit (of a process that wrote a run): the peak resident memory
                           (VmHWM) over its whole life, the end (reading back, reporting) included
"""

from __future__ import annotations

import atexit
import importlib.abc
import importlib.util
import os
import sys

LOG = os.environ.get("GKN_TEST_EVENTS", "")
EVERY = max(1, int(os.environ.get("GKN_TEST_EVENTS_EVERY", "50") or 50))
TARGET = "gkn_core.runs.writer"


def _rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


_last_step = 0


def _report(*words: object) -> None:
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (" ".join(str(w) for w in (words[0], os.getpid(), *words[1:])) + "\n").encode())
    finally:
        os.close(fd)


def _instrument(module) -> None:
    writer = module.RunWriter
    queue_row, queue_rows = writer._queue_row, writer._queue_rows
    flush, write_weights = writer.flush, writer.write_weights

    def _queued_step(self, value):
        global _last_step
        self._test_step = _last_step = int(value)
        if self._test_step == 1 or self._test_step % EVERY == 0:
            _report("step", self._test_step, f"{_rss_mb():.2f}")

    def _queue_row(self, group, name, value):
        queue_row(self, group, name, value)
        if name == "step" and group.endswith("metrics"):
            _queued_step(self, value)

    def _queue_rows(self, group, name, values):  # the rows of several steps at once (a sampling block)
        values = list(values)
        queue_rows(self, group, name, values)
        if name == "step" and group.endswith("metrics"):
            for value in values:
                _queued_step(self, value)

    def _flush(self):
        flush(self)
        _report("flushed", getattr(self, "_test_step", 0))

    def _write_weights(self, step, weights, *args, **kwargs):
        new = step not in self._checkpoint_steps
        write_weights(self, step, weights, *args, **kwargs)
        if new:
            _report("checkpoint", int(step))

    atexit.register(lambda: _report("peak", _last_step, f"{_rss_mb('VmHWM'):.2f}"))
    writer._queue_row, writer._queue_rows = _queue_row, _queue_rows
    writer.flush, writer.write_weights = _flush, _write_weights


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        real_exec = spec.loader.exec_module

        def exec_module(module):
            real_exec(module)
            _instrument(module)

        spec.loader.exec_module = exec_module
        return spec


if LOG:
    sys.meta_path.insert(0, _Finder())
