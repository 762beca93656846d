"""Result files of a NAS-Bench-201 search: the derived architecture string, the alpha history and, for
DARTS-PD, the trade-off of the selected cells (the DARTS space's files are ``hiernas.darts.plots``')."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hiernas.darts.plots import PathLike, plot_alpha_history, plot_tradeoff
from hiernas.results import write_csv, write_json
from spaces.nb201 import OPS, parse_arch


def _json_list(value: Any) -> list[Any]:
    """Trials report nested lists as JSON strings; accept both forms."""
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else list(value)


def write_nb201_outputs(
    results_dir: PathLike, metrics: Mapping[str, Any], warmup_epochs: int = 0, prefix: str = ""
) -> dict[str, Path]:
    """Write a finished NAS-Bench-201 search's files from its final metrics; returns the paths by kind.

    ``arch.json`` (``{"arch": ..., "val_acc": ...}``, the string the benchmark looks cells up by) always;
    ``alpha_history.json/.png`` when the history is present; ``tradeoff.csv/.png`` for DARTS-PD.
    """
    out = Path(results_dir)
    arch = parse_arch(metrics["arch"]).arch_str  # validated
    paths = {"arch": out / f"{prefix}arch.json"}
    write_json(paths["arch"], {"arch": arch, "val_acc": metrics.get("val_acc")})
    history = _json_list(metrics.get("alpha_history"))
    if history:
        paths["alpha_json"] = out / f"{prefix}alpha_history.json"
        paths["alpha_png"] = out / f"{prefix}alpha_history.png"
        write_json(paths["alpha_json"], history)
        plot_alpha_history(history, paths["alpha_png"], warmup_epochs, cells=("cell",), primitives=OPS)
    architectures = _json_list(metrics.get("pd_architectures"))
    if architectures:
        paths["tradeoff_csv"] = out / f"{prefix}tradeoff.csv"
        paths["tradeoff_png"] = out / f"{prefix}tradeoff.png"
        rows = [
            {"rank": i + 1, "val_acc": a["val_acc"], "params": a["params"], "arch": a["arch"]}
            for i, a in enumerate(architectures)
        ]
        write_csv(paths["tradeoff_csv"], rows, ["rank", "val_acc", "params", "arch"])
        plot_tradeoff(
            architectures, _json_list(metrics.get("pd_evaluated")) or architectures, paths["tradeoff_png"]
        )
    return paths
