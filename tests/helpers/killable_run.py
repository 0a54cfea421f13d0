"""A run to be killed by tests/test_kill.py: trains (or samples) forever, printing each flushed step.

Usage: python killable_run.py train|sample RUN.h5
"""

import sys

from gkn_core.config import preset_config
from gkn_core.sessions import sampling_session, training_session

FLUSH_INTERVAL = 0.2  # seconds: short, so a few seconds of running see many flushes


def report_flush(jobs: list) -> None:
    print("flushed", jobs[0].steps_done if jobs else 0, flush=True)


def main(mode: str, path: str) -> None:
    jobs: list = []  # filled once the session exists; the file is flushed once before that
    if mode == "train":
        config = preset_config(
            "2d",
            {
                "train": {
                    "steps": 10_000_000,
                    "checkpoint_every": 300,
                    "manifold_every": 100,
                    "manifold_grid": 32,
                }
            },
        )
        job, snapshots = training_session(
            config,
            path,
            flush_interval=FLUSH_INTERVAL,
            on_flush=lambda: report_flush(jobs),
        )
    else:
        job, snapshots = sampling_session(
            path,
            {"chains": 64, "steps": 1_000_000, "noise": 0.01},
            flush_interval=FLUSH_INTERVAL,
            on_flush=lambda: report_flush(jobs),
        )
    jobs.append(job)
    for _ in snapshots:
        pass


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
