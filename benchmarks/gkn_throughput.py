"""GKN throughput on the current device: training steps/s, sampling chain-steps/s, manifold time.

Each figure is measured side by side with a bare torch loop doing the same arithmetic, so the ratio
(job / bare) shows what the job machinery and the HDF5 recording cost; absolute numbers on a shared
machine are noisy, the ratios much less so.

    python benchmarks/gkn_throughput.py            # all presets
    python benchmarks/gkn_throughput.py --quick    # fewer steps, for CI
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from report import Figure, write_figures
from rich.console import Console
from rich.table import Table

from gkn_core.device import describe_device, resolve_device
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.data import load_dataset
from gkn_core.gkn.manifolds import basins_2d, manifold_2d
from gkn_core.gkn.sample import KaleidoscopeSamplingJob
from gkn_core.gkn.sessions import training_session
from gkn_core.gkn.train import GKNTrainingJob, seeded_model

PRESETS = {"1d": 1000, "2d": 1000, "digits8": 300, "mnist": 10}  # training steps measured


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def bare_training(config, dataset, device, steps: int) -> float:
    """The same model, optimizer and batches, in a plain loop with nothing else."""
    model = seeded_model(config, dataset.dim, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.train.lr, foreach=True)
    data = torch.from_numpy(dataset.x.copy()).to(device)
    size = config.train.batch_size or data.shape[0]
    generator = torch.Generator().manual_seed(0)

    def loop() -> None:
        for _ in range(steps):
            batch = data[torch.randint(0, data.shape[0], (size,), generator=generator).to(device)]
            loss = torch.mean((model(batch) - batch) ** 2)
            loss.item()  # the job reads the loss every step too
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return rate(steps, timed(loop))


def job_training(config, dataset, device, steps: int) -> float:
    job = GKNTrainingJob(config, dataset, device)
    return rate(steps, timed(lambda: [job.step() for _ in range(steps)]))


def recorded_training(config, steps: int, folder: Path) -> float:
    _, snapshots = training_session(config, folder / f"{config.preset}.h5", overwrite=True)
    return rate(steps, timed(lambda: [None for _ in snapshots]))


def sampling_rates(config, dataset, device, steps: int) -> tuple[float, float]:
    model = seeded_model(config, dataset.dim, device).eval()
    settings = config.sample.model_copy(update={"steps": steps})
    x = torch.rand(settings.chains, dataset.dim, device=device)

    @torch.no_grad()
    def bare() -> None:
        nonlocal x
        for _ in range(steps):
            x = (model(x) + settings.noise * torch.randn_like(x)).clamp(dataset.low, dataset.high)

    job = KaleidoscopeSamplingJob(model, settings, dataset.low, dataset.high, 0, dataset.x)
    chain_steps = settings.chains * steps
    return rate(chain_steps, timed(bare)), rate(chain_steps, timed(lambda: list(job)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the steps (CI)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
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
        "job steps/s",
        "recorded steps/s",
        "recorded / bare",
        "bare chain-steps/s",
        "job chain-steps/s",
        "job / bare",
    ):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as folder:
        for name, full_steps in PRESETS.items():
            steps = max(3, int(full_steps * scale))
            config = preset_config(
                name, {"device": args.device, "train": {"steps": steps, "manifold_every": 10**6}}
            )
            dataset = load_dataset(config.data, config.seed)
            bare = bare_training(config, dataset, device, steps)
            job = job_training(config, dataset, device, steps)
            recorded = recorded_training(config, steps, Path(folder))
            sample_steps = max(5, int(config.sample.steps * scale * 2))
            bare_chain, job_chain = sampling_rates(config, dataset, device, sample_steps)
            params = sum(p.numel() for p in seeded_model(config, dataset.dim, device).parameters())
            figures += [
                Figure(
                    f"{name} training, recorded to a run file ({params:,} params)",
                    recorded,
                    "steps/s",
                    f"bare torch loop {bare:,.0f} steps/s",
                    recorded / bare,
                ),
                Figure(
                    f"{name} kaleidoscopic sampling, job",
                    job_chain,
                    "chain-steps/s",
                    f"bare torch loop {bare_chain:,.0f} chain-steps/s",
                    job_chain / bare_chain,
                    ">= 0.9",
                ),
            ]
            table.add_row(
                name,
                f"{params:,}",
                f"{bare:,.0f}",
                f"{job:,.0f}",
                f"{recorded:,.0f}",
                f"{recorded / bare:.2f}",
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
