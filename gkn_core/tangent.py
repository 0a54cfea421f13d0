"""Euler steps of layered rate networks and their analytic tangent map, for Lyapunov spectra.

A network of layers l with states x_l (batch, N_l), rates phi = tanh, couplings M (N_src, N_dst)
that right-multiply the rates, biases b_l and a = dt / tau:

    x_l' = (1 - a) x_l + a (sum over couplings into l of phi(x_src) M + b_l)

Its Jacobian applied to a tangent vector v (the same blocks) is

    (J v)_l = (1 - a) v_l + a sum over couplings into l of (phi'(x_src) * v_src) M

so the state and the k tangent vectors of every trajectory go through the SAME matrix product:
they are kept as the columns of one buffer Z (N, batch, 1 + k), column 0 of each trajectory the
state and columns 1..k its frame, and each coupling is one in-place `addmm` (beta = 1 - a,
alpha = a) of the receiving layer's rows, a contiguous (N_dst, batch * (1 + k)) block, with the
transposed coupling times the source layer's block. Units as rows and the batch * (1 + k) vectors as
the long side is the shape BLAS runs fastest (measured on this project's CPU in float64, one
thread: 0.32 ms against 0.43 ms for (1320 x 100) @ (100 x 64) with vectors as rows). No automatic
differentiation, no second evaluation of the step.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch


def tanh_into(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """out = tanh(x) without allocating. On the CPU through numpy's tanh, which is correctly rounded
    to about an ulp like torch's and measured 30-50x faster on this project's CPUs with torch 2.13
    (6 us against 330 us for 200 x 165 float32 values), so the tanh no longer costs more than the
    products of an Euler step. x and out must not require grad."""
    if x.device.type == "cpu" and not (x.requires_grad or out.requires_grad):
        np.tanh(x.numpy(), out=out.numpy())
    else:
        torch.tanh(x, out=out)
    return out


Coupling = tuple[int, int, torch.Tensor]  # (receiving layer, source layer, matrix (N_src, N_dst))


class RateNetworkMap:
    """The free Euler step of a rate network as a map of concatenated states (batch, sum N_l), with
    `tangent` for gkn_core.lyapunov. Holds references to the matrices given (build a new map after
    the network's couplings change) and one state-and-frame buffer: one spectrum per map at a time."""

    def __init__(
        self,
        sizes: list[int],
        couplings: list[Coupling],
        biases: list[torch.Tensor],
        a: float,
        dtype: torch.dtype | None = None,
    ) -> None:
        def cast(t: torch.Tensor) -> torch.Tensor:
            return t if dtype is None or t.dtype == dtype else t.to(dtype)

        self.sizes = list(sizes)
        self.a = float(a)
        bounds = [0, *itertools.accumulate(sizes)]
        self.slices = [slice(lo, hi) for lo, hi in itertools.pairwise(bounds)]
        self.couplings = [(dst, src, cast(m)) for dst, src, m in couplings]
        for dst, src, m in self.couplings:
            if tuple(m.shape) != (sizes[src], sizes[dst]):
                raise ValueError(f"coupling {src}->{dst} has shape {tuple(m.shape)}")
        self.scaled_bias = torch.cat([cast(b) for b in biases]) * self.a
        self.inputs = [
            [(src, m) for d, src, m in self.couplings if d == layer] for layer in range(len(sizes))
        ]
        self._z: torch.Tensor | None = None
        self._p: torch.Tensor | None = None
        self._plan: _PushPlan | None = None

    @property
    def dim(self) -> int:
        return sum(self.sizes)

    def matmul_flops(self, rows: int) -> int:
        """Floating-point operations of the products of one step of `rows` rows (states or vectors)."""
        return sum(2 * rows * m.shape[0] * m.shape[1] for _, _, m in self.couplings)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """One Euler step of the states (batch, dim), functional (differentiable)."""
        rates = torch.tanh(x)
        parts = []
        for layer, sl in enumerate(self.slices):
            drive = self.scaled_bias[sl]
            for src, m in self.inputs[layer]:
                drive = drive + self.a * (rates[:, self.slices[src]] @ m)
            parts.append((1 - self.a) * x[:, sl] + drive)
        return torch.cat(parts, dim=1)

    def buffers(self, batch: int, k: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The (dim, batch, 1 + k) state-and-frame buffer Z and the rates buffer, reused between calls."""
        shape = (self.dim, batch, 1 + k)
        if self._z is None or self._z.shape != shape or self._z.dtype != like.dtype:
            z = self._z = torch.empty(shape, dtype=like.dtype, device=like.device)
            p = self._p = torch.empty_like(z)
            cols = batch * (1 + k)
            # every view a step uses, made once: slicing costs ~10 us a view in the step loop
            self._plan = _PushPlan(
                state=z[:, :, :1],
                rates=p[:, :, :1],
                frame=z[:, :, 1:],
                scaled=p[:, :, 1:],
                slope=torch.empty(self.dim, batch, 1, dtype=like.dtype, device=like.device),
                one=torch.ones(1, dtype=like.dtype, device=like.device),
                bias_target=z[:, :, 0],
                bias=self.scaled_bias[:, None],
                layers=[
                    (
                        z[sl].view(-1, cols),
                        [(m.T.contiguous(), p[self.slices[src]].view(-1, cols)) for src, m in ins],
                    )
                    for sl, ins in zip(self.slices, self.inputs, strict=True)
                ],
            )
        assert self._p is not None
        return self._z, self._p

    @staticmethod
    def views(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The states (batch, dim) and the frame (batch, k, dim) as views of a buffer z."""
        return z[:, :, 0].T, z[:, :, 1:].permute(1, 2, 0)

    def tangent(self, x: torch.Tensor, frame: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """States (batch, dim) and frame (batch, k, dim) one step on: views into the map's buffer,
        valid until its next call (passing them back in costs no copy)."""
        return self.tangent_steps(x, frame, 1)

    @torch.no_grad()
    def tangent_steps(
        self, x: torch.Tensor, frame: torch.Tensor, n: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`tangent` n times in one call (gkn_core.lyapunov uses it between two QRs): the views are
        checked once, not every step. The buffers are made outside inference mode (ordinary tensors
        the caller may use as it likes); only the steps run in it, saving dispatch work per operation."""
        batch, k, _ = frame.shape
        z, p = self.buffers(batch, k, x)
        state_view, frame_view = self.views(z)
        if not (_same_view(x, state_view) and _same_view(frame, frame_view)):
            state_view.copy_(x)
            frame_view.copy_(frame)
        push = self.push
        with torch.inference_mode():
            for _ in range(n):
                push(z, p)
        return state_view, frame_view

    def push(self, z: torch.Tensor, p: torch.Tensor) -> None:
        """One step of the buffer z (dim, batch, 1 + k) in place; p is scratch of the same shape
        (the buffers made by `buffers`, the only ones its views are of)."""
        plan, a = self._plan, self.a
        if plan is None or z is not self._z or p is not self._p:
            raise ValueError("push runs on the map's own buffers (from buffers())")
        tanh_into(plan.state, plan.rates)
        torch.addcmul(plan.one, plan.rates, plan.rates, value=-1.0, out=plan.slope)  # phi' = 1 - tanh^2
        torch.mul(plan.frame, plan.slope, out=plan.scaled)
        for target, inputs in plan.layers:
            if not inputs:
                target.mul_(1 - a)
            for i, (m, source) in enumerate(inputs):
                target.addmm_(m, source, beta=(1 - a) if i == 0 else 1.0, alpha=a)
        plan.bias_target.add_(plan.bias)


@dataclass
class _PushPlan:
    """The views of a (z, p) buffer pair that one step of RateNetworkMap.push works on."""

    state: torch.Tensor  # (dim, batch, 1) of z
    rates: torch.Tensor  # (dim, batch, 1) of p: tanh(state)
    frame: torch.Tensor  # (dim, batch, k) of z
    scaled: torch.Tensor  # (dim, batch, k) of p: phi'(state) * frame
    slope: torch.Tensor  # (dim, batch, 1)
    one: torch.Tensor  # (1,): the 1 of 1 - tanh^2, one fused addcmul instead of three operations
    bias_target: torch.Tensor
    bias: torch.Tensor
    layers: list[tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]]  # (rows, [(M^T, source)])


def _same_view(t: torch.Tensor, view: torch.Tensor) -> bool:
    return t.data_ptr() == view.data_ptr() and t.shape == view.shape and t.stride() == view.stride()
