"""Shared fixtures. Qt tests run offscreen; the core tests never need a display."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def quick_1d_overrides() -> dict:
    """The 1d preset cut to a few hundred steps: enough to learn the two points on a CPU."""
    return {"train": {"steps": 300, "checkpoint_every": 100, "manifold_every": 50}}
