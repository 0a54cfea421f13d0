"""The errors a user can cause. Each carries one line that says what is wrong.

The CLI turns any of these into that line on stderr and exit code 2; the app shows it in a dialog.
Anything else that escapes is a bug.
"""


class GKNError(Exception):
    """Base of every error caused by user input (a value, a file, a path)."""


class ConfigError(GKNError):
    """A setting has a value the product cannot use."""


class DataError(GKNError):
    """A data file or data specification cannot be read or is unsuitable."""


class RunFileError(GKNError):
    """A file is not a readable GKN Studio run file, or cannot be written as one."""


class JobFailed(GKNError):
    """A job stopped because its computation went wrong (for example the loss diverged)."""


class Diverged(JobFailed):
    """A training's numbers stopped being finite. Carries the last good weights (a checkpoint of the
    run's kind, or None), which the recorder keeps in the run file."""

    def __init__(self, message: str, checkpoint: object | None) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint


def out_of_memory(exc: BaseException) -> str | None:
    """'out of memory on ...' when `exc` is a CPU or GPU allocation failure, else None.

    Recognised without importing torch: torch.OutOfMemoryError (CUDA), the CPU allocator's
    RuntimeError, and Python's MemoryError.
    """
    import re

    text = str(exc)
    if type(exc).__name__ == "OutOfMemoryError" or "CUDA out of memory" in text:
        asked = re.search(r"Tried to allocate [\d.]+ [KMGT]?i?B", text)
        return "out of GPU memory" + (f" ({asked.group(0).lower()})" if asked else "")
    if isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and "can't allocate memory" in text):
        return "out of memory"
    return None
