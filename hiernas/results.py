"""Result files written atomically, and the plots of a search.

Every file is rendered in memory first, then written to a temporary file in the target directory, fsynced
and renamed over the target (``os.replace``): an interrupted run or a serialisation error never leaves a
half-written file, and the previous version stays intact. Plots use matplotlib's object API with the Agg
canvas (no pyplot), so importing this module neither switches a user's backend nor keeps figures alive.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
DPI = 120
_FILE_MODE = 0o644  # temporary files are created 0600; results are meant to be shared


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a fsynced temporary file renamed over it, creating parent dirs."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp_name, _FILE_MODE)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    logger.debug("wrote %s (%d bytes)", target, len(data))


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write ``text`` as UTF-8 to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: PathLike, obj: Any) -> None:
    """Write ``obj`` as JSON (indent 2, sorted keys) atomically; NaN or infinity raises ValueError.

    numpy arrays and scalars (anything with ``tolist()``) are converted; the old file survives any error.
    """
    try:
        text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False, default=_json_default)
    except ValueError as exc:
        raise ValueError(
            f"cannot write {path}: {exc} (expected finite numbers; NaN and infinity are not JSON)"
        ) from exc
    atomic_write_text(path, text + "\n")


def read_json(path: PathLike) -> Any:
    """Read a JSON file; a malformed file raises ValueError naming the file and the position."""
    with open(path, encoding="utf-8") as file:
        try:
            return json.load(file)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from exc


def write_csv(
    path: PathLike, rows: Sequence[Mapping[str, Any]], fieldnames: Sequence[str] | None = None
) -> None:
    """Write ``rows`` as CSV with a header atomically; columns default to the keys in first-seen order.

    A row lacking a column gets an empty cell; a key missing from explicit ``fieldnames`` raises ValueError.
    """
    if fieldnames is None:
        fieldnames = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(fieldnames), restval="", extrasaction="raise")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def read_csv(path: PathLike) -> list[dict[str, str]]:
    """Read a CSV file with a header into a list of rows (all values are strings)."""
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def save_figure(fig: Figure, path: PathLike) -> None:
    """Render ``fig`` (format from the file suffix, PNG by default) at 120 dpi and write it atomically."""
    suffix = Path(path).suffix.lstrip(".").lower()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=suffix or "png", dpi=DPI, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())


def plot_rank_scatter(
    path: PathLike, ranks: Sequence[float], accs: Sequence[float], rho: float, p: float,
    ylabel: str = "stand-alone accuracy",
) -> None:
    """FaDE log-rank against stand-alone accuracy, with a least-squares line and Spearman rho/p as title."""
    x, y = np.asarray(ranks, dtype=float), np.asarray(accs, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"ranks and accs must be equally long 1-d sequences, got shapes {x.shape} and {y.shape}"
        )
    fig = Figure(figsize=(5, 4))
    ax = fig.add_subplot()
    ax.scatter(x, y, s=18, alpha=0.8)
    finite = np.isfinite(x) & np.isfinite(y)
    if finite.sum() >= 2 and np.ptp(x[finite]) > 0:
        slope, intercept = np.polyfit(x[finite], y[finite], 1)
        line_x = np.linspace(x[finite].min(), x[finite].max(), 2)
        ax.plot(line_x, slope * line_x + intercept, color="tab:red", linewidth=1.5)
    ax.set_xlabel("log FaDE rank")
    ax.set_ylabel(ylabel)
    ax.set_title(f"Spearman rho = {rho:.3f}, p = {p:.2g} (n = {x.size})")
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot_alpha_heatmap(path: PathLike, alpha: Sequence[Sequence[float]] | np.ndarray) -> None:
    """Architecture weights as a depth x window heat map, each cell annotated with its value."""
    weights = np.asarray(alpha, dtype=float)
    if weights.ndim != 2 or weights.size == 0:
        raise ValueError(f"alpha must be a non-empty (depth, window) array, got shape {weights.shape}")
    depth, window = weights.shape
    fig = Figure(figsize=(1.0 + 0.8 * window, 1.0 + 0.6 * depth))
    ax = fig.add_subplot()
    image = ax.imshow(weights, cmap="viridis", aspect="auto")
    fig.colorbar(image, ax=ax)
    if depth * window <= 200:  # beyond that the numbers are unreadable anyway
        for (row, col), value in np.ndenumerate(weights):
            ax.text(col, row, f"{value:.2f}", ha="center", va="center", color="w", fontsize=8)
    ax.set_xticks(range(window))
    ax.set_yticks(range(depth))
    ax.set_xlabel("candidate cell (window)")
    ax.set_ylabel("row (depth)")
    ax.set_title("architecture weights alpha")
    save_figure(fig, path)


def plot_trajectories(
    path: PathLike,
    trajectories: Mapping[Any, Sequence[Sequence[float]] | np.ndarray],
    feature_names: Sequence[str],
    xlabel: str = "iteration",
) -> None:
    """One subplot per feature, one line per row over the search iterations (as FaDE's figure 4)."""
    if not trajectories or not feature_names:
        raise ValueError("plot_trajectories needs at least one trajectory and one feature name")
    arrays = {row: np.asarray(values, dtype=float) for row, values in trajectories.items()}
    for row, values in arrays.items():
        if values.ndim != 2 or values.shape[1] != len(feature_names):
            raise ValueError(
                f"trajectory of row {row!r} has shape {values.shape} "
                f"(expected (iterations, {len(feature_names)}))"
            )
    fig = Figure(figsize=(4.0 * len(feature_names), 3.2))
    axes = fig.subplots(1, len(feature_names), squeeze=False)[0]
    for index, (ax, name) in enumerate(zip(axes, feature_names, strict=True)):
        for row, values in arrays.items():
            ax.plot(np.arange(1, values.shape[0] + 1), values[:, index], marker=".", label=f"row {row}")
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(name)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    save_figure(fig, path)


def plot_series(
    path: PathLike, series: Mapping[str, Sequence[float]], xlabel: str, ylabel: str, title: str
) -> None:
    """Named series against their 1-based index (e.g. accuracy per epoch), one line each."""
    if not series:
        raise ValueError("plot_series needs at least one series")
    fig = Figure(figsize=(5, 3.5))
    ax = fig.add_subplot()
    for name, values in series.items():
        ax.plot(np.arange(1, len(values) + 1), np.asarray(values, dtype=float), label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_panels(
    path: PathLike, panels: Mapping[str, Sequence[float | None]], xlabel: str, title: str
) -> None:
    """One panel per named series (own y scale), stacked over a shared 1-based x axis; None is a gap."""
    if not panels:
        raise ValueError("plot_panels needs at least one series")
    fig = Figure(figsize=(5, 2.2 * len(panels) + 0.6))
    axes = fig.subplots(len(panels), 1, squeeze=False, sharex=True)[:, 0]
    for ax, (name, values) in zip(axes, panels.items(), strict=True):
        y = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
        ax.plot(np.arange(1, y.size + 1), y, marker="o")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_title(title)
    axes[-1].set_xlabel(xlabel)
    save_figure(fig, path)


def _json_default(value: Any) -> Any:
    """Convert numpy arrays and scalars (and anything else with ``tolist``) and paths for ``json.dumps``."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(
        f"cannot write a {type(value).__name__} as JSON (expected dicts, lists, str, numbers, bool)"
    )


def _fsync_dir(directory: Path) -> None:
    """Persist the rename itself; best effort, since some platforms cannot open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
