"""What every compute process loads before its first job (no Qt here): each lab's requests
(`app/<kind>/compute_jobs.py`, module-level functions, so that a request is a picklable (function,
arguments) pair) and its family's sessions, found through the registry, and the warm-up.
"""

from __future__ import annotations

from importlib.util import find_spec

from gkn_core.families import FAMILIES


def job_modules() -> tuple[str, ...]:
    """The modules a compute process imports first: each lab's requests and its family's sessions."""
    names: list[str] = []
    for kind, family in FAMILIES.items():
        if find_spec(f"app.{kind}.compute_jobs") is not None:
            names.append(f"app.{kind}.compute_jobs")
        names += sorted(
            {family.training_session.partition(":")[0], family.sampling_session.partition(":")[0]}
        )
    return tuple(names)


def warm_up() -> None:
    """What a first job would pay once (torch's optimizer machinery imports sympy and more, about
    2 s on a busy 2-core machine): paid when the process starts, before anyone presses Train."""
    import torch

    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.zeros(1, 2)).sum().backward()
    optimizer.step()
