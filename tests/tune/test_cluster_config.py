"""cluster.yaml is accepted by the schema `ray up` validates against (shipped in the installed ray)."""

from __future__ import annotations

import json
import os

import jsonschema
import ray
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_cluster_yaml_validates_against_rays_schema() -> None:
    with open(os.path.join(os.path.dirname(ray.__file__), "autoscaler", "ray-schema.json")) as handle:
        schema = json.load(handle)
    with open(os.path.join(ROOT, "cluster.yaml")) as handle:
        config = yaml.safe_load(handle)
    jsonschema.validate(config, schema)
    assert config["available_node_types"]["worker_gpu"]["resources"]["GPU"] == 1
