"""Stop latency of every job kind at its default preset (issue #17.6): the seconds from Stop, asked
from another thread at a random moment of a running job, to the job's thread ending.

    python benchmarks/stop_latency.py            # 5 stops per job, default presets, + paper-size chaos
    python benchmarks/stop_latency.py --stops 2 --no-paper [--json PATH]

It prints one line per job (median and worst of its stops); the target is < 0.5 s. A figure, not a
test: tests/test_stop.py checks the same in steps, never in seconds.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import threading
import time
from pathlib import Path

import torch
from report import Figure, write_figures

from gkn_core.chaos.analysis import LyapunovAnalysisJob, LyapunovSettings
from gkn_core.chaos.config import chaos_preset_config
from gkn_core.chaos.runfile import sample_settings
from gkn_core.chaos.sample import ChaosSamplingJob
from gkn_core.chaos.train import ChaosTrainingJob, load_chaos_dataset
from gkn_core.chaos.trajectories import TrajectoryJob, trajectory_settings
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.data import load_dataset
from gkn_core.gkn.sample import KaleidoscopeSamplingJob
from gkn_core.gkn.train import GKNTrainingJob

CPU = torch.device("cpu")


def gkn_train():
    config = preset_config("1d", {"device": "cpu", "train": {"steps": 10**7}})
    return GKNTrainingJob(config, load_dataset(config.data, config.seed), CPU)


def gkn_sample():
    config = preset_config("digits8", {"device": "cpu"})
    job = GKNTrainingJob(config, load_dataset(config.data, config.seed), CPU)
    settings = config.sample.model_copy(update={"steps": 10**6})
    return KaleidoscopeSamplingJob(job.model, settings, job.dataset.low, job.dataset.high, seed=1)


def chaos_train(preset="digits8", limit=None):
    config = chaos_preset_config(preset, {"device": "cpu", **({"data": {"limit": limit}} if limit else {})})
    return ChaosTrainingJob(config, load_chaos_dataset(config.data), CPU)


def chaos_model():
    return chaos_train().model


def chaos_sample():
    return ChaosSamplingJob(chaos_model(), sample_settings({"n": 1000, "T": 10**5}), seed=0)


def trajectories():
    return TrajectoryJob(chaos_model(), trajectory_settings({"steps": 30_000}), "untrained")


def lyapunov():
    model = chaos_model()
    return LyapunovAnalysisJob(model, LyapunovSettings(), model.n_visible, 0)


def latency(make, warm_steps: int, rng: random.Random) -> float:
    job = make()
    ended = threading.Event()
    thread = threading.Thread(target=lambda: (sum(1 for _ in job), ended.set()), daemon=True)
    thread.start()
    while job.steps_done < warm_steps and thread.is_alive():
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, 0.3))  # a random moment, mid-step as often as not
    start = time.perf_counter()
    job.stop()
    ended.wait(600)
    return time.perf_counter() - start


def process_latency(stops: int, rng: random.Random) -> tuple[list[float], list[float]]:
    """The 1d training in the window's compute process (app/compute.py): seconds from Stop, sent by the
    GUI thread at a random moment, to the job's end reaching it; and from asking the process to end
    (closing a window) to its exit."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtCore import QCoreApplication

    from app.compute import ComputeProcess, ProcessJobThread
    from app.gkn import compute_jobs
    from app.screenshot import wait_until

    app = QCoreApplication.instance() or QCoreApplication([])
    config = preset_config("1d", {"device": "cpu", "train": {"steps": 10**7}})
    stop_s, close_s = [], []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(stops):
            compute = ComputeProcess()
            wait_until(app, lambda c=compute: c.ready, 600)
            start_job = (compute_jobs.gkn_training, (config, Path(folder) / f"{i}.h5"), {})
            thread = ProcessJobThread(compute, start_job)
            thread.start()
            wait_until(app, lambda t=thread: t.job.steps_done >= 10, 600)
            deadline = time.monotonic() + rng.uniform(0.0, 0.3)
            wait_until(app, lambda d=deadline: time.monotonic() >= d, 600)
            start = time.perf_counter()
            thread.stop()
            wait_until(app, lambda t=thread: t.finished, 600)
            stop_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            compute.shutdown(time.monotonic() + 60)
            close_s.append(time.perf_counter() - start)
    return sorted(stop_s), sorted(close_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=5)
    parser.add_argument("--no-paper", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the figures there (for run_all.py)")
    parser.add_argument("--no-process", action="store_true", help="leave out the compute process lines")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    figures: list[Figure] = []
    torch.set_num_threads(1)
    rng = random.Random(args.seed)
    jobs = [
        ("gkn train (1d)", gkn_train, 10),
        ("gkn sample (digits8)", gkn_sample, 10),
        ("chaos train (digits8)", chaos_train, 2),
        ("chaos sample (digits8, n=1000)", chaos_sample, 10),
        ("trajectories (digits8 net)", trajectories, 2),
        ("lyapunov analysis (digits8 net)", lyapunov, 2),
    ]
    if not args.no_paper:
        paper = ("chaos train (paper-mnist size, 1000 images)", lambda: chaos_train("paper-mnist", 1000), 0)
        jobs.append(paper)
    print(f"stop latency, {args.stops} stops each, torch threads 1 (target < 0.5 s), load {load:.1f} (1 min)")

    def report(name: str, values: list[float]) -> None:
        median, worst = values[len(values) // 2], values[-1]
        print(f"{name:46s} median {median:.3f} s  worst {worst:.3f} s", flush=True)
        against = f"median {median * 1e3:.0f} ms of {args.stops} stops; load {load:.1f}"
        title = f"Stop latency, {name.strip()}, worst"
        figures.append(Figure(title, worst * 1e3, "ms", against, None, "< 500 ms"))

    for name, make, warm in jobs:
        report(name, sorted(latency(make, warm, rng) for _ in range(args.stops)))
    if not args.no_process:
        stop_s, close_s = process_latency(args.stops, rng)
        report("gkn train (1d) in the compute process: Stop", stop_s)
        report("  then its exit", close_s)
    print(f"load after: {os.getloadavg()[0]:.1f} (1 min)")
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()
