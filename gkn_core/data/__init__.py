"""Data sets of the shared data layer: `Dataset` (gkn_core/data/dataset.py), the toy generators and the
image sets. No family knowledge: a family's settings name a data set, its own glue loads it."""

from gkn_core.data.dataset import VALUE_RANGES, Dataset, range_bounds
from gkn_core.data.idx import read_idx, write_idx
from gkn_core.data.images import (
    FASHION_SUBSET_PATH,
    MNIST_SUBSET_PATH,
    NAMED_DATASETS,
    digits8,
    fashion_subset,
    load_image_file,
    load_named_dataset,
    mnist_subset,
)
from gkn_core.data.toy import (
    TOY_GENERATORS,
    gaussian_blobs,
    paper_points_1d,
    paper_points_2d,
    points_dataset,
    ring,
    two_moons,
    uniform_points,
)

__all__ = [
    "FASHION_SUBSET_PATH",
    "MNIST_SUBSET_PATH",
    "NAMED_DATASETS",
    "TOY_GENERATORS",
    "VALUE_RANGES",
    "Dataset",
    "digits8",
    "fashion_subset",
    "gaussian_blobs",
    "load_image_file",
    "load_named_dataset",
    "mnist_subset",
    "paper_points_1d",
    "paper_points_2d",
    "points_dataset",
    "range_bounds",
    "read_idx",
    "ring",
    "two_moons",
    "uniform_points",
    "write_idx",
]
