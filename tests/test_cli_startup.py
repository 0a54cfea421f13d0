"""A CLI that answers at once (issue #12.3): the quick commands import neither torch nor Qt (nor the
other heavy libraries), checked on the modules a real `gkn` process has loaded when it exits."""

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "PyQt6", "pyqtgraph", "superqt", "sklearn", "scipy", "ray")
# Runs the console script's entry point (app.entry, which adds `gkn app`) and prints the top-level
# modules that were loaded, whatever way the command ended.
PROBE = (
    "import atexit, json, sys\n"
    "top = lambda: sorted({m.split('.')[0] for m in sys.modules})\n"
    "atexit.register(lambda: print('MODULES=' + json.dumps(top())))\n"
    "sys.argv = ['gkn', *json.loads(sys.argv[1])]\n"
    "from app.entry import main\n"
    "main()\n"
)


def loaded_modules(args: list[str]) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("MODULES="))
    return set(json.loads(line.removeprefix("MODULES=")))


HELP_COMMANDS = [
    [],
    ["--help"],
    ["version"],
    ["presets"],
    ["chaos-presets"],
    ["train", "--help"],
    ["train", "gkn", "--help"],
    ["train", "chaos", "--help"],
    ["sample", "--help"],
    ["runs", "--help"],
    ["runs", "show", "--help"],
    ["export", "--help"],
    ["lyapunov", "--help"],
    ["sweep", "--help"],
    ["sweep", "show", "--help"],
    ["sweep", "resume", "--help"],
    ["app", "--help"],
]


@pytest.mark.parametrize("args", HELP_COMMANDS, ids=lambda a: " ".join(a) or "no-args")
def test_quick_commands_import_no_torch_and_no_qt(args):
    assert not loaded_modules(args) & set(HEAVY)


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory):
    from gkn_core.cli import main

    folder = tmp_path_factory.mktemp("startup")
    gkn_run, chaos_run = folder / "gkn.h5", folder / "chaos.h5"
    for argv in (
        ["train", "gkn", "--preset", "1d", "--steps", "20", "-q", "--out", str(gkn_run)],
        ["sample", str(gkn_run), "--chains", "4", "--steps", "6", "--burn-in", "1", "-q"],
        [
            *("train", "chaos", "--preset", "digits8", "--steps", "2", "--nh", "8", "--M", "8", "-q"),
            *("--metrics-every", "1", "--lyapunov-every", "1", "--sample-every", "1"),
            *("--out", str(chaos_run)),
        ],
        ["sample", str(chaos_run), "--chains", "2", "--steps", "3", "-q"],
    ):
        with pytest.raises(SystemExit) as ended:
            main(argv)
        assert ended.value.code == 0
    return {"gkn": gkn_run, "chaos": chaos_run}


@pytest.mark.parametrize("kind", ["gkn", "chaos"])
def test_runs_show_imports_no_torch(small_runs, kind):
    modules = loaded_modules(["runs", "show", str(small_runs[kind])])
    assert not modules & set(HEAVY)
    assert "h5py" in modules  # it did read the file


def test_importing_the_registry_imports_no_family():
    code = (
        "import sys, gkn_core.families as f\n"
        "print(sorted(m for m in sys.modules if m.startswith(('gkn_core.gkn', 'gkn_core.chaos', 'torch'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
