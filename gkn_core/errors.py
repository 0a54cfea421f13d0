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
