"""Throughput of the chaotic-RNN code (issue 5, item 8), all figures measured in one run.

(a) One contrastive Hebbian training step vs a loop of the same matrix products on the same device
    (the roofline this code can reach), the two timed alternately (best of `--repeat`): ratio =
    matmul-only time / CHL step time (target >= 0.6).
(b) The batched Lyapunov code (analytic tangent map, QR every step) vs a plain reference that
    follows one trajectory at a time with the explicit Jacobian and numpy QR every step, on the
    same network, same starts and same initial frame: the speed-up and the largest difference of
    the exponents.
(c) Steps per second of the `paper-mnist` preset (Nv=784, Nh=500, M=500, T/dt=100) on this device,
    and the wall time that 300k steps would take.

    python benchmarks/chaos_throughput.py [--device cpu|cuda] [--threads 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from report import Figure, write_figures

from gkn_core.chaos.config import chaos_preset_config
from gkn_core.chaos.models import ChaoticRNN, build_chaos_model
from gkn_core.device import describe_device, resolve_device
from gkn_core.lyapunov import lyapunov_spectrum


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved(fast, slow, device: torch.device, repeat: int) -> tuple[float, float]:
    """Best seconds of each of two functions run alternately `repeat` times after one warm-up each:
    on a shared machine both see the same load, so their ratio holds."""
    fast(), slow()
    synchronize(device)
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for i, fn in enumerate((fast, slow)):
            start = time.perf_counter()
            fn()
            synchronize(device)
            best[i] = min(best[i], time.perf_counter() - start)
    return best[0], best[1]


def trained_like(model: ChaoticRNN, scale: float = 0.02, seed: int = 0) -> ChaoticRNN:
    """Give A a small random symmetric-ish value, as after some training (not needed for timing)."""
    gen = torch.Generator().manual_seed(seed)
    for p in model.pairs:
        p.A.copy_(scale * torch.randn(p.A.shape, generator=gen).to(p.A))
    model.refresh()
    return model


def chl_vs_matmul(preset: str, device: torch.device, repeat: int, steps: int) -> dict[str, float]:
    from gkn_core.chaos.train import ChaosTrainingJob
    from gkn_core.data import Dataset

    config = chaos_preset_config(
        preset,
        {"train": {"lyapunov_every": None, "sample_every": None, "metrics_every": 10**9, "steps": 10**6}},
    )
    nv = 784 if config.data.source == "mnist" else 64
    rng = np.random.default_rng(0)
    data = Dataset("bench", rng.uniform(-1, 1, (2 * config.train.M, nv)).astype(np.float32), -1.0, 1.0)
    job = ChaosTrainingJob(config, data, device)

    m, nh, n = config.train.M, config.model.Nh, config.model.n_steps
    a = torch.randn(m, nv, device=device)
    h = torch.randn(m, nh, device=device)
    down = torch.randn(nh, nv, device=device)
    up = torch.randn(nv, nh, device=device)

    def matmuls() -> None:
        for _ in range(steps):
            torch.mm(a, up)  # clamped phase (restricted2): one product, then the exact closed form
            for _ in range(n):  # free phase: both layers
                torch.mm(h, down)
                torch.mm(a, up)
            torch.mm(a.T, h)  # the two correlation matrices
            torch.mm(a.T, h)

    t_chl, t_mm = interleaved(lambda: [job.step() for _ in range(steps)], matmuls, device, repeat)
    t_chl, t_mm = t_chl / steps, t_mm / steps
    flops = 2 * m * nv * nh * (2 * n + 3)
    return {"chl_s": t_chl, "matmul_s": t_mm, "ratio": t_mm / t_chl, "gflops": flops / t_chl / 1e9}


def reference_spectrum(model: ChaoticRNN, x0: np.ndarray, frame0: np.ndarray, steps: int) -> np.ndarray:
    """One trajectory at a time: explicit Jacobian of the Euler step, numpy QR every step."""
    nv = model.sizes[0]
    dim = model.dim
    coupling = np.zeros((dim, dim))
    coupling[:nv, nv:] = model._down[0].double().cpu().numpy().T  # v <- h
    coupling[nv:, :nv] = model._up[0].double().cpu().numpy().T  # h <- v
    bias = np.concatenate([b.double().cpu().numpy() for b in model.biases])
    a = model.a
    out = np.zeros((len(x0), frame0.shape[-1]))
    for i in range(len(x0)):
        x = x0[i].astype(np.float64)
        q = frame0[i].astype(np.float64)
        total = np.zeros(q.shape[1])
        for _ in range(steps):
            rates = np.tanh(x)
            jac = (1 - a) * np.eye(dim) + a * coupling * (1 - rates**2)[None, :]
            x = x + a * (-x + coupling @ rates + bias)
            q, r = np.linalg.qr(jac @ q)
            total += np.log(np.abs(np.diag(r)))
        out[i] = np.sort(total / steps)[::-1]
    return out


def lyapunov_vs_reference(device: torch.device, chains: int, k: int, steps: int) -> dict[str, float]:
    config = chaos_preset_config("paper-mnist")
    model = trained_like(build_chaos_model(config.model, 784, device, seed=0, dtype=torch.float64))
    gen = torch.Generator(device=device).manual_seed(1)
    x0 = torch.cat(model.random_state(chains, gen), dim=1)
    # the same initial frame as lyapunov_spectrum draws (seed 0)
    gen0 = torch.Generator().manual_seed(0)
    noise = torch.randn(chains, model.dim, k, generator=gen0, dtype=torch.float64)
    frame0, _ = torch.linalg.qr(noise)
    synchronize(device)
    start = time.perf_counter()
    fast = lyapunov_spectrum(model.euler_map(), x0, k, steps, dtype=torch.float64)
    synchronize(device)
    t_fast = time.perf_counter() - start
    # numpy's BLAS gets the same number of threads as torch (threadpoolctl comes with scikit-learn)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(torch.get_num_threads()):
        start = time.perf_counter()
        slow = reference_spectrum(model, x0.double().cpu().numpy(), frame0.double().numpy(), steps)
        t_slow = time.perf_counter() - start
    diff = float(np.abs(fast.cpu().numpy() - slow).max())
    per_tau = config.model.tau / config.model.dt
    return {
        "fast_s": t_fast,
        "reference_s": t_slow,
        "speedup": t_slow / t_fast,
        "max_diff_per_tau": diff * per_tau,
        "largest_per_tau": float(fast[:, 0].mean()) * per_tau,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--paper-steps", type=int, default=2, help="CHL steps timed at paper size")
    parser.add_argument("--lyapunov-steps", type=int, default=50)
    parser.add_argument("--chains", type=int, default=8, help="trajectories in the Lyapunov comparison")
    parser.add_argument("--json", metavar="PATH", help="also write the figures there (for run_all.py)")
    args = parser.parse_args()
    figures: list[Figure] = []
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(
        f"device: {describe_device(device)}, torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"load {os.getloadavg()[0]:.1f} (1 min)"
    )

    for preset, steps in (("digits8", 20), ("paper-mnist", args.paper_steps)):
        r = chl_vs_matmul(preset, device, args.repeat, steps)
        print(
            f"(a) {preset:12s} CHL step {r['chl_s'] * 1e3:9.2f} ms, "
            f"same matmuls alone {r['matmul_s'] * 1e3:9.2f} ms: "
            f"ratio {r['ratio']:.2f} ({r['gflops']:.1f} GFLOP/s)"
        )
        figures.append(
            Figure(
                f"chaos CHL step, {preset}",
                r["chl_s"] * 1e3,
                "ms",
                f"the same matmuls alone {r['matmul_s'] * 1e3:.2f} ms (ratio = matmuls / step)",
                r["ratio"],
                ">= 0.6",
            )
        )
        if preset == "paper-mnist":
            paper = r
    lyap = lyapunov_vs_reference(device, chains=args.chains, k=20, steps=args.lyapunov_steps)
    print(
        f"(b) Lyapunov, paper-size restricted2 (dim 1284), {args.chains} trajectories x 20 exponents x "
        f"{args.lyapunov_steps} steps, float64: analytic tangent + QR {lyap['fast_s']:.2f} s, "
        f"per-trajectory numpy reference {lyap['reference_s']:.2f} s: speed-up {lyap['speedup']:.1f}x; "
        "largest exponent "
        f"{lyap['largest_per_tau']:+.4f} per tau, max difference {lyap['max_diff_per_tau']:.1e} per tau"
    )
    steps_per_s = 1 / paper["chl_s"]
    hours = 300_000 / steps_per_s / 3600
    print(f"(c) paper-mnist: {steps_per_s:.3g} steps/s -> 300k steps in {hours:.3g} h on this device")
    figures += [
        Figure(
            f"batched Lyapunov spectrum, paper-size network, {args.chains} trajectories x 20 exponents",
            lyap["fast_s"],
            "s",
            f"per-trajectory numpy reference {lyap['reference_s']:.2f} s (ratio = speed-up; "
            f"max difference {lyap['max_diff_per_tau']:.1e} per tau)",
            lyap["speedup"],
        ),
        Figure("paper-mnist chaos training", steps_per_s, "steps/s", f"300k steps in {hours:.3g} h"),
    ]
    print(f"load after: {os.getloadavg()[0]:.1f} (1 min)")
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()
