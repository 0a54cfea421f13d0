"""Measure the GKN depth claims with the sound measures, every number beside its untrained baseline.

Toy part: presets 1d and 2d at depths L (Linear layers), several seeds, the preset's training steps;
the capture measures of gkn_core.gkn.capture for the trained network and for the untrained network of
the same seed (its initial weights). Digits part: preset digits8 at depths L, seeds; kaleidoscopic
chains from uniform noise (the preset's sampling settings, more chains) scored per generation by the
digit classifier (gkn_core.gkn.sample_quality), beside the untrained network, the start noise and
held-out real digits. Prints markdown tables (mean +- sample std over seeds) and can write them to a
file. One torch thread: the machine is shared.

    python scripts/measure_overgeneralisation.py --part toy --markdown /tmp/toy.md
    python scripts/measure_overgeneralisation.py --part digits --markdown /tmp/digits.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from gkn_core.gkn.capture import aggregate, capture_report, capture_with_baseline, spread
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.data import load_dataset
from gkn_core.gkn.sample import KaleidoscopeSamplingJob, collect_chains
from gkn_core.gkn.sample_quality import QualityCurve, held_out_images, quality_curve
from gkn_core.gkn.train import GKNTrainingJob, seeded_model

CPU = torch.device("cpu")
TOY_ROWS = (
    "one_step_capture",
    "capture",
    "balance",
    "balanced_capture",
    "median_steps",
    "restricted_mean_steps",
    "stay_fraction",
    "flat_near_data",
    "flat_some_near_data",
    "flat_anywhere",
)
GENERATIONS = (0, 5, 10, 20, 40, 60)


def train(preset: str, layers: int, seed: int, steps: int | None) -> tuple[object, object, object, float]:
    overrides: dict = {"seed": seed, "model": {"layers": layers}}
    if steps is not None:
        overrides["train"] = {"steps": steps}
    config = preset_config(preset, overrides)
    dataset = load_dataset(config.data, config.seed)
    job = GKNTrainingJob(config, dataset, CPU)
    for _ in job:
        pass
    return config, job, dataset, job.elapsed


def cell(trained: object, untrained: object) -> str:
    return f"{trained} / {untrained}"


def toy_part(depths: list[int], seeds: list[int], steps: int | None, out: list[str]) -> None:
    for preset in ("1d", "2d"):
        per_depth, loose, losses = {}, {}, {}
        t0 = time.perf_counter()
        for layers in depths:
            results, loose_rows, best = [], [], []
            for seed in seeds:
                config, job, dataset, _ = train(preset, layers, seed, steps)
                results.append(capture_with_baseline(config, job.model, dataset.x, seed))
                t = capture_report(job.model, dataset.x, tol=0.05)
                u = capture_report(seeded_model(config, dataset.dim, CPU), dataset.x, tol=0.05)
                loose_rows.append((t, u))
                best.append(job.best_loss)
            per_depth[layers], loose[layers], losses[layers] = aggregate(results), loose_rows, best
        steps_used = steps or preset_config(preset).train.steps
        out.append(
            f"\n### Preset {preset}: trained / untrained (same seed), mean +- std over seeds "
            f"{seeds}, {steps_used} training steps, tol 0.01 unless said, N = 100 steps "
            f"({time.perf_counter() - t0:.0f} s)\n"
        )
        out.append("| measure | " + " | ".join(f"L={d}" for d in depths) + " |")
        out.append("|---|" + "---|" * len(depths))
        out.append("| best loss | " + " | ".join(str(spread(losses[d])) for d in depths) + " |")
        for name in TOY_ROWS:
            cells = [cell(*per_depth[d][name]) for d in depths]
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        for name in ("one_step_capture", "capture", "balance", "flat_near_data", "flat_some_near_data"):
            cells = []
            for d in depths:
                t = spread([getattr(r[0], name) for r in loose[d]])
                u = spread([getattr(r[1], name) for r in loose[d]])
                cells.append(cell(t, u))
            out.append(f"| {name} (tol 0.05) | " + " | ".join(cells) + " |")
        print("\n".join(out[-(len(TOY_ROWS) + 8) :]), flush=True)


def sample_curve(
    model: torch.nn.Module, config: object, dataset: object, chains: int, real: np.ndarray
) -> QualityCurve:
    settings = config.sample.model_copy(update={"chains": chains})
    job = KaleidoscopeSamplingJob(model, settings, dataset.low, dataset.high, config.seed + 1000)
    return quality_curve(collect_chains(job), dataset.image_shape, config.data.value_range, "digits8", real)


def digits_part(depths: list[int], seeds: list[int], steps: int | None, chains: int, out: list[str]) -> None:
    curves: dict[tuple[str, int], list] = {}
    losses: dict[int, list[float]] = {}
    seconds: dict[int, list[float]] = {}
    real_score = None
    for layers in depths:
        for seed in seeds:
            config, job, dataset, elapsed = train("digits8", layers, seed, steps)
            real = held_out_images("digits8", dataset.x)
            trained = sample_curve(job.model, config, dataset, chains, real)
            untrained = sample_curve(seeded_model(config, dataset.dim, CPU), config, dataset, chains, real)
            curves.setdefault(("trained", layers), []).append(trained)
            curves.setdefault(("untrained", layers), []).append(untrained)
            losses.setdefault(layers, []).append(job.best_loss)
            seconds.setdefault(layers, []).append(elapsed)
            real_score = trained.real
            print(
                f"digits8 L={layers} seed={seed}: {elapsed:.0f} s, best loss {job.best_loss:.4f}, "
                f"confident at 60: {trained.confident[-1]:.3f}",
                flush=True,
            )
    steps_used = steps or preset_config("digits8").train.steps
    gens = [g for g in GENERATIONS if g <= preset_config("digits8").sample.steps]
    out.append(
        f"\n### digits8: confident-digit share (entropy of the digit classes, nats; ln 10 = 2.30) per "
        f"generation, {chains} chains, mean +- std over seeds {seeds}, {steps_used} training steps\n"
    )
    out.append(
        "| network | best loss | train s | " + " | ".join(f"gen {g}" for g in gens) + " | classes at 60 |"
    )
    out.append("|---|---|---|" + "---|" * len(gens) + "---|")
    for kind in ("trained", "untrained"):
        for layers in depths:
            runs = curves[(kind, layers)]
            row = [f"{kind} L={layers}"]
            row.append(str(spread(losses[layers])) if kind == "trained" else "-")
            row.append(f"{np.mean(seconds[layers]):.0f}" if kind == "trained" else "-")
            for g in gens:
                c = spread([r.confident[g] for r in runs])
                e = spread([r.entropy[g] for r in runs])
                row.append(f"{c} ({e.mean:.2f})")
            row.append(str(spread([float(r.classes_seen[gens[-1]]) for r in runs])))
            out.append("| " + " | ".join(row) + " |")
    noise = curves[("trained", depths[0])][0].noise
    blank = " | ".join("" for _ in gens[1:])
    out.append(
        f"| start noise (uniform) | - | - | {noise.fraction:.3f} ({noise.entropy:.2f}) | {blank} | - |"
    )
    if real_score is not None:
        out.append(
            f"| held-out real digits ({real_score.n}) | - | - | {real_score.fraction:.3f} "
            f"({real_score.entropy:.2f}) | {blank} | {real_score.classes_seen} |"
        )
    print("\n".join(out[-(2 * len(depths) + 5) :]), flush=True)


def ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("toy", "digits", "all"), default="all")
    parser.add_argument("--depths", type=ints, default=None, help="e.g. 2,4,7,10,12")
    parser.add_argument("--seeds", type=ints, default=[0, 1, 2])
    parser.add_argument("--toy-steps", type=int, default=None, help="default: the preset's")
    parser.add_argument("--digits-steps", type=int, default=None, help="default: the preset's")
    parser.add_argument("--chains", type=int, default=1000)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    out: list[str] = []
    start = time.perf_counter()
    if args.part in ("toy", "all"):
        toy_part(args.depths or [2, 4, 7, 10, 12], args.seeds, args.toy_steps, out)
    if args.part in ("digits", "all"):
        digits_part(args.depths or [2, 4, 7, 10], args.seeds, args.digits_steps, args.chains, out)
    out.append(f"\n(measured in {(time.perf_counter() - start) / 60:.1f} min on one torch thread)")
    if args.markdown:
        args.markdown.write_text("\n".join(out) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
