"""bench/compare_searchers.py refuses impossible sizes in one line, exit code 2, before writing anything; a
results directory keeps the budget (race included) it was started with."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

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


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compare_searchers_bench", ROOT / "bench" / "compare_searchers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _older_budget(out: Path) -> dict[str, object]:
    """A comparison.json as written before the race settings (and final seeds) were budget keys."""
    budget: dict[str, object] = {"depth": 4, "window": 6, "iterations": 4, "repeats": 2, "trial_epochs": 2,
                                 "final_epochs": 15, "batch_size": 64, "choice_mode": "softmax",
                                 "fade_step": "least_squares", "rank": "alpha", "rank_paths": 64}
    out.mkdir()
    (out / "comparison.json").write_text(json.dumps(budget))
    return budget


def test_an_older_comparison_resumes_with_the_race_it_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "cmp"
    _older_budget(out)
    module = _load_script()
    monkeypatch.setattr(sys, "argv", ["compare_searchers.py", "--out", str(out)])
    module.check_budget(module.parse_args())  # the older defaults: race of 4 paths x 6 epochs, one final seed
    pinned = json.loads((out / "comparison.json").read_text())
    assert (pinned["race_paths"], pinned["race_epochs"], pinned["final_seeds"]) == (4, 6, 1)


def test_another_race_needs_another_out(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    budget = _older_budget(out)
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "compare_searchers.py"), "--out", str(out),
                           "--race-epochs", "30"], capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0 and len(lines) == 1 and "other settings" in lines[0], proc.stderr
    assert json.loads((out / "comparison.json").read_text()) == budget  # left as it was
