"""Configurations of the cell level: a search trial (``DartsConfig``, one per method, with each paper's
published defaults from ``method_defaults``, in the DARTS space or the NAS-Bench-201 space) and the
retraining of a DARTS genotype (``EvalConfig``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hiernas.config import ConfigBase, DataConfig, check_amp
from hiernas.mixed import ChoiceMode
from spaces.darts import Genotype, genotype_from_json

METHODS = ("darts", "darts2", "pcdarts", "gdas", "darts-pd", "proxyless", "parsec", "pdarts", "mergenas", "dropnas")
BASE_METHODS = ("darts", "darts2", "pcdarts", "gdas")
SPACES = ("darts", "nb201")
_MODES = {
    "gdas": ChoiceMode.GUMBEL_HARD,
    "proxyless": ChoiceMode.BINARY,
    "dropnas": ChoiceMode.DROPOUT,
    "parsec": ChoiceMode.SAMPLE,
}  # DARTS cells (hiernas.darts.search_network) | NAS-Bench-201 cells (hiernas.nb201)


@dataclass(frozen=True)
class BudgetConfig(ConfigBase):
    """What the cell level's search and retraining configs share: budget caps and mixed precision."""

    max_steps_per_epoch: int | None = None  # None: the whole split
    max_eval_batches: int | None = None
    amp: str = "off"  # mixed precision on CUDA: off | bf16 | fp16 (hiernas.device)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_amp(self.amp)


@dataclass(frozen=True)
class DartsConfig(BudgetConfig):
    """One cell-level search trial. Defaults are DARTS (first order, CIFAR-10 search settings).

    ``space="nb201"`` searches NAS-Bench-201 cells instead: the benchmark's network with ``channels`` (C=16)
    and ``nb201_cells`` cells per stage (N=5); ``layers``, ``steps``, ``stem_multiplier``, ``eval_channels``
    and ``eval_layers`` are the DARTS space's and unused there (DARTS-PD counts sizes on the searched network).
    """

    method: str = "darts"  # one of METHODS
    base_method: str = "pcdarts"  # DARTS-PD stage 1 (the DARTS-PD paper builds on PC-DARTS)
    space: str = "darts"  # darts | nb201 (NAS-Bench-201 cells)
    seed: int = 0
    data: DataConfig = field(default_factory=lambda: DataConfig(batch_size=64))
    # search network (DARTS: C=16, 8 cells, 4 nodes, stem 3C)
    channels: int = 16
    layers: int = 8
    steps: int = 4
    stem_multiplier: int = 3
    nb201_cells: int = 5  # NAS-Bench-201: cells per stage (N)
    # weights: SGD momentum 0.9, lr 0.025 cosine to 0.001, wd 3e-4, gradient norm clipped at 5
    epochs: int = 50
    weight_lr: float = 0.025
    weight_lr_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    # architecture: Adam 3e-4, betas (0.5, 0.999), wd 1e-3
    arch_lr: float = 3e-4
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 1e-3
    arch_init_scale: float = 1e-3  # alpha (and beta) start at 1e-3 * N(0, 1)
    warmup_epochs: int = 0  # epochs with alpha frozen (PC-DARTS: 15)
    hvp_epsilon: float = 0.01  # second order: eps = 0.01 / ||grad_w' L_val||
    channel_fraction: int = 4  # PC-DARTS K (used by pcdarts only)
    tau_max: float = 10.0  # GDAS temperature, linear from tau_max (first epoch) ...
    tau_min: float = 0.1  # ... to tau_min (last epoch)
    # DARTS-PD stages 2-3
    prune_k: int = 2  # ops kept per derived edge
    fair_epochs: int = 600  # path-wise strict-fair training of the pruned supernet
    fair_lr: float = 0.0025  # DARTS-PD: SGD 0.0025 cosine, momentum 0.9, wd 3e-4
    es_population: int = 20
    es_generations: int = 10
    num_architectures: int = 5  # architectures of different sizes returned by the evolution
    eval_channels: int = 36  # evaluation network the sizes are counted on (DARTS CIFAR: 36 x 20 cells)
    eval_layers: int = 20
    # DropNAS: r, the probability that a whole group (parametric / parameter-free operations) is dropped;
    # each operation of a group G is dropped with r ** (1 / |G|)
    drop_rate: float = 3e-5
    # PARSEC: child architectures sampled from the prior per architecture step (the Monte Carlo estimate)
    parsec_samples: int = 8
    # P-DARTS: per stage the cells (DARTS: layers; NAS-Bench-201: cells per stage N) and the operations per
    # edge; None: the space's default (DARTS 5, 11, 17 cells and 8, 5, 3 ops; NAS-Bench-201 1, 3, 5 and
    # 5, 4, 3; the first stage has all operations). ``epochs`` and ``warmup_epochs`` count per stage.
    # Skip-connection dropout per stage from its rate: linear decay in the warm-up, then rate * exp(-0.2 * epochs
    # since it) (``hiernas.darts.progressive.skip_drop_rate``); at most ``pdarts_max_skips`` skip connections in
    # the final (normal) cell.
    pdarts_cells: tuple[int, ...] | None = None
    pdarts_ops: tuple[int, ...] | None = None
    pdarts_skip_drop: tuple[float, ...] = (0.0, 0.4, 0.7)
    pdarts_max_skips: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; expected one of {list(METHODS)}")
        if self.base_method not in BASE_METHODS:
            raise ValueError(
                f"unknown base_method {self.base_method!r}; expected one of {list(BASE_METHODS)}"
            )
        if self.space not in SPACES:
            raise ValueError(f"unknown space {self.space!r}; expected one of {list(SPACES)}")
        for name in ("channels", "layers", "steps", "stem_multiplier", "nb201_cells", "epochs", "channel_fraction"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.weight_lr <= 0 or self.arch_lr < 0 or self.fair_lr <= 0:
            raise ValueError("weight_lr and fair_lr must be > 0 and arch_lr >= 0")
        if not 0 <= self.warmup_epochs:
            raise ValueError(f"warmup_epochs must be >= 0, got {self.warmup_epochs}")
        if self.tau_min <= 0 or self.tau_max < self.tau_min:
            raise ValueError(f"need 0 < tau_min <= tau_max, got {self.tau_min}, {self.tau_max}")
        if self.search_method == "pcdarts" and self.channels % self.channel_fraction:
            raise ValueError(f"channels ({self.channels}) must be divisible by channel_fraction")
        max_k = 5 if self.space == "nb201" else 7  # NAS-Bench-201 keeps `none` among its 5 ops; DARTS drops it
        if self.method == "darts-pd" and not 1 <= self.prune_k <= max_k:
            raise ValueError(f"prune_k must be in [1, {max_k}] in the {self.space} space, got {self.prune_k}")
        for name in ("fair_epochs", "es_generations"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.es_population < 1 or self.num_architectures < 1:
            raise ValueError("es_population and num_architectures must be >= 1")
        if not 0.0 <= self.drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1), got {self.drop_rate}")
        if self.parsec_samples < 1 or self.pdarts_max_skips < 0:
            raise ValueError("parsec_samples must be >= 1 and pdarts_max_skips >= 0")
        self._check_pdarts()

    def _check_pdarts(self) -> None:
        """P-DARTS' stage lists: as many cells as ops and dropout rates, ops non-increasing and available."""
        cells, ops, drops = self.stage_cells, self.stage_ops, self.pdarts_skip_drop
        if not (len(cells) == len(ops) == len(drops)) or not cells:
            raise ValueError(
                f"pdarts_cells, pdarts_ops and pdarts_skip_drop need one entry per stage, got {cells}, {ops}, {drops}"
            )
        available = 5 if self.space == "nb201" else 8
        ops_valid = all(1 <= o <= available for o in ops) and list(ops) == sorted(ops, reverse=True)
        if any(c < 1 for c in cells) or not ops_valid:
            raise ValueError(
                f"pdarts_cells must be >= 1 and pdarts_ops non-increasing in [1, {available}], got {cells}, {ops}"
            )
        if ops[0] != available:  # the first stage has no alpha yet to choose a subset by
            raise ValueError(f"pdarts_ops must start with all {available} operations ({self.space} space), got {ops}")
        if any(not 0.0 <= d < 1.0 for d in drops):
            raise ValueError(f"pdarts_skip_drop rates must be in [0, 1), got {drops}")

    @property
    def search_method(self) -> str:
        """The differentiable method of the search stage (DARTS-PD: its ``base_method``)."""
        return self.base_method if self.method == "darts-pd" else self.method

    @property
    def arch_key(self) -> str:
        """The metric that carries a derived architecture: ``genotype`` (JSON) or ``arch`` (NB201 string)."""
        return "arch" if self.space == "nb201" else "genotype"

    @property
    def order(self) -> int:
        return 2 if self.search_method == "darts2" else 1

    @property
    def mode(self) -> ChoiceMode:
        """How the edges mix in the weight step (ProxylessNAS' architect switches to ``binary_pair``)."""
        return _MODES.get(self.search_method, ChoiceMode.SOFTMAX)

    @property
    def merge(self) -> bool:
        return self.search_method == "mergenas"

    @property
    def stage_cells(self) -> tuple[int, ...]:
        """P-DARTS: the cells of every stage (DARTS: layers; NAS-Bench-201: cells per stage)."""
        return self.pdarts_cells or ((1, 3, 5) if self.space == "nb201" else (5, 11, 17))

    @property
    def stage_ops(self) -> tuple[int, ...]:
        """P-DARTS: the operations per edge in every stage."""
        return self.pdarts_ops or ((5, 4, 3) if self.space == "nb201" else (8, 5, 3))

    def drop_prob(self, primitives: tuple[str, ...]) -> dict[str, float] | None:
        """DropNAS: each operation's drop probability, ``drop_rate ** (1 / |G|)`` for its group G; None
        for the other methods. Groups: operations with weights (convolutions) and those without."""
        if self.search_method != "dropnas":
            return None
        parametric = [p for p in primitives if "conv" in p]
        free = [p for p in primitives if "conv" not in p]
        return {
            **{p: self.drop_rate ** (1.0 / len(parametric)) for p in parametric},
            **{p: self.drop_rate ** (1.0 / len(free)) for p in free},
        }

    @property
    def partial_channels(self) -> int:
        return self.channel_fraction if self.search_method == "pcdarts" else 1

    @property
    def edge_norm(self) -> bool:
        return self.search_method == "pcdarts"

    @classmethod
    def for_method(cls, method: str, **overrides: Any) -> DartsConfig:
        """The config of ``method`` with its paper's defaults, then ``overrides`` (explicit scaling)."""
        base = overrides.get("base_method", "pcdarts")
        defaults = method_defaults(method, base)
        if "data" in defaults and "data" in overrides:
            data = overrides["data"]
            data = data.to_dict() if isinstance(data, DataConfig) else dict(data)
            overrides = {**overrides, "data": {**defaults["data"], **data}}
        return cls.from_dict({**defaults, **overrides, "method": method})



def method_defaults(method: str, base_method: str = "pcdarts") -> dict[str, Any]:
    """Each method's published search settings (CIFAR-10), as ``DartsConfig`` overrides."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {list(METHODS)}")
    if method in ("darts", "darts2"):
        return {"data": {"batch_size": 64}}  # the dataclass defaults are DARTS'
    if method == "pcdarts":
        # PC-DARTS: batch 256, lr 0.1 cosine to 0, arch lr 6e-4, K = 4, alpha frozen for 15 epochs
        return {
            "data": {"batch_size": 256},
            "weight_lr": 0.1,
            "weight_lr_min": 0.0,
            "arch_lr": 6e-4,
            "warmup_epochs": 15,
            "channel_fraction": 4,
            "epochs": 50,
        }
    if method == "gdas":
        # GDAS: 240 epochs, tau 10 -> 0.1; optimisers as DARTS
        return {"data": {"batch_size": 64}, "epochs": 240, "tau_max": 10.0, "tau_min": 0.1}
    if method == "proxyless":
        # ProxylessNAS' released search settings: architecture Adam lr 6e-3, betas (0, 0.999), no weight decay,
        # 40 warm-up epochs of weights only out of 120
        return {"data": {"batch_size": 64}, "epochs": 120, "warmup_epochs": 40, "arch_lr": 6e-3,
                "arch_betas": (0.0, 0.999), "arch_weight_decay": 0.0}
    if method == "pdarts":
        # P-DARTS: 3 stages of 25 epochs (10 with alpha frozen), batch 96, weights lr 0.025 -> 0, arch lr 6e-4
        return {"data": {"batch_size": 96}, "epochs": 25, "warmup_epochs": 10, "weight_lr_min": 0.0,
                "arch_lr": 6e-4, "pdarts_skip_drop": (0.0, 0.4, 0.7), "pdarts_max_skips": 2}
    if method in ("parsec", "mergenas", "dropnas"):
        # DARTS' CIFAR-10 settings (PARSEC: 8 prior samples per step; DropNAS: r = 3e-5)
        return {"data": {"batch_size": 64}}
    stage1 = method_defaults(base_method)
    return {**stage1, "base_method": base_method, "prune_k": 2, "fair_epochs": 600, "fair_lr": 0.0025}



@dataclass(frozen=True)
class EvalConfig(BudgetConfig):
    """Training a genotype's evaluation network from scratch (DARTS CIFAR-10 settings by default)."""

    genotype: Any = None  # genotype JSON (dict or string)
    seed: int = 0
    data: DataConfig = field(default_factory=lambda: DataConfig(batch_size=96))
    channels: int = 36
    layers: int = 20
    auxiliary: bool = True
    auxiliary_weight: float = 0.4
    drop_path_prob: float = 0.2  # increased linearly from 0 over the epochs, as DARTS does
    cutout_length: int = 16  # 0 disables
    epochs: int = 600
    lr: float = 0.025
    lr_min: float = 0.0
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.genotype is None:
            raise ValueError("EvalConfig needs a genotype (its JSON form)")
        genotype = self.genotype if isinstance(self.genotype, Genotype) else genotype_from_json(self.genotype)
        object.__setattr__(self, "genotype", genotype.to_json())
        for name in ("channels", "layers", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.drop_path_prob < 1:
            raise ValueError(f"drop_path_prob must be in [0, 1), got {self.drop_path_prob}")
        if self.cutout_length < 0 or self.lr <= 0:
            raise ValueError("cutout_length must be >= 0 and lr > 0")

