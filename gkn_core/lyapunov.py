"""Lyapunov exponents of any one-step map of a batch of states (Benettin / Shimada-Nagashima).

`step` maps a (batch, dim) tensor to the next state, row by row (rows must not interact). k
orthonormal tangent vectors per trajectory are pushed through the Jacobian of `step` with
forward-mode Jacobian-vector products (`torch.func.jvp`, vectorised over the k directions with
`torch.vmap`), never by differencing nearby trajectories, and re-orthonormalised by a batched QR
every `renorm_every` steps; the exponents are the time averages of log |diag R|.

All exponents are per step of the map. Divide by the map's time step for exponents per unit time
(a network with Euler steps dt and time constant tau: per tau = per step * tau / dt).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.func import jvp

StepFn = Callable[[torch.Tensor], torch.Tensor]


def _push(step: StepFn, x: torch.Tensor, tangents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the states (batch, dim) and of the tangents (k, batch, dim): J(x) v for each v."""

    def along(v: torch.Tensor) -> torch.Tensor:
        return jvp(step, (x,), (v,))[1]

    with torch.no_grad():
        x_next = step(x)
    return x_next, torch.vmap(along)(tangents)


def _orthonormal(tangents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """QR of the (batch, dim, k) tangent frame: the new frame (k, batch, dim) and log |diag R| (batch, k)."""
    q, r = torch.linalg.qr(tangents.permute(1, 2, 0))
    growth = torch.log(torch.diagonal(r, dim1=-2, dim2=-1).abs())
    return q.permute(2, 0, 1), growth


def _start_frame(x: torch.Tensor, k: int, generator: torch.Generator | None) -> torch.Tensor:
    batch, dim = x.shape
    if k > dim:
        raise ValueError(f"cannot follow {k} exponents of a {dim}-dimensional map")
    noise = torch.randn(batch, dim, k, generator=generator, dtype=x.dtype, device="cpu").to(x.device)
    q, _ = torch.linalg.qr(noise)
    return q.permute(2, 0, 1).contiguous()


def lyapunov_spectrum(
    step: StepFn,
    x0: torch.Tensor,
    k: int,
    steps: int,
    transient: int = 0,
    renorm_every: int = 1,
    dtype: torch.dtype | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """The k largest Lyapunov exponents per step of `step`, for every row of x0: (batch, k), descending.

    transient: steps run first (states and tangent frame) and not counted, so the frame has aligned
    with the leading directions before averaging starts. renorm_every: QR every that many steps (1 is
    safest; more is faster when exponents are moderate). dtype: e.g. torch.float64 for precision
    (`step` must then accept that dtype). seed: of the random initial frame.
    """
    if steps < 1:
        raise ValueError("steps must be >= 1")
    if renorm_every < 1:
        raise ValueError("renorm_every must be >= 1")
    x = x0.detach().to(dtype) if dtype is not None else x0.detach()
    if x.ndim != 2:
        raise ValueError(f"x0 must be (batch, dim), got shape {tuple(x.shape)}")
    generator = torch.Generator().manual_seed(seed)
    frame = _start_frame(x, k, generator)
    total = torch.zeros(x.shape[0], k, dtype=x.dtype, device=x.device)
    for i in range(transient + steps):
        x, frame = _push(step, x, frame)
        counted = i >= transient
        last = i == transient + steps - 1
        if (i + 1) % renorm_every == 0 or last or (i == transient - 1):
            frame, growth = _orthonormal(frame)
            if counted:
                total += growth
    exponents = total / steps
    return exponents.sort(dim=1, descending=True).values


def local_largest_exponent(
    step: StepFn,
    x0: torch.Tensor,
    window: int,
    windows: int,
    transient: int = 0,
    dtype: torch.dtype | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """Finite-time largest exponent per step over consecutive windows of `window` steps: (batch, windows).

    One tangent vector per trajectory, renormalised every step; the value of a window is the mean
    log growth over its steps. The transient aligns the vector with the leading direction first.
    """
    x = x0.detach().to(dtype) if dtype is not None else x0.detach()
    generator = torch.Generator().manual_seed(seed)
    frame = _start_frame(x, 1, generator)
    out = torch.zeros(x.shape[0], windows, dtype=x.dtype, device=x.device)
    for i in range(transient + window * windows):
        x, frame = _push(step, x, frame)
        norm = frame.norm(dim=-1)  # (1, batch)
        frame = frame / norm.unsqueeze(-1)
        if i >= transient:
            out[:, (i - transient) // window] += norm[0].log()
    return out / window


def participation_ratio(exponents: torch.Tensor) -> torch.Tensor:
    """Participation ratio of the positive (unstable) part of a spectrum, over its last axis.

    PR = (sum_i l_i)^2 / sum_i l_i^2 over the positive exponents l_i only: the effective number of
    unstable directions (1 if one exponent dominates, n if n are equal; 0 when none is positive).
    """
    positive = exponents.clamp(min=0)
    squares = (positive**2).sum(dim=-1)
    ratio = positive.sum(dim=-1) ** 2 / squares.clamp(min=torch.finfo(exponents.dtype).tiny)
    return torch.where(squares > 0, ratio, torch.zeros_like(ratio))


def kaplan_yorke_dimension(exponents: torch.Tensor) -> torch.Tensor:
    """Kaplan-Yorke (Lyapunov) dimension of descending spectra over the last axis (a lower bound if
    only the k largest are known and their sum stays positive)."""
    sums = exponents.cumsum(dim=-1)
    j = (sums >= 0).sum(dim=-1)  # number of leading exponents with a non-negative running sum
    n = exponents.shape[-1]
    jc = j.clamp(max=n - 1)
    s_j = torch.where(j > 0, sums.gather(-1, (jc - 1).clamp(min=0).unsqueeze(-1)).squeeze(-1), 0.0)
    next_exp = exponents.gather(-1, jc.unsqueeze(-1)).squeeze(-1)
    dim = j.to(exponents.dtype) + s_j / next_exp.abs()
    return torch.where(j >= n, torch.full_like(dim, float(n)), dim)
