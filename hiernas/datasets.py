"""Data sources, all in memory: a registry of data sets and the three built in (scikit-learn's digits,
CIFAR-10 from its official python batches, a learnable synthetic set).

A data set is registered with a loader (``DataConfig -> DatasetArrays``) and a shape function that tells
channels, image side and classes without loading anything, so networks can be sized (and their
parameters counted) before any data is read. ``hiernas.splits`` cuts a loaded set into parts.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from hiernas.config import DATASETS, DataConfig
from hiernas.errors import DataError

logger = logging.getLogger(__name__)

__all__ = ["DataError", "DatasetArrays", "InputSpec", "input_spec", "load_arrays", "load_dataset",
           "make_synthetic", "read_cifar10", "register_dataset"]

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)  # per-channel statistics of the CIFAR-10 training images
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_DIRNAME = "cifar-10-batches-py"  # the directory inside the official python archive
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"
CIFAR10_IMAGE_SHAPE = (3, 32, 32)
SYNTHETIC_SEED = 0  # the synthetic set is a fixed data set; the split seed only shuffles it


@dataclass(frozen=True, eq=False)
class DatasetArrays:
    """A whole data set: images (N, C, H, W) float32, labels (N,) int64 in [0, num_classes).

    ``test_mask`` (bool, (N,)) marks an official test part (CIFAR-10's ``test_batch``) for the DARTS split.
    """

    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int
    test_mask: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.dtype != torch.float32:
            raise ValueError(
                f"images must be float32 (N, C, H, W), got {self.images.dtype} {tuple(self.images.shape)}"
            )
        n = self.images.shape[0]
        if self.labels.shape != (n,) or self.labels.dtype != torch.int64:
            raise ValueError(
                f"labels must be int64 ({n},), got {self.labels.dtype} {tuple(self.labels.shape)}"
            )
        if n and (int(self.labels.min()) < 0 or int(self.labels.max()) >= self.num_classes):
            raise ValueError(
                f"labels must lie in [0, {self.num_classes}), got [{self.labels.min()}, {self.labels.max()}]"
            )
        if self.test_mask is not None and (
            self.test_mask.shape != (n,) or self.test_mask.dtype != torch.bool
        ):
            raise ValueError(
                f"test_mask must be bool ({n},), got {self.test_mask.dtype} {tuple(self.test_mask.shape)}"
            )



@dataclass(frozen=True)
class InputSpec:
    """What a network needs to know about a data set's samples: channels, image side and classes."""

    channels: int
    size: int
    num_classes: int


LoaderFn = Callable[[DataConfig], DatasetArrays]
SpecFn = Callable[[DataConfig], InputSpec]
_LOADERS: dict[str, tuple[LoaderFn, SpecFn]] = {}


def register_dataset(name: str, loader_fn: LoaderFn, spec_fn: SpecFn, *, replace: bool = False) -> None:
    """Register ``loader_fn(cfg) -> DatasetArrays`` and ``spec_fn(cfg) -> InputSpec`` under ``name``.

    The name must also be listed in ``hiernas.config.DATASETS``, or ``DataConfig`` would reject it.
    """
    if name not in DATASETS:
        raise ValueError(
            f"dataset {name!r} is not in hiernas.config.DATASETS {list(DATASETS)}; add it there first"
        )
    if name in _LOADERS and not replace:
        raise ValueError(f"dataset {name!r} is already registered; pass replace=True to override it")
    _LOADERS[name] = (loader_fn, spec_fn)


def _registered(name: str) -> tuple[LoaderFn, SpecFn]:
    if name not in _LOADERS:
        raise DataError(f"unknown dataset {name!r} (expected one of {sorted(_LOADERS)})")
    return _LOADERS[name]


def input_spec(cfg: DataConfig) -> InputSpec:
    """Channels, image side and classes of ``cfg.dataset``, without loading it."""
    return _registered(cfg.dataset)[1](cfg)


def load_dataset(cfg: DataConfig) -> DatasetArrays:
    """Load the whole data set ``cfg.dataset`` (unshuffled, unsplit), keeping its official test mask."""
    arrays = _registered(cfg.dataset)[0](cfg)
    logger.info(
        "loaded %s: %d images of shape %s, %d classes",
        cfg.dataset,
        arrays.images.shape[0],
        tuple(arrays.images.shape[1:]),
        arrays.num_classes,
    )
    return arrays


def load_arrays(cfg: DataConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the whole data set as images (N, C, H, W) float32 and labels (N,) int64."""
    arrays = load_dataset(cfg)
    return arrays.images, arrays.labels


def make_synthetic(
    size: int, shape: tuple[int, int, int], num_classes: int, seed: int = SYNTHETIC_SEED
) -> DatasetArrays:
    """A learnable synthetic set: per class a channel offset plus a spatial pattern, plus unit Gaussian noise.

    The offsets survive global pooling, so even a tiny network beats chance; classes are balanced.
    """
    if size < 1 or num_classes < 2:
        raise DataError(
            f"synthetic: need size >= 1 and num_classes >= 2, got size={size}, num_classes={num_classes}"
        )
    if len(shape) != 3 or any(int(s) < 1 for s in shape):
        raise DataError(f"synthetic: shape must be three positive sizes (C, H, W), got {tuple(shape)}")
    channels, height, width = (int(s) for s in shape)
    generator = torch.Generator().manual_seed(seed)
    offsets = torch.randn(num_classes, channels, 1, 1, generator=generator)  # (K, C, 1, 1)
    patterns = torch.randn(num_classes, channels, height, width, generator=generator)  # (K, C, H, W)
    labels = torch.randperm(size, generator=generator) % num_classes  # (N,), balanced
    noise = torch.randn(size, channels, height, width, generator=generator)  # (N, C, H, W)
    images = offsets[labels] + 0.5 * patterns[labels] + noise
    return DatasetArrays(images.float(), labels.long(), num_classes)


def read_cifar10(
    data_dir: str | Path | None, download: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read the CIFAR-10 python batches present in ``data_dir`` (or its ``cifar-10-batches-py/``).

    Returns pooled data (N, 3072) uint8, labels (N,) int64 and an is-test mask (N,) bool, in the order
    data_batch_1..5, test_batch. A partial set loads (with a warning); there is no md5 check.
    """
    if data_dir is None:
        raise DataError(
            "cifar10: data_dir is not set (expected the directory holding the python batches of CIFAR-10 "
            "or its parent)"
        )
    root = Path(data_dir).expanduser()
    names = (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH)
    batch_dir = _cifar10_batch_dir(root)
    present = [name for name in names if (batch_dir / name).is_file()]
    if download and len(present) < len(names):
        download_root = root.parent if root.name == CIFAR10_DIRNAME else root
        _download_cifar10(download_root)
        batch_dir = download_root / CIFAR10_DIRNAME
        present = [name for name in names if (batch_dir / name).is_file()]
    hint = "the download produced none" if download else "enable download to fetch it"
    if not root.is_dir():
        raise DataError(
            f"cifar10: data directory {root} does not exist (expected a directory holding the python batches "
            f"of CIFAR-10 or its parent; {hint})"
        )
    if not present:
        raise DataError(
            f"cifar10: no batch files in {root} (expected data_batch_1..5 or test_batch from the python "
            f"version of CIFAR-10; {hint})"
        )
    missing = [name for name in names if name not in present]
    if missing:
        logger.warning("cifar10: %s lacks %s; using the %d batches present", batch_dir, missing, len(present))
    batches = [_read_cifar10_batch(batch_dir / name) for name in present]
    data = np.concatenate([batch_data for batch_data, _ in batches])
    labels = np.concatenate([batch_labels for _, batch_labels in batches])
    sizes = [len(batch_labels) for _, batch_labels in batches]
    is_test = np.repeat([name == CIFAR10_TEST_BATCH for name in present], sizes)
    return data, labels, is_test



class _BatchUnpickler(pickle.Unpickler):
    """Rebuilds only numpy arrays: a CIFAR-10 batch needs nothing else, so a crafted file cannot run code."""

    _ALLOWED = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),  # pickled by numpy < 2 (the official batches)
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("_codecs", "encode"),  # bytes pickled by Python 3 with protocol 2
        }
    )

    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file, encoding="bytes")

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR-10 batch")
        return super().find_class(module, name)


def _read_cifar10_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one pickled batch and check it: data (N, 3072) of bytes, labels (N,) in 0..9."""
    expected = "expected a pickled dict with b'data' (N, 3072) uint8 and b'labels' (N,) in 0..9"
    try:
        with path.open("rb") as file:
            obj = _BatchUnpickler(file).load()
    except Exception as exc:  # unpickling garbage raises nearly any exception type
        raise DataError(
            f"cifar10: cannot read batch {path}: {type(exc).__name__}: {exc} ({expected})"
        ) from exc
    if not isinstance(obj, dict):
        raise DataError(f"cifar10: batch {path} holds a {type(obj).__name__} ({expected})")
    data, labels = obj.get(b"data", obj.get("data")), obj.get(b"labels", obj.get("labels"))
    if data is None or labels is None:
        raise DataError(f"cifar10: batch {path} has keys {sorted(map(repr, obj))} ({expected})")
    data, labels = np.asarray(data), np.asarray(labels)
    if data.ndim != 2 or data.shape[0] < 1 or data.shape[1] != int(np.prod(CIFAR10_IMAGE_SHAPE)):
        raise DataError(f"cifar10: batch {path} has data of shape {data.shape} ({expected})")
    if data.dtype.kind not in "ui" or data.min() < 0 or data.max() > 255:
        raise DataError(f"cifar10: batch {path} has data of dtype {data.dtype} outside 0..255 ({expected})")
    if labels.shape != (data.shape[0],) or labels.dtype.kind not in "ui":
        raise DataError(
            f"cifar10: batch {path} has labels of shape {labels.shape} and dtype {labels.dtype} for "
            f"{data.shape[0]} images ({expected})"
        )
    if labels.min() < 0 or labels.max() > 9:
        raise DataError(f"cifar10: batch {path} has labels in {labels.min()}..{labels.max()} ({expected})")
    return data.astype(np.uint8, copy=False), labels.astype(np.int64)


def _cifar10_batch_dir(root: Path) -> Path:
    """``root`` itself when it holds a batch file, else its ``cifar-10-batches-py/`` when that exists."""
    nested = root / CIFAR10_DIRNAME
    names = (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH)
    if not any((root / name).is_file() for name in names) and nested.is_dir():
        return nested
    return root


def _download_cifar10(root: Path) -> None:
    """Fetch and extract the python batches into ``root/cifar-10-batches-py`` with torchvision."""
    logger.info("cifar10: downloading the python batches into %s", root)
    try:
        from torchvision.datasets import CIFAR10  # lazy: only a download needs torchvision

        CIFAR10(str(root), train=True, download=True)
    except Exception as exc:  # network, HTTP, checksum and archive failures all mean "no data"
        raise DataError(
            f"cifar10: download into {root} failed: {type(exc).__name__}: {exc} (expected network access, or "
            f"the python batches already in {root / CIFAR10_DIRNAME})"
        ) from exc


def _load_digits(cfg: DataConfig) -> DatasetArrays:
    """scikit-learn's 1797 8x8 digits (shipped with it, no network), scaled to [0, 1] then standardised."""
    from sklearn.datasets import load_digits  # lazy: scikit-learn is slow to import

    bunch = load_digits()
    images = torch.from_numpy(np.asarray(bunch.images, dtype=np.float32) / 16.0).unsqueeze(1)  # (N, 1, 8, 8)
    images = (images - images.mean()) / images.std()
    labels = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))
    return DatasetArrays(images, labels, num_classes=10)


def _load_cifar10(cfg: DataConfig) -> DatasetArrays:
    """All CIFAR-10 batches present, pooled, scaled to [0, 1] and normalised per channel."""
    data, labels, is_test = read_cifar10(cfg.data_dir, cfg.download)
    images = torch.from_numpy(data).reshape(-1, *CIFAR10_IMAGE_SHAPE).float().div_(255.0)  # (N, 3, 32, 32)
    images.sub_(torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)).div_(torch.tensor(CIFAR10_STD).view(1, 3, 1, 1))
    return DatasetArrays(
        images, torch.from_numpy(labels), num_classes=10, test_mask=torch.from_numpy(is_test)
    )


def _load_synthetic(cfg: DataConfig) -> DatasetArrays:
    return make_synthetic(cfg.synthetic_size, cfg.synthetic_shape, cfg.synthetic_classes)



def _digits_spec(cfg: DataConfig) -> InputSpec:
    return InputSpec(channels=1, size=8, num_classes=10)


def _cifar10_spec(cfg: DataConfig) -> InputSpec:
    return InputSpec(channels=CIFAR10_IMAGE_SHAPE[0], size=CIFAR10_IMAGE_SHAPE[1], num_classes=10)


def _synthetic_spec(cfg: DataConfig) -> InputSpec:
    channels, height, _ = (int(s) for s in cfg.synthetic_shape)
    return InputSpec(channels=channels, size=height, num_classes=int(cfg.synthetic_classes))


register_dataset("digits", _load_digits, _digits_spec)
register_dataset("cifar10", _load_cifar10, _cifar10_spec)
register_dataset("synthetic", _load_synthetic, _synthetic_spec)
