"""GKN Studio desktop app (PyQt6 + pyqtgraph). Sits above gkn_core; nothing in gkn_core imports it."""
