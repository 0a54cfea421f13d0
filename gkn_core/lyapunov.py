"""Lyapunov exponents of any one-step map of a batch of states (Benettin / Shimada-Nagashima).

`step` maps a (batch, dim) tensor to the next state, row by row (rows must not interact). k
orthonormal tangent vectors per trajectory, a frame (batch, k, dim), are pushed through the
Jacobian of `step` and re-orthonormalised by a batched QR every `renorm_every` steps; the exponents
are the time averages of log |diag R|, never differences of nearby trajectories.

How the frame is pushed:
- a step that has its own tangent map, `step.tangent(x, frame) -> (x_next, frame_next)` (the
  product's rate networks: gkn_core.tangent.RateNetworkMap, one matrix product per coupling for
  the state and all k vectors of all trajectories together), uses it;
- any other map (Henon, Lorenz, a user's function) gets forward-mode Jacobian-vector products
  (`torch.func.jvp`) of the k directions folded into the batch. For long runs that product is
  traced once into a graph of plain tensor operations (`make_fx`), so a step costs a few tensor
  operations and no autograd bookkeeping; a map that cannot be traced (data-dependent Python
  control flow, `.item()`) runs eagerly.

All exponents are per step of the map. Divide by the map's time step for exponents per unit time
(a network with Euler steps dt and time constant tau: per tau = per step * tau / dt).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.func import jvp

StepFn = Callable[[torch.Tensor], torch.Tensor]
TangentFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
TRACE_FROM_STEPS = 1000  # runs at least this long trace the generic JVP once (about 0.5 s) first
Q_BY_SOLVE_UP_TO = 1e6  # frames with max |R_ii| / min |R_ii| up to this get Q = V R^-1 (Benettin)
Q_BY_SOLVE_FROM_K = 16  # ... when they have at least this many vectors (fewer: one linalg.qr call)


class _JvpPush:
    """x (batch, dim), frame (batch, k, dim) -> the next states and J(x) frame, by forward-mode AD."""

    def __init__(self, step: StepFn, trace: bool) -> None:
        self.step = step
        self.trace = trace
        self._graph: Callable | None = None
        self._key: tuple | None = None

    def eager(self, x: torch.Tensor, frame: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, k, dim = frame.shape
        repeated = x.unsqueeze(1).expand(batch, k, dim).reshape(batch * k, dim)
        primal, tangent = jvp(self.step, (repeated,), (frame.reshape(batch * k, dim),))
        return primal.view(batch, k, dim)[:, 0], tangent.view(batch, k, dim)

    def __call__(self, x: torch.Tensor, frame: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.trace:
            return self.eager(x, frame)
        key = (tuple(x.shape), tuple(frame.shape), x.dtype, x.device)
        if key != self._key:
            self._key, self._graph = key, _traced(self.eager, x, frame)
            if self._graph is None:  # not traceable: eager from now on
                self.trace = False
                return self.eager(x, frame)
        return self._graph(x, frame)


def _traced(fn: TangentFn, x: torch.Tensor, frame: torch.Tensor) -> Callable | None:
    from torch.fx.experimental.proxy_tensor import make_fx

    try:
        graph = make_fx(lambda x, frame: fn(x, frame))(x, frame)
    except Exception:  # any map that make_fx cannot follow runs eagerly instead
        return None
    graph.graph.eliminate_dead_code()
    graph.recompile()
    return graph


def tangent_pusher(step: StepFn, long_run: bool = False) -> TangentFn:
    """The function that advances states and frame one step: the map's own `tangent` when it has
    one, else forward-mode JVPs (traced once when `long_run`)."""
    own = getattr(step, "tangent", None)
    return own if callable(own) else _JvpPush(step, long_run)


StepsFn = Callable[[torch.Tensor, torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]


def steps_pusher(step: StepFn, long_run: bool = False) -> StepsFn:
    """(x, frame, n) -> states and frame n steps on: the map's own `tangent_steps` when it has one
    (its whole loop between two QRs in one call), else the one-step pusher n times."""
    own = getattr(step, "tangent_steps", None)
    if callable(own):
        return own
    push = tangent_pusher(step, long_run)

    def repeated(x: torch.Tensor, frame: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        for _ in range(n):
            x, frame = push(x, frame)
        return x, frame

    return repeated


def start_frame(x: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """A random orthonormal frame (batch, k, dim) from `seed` (drawn on the CPU, the same on any device)."""
    batch, dim = x.shape
    if k > dim:
        raise ValueError(f"cannot follow {k} exponents of a {dim}-dimensional map")
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(batch, dim, k, generator=generator, dtype=x.dtype, device="cpu").to(x.device)
    q, _ = torch.linalg.qr(noise)
    return q.mT.contiguous()


class Benettin:
    """A spectrum computation that can be advanced a few steps at a time (a job step, a chunk).

    transient: steps run first (states and frame) and not counted. renorm_every: QR every that
    many steps (also at the end of the transient and at the last step, where only R is computed:
    the frame left after the last step is the pushed one, not re-orthonormalised). frame: the
    orthonormal starting frame (batch, k, dim), e.g. to compare with another code from the same
    start; by default start_frame(x0, k, seed). After `advance` has done
    all transient + steps steps, `exponents()` is the answer; before, it is the running estimate.
    `frame_condition()`: the largest ratio max |R_ii| / min |R_ii| met at any QR (a lower bound of
    the frame's condition number before it was re-orthonormalised): near 1 is safe; growing like
    exp((l_1 - l_k) renorm_every) it says how much the frame had collapsed, and above ~1e8
    (float64) or ~1e3 (float32) the smallest exponents are no longer trustworthy.
    """

    def __init__(
        self,
        step: StepFn,
        x0: torch.Tensor,
        k: int,
        steps: int,
        transient: int = 0,
        renorm_every: int = 1,
        dtype: torch.dtype | None = None,
        seed: int = 0,
        frame: torch.Tensor | None = None,
    ) -> None:
        if steps < 1:
            raise ValueError("steps must be >= 1")
        if renorm_every < 1:
            raise ValueError("renorm_every must be >= 1")
        if transient < 0:
            raise ValueError("transient must be >= 0")
        x = x0.detach().to(dtype) if dtype is not None else x0.detach()
        if x.ndim != 2:
            raise ValueError(f"x0 must be (batch, dim), got shape {tuple(x.shape)}")
        self.x = x.clone()
        if frame is None:
            self.frame = start_frame(x, k, seed)
        elif tuple(frame.shape) != (x.shape[0], k, x.shape[1]):
            raise ValueError(f"frame must be (batch, k, dim) = {(x.shape[0], k, x.shape[1])}")
        else:
            self.frame = frame.detach().to(x.dtype).clone()
        self.k, self.steps, self.transient, self.renorm_every = k, steps, transient, renorm_every
        self.total_steps = transient + steps
        self.done = 0
        self.total = torch.zeros(x.shape[0], k, dtype=x.dtype, device=x.device)
        self._condition = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
        self._push = steps_pusher(step, self.total_steps >= TRACE_FROM_STEPS)

    @property
    def finished(self) -> bool:
        return self.done >= self.total_steps

    @property
    def counted(self) -> int:
        """Steps averaged so far (after the transient)."""
        return max(0, self.done - self.transient)

    @torch.no_grad()
    def advance(self, n: int | None = None) -> int:
        """Do up to n more steps (all that remain when None); returns how many were done."""
        todo = self.total_steps - self.done if n is None else min(n, self.total_steps - self.done)
        x, frame, push = self.x, self.frame, self._push
        i, end = self.done, self.done + todo
        while i < end:
            qr_at = self._next_qr(i)  # the step after which the next QR comes
            stop = min(qr_at, end - 1)
            x, frame = push(x, frame, stop - i + 1)  # the steps up to it in one call
            if stop == qr_at:
                last = stop == self.total_steps - 1
                frame, growth = self._orthonormal(frame, q_needed=not last)
                if stop >= self.transient:
                    self.total += growth
            i = stop + 1
        self.x, self.frame = x, frame
        self.done += todo
        return todo

    def _next_qr(self, i: int) -> int:
        """The first step index >= i after which a QR comes: every renorm_every steps, at the end of
        the transient and at the last step."""
        every = self.renorm_every
        at = min((i // every + 1) * every - 1, self.total_steps - 1)
        return min(at, self.transient - 1) if i < self.transient else at

    def _orthonormal(self, frame: torch.Tensor, q_needed: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """The frame's QR: Q (as a frame) and log |diag R|. R from Householder reflectors (geqrf);
        Q, when needed (not at the last step), as V R^-1 by one triangular solve, a third cheaper
        than forming Q from the reflectors (orgqr) and as good while the frame is well conditioned
        (orthonormal to cond * eps: 1e-11 at the 3e5 of QR every 50 steps of the digits8 network;
        the next QR starts afresh, so nothing accumulates). A frame above Q_BY_SOLVE_UP_TO gets
        Q from the reflectors; fewer than Q_BY_SOLVE_FROM_K vectors, one plain QR (a call less)."""
        v = frame.mT
        if q_needed and v.shape[-1] < Q_BY_SOLVE_FROM_K:
            q, r = torch.linalg.qr(v)
            return q.mT, self._log_diagonal(r)[0]
        reflectors, tau = torch.geqrf(v)
        logs, ratio = self._log_diagonal(reflectors)
        if not q_needed:
            return frame, logs
        if ratio is None or float(ratio.max()) <= Q_BY_SOLVE_UP_TO:
            r = reflectors[..., : v.shape[-1], :].triu()  # (k, k): dim >= k rows hold R on top
            q = torch.linalg.solve_triangular(r, v, upper=True, left=False)
        else:
            q = torch.linalg.householder_product(reflectors, tau)
        return q.mT, logs

    def _log_diagonal(self, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """log |diag R| and max / min |R_ii| per trajectory (None for k = 1), which updates the
        frame condition readout."""
        diag = torch.diagonal(r, dim1=-2, dim2=-1).abs()
        ratio = None
        if diag.shape[-1] > 1:  # per trajectory, three small operations (they count at k = 2)
            low, high = torch.aminmax(diag, dim=-1)
            ratio = high.div_(low)
            torch.maximum(self._condition, ratio, out=self._condition)
        return diag.log(), ratio

    def exponents(self) -> torch.Tensor:
        """Exponents per step averaged so far, (batch, k) descending (zeros before any counted step)."""
        return (self.total / max(self.counted, 1)).sort(dim=1, descending=True).values

    def frame_condition(self) -> float:
        return float(self._condition.max())


def lyapunov_spectrum(step: StepFn, x0: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """The k largest Lyapunov exponents per step of `step`, for every row of x0: (batch, k), descending.

    The arguments are Benettin's: (step, x0, k, steps, transient=0, renorm_every=1, dtype=None,
    seed=0, frame=None). transient: steps run first (states and tangent frame) and not counted, so
    the frame has aligned with the leading directions before averaging starts. renorm_every: QR
    every that many steps (1 is safest; more is faster when exponents are moderate). dtype: e.g.
    torch.float64 for precision (`step` must then accept that dtype). seed: of the random initial
    frame (or frame: that orthonormal (batch, k, dim) frame). The frame's condition number and a
    spectrum in short pieces: use Benettin.
    """
    run = Benettin(step, x0, *args, **kwargs)
    run.advance()
    return run.exponents()


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
    run = Benettin(step, x0, 1, window * windows, transient, 1, dtype, seed)
    return local_windows(run, window, windows)


def local_windows(run: Benettin, window: int, windows: int | None = None) -> torch.Tensor:
    """Advance a k = 1 run window by window (all that remain, or `windows` of them) and return the
    finite-time exponent of each: (batch, windows)."""
    run.advance(run.transient - run.done if run.done < run.transient else 0)
    left = (run.total_steps - run.done) // window
    out = []
    for _ in range(left if windows is None else min(windows, left)):
        before = run.total[:, 0].clone()
        run.advance(window)
        out.append((run.total[:, 0] - before) / window)
    if not out:
        return torch.zeros(run.x.shape[0], 0, dtype=run.total.dtype, device=run.total.device)
    return torch.stack(out, dim=1)


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
