"""Sample-quality scores of SPEC-NOTES section 2 (a *reconstruction* after Decelle et al. 2021).

All take two (n, d) sets of values in [-1, 1] (data and samples; numpy or torch) and run in torch on
the samples' device:

- E^(2)  `e2`: mean over entries of (C_data - C_samples)^2, C the covariance matrices. Ideal 0.
- E^(s)  `es`: mean over components of (s_data - s_samples)^2, s the singular values of the centred
  matrices divided by sqrt(n) (so sets of different sizes compare). Ideal 0.
- E^(R)  `er`: zlib-compressed size of the samples / that of as many data rows, minus 1, both
  quantised to 8 bits. Ideal 0; noise is positive (less compressible), collapsed samples negative.
- E^(AAI) `aai`: Yale et al. 2020 adversarial accuracy from nearest neighbours: AAI_data is the
  fraction of data rows whose nearest other data row is nearer than their nearest sample, AAI_gen
  the same for samples; both 0.5 is ideal, near 1 means the sets are easy to tell apart, near 0
  that samples copy the data. The summary E^(AAI) is their mean.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch

SCORE_NAMES = ("E2", "Es", "ER", "AAI", "AAI_data", "AAI_gen")
# The class score of the training samples (gkn_core.class_score): the digit score for digits8/mnist,
# the item score for fashion/fashion8, NaN for other data. The series keep the names they had when
# only digits were scored, so every run file reads the same way.
DIGIT_SCORE_NAMES = ("digit", "digit_entropy")


def _tensor(values: np.ndarray | torch.Tensor, device: torch.device | None = None) -> torch.Tensor:
    t = values if isinstance(values, torch.Tensor) else torch.from_numpy(np.array(values, dtype=np.float32))
    return t.detach().to(device=device, dtype=torch.float32)


def _covariance(x: torch.Tensor) -> torch.Tensor:
    centred = x - x.mean(0)
    return centred.T @ centred / max(1, x.shape[0] - 1)


def e2(data: np.ndarray | torch.Tensor, samples: np.ndarray | torch.Tensor) -> float:
    s = _tensor(samples)
    d = _tensor(data, s.device)
    return float((_covariance(d) - _covariance(s)).square().mean())


def _spectrum(x: torch.Tensor) -> torch.Tensor:
    return torch.linalg.svdvals(x - x.mean(0)) / x.shape[0] ** 0.5


def es(data: np.ndarray | torch.Tensor, samples: np.ndarray | torch.Tensor) -> float:
    s = _tensor(samples)
    d = _tensor(data, s.device)
    sd, ss = _spectrum(d), _spectrum(s)
    n = max(len(sd), len(ss))
    sd = torch.nn.functional.pad(sd, (0, n - len(sd)))
    ss = torch.nn.functional.pad(ss, (0, n - len(ss)))
    return float((sd - ss).square().mean())


def _compressed_size(x: np.ndarray) -> int:
    quantised = np.clip(np.round((x + 1) * 127.5), 0, 255).astype(np.uint8)
    return len(zlib.compress(quantised.tobytes(), 9))


def er(data: np.ndarray | torch.Tensor, samples: np.ndarray | torch.Tensor) -> float:
    s = _tensor(samples).cpu().numpy()
    d = _tensor(data).cpu().numpy()
    n = min(len(s), len(d))
    return _compressed_size(s[:n]) / _compressed_size(d[:n]) - 1.0


def _nearest(a: torch.Tensor, b: torch.Tensor, exclude_self: bool, chunk: int = 2048) -> torch.Tensor:
    out = []
    for i in range(0, a.shape[0], chunk):
        dist = torch.cdist(a[i : i + chunk], b)
        if exclude_self:
            rows = torch.arange(dist.shape[0], device=dist.device)
            dist[rows, rows + i] = float("inf")
        out.append(dist.amin(dim=1))
    return torch.cat(out)


def aai(data: np.ndarray | torch.Tensor, samples: np.ndarray | torch.Tensor) -> tuple[float, float]:
    """(AAI_data, AAI_gen) on equal numbers of rows (the first min(n_data, n_samples) of each)."""
    s = _tensor(samples)
    d = _tensor(data, s.device)
    n = min(len(s), len(d))
    s, d = s[:n], d[:n]
    d_dd, d_ds = _nearest(d, d, True), _nearest(d, s, False)
    s_ss, s_sd = _nearest(s, s, True), _nearest(s, d, False)
    return float((d_ds > d_dd).float().mean()), float((s_sd > s_ss).float().mean())


def all_scores(data: np.ndarray | torch.Tensor, samples: np.ndarray | torch.Tensor) -> dict[str, float]:
    """Every score by name (SCORE_NAMES)."""
    a_data, a_gen = aai(data, samples)
    return {
        "E2": e2(data, samples),
        "Es": es(data, samples),
        "ER": er(data, samples),
        "AAI": (a_data + a_gen) / 2,
        "AAI_data": a_data,
        "AAI_gen": a_gen,
    }
