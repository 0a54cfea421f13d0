"""GKN Studio core: datasets, models, jobs, run files and the CLI. Never imports Qt."""

__version__ = "0.1.0"
