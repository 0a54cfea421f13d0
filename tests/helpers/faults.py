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



_UNDO: list = []  # how to take back the faults injected in this process, newest last


def fill_the_disk() -> None:
    """From now on the writers of this process see a disk with 1000 bytes free (a full disk)."""
    import gkn_core.runs.disk as disk

    real = disk.room_for_writing
    disk.room_for_writing = lambda *args: 1000
    _UNDO.append(lambda: setattr(disk, "room_for_writing", real))


def exhaust_gpu_memory() -> None:
    """From now on every GKN training step of this process runs out of GPU memory."""
    import torch

    from gkn_core.gkn.train import GKNTrainingJob

    def failing(self):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    real = GKNTrainingJob._advance
    GKNTrainingJob._advance = failing
    _UNDO.append(lambda: setattr(GKNTrainingJob, "_advance", real))


def undo_faults() -> int:
    """Take back every fault injected in this process; how many there were."""
    count = len(_UNDO)
    while _UNDO:
        _UNDO.pop()()
    return count
