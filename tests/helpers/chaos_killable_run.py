"""A chaos run to be killed by tests/test_chaos_kill.py: trains forever, printing each flushed step.

Usage: python chaos_killable_run.py RUN.h5
"""

import sys

import torch
from killable_run import CHAOS_TRAIN, FLUSH_INTERVAL  # the settings the kill checks expect

from gkn_core.chaos.config import chaos_preset_config
from gkn_core.chaos.sessions import chaos_training_session


def main(path: str) -> None:
    torch.set_num_threads(1)
    jobs: list = []
    config = chaos_preset_config("digits8", CHAOS_TRAIN)
    job, snapshots = chaos_training_session(
        config,
        path,
        flush_interval=FLUSH_INTERVAL,
        on_flush=lambda: print("flushed", jobs[0].steps_done if jobs else 0, flush=True),
    )
    jobs.append(job)
    for _ in snapshots:
        pass


if __name__ == "__main__":
    main(sys.argv[1])
