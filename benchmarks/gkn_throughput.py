"""GKN throughput on the current device: training steps/s, sampling chain-steps/s, manifold time.

Each figure is measured side by side with a bare torch loop doing the same arithmetic, so the ratio
(job / bare) shows what the job machinery and the HDF5 recording cost; absolute numbers on a shared
machine are noisy, the ratios much less so. The job and its bare loop run alternately (interleaved
rounds, after one untimed warm-up of each; the figures are the medians), on the same settings, seed
and threads:

- training: the recorded training session (the job writing its run file) against the same model,
  optimizer and batch order in a plain loop (forward, loss, backward, Adam step);
- sampling: the recorded sampling session (`gkn sample`: the job, its metrics and class scores, the
  chains written to the run file) against f, the noise and the clamp in a plain loop; the loop's last
  states must equal the job's (it is the same arithmetic, not less).

    python benchmarks/gkn_throughput.py            # all presets
    python benchmarks/gkn_throughput.py --quick    # fewer steps and rounds, for CI
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from report import Figure, write_figures
from rich.console import Console
from rich.table import Table

from gkn_core.device import describe_device, resolve_device
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.data import load_dataset
from gkn_core.gkn.manifolds import basins_2d, manifold_2d
from gkn_core.gkn.sample import draw_starts
from gkn_core.gkn.sessions import sampling_session, training_session
from gkn_core.gkn.train import seeded_model
from gkn_core.runs.reader import open_run

# preset -> (training steps, sampling steps) timed per round
PRESETS = {"1d": (1000, 3000), "2d": (1000, 3000), "digits8": (300, 1000), "mnist": (5, 60)}
SAMPLING_SEED = 7


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def interleaved(bare: Callable[[], float], job: Callable[[], float], rounds: int) -> tuple[float, float]:
    """Median seconds of `bare()` and `job()` (each returns the seconds it timed), run alternately
    after one untimed run of each; the order flips every round."""
    bare(), job()
    times: dict[str, list[float]] = {"bare": [], "job": []}
    for i in range(rounds):
        order = (("bare", bare), ("job", job)) if i % 2 == 0 else (("job", job), ("bare", bare))
        for name, fn in order:
            times[name].append(fn())
    return statistics.median(times["bare"]), statistics.median(times["job"])


def bare_training(config, dataset, device, steps: int) -> float:
    """The job's model, optimizer and batch order (shuffled epochs), in a plain loop; seconds."""
    model = seeded_model(config, dataset.dim, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.train.lr, betas=(0.9, 0.999), foreach=True)
    data = torch.from_numpy(np.array(dataset.x)).to(device)
    n, size = data.shape[0], config.train.batch_size
    generator = torch.Generator().manual_seed(config.seed + 1)
    order = torch.empty(0, dtype=torch.int64)
    start = time.perf_counter()
    for _ in range(steps):
        if size is None or size >= n:
            batch = data
        else:
            if order.numel() < size:
                order = torch.cat([order, torch.randperm(n, generator=generator)])
            index, order = order[:size], order[size:]
            batch = data[index.to(device)]
        loss = torch.nn.functional.mse_loss(model(batch), batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    sync()
    return time.perf_counter() - start


def recorded_training(config, path: Path) -> float:
    """The training session writing its run file (as `gkn train gkn`); seconds of its steps."""
    _, snapshots = training_session(config, path, overwrite=True)
    start = time.perf_counter()
    for _ in snapshots:
        pass
    sync()
    return time.perf_counter() - start


class Sampling:
    """The recorded sampling session of a run and its bare loop, on the same settings and seed."""

    def __init__(self, path: Path, steps: int, device: torch.device) -> None:
        self.path, self.device = path, device
        self.overrides = {"steps": steps, "seed": SAMPLING_SEED}
        with open_run(path) as run:
            self.model = run.load_model(device=device)
            self.low, self.high = run.data_range
            self.settings = run.config.sample.model_copy(update=self.overrides)
        self.last_job: np.ndarray | None = None
        self.last_bare: np.ndarray | None = None

    def job(self) -> float:
        job, snapshots = sampling_session(self.path, self.overrides, str(self.device))
        start = time.perf_counter()
        for _ in snapshots:
            pass
        sync()
        seconds = time.perf_counter() - start
        self.last_job = np.array(job.last_states)
        return seconds

    def bare(self) -> float:
        """f, the noise and the clamp, in a plain loop (what every step of the job must do)."""
        s, model, low, high = self.settings, self.model, self.low, self.high
        generator = torch.Generator(device=self.device).manual_seed(SAMPLING_SEED)
        dim = model.dim
        x = draw_starts(s, s.chains, dim, low, high, generator)
        start = time.perf_counter()
        with torch.inference_mode():
            for _ in range(s.steps):
                fx = model(x)
                if s.noise > 0:
                    if s.noise_law == "gaussian":
                        noise = torch.randn(fx.shape, generator=generator, device=self.device)
                    else:
                        noise = 2 * torch.rand(fx.shape, generator=generator, device=self.device) - 1
                    x = (fx + s.noise * noise).clamp_(low, high)
                else:
                    x = fx.clamp(low, high)
        sync()
        seconds = time.perf_counter() - start
        self.last_bare = fx.cpu().numpy()
        return seconds

    def check(self) -> None:
        if not np.array_equal(self.last_job, self.last_bare):
            raise SystemExit("the bare sampling loop did not end where the job did: not the same arithmetic")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the steps (CI)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timed rounds (default 5)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures there (for run_all.py)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    scale = 0.1 if args.quick else 1.0
    figures: list[Figure] = []

    table = Table(title=f"GKN throughput on {describe_device(device)}")
    for column in (
        "preset",
        "params",
        "bare steps/s",
        "recorded steps/s",
        "recorded / bare",
        "chains x steps",
        "bare chain-steps/s",
        "recorded chain-steps/s",
        "recorded / bare",
    ):
        table.add_column(column, justify="right")
    rounds = 2 if args.quick else args.rounds
    with tempfile.TemporaryDirectory() as folder:
        for name, (full_steps, full_sample_steps) in PRESETS.items():
            steps = max(3, int(full_steps * scale))
            config = preset_config(
                name, {"device": args.device, "train": {"steps": steps, "manifold_every": 10**6}}
            )
            dataset = load_dataset(config.data, config.seed)
            path = Path(folder) / f"{name}.h5"
            bare_s, recorded_s = interleaved(
                functools.partial(bare_training, config, dataset, device, steps),
                functools.partial(recorded_training, config, path),
                rounds,
            )
            bare, recorded = rate(steps, bare_s), rate(steps, recorded_s)
            sample_steps = max(2 * config.sample.burn_in, int(full_sample_steps * scale))
            sampling = Sampling(path, sample_steps, device)
            bare_chain_s, job_chain_s = interleaved(sampling.bare, sampling.job, rounds)
            sampling.check()
            chain_steps = sampling.settings.chains * sampling.settings.steps
            bare_chain, job_chain = rate(chain_steps, bare_chain_s), rate(chain_steps, job_chain_s)
            params = sum(p.numel() for p in seeded_model(config, dataset.dim, device).parameters())
            figures += [
                Figure(
                    f"{name} training, recorded to a run file ({params:,} params)",
                    recorded,
                    "steps/s",
                    f"bare torch loop {bare:,.0f} steps/s (interleaved, medians of {rounds})",
                    recorded / bare,
                ),
                Figure(
                    f"{name} kaleidoscopic sampling, recorded to the run file",
                    job_chain,
                    "chain-steps/s",
                    f"bare torch loop {bare_chain:,.0f} chain-steps/s (interleaved, medians of {rounds})",
                    job_chain / bare_chain,
                    ">= 0.9",
                ),
            ]
            table.add_row(
                name,
                f"{params:,}",
                f"{bare:,.0f}",
                f"{recorded:,.0f}",
                f"{recorded / bare:.2f}",
                f"{sampling.settings.chains} x {sampling.settings.steps}",
                f"{bare_chain:,.0f}",
                f"{job_chain:,.0f}",
                f"{job_chain / bare_chain:.2f}",
            )

    config = preset_config("2d")
    model = seeded_model(config, 2, device).eval()
    repeats = 3 if args.quick else 10
    manifold_s = min(timed(lambda: manifold_2d(model, 0.0, 1.0, 256)) for _ in range(repeats))
    basins_s = timed(lambda: basins_2d(model, 0.0, 1.0, 256, max_steps=100))
    console = Console(width=200)  # the table is wide; never truncate the figures
    console.print(table)
    console.print(
        f"256x256 manifold (loss map + displacement, 2d preset model): {manifold_s * 1e3:.1f} ms per call"
    )
    console.print(f"256x256 basins of attraction (up to 100 noise-free iterations): {basins_s * 1e3:.0f} ms")
    figures += [
        Figure("256x256 manifold (loss map + displacement), 2d model", manifold_s * 1e3, "ms per call"),
        Figure("256x256 basins of attraction, 2d model", basins_s * 1e3, "ms per call"),
    ]
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()
