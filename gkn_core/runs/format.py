"""Names and numbers of the HDF5 run format (see docs/run-format.md)."""

FORMAT_NAME = "gkn-studio-run"
FORMAT_VERSION = 2  # 1: before SWMR (status attributes, a group per checkpoint); still read
STATUSES = ("running", "completed", "stopped", "failed")

METRICS_CHUNK = 4096  # rows per chunk of a 1-D metric series
CHAIN_CHUNK_BYTES = 1 << 18  # aim for chunks of about 256 KiB in chain recordings
INLINE_DATA_LIMIT = 4_000_000  # training data up to this many values is copied into the run file
