"""Checksummed run data (issue 17, item 2): every dataset carries Fletcher32, a flipped byte inside a
data chunk is one "damaged" line naming the dataset (reader, `gkn runs show`, `gkn runs check`), and
files written before checksums still open and check."""

import shutil

import h5py
import numpy as np
import pytest

from gkn_core.cli import main
from gkn_core.errors import RunFileError
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.sessions import sampling_session, training_session
from gkn_core.runs.check import check_run
from gkn_core.runs.reader import open_run


@pytest.fixture(scope="module")
def sampled_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("checksums") / "run.h5"
    overrides = {"train": {"steps": 300, "checkpoint_every": 100, "manifold_every": 50}}
    _, snapshots = training_session(preset_config("1d", overrides), path)
    list(snapshots)
    _, snapshots = sampling_session(path, {"chains": 8, "steps": 40, "noise": 0.01, "burn_in": 2})
    list(snapshots)
    return path


def datasets(path):
    found = {}

    def note(name, item):
        if isinstance(item, h5py.Dataset):
            found[name] = item.fletcher32

    with h5py.File(path, "r") as file:
        file.visititems(note)
    return found


def flip_byte_in_chunk(path, name, within=16):
    """Invert one byte inside the first stored chunk of dataset `name`; returns its old value."""
    with h5py.File(path, "r") as file:
        info = file[name].id.get_chunk_info(0)
    assert info.size > within
    with open(path, "r+b") as handle:
        handle.seek(info.byte_offset + within)
        old = handle.read(1)[0]
        handle.seek(info.byte_offset + within)
        handle.write(bytes([old ^ 0xFF]))
    return old


def run_main(capsys, *args):
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_every_dataset_of_a_run_carries_a_checksum(sampled_run):
    found = datasets(sampled_run)
    for name in (
        "data/x",
        "train/metrics/loss",
        "train/manifolds/fx",
        "sampling/0000/chains",
        "sampling/0000/samples",
        "sampling/0000/metrics/movement",
    ):
        assert name in found
    assert any(name.startswith("checkpoints/") for name in found)
    assert [name for name, checked in found.items() if not checked] == []


def test_an_untouched_run_checks_sound(sampled_run, capsys):
    report = check_run(sampled_run)
    assert report.datasets == report.checksummed == len(datasets(sampled_run))
    code, out, _ = run_main(capsys, "runs", "check", str(sampled_run))
    assert code in (0, None)
    assert out.strip() == f"sound: {report.datasets} datasets checked ({report.datasets} checksummed)"


@pytest.mark.parametrize(
    ("name", "read", "commands"),
    [
        ("train/metrics/loss", lambda run: run.train_metrics(), ("check", "show")),
        # `runs show` reads no chain states either (#17.5: a count, not 8 bytes a chain-step)
        ("sampling/0000/chains", lambda run: run.sampling(), ("check",)),
        ("train/manifolds/fx", lambda run: run.manifolds(), ("check",)),  # `runs show` reads no frames
    ],
)
def test_a_flipped_byte_is_one_damaged_line_naming_the_dataset(
    sampled_run, tmp_path, capsys, name, read, commands
):
    damaged = tmp_path / "damaged.h5"
    shutil.copyfile(sampled_run, damaged)
    flip_byte_in_chunk(damaged, name)
    expected = f"{damaged} is damaged: /{name}: checksum mismatch"
    with open_run(damaged) as run, pytest.raises(RunFileError) as info:
        read(run)
    assert str(info.value).startswith(expected) and "\n" not in str(info.value)
    with pytest.raises(RunFileError, match=f"/{name}: checksum mismatch"):
        check_run(damaged)
    for command in commands:
        code, out, err = run_main(capsys, "runs", command, str(damaged))
        assert code == 2, (command, out, err)
        assert err.strip() == f"gkn: error: {expected}: its stored bytes were changed (a damaged chunk)"
        assert "Traceback" not in out + err


def test_a_run_written_before_checksums_still_opens_and_checks(sampled_run, tmp_path, capsys):
    old = tmp_path / "old.h5"
    with h5py.File(sampled_run, "r") as source, h5py.File(old, "w") as target:

        def copy(name, item):
            if isinstance(item, h5py.Group):
                target.require_group(name).attrs.update(item.attrs)
            else:
                made = target.create_dataset(
                    name, data=item[()], maxshape=item.maxshape, chunks=item.chunks
                )  # no fletcher32: as before
                made.attrs.update(item.attrs)

        target.attrs.update(source.attrs)
        source.visititems(copy)
    assert not any(datasets(old).values())
    with open_run(old) as run, open_run(sampled_run) as new:
        np.testing.assert_array_equal(run.train_metrics()["loss"], new.train_metrics()["loss"])
        np.testing.assert_array_equal(run.sampling().chains, new.sampling().chains)
    report = check_run(old)
    assert report.checksummed == 0 and report.datasets == len(datasets(old))
    code, out, _ = run_main(capsys, "runs", "check", str(old))
    assert code in (0, None) and out.startswith(f"sound: {report.datasets} datasets checked (0 checksummed)")
    assert "cannot be detected" in out
