"""How DARTS-PD's stages 2-3 treat the architectures of the searched space: DARTS genotypes or NAS-Bench-201
cells. ``hiernas.darts.search`` runs the stages once for both through an ``Architectures``: the soft pruning
of the trained alpha, a path's logits on the shared weights, an architecture's size, and its text and JSON
in the reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import torch
from torch import Tensor

from hiernas.darts.config import DartsConfig
from hiernas.darts.derive import Candidate, PathChoices, PrunedSupernet, soft_prune
from hiernas.darts.eval_network import EvalNetwork
from hiernas.darts.search_network import SearchNetwork
from hiernas.darts.skeleton import count_parameters
from hiernas.nb201.derive import PrunedCell, candidate_json, soft_prune_cell
from hiernas.nb201.network import nb201_size
from hiernas.nb201.search_network import Nb201SearchNetwork
from spaces.darts import Genotype
from spaces.nb201 import Nb201Cell

A = TypeVar("A", Genotype, Nb201Cell)  # an architecture of the searched space


@dataclass(frozen=True)
class Architectures(Generic[A]):
    """The searched space's architectures as DARTS-PD's stages 2-3 use them."""

    pruned: PathChoices[A]  # stage 1's soft pruning of the trained alpha
    load: Callable[[dict[str, Any]], PathChoices[A]]  # the pruned supernet from its JSON (a checkpoint's)
    forward: Callable[[Tensor, A], Tensor]  # logits of one architecture on the shared weights
    size: Callable[[A], int]  # parameters of its evaluation network
    text: Callable[[A], str]  # how reports carry it: genotype JSON or the NB201 architecture string
    to_json: Callable[[Candidate[A]], dict[str, Any]]  # an evaluated path in ``pd_architectures``


def darts_architectures(
    model: SearchNetwork, cfg: DartsConfig, in_channels: int, num_classes: int
) -> Architectures[Genotype]:
    """DARTS cells: DARTS' derived edges with ``prune_k`` non-``none`` ops each; sizes of the evaluation
    network (``eval_channels`` x ``eval_layers``)."""
    weights = model.arch_weights()
    return Architectures(
        soft_prune(weights["normal"].cpu().numpy(), weights["reduce"].cpu().numpy(), cfg.steps, cfg.prune_k,
                   model.primitives),
        PrunedSupernet.from_json,
        model.forward_genotype,
        lambda genotype: genotype_size(genotype, in_channels, num_classes, cfg),
        Genotype.dumps,
        Candidate.to_json,
    )


def nb201_architectures(
    model: Nb201SearchNetwork, cfg: DartsConfig, in_channels: int, num_classes: int
) -> Architectures[Nb201Cell]:
    """NAS-Bench-201 cells: all six edges with ``prune_k`` ops each (``none`` included); sizes of the
    benchmark's network at the searched width and depth."""
    return Architectures(
        soft_prune_cell(model.arch_weights().cpu().numpy(), cfg.prune_k),
        PrunedCell.from_json,
        model.forward_genotype,
        lambda cell: nb201_size(cell, in_channels, num_classes, cfg.channels, cfg.nb201_cells),
        lambda cell: cell.arch_str,
        candidate_json,
    )


def genotype_size(genotype: Genotype, in_channels: int, num_classes: int, cfg: DartsConfig) -> int:
    """Parameters of ``genotype``'s evaluation network (auxiliary excluded), built on the meta device."""
    with torch.device("meta"):
        net = EvalNetwork(genotype, in_channels, num_classes, cfg.eval_channels, cfg.eval_layers, auxiliary=False)
    return count_parameters(net)
