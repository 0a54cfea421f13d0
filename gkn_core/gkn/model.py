"""The Generative Kaleidoscopic Network: a deep MLP with a bounded output that learns x -> x.

Harsh Shrivastava (Microsoft Research), "Generative Kaleidoscopic Networks" (arXiv 2402.11793).
Trained on MSE(f(x), x), a deep ReLU MLP over-generalizes: inputs never seen are mapped close to the
outputs seen in training, so f is many-to-one with flat regions, more so with depth. Iterating the
frozen f on noise then gives samples.

`layers` counts Linear layers (L). L=1 is one Linear(D, D); L>=2 is Linear(D, H), L-2 x Linear(H, H),
Linear(H, D), with the hidden activation after every Linear but the last, which gets the bounded output
(Sigmoid for data in [0, 1], Tanh for data in [-1, 1]).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch
from torch import nn

from gkn_core.gkn.config import ModelConfig, ValueRange

HIDDEN_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "silu": nn.SiLU,
}
BOUNDED_OUTPUTS: dict[str, type[nn.Module]] = {"unit": nn.Sigmoid, "symmetric": nn.Tanh}


def layer_widths(dim: int, settings: ModelConfig) -> list[int]:
    """Inputs of the first Linear, then the outputs of each: D, H, ..., H, D (L Linear layers)."""
    return [dim] + [settings.hidden] * (settings.layers - 1) + [dim]


def parameter_count(dim: int, settings: ModelConfig) -> int:
    """Weights and biases of the network of `settings` on data of dimension `dim`, without building it."""
    return sum(n_in * n_out + n_out for n_in, n_out in itertools.pairwise(layer_widths(dim, settings)))


class KaleidoscopeMLP(nn.Module):
    def __init__(self, dim: int, settings: ModelConfig, value_range: ValueRange) -> None:
        super().__init__()
        self.dim = dim
        self.settings = settings
        self.value_range = value_range
        widths = layer_widths(dim, settings)
        modules: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
            modules.append(nn.Linear(n_in, n_out))
            is_last = i == len(widths) - 2
            modules.append(BOUNDED_OUTPUTS[value_range]() if is_last else self._hidden_activation())
        self.net = nn.Sequential(*modules)

    def _hidden_activation(self) -> nn.Module:
        return HIDDEN_ACTIVATIONS[self.settings.activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, D) -> (B, D)
        return self.net(x)

    def parameter_count(self) -> int:
        """Weights and biases, counted on the built network (equals `parameter_count(dim, settings)`)."""
        return sum(p.numel() for p in self.parameters())


def build_model(dim: int, settings: ModelConfig, value_range: ValueRange) -> KaleidoscopeMLP:
    return KaleidoscopeMLP(dim, settings, value_range)


def model_from_weights(config: Any, dim: int, tensors: dict[str, np.ndarray]) -> KaleidoscopeMLP:
    """The network of a run's settings with these weights (a safetensors export read back)."""
    model = build_model(dim, config.model, config.data.value_range)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()})
    return model.eval()
