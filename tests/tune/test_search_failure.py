"""A failed search fails (issue 11, item 3): when no iteration succeeded, ``SearchJob.run`` raises
``TrialError`` naming the first trial's error and writes no result file. Real Tune trials that fail in
the trial itself (a regulariser scale per row for the wrong number of rows); the command line's exit code
1 on a real cluster is in ``test_multinode.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from hiernas.config import DataConfig
from hiernas.errors import TrialError
from hiernas.fade.config import ModelConfig, TrainConfig, TrialConfig
from hiernas.tune.search import SearchJob, SearchSettings


def test_a_search_without_a_successful_iteration_raises_the_first_trial_error(
    ray_session: None, tmp_path: Path
) -> None:
    base = TrialConfig(
        seed=0, data=DataConfig(dataset="synthetic", batch_size=16, synthetic_size=64),
        model=ModelConfig(depth=2, window=2), train=TrainConfig(epochs=1, reg_row_scale=(1.0,)),
    )
    settings = SearchSettings(iterations=2, repeats=1, final_epochs=1, max_failures=0)
    job = SearchJob(settings, base, str(tmp_path / "out"))
    with pytest.raises(TrialError, match="no iteration succeeded.*reg_row_scale has 1 entries") as info:
        job.run()
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ray", "search_config.json"]
    assert len(job.searcher.history) == 2 and {r["status"] for r in job.searcher.history} == {"failed"}
