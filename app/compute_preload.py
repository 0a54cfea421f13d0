"""What every compute process needs before its first job, paid once per window process (no Qt here).

The compute processes start from a "forkserver" (app/compute.py): one clean Python process, started
the first time a lab needs a compute process, that imports this module and then forks each compute
process from itself. Importing torch, the jobs' modules and the optimizer machinery takes 3-6 s on a
busy 2-core machine; with the forkserver a window pays that once, and every later compute process (the
other lab's, one after a crash, one per window in the tests) starts in a fraction of a second.

Why forking here is safe although a fork of a process with torch threads is not: the forkserver runs
no thread of its own (torch's intra-op pool is created on the first parallel operation, and the warm-up
below runs on one thread, so none is ever made), holds no Qt, and forks from a single-threaded loop.
The compute process sets its own thread count when it starts (compute_child.serve).
"""

from __future__ import annotations

import importlib

import torch

torch.set_num_threads(1)  # no OpenMP worker threads in the process that forks
_compute_jobs = importlib.import_module("app.compute_jobs")
for _name in _compute_jobs.job_modules():
    importlib.import_module(_name)
_compute_jobs.warm_up()
