"""The DARTS operation space: genotypes, JSON, graphs and the CellSpace protocol."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from spaces.darts import (
    DARTS_V1,
    DARTS_V2,
    PC_DARTS,
    PRIMITIVES,
    DartsSpace,
    Genotype,
    genotype_from_json,
    genotype_to_graph,
    named_genotype,
)


def test_primitives_are_the_eight_darts_ops() -> None:
    assert PRIMITIVES == (
        "none",
        "max_pool_3x3",
        "avg_pool_3x3",
        "skip_connect",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "dil_conv_3x3",
        "dil_conv_5x5",
    )


@pytest.mark.parametrize("genotype", [DARTS_V1, DARTS_V2, PC_DARTS])
def test_published_genotypes_round_trip_through_json(genotype: Genotype) -> None:
    text = json.dumps(genotype.to_json())
    assert set(json.loads(text)) == {"normal", "normal_concat", "reduce", "reduce_concat"}
    assert genotype_from_json(text) == genotype
    assert genotype_from_json(genotype.dumps()) == genotype


def test_pc_darts_genotype_is_the_published_cifar_cell() -> None:
    assert PC_DARTS.normal[:2] == (("sep_conv_3x3", 1), ("skip_connect", 0))
    assert PC_DARTS.reduce[-1] == ("sep_conv_3x3", 2)
    assert named_genotype("darts") == DARTS_V2 and named_genotype("pc_darts") == PC_DARTS


@pytest.mark.parametrize(
    "bad, message",
    [
        ("{not json", "not valid JSON"),
        ({"normal": [["sep_conv_3x3", 0]] * 2, "normal_concat": [2]}, "missing fields"),
        ({**DARTS_V2.to_json(), "extra": 1}, "unknown fields"),
        ({**DARTS_V2.to_json(), "normal": [["conv_9x9", 0]] * 8}, "unknown operation"),
        ({**DARTS_V2.to_json(), "normal": [["sep_conv_3x3", 2]] * 8}, "input 2 of node 0"),
        ({**DARTS_V2.to_json(), "reduce_concat": [9]}, "reduce_concat"),
        ([1, 2], "must be an object"),
    ],
)
def test_bad_genotype_json_is_a_value_error(bad: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        genotype_from_json(bad)  # type: ignore[arg-type]


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(KeyError, match="DARTS_V2"):
        named_genotype("NASNET")


def test_graph_has_two_inputs_per_node() -> None:
    graph = genotype_to_graph(DARTS_V2)
    for cell in ("normal", "reduce"):
        for node in range(2, 6):
            assert graph.in_degree(f"{cell}/{node}") == 2
        assert graph.in_degree(f"{cell}/out") == 4
    assert graph.edges["normal/2", "normal/5"]["op"] == "dil_conv_3x3"


def test_space_protocol_and_determinism() -> None:
    space = DartsSpace(steps=4, pool_size=64, pool_seed=1)
    a = space.sample(np.random.default_rng(0))
    assert a == space.sample(np.random.default_rng(0))
    assert space.decode(json.loads(json.dumps(space.encode(a)))) == a
    features = space.features(a)
    low, high = space.bounds
    assert features.shape == (space.dim,) == (len(space.feature_names),)
    assert np.all(features >= low) and np.all(features <= high)
    rng = np.random.default_rng(3)
    for _ in range(20):
        child = space.mutate(a, rng)
        assert child != a and child.steps == 4
        mixed = space.crossover(a, child, rng)
        assert all(edge in a.normal + child.normal for edge in mixed.normal)
    assert len(space) > 10**15
    assert space.to_graph(a).graph["features"]


def test_nearest_returns_the_published_cell_and_honours_exclude() -> None:
    space = DartsSpace(steps=4, pool_size=32)
    assert space.nearest(space.features(DARTS_V2)) == DARTS_V2
    other = space.nearest(space.features(DARTS_V2), exclude=[DARTS_V2])
    assert other != DARTS_V2


def test_spaces_do_not_import_torch() -> None:
    code = "import sys, spaces.darts; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
