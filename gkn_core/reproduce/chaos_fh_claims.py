"""Claims (f) and (h) of the chaos paper: chaos against g and its fall over training; Fashion-MNIST."""

from __future__ import annotations

import numpy as np

from gkn_core.reproduce import measures
from gkn_core.reproduce.chaos_claims import _chaos_raw, chaos_runs
from gkn_core.reproduce.claims import ClaimResult, compare, make_result, part_verdict, summary
from gkn_core.reproduce.context import Context, sweep_spec
from gkn_core.reproduce.figures import Curve, Panel, draw_panels


def claim_f(ctx: Context) -> ClaimResult:
    """Untrained networks are chaotic above a threshold g, and training lowers the largest exponent."""
    from gkn_core.chaos.analysis import zero_crossing
    from gkn_core.chaos.lyapunov_change import lyapunov_change

    b = ctx.budget
    raw = sweep_spec(
        "lyapunov",
        b.seeds,
        ["largest"],
        preset="paper-mnist" if b.chaos_data == "mnist" else "digits8",
        grid={"model.g": list(b.lyap_g)},
        settings={
            "model": {"arch": "restricted2", "Nh": b.chaos_Nh, "T": b.chaos_T},
            "lyapunov": {"steps": b.lyap_steps, "chains": b.lyap_chains, "exponents": 1},
        },
    )
    table = ctx.sweep("f", "lyapunov-g", raw)
    (curve,) = table.curves("largest", "model.g")
    cells = {
        g: [r.metrics["largest"] for r in rows] for g, rows in zip(curve.x_values, curve.rows, strict=True)
    }
    g_lo, g_hi = min(b.lyap_g), max(b.lyap_g)
    zeros = [0.0] * b.seeds
    parts = [
        compare(f"g={g_lo:g}: largest < 0", cells[g_lo], zeros, "lower", what="stable at small g"),
        compare(f"g={g_hi:g}: largest > 0", cells[g_hi], zeros, "higher", what="chaotic at large g"),
    ]
    change = lyapunov_change(chaos_runs(ctx, "restricted2"), b.change_chains, b.change_steps)
    fall, se = -change.difference, change.standard_error
    parts.append(
        {
            "name": "training lowers the largest exponent",
            "what": change.statement(),
            "direction": "lower",
            "paired": True,
            "difference": fall,
            "se": se,
            "verdict": part_verdict(fall, se),
        }
    )
    measured = {f"largest g={g:g}": summary(v) for g, v in cells.items()}
    measured["largest after training (g=1.5)"] = summary(change.after.mean(1))
    baseline = {
        "zero (the edge of chaos)": summary(zeros),
        "largest before training (g=1.5)": summary(change.before.mean(1)),
    }
    threshold = zero_crossing(curve.x, curve.mean)
    result = make_result(
        "f",
        {
            "words": f"untrained restricted2 ({b.chaos_data} size, Nh={b.chaos_Nh}) at g in "
            f"{list(b.lyap_g)}, "
            f"{b.lyap_chains} chains x {b.lyap_steps} steps, {b.seeds} seeds; before/after: the runs of (d), "
            f"{b.change_chains} chains x {b.change_steps} steps each",
            "sweep": raw,
            "threshold_g": threshold,
            "lyapunov_change": change.as_dict(),
        },
        measured,
        baseline,
        parts,
    )
    draw_panels(
        ctx.out / result.figure,
        "(f) chaos against g, and training",
        [
            Panel(
                "untrained",
                "gain g",
                "largest exponent per tau",
                [Curve("restricted2", curve.x, curve.mean, curve.std)],
                hline=0.0,
            ),
            Panel(
                "g = 1.5, each seed before and after training",
                "",
                "largest exponent per tau",
                [
                    Curve(f"seed {seed}", [0, 1], [before, after])
                    for seed, before, after in zip(
                        change.seeds, change.before.mean(1), change.after.mean(1), strict=True
                    )
                ],
                hline=0.0,
                xticks=[0, 1],
                xticklabels=["before", "after"],
            ),
        ],
    )
    return result


def claim_h(ctx: Context) -> ClaimResult:
    """Fashion-MNIST samples score as items."""
    b = ctx.budget
    raw = _chaos_raw(ctx, "restricted2", source="fashion")
    raw["set"]["train"]["steps"] = b.fashion_steps
    raw["set"]["model"]["Nh"] = b.fashion_Nh
    table = ctx.sweep("h", "fashion", raw)
    m = measures.item_score([r.run for r in sorted(table.rows, key=lambda r: r.seed)])
    parts = [compare("item score vs untrained", m["trained"], m["untrained"], "higher", paired=True)]
    result = make_result(
        "h",
        {"words": f"chaotic RNN restricted2 on Fashion-MNIST, {b.fashion_steps} steps", "sweep": raw},
        {"item score": summary(m["trained"])},
        {"item score untrained": summary(m["untrained"])},
        parts,
    )
    draw_panels(
        ctx.out / result.figure,
        "(h) Fashion-MNIST items",
        [
            Panel(
                "",
                "",
                "item score",
                [
                    Curve("trained", [1], [np.mean(m["trained"])], [np.std(m["trained"])]),
                    Curve("untrained", [0], [np.mean(m["untrained"])], [np.std(m["untrained"])]),
                ],
            )
        ],
    )
    return result
