"""The data set a run's settings name, built from the data layer."""

from __future__ import annotations

from gkn_core.data import Dataset
from gkn_core.data.images import load_image_file, load_named_dataset
from gkn_core.data.toy import TOY_GENERATORS, points_dataset
from gkn_core.gkn.config import DataConfig


def load_dataset(settings: DataConfig, seed: int = 0) -> Dataset:
    """Load or generate the data of a run. Nothing is downloaded."""
    if settings.source == "points":
        return points_dataset(settings.points, settings.value_range)
    if settings.source in TOY_GENERATORS:
        generate = TOY_GENERATORS[settings.source]
        return generate(settings.n, settings.dim, seed, settings.value_range)
    if settings.source == "file":
        return load_image_file(settings.path, settings.value_range, settings.limit)
    return load_named_dataset(settings.source, settings.value_range, settings.limit)
