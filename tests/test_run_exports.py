"""Runs out and back (#16): scalars of many runs as one long table, weights as safetensors loaded into a
fresh model with the same outputs, `gkn train --from` and `--config`, and one-line errors (exit 2)."""

from __future__ import annotations

import csv
import itertools
import json
import tomllib

import numpy as np
import pytest
import torch

from gkn_core.cli import main
from gkn_core.runs.reader import open_run
from gkn_core.runs.scalars import differing_settings, ema, load_scalars, run_label
from gkn_core.runs.settings_file import settings_of_file, settings_toml
from gkn_core.runs.weights import load_weights_file, read_weights_file


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two small gkn runs that differ in depth and one small chaos run."""
    folder = tmp_path_factory.mktemp("runs")
    for layers in (2, 4):
        with pytest.raises(SystemExit) as info:
            main(
                [
                    "train",
                    "gkn",
                    "--preset",
                    "1d",
                    "--layers",
                    str(layers),
                    "--steps",
                    "40",
                    "-q",
                    "--out",
                    str(folder / f"g{layers}.h5"),
                ]
            )
        assert info.value.code == 0
    with pytest.raises(SystemExit) as info:
        main(
            [
                "train",
                "chaos",
                "--preset",
                "digits8",
                "--nh",
                "20",
                "--steps",
                "6",
                "--metrics-every",
                "3",
                "--lyapunov-every",
                "3",
                "-q",
                "--out",
                str(folder / "c.h5"),
            ]
        )
    assert info.value.code == 0
    return folder


def test_scalars_of_a_folder_are_one_long_table(capsys, runs, tmp_path):
    out = tmp_path / "s.csv"
    code, stdout, err = run_main(capsys, "export", runs, "--what", "scalars", "--format", "csv", "--out", out)
    assert code == 0, err
    with open(out) as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:6] == ["run", "kind", "step", "wall_time", "metric", "value"]
    assert "model.layers" in rows[0] and "model.Nh" not in rows[0]  # only the settings that differ
    loss = [r for r in rows if r["run"] == "g4" and r["metric"] == "loss"]
    assert [int(r["step"]) for r in loss] == list(range(1, 41))
    assert {r["model.layers"] for r in loss} == {"4"}
    with open_run(runs / "g4.h5") as run:
        assert np.allclose([float(r["value"]) for r in loss], run.train_metrics()["loss"])
    chaos = {r["metric"] for r in rows if r["kind"] == "chaos"}
    assert {"gap", "E2", "AAI", "lyapunov"} <= chaos and "loss" not in chaos
    assert "3 runs" in stdout


def test_scalars_as_parquet(capsys, runs, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "s.parquet"
    args = ("export", runs / "g2.h5", runs / "g4.h5", "--what", "scalars", "--format", "parquet")
    code, _, err = run_main(capsys, *args, "--out", out)
    assert code == 0, err
    table = pq.read_table(out).to_pydict()
    assert set(table["run"]) == {"g2", "g4"}
    assert set(table["model.layers"]) == {2, 4}
    assert len(table["value"]) == 2 * 40 * 2  # loss and best loss, 40 steps, two runs


def test_legend_names_only_the_settings_that_differ(runs):
    scalars = [load_scalars(runs / name) for name in ("g2.h5", "g4.h5", "c.h5")]
    keys = differing_settings(scalars)
    assert keys == ["kind", "model.layers"]
    assert [run_label(r, keys) for r in scalars] == ["kind=gkn layers=2", "kind=gkn layers=4", "kind=chaos"]
    assert differing_settings(scalars[:2]) == ["model.layers"]


def test_each_family_sums_its_runs_up_for_the_runs_table(runs):
    """The runs table's settings and best-score cells come from the family (Family.summary)."""
    from gkn_core.families import family

    with open_run(runs / "g4.h5") as run:
        gkn = family(run.kind).get("summary")(run)
        best_loss = float(run.train_metrics()["best_loss"][-1])
    assert gkn.settings.startswith("L=4 H=") and " lr=" in gkn.settings
    assert gkn.best == f"loss {best_loss:.4g}" and gkn.best_key == best_loss
    with open_run(runs / "c.h5") as run:
        chaos = family(run.kind).get("summary")(run)
        e2 = float(run.series("train/scores", ("step",))["E2"][-1])
    assert chaos.settings.startswith("restricted2 Nh=20 ") and " k=" in chaos.settings
    assert chaos.best.startswith(f"E2 {e2:.3g} AAI ") and chaos.best_key == pytest.approx(e2)


def test_ema_is_tensorboards_debiased_smoothing():
    values = np.array([1.0, 2.0, np.nan, 4.0])
    smooth = ema(values, 0.5)
    assert smooth[0] == 1.0  # debiased: the first point is the first value
    assert smooth[1] == pytest.approx((0.25 * 1 + 0.5 * 2) / 0.75)
    assert np.isnan(smooth[2])
    assert np.array_equal(ema(values, 0.0), values, equal_nan=True)


def test_gkn_weights_load_into_a_fresh_module_with_the_same_outputs(capsys, runs, tmp_path):
    out = tmp_path / "m.safetensors"
    code, _, err = run_main(
        capsys, "export", runs / "g4.h5", "--what", "weights", "--format", "safetensors", "--out", out
    )
    assert code == 0, err
    _, metadata = read_weights_file(out)
    assert metadata["kind"] == "gkn" and json.loads(metadata["config"])["model"]["layers"] == 4
    model = load_weights_file(out)
    assert isinstance(model, torch.nn.Module)
    x = torch.linspace(0, 1, 11)[:, None]
    with open_run(runs / "g4.h5") as run:
        original = run.load_model()
    with torch.no_grad():
        assert torch.equal(model(x), original(x))
    # without GKN Studio: plain torch, the layer sizes from the metadata (docs/python-api.md)
    from safetensors.torch import load_file

    settings = json.loads(metadata["config"])["model"]
    widths = [1] + [settings["hidden"]] * (settings["layers"] - 1) + [1]
    layers = [m for a, b in itertools.pairwise(widths) for m in (torch.nn.Linear(a, b), torch.nn.ReLU())]
    plain = torch.nn.Sequential(*layers[:-1], torch.nn.Sigmoid())
    plain.load_state_dict({k.removeprefix("net."): v for k, v in load_file(out).items()})
    with torch.no_grad():
        assert torch.equal(plain(x), original(x))


def test_chaos_weights_load_into_a_fresh_network_with_the_same_dynamics(capsys, runs, tmp_path):
    from gkn_core.chaos.runfile import load_chaos_model

    out = tmp_path / "c.safetensors"
    code, _, err = run_main(
        capsys, "export", runs / "c.h5", "--what", "weights", "--format", "safetensors", "--out", out
    )
    assert code == 0, err
    model = load_weights_file(out)
    with open_run(runs / "c.h5") as run:
        original, _ = load_chaos_model(run)
    state = torch.randn(3, original.dim, generator=torch.Generator().manual_seed(0))
    assert torch.equal(model.flat_step(state), original.flat_step(state))


def test_train_from_a_run_takes_its_settings_and_options_override(capsys, runs, tmp_path):
    out = tmp_path / "again.h5"
    code, _, err = run_main(
        capsys, "train", "gkn", "--from", runs / "g4.h5", "--steps", "5", "-q", "--out", out
    )
    assert code == 0, err
    with open_run(out) as run, open_run(runs / "g4.h5") as source:
        assert run.config.model == source.config.model  # layers 4 came from the run
        assert run.config.train.steps == 5  # the command line wins
    code, _, err = run_main(
        capsys, "train", "chaos", "--from", runs / "g4.h5", "-q", "--out", tmp_path / "x.h5"
    )
    assert code == 2 and "is a gkn run, not a chaos run" in err and len(err.strip().splitlines()) == 1


def test_train_from_a_users_preset_file(capsys, tmp_path):
    with open_run_settings_file(tmp_path) as path:
        code, _, err = run_main(
            capsys, "train", "gkn", "--config", path, "--steps", "3", "-q", "--out", tmp_path / "mine.h5"
        )
    assert code == 0, err
    with open_run(tmp_path / "mine.h5") as run:
        assert run.config.preset == "mine"
        assert run.config.model.layers == 3 and run.config.model.hidden == 6
        assert run.config.data.points == [[0.3], [0.6]]


class open_run_settings_file:
    """A preset file as a user writes it (the schema of gkn_core/presets/gkn.toml)."""

    def __init__(self, folder):
        self.path = folder / "mine.toml"

    def __enter__(self):
        text = settings_toml(
            {
                "data": {"source": "points", "points": [[0.3], [0.6]], "value_range": "unit"},
                "model": {"layers": 3, "hidden": 6},
                "train": {"steps": 50, "lr": 0.01},
            },
            "mine",
        )
        self.path.write_text(text)
        assert tomllib.loads(text)["mine"]["model"] == {"layers": 3, "hidden": 6}
        assert settings_of_file(self.path)["preset"] == "mine"
        return self.path

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("export", "{tmp}/nope.h5", "--what", "scalars", "--out", "{tmp}/s.csv"), "nope.h5: no such file"),
        (("export", "{tmp}/text.h5", "--what", "scalars", "--out", "{tmp}/s.csv"), "not an HDF5 file"),
        (
            ("export", "{runs}/g2.h5", "--what", "weights", "--format", "csv", "--out", "{tmp}/w"),
            "is not a format of --what weights (safetensors)",
        ),
        (
            ("export", "{runs}/g2.h5", "--what", "scalars", "--format", "npz", "--out", "{tmp}/w"),
            "is not a format of --what scalars (csv, parquet)",
        ),
        (("export", "{runs}/g2.h5", "--what", "everything", "--out", "{tmp}/w"), "--what: 'everything'"),
        (
            (
                "export",
                "{runs}/g2.h5",
                "{runs}/g4.h5",
                "--what",
                "weights",
                "--format",
                "safetensors",
                "--out",
                "{tmp}/w",
            ),
            "exports one run",
        ),
        (("train", "gkn", "--from", "{tmp}/nope.h5", "--out", "{tmp}/r.h5"), "nope.h5: no such file"),
        (("train", "gkn", "--config", "{tmp}/text.h5", "--out", "{tmp}/r.h5"), "is not valid TOML"),
        (("train", "gkn", "--config", "{tmp}/none.toml", "--out", "{tmp}/r.h5"), "none.toml: no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, runs, tmp_path, args, message):
    (tmp_path / "text.h5").write_text("not = [a run")
    filled = [a.replace("{tmp}", str(tmp_path)).replace("{runs}", str(runs)) for a in args]
    code, _, err = run_main(capsys, *filled)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1, err
