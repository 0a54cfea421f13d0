"""`gkn sample CHAOS_RUN --score-times 10,25,50,100,200,400 [--score-samples N]`: every sample score
and the class score of the same chains at each sampling time (gkn_core.chaos.score_times), recorded
into the run file (/scores_vs_time/<nnnn>, docs/run-format.md) and printed as a table; and the same
table in `gkn runs show`. No torch at import.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

from rich.table import Table

from gkn_core.cli.common import progress_bar, stdout
from gkn_core.errors import GKNError

MAX_SCORE_SAMPLES = 10_000  # the paper's Ns
DEFAULT_SCORE_SAMPLES = 1000
COLUMNS = (("E2", "E2", ".3g"), ("Es", "Es", ".3g"), ("ER", "ER", "+.3f"), ("AAI", "AAI", ".3f"))


def parse_score_times(text: str) -> tuple[float, ...]:
    """'10,25,50' -> (10.0, 25.0, 50.0); GKNError with one line for anything else."""
    parts = [part.strip() for part in text.split(",")]
    times = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise GKNError(
                f"--score-times: {part!r} is not a number (give times like 10,25,50,100,200,400)"
            ) from None
        if not math.isfinite(value) or value <= 0:
            raise GKNError(f"--score-times: times must be positive numbers, got {part}")
        times.append(value)
    if any(b <= a for a, b in itertools.pairwise(times)):
        raise GKNError(f"--score-times: give each time once, in increasing order (got {text})")
    return tuple(times)


def check_score_samples(n: int | None) -> int:
    n = DEFAULT_SCORE_SAMPLES if n is None else n
    if not 2 <= n <= MAX_SCORE_SAMPLES:
        raise GKNError(f"--score-samples: give 2 to {MAX_SCORE_SAMPLES} samples, got {n}")
    return n


IDEAL = {"E2": 0.0, "Es": 0.0, "ER": 0.0, "AAI": 0.5}  # as gkn_core.chaos.score_times.IDEAL


def best_index(values: Any, key: str) -> int | None:
    """The time index where a score is best: nearest its ideal, or highest for the class score."""
    finite = [(i, float(v)) for i, v in enumerate(values) if math.isfinite(v)]
    if not finite:
        return None
    if key == "class_score":
        return max(finite, key=lambda iv: iv[1])[0]
    return min(finite, key=lambda iv: abs(iv[1] - IDEAL[key]))[0]


def score_times_table(record: Any, title: str) -> Table:
    """One row per sampling time, the training T marked, the best value of each score in bold."""
    class_name = record.class_score_name or "class score"
    headers = ("t", "steps", *(label for _, label, _ in COLUMNS), class_name, "entropy")
    table = Table(*headers, title=f"{title}; (T): the training T = {record.training_T:g}")
    for column in table.columns:
        column.no_wrap = True
    best = {key: best_index(record.scores[key], key) for key in (*IDEAL, "class_score")}
    at_T = min(range(len(record.times)), key=lambda i: abs(record.times[i] - record.training_T))
    for i, t in enumerate(record.times):
        cells = []
        for key, _, fmt in (*COLUMNS, ("class_score", "", ".3f"), ("class_entropy", "", ".2f")):
            value = record.scores[key][i]
            cell = "nan" if math.isnan(value) else format(value, fmt)
            cells.append(f"[bold]{cell}[/bold]" if best.get(key) == i else cell)
        table.add_row(f"{t:g}" + (" (T)" if i == at_T else ""), str(int(record.steps[i])), *cells)
    return table


def best_times_line(record: Any) -> str:
    """Where each score is best, against the training T."""
    parts = []
    for key in (*IDEAL, "class_score"):
        i = best_index(record.scores[key], key)
        if i is not None:
            parts.append(f"{'class score' if key == 'class_score' else key} at t={record.times[i]:g}")
    return f"best (training T = {record.training_T:g}): " + ", ".join(parts)


def sample_score_times(run_path: Path, options: dict[str, Any], quiet: bool) -> None:
    """The --score-times branch of `gkn sample` on a chaos run."""
    for name in ("chains", "steps"):
        if options.get(name) is not None:
            raise GKNError(
                f"--{name} does not apply with --score-times (the times set the steps; "
                "--score-samples sets the chains)"
            )
    times = parse_score_times(options["score_times"])
    n = check_score_samples(options.get("score_samples"))
    from gkn_core.chaos.runfile import read_score_times, write_score_times
    from gkn_core.chaos.score_times import run_score_times
    from gkn_core.runs.reader import open_run

    kwargs: dict[str, Any] = {"times": times, "n": n}
    if options.get("seed") is not None:
        kwargs["seed"] = options["seed"]
    with progress_bar(quiet) as progress:
        task = progress.add_task(f"score {n} chains at {len(times)} times", total=None, metric="")

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = run_score_times(run_path, device=options.get("device"), progress=advance, **kwargs)
    name = write_score_times(run_path, result)
    with open_run(run_path) as run:
        record = read_score_times(run, name)
    stdout.print(score_times_table(record, f"scores against sampling time {name}: {n} chains"))
    stdout.print(best_times_line(record))
    stdout.print(f"wrote /scores_vs_time/{name} in {run_path} ({len(times)} times, {n} chains)")


def show_score_times(run: Any) -> None:
    """The scores-vs-time tables of a chaos run in `gkn runs show`."""
    from gkn_core.chaos.runfile import read_score_times, score_times_names

    for name in score_times_names(run):
        record = read_score_times(run, name)
        title = f"scores against sampling time {name}: {record.n} chains, checkpoint {record.checkpoint_step}"
        stdout.print(score_times_table(record, title))
        stdout.print(best_times_line(record))
