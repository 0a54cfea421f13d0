"""A chaos run to be killed by tests/test_chaos_kill.py: trains forever, printing each flushed step.

Usage: python chaos_killable_run.py RUN.h5
"""

import sys

import torch

from gkn_core.chaos.config import chaos_preset_config
from gkn_core.chaos.sessions import chaos_training_session

FLUSH_INTERVAL = 0.2


def main(path: str) -> None:
    torch.set_num_threads(1)
    jobs: list = []
    config = chaos_preset_config(
        "digits8",
        {
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
        },
    )
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
