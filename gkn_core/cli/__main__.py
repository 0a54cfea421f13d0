"""`python -m gkn_core.cli`: the core CLI (without `gkn app`, which the app layer adds)."""

from gkn_core.cli import main

main()
