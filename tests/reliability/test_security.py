"""Opening a run or data file never executes code, and paths found in files are never written to.

1. The product's source never unpickles: no pickle/marshal/shelve/joblib loads, no eval/exec, every
   np.load passes allow_pickle=False, torch.load (if ever used) weights_only=True.
2. Files carrying a pickle whose unpickling would leave a marker file are refused, and the marker
   never appears: an object-dtype .npz, opaque and object datasets in a run file.
3. A run whose stored config and attributes name other files (paths) is shown, sampled, exported and
   replayed: none of those files is touched.
"""

from __future__ import annotations

import ast
import io
import json
import os
import pickle
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from gkn_core.cli import main
from gkn_core.errors import DataError, RunFileError
from gkn_core.runs.reader import open_run

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["gkn_core", "app", "benchmarks", "scripts"]
FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "joblib"}


def product_sources() -> list[Path]:
    return sorted(p for folder in PRODUCT for p in (ROOT / folder).rglob("*.py"))


def keyword(call: ast.Call, name: str) -> object:
    for kw in call.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return None


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else "?"


def unsafe_uses(path: Path) -> list[str]:
    """Every place in a source file that could run code from data."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        where = (
            f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{getattr(node, 'lineno', '?')}"
        )
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            bad = {n.split(".")[0] for n in names if n} & FORBIDDEN_MODULES
            if bad:
                found.append(f"{where} imports {', '.join(sorted(bad))}")
        elif isinstance(node, ast.Call):
            name = dotted(node.func)
            if name in ("eval", "exec"):
                found.append(f"{where} calls {name}")
            elif name in ("np.load", "numpy.load") and keyword(node, "allow_pickle") is not False:
                found.append(f"{where} calls {name} without allow_pickle=False")
            elif name == "torch.load" and keyword(node, "weights_only") is not True:
                found.append(f"{where} calls torch.load without weights_only=True")
            elif name.endswith("yaml.load") and keyword(node, "Loader") is None:
                found.append(f"{where} calls yaml.load without a safe Loader")
    return found


def test_the_product_never_unpickles_or_evaluates():
    sources = product_sources()
    assert len(sources) > 30
    problems = [problem for path in sources for problem in unsafe_uses(path)]
    assert problems == []


def test_the_source_check_finds_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import pickle\nimport numpy as np\nnp.load('x')\nimport torch\ntorch.load('m')\neval('1')\n"
    )
    found = unsafe_uses(bad)
    assert len(found) == 4 and "allow_pickle" in found[1] and "weights_only" in found[2]


class LeavesAMarker:
    """Unpickling this creates a file: the proof that code from data ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickled_npz_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "code-ran"
    member = io.BytesIO()
    np.save(member, np.array([LeavesAMarker(marker)], dtype=object), allow_pickle=True)
    data = tmp_path / "images.npz"
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("images.npy", member.getvalue())
    from gkn_core.data.images import load_image_file

    with pytest.raises(DataError, match="non-numeric data"):
        load_image_file(data)
    assert not marker.exists()


@pytest.fixture
def run_copy(good_runs, tmp_path) -> Path:
    path = tmp_path / "run.h5"
    shutil.copyfile(good_runs["gkn"], path)
    return path


def newest_checkpoint(f: h5py.File) -> str:
    return "checkpoints/weights"  # run format 2: the weight stacks, one row per checkpoint


@pytest.mark.parametrize("kind", ["opaque pickle", "object references", "pickle in a string"])
def test_a_run_file_holding_a_pickle_is_refused_and_never_unpickled(kind, run_copy, tmp_path, capsys):
    marker = tmp_path / "code-ran"
    payload = pickle.dumps(LeavesAMarker(marker))
    with h5py.File(run_copy, "r+") as f:
        name = f"{newest_checkpoint(f)}/net.0.bias"
        del f[name]
        if kind == "opaque pickle":
            f[name] = np.void(payload)
        elif kind == "object references":
            f.create_dataset(name, data=[f["config"].ref] * 10, dtype=h5py.ref_dtype)
        else:
            f[name] = np.array([payload] * 10)  # fixed-length byte strings
    with open_run(run_copy) as run, pytest.raises(RunFileError, match="not numbers"):
        run.load_model()
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["sample", str(run_copy), "--steps", "3", "--burn-in", "0", "-q"])
    assert info.value.code == 2 and "not numbers" in capsys.readouterr().err
    assert not marker.exists()


def snapshot(paths: list[Path]) -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}


def test_paths_inside_a_run_file_are_never_written_to(run_copy, tmp_path, qapp):
    """Every path the file names is a bait: reading, sampling, exporting and replaying touch none."""
    baits = [tmp_path / name for name in ("bait.txt", "bait.h5", "bait.csv", "bait.npz")]
    for bait in baits:
        bait.write_bytes(b"do not touch\n")
    before = snapshot(baits)
    with h5py.File(run_copy, "r+") as f:
        config = json.loads(f["config"].attrs["json"])
        config["data"].update(path=str(baits[0]))  # a data path, while the source stays the points
        f["config"].attrs["json"] = json.dumps(config)
        f.attrs.update(path=str(baits[1]), out=str(baits[2]), source_run=str(baits[1]))
        f["sampling/0000"].attrs.update(path=str(baits[3]), out=str(baits[2]))
        f["data"].attrs["path"] = str(baits[0])
    out = tmp_path / "exports"
    out.mkdir()
    for args in (
        ["runs", "show", str(run_copy)],
        ["sample", str(run_copy), "--steps", "3", "--burn-in", "0", "-q"],
        ["export", str(run_copy), "--what", "chains", "--format", "h5", "--out", str(out / "c.h5")],
        ["export", str(run_copy), "--what", "samples", "--format", "npz", "--out", str(out / "s.npz")],
        ["export", str(run_copy), "--what", "metrics", "--out", str(out / "m.csv")],
    ):
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 0, args

    from PyQt6.QtCore import QSettings

    from app.main_window import MainWindow

    window = MainWindow(
        runs_dir=tmp_path / "runs", settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    )
    try:
        assert window.open_run_file(run_copy)
        assert window.export("chains", out / "app.csv")
    finally:
        window.close()
        window.deleteLater()
        qapp.processEvents()
    assert snapshot(baits) == before
    written = sorted(p.name for p in out.iterdir())
    assert written == ["app.csv", "c.h5", "m.csv", "s.npz"]  # exactly what was asked for
    expected = {"bait.txt", "bait.h5", "bait.csv", "bait.npz", "exports", "run.h5", "s.ini", "runs"}
    assert set(os.listdir(tmp_path)) <= expected  # nothing written anywhere else


def test_an_unknown_kind_is_refused_before_anything_is_imported(run_copy):
    with h5py.File(run_copy, "r+") as f:
        f.attrs["kind"] = "os:system"
    with pytest.raises(RunFileError, match="unknown run kind 'os:system'"):
        open_run(run_copy)
