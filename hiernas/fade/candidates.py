"""The cells a hyper-architecture row can hold: per cell space, how a cell's JSON decodes and how its
candidate module is built.

A row's candidates all map ``in_channels`` to ``channels`` at the row's feature-map size. Three spaces:

- ``dag``: FaDE's DAG cells (``hiernas.fade.cells``): k x k convolutions on every edge, shared per row by
  edge slot with ``share_weights``.
- ``nb201``: NAS-Bench-201 cells (``spaces.nb201``): a 1x1 projection to the row's channels, then the
  benchmark's cell (node j = sum of ``op(node i)`` over i < j, output node 3) with its operations;
  shared per row by (edge, operation), the one-shot weight sharing of the benchmark's search networks.
- ``darts``: DARTS genotypes (``spaces.darts``): the genotype's normal cell with the row input as both of
  its inputs, and a 1x1 projection from its concatenated nodes back to the row's channels. No sharing.

``candidate_factory(model)`` picks the factory named by ``ModelConfig.space``; ``spaces.registry.make_space``
gives the matching ``CellSpace`` to the outer searchers.
"""

from __future__ import annotations

import abc
from collections.abc import Hashable, Sequence
from typing import Any

from torch import Tensor, nn

from hiernas.fade.cells import DagCellModule, cell_edge_slots, conv_edge, edge_key, equal_param_width, projection
from hiernas.fade.config import ModelConfig
from spaces.dag import DagCell, cell_from_json
from spaces.darts import Genotype, genotype_from_json
from spaces.nb201 import Nb201Cell, parse_arch


class CandidateFactory(abc.ABC):
    """Decodes the cells of one space and builds a row's candidate modules."""

    def __init__(self, model: ModelConfig) -> None:
        self.model = model

    @abc.abstractmethod
    def decode(self, obj: Any) -> Hashable:
        """A cell from its JSON form (or the cell itself); ``ValueError`` for malformed input."""

    def shared_bank(self, row: Sequence[Any], in_channels: int, channels: int) -> nn.ModuleDict:
        """The modules a row's candidates share (empty: nothing shared)."""
        return nn.ModuleDict()

    @abc.abstractmethod
    def module(self, cell: Any, in_channels: int, channels: int, bank: nn.ModuleDict) -> nn.Module:
        """The candidate module of ``cell``; it draws on ``bank`` when the row shares weights."""


class DagFactory(CandidateFactory):
    """FaDE's DAG cells (``hiernas.fade.cells``)."""

    def decode(self, obj: Any) -> DagCell:
        return obj if isinstance(obj, DagCell) else cell_from_json(obj)

    def shared_bank(self, row: Sequence[DagCell], in_channels: int, channels: int) -> nn.ModuleDict:
        if not self.model.share_weights:
            return nn.ModuleDict()
        slots = {edge_key(u, v) for cell in row for u, v in cell_edge_slots(cell)}
        bank = {key: conv_edge(channels, self.model.kernel_size, self.model.batch_norm) for key in sorted(slots)}
        bank["projection"] = projection(in_channels, channels)
        return nn.ModuleDict(bank)

    def module(self, cell: DagCell, in_channels: int, channels: int, bank: nn.ModuleDict) -> nn.Module:
        model = self.model
        if not model.share_weights:
            reference = model.equal_params_convs
            inner = equal_param_width(cell, channels, reference) if reference else None
            return DagCellModule(cell, in_channels, channels, model.kernel_size, model.batch_norm,
                                 inner_channels=inner)
        return DagCellModule(
            cell, in_channels, channels, model.kernel_size, model.batch_norm,
            make_edge=lambda u, v: bank[edge_key(u, v)], make_projection=lambda: bank["projection"],
        )


class Nb201Candidate(nn.Module):
    """A NAS-Bench-201 cell on the row's channels: ``projection`` to them, then one module per edge."""

    def __init__(self, cell: Nb201Cell, projection_module: nn.Module, edges: Sequence[nn.Module]) -> None:
        super().__init__()
        self.cell = cell
        self.projection = projection_module
        self.edges = nn.ModuleList(edges)

    def forward(self, x: Tensor) -> Tensor:
        from hiernas.nb201.skeleton import cell_sum

        return cell_sum(self.projection(x), lambda e, h: self.edges[e](h))  # (B, C, H, W)


class Nb201Factory(CandidateFactory):
    """NAS-Bench-201 cells; shared weights are keyed by (edge, operation) per row."""

    def decode(self, obj: Any) -> Nb201Cell:
        return obj if isinstance(obj, Nb201Cell) else parse_arch(obj)

    @staticmethod
    def _key(edge: int, op: str) -> str:
        return f"e{edge}:{op}"

    def shared_bank(self, row: Sequence[Nb201Cell], in_channels: int, channels: int) -> nn.ModuleDict:
        if not self.model.share_weights:
            return nn.ModuleDict()
        from hiernas.nb201.ops import make_nb201_op

        keys = sorted({(e, op) for cell in row for e, op in enumerate(cell.ops)})
        bank = {self._key(e, op): make_nb201_op(op, channels) for e, op in keys}
        bank["projection"] = projection(in_channels, channels)
        return nn.ModuleDict(bank)

    def module(self, cell: Nb201Cell, in_channels: int, channels: int, bank: nn.ModuleDict) -> nn.Module:
        if self.model.share_weights:
            edges = [bank[self._key(e, op)] for e, op in enumerate(cell.ops)]
            return Nb201Candidate(cell, bank["projection"], edges)
        from hiernas.nb201.ops import make_nb201_op

        return Nb201Candidate(cell, projection(in_channels, channels), [make_nb201_op(op, channels) for op in cell.ops])


class DartsCandidate(nn.Module):
    """A genotype's normal cell with the row input as both inputs, projected back to the row's channels."""

    def __init__(self, genotype: Genotype, in_channels: int, channels: int) -> None:
        super().__init__()
        from hiernas.darts.eval_network import EvalCell

        self.cell = EvalCell(genotype, in_channels, in_channels, channels, reduction=False, reduction_prev=False)
        self.output = projection(len(genotype.normal_concat) * channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.output(self.cell(x, x))  # (B, C, H, W)


class DartsFactory(CandidateFactory):
    """DARTS genotypes (normal cells); weights are never shared between candidates."""

    def decode(self, obj: Any) -> Genotype:
        return obj if isinstance(obj, Genotype) else genotype_from_json(obj)

    def module(self, cell: Genotype, in_channels: int, channels: int, bank: nn.ModuleDict) -> nn.Module:
        return DartsCandidate(cell, in_channels, channels)


_FACTORIES: dict[str, type[CandidateFactory]] = {"dag": DagFactory, "nb201": Nb201Factory, "darts": DartsFactory}


def candidate_factory(model: ModelConfig) -> CandidateFactory:
    """The factory of ``model.space``."""
    return _FACTORIES[model.space](model)
