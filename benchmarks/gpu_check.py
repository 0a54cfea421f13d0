"""Paper scale on the current device (issue 15, item 5): paper-mnist CHL steps/s, the CHL/matmul
ratio and the 300k-step projection, in one run that ends in well under 5 minutes.

On CUDA the free and clamped phases run as captured CUDA graphs (gkn_core.chaos.phases); the same
step with the graphs off (GKN_CUDA_GRAPHS=0, the eager launches) is timed beside it, and both
against the same matrix products alone. On a CPU it says so and times a short count (a
paper-size step is seconds there); the ratio is then the eager CPU path's.

    python benchmarks/gpu_check.py [--device auto|cpu|cuda] [--steps N] [--repeat 2] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from chaos_throughput import chl_vs_matmul
from report import Figure, write_figures

from gkn_core.chaos.phases import GRAPHS_ENV
from gkn_core.device import describe_device, resolve_device

TOTAL_STEPS = 300_000
TARGET_MINUTES = 15


def measure(device: torch.device, steps: int, repeat: int, graphs: bool) -> dict[str, float]:
    """chl_vs_matmul at paper size with the CUDA graphs on or off (the model reads the setting when built)."""
    before = os.environ.get(GRAPHS_ENV)
    os.environ[GRAPHS_ENV] = "1" if graphs else "0"
    try:
        return chl_vs_matmul("paper-mnist", device, repeat, steps)
    finally:
        if before is None:
            os.environ.pop(GRAPHS_ENV, None)
        else:
            os.environ[GRAPHS_ENV] = before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, help="CHL steps per timing (default 50 on CUDA, 1 on a CPU)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--json", metavar="PATH", help="also write the figures there (for run_all.py)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    steps = args.steps or (50 if cuda else 1)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    where = describe_device(device) if cuda else f"CPU ({torch.get_num_threads()} torch thread(s)): NO GPU"
    print(f"device: {where}, torch {torch.__version__}, load {load:.1f} (1 min)")
    if cuda:
        print(f"TF32 matmuls: {torch.backends.cuda.matmul.allow_tf32} (off: float32 products, as on the CPU)")
    runs = [("CUDA graphs", measure(device, steps, args.repeat, True))] if cuda else []
    runs.append(("eager" if cuda else "eager (CPU)", measure(device, steps, args.repeat, False)))
    figures: list[Figure] = []
    for name, r in runs:
        per_s = 1 / r["chl_s"]
        minutes = TOTAL_STEPS / per_s / 60
        print(
            f"paper-mnist CHL, {name:12s}: {per_s:8.3g} steps/s ({r['chl_s'] * 1e3:.2f} ms a step), "
            f"the same matmuls alone {r['matmul_s'] * 1e3:.2f} ms: ratio {r['ratio']:.2f} "
            f"({r['gflops']:.0f} GFLOP/s); 300k steps in {minutes:,.0f} min = {minutes / 60:.2f} h "
            f"(target < {TARGET_MINUTES} min on one H100-class GPU)"
        )
        label = f"paper-mnist CHL step on {'the GPU, ' + name if cuda else 'the CPU (no GPU)'}"
        figures.append(
            Figure(
                label,
                per_s,
                "steps/s",
                f"the same matmuls alone {r['matmul_s'] * 1e3:.2f} ms a step (ratio = matmuls / step); "
                f"300k steps in {minutes / 60:.3g} h; load {load:.1f}",
                r["ratio"],
                f"300k steps < {TARGET_MINUTES} min (GPU)",
            )
        )
    if len(runs) == 2:
        print(f"CUDA graphs / eager: {runs[1][1]['chl_s'] / runs[0][1]['chl_s']:.2f}x steps/s")
    print(f"load after: {os.getloadavg()[0]:.1f} (1 min); took {time.perf_counter() - started:.0f} s")
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()
