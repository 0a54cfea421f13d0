"""The three chaotic rate networks of SPEC-NOTES section 2 (the equations are a *reconstruction*).

Every layer is a tensor of states (batch, N_layer); phi = tanh; Euler steps of size dt with time
constant tau (a = dt / tau):

    unrestricted (one layer x of Nv + Nh units, visible first):
        x <- x + a (-x + phi(x) (g J + A)^T + b)                 A symmetric, zero diagonal
    restricted2 (v: Nv, h: Nh):
        v <- v + a (-v + phi(h) (A + g W)^T + b)
        h <- h + a (-h + phi(v) (A^T + g W~)^T + c)
    restricted3 (v - h1 - h2): the same for each neighbouring pair, with A1, W1, W1~ and A2, W2, W2~;
        h1 gets input from v and from h2; biases b, c, d.

All layers update at once from the previous states. The fixed random couplings (J, W, W~) have
entries N(0, 1 / fan_in) times g, where fan_in is the number of units feeding the receiving layer
through random couplings, so g > 1 gives chaos in the large-N limit. The learned A and biases start
at 0. The clamped phase holds phi(v) at the data; the free phase runs every layer.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gkn_core.chaos.config import ChaosModelConfig
from gkn_core.chaos.phases import CHECK_EVERY, PhasePrograms, graphs_wanted, run_clamped, run_free
from gkn_core.tangent import RateNetworkMap

__all__ = ["CHECK_EVERY", "ChaoticRNN", "Pair", "build_chaos_model", "sample_visible"]


@dataclass
class Pair:
    """Couplings between a lower layer l and the layer u above it."""

    lower: int
    upper: int
    A: torch.Tensor  # (N_l, N_u), learned
    W_down: torch.Tensor  # g W: (N_l, N_u), input to l from u
    W_up: torch.Tensor  # g W~: (N_u, N_l), input to u from l


class ChaoticRNN:
    """A batch of networks sharing weights; states are lists of (batch, N_layer) tensors."""

    def __init__(
        self,
        settings: ChaosModelConfig,
        n_visible: int,
        device: torch.device | str = "cpu",
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        """The network of the settings; the same seed gives the same couplings in any dtype."""
        _ensure_room(settings, n_visible, device, dtype)
        arch = self.arch = settings.arch
        self.settings = settings
        self.n_visible = n_visible
        self.device = torch.device(device)
        self.dtype = dtype
        self.a = settings.dt / settings.tau
        g = settings.g
        gen = torch.Generator().manual_seed(seed)

        def normal(rows: int, cols: int, fan_in: int) -> torch.Tensor:
            values = torch.randn(rows, cols, generator=gen, dtype=torch.float64) * (g / fan_in**0.5)
            return values.to(device=self.device, dtype=dtype)

        def zeros(*shape: int) -> torch.Tensor:
            return torch.zeros(*shape, device=self.device, dtype=dtype)

        self.pairs: list[Pair] = []
        if arch == "unrestricted":
            n = n_visible + settings.Nh
            self.sizes = [n]
            self.J = normal(n, n, n)  # g J
            self.A = zeros(n, n)
        elif arch in ("restricted2", "restricted3"):
            self.sizes = [n_visible, settings.Nh] + ([settings.Nh2] if arch == "restricted3" else [])
            fan_in = [self.sizes[1]]
            for i in range(1, len(self.sizes)):
                fan_in.append(self.sizes[i - 1] + (self.sizes[i + 1] if i + 1 < len(self.sizes) else 0))
            for lo in range(len(self.sizes) - 1):
                up = lo + 1
                n_l, n_u = self.sizes[lo], self.sizes[up]
                self.pairs.append(
                    Pair(lo, up, zeros(n_l, n_u), normal(n_l, n_u, fan_in[lo]), normal(n_u, n_l, fan_in[up]))
                )
        else:
            raise ValueError(f"unknown architecture {arch!r}")
        self.biases = [zeros(n) for n in self.sizes]
        # the phases' programs, captured as CUDA graphs on a CUDA device (None: the eager loops)
        self._phases = PhasePrograms(capture=True) if graphs_wanted(self.device) else None
        self.refresh()

    # -- weights -----------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return sum(self.sizes)

    def refresh(self) -> None:
        """Rebuild the effective coupling matrices after A changed (right-multiplied by phi rows)."""
        if self.arch == "unrestricted":
            self._eff = (self.J + self.A).T.contiguous()
        else:
            self._down = [(p.A + p.W_down).T.contiguous() for p in self.pairs]  # (N_u, N_l)
            self._up = [(p.A + p.W_up.T).contiguous() for p in self.pairs]  # (N_l, N_u)
        self._fused: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # free-phase buffers by batch
        if self.arch == "unrestricted":
            self._fused_mats = [torch.cat([self._eff, self.biases[0][None]])]  # (N + 1, N)
        elif self.arch == "restricted2":
            # [1 | phi(h)] @ [b; down] and [phi(v) | 1] @ [up; c]: the bias rides in the product
            self._fused_mats = [
                torch.cat([self.biases[0][None], self._down[0]]),
                torch.cat([self._up[0], self.biases[1][None]]),
            ]

    def _copy_biases_into_fused(self) -> None:
        """The bias rows of the fused matrices from the live biases (a few hundred values), so the free
        phase always runs with the biases as they are now, not as they were at the last refresh."""
        if self.arch == "unrestricted":
            self._fused_mats[0][-1].copy_(self.biases[0])
        elif self.arch == "restricted2":
            self._fused_mats[0][0].copy_(self.biases[0])
            self._fused_mats[1][-1].copy_(self.biases[1])

    def weights(self) -> dict[str, torch.Tensor]:
        """Every array of the model by name (fixed and learned), for a checkpoint."""
        out: dict[str, torch.Tensor] = {}
        if self.arch == "unrestricted":
            out.update(J=self.J, A=self.A)
        else:
            for i, p in enumerate(self.pairs, start=1):
                out.update({f"A{i}": p.A, f"W{i}": p.W_down, f"Wt{i}": p.W_up})
        for name, bias in zip(("b", "c", "d"), self.biases, strict=False):
            out[name] = bias
        return out

    def load_weights(self, weights: dict[str, np.ndarray | torch.Tensor]) -> None:
        def put(target: torch.Tensor, name: str) -> None:
            value = torch.as_tensor(np.asarray(weights[name]))
            if tuple(value.shape) != tuple(target.shape):
                raise ValueError(
                    f"weight {name} has shape {tuple(value.shape)}, expected {tuple(target.shape)}"
                )
            target.copy_(value.to(target))

        for name, target in self.weights().items():
            put(target, name)
        self.refresh()

    # -- dynamics ------------------------------------------------------------------------------------
    def random_state(self, batch: int, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Initial states x(0) ~ N(0, 1) for every layer."""
        return [
            torch.randn(batch, n, generator=generator, device=self.device, dtype=self.dtype)
            for n in self.sizes
        ]

    def inputs(self, phis: list[torch.Tensor], clamped: bool = False) -> list[torch.Tensor | None]:
        """The input currents (couplings times rates plus bias) to every layer.

        clamped: the visible layer of a restricted model is held, so its current is not computed.
        """
        if self.arch == "unrestricted":
            return [torch.addmm(self.biases[0], phis[0], self._eff)]
        currents: list[torch.Tensor | None] = [None] * len(self.sizes)
        for i, p in enumerate(self.pairs):
            if not (clamped and p.lower == 0):
                currents[p.lower] = _add_product(
                    currents[p.lower], self.biases[p.lower], phis[p.upper], self._down[i]
                )
            currents[p.upper] = _add_product(
                currents[p.upper], self.biases[p.upper], phis[p.lower], self._up[i]
            )
        return currents

    def _sources(self, clamped: bool) -> list[list[tuple[int, torch.Tensor]]]:
        """For each layer, the (source layer, coupling matrix) pairs of its input; none for a
        clamped visible layer of a restricted model."""
        if self.arch == "unrestricted":
            return [[(0, self._eff)]]
        sources: list[list[tuple[int, torch.Tensor]]] = [[] for _ in self.sizes]
        for i, p in enumerate(self.pairs):
            if not (clamped and p.lower == 0):
                sources[p.lower].append((p.upper, self._down[i]))
            sources[p.upper].append((p.lower, self._up[i]))
        return sources

    def phis(self, states: list[torch.Tensor], clamp: torch.Tensor | None = None) -> list[torch.Tensor]:
        phis = [torch.tanh(x) for x in states]
        if clamp is not None:
            if self.arch == "unrestricted":
                phis[0] = torch.cat([clamp, phis[0][:, self.n_visible :]], dim=1)
            else:
                phis[0] = clamp
        return phis

    def step(self, states: list[torch.Tensor], clamp: torch.Tensor | None = None) -> list[torch.Tensor]:
        """One Euler step of every layer (functional: differentiable, inputs untouched)."""
        currents = self.inputs(self.phis(states, clamp), clamp is not None)
        return [x if i is None else x + self.a * (i - x) for x, i in zip(states, currents, strict=True)]

    def flat_step(self, flat: torch.Tensor) -> torch.Tensor:
        """The free dynamics as a map of concatenated states (batch, sum of sizes): for Lyapunov."""
        states = list(torch.split(flat, self.sizes, dim=1))
        return torch.cat(self.step(states), dim=1)

    def euler_map(self, dtype: torch.dtype | None = None) -> RateNetworkMap:
        """The free dynamics as a map of concatenated states with its analytic tangent (for
        Lyapunov spectra); dtype: compute in that dtype (the couplings are copied once)."""
        couplings = [(dst, src, m) for dst, inputs in enumerate(self._sources(False)) for src, m in inputs]
        return RateNetworkMap(self.sizes, couplings, self.biases, self.a, dtype)

    @torch.no_grad()
    def run(
        self,
        states: list[torch.Tensor],
        n_steps: int,
        clamp: torch.Tensor | None = None,
        record: tuple[int, torch.Tensor] | None = None,
        check: Callable[[], None] | None = None,
    ) -> list[torch.Tensor]:
        """Run n_steps in place (the given tensors are overwritten) and return the final states.

        check: called every CHECK_EVERY Euler steps (a job's `check_stop`, which raises to give up a
        step once Stop was asked): a long phase answers Stop within a few Euler steps.

        record: (chains, unit indices into the concatenated state); then returns also fill
        self.last_recording with (chains, n_steps + 1, units) states, the start included.
        """
        a = self.a
        if clamp is None and record is None and self.arch in ("unrestricted", "restricted2"):
            return run_free(self, states, n_steps, check)
        if clamp is not None and record is None and self.arch == "restricted2":
            # the hidden layer under the constant input phi(v) = data has a closed form: one product
            return run_clamped(self, states, clamp, n_steps, check)
        frames = []
        if record is not None:
            chains, units = record
            frames.append(torch.cat(states, dim=1)[:chains, units].clone())
        sources = self._sources(clamp is not None)
        scaled_bias = [a * b for b in self.biases]
        for i in range(n_steps):
            if check is not None and i % CHECK_EVERY == 0:
                check()
            phis = self.phis(states, clamp)
            # x <- (1 - a) x + a (sum of rates @ couplings) + a bias, fused into in-place products
            for layer, inputs in enumerate(sources):
                if not inputs:
                    continue
                x = states[layer]
                for i, (src, matrix) in enumerate(inputs):
                    x.addmm_(phis[src], matrix, beta=(1 - a) if i == 0 else 1.0, alpha=a)
                x.add_(scaled_bias[layer])
            if record is not None:
                frames.append(torch.cat(states, dim=1)[:chains, units].clone())
        if record is not None:
            self.last_recording = torch.stack(frames, dim=1)
        return states

    def visible_rates(self, states: list[torch.Tensor]) -> torch.Tensor:
        return torch.tanh(states[0][:, : self.n_visible])

    # -- learning ------------------------------------------------------------------------------------
    @torch.no_grad()
    def hebbian_update(
        self, clamped: list[torch.Tensor], free: list[torch.Tensor], k: float, data: torch.Tensor
    ) -> float:
        """Contrastive Hebbian update from the phase-end states; returns the RMS correlation gap.

        A gap that is not finite (NaN or inf states) is returned without changing any weight, so the
        model keeps its last good weights.
        """
        pc, pf = self.phis(clamped, data), self.phis(free)
        mc, mf = pc[0].shape[0], pf[0].shape[0]
        updates: list[tuple[torch.Tensor, torch.Tensor]] = []
        if self.arch == "unrestricted":
            delta = pc[0].T @ pc[0] / mc - pf[0].T @ pf[0] / mf
            delta.fill_diagonal_(0.0)
            updates.append((self.A, delta))
        else:
            for p in self.pairs:
                updates.append((p.A, pc[p.lower].T @ pc[p.upper] / mc - pf[p.lower].T @ pf[p.upper] / mf))
        gap = float(torch.stack([delta.square().mean() for _, delta in updates]).mean().sqrt())
        if not math.isfinite(gap):
            return gap
        for target, delta in updates:
            target.add_(delta, alpha=k)
        for bias, c, f in zip(self.biases, pc, pf, strict=True):
            bias.add_(c.mean(0) - f.mean(0), alpha=k)
        self.refresh()
        return gap


def _add_product(
    current: torch.Tensor | None, bias: torch.Tensor, rates: torch.Tensor, matrix: torch.Tensor
) -> torch.Tensor:
    if current is None:
        return torch.addmm(bias, rates, matrix)
    return current.addmm_(rates, matrix) if not torch.is_grad_enabled() else current + rates @ matrix


def _ensure_room(
    settings: ChaosModelConfig, n_visible: int, device: torch.device | str, dtype: torch.dtype
) -> None:
    from gkn_core.job import ensure_memory

    sizes = [n_visible + settings.Nh] if settings.arch == "unrestricted" else [n_visible, settings.Nh]
    if settings.arch == "restricted3":
        sizes.append(settings.Nh2)
    couplings = 2 * sizes[0] ** 2 if len(sizes) == 1 else sum(3 * a * b for a, b in itertools.pairwise(sizes))
    itemsize = torch.empty((), dtype=dtype).element_size()
    # the couplings, their effective copies, and float64 construction of the random ones
    ensure_memory(4 * itemsize * couplings, device, f"this {settings.arch} network")


build_chaos_model = ChaoticRNN  # the name the rest of the product builds networks by


@torch.no_grad()
def sample_visible(
    model: ChaoticRNN,
    n: int,
    n_steps: int,
    generator: torch.Generator | None = None,
    chunk: int = 4096,
    check: Callable[[], None] | None = None,
) -> torch.Tensor:
    """n samples phi(v(T)) from random initial states, in chunks of `chunk` chains (check: see run)."""
    out = []
    for start in range(0, n, chunk):
        states = model.run(model.random_state(min(chunk, n - start), generator), n_steps, check=check)
        out.append(model.visible_rates(states))
    return torch.cat(out)


def model_from_weights(config: Any, dim: int, tensors: dict[str, np.ndarray]) -> ChaoticRNN:
    """The network of a run's settings with these weights (a safetensors export read back)."""
    model = build_chaos_model(config.model, dim, "cpu", seed=config.seed)
    model.load_weights(tensors)
    return model
