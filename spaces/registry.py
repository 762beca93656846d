"""The cell spaces by name, for command lines and configs: ``make_space("nb201")``."""

from __future__ import annotations

from typing import Any

from spaces.base import CellSpace
from spaces.dag import DagSpace
from spaces.darts import DartsSpace
from spaces.nb201 import Nb201Space

# dag: FaDE's DAG cells; nb201: NAS-Bench-201 cells; darts: DARTS genotypes
SPACE_NAMES = ("dag", "nb201", "darts")


def make_space(name: str, max_vertices: int = 6) -> CellSpace[Any]:
    """The space called ``name`` (``max_vertices`` bounds the DAG cells only); ``ValueError`` for another name."""
    if name == "dag":
        return DagSpace(max_vertices)
    if name == "nb201":
        return Nb201Space()
    if name == "darts":
        return DartsSpace()
    raise ValueError(f"unknown cell space {name!r}; expected one of {list(SPACE_NAMES)}")
