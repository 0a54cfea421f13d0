"""Chaos sample scores against sampling time, from the same chains (issue #14.3).

The paper says sample quality peaks at a sampling time near the training T. `score_times` runs the
free dynamics of n chains ONCE from random initial states x(0) ~ N(0, 1) and reads phi(v(t)) of the
same chains at every time of `times`, then scores each time's samples.

Times are in the model's time units, the units of T, tau and dt (t = steps * dt): with the presets'
tau = 10, dt = 1 and T = 100, the default times 10, 25, 50, 100, 200, 400 are 1 to 40 tau, and the
training T (100) is among them. A time is rounded to a whole number of Euler steps (at least 1).

Memory stays bounded by `batch` chains at a time (10,000 chains in batches of 1000 never hold more
than one batch of states). Every score is computed from batches, exactly or on a bounded subsample:
- E^(2) and E^(s): exact, from streamed first and second moments of the samples (sum of phi and of
  phi^T phi per time; d x d numbers): the covariance gives E^(2), and the singular values of the centred
  sample matrix / sqrt(n) are the square roots of the eigenvalues of (n - 1) / n times the covariance.
  Same definitions as gkn_core.chaos.scores (tested against it).
- E^(R): exact, zlib level 9 streamed over the batches (a compressobj per time), against the same
  number of data rows compressed the same way (the score data are cycled when n exceeds them).
- AAI (AAI_data, AAI_gen): nearest neighbours need all rows at once, so it uses a bounded subsample:
  the first `aai_rows` chains (default 2000) against as many score-data rows (scores.aai).
- class score (digit score of 8x8 / 28x28 images): exact, counts summed over batches.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gkn_core.chaos.models import ChaoticRNN
from gkn_core.chaos.scores import SCORE_NAMES, aai
from gkn_core.errors import ConfigError

DEFAULT_TIMES = (10.0, 25.0, 50.0, 100.0, 200.0, 400.0)
CLASS_NAMES = ("class_score", "class_entropy")
# Which way is better for each score: the distance to this ideal value is minimised.
IDEAL = {"E2": 0.0, "Es": 0.0, "ER": 0.0, "AAI": 0.5, "AAI_data": 0.5, "AAI_gen": 0.5}
MAX_CHAINS = 1_000_000


@dataclass(frozen=True)
class ScoreTimes:
    """Scores of the same chains at each sampling time (arrays of len(times))."""

    times: np.ndarray  # model time units (as T)
    steps: np.ndarray  # Euler steps from the start
    scores: dict[str, np.ndarray]  # SCORE_NAMES and CLASS_NAMES (NaN when the data have no classifier)
    n: int  # chains scored
    aai_rows: int  # rows of the AAI subsample
    training_T: float
    seed: int
    checkpoint_step: int = -1  # the weights scored (-1: not from a run file)
    dataset_name: str = ""  # the data set trained on, which chose the class score

    def best(self, name: str) -> tuple[float, float]:
        """(time, value) where the score is best: nearest its ideal, or highest for the class score."""
        values = self.scores[name]
        if not np.isfinite(values).any():
            return math.nan, math.nan
        goodness = values if name == "class_score" else -np.abs(values - IDEAL.get(name, 0.0))
        i = int(np.nanargmax(goodness))
        return float(self.times[i]), float(values[i])


def time_steps(times: Sequence[float], dt: float) -> np.ndarray:
    """Euler steps of each time (rounded, at least 1); ConfigError unless increasing and positive."""
    t = np.asarray(list(times), dtype=np.float64)
    if t.size == 0 or not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ConfigError("score times: give one or more positive times, e.g. 10,25,50,100,200,400")
    steps = np.maximum(1, np.round(t / dt)).astype(np.int64)
    if np.any(np.diff(steps) <= 0):
        raise ConfigError(f"score times must increase by at least one step dt={dt:g}: {list(t)}")
    return steps


def chains_at_times(
    model: ChaoticRNN, n: int, steps: Sequence[int], seed: int, batch: int = 1000
) -> Iterator[tuple[int, int, torch.Tensor]]:
    """(batch start, time index, phi(v) of that batch's chains at that time), batch by batch.

    One batch of chains runs from its random start through every time in turn, so each time's
    samples are the same chains later. The initial states of batch b are drawn from a generator
    seeded with seed + b, so a batch's chains do not depend on how many batches follow it.
    """
    for b, start in enumerate(range(0, n, batch)):
        size = min(batch, n - start)
        generator = torch.Generator(device=model.device).manual_seed(seed + b)
        states = model.random_state(size, generator)
        done = 0
        for i, step in enumerate(steps):
            model.run(states, int(step) - done)
            done = int(step)
            yield start, i, model.visible_rates(states)
        del states


class _Moments:
    """Streamed sum and sum of outer products of sample rows (float64)."""

    def __init__(self, d: int) -> None:
        self.n = 0
        self.s1 = torch.zeros(d, dtype=torch.float64)
        self.s2 = torch.zeros(d, d, dtype=torch.float64)

    def add(self, x: torch.Tensor) -> None:
        x = x.detach().to("cpu", torch.float64)
        self.n += x.shape[0]
        self.s1 += x.sum(0)
        self.s2 += x.T @ x

    def covariance(self) -> torch.Tensor:
        mean = self.s1 / self.n
        return (self.s2 - self.n * torch.outer(mean, mean)) / max(1, self.n - 1)

    def spectrum(self) -> torch.Tensor:
        """Singular values of the centred sample matrix / sqrt(n), descending, min(n, d) of them."""
        scatter = self.covariance() * (max(1, self.n - 1) / self.n)
        eig = torch.linalg.eigvalsh(scatter).clamp_min(0).flip(0)
        return eig[: min(self.n, eig.numel())].sqrt()


def _quantised(x: np.ndarray) -> bytes:
    return np.clip(np.round((x + 1) * 127.5), 0, 255).astype(np.uint8).tobytes()


def _data_compressed_size(data: np.ndarray, n: int, batch: int) -> int:
    compressor = zlib.compressobj(9)
    size = 0
    for start in range(0, n, batch):
        rows = np.take(data, np.arange(start, min(n, start + batch)) % len(data), axis=0)
        size += len(compressor.compress(_quantised(rows)))
    return size + len(compressor.flush())


def score_times(
    model: ChaoticRNN,
    data: np.ndarray | torch.Tensor,
    times: Sequence[float] = DEFAULT_TIMES,
    n: int = 1000,
    seed: int = 0,
    batch: int = 1000,
    aai_rows: int = 2000,
    dataset_name: str | None = None,
    training_T: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScoreTimes:
    """Every score of n chains of `model` at each time of `times`, from the same chains.

    data: the score data in [-1, 1] (rows, Nv). dataset_name: the data set trained on (its data
    source); digits8/mnist add the digit score, fashion/fashion8 the item score, anything else NaN.
    progress(done, total): called after each batch reaches each time (total = batches x times).
    """
    from gkn_core.class_score import CLASS_SCORES, CONFIDENCE, REJECT, class_probabilities

    if not 1 <= n <= MAX_CHAINS or batch < 1 or aai_rows < 2:
        raise ConfigError(f"score times: n must be 1..{MAX_CHAINS}, batch >= 1, aai_rows >= 2")
    steps = time_steps(times, model.settings.dt)
    data_np = np.asarray(data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else data, np.float32)
    d = model.n_visible
    k = len(steps)
    moments = [_Moments(d) for _ in range(k)]
    compressors = [zlib.compressobj(9) for _ in range(k)]
    compressed = [0] * k
    rows_aai = min(aai_rows, n, len(data_np))
    aai_samples = [np.empty((rows_aai, d), np.float32) for _ in range(k)]
    classifier = CLASS_SCORES.get(dataset_name or "", (None, ""))[0]
    classify = classifier is not None
    histograms = np.zeros((k, 10), np.int64)
    confident = np.zeros(k, np.int64)
    total = math.ceil(n / batch) * k
    for done, (start, i, rates) in enumerate(chains_at_times(model, n, steps, seed, batch), 1):
        moments[i].add(rates)
        x = rates.detach().cpu().numpy()
        compressed[i] += len(compressors[i].compress(_quantised(x)))
        if start < rows_aai:
            take = min(len(x), rows_aai - start)
            aai_samples[i][start : start + take] = x[:take]
        if classify:
            p = class_probabilities(x, classifier, "symmetric")
            winner = p.argmax(axis=1)
            sure = (winner != REJECT) & (p.max(axis=1) > CONFIDENCE)
            histograms[i] += np.bincount(winner[sure], minlength=11)[:10]
            confident[i] += int(sure.sum())
        if progress is not None:
            progress(done, total)
    data_t = torch.from_numpy(np.array(data_np[: max(2, min(len(data_np), 10_000))]))
    data_cov = _Moments(d)
    data_cov.add(data_t)
    c_data, s_data = data_cov.covariance(), data_cov.spectrum()
    data_size = _data_compressed_size(data_np, n, batch)
    out: dict[str, list[float]] = {name: [] for name in (*SCORE_NAMES, *CLASS_NAMES)}
    for i in range(k):
        compressed[i] += len(compressors[i].flush())
        out["E2"].append(float((c_data - moments[i].covariance()).square().mean()))
        ss = moments[i].spectrum()
        m = max(len(ss), len(s_data))
        pad = torch.nn.functional.pad
        out["Es"].append(
            float((pad(s_data, (0, m - len(s_data))) - pad(ss, (0, m - len(ss)))).square().mean())
        )
        out["ER"].append(compressed[i] / data_size - 1.0)
        a_data, a_gen = aai(data_np[:rows_aai], aai_samples[i])
        out["AAI"].append((a_data + a_gen) / 2)
        out["AAI_data"].append(a_data)
        out["AAI_gen"].append(a_gen)
        if classify:
            total = histograms[i].sum()
            q = histograms[i][histograms[i] > 0] / max(1, total)
            out["class_score"].append(confident[i] / n)
            out["class_entropy"].append(float(-(q * np.log(q)).sum()) if total else 0.0)
        else:
            out["class_score"].append(math.nan)
            out["class_entropy"].append(math.nan)
    T = float(training_T if training_T is not None else model.settings.T)
    return ScoreTimes(
        times=np.asarray(steps * model.settings.dt, dtype=np.float64),
        steps=steps,
        scores={name: np.asarray(values, dtype=np.float64) for name, values in out.items()},
        n=n,
        aai_rows=rows_aai,
        training_T=T,
        seed=seed,
        dataset_name=dataset_name or "",
    )


def run_score_times(
    run_path: Any, untrained: bool = False, device: str | None = None, **kwargs: Any
) -> ScoreTimes:
    """score_times of a chaos run's newest checkpoint (or, untrained=True, of the network of the same
    seed before training), against the run's own data (the first 10,000 rows)."""
    import dataclasses

    from gkn_core.chaos.models import build_chaos_model
    from gkn_core.chaos.runfile import load_chaos_model
    from gkn_core.chaos.train import load_chaos_dataset
    from gkn_core.device import resolve_device
    from gkn_core.runs.reader import open_run

    with open_run(run_path) as run:
        if run.kind != "chaos":
            raise ConfigError(f"{run_path} is a {run.kind} run; score times need a chaos run")
        config = run.config
        model, step = load_chaos_model(run, device=resolve_device(device or config.device))
    if untrained:
        model = build_chaos_model(config.model, model.n_visible, model.device, seed=config.seed)
    data = load_chaos_dataset(config.data).x
    kwargs.setdefault("seed", config.seed + 5000)
    result = score_times(model, data, dataset_name=config.data.source, training_T=config.model.T, **kwargs)
    return dataclasses.replace(result, checkpoint_step=-1 if untrained else step)


def best_time_verdict(trained: ScoreTimes, untrained: ScoreTimes | None = None, factor: float = 2.0) -> dict:
    """Is each score best near the training T? Per score: the best time and value, whether the best
    time lies within `factor` of T (T / factor <= t <= T * factor), the value at T, and the untrained
    network's values at the same times."""
    T = trained.training_T
    at_T = int(np.argmin(np.abs(trained.times - T)))
    out: dict[str, Any] = {"training_T": T, "factor": factor, "times": trained.times.tolist(), "scores": {}}
    for name, values in trained.scores.items():
        if not np.isfinite(values).any():
            continue
        t_best, v_best = trained.best(name)
        out["scores"][name] = {
            "best_time": t_best,
            "best_value": v_best,
            "value_at_T": float(values[at_T]),
            "within_factor": bool(T / factor <= t_best <= T * factor),
            "values": values.tolist(),
            "untrained": None if untrained is None else untrained.scores[name].tolist(),
        }
    return out
