"""The free and clamped phases of the chaotic networks as programs on static buffers (issue 15.5).

A phase is a `PhaseProgram`: tensors it reads and writes in place (states, rates, the effective
couplings) and a body that runs all n Euler steps on them with no host synchronisation. On CUDA
the body is captured once as a CUDA graph (torch.cuda.CUDAGraph) per shape and replayed: one launch
per phase instead of three per Euler step. Everywhere else, or with `capture=False`, the same body
runs eagerly, so the CPU tests run exactly the function that is captured on a GPU.

Before a replay the inputs (states, the data batch, the couplings, which change after every
update) are copied into the program's static tensors; after it the results are copied out. Stop is
looked at before a captured phase, not inside it (a whole paper-size phase is milliseconds on a
GPU); the eager path keeps looking every CHECK_EVERY Euler steps.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from gkn_core.tangent import tanh_into

if TYPE_CHECKING:
    from gkn_core.chaos.models import ChaoticRNN

CHECK_EVERY = 1  # Euler steps between two looks at a job's stop flag: at paper size (M=500) one is ~0.8 GFLOP
GRAPHS_ENV = "GKN_CUDA_GRAPHS"  # set to 0 to run CUDA phases eagerly (to compare, or to debug)


def graphs_wanted(device: torch.device) -> bool:
    """Whether phases on `device` run as captured CUDA graphs: on CUDA unless GKN_CUDA_GRAPHS=0."""
    return device.type == "cuda" and os.environ.get(GRAPHS_ENV, "1") != "0"


@dataclass
class PhaseProgram:
    """Static tensors and the body that runs a whole phase on them (in place)."""

    inputs: dict[str, torch.Tensor]  # copied into before every run
    outputs: dict[str, torch.Tensor]  # read after every run
    body: Callable[[], None]
    capture: bool
    graph: object | None = field(default=None, repr=False)

    def run(self, values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Copy `values` into the static inputs, run the phase, return the static outputs (valid
        until the next run)."""
        for name, value in values.items():
            self.inputs[name].copy_(value)
        if not self.capture:
            self.body()
            return self.outputs
        if self.graph is None:
            self.graph = _capture(self.body)
        self.graph.replay()  # type: ignore[attr-defined]
        return self.outputs


def _capture(body: Callable[[], None]) -> object:
    """body captured as a CUDA graph, after warm-up runs on a side stream (as torch asks)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(2):
            body()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        body()
    return graph


def fused_free_steps(
    x: torch.Tensor, p: torch.Tensor, mats: list[torch.Tensor], n0: int, a: float, n: int
) -> None:
    """n free Euler steps of the fused state buffer x, in place, with all elementwise work in one
    tanh and the bias inside the products: x = [x | +inf] (one layer, mats = [[couplings; bias]])
    or [v | +inf | h] (restricted2, mats = [[b; down], [up; c]]), p = tanh(x) scratch whose +inf
    column is exactly 1, so each layer is one in-place addmm (beta = 1 - a, alpha = a) of a
    contiguous column range of p."""
    if len(mats) == 1:
        target = x[:, :n0]
        for _ in range(n):
            tanh_into(x, p)
            target.addmm_(p, mats[0], beta=1 - a, alpha=a)
        return
    v, h = x[:, :n0], x[:, n0 + 1 :]
    from_h, from_v = p[:, n0:], p[:, : n0 + 1]
    down, up = mats
    for _ in range(n):
        tanh_into(x, p)
        v.addmm_(from_h, down, beta=1 - a, alpha=a)
        h.addmm_(from_v, up, beta=1 - a, alpha=a)


def free_program(
    sizes: list[int], mats: list[torch.Tensor], a: float, batch: int, n: int, capture: bool
) -> PhaseProgram:
    """The free phase of n Euler steps of `batch` chains (unrestricted: sizes [N]; restricted2:
    [Nv, Nh]) as a program: inputs states0 (and states1), mats0 (and mats1); outputs the same states."""
    like = mats[0]
    n0 = sizes[0]
    x = torch.empty(batch, sum(sizes) + 1, device=like.device, dtype=like.dtype)
    x[:, n0].fill_(math.inf)
    p = torch.empty_like(x)
    static_mats = [torch.empty_like(m) for m in mats]
    inputs = {f"mats{i}": m for i, m in enumerate(static_mats)}
    inputs["states0"] = x[:, :n0]
    if len(sizes) > 1:
        inputs["states1"] = x[:, n0 + 1 :]
    outputs = {name: inputs[name] for name in ("states0", "states1") if name in inputs}
    return PhaseProgram(inputs, outputs, lambda: fused_free_steps(x, p, static_mats, n0, a, n), capture)


def clamped_program(
    up: torch.Tensor, bias: torch.Tensor, a: float, batch: int, n: int, capture: bool
) -> PhaseProgram:
    """The clamped phase of a restricted2 network (hidden layer under the constant input phi(v) =
    data): h_n = h_in + (h_0 - h_in) (1 - a)^n with h_in = c + data @ up. Inputs states1, data, up,
    bias; output states1."""
    nv, nh = up.shape
    h = torch.empty(batch, nh, device=up.device, dtype=up.dtype)
    data = torch.empty(batch, nv, device=up.device, dtype=up.dtype)
    static_up, static_bias = torch.empty_like(up), torch.empty_like(bias)
    drive = torch.empty_like(h)
    decay = (1 - a) ** n

    def body() -> None:
        torch.addmm(static_bias, data, static_up, out=drive)
        h.sub_(drive).mul_(decay).add_(drive)

    inputs = {"states1": h, "data": data, "up": static_up, "bias": static_bias}
    return PhaseProgram(inputs, {"states1": h}, body, capture)


class PhasePrograms:
    """A model's phase programs by (kind, batch, steps), made on first use (a capture per shape)."""

    def __init__(self, capture: bool) -> None:
        self.capture = capture
        self._programs: dict[tuple, PhaseProgram] = {}

    def get(self, key: tuple, make: Callable[[bool], PhaseProgram]) -> PhaseProgram:
        if key not in self._programs:
            if len(self._programs) >= 8:  # a few shapes in practice (training, scores, samples)
                self._programs.clear()
            self._programs[key] = make(self.capture)
        return self._programs[key]


def run_free(
    model: ChaoticRNN, states: list[torch.Tensor], n_steps: int, check: Callable[[], None] | None = None
) -> list[torch.Tensor]:
    """The free phase of an unrestricted or restricted2 model, states overwritten in place: one
    captured program when the model has them (CUDA), else the eager loop, Stop looked at every
    CHECK_EVERY Euler steps."""
    batch, a = states[0].shape[0], model.a
    model._copy_biases_into_fused()
    mats = model._fused_mats
    if model._phases is not None:
        if check is not None:
            check()
        program = model._phases.get(
            ("free", batch, n_steps),
            lambda capture: free_program(model.sizes, mats, a, batch, n_steps, capture),
        )
        values = {f"mats{i}": m for i, m in enumerate(mats)}
        values.update({f"states{i}": x for i, x in enumerate(states)})
        out = program.run(values)
        for i, x in enumerate(states):
            x.copy_(out[f"states{i}"])
        return states
    if batch not in model._fused:
        x = torch.empty(batch, model.dim + 1, device=model.device, dtype=model.dtype)
        model._fused = {batch: (x, torch.empty_like(x))}
    x, p = model._fused[batch]
    n0 = model.sizes[0]
    x[:, n0].fill_(math.inf)
    x[:, :n0].copy_(states[0])
    if len(states) > 1:
        x[:, n0 + 1 :].copy_(states[1])
    for i in range(n_steps):
        if check is not None and i % CHECK_EVERY == 0:
            check()
        fused_free_steps(x, p, mats, n0, a, 1)
    states[0].copy_(x[:, :n0])
    if len(states) > 1:
        states[1].copy_(x[:, n0 + 1 :])
    return states


def run_clamped(
    model: ChaoticRNN,
    states: list[torch.Tensor],
    clamp: torch.Tensor,
    n_steps: int,
    check: Callable[[], None] | None = None,
) -> list[torch.Tensor]:
    """The clamped phase of a restricted2 model in closed form (states[1] overwritten): h_n = h_in +
    (h_0 - h_in) (1 - a)^n, h_in = c + data @ up; one captured program when the model has them."""
    up, bias, a = model._up[0], model.biases[1], model.a
    if model._phases is None:
        drive = torch.addmm(bias, clamp, up)
        states[1].sub_(drive).mul_((1 - a) ** n_steps).add_(drive)
        return states
    if check is not None:
        check()
    batch = clamp.shape[0]
    program = model._phases.get(
        ("clamped", batch, n_steps), lambda capture: clamped_program(up, bias, a, batch, n_steps, capture)
    )
    states[1].copy_(program.run({"states1": states[1], "data": clamp, "up": up, "bias": bias})["states1"])
    return states
