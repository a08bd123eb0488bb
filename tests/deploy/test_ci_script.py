""".ci/run ends with the README's test command, verbatim, so CI tests what a user's ``./run test`` tests.

The only difference allowed is the environment exported before it (``EMS_TEST_REQUIRE_TIMESCALEDB``,
which turns a missing TimescaleDB from a skip into a failure)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    first_block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    assert first_block is not None, "README.md has no bash block"
    (readme_test,) = [c for c in first_block.group(1).splitlines() if c.startswith("./run test")]
    commands = [c for c in (ROOT / ".ci/run").read_text(encoding="utf-8").splitlines() if c and c[0] != "#"]
    assert commands[-1] == readme_test
    assert commands[-2] == "export EMS_TEST_REQUIRE_TIMESCALEDB=1"
