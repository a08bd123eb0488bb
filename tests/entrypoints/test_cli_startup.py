"""`ems --help` stays quick: starting the CLI loads none of the heavy layers its commands drive
(they are imported inside the commands; docs/architecture.md)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pandapower", "pyomo", "fastapi", "matplotlib", "entrypoints.operate.live")


def test_cli_start_loads_no_heavy_layer() -> None:
    code = "import sys, entrypoints.cli.main; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code.format(heavy=HEAVY)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []
