"""Where Tune keeps experiments (trial checkpoints, results, snapshots with the searcher's state): a local
directory, a directory every node mounts, or cloud storage (``s3://bucket/prefix``, ``gs://...``, an
S3-compatible server through pyarrow's URI options, e.g. ``?endpoint_override=host:port&scheme=http``).

Since Ray 2.7 Tune does not copy a worker node's checkpoints to the head: on a cluster of several nodes
the storage must be reachable from every node that runs trials. ``check_storage`` refuses a local path
that such a node cannot see, before anything starts. The result files a person reads stay in the
results directory on the driver; only Tune's experiments live in the storage.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pyarrow.fs as pafs
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from hiernas.errors import StorageError

DEFAULT_SUBDIR = "ray"  # the default storage: <results>/ray


def is_local(storage: str) -> bool:
    """Whether ``storage`` is a path of this machine's filesystem (a plain path or a ``file://`` URI)."""
    scheme = urlsplit(storage).scheme
    return scheme in ("", "file")


def resolve_storage(storage: str | None, results_dir: str) -> str:
    """The storage Tune gets: ``<results_dir>/ray`` when None, a local path made absolute, a URI as given.

    Raises ``StorageError`` for a URI that pyarrow cannot parse (unknown scheme, missing bucket).
    """
    if not storage:
        return os.path.abspath(os.path.join(results_dir, DEFAULT_SUBDIR))
    if is_local(storage):
        return os.path.abspath(urlsplit(storage).path if storage.startswith("file://") else storage)
    try:
        _, path = pafs.FileSystem.from_uri(storage)
    except ValueError as error:  # pyarrow's ArrowInvalid is a ValueError
        raise StorageError(f"storage {storage!r} is not a usable URI: {error}") from None
    if not path.strip("/"):
        raise StorageError(f"storage {storage!r} names no bucket")
    return storage


def join(storage: str, *parts: str) -> str:
    """``storage`` with path ``parts`` appended; a URI keeps its query (pyarrow's options) at the end."""
    if is_local(storage):
        return os.path.join(storage, *parts)
    split = urlsplit(storage)
    path = "/".join([split.path.rstrip("/"), *parts])
    return urlunsplit(split._replace(path=path if path.startswith("/") else "/" + path))


def _filesystem(location: str) -> tuple[pafs.FileSystem, str]:
    return pafs.FileSystem.from_uri(location if not is_local(location) else os.path.abspath(location))


def list_names(location: str, prefix: str) -> list[str]:
    """Names of the entries directly in ``location`` that start with ``prefix`` (none when it is missing)."""
    fs, path = _filesystem(location)
    try:
        infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    except OSError:
        return []
    return sorted(os.path.basename(info.path) for info in infos if os.path.basename(info.path).startswith(prefix))


def read_json(location: str) -> Any:
    """The JSON document at ``location`` (a local path or a URI)."""
    fs, path = _filesystem(location)
    with fs.open_input_stream(path) as stream:
        return json.loads(stream.read().decode("utf-8"))


@ray.remote(num_cpus=0)
def _sees(path: str) -> bool:
    """Runs on one node: whether that node sees ``path``."""
    return os.path.exists(path)


def _trial_nodes(cpus_per_trial: float, gpus_per_trial: float) -> list[str]:
    """Ids of the live nodes on which a trial of these resources fits."""
    return [
        node["NodeID"]
        for node in ray.nodes()
        if node.get("Alive")
        and node["Resources"].get("CPU", 0) >= cpus_per_trial
        and node["Resources"].get("GPU", 0) >= gpus_per_trial
    ]


def check_storage(storage: str, cpus_per_trial: float = 1, gpus_per_trial: float = 0) -> None:
    """Refuse storage the running Ray cannot use, before any experiment starts (``StorageError``, one line).

    A URI's bucket must exist and be reachable from this driver. A local path passes on one node; on
    several nodes, every node that can host a trial must see it: a probe file written next to it here is
    looked for there (a task pinned to each node) and removed again, so nothing is left behind.
    """
    if not is_local(storage):
        fs, path = _filesystem(storage)
        bucket = path.strip("/").split("/")[0]
        try:
            missing = fs.get_file_info(bucket).type == pafs.FileType.NotFound
        except OSError as error:
            raise StorageError(f"storage {storage} cannot be reached: {' '.join(str(error).split())}") from None
        if missing:
            raise StorageError(f"storage {storage}: the bucket {bucket} does not exist")
        return
    if sum(1 for node in ray.nodes() if node.get("Alive")) <= 1:
        return
    nodes = _trial_nodes(cpus_per_trial, gpus_per_trial)
    existing = storage
    while not os.path.isdir(existing):
        existing = os.path.dirname(existing)
    probe = os.path.join(existing, f".hiernas-storage-probe-{uuid.uuid4().hex}")
    with open(probe, "w"):
        pass
    try:
        seen = ray.get([
            _sees.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(probe)
            for node in nodes
        ], timeout=120)
    finally:
        os.unlink(probe)
    blind = seen.count(False)
    if blind:
        raise StorageError(
            f"{storage} is a local path that {blind} of the {len(nodes)} nodes running trials cannot see; "
            "use cloud storage (s3://bucket/prefix, gs://bucket/prefix, an S3-compatible server with "
            "?endpoint_override=host:port&scheme=http) or a directory that every node mounts"
        )
