"""Shared fixtures. Qt tests run offscreen; the core tests never need a display.

The default run (`make test`) is the quick suite; `pytest --full` (or GKN_FULL=1) is the complete one:
tests marked `@pytest.mark.full` run only then (each has a quick version in the default run), and the
reliability suite takes its full counts (tests/reliability/conftest.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import torch
from helpers.tally import TALLY, summary_lines

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Programs the tests start (the CLI, screenshot mode) too: see one_torch_thread for why.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        default=False,
        help="the complete suite: the slow checks marked `full`, reliability at full counts (GKN_FULL=1)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--full", default=False):
        os.environ["GKN_FULL"] = "1"
    config.addinivalue_line("markers", "full: slow; only with --full (a quick version runs by default)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("GKN_FULL", "") not in ("", "0"):
        return
    skip = pytest.mark.skip(reason="slow: runs with --full (a quick version runs by default)")
    for item in items:
        if item.get_closest_marker("full") is not None:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist a worker hands its reliability tally to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["gkn_tally"] = dict(TALLY)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    for name, values in getattr(node, "workeroutput", {}).get("gkn_tally", {}).items():
        TALLY[name].extend(values)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if TALLY:
        mode = "full" if os.environ.get("GKN_FULL", "") not in ("", "0") else "quick"
        terminalreporter.section(f"reliability ({mode} mode)")
        for line in summary_lines():
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread_everywhere() -> Iterator[None]:
    """Every test runs its torch work on one thread (the tests' nets are small; CI has 2 cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _no_compute_thread_outlives_its_test() -> Iterator[None]:
    """A test that leaves a window's compute thread (or compute process, app/compute.py) running
    fails, and it is stopped here.

    Left alone it would be garbage-collected later, in whatever test runs next in this process, and
    Qt aborts the whole process when a running QThread is destroyed (that crashed a pytest worker).
    """
    yield
    worker = sys.modules.get("app.worker")
    if worker is None:  # no Qt test has run in this process
        return
    left = worker.running_threads()
    if not left:
        return
    worker.stop_running()
    pytest.fail(
        f"{len(left)} compute thread(s) or process(es) outlived the test (close its window or stop its jobs)"
    )


@pytest.fixture
def quick_1d_overrides() -> dict:
    """The 1d preset cut to a few hundred steps: enough to learn the two points on a CPU."""
    return {"train": {"steps": 300, "checkpoint_every": 100, "manifold_every": 50}}


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Small nets run as fast on one thread, and immune to OpenMP stalls on a busy machine.

    With 2 OpenMP threads and another process on the second core, every op waits on a descheduled
    thread: the 2D training went from 2 s to over 75 s per run that way.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@dataclass
class Done:
    """What a `gkn` command run in this process left: its exit code and output."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def gkn(capsys) -> Callable[..., Done]:
    """Run the CLI in this process (as `gkn ARGS`): no second torch import per call."""
    from gkn_core.cli import main

    def call(*args: str) -> Done:
        capsys.readouterr()
        with pytest.raises(SystemExit) as ended:
            main(list(args))
        out, err = capsys.readouterr()
        return Done(int(ended.value.code or 0), out, err)

    return call
