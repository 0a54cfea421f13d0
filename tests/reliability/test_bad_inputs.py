"""The bad-input corpus: every case ends with one clear line (CLI: exit 2, one line on stderr, no
traceback; app: a dialog, and the window goes on working).

A case is (id, maker of the input, command args, expected fragment of the message). Placeholders in
the args: {bad} the made input, {gkn} / {gkn2d} / {chaos} the good runs, {tmp} the case's folder.
To add a command or a kind of run (the chaos app, sweeps), add rows to CASES or APP_CASES and, for a new
kind of run, a good run to `good_runs` in conftest.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import badinputs as b
import numpy as np
import pytest
from conftest import counts

from gkn_core.cli import main


@dataclass(frozen=True)
class Case:
    id: str
    make: b.Maker | None
    args: tuple[str, ...]
    expect: str
    app: bool = False  # also opened in the window (File > Open), expecting the same message
    cli: bool = True  # False: only the app reads what is damaged (e.g. manifold frames for replay)
    app_expect: tuple[str, ...] = ()  # what the window says instead, where it differs (any one of them)


def show(kind_of_bad: str = "{bad}") -> tuple[str, ...]:
    return ("runs", "show", kind_of_bad)


SAMPLE = ("sample", "{bad}", "--chains", "2", "--steps", "3", "--burn-in", "0", "-q")
EXPORT = ("export", "{bad}", "--out", "{tmp}/out.csv")
LYAPUNOV = ("lyapunov", "{bad}", "--steps", "5", "--exponents", "2")
TRAIN = ("train", "gkn", "--steps", "2", "-q")
TRAIN_OUT = (*TRAIN, "--out", "{tmp}/new.h5")
CHAOS_TRAIN = ("train", "chaos", "--steps", "1", "-q", "--out", "{tmp}/new.h5")
ck = b.in_checkpoints

CASES: list[Case] = [
    # -- files that are not run files -----------------------------------------------------------------
    Case("text-file-show", b.text_file(), show(), "is not an HDF5 file", app=True),
    Case("text-file-sample", b.text_file(), SAMPLE, "is not an HDF5 file"),
    Case("text-file-export", b.text_file(), EXPORT, "is not an HDF5 file"),
    Case("text-file-lyapunov", b.text_file(), LYAPUNOV, "is not an HDF5 file"),
    Case("empty-file", b.empty_file(), show(), "is empty, not a run file", app=True),
    Case("empty-file-sample", b.empty_file(), SAMPLE, "is empty, not a run file"),
    Case(
        "directory-as-run",
        b.directory(),
        show(),
        "is a directory, not a run file",
        app=True,
        app_expect=("is a directory, not a run file", "is not a sweep folder"),  # the window opens sweeps
    ),
    Case("directory-as-run-sample", b.directory(), SAMPLE, "is a directory, not a run file"),
    Case("missing-run", b.missing(), show(), "no such file", app=True),
    Case("png-named-h5", b.text_file(b"\x89PNG\r\n\x1a\n" + bytes(100)), show(), "is not an HDF5 file"),
    Case("plain-hdf5-not-a-run", b.a_plain_hdf5_file(), show(), "not a GKN Studio run", app=True),
    # -- damaged run files -----------------------------------------------------------------------------
    Case("truncated-half", b.truncated("gkn", 0.5), show(), "damaged or truncated", app=True),
    Case("truncated-2k", b.truncated("gkn", 2048), show(), "damaged or truncated", app=True),
    Case("truncated-superblock", b.truncated("gkn", 40), show(), "damaged or truncated", app=True),
    Case("truncated-sample", b.truncated("gkn", 0.5), SAMPLE, "damaged or truncated"),
    Case("truncated-chaos-lyapunov", b.truncated("chaos", 0.5), LYAPUNOV, "damaged or truncated"),
    Case("signature-flipped", b.overwritten("gkn", 0, b"\x00" * 8), show(), "is not an HDF5 file", app=True),
    Case(
        "loss-header-bit-flipped",
        b.flipped_object_header("gkn", "train/metrics/loss"),
        show(),
        "is damaged",
        app=True,
    ),
    Case(
        "checkpoint-header-bit-flipped",
        b.flipped_object_header("gkn", "{newest}/net.0.weight"),
        SAMPLE,
        "is damaged",
    ),
    Case(
        "chains-header-bit-flipped",
        b.flipped_object_header("gkn", "sampling/0000/chains"),
        show(),
        "is damaged",
        app=True,
    ),
    Case(
        "chaos-weights-header-bit-flipped",
        b.flipped_object_header("chaos", "{newest}/A1"),
        LYAPUNOV,
        "is damaged",
    ),
    # -- header problems -------------------------------------------------------------------------------
    Case(
        "format-version-99",
        b.edited("gkn", b.set_attr("/", "format_version", 99)),
        show(),
        "run format version 99",
        app=True,
    ),
    Case(
        "format-version-0",
        b.edited("gkn", b.set_attr("/", "format_version", 0)),
        show(),
        "run format version 0",
        app=True,
    ),
    Case(
        "format-version-text",
        b.edited("gkn", b.set_attr("/", "format_version", "1")),
        show(),
        "has no valid format_version",
        app=True,
    ),
    Case(
        "format-name-wrong",
        b.edited("gkn", b.set_attr("/", "format", "other-run")),
        show(),
        "not a GKN Studio run",
    ),
    Case("unknown-kind", b.edited("gkn", b.set_attr("/", "kind", "vae")), show(), "unknown run kind 'vae'"),
    Case(
        "no-config-group", b.edited("gkn", b.delete("config")), show(), "missing its /config group", app=True
    ),
    Case("no-data-group", b.edited("gkn", b.delete("data")), SAMPLE, "missing its /data group", app=True),
    Case(
        "config-json-missing", b.edited("gkn", b.del_attr("config", "json")), show(), "has no stored config"
    ),
    Case(
        "config-json-not-json",
        b.edited("gkn", b.set_attr("config", "json", "{not json")),
        show(),
        "holds an invalid config",
        app=True,
    ),
    Case(
        "config-json-bad-value",
        b.edited("gkn", b.set_attr("config", "json", '{"model": {"layers": 0}}')),
        show(),
        "model.layers",
    ),
    Case(
        "config-json-unknown-key",
        b.edited("gkn", b.set_attr("config", "json", '{"modle": {}}')),
        show(),
        "modle: unknown setting",
    ),
    Case(
        "config-json-number",
        b.edited("gkn", b.set_attr("config", "json", np.arange(3))),
        show(),
        "holds an invalid config",
    ),
    Case(
        "chaos-config-bad-gain",
        b.edited("chaos", b.set_attr("config", "json", '{"model": {"g": -1}}')),
        LYAPUNOV,
        "model.g",
    ),
    Case("data-attr-dim-missing", b.edited("gkn", b.del_attr("data", "dim")), show(), "is damaged", app=True),
    Case(
        "data-range-text",
        b.edited("gkn", b.set_attr("data", "low", "zero")),
        SAMPLE,
        "is damaged",
        app=True,
    ),
    Case(
        "data-with-nan",
        b.edited("gkn", b.replace("data/x", np.float32([[0.2], [np.nan]]))),
        SAMPLE,
        "not finite",
        app=True,
    ),
    # -- series and checkpoints ------------------------------------------------------------------------
    Case(
        "loss-series-missing",
        b.edited("gkn", b.delete("train/metrics/loss")),
        show(),
        "train/metrics has no loss",
        app=True,
    ),
    Case(
        "loss-series-2d",
        b.edited("gkn", b.replace("train/metrics/loss", np.zeros((30, 2)))),
        show(),
        "train/metrics/loss has shape (30, 2)",
        app=True,
    ),
    Case(
        "step-series-text",
        b.edited("gkn", b.replace("train/metrics/step", np.array([b"a"] * 30))),
        show(),
        "train/metrics/step holds",
        app=True,
    ),
    Case(
        "manifold-frames-missing",
        b.edited("gkn", b.delete("train/manifolds/fx")),
        show(),
        "train/manifolds has no fx",
        app=True,
        cli=False,
    ),
    Case("no-checkpoints", b.edited("gkn", b.delete("checkpoints")), SAMPLE, "holds no trained weights yet"),
    Case(
        "checkpoint-step-missing",
        b.edited("gkn", b.delete("checkpoints/step")),
        SAMPLE,
        "is damaged",
    ),
    Case(
        "checkpoint-weight-misshaped",
        b.edited(
            "gkn",
            ck(lambda f, g: b.replace(f"{g}/net.0.weight", b.stack(f, np.zeros((3, 3), np.float32)))(f)),
        ),
        SAMPLE,
        "does not fit the stored model settings",
    ),
    Case(
        "checkpoint-weight-missing",
        b.edited("gkn", ck(lambda f, g: f.__delitem__(f"{g}/net.0.bias"))),
        SAMPLE,
        "does not fit the stored model settings",
    ),
    Case(
        "checkpoint-weight-nan",
        b.edited(
            "gkn",
            ck(lambda f, g: b.replace(f"{g}/net.0.bias", b.stack(f, np.full(10, np.nan, np.float32)))(f)),
        ),
        SAMPLE,
        "non-finite weights",
    ),
    Case(
        "checkpoint-weight-strings",
        b.edited("gkn", ck(lambda f, g: b.replace(f"{g}/net.0.bias", b.stack(f, np.array([b"x"] * 10)))(f))),
        SAMPLE,
        "not numbers",
    ),
    Case(
        "checkpoint-weight-is-group",
        b.edited(
            "gkn", ck(lambda f, g: (f.__delitem__(f"{g}/net.0.bias"), f.create_group(f"{g}/net.0.bias")))
        ),
        SAMPLE,
        "net.0.bias is not a dataset",
    ),
    Case(
        "chaos-checkpoint-misshaped",
        b.edited("chaos", ck(lambda f, g: b.replace(f"{g}/A1", b.stack(f, np.zeros((2, 2), np.float32)))(f))),
        LYAPUNOV,
        "does not fit its settings",
    ),
    Case(
        "chaos-checkpoint-missing-weight",
        b.edited("chaos", ck(lambda f, g: f.__delitem__(f"{g}/b"))),
        LYAPUNOV,
        "does not fit its settings",
    ),
    Case(
        "sampling-chains-missing",
        b.edited("gkn", b.delete("sampling/0000/chains")),
        show(),
        "sampling/0000 has no chains",
        app=True,
    ),
    Case(
        "sampling-settings-invalid",
        b.edited("gkn", b.set_attr("sampling/0000", "json", '{"chains": -4}')),
        show(),
        "invalid sampling settings",
        app=True,
    ),
    Case(
        "sampling-chains-2d",
        b.edited("gkn", b.replace("sampling/0000/chains", np.zeros((4, 7), np.float32))),
        ("export", "{bad}", "--what", "chains", "--out", "{tmp}/out.csv"),
        "sampling/0000/chains has shape (4, 7)",
        app=True,
    ),
    Case(
        "chaos-trajectories-missing",
        b.edited("chaos", b.delete("sampling/0000/trajectories")),
        show(),
        "sampling/0000 has no trajectories",
    ),
    Case(
        "chaos-samples-unfinished",
        b.edited("chaos", b.delete("sampling/0000/samples")),
        ("export", "{bad}", "--what", "samples", "--out", "{tmp}/s.csv"),
        "did not complete",
    ),
    Case(
        "chaos-scores-2d",
        b.edited("chaos", b.replace("train/scores/E2", np.zeros((2, 2)))),
        show(),
        "train/scores/E2 has shape (2, 2)",
    ),
    # -- the wrong kind of run, wrong options for a file -------------------------------------------------
    Case("gkn-run-to-lyapunov", b.copy_of("gkn"), LYAPUNOV, "is a gkn run, not a chaos run"),
    Case("chaos-run-noise", b.copy_of("chaos"), (*SAMPLE, "--noise", "0.1"), "--noise does not apply"),
    Case("sample-chains-0", b.copy_of("gkn"), ("sample", "{bad}", "--chains", "0"), "sample.chains"),
    Case(
        "sample-burn-in-past-end",
        b.copy_of("gkn"),
        ("sample", "{bad}", "--steps", "5", "--burn-in", "9"),
        "burn_in (9) must be smaller than steps (5)",
    ),
    Case("sample-noise-negative", b.copy_of("gkn"), ("sample", "{bad}", "--noise", "-1"), "sample.noise"),
    Case("sample-noise-nan", b.copy_of("gkn"), ("sample", "{bad}", "--noise", "nan"), "sample.noise"),
    Case("chaos-sample-0", b.copy_of("chaos"), ("sample", "{bad}", "--chains", "0"), "sample.n"),
    Case("export-what-bogus", b.copy_of("gkn"), (*EXPORT, "--what", "bogus"), "--what: 'bogus'"),
    Case(
        "export-weights-as-csv",
        b.copy_of("gkn"),
        (*EXPORT, "--what", "weights"),
        "not a format of --what weights",
    ),
    Case("export-format-xls", b.copy_of("gkn"), (*EXPORT, "--format", "xls"), "--format: 'xls'"),
    Case("export-sampling-9", b.copy_of("gkn"), (*EXPORT, "--sampling", "9"), "there is no number 9"),
    # -- unwritable outputs ----------------------------------------------------------------------------
    Case("export-out-exists", None, ("export", "{gkn}", "--out", "{gkn2d}"), "already exists"),
    Case("export-out-directory", None, ("export", "{gkn}", "--out", "{tmp}"), "is a directory"),
    Case(
        "export-out-no-folder",
        None,
        ("export", "{gkn}", "--out", "{tmp}/nowhere/x.csv"),
        "folder {tmp}/nowhere does not exist",
    ),
    Case(
        "export-out-under-a-file",
        None,
        ("export", "{gkn}", "--out", "{gkn}/x.csv"),
        "cannot write {gkn}/x.csv: Not a directory",
    ),
    Case(
        "export-out-in-proc",
        None,
        ("export", "{gkn}", "--format", "npz", "--out", "/proc/gkn-test.npz"),
        "cannot write /proc/gkn-test.npz",
    ),
    Case("train-out-exists", None, (*TRAIN, "--out", "{gkn}"), "already exists"),
    Case("train-out-directory", None, (*TRAIN, "--out", "{tmp}"), "is a directory, not a run file name"),
    Case("train-out-no-folder", None, (*TRAIN, "--out", "{tmp}/nowhere/r.h5"), "does not exist"),
    Case(
        "train-out-under-a-file",
        None,
        (*TRAIN, "--out", "{gkn}/r.h5"),
        "cannot open {gkn}/r.h5 for writing: Not a directory",
    ),
    Case("train-out-in-proc", None, (*TRAIN, "--out", "/proc/gkn-test.h5"), "cannot open /proc/gkn-test.h5"),
    Case("chaos-out-exists", None, ("train", "chaos", "--steps", "1", "--out", "{gkn}"), "already exists"),
    # -- data files ------------------------------------------------------------------------------------
    Case("data-text", b.text_file(b"hello", "d.bin"), (*TRAIN_OUT, "--data", "{bad}"), "neither an .npz"),
    Case("data-empty", b.empty_file("d.bin"), (*TRAIN_OUT, "--data", "{bad}"), "image file is empty"),
    Case("data-directory", b.directory("d"), (*TRAIN_OUT, "--data", "{bad}"), "is a directory, not a file"),
    Case("data-unknown-name", None, (*TRAIN_OUT, "--data", "cifar10"), "neither a known data set"),
    Case(
        "idx-bad-dtype-code",
        b.idx_file(b.idx_bytes(0x07, (2, 8, 8), bytes(128))),
        (*TRAIN_OUT, "--data", "{bad}"),
        "unknown dtype code 0x07",
    ),
    Case(
        "idx-no-dimensions",
        b.idx_file(b"\x00\x00\x08\x00"),
        (*TRAIN_OUT, "--data", "{bad}"),
        "declares no dimensions",
    ),
    Case(
        "idx-truncated-header",
        b.idx_file(b"\x00\x00\x08\x03\x00\x00"),
        (*TRAIN_OUT, "--data", "{bad}"),
        "truncated inside its header",
    ),
    Case(
        "idx-short-data",
        b.idx_file(b.idx_bytes(0x08, (10, 28, 28), bytes(100))),
        (*TRAIN_OUT, "--data", "{bad}"),
        "header declares shape (10, 28, 28)",
    ),
    Case(
        "idx-huge-header",
        b.idx_file(b.idx_bytes(0x08, (2**31, 2**31, 2**31), bytes(16))),
        (*TRAIN_OUT, "--data", "{bad}"),
        "header declares shape",
    ),
    Case(
        "idx-labels-as-images",
        b.idx_file(b.idx_bytes(0x08, (10,))),
        (*TRAIN_OUT, "--data", "{bad}"),
        "(n, height, width)",
    ),
    Case(
        "idx-images-1x1",
        b.idx_file(b.idx_bytes(0x08, (4, 1, 1))),
        (*TRAIN_OUT, "--data", "{bad}"),
        "1x1 are not supported",
    ),
    Case(
        "idx-images-300x300",
        b.idx_file(b.idx_bytes(0x08, (1, 300, 300))),
        (*TRAIN_OUT, "--data", "{bad}"),
        "300x300 are not supported",
    ),
    Case(
        "idx-int32-images",
        b.idx_file(b.idx_bytes(0x0C, (2, 8, 8))),
        (*TRAIN_OUT, "--data", "{bad}"),
        "images have dtype int32",
    ),
    Case(
        "idx-gzip-corrupt",
        b.idx_file(b.gz(b.idx_bytes(0x08, (2, 8, 8)))[:30], "images-idx3-ubyte.gz"),
        (*TRAIN_OUT, "--data", "{bad}"),
        "corrupt or truncated gzip",
    ),
    Case(
        "idx-labels-count-mismatch",
        b.idx_with_labels(5, 7),
        (*TRAIN_OUT, "--data", "{bad}"),
        "has 7 labels for the 5 images",
    ),
    Case(
        "npz-no-images", b.npz_file(x=np.zeros(3)), (*TRAIN_OUT, "--data", "{bad}"), "has no 'images' array"
    ),
    Case(
        "npz-nan-pixel",
        b.npz_file(images=b.float_images(np.nan)),
        (*TRAIN_OUT, "--data", "{bad}"),
        "image 2 has a non-finite value nan",
    ),
    Case(
        "npz-inf-pixel",
        b.npz_file(images=b.float_images(np.inf)),
        (*TRAIN_OUT, "--data", "{bad}"),
        "non-finite value inf",
    ),
    Case(
        "npz-out-of-range",
        b.npz_file(images=b.float_images(low=0, high=255)),
        (*TRAIN_OUT, "--data", "{bad}"),
        "outside [0, 1]",
    ),
    Case(
        "npz-pickled-objects",
        b.npz_with_object_array(),
        (*TRAIN_OUT, "--data", "{bad}"),
        "holds non-numeric data",
    ),
    Case(
        "npz-flat-not-square",
        b.npz_file(images=np.zeros((4, 50), np.uint8)),
        (*TRAIN_OUT, "--data", "{bad}"),
        "not a square image",
    ),
    Case(
        "npz-no-rows",
        b.npz_file(images=np.zeros((0, 8, 8), np.uint8)),
        (*TRAIN_OUT, "--data", "{bad}"),
        "holds no images",
    ),
    Case(
        "npz-not-zip",
        b.text_file(b"\x00\x00\x08\x01junk", "data.npz"),
        (*TRAIN_OUT, "--data", "{bad}"),
        "named .npz but is not",
    ),
    Case(
        "npz-wrong-size-for-chaos",
        b.npz_file(images=np.zeros((4, 1, 7), np.uint8)),
        (*CHAOS_TRAIN, "--data", "{bad}"),
        "1x7 are not supported",
    ),
    Case(
        "chaos-data-text",
        b.text_file(b"hello", "d.bin"),
        (*CHAOS_TRAIN, "--data", "{bad}"),
        "neither an .npz",
    ),
    # -- every invalid setting -------------------------------------------------------------------------
    Case("preset-unknown", None, (*TRAIN_OUT, "--preset", "3d"), "preset: unknown preset '3d'"),
    Case("chaos-preset-unknown", None, (*CHAOS_TRAIN, "--preset", "x"), "unknown chaos preset 'x'"),
    Case("layers-0", None, (*TRAIN_OUT, "--layers", "0"), "model.layers: must be greater than or equal to 1"),
    Case("layers-200", None, (*TRAIN_OUT, "--layers", "200"), "model.layers"),
    Case("hidden-0", None, (*TRAIN_OUT, "--hidden", "0"), "model.hidden"),
    Case("lr-0", None, (*TRAIN_OUT, "--lr", "0"), "train.lr: must be greater than 0"),
    Case("lr-negative", None, (*TRAIN_OUT, "--lr", "-1"), "train.lr"),
    Case("lr-nan", None, (*TRAIN_OUT, "--lr", "nan"), "train.lr"),
    Case("lr-inf", None, (*TRAIN_OUT, "--lr", "inf"), "train.lr"),
    Case("steps-0", None, ("train", "gkn", "--steps", "0", "--out", "{tmp}/r.h5"), "train.steps"),
    Case("batch-size-0", None, (*TRAIN_OUT, "--batch-size", "0"), "train.batch_size"),
    Case("points-not-numbers", None, (*TRAIN_OUT, "--points", "a,b"), "--points: cannot read 'a,b'"),
    Case("points-out-of-range", None, (*TRAIN_OUT, "--points", "0.5,1.5"), "outside the unit range"),
    Case("points-ragged", None, (*TRAIN_OUT, "--points", "0.1 0.2; 0.3"), "same, non-zero number"),
    Case("data-and-points", None, (*TRAIN_OUT, "--data", "digits8", "--points", "0.2"), "not both"),
    Case("device-unknown", None, (*TRAIN_OUT, "--device", "tpu"), "device"),
    Case("seed-negative", None, (*TRAIN_OUT, "--seed", "-1"), "seed"),
    Case("n-0", None, (*TRAIN_OUT, "--data", "uniform", "--n", "0"), "data.n"),
    Case("dim-0", None, (*TRAIN_OUT, "--data", "uniform", "--dim", "0"), "data.dim"),
    Case("limit-0", None, (*TRAIN_OUT, "--data", "digits8", "--limit", "0"), "data.limit"),
    Case("layers-not-a-number", None, (*TRAIN_OUT, "--layers", "abc"), "Invalid value for '--layers'"),
    Case("activation-unknown", None, (*TRAIN_OUT, "--activation", "softmax"), "'softmax' is not one of"),
    Case("option-unknown", None, (*TRAIN_OUT, "--bogus"), "No such option: --bogus"),
    Case("command-unknown", None, ("fly",), "No such command 'fly'"),
    # -- settings too large for this machine's memory: refused before anything is allocated -------------
    Case("model-too-big", None, (*TRAIN_OUT, "--hidden", "65536", "--layers", "128"), "GB of memory but cpu"),
    Case(
        "generated-data-too-big",
        None,
        (*TRAIN_OUT, "--data", "uniform", "--n", "1000000", "--dim", "4096"),
        "generated values; at most",
    ),
    Case(
        "sample-chains-too-many",
        None,
        ("sample", "{gkn}", "--chains", "1000000", "--steps", "1000000", "--burn-in", "0", "-q"),
        "recording these chains needs about",
    ),
    Case(
        "chaos-network-too-big",
        None,
        ("lyapunov", "--untrained", "--arch", "unrestricted", "--nv", "65536", "--nh", "65536"),
        "this unrestricted network needs about",
    ),
    Case("chaos-g-negative", None, (*CHAOS_TRAIN, "--g", "-1"), "model.g"),
    Case("chaos-g-huge", None, (*CHAOS_TRAIN, "--g", "1000"), "model.g"),
    Case("chaos-tau-0", None, (*CHAOS_TRAIN, "--tau", "0"), "model.tau"),
    Case("chaos-dt-over-tau", None, (*CHAOS_TRAIN, "--dt", "20"), "must not exceed tau"),
    Case("chaos-T-below-dt", None, (*CHAOS_TRAIN, "--T", "0.1"), "at least one step"),
    Case("chaos-k-0", None, (*CHAOS_TRAIN, "--k", "0"), "train.k"),
    Case("chaos-M-0", None, (*CHAOS_TRAIN, "--M", "0"), "train.M"),
    Case("chaos-nh-0", None, (*CHAOS_TRAIN, "--nh", "0"), "model.Nh"),
    Case("chaos-arch-unknown", None, (*CHAOS_TRAIN, "--arch", "hopfield"), "'hopfield' is not one of"),
    Case("lyapunov-gain-text", None, ("lyapunov", "--untrained", "--g", "abc"), "--g: cannot read 'abc'"),
    Case(
        "lyapunov-exponents-0",
        None,
        ("lyapunov", "--untrained", "--exponents", "0"),
        "lyapunov.exponents: must be",
    ),
    Case("lyapunov-nv-0", None, ("lyapunov", "--untrained", "--nv", "0", "--nh", "4"), "--nv: must be >= 1"),
    Case("lyapunov-run-and-untrained", None, ("lyapunov", "{chaos}", "--untrained"), "not both"),
    Case("lyapunov-nothing", None, ("lyapunov",), "give a chaos run file"),
    Case(
        "lyapunov-window-0",
        None,
        ("lyapunov", "--untrained", "--nv", "4", "--nh", "4", "--exponents", "2", "--local-window", "0"),
        "--local-window: must be between 1",
    ),
    Case(
        "lyapunov-too-many-exponents",
        None,
        ("lyapunov", "--untrained", "--nv", "4", "--nh", "4", "--steps", "5", "--exponents", "9"),
        "the network has only 8 units",
    ),
]

# Whole-file subprocess checks: the real `gkn` process prints one line and no traceback.
SUBPROCESS_IDS = ("text-file-show", "truncated-half", "format-version-99", "layers-0", "npz-nan-pixel")


def materialize(case: Case, folder: Path, runs: dict[str, Path]) -> tuple[list[str], str]:
    bad = case.make(folder, runs) if case.make is not None else None
    names = {"bad": str(bad), "tmp": str(folder), **{k: str(v) for k, v in runs.items()}}
    return [arg.format(**names) for arg in case.args], case.expect.format(**names)


def one_error_line(code: int | None, stderr: str, expect: str) -> str:
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr, stderr
    assert code == 2, f"exit code {code}, stderr: {stderr}"
    assert len(lines) == 1, f"{len(lines)} lines on stderr: {stderr}"
    assert lines[0].startswith("gkn: error"), lines[0]
    assert expect in lines[0], f"{expect!r} not in {lines[0]!r}"
    return lines[0]


@pytest.fixture
def case_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "case"
    folder.mkdir()
    return folder


CLI_CASES = [c for c in CASES if c.cli]


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_cli_gives_one_clear_line(case, good_runs, case_folder, capsys, tally):
    args, expect = materialize(case, case_folder, good_runs)
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(args)
    _, err = capsys.readouterr()
    one_error_line(info.value.code, err, expect)
    tally.add("bad inputs handled (CLI)", 1)


@pytest.mark.parametrize("case_id", SUBPROCESS_IDS)
def test_the_real_process_prints_no_traceback(case_id, good_runs, case_folder):
    case = next(c for c in CASES if c.id == case_id)
    args, expect = materialize(case, case_folder, good_runs)
    result = subprocess.run(
        [sys.executable, "-m", "gkn_core.cli", *args], capture_output=True, text=True, timeout=120
    )
    one_error_line(result.returncode, result.stderr, expect)
    assert result.stdout == ""


def test_the_corpus_is_big_enough():
    assert len({c.id for c in CASES}) == len(CASES) >= 40


# -- the app -------------------------------------------------------------------------------------------
APP_CASES = [c for c in CASES if c.app]


@pytest.fixture(scope="module")
def app_window(qapp, tmp_path_factory):
    """One window for every case: each bad file must leave it working for the next."""
    pytest.importorskip("PyQt6")
    from PyQt6.QtCore import QSettings

    from app.main_window import MainWindow

    folder = tmp_path_factory.mktemp("app-window")
    window = MainWindow(
        runs_dir=folder / "runs", settings=QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat)
    )
    window.confirm = lambda question: True  # dialogs that ask are answered yes
    window.show()
    yield window
    window.close()
    window.deleteLater()
    qapp.processEvents()


@pytest.mark.parametrize("case", APP_CASES, ids=[c.id for c in APP_CASES])
def test_the_window_shows_one_message_and_goes_on(case, app_window, good_runs, case_folder, qapp, tally):
    args, expect = materialize(case, case_folder, good_runs)
    bad = next(a for a in args if a.startswith(str(case_folder)))
    window = app_window
    window.last_error = ""
    assert not window.open_run_file(bad)
    qapp.processEvents()
    assert any(e in window.last_error for e in case.app_expect or (expect,)), window.last_error
    assert "\n" not in window.last_error
    assert window.isVisible()
    assert window.open_run_file(good_runs["gkn"])  # the window goes on working
    window.redraw(force=True)
    assert window.gkn.state.steps.values.tolist() == list(range(1, 31))
    tally.add("bad inputs handled (app)", 1)


# Settings typed into the window: (id, how to set them up, expected message fragment).
def _points(text: str):
    def setup(window, folder: Path) -> None:
        window.gkn.controls.data.setCurrentText("points")
        window.gkn.controls.points.setText(text)

    return setup


def _runs_dir_under_a_file(window, folder: Path) -> None:
    blocker = folder / "a-file"
    blocker.write_text("x")
    window.runs_dir = blocker / "runs"


def _device(name: str):
    def setup(window, folder: Path) -> None:
        window.gkn.controls.device.addItem(name)  # as if the list offered it
        window.gkn.controls.device.setCurrentText(name)

    return setup


APP_SETTING_CASES = [
    ("points-not-numbers", _points("a, b"), "cannot read 'a, b' as numbers"),
    ("points-out-of-range", _points("0.2, 1.7"), "outside the unit range"),
    ("points-ragged", _points("0.1 0.2; 0.3"), "same, non-zero number of coordinates"),
    ("runs-folder-under-a-file", _runs_dir_under_a_file, "Not a directory"),
    ("device-tpu", _device("tpu"), "device: unknown device (use auto, cpu, cuda or cuda:N) (got 'tpu')"),
]


@pytest.mark.parametrize(
    "setup, expect", [c[1:] for c in APP_SETTING_CASES], ids=[c[0] for c in APP_SETTING_CASES]
)
def test_bad_settings_in_the_window_give_a_message(setup, expect, app_window, case_folder, qapp, tally):
    window = app_window
    saved_dir = window.runs_dir
    window.gkn.controls.load_preset("1d")
    window.last_error = ""
    try:
        setup(window, case_folder)
        assert not window.gkn.start_training(paused=True)
        assert expect in window.last_error and "\n" not in window.last_error
        assert window.gkn.train_thread is None or window.gkn.train_thread.finished
    finally:
        window.runs_dir = saved_dir
        window.gkn.controls.load_preset("1d")
    tally.add("bad inputs handled (app)", 1)


def test_sampling_before_training_gives_a_message(app_window, tally):
    window = app_window
    window.gkn.train_reset()
    window.gkn.sample_play()
    assert "train a model (or open a run) before sampling" in window.last_error
    tally.add("bad inputs handled (app)", 1)


# -- random corruption ---------------------------------------------------------------------------------
CORRUPTED = {"gkn": counts(quick=40, full=1000), "chaos": counts(quick=20, full=500)}


@pytest.mark.timeout(counts(quick=300, full=3600))
@pytest.mark.parametrize("kind", list(CORRUPTED))
def test_randomly_corrupted_runs_are_read_or_refused_in_one_line(kind, good_runs, tmp_path, tally):
    """Random bit flips and overwritten blocks anywhere in a run: `runs show`, `export` and a full replay
    either work or say in one line what is wrong; no traceback, no crash of the process."""
    child = Path(__file__).parents[1] / "helpers" / "open_corrupted.py"
    result = subprocess.run(
        [sys.executable, str(child), str(good_runs[kind]), str(tmp_path), "0", str(CORRUPTED[kind])],
        capture_output=True,
        text=True,
        timeout=counts(quick=300, full=3600),
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and len(lines) == CORRUPTED[kind], (
        f"the reader process died after {len(lines)} files: {result.stderr[-2000:]}"
    )
    refused = damaged = 0
    for line in lines:
        case = json.loads(line)
        damaged += case["results"]["check"][0] == 2
        for what, (code, err) in case["results"].items():
            where = f"seed {case['seed']} ({case['how']}), {what}"
            assert "Traceback" not in err, f"{where}: {err}"
            if code == 0:
                assert err == "", f"{where}: {err}"
            else:
                assert code == 2 and len(err.strip().splitlines()) == 1, f"{where}: {code} {err}"
                assert err.startswith("gkn: error"), f"{where}: {err}"
                refused += 1
    tally.add("corrupted run files opened", len(lines))
    tally.add("corrupted run files refused in one line (of 4 readers each)", refused)
    tally.add("corrupted run files `gkn runs check` called damaged", damaged)
