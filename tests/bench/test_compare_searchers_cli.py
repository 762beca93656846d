"""bench/compare_searchers.py refuses impossible sizes in one line, exit code 2, before writing anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args,expected", [
    (["--depth", "100"], "depth must be in 1..16"),
    (["--depth", "0"], "--depth"),
    (["--seeds", "1"], "at least 2 distinct seeds"),
])
def test_bad_sizes_are_one_line_and_leave_no_output(tmp_path: Path, args: list[str], expected: str) -> None:
    out = tmp_path / "cmp"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "compare_searchers.py"), "--seeds", "0", "1",
                           "--out", str(out), *args], capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and expected in lines[0], proc.stderr
    assert not out.exists()
