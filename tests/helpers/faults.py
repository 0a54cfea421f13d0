"""Faults the GUI tests inject into the jobs of a compute process, as requests (no Qt here).

A test asks for one with `lab.request(poison_training, (), done)`: the function runs in the lab's
compute process (app/compute_child.py), where the jobs and their models are, so the test reaches the
job the way the window does, through a request, never through the window's handle on it.
"""

from __future__ import annotations


def poison_training() -> int:
    """Fill the weights of every training job the process drives with NaN, as a blow-up would (call
    it while the job waits in its pause); how many jobs it poisoned."""
    import torch

    from app.compute_child import live_jobs

    poisoned = 0
    with torch.no_grad():
        for job in live_jobs():
            model = getattr(job, "model", None)
            if model is not None and hasattr(job, "optimizer"):
                for parameter in model.parameters():
                    parameter.fill_(float("nan"))
                poisoned += 1
    return poisoned
