"""Cell search spaces (numpy, scipy, networkx; never torch): the FaDE DAG space, NAS-Bench-201, the protocol."""

from __future__ import annotations

from spaces.base import CellSpace
from spaces.dag import DagCell, DagSpace, cell_from_json
from spaces.nb201 import Nb201Cell, Nb201Space

__all__ = ["CellSpace", "DagCell", "DagSpace", "Nb201Cell", "Nb201Space", "cell_from_json"]
