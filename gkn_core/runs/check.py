"""`gkn runs check RUN.h5`: read every dataset and attribute of a run file and verify checksums.

Datasets written since run files carry checksums have HDF5's Fletcher32 filter on every chunk, so
reading them back verifies their bytes; older files still open and are read through, but damaged
bytes inside their data cannot be told from numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py

from gkn_core.errors import RunFileError
from gkn_core.runs.h5util import read_checked, read_failure
from gkn_core.runs.reader import open_run


@dataclass(frozen=True)
class CheckReport:
    datasets: int  # datasets read through
    checksummed: int  # of which carry a Fletcher32 checksum
    attributes: int  # attributes read (root, groups and datasets)


def _read_attributes(path: Path, name: str, item: h5py.HLObject) -> int:
    try:
        return len([item.attrs[key] for key in item.attrs])
    except (OSError, KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise RunFileError(f"{path} is damaged: {name} (its attributes): {read_failure(exc)}") from None


def _read_dataset(path: Path, dataset: h5py.Dataset) -> None:
    """Read every chunk once (bounded memory), or the whole of a small unchunked dataset."""
    if dataset.chunks is None or dataset.size == 0:
        read_checked(path, dataset)
        return
    for selection in dataset.iter_chunks():
        read_checked(path, dataset, selection)


def check_run(path: str | Path) -> CheckReport:
    """Open a run, read all it holds; RunFileError "PATH is damaged: OBJECT: why" at the first fault."""
    path = Path(path)
    datasets = checksummed = attributes = 0
    with open_run(path) as run:
        attributes += _read_attributes(path, "/", run.file)
        names: list[str] = []
        try:
            run.file.visit(names.append)
        except (OSError, KeyError, RuntimeError) as exc:
            raise RunFileError(
                f"{path} is damaged: its groups cannot be listed: {read_failure(exc)}"
            ) from None
        for name in names:
            try:
                item = run.file[name]
            except (OSError, KeyError, RuntimeError, ValueError) as exc:
                raise RunFileError(f"{path} is damaged: /{name}: {read_failure(exc)}") from None
            attributes += _read_attributes(path, f"/{name}", item)
            if isinstance(item, h5py.Dataset):
                _read_dataset(path, item)
                datasets += 1
                checksummed += bool(item.fletcher32)
    return CheckReport(datasets, checksummed, attributes)
