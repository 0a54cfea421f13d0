"""Lyapunov spectra against their references (issue 15, item 3), every figure from one run.

Each comparison runs the product's code and its reference alternately (`--repeat` times, the best
of each kept), on the same starts and the same initial frame (made once, outside both timings), in
float64 on one torch thread and one BLAS thread for numpy, and prints value, reference, ratio and
the largest difference of the exponents (per tau for the networks, per step for the Henon map):

(a) digits8-size network (restricted2, 64 + 100 = 164 units, A and biases as after training), all
    164 exponents, 8 chains: the analytic tangent map (gkn_core.tangent), QR every `--renorm`
    steps, against plain numpy that follows one trajectory at a time with the Jacobian matrix and
    a QR every step. Target >= 10x.
(b) paper-size network (784 + 500 = 1284 units), 20 exponents, 8 chains: the whole spectrum loop
    against the same matrix products alone (the roofline of its arithmetic). Target >= 0.6.
(c) Henon map (a = 1.4, b = 0.3), 64 trajectories x 10,000 steps through the GENERIC path (traced
    forward-mode JVP, no tangent supplied), QR every step, against a plain numpy loop per
    trajectory. Target >= 5x. Reference exponents 0.4192, -1.6232.

    python benchmarks/lyapunov_speed.py [--quick] [--repeat 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np
import torch
from report import Figure, write_figures
from threadpoolctl import threadpool_limits

from gkn_core.chaos.config import chaos_preset_config
from gkn_core.chaos.models import ChaoticRNN, build_chaos_model
from gkn_core.lyapunov import Benettin, lyapunov_spectrum, start_frame
from gkn_core.tangent import RateNetworkMap

F64 = torch.float64


def interleaved(*fns: Callable[[], object], repeat: int) -> list[float]:
    """Best seconds of each function, all run in turn `repeat` times (they see the same load)."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def products_alone(step: RateNetworkMap, chains: int, k: int, steps: int) -> Callable[[], None]:
    """The spectrum's matrix products alone (states and k vectors of every chain, `steps` steps), in
    the layout the spectrum uses (units as rows, the chains x (1 + k) vectors as columns): its floor."""
    cols = chains * (k + 1)
    z = torch.randn(step.dim, cols, dtype=F64)
    p = torch.randn_like(z)
    products = [
        (z[step.slices[dst]], p[step.slices[src]], m.T.contiguous()) for dst, src, m in step.couplings
    ]
    a = step.a

    def run() -> None:
        for _ in range(steps):
            for target, rates, m in products:
                target.addmm_(m, rates, beta=1 - a, alpha=a)

    return run


def trained_network(preset: str, n_visible: int) -> ChaoticRNN:
    """The preset's network in float64 with A and biases as after some training."""
    config = chaos_preset_config(preset)
    model = build_chaos_model(config.model, n_visible, "cpu", seed=0, dtype=F64)
    gen = torch.Generator().manual_seed(0)
    for p in model.pairs:
        p.A.copy_(0.02 * torch.randn(p.A.shape, generator=gen, dtype=F64))
    for b in model.biases:
        b.copy_(0.05 * torch.randn(b.shape, generator=gen, dtype=F64))
    model.refresh()
    return model


def dense_coupling(step: RateNetworkMap) -> np.ndarray:
    """The couplings as one matrix acting on column vectors: x' = (1 - a) x + a (C phi(x) + b)."""
    c = np.zeros((step.dim, step.dim))
    for dst, src, m in step.couplings:
        c[step.slices[dst], step.slices[src]] = m.double().numpy().T
    return c


def network_reference(
    step: RateNetworkMap, x0: np.ndarray, frame0: np.ndarray, steps: int, transient: int
) -> np.ndarray:
    """Per trajectory, per step: the Jacobian matrix, its product with the frame, numpy QR."""
    c, a = dense_coupling(step), step.a
    bias = step.scaled_bias.double().numpy() / a
    eye = np.eye(step.dim)
    out = np.zeros((len(x0), frame0.shape[1]))
    for i in range(len(x0)):
        x, q = x0[i].copy(), frame0[i].T.copy()
        total = np.zeros(q.shape[1])
        for n in range(transient + steps):
            rates = np.tanh(x)
            jac = (1 - a) * eye + a * c * (1 - rates**2)[None, :]
            x = (1 - a) * x + a * (c @ rates + bias)
            q, r = np.linalg.qr(jac @ q)
            if n >= transient:
                total += np.log(np.abs(np.diag(r)))
        out[i] = np.sort(total / steps)[::-1]
    return out


def henon(x: torch.Tensor) -> torch.Tensor:
    return torch.stack([1 - 1.4 * x[:, 0] ** 2 + x[:, 1], 0.3 * x[:, 0]], dim=1)


def henon_reference(x0: np.ndarray, frame0: np.ndarray, steps: int, transient: int) -> np.ndarray:
    out = np.zeros((len(x0), 2))
    for i in range(len(x0)):
        (u, w), q = x0[i], frame0[i].T.copy()
        total = np.zeros(2)
        for n in range(transient + steps):
            jac = np.array([[-2.8 * u, 1.0], [0.3, 0.0]])
            u, w = 1 - 1.4 * (u * u) + w, 0.3 * u  # the same operations as henon(), in order
            q, r = np.linalg.qr(jac @ q)
            if n >= transient:
                total += np.log(np.abs(np.diag(r)))
        out[i] = np.sort(total / steps)[::-1]
    return out


def network_vs_numpy(args: argparse.Namespace) -> dict[str, float]:
    model = trained_network("digits8", 64)
    chains, steps, transient = args.chains, args.steps_a, args.transient_a
    x0 = torch.cat(model.random_state(chains, torch.Generator().manual_seed(1)), dim=1)
    k = model.dim
    frame = start_frame(x0, k, 0)
    frame0 = frame.numpy()
    result: dict[str, np.ndarray] = {}

    def fast() -> None:
        result["fast"] = lyapunov_spectrum(
            model.euler_map(), x0, k, steps, transient, args.renorm, frame=frame
        )

    def slow() -> None:
        result["slow"] = network_reference(model.euler_map(), x0.numpy(), frame0, steps, transient)

    products = products_alone(model.euler_map(), chains, k, transient + steps)
    t_fast, t_slow, t_mm = interleaved(fast, slow, products, repeat=args.repeat)
    run = Benettin(model.euler_map(), x0, k, steps, transient, args.renorm)
    run.advance()
    per_tau = model.settings.tau / model.settings.dt
    diff = float(np.abs(result["fast"].numpy() - result["slow"]).max()) * per_tau
    return {"fast": t_fast, "slow": t_slow, "mm": t_mm, "diff": diff, "cond": run.frame_condition(), "k": k}


def paper_vs_roofline(args: argparse.Namespace) -> dict[str, float]:
    model = trained_network("paper-mnist", 784)
    chains, k, steps = args.chains, 20, args.steps_b
    x0 = torch.cat(model.random_state(chains, torch.Generator().manual_seed(1)), dim=1)
    step = model.euler_map()
    rows = chains * (k + 1)
    matmuls = products_alone(step, chains, k, steps)

    def fast() -> None:
        lyapunov_spectrum(step, x0, k, steps, 0, args.renorm_b)

    t_fast, t_mm = interleaved(fast, matmuls, repeat=args.repeat)
    # agreement with the per-trajectory numpy reference, on 2 chains and a few steps
    few = min(steps, 20)
    got = lyapunov_spectrum(step, x0[:2], k, few, 0, args.renorm_b)
    ref = network_reference(step, x0[:2].numpy(), start_frame(x0[:2], k, 0).numpy(), few, 0)
    per_tau = model.settings.tau / model.settings.dt
    gflops = step.matmul_flops(rows) * steps / t_fast / 1e9
    diff = float(np.abs(got.numpy() - ref).max()) * per_tau
    return {"fast": t_fast, "mm": t_mm, "diff": diff, "gflops": gflops}


def henon_vs_numpy(args: argparse.Namespace) -> dict[str, float]:
    n, steps, transient = args.henon_trajectories, args.henon_steps, 100
    x0 = 0.1 + 0.01 * torch.randn(n, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    frame = start_frame(x0, 2, 0)
    frame0 = frame.numpy()
    result: dict[str, np.ndarray] = {}

    def fast() -> None:
        result["fast"] = lyapunov_spectrum(henon, x0, 2, steps, transient, frame=frame)

    def slow() -> None:
        result["slow"] = henon_reference(x0.numpy(), frame0, steps, transient)

    t_fast, t_slow = interleaved(fast, slow, repeat=args.repeat)
    mean = result["fast"].mean(0)
    diff = float(np.abs(result["fast"].numpy() - result["slow"]).max())
    return {"fast": t_fast, "slow": t_slow, "diff": diff, "l1": float(mean[0]), "l2": float(mean[1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI): the same figures, rough")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch and numpy threads (both sides)")
    parser.add_argument("--renorm", type=int, default=50, help="QR every that many steps in (a)")
    parser.add_argument("--renorm-b", type=int, default=5, help="QR every that many steps in (b)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures there (for run_all.py)")
    args = parser.parse_args()
    args.chains = 8
    if args.quick:
        args.repeat = 1
        args.steps_a, args.transient_a, args.steps_b = 20, 10, 5
        args.henon_trajectories, args.henon_steps = 4, 1000
    else:
        args.steps_a, args.transient_a, args.steps_b = 100, 50, 100
        args.henon_trajectories, args.henon_steps = 64, 10_000
    torch.set_num_threads(args.threads)
    load = os.getloadavg()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), load {load[0]:.1f} (1 min)")
    figures: list[Figure] = []
    with threadpool_limits(args.threads):
        a = network_vs_numpy(args)
        speed_a = a["slow"] / a["fast"]
        print(
            f"(a) digits8-size network, all {a['k']} exponents x {args.chains} chains x "
            f"{args.transient_a}+{args.steps_a} steps: analytic tangent (QR every {args.renorm}) "
            f"{a['fast']:.3f} s, per-trajectory numpy {a['slow']:.3f} s: speed-up {speed_a:.1f}x; "
            f"max difference {a['diff']:.1e} per tau; frame condition {a['cond']:.3g}; its matrix "
            f"products alone {a['mm']:.3f} s (the floor: at most {a['slow'] / a['mm']:.1f}x, "
            f"products / spectrum {a['mm'] / a['fast']:.2f})"
        )
        figures.append(
            Figure(
                f"Lyapunov spectrum, digits8-size network, all {a['k']} exponents x {args.chains} chains",
                a["fast"],
                "s",
                f"per-trajectory numpy reference {a['slow']:.2f} s (ratio = speed-up; QR every "
                f"{args.renorm}, frame condition {a['cond']:.2g}; max difference {a['diff']:.1e} per tau; "
                f"its products alone {a['mm']:.3f} s: at most {a['slow'] / a['mm']:.1f}x; "
                f"load {load[0]:.1f})",
                speed_a,
                ">= 10",
            )
        )
        b = paper_vs_roofline(args)
        ratio_b = b["mm"] / b["fast"]
        print(
            f"(b) paper-size network (dim 1284), 20 exponents x {args.chains} chains x {args.steps_b} "
            f"steps (QR every {args.renorm_b}): spectrum {b['fast']:.3f} s, its matrix products alone "
            f"{b['mm']:.3f} s: ratio {ratio_b:.2f} ({b['gflops']:.1f} GFLOP/s); max difference "
            f"{b['diff']:.1e} per tau against numpy"
        )
        figures.append(
            Figure(
                f"Lyapunov spectrum, paper-size network, 20 exponents x {args.chains} chains",
                b["fast"],
                "s",
                f"its matrix products alone {b['mm']:.2f} s (ratio = matmuls / spectrum; QR every "
                f"{args.renorm_b}; max difference {b['diff']:.1e} per tau; load {load[0]:.1f})",
                ratio_b,
                ">= 0.6",
            )
        )
        c = henon_vs_numpy(args)
        speed_c = c["slow"] / c["fast"]
        print(
            f"(c) Henon map, {args.henon_trajectories} trajectories x {args.henon_steps} steps, generic "
            f"JVP path: {c['fast']:.3f} s, plain numpy loop {c['slow']:.3f} s: speed-up {speed_c:.1f}x; "
            f"exponents {c['l1']:.4f}, {c['l2']:.4f} (reference 0.4192, -1.6232), max difference "
            f"{c['diff']:.1e}"
        )
        figures.append(
            Figure(
                f"Lyapunov spectrum, Henon map, {args.henon_trajectories} trajectories x "
                f"{args.henon_steps} steps (generic path)",
                c["fast"],
                "s",
                f"plain numpy loop {c['slow']:.2f} s (ratio = speed-up; QR every step; max difference "
                f"{c['diff']:.1e}; load {load[0]:.1f})",
                speed_c,
                ">= 5",
            )
        )
    print(f"load after: {os.getloadavg()[0]:.1f} (1 min)")
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()
