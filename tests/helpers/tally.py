"""What the reliability tests counted (kills survived, bad inputs handled, memory growth), for the
session summary; tests/conftest.py prints it, gathering the workers' counts under pytest-xdist."""

from __future__ import annotations

from collections import defaultdict

TALLY: dict[str, list[float]] = defaultdict(list)


def summary_lines() -> list[str]:
    lines = []
    for name, values in sorted(TALLY.items()):
        if name.endswith("(MB)") or name.endswith("(s)"):
            lines.append(f"{name}: {', '.join(f'{v:.1f}' for v in values)}")
        else:
            lines.append(f"{name}: {sum(values):g}")
    return lines
