"""A search whose driver is killed with SIGKILL mid-run and started again with ``--resume`` loses and repeats
no iteration, and ends with the same record as an uninterrupted run of the same seed (issue 4, item 6).

Real processes, real Ray and real Tune snapshots (every 10 s, Tune's default period): the killed run is a
subprocess in its own process group, killed as a whole once Tune's saved searcher state holds a completed
iteration, so the snapshot is older than the trials that were running at the kill.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "fade_search.py"
ITERATIONS = 4
EPOCHS = 2
ARGS = [
    "--depth", "2", "--window", "2", "--iterations", str(ITERATIONS), "--repeats", "1", "--epochs", str(EPOCHS),
    "--final-epochs", "1", "--seed", "3", "--no-dashboard",
]


def command(results: Path, *extra: str) -> list[str]:
    return [sys.executable, str(SCRIPT), *ARGS, "--results", str(results), *extra]


def environment() -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS="1", RAY_DEDUP_LOGS="0")


def saved_searcher_state(results: Path) -> dict[str, Any] | None:
    """The newest searcher state Tune has snapshotted (JSON, written atomically by BatchSearcher.save)."""
    paths = sorted(glob.glob(str(results / "ray" / "search" / "searcher-state-*")))  # newest session last
    if not paths:
        return None
    try:
        return json.loads(Path(paths[-1]).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def without_trial_ids(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Iteration records minus Tune's trial ids, which are random per experiment."""
    return [{k: v for k, v in r.items() if k != "trial_ids"} for r in records]


def kill_after_first_iteration(results: Path) -> dict[str, Any]:
    """Start a search, SIGKILL its whole process group once a completed iteration is snapshotted."""
    proc = subprocess.Popen(
        command(results), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment(),
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            state = saved_searcher_state(results)
            if state is not None and 1 <= len(state["history"]) < ITERATIONS:
                time.sleep(1.0)  # let the next iteration's trial run past the snapshot
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                return state
            if proc.poll() is not None:
                pytest.fail(f"the search ended (exit {proc.returncode}) before a snapshot showed an iteration")
            time.sleep(0.2)
        pytest.fail("no snapshot with a completed iteration within 240 s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    raise AssertionError("unreachable")


def test_sigkilled_search_resumes_without_losing_or_repeating_an_iteration(tmp_path: Path) -> None:
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    reference = subprocess.run(command(reference_dir), capture_output=True, text=True, env=environment(), timeout=600)
    assert reference.returncode == 0, reference.stderr[-2000:]

    snapshot = kill_after_first_iteration(killed_dir)
    assert not (killed_dir / "search.json").exists()  # killed before the end: no result file yet
    resumed = subprocess.run(
        command(killed_dir, "--resume"), capture_output=True, text=True, env=environment(), timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    expected = json.loads((reference_dir / "search.json").read_text())["iterations"]
    got = json.loads((killed_dir / "search.json").read_text())["iterations"]
    assert [r["iteration"] for r in got] == list(range(ITERATIONS))  # none lost, none repeated
    for before in snapshot["history"]:  # iterations completed before the kill were not trained again
        assert got[before["iteration"]]["trial_ids"] == before["trial_ids"]
    assert without_trial_ids(got) == without_trial_ids(expected)
    trial_dirs = {Path(p).name.removeprefix("hyper_trainable_"): Path(p) for p in
                  glob.glob(str(killed_dir / "ray" / "search" / "hyper_trainable_*"))}
    recorded = {trial for r in got for ids in r["trial_ids"] for trial in ids}
    assert len(recorded) == ITERATIONS and recorded <= set(trial_dirs)  # one trial per iteration (repeats=1)
    # Tune's snapshot lags the search by seconds: a trial started after it is started afresh on resume and
    # its first directory stays behind, unfinished. Nothing that finished is ever trained twice.
    unrecorded = set(trial_dirs) - recorded
    assert len(unrecorded) <= 1
    assert all(len(list(trial_dirs[t].glob("checkpoint_*"))) < EPOCHS for t in unrecorded)

    best_expected = json.loads((reference_dir / "best.json").read_text())
    best_got = json.loads((killed_dir / "best.json").read_text())
    assert best_got == best_expected
