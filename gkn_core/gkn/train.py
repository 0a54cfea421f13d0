"""Training a GKN: minimise MSE(f(x), x) with Adam, one optimizer step per job step."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gkn_core.data import Dataset
from gkn_core.device import resolve_device
from gkn_core.errors import Diverged
from gkn_core.gkn.config import GKNConfig
from gkn_core.gkn.manifolds import Manifold1D, Manifold2D, manifold_snapshot
from gkn_core.gkn.model import KaleidoscopeMLP, build_model, parameter_count
from gkn_core.job import Checkpoint, Job, ensure_memory, frozen_array


@dataclass(frozen=True)
class TrainSnapshot:
    step: int  # optimizer steps done, 1..total_steps
    total_steps: int
    loss: float  # batch loss of this step, measured before its update
    best_loss: float
    elapsed: float  # seconds since the job started
    manifold: Manifold1D | Manifold2D | None = None
    checkpoint: Checkpoint | None = None


class TrainingDiverged(Diverged):
    """The loss stopped being a finite number. Carries the last good weights."""

    checkpoint: Checkpoint | None


def weights_of(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def seeded_model(config: GKNConfig, dim: int, device: torch.device) -> KaleidoscopeMLP:
    """The initial network of a run: the same seed gives the same weights, on any thread."""
    # weights, gradients and Adam's two moments, in float32
    ensure_memory(16 * parameter_count(dim, config.model), device, "this model with its optimizer")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build_model(dim, config.model, config.data.value_range)
    return model.to(device)


class GKNTrainingJob(Job[TrainSnapshot]):
    def __init__(self, config: GKNConfig, dataset: Dataset, device: torch.device | None = None):
        super().__init__()
        self.config = config
        self.dataset = dataset
        self.device = device if device is not None else resolve_device(config.device)
        self.total_steps = config.train.steps
        self.model = seeded_model(config, dataset.dim, self.device)
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=config.train.lr, betas=(0.9, 0.999), foreach=True
        )
        self.loss_fn = nn.MSELoss()
        self.data = torch.from_numpy(np.array(dataset.x)).to(self.device)
        self._batch_rng = torch.Generator().manual_seed(config.seed + 1)
        self._order = torch.empty(0, dtype=torch.int64)
        self.best_loss = math.inf
        self.best_step = 0
        # The best weights so far, in buffers made once: a better loss copies the weights into them
        # in one foreach copy, not a new tensor per weight per step.
        self._weights = self.model.state_dict()  # the model's own tensors (updated in place)
        self._best_weights = weights_of(self.model)
        self._best_from, self._best_to = list(self._weights.values()), list(self._best_weights.values())
        self._draws_manifold = dataset.dim <= 2

    def _next_batch(self) -> torch.Tensor:
        """Full batch, or the next slice of a shuffled epoch."""
        size = self.config.train.batch_size
        n = self.data.shape[0]
        if size is None or size >= n:
            return self.data
        if self._order.numel() < size:
            self._order = torch.cat([self._order, torch.randperm(n, generator=self._batch_rng)])
        index, self._order = self._order[:size], self._order[size:]
        return self.data[index.to(self.device)]

    def _advance(self) -> TrainSnapshot:
        step = self.steps_done + 1
        batch = self._next_batch()
        loss = self.loss_fn(self.model(batch), batch)
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            raise TrainingDiverged(
                f"training diverged: the loss became {loss_value} at step {step} (try a smaller lr)",
                self.best_checkpoint(),
            )
        if loss_value < self.best_loss:
            # These are the weights that scored this loss: the ones before this step's update.
            # Kept even without keep_best: they are the last good weights if training diverges.
            self.best_loss, self.best_step = loss_value, self.steps_done
            with torch.no_grad():
                torch._foreach_copy_(self._best_to, self._best_from)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

        last = step == self.total_steps
        if last and self.config.train.keep_best:
            self.model.load_state_dict(self._best_weights)
        checkpoint = None
        if last or step % self.config.train.checkpoint_every == 0:
            checkpoint = self.model_checkpoint(step, loss_value)
        manifold = None
        if self._draws_manifold and (step == 1 or last or step % self.config.train.manifold_every == 0):
            manifold = self.manifold()
        return TrainSnapshot(
            step, self.total_steps, loss_value, self.best_loss, self.elapsed, manifold, checkpoint
        )

    def model_checkpoint(self, step: int, last_loss: float) -> Checkpoint:
        """The weights a run would keep if it ended now: the best so far, or the current ones."""
        if self.config.train.keep_best:
            return self.best_checkpoint()
        return Checkpoint(step, last_loss, {k: frozen_array(v) for k, v in weights_of(self.model).items()})

    def best_checkpoint(self) -> Checkpoint:
        loss = self.best_loss if math.isfinite(self.best_loss) else float("nan")
        weights = {k: frozen_array(v) for k, v in self._best_weights.items()}
        return Checkpoint(self.best_step, loss, weights)

    def manifold(self) -> Manifold1D | Manifold2D | None:
        return manifold_snapshot(
            self.model,
            self.dataset.dim,
            self.dataset.low,
            self.dataset.high,
            self.config.train.manifold_grid,
        )
