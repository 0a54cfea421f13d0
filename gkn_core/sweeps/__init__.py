"""Sweeps: a grid of jobs over config fields and seeds, run locally or on Ray, compared in a table.

    spec = build_spec(read_sweep_file("sweeps/gkn-depth.toml"))   # or build_spec({...})
    outcome = run_sweep(spec, "runs/sweeps/depth")                   # resumable; skips finished jobs
    table = load_sweep("runs/sweeps/depth")
    curves = table.curves("burn_in_steps", "model.layers")          # mean and std over seeds

See docs/sweeps.md.
"""

from gkn_core.sweeps.runner import SweepOutcome, run_sweep
from gkn_core.sweeps.spec import SweepJob, SweepSpec, build_spec, plan_jobs, read_sweep_file
from gkn_core.sweeps.table import SweepCurve, SweepRow, SweepTable, load_sweep

__all__ = [
    "SweepCurve",
    "SweepJob",
    "SweepOutcome",
    "SweepRow",
    "SweepSpec",
    "SweepTable",
    "build_spec",
    "load_sweep",
    "plan_jobs",
    "read_sweep_file",
    "run_sweep",
]
