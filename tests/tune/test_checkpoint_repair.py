"""A restored trial whose recorded checkpoint is gone from the storage resumes from its newest stored one
(or afresh when none is left) instead of failing in ``Trainable.restore``: real Tune runs, real files."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest


def _trainable(config: dict[str, Any]) -> None:
    """Three epochs with a checkpoint each; the first run dies after its second epoch."""
    from ray import tune

    checkpoint, start = tune.get_checkpoint(), 0
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            start = json.loads(Path(folder, "state.json").read_text())["epoch"]
    for epoch in range(start, 3):
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "state.json").write_text(json.dumps({"epoch": epoch + 1}))
            tune.report({"epoch": epoch + 1, "started_at": start}, checkpoint=tune.Checkpoint.from_directory(folder))
        marker = Path(config["marker"])
        if epoch == 1 and not marker.exists():
            marker.write_text("died once")
            raise RuntimeError("the first run dies after two epochs")


@pytest.mark.parametrize("left", ["a newer one", "none"])
def test_a_restored_trial_resumes_from_what_the_storage_holds(ray_session: None, tmp_path: Path, left: str) -> None:
    from ray import cloudpickle

    from hiernas.tune.runtime import make_tuner

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import a test module
    storage = str(tmp_path / "ray")
    options = {"name": "repair", "storage_path": storage, "max_failures": 0, "snapshot_each_checkpoint": True}
    first = make_tuner(_trainable, param_space={"marker": str(tmp_path / "marker")}, **options).fit()
    assert first[0].error is not None  # died after epoch 2, its record names checkpoint_000001
    (trial_dir,) = [p for p in Path(storage, "repair").iterdir() if p.is_dir() and p.name.startswith("_trainable")]
    assert sorted(os.listdir(trial_dir / "checkpoint_000001"))  # the recorded checkpoint, kept alone
    if left == "none":
        shutil.rmtree(trial_dir / "checkpoint_000001")
    else:  # the table is older than the storage: the recorded checkpoint is gone, a newer one is there
        (trial_dir / "checkpoint_000001").rename(trial_dir / "checkpoint_000007")
    result = make_tuner(_trainable, restore=True, **options).fit()[0]
    assert result.error is None
    assert result.metrics["epoch"] == 3
    assert result.metrics["started_at"] == (0 if left == "none" else 2)
