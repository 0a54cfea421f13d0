"""The chaos family's sweep kinds (gkn_core.families): `chaos` (train, then measure the run file's
scores and exponents) and `lyapunov` (an untrained network's spectrum, no run file), with their end
metrics. Every metric is one number per job; NaN where it does not apply.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import torch
from pydantic import Field, model_validator

from gkn_core.chaos.analysis import SpectrumSettings
from gkn_core.chaos.config import ChaosModelConfig
from gkn_core.chaos.scores import DIGIT_SCORE_NAMES, SCORE_NAMES
from gkn_core.errors import ConfigError
from gkn_core.job import SweepTask
from gkn_core.settings import DeviceName, Settings, merge_settings, preset_table

# Pixels of the data each chaos preset names: the visible size of an untrained network built from it.
CHAOS_VISIBLE_UNITS = {"digits8": 64, "mnist": 784, "fashion": 784, "fashion8": 64}

CHAOS_METRICS = {
    "E2": "covariance score E^(2) at the last step (0 is ideal)",
    "Es": "spectrum score E^(s) at the last step (0 is ideal)",
    "ER": "entropy score E^(R) at the last step (0 is ideal)",
    "AAI": "adversarial accuracy indicator at the last step (0.5 is ideal)",
    "AAI_data": "AAI of the data rows at the last step",
    "AAI_gen": "AAI of the samples at the last step",
    "digit": "class score (digit score on digits8/mnist, item score on fashion/fashion8; NaN on other "
    "data): fraction of samples read as a digit/item with confidence > 0.9",
    "digit_entropy": "entropy of the classes of those samples (ln 10 = 2.30 is perfect)",
    "lyapunov_before": "largest Lyapunov exponent per tau of the untrained network",
    "lyapunov_after": "largest Lyapunov exponent per tau of the trained network",
}
LYAPUNOV_METRICS = {
    "largest": "largest Lyapunov exponent per tau",
    "participation_ratio": "participation ratio of the positive exponents measured",
    "kaplan_yorke_dim": "Kaplan-Yorke dimension of the exponents measured",
}


class LyapunovJobConfig(Settings):
    """An untrained chaotic network and how to measure its spectrum (the `lyapunov` sweep kind)."""

    preset: str | None = None
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    device: DeviceName = "auto"
    nv: Annotated[int, Field(ge=1, le=65536)] = 64  # visible units (the data's pixels when trained)
    model: ChaosModelConfig = ChaosModelConfig()
    # The sweep kind's base settings measure only the largest exponent unless a sweep asks for more.
    lyapunov: SpectrumSettings = SpectrumSettings()

    @model_validator(mode="after")
    def _exponents_fit(self) -> LyapunovJobConfig:
        units = self.nv + self.model.Nh + (self.model.Nh2 if self.model.arch == "restricted3" else 0)
        if self.lyapunov.exponents is not None and self.lyapunov.exponents > units:
            raise ValueError(f"lyapunov.exponents ({self.lyapunov.exponents}) exceeds the {units} units")
        return self


def untrained_base_settings(preset: str | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """An untrained network: the model section of a chaos preset, sized like that preset's data."""
    base: dict[str, Any] = {"lyapunov": {"exponents": 1}}
    if preset is not None:
        table = preset_table("chaos.toml")
        if preset not in table:
            raise ConfigError(f"preset: unknown chaos preset {preset!r} (known: {', '.join(table)})")
        source = table[preset].get("data", {}).get("source")
        base.update(preset=preset, model=dict(table[preset].get("model", {})))
        if source in CHAOS_VISIBLE_UNITS:
            base["nv"] = CHAOS_VISIBLE_UNITS[source]
    return merge_settings(base, overrides)


def chaos_metrics(run: Any, names: tuple[str, ...], device: torch.device) -> dict:
    """The chaos end metrics `names` of an open, finished chaos run."""
    from gkn_core.chaos.analysis import largest_exponent
    from gkn_core.chaos.models import build_chaos_model
    from gkn_core.chaos.runfile import chaos_series, load_chaos_model

    out: dict[str, float] = {}
    scores = chaos_series(run, "train/scores")
    has_scores = bool(scores) and len(scores.get("step", [])) > 0
    for name in (*SCORE_NAMES, *DIGIT_SCORE_NAMES):
        if name in names:
            # The job scores its samples at the last step, so the last row is the end value.
            out[name] = float(scores[name][-1]) if has_scores and name in scores else math.nan
    config = run.config
    train = config.train

    def largest(model: Any) -> float:
        # The settings and seed the training job measures with, so `after` equals its last row.
        estimate = largest_exponent(
            model, train.lyapunov_steps, model.settings.n_steps, train.lyapunov_chains, seed=config.seed
        )
        return estimate.value

    if "lyapunov_before" in names:
        out["lyapunov_before"] = largest(build_chaos_model(config.model, run.dim, device, seed=config.seed))
    if "lyapunov_after" in names:
        model, _ = load_chaos_model(run, device=device)
        out["lyapunov_after"] = largest(model)
    return out


# -- untrained networks ----------------------------------------------------------------------------
def untrained_spectrum(config: Any, device: torch.device) -> torch.Tensor:
    """The k largest exponents per tau of an untrained network (a LyapunovJobConfig), averaged over
    chains: the same function, seeds and steps as `gkn lyapunov --untrained`, so the numbers agree."""
    from gkn_core.chaos.analysis import network_spectrum
    from gkn_core.chaos.models import build_chaos_model

    s = config.lyapunov
    model = build_chaos_model(config.model, config.nv, device, config.seed)
    seed = config.seed if s.seed is None else s.seed
    k, transient = s.exponents_for(model.dim), s.transient_for(model)
    return network_spectrum(model, k, s.steps, transient, s.chains, s.renorm_every, seed).mean(0)


def lyapunov_metrics(config: Any, names: tuple[str, ...], device: torch.device) -> dict:
    from gkn_core.lyapunov import kaplan_yorke_dimension, participation_ratio

    mean = untrained_spectrum(config, device)
    out = {"largest": float(mean[0])}
    if "participation_ratio" in names:
        out["participation_ratio"] = float(participation_ratio(mean))
    if "kaplan_yorke_dim" in names:
        out["kaplan_yorke_dim"] = float(kaplan_yorke_dimension(mean))
    return {k: v for k, v in out.items() if k in names}


def run_sweep_job(task: SweepTask) -> tuple[dict, str]:
    """One chaos sweep job: train unless the run file is complete already, then measure it."""
    from gkn_core.chaos.sessions import chaos_training_session
    from gkn_core.device import resolve_device
    from gkn_core.runs.reader import open_run

    if task.train:
        task.drive(*chaos_training_session(task.config, task.run_path, overwrite=True))
    with open_run(task.run_path) as run:
        metrics = chaos_metrics(run, task.metrics, resolve_device(task.config.device))
        return metrics, str(run.info.get("device", ""))


def run_lyapunov_job(task: SweepTask) -> tuple[dict, str]:
    """One lyapunov sweep job: the spectrum of an untrained network; no run file."""
    from gkn_core.device import describe_device, resolve_device

    device = resolve_device(task.config.device)
    return lyapunov_metrics(task.config, task.metrics, device), describe_device(device)
