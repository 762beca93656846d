"""Cell search spaces (numpy, scipy, networkx; never torch): the FaDE DAG space and its protocol."""

from __future__ import annotations

from spaces.base import CellSpace
from spaces.dag import DagCell, DagSpace, cell_from_json

__all__ = ["CellSpace", "DagCell", "DagSpace", "cell_from_json"]
