"""The cell-level supernets and architects by config: which network and which architecture step each
method of ``DartsConfig`` gets, in the DARTS or the NAS-Bench-201 space, and the size of that network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from hiernas.architects import ParsecArchitect, ProxylessArchitect
from hiernas.bilevel import Architect, BilevelSettings
from hiernas.darts.config import DartsConfig
from hiernas.darts.search_network import SearchNetwork
from hiernas.darts.skeleton import count_parameters, num_edges
from hiernas.datasets import input_spec
from hiernas.device import Precision
from hiernas.nb201.search_network import Nb201SearchNetwork
from spaces.darts import PRIMITIVES
from spaces.nb201 import OPS as NB201_OPS

CellSearchNetwork = SearchNetwork | Nb201SearchNetwork  # the supernet of DartsConfig.space
# per edge its operations: one list for every cell type, or a mapping cell type (normal | reduce | cell) -> list
EdgeOps = Sequence[Sequence[str]] | Mapping[str, Sequence[Sequence[str]]]


def build_search_network(
    cfg: DartsConfig,
    in_channels: int,
    num_classes: int,
    layers: int | None = None,
    edge_ops: EdgeOps | None = None,
) -> CellSearchNetwork:
    """The supernet of ``cfg``'s space and search method, alpha initialised from ``cfg.seed``.

    ``layers`` (DARTS: cells; NAS-Bench-201: cells per stage) and ``edge_ops`` (per edge its operations, the
    same for both DARTS cell types, or per cell type: ``normal``/``reduce``, NAS-Bench-201 ``cell``) override
    the config's network for P-DARTS' stages.
    """
    generator = torch.Generator().manual_seed(cfg.seed)
    primitives = NB201_OPS if cfg.space == "nb201" else PRIMITIVES
    common: dict[str, Any] = {
        "mode": cfg.mode,
        "channel_fraction": cfg.partial_channels,
        "edge_norm": cfg.edge_norm,
        "temperature": cfg.tau_max,
        "init_scale": cfg.arch_init_scale,
        "generator": generator,
        "drop_prob": cfg.drop_prob(primitives),
        "merge": cfg.merge,
        "skip_dropout": cfg.search_method == "pdarts",
    }
    if cfg.space == "nb201":
        cells = cfg.nb201_cells if layers is None else layers
        ops = edge_ops["cell"] if isinstance(edge_ops, Mapping) else edge_ops
        return Nb201SearchNetwork(in_channels, num_classes, cfg.channels, cells, edge_ops=ops, **common)
    per_type = (
        edge_ops if edge_ops is None or isinstance(edge_ops, Mapping) else {"normal": edge_ops, "reduce": edge_ops}
    )
    return SearchNetwork(
        in_channels, num_classes, cfg.channels, cfg.layers if layers is None else layers, cfg.steps,
        cfg.stem_multiplier, edge_primitives=per_type, **common,
    )


def arch_metrics(model: CellSearchNetwork) -> dict[str, Any]:
    """The current genotype (JSON) and mixing weights (softmaxed alpha; PC-DARTS beta-normalised too).

    NAS-Bench-201: the architecture string ``arch``, ``alpha_cell`` and ``beta_cell`` instead.
    """
    if isinstance(model, Nb201SearchNetwork):
        return model.arch_metrics()
    out: dict[str, Any] = {"genotype": model.genotype().dumps()}
    out["alpha_normal"] = F.softmax(model.alpha_normal.detach(), -1).cpu().tolist()
    out["alpha_reduce"] = F.softmax(model.alpha_reduce.detach(), -1).cpu().tolist()
    if model.edge_norm:
        out["beta_normal"] = model.edge_weights("normal").detach().cpu().tolist()  # type: ignore[union-attr]
        out["beta_reduce"] = model.edge_weights("reduce").detach().cpu().tolist()  # type: ignore[union-attr]
    return out


def make_architect(
    cfg: DartsConfig,
    model: CellSearchNetwork,
    weight_opt: torch.optim.Optimizer,
    arch_opt: torch.optim.Optimizer,
    device: torch.device,
) -> Architect:
    """The architect of ``cfg``'s method: ProxylessNAS' and PARSEC's own steps, DARTS' for the others."""
    precision = Precision(cfg.amp, device)
    if cfg.search_method == "parsec":
        return ParsecArchitect(model, weight_opt, arch_opt, cfg.parsec_samples, precision)
    settings = BilevelSettings(
        order=cfg.order,
        unroll_weight_decay=cfg.weight_decay,
        hvp_epsilon=cfg.hvp_epsilon,
        grad_clip_norm=cfg.grad_clip or None,
    )
    if cfg.search_method == "proxyless":
        return ProxylessArchitect(model, weight_opt, arch_opt, settings, precision)
    return Architect(model, weight_opt, arch_opt, settings, precision)


def search_network_size(cfg: DartsConfig) -> str:
    """One line: the parameters of ``cfg``'s search network (alpha/beta excluded), built on the meta device.

    The data set's channels and classes come from its registry entry, so nothing is loaded. P-DARTS: the
    network of every stage, its edges holding the stage's number of operations taken from the end of the
    primitive list (the convolutions: the most parameters a stage can have).
    """
    spec = input_spec(cfg.data)
    primitives = NB201_OPS if cfg.space == "nb201" else PRIMITIVES
    stages = zip(cfg.stage_cells, cfg.stage_ops, strict=True) if cfg.search_method == "pdarts" else [(None, None)]
    counts = []
    for cells, ops in stages:
        edges = 6 if cfg.space == "nb201" else num_edges(cfg.steps)
        edge_ops = None if ops is None else [primitives[-ops:]] * edges
        with torch.device("meta"):
            network = build_search_network(cfg, spec.channels, spec.num_classes, cells, edge_ops)
            counts.append(count_parameters(network))
    if cfg.space == "nb201":
        shape = f"NAS-Bench-201 cells, {cfg.nb201_cells} per stage"
    else:
        shape = f"{cfg.layers} cells, {cfg.steps} nodes"
    if cfg.search_method == "pdarts":
        sizes = zip(cfg.stage_cells, cfg.stage_ops, counts, strict=True)
        shape = "stages of " + ", ".join(f"{cells} cells x {ops} ops: at most {count}" for cells, ops, count in sizes)
    count = counts[-1]
    return (
        f"{count} parameters ({count / 1e6:.6f}M): {cfg.method} search network, C={cfg.channels}, "
        f"{shape}, {spec.num_classes} classes (alpha/beta excluded)"
    )
