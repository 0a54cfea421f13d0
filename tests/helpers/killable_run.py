"""A run to be killed by the kill tests: it trains (or samples) forever, reporting its progress.

Usage: python killable_run.py MODE RUN.h5

MODE is one of MODES: train and sample (a gkn run), chaos-train and chaos-sample. For the sampling
modes RUN.h5 must already hold a trained run of that kind. The child prints `flushed STEP` after
every flush (`flushing STEP` as one starts) and `progress STEP TIME` (time.monotonic()) at most every
PROGRESS_EVERY seconds.

The settings of each mode are module constants, so the tests know the schedules the file follows.
"""

import sys
import time

FLUSH_INTERVAL = 0.2  # seconds: short, so a few seconds of running see many flushes
PROGRESS_EVERY = 0.002  # seconds between two progress reports

GKN_TRAIN = {
    "train": {"steps": 10_000_000, "checkpoint_every": 300, "manifold_every": 100, "manifold_grid": 32}
}
GKN_SAMPLE = {"chains": 64, "steps": 1_000_000, "noise": 0.01}
CHAOS_TRAIN = {
    "device": "cpu",
    "model": {"T": 30.0},
    "train": {
        "steps": 10_000_000,
        "M": 50,
        "metrics_every": 5,
        "metrics_samples": 50,
        "lyapunov_every": 7,
        "lyapunov_steps": 5,
        "lyapunov_chains": 2,
        "sample_every": 3,
        "checkpoint_every": 40,
    },
}
CHAOS_SAMPLE = {"n": 200, "T": 1_000_000.0, "record_chains": 4, "record_units": 8}
MODES = ("train", "sample", "chaos-train", "chaos-sample")


class Reporter:
    def __init__(self) -> None:
        self.job = None
        self._last = 0.0

    def flushed(self) -> None:
        print("flushed", self.job.steps_done if self.job is not None else 0, flush=True)

    def progress(self) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_EVERY:
            self._last = now
            print("progress", self.job.steps_done, f"{now:.6f}", flush=True)


def session(mode: str, path: str, on_flush):
    if mode == "train":
        from gkn_core.gkn.config import preset_config
        from gkn_core.gkn.sessions import training_session

        return training_session(
            preset_config("2d", GKN_TRAIN), path, flush_interval=FLUSH_INTERVAL, on_flush=on_flush
        )
    if mode == "sample":
        from gkn_core.gkn.sessions import sampling_session

        return sampling_session(path, GKN_SAMPLE, flush_interval=FLUSH_INTERVAL, on_flush=on_flush)
    if mode == "chaos-train":
        from gkn_core.chaos.config import chaos_preset_config
        from gkn_core.chaos.sessions import chaos_training_session

        config = chaos_preset_config("digits8", CHAOS_TRAIN)
        return chaos_training_session(config, path, flush_interval=FLUSH_INTERVAL, on_flush=on_flush)
    if mode == "chaos-sample":
        from gkn_core.chaos.sessions import chaos_sampling_session

        return chaos_sampling_session(path, CHAOS_SAMPLE, flush_interval=FLUSH_INTERVAL, on_flush=on_flush)
    raise SystemExit(f"unknown mode {mode!r} (known: {', '.join(MODES)})")


def report_flushes(reporter: Reporter) -> None:
    """Print `flushing STEP` as every flush starts, STEP the step it writes (after it, the session's
    on_flush prints `flushed STEP`): a kill after a `flushing` line and before its `flushed` one hit
    a flush, and the file may hold rows up to that STEP."""
    from gkn_core.runs.writer import RunWriter

    real_flush = RunWriter.flush

    def flush(self) -> None:
        print("flushing", reporter.job.steps_done if reporter.job is not None else 0, flush=True)
        real_flush(self)

    RunWriter.flush = flush


def main(mode: str, path: str) -> None:
    import torch

    torch.set_num_threads(1)
    reporter = Reporter()
    report_flushes(reporter)  # its job is set once the session exists; the file is flushed once before
    job, snapshots = session(mode, path, reporter.flushed)
    reporter.job = job
    for _ in snapshots:
        reporter.progress()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
