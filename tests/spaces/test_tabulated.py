"""Tests of the shared base of the finite spaces (``spaces.tabulated``): table, ties, pickling, the unit box."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

from spaces.base import CellSpace
from spaces.dag import DagSpace
from spaces.darts import DartsSpace
from spaces.nb201 import Nb201Space
from spaces.tabulated import TabulatedSpace, check_feature_names, tabulate


class Line(TabulatedSpace[int]):
    """Four integer cells on a line: 0 and 3 at feature 0, 1 and 2 at feature 1 (two groups of two)."""

    def __init__(self) -> None:
        super().__init__(("x",), tabulate([0, 1, 2, 3], [lambda cell: float(cell in (1, 2))]))

    def index_of(self, cell: int) -> int:
        """A cell is its own index."""
        return cell

    def _recipe(self) -> dict[str, Any]:
        """No arguments."""
        return {}


class GroupLine(Line):
    """``Line`` with ties broken by feature group."""

    NEAREST_TIES = "group"


def test_the_table_normalises_groups_and_freezes() -> None:
    space = Line()
    assert space.cells == (0, 1, 2, 3) and len(space) == 4 and space.dim == 1
    np.testing.assert_array_equal(space.feature_matrix[:, 0], [0.0, 1.0, 1.0, 0.0])
    assert not space.feature_matrix.flags.writeable and not space.raw_feature_matrix.flags.writeable
    assert space.nearest([0.2]) == 0 and space.nearest([0.9]) == 1
    assert space.nearest([0.2], exclude=[0, 3]) == 1


def test_equidistant_groups_tie_by_cell_or_by_group() -> None:
    # 0.5 is as far from group (0, 3) as from group (1, 2); cell 0 is excluded
    assert Line().nearest([0.5], exclude=[0]) == 1  # the lowest free index
    assert GroupLine().nearest([0.5], exclude=[0]) == 3  # the group headed by the lower index
    assert Line().nearest([0.5]) == GroupLine().nearest([0.5]) == 0
    assert DagSpace.NEAREST_TIES == "group" and Nb201Space.NEAREST_TIES == "cell"


def test_a_generator_draws_uniformly_among_every_tied_free_cell() -> None:
    space = Line()
    draws = [space.nearest([0.5], exclude=[0], rng=np.random.default_rng(seed)) for seed in range(200)]
    assert set(draws) == {1, 2, 3}  # both groups are 0.5 away; cell 0 is excluded
    assert all(draws.count(cell) > 40 for cell in (1, 2, 3))
    near = [space.nearest([0.2], rng=np.random.default_rng(seed)) for seed in range(50)]
    assert set(near) == {0, 3}  # a nearer group is never left for a farther one
    assert space.nearest([0.9], exclude=[1], rng=np.random.default_rng(0)) == 2
    first = [space.nearest([0.5], rng=np.random.default_rng(7)) for _ in range(3)]
    assert len(set(first)) == 1  # one seed, one draw


def test_nb201_twins_are_all_reachable_with_a_generator() -> None:
    space = Nb201Space()
    group = next(g for g in space._table.groups if len(g) >= 5)
    point = space.feature_matrix[group[0]]
    rng = np.random.default_rng(0)
    found = {space.index_of(space.nearest(point, rng=rng)) for _ in range(300)}
    assert found == set(group)  # without a generator only group[0] is ever returned
    assert space.index_of(space.nearest(point)) == group[0]


def test_spaces_pickle_and_print_as_their_recipe() -> None:
    space = GroupLine()
    assert repr(space) == "GroupLine()"
    clone = pickle.loads(pickle.dumps(space))
    assert clone.nearest([0.5], exclude=[0]) == 3 and clone.feature_names == ("x",)


def test_feature_names_are_checked_against_the_registry() -> None:
    registry = {"a": None, "b": None}
    assert check_feature_names(iter(["b", "a"]), registry) == ("b", "a")
    for names, message in (((), "must not be empty"), (("c",), "unknown feature"), (("a", "a"), "duplicate")):
        with pytest.raises(ValueError, match=message):
            check_feature_names(names, registry)


@pytest.mark.parametrize("space", [DagSpace(3), DartsSpace(pool_size=8)], ids=["tabulated", "darts"])
def test_every_space_is_a_cell_space_in_the_unit_box(space: Any) -> None:
    assert isinstance(space, CellSpace)
    low, high = space.bounds
    np.testing.assert_array_equal(low, np.zeros(space.dim))
    np.testing.assert_array_equal(high, np.ones(space.dim))
