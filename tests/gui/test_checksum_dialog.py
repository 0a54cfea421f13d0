"""A run with a damaged data chunk opened in the window: one line in a dialog naming the dataset
(issue 17, item 2); the window goes on."""

from __future__ import annotations

import h5py

from gkn_core.gkn.config import preset_config
from gkn_core.gkn.sessions import training_session


def test_a_damaged_chunk_is_one_line_in_a_dialog(window, tmp_path):
    path = tmp_path / "run.h5"
    _, snapshots = training_session(
        preset_config("1d", {"train": {"steps": 200, "checkpoint_every": 100}}), path
    )
    list(snapshots)
    with h5py.File(path, "r") as file:
        info = file["train/metrics/loss"].id.get_chunk_info(0)
    with open(path, "r+b") as handle:
        handle.seek(info.byte_offset + 8)
        old = handle.read(1)[0]
        handle.seek(info.byte_offset + 8)
        handle.write(bytes([old ^ 0x5A]))
    assert not window.open_run_file(path)
    assert window.last_error == (
        f"{path} is damaged: /train/metrics/loss: checksum mismatch: its stored bytes were changed"
        " (a damaged chunk)"
    )
    assert not window.follower.timer.isActive()
