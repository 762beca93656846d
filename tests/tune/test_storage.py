"""Where Tune keeps experiments: defaults, URIs with pyarrow's options, joins, and the checks before a run.

The refusal of a local path on a cluster whose worker cannot see it runs on a real two-node cluster in
``test_multinode.py``; here a single local Ray, where a local path is fine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hiernas.errors import StorageError
from hiernas.tune.storage import check_storage, is_local, join, list_names, read_json, resolve_storage

S3 = "s3://bucket/runs?endpoint_override=127.0.0.1:5055&scheme=http"


def test_the_default_storage_is_ray_in_the_results_directory(tmp_path: Path) -> None:
    assert resolve_storage(None, str(tmp_path / "out")) == str(tmp_path / "out" / "ray")
    assert resolve_storage("", "out").endswith("/out/ray") and resolve_storage("", "out").startswith("/")


def test_local_paths_become_absolute_and_uris_stay_as_given(tmp_path: Path) -> None:
    assert resolve_storage(f"file://{tmp_path}/x", "out") == f"{tmp_path}/x"
    assert resolve_storage("rel/dir", "out").endswith("/rel/dir") and is_local("rel/dir")
    assert resolve_storage(S3, "out") == S3 and not is_local(S3) and is_local("file:///tmp")


@pytest.mark.parametrize("uri,expected", [("foo://bucket/x", "not a usable URI"), ("s3://", "names no bucket")])
def test_unusable_uris_are_refused_in_one_line(uri: str, expected: str) -> None:
    with pytest.raises(StorageError, match=expected) as info:
        resolve_storage(uri, "out")
    assert "\n" not in str(info.value)


def test_join_keeps_the_query_of_a_uri_at_the_end() -> None:
    assert join(S3, "search") == "s3://bucket/runs/search?endpoint_override=127.0.0.1:5055&scheme=http"
    assert join("s3://bucket?region=x", "a", "b") == "s3://bucket/a/b?region=x"
    assert join("/tmp/r", "search") == "/tmp/r/search"


def test_listing_and_reading_an_experiment_directory(tmp_path: Path) -> None:
    (tmp_path / "searcher-state-2.pkl").write_text(json.dumps({"n": 2}))
    (tmp_path / "searcher-state-1.pkl").write_text(json.dumps({"n": 1}))
    (tmp_path / "other.json").write_text("{}")
    assert list_names(str(tmp_path), "searcher-state-") == ["searcher-state-1.pkl", "searcher-state-2.pkl"]
    assert read_json(join(str(tmp_path), "searcher-state-2.pkl")) == {"n": 2}
    assert list_names(str(tmp_path / "missing"), "x") == []


def test_a_local_path_passes_on_one_node_and_leaves_nothing_behind(ray_session: None, tmp_path: Path) -> None:
    check_storage(str(tmp_path / "not" / "yet" / "there"))
    assert list(tmp_path.iterdir()) == []
