"""Splits of a loaded data set and the batches drawn from them.

The FaDE split cuts one shuffled pool into test : architecture : weights parts (1:1:4 by default); the
DARTS split halves the training data into weights/architecture halves and keeps a test set apart.
Loaders shuffle with their own seeded generators (``epoch_seed``), so a trial is reproducible.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch.utils.data import TensorDataset

from hiernas.config import DataConfig
from hiernas.datasets import DatasetArrays, load_dataset
from hiernas.errors import DataError

logger = logging.getLogger(__name__)

B = TypeVar("B")

DARTS_TEST_PARTS = 6  # DARTS split without an official test part: hold out 1/6 as test
EPOCH_SEED_STRIDE = 100_003  # a prime: the loader seeds of two trials' epochs never collide in practice


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch``'s weight loader in a trial seeded ``seed`` (its arch loader: + 1)."""
    return seed * EPOCH_SEED_STRIDE + epoch


@dataclass(frozen=True, eq=False)
class Splits:
    """The three parts a search trains and measures on, plus what a network needs to know about the data."""

    test: TensorDataset  # never seen during the search; stand-alone accuracy
    arch: TensorDataset  # architecture-weight (alpha) steps and validation accuracy
    weights: TensorDataset  # network-weight steps
    num_classes: int
    input_shape: tuple[int, int, int]  # (C, H, W)

    def to(self, device: torch.device | str) -> Splits:
        """The same splits with their tensors on ``device``: moved once per trial, not per batch."""
        def move(part: TensorDataset) -> TensorDataset:
            return TensorDataset(*(t.to(device) for t in part.tensors))

        return Splits(move(self.test), move(self.arch), move(self.weights), self.num_classes, self.input_shape)



def make_splits(cfg: DataConfig, seed: int) -> Splits:
    """FaDE split of a trial seeded ``seed``: shuffle with ``cfg.split_seed_for(seed)`` (``cfg.split_seed``,
    fixed by default), keep the first ``cfg.limit``, cut in proportion ``cfg.split``.

    ``cfg.split`` is (test, arch, weights); FaDE splits the whole pool itself, ignoring official test sets.
    """
    arrays = load_dataset(cfg)
    order = _shuffled_indices(arrays.labels.shape[0], cfg.limit, cfg.split_seed_for(seed))
    n, total = order.shape[0], sum(cfg.split)
    if n < total:
        raise DataError(
            f"{cfg.dataset}: {n} samples are too few for split {tuple(cfg.split)} "
            f"(expected at least {total} so every part is non-empty)"
        )
    n_test, n_arch = n * cfg.split[0] // total, n * cfg.split[1] // total
    test_idx, arch_idx, weight_idx = torch.split(order, [n_test, n_arch, n - n_test - n_arch])
    return _splits(arrays, test_idx, arch_idx, weight_idx)


def darts_split(cfg: DataConfig, seed: int) -> Splits:
    """DARTS split of a trial seeded ``seed`` (shuffled with ``cfg.split_seed_for(seed)``): the training
    data halved into arch/weights halves, the test set kept apart.

    The official test part is the test set when there is one (CIFAR-10's ``test_batch``); otherwise 1/6 of
    the shuffled data is held out. ``cfg.limit`` caps the shuffled pool first; ``cfg.split`` is not used.
    """
    arrays = load_dataset(cfg)
    order = _shuffled_indices(arrays.labels.shape[0], cfg.limit, cfg.split_seed_for(seed))
    n = order.shape[0]
    if n < DARTS_TEST_PARTS:
        raise DataError(
            f"{cfg.dataset}: {n} samples are too few for the DARTS split "
            f"(expected at least {DARTS_TEST_PARTS} so every part is non-empty)"
        )
    in_test = arrays.test_mask[order] if arrays.test_mask is not None else None
    if in_test is not None and 0 < int(in_test.sum()) < n - 1:
        test_idx, train_idx = order[in_test], order[~in_test]
    else:
        if in_test is not None:
            logger.warning(
                "%s: the official test part holds %d of %d samples; holding out 1/%d as test instead",
                cfg.dataset,
                int(in_test.sum()),
                n,
                DARTS_TEST_PARTS,
            )
        n_test = n // DARTS_TEST_PARTS
        test_idx, train_idx = order[:n_test], order[n_test:]
    half = train_idx.shape[0] // 2
    return _splits(arrays, test_idx, train_idx[:half], train_idx[half:])


def single_sample_tail(n: int, batch_size: int) -> bool:
    """True when batches of ``batch_size`` over ``n`` samples end in a batch of one sample, which BatchNorm
    with batch statistics cannot normalise (one value per channel once the maps are 1x1)."""
    return n > 1 and n % batch_size == 1


def training_batches(n: int, batch_size: int) -> int:
    """How many batches ``make_loader`` yields per pass over ``n`` samples (a single-sample tail is dropped)."""
    return n // batch_size if single_sample_tail(n, batch_size) else -(-n // batch_size)


class TensorBatches:
    """Shuffled batches of a ``TensorDataset``, each taken by one indexing of its tensors (no per-sample
    collation), on whatever device the tensors live: data moved to the GPU once stays there.

    Every pass draws a new permutation from the loader's own generator; a last batch of a single sample is
    dropped (see ``single_sample_tail``), the rest is kept.
    """

    def __init__(self, dataset: TensorDataset, batch_size: int, seed: int, shuffle: bool = True,
                 drop_last: bool = False) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if len(dataset.tensors) != 2:
            raise ValueError(f"expected a dataset of (inputs, labels), got {len(dataset.tensors)} tensors")
        self.inputs, self.labels = dataset.tensors
        self.batch_size, self.shuffle = batch_size, shuffle
        self.n = len(self.labels)
        self.drop_last = drop_last or single_sample_tail(self.n, batch_size)
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else torch.arange(self.n)
        order = order.to(self.labels.device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            yield self.inputs[index], self.labels[index]


def make_loader(
    dataset: TensorDataset, batch_size: int, seed: int, shuffle: bool = True, drop_last: bool = False
) -> TensorBatches:
    """The training batches of ``dataset``, shuffled by their own generator seeded with ``seed``."""
    return TensorBatches(dataset, batch_size, seed, shuffle, drop_last)


def concat(*datasets: TensorDataset) -> TensorDataset:
    """One ``TensorDataset`` of the samples of ``datasets`` (on their device), in order."""
    return TensorDataset(*(torch.cat(parts) for parts in zip(*(d.tensors for d in datasets), strict=True)))


def eval_batches(dataset: TensorDataset, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``dataset``'s (inputs, labels) in order, in batches of ``batch_size``; every sample is used, a last
    batch of a single sample joins the batch before it (see ``single_sample_tail``)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    inputs, labels = dataset.tensors[0], dataset.tensors[1]
    n = len(labels)
    bounds = [*range(0, n, batch_size), n]
    if single_sample_tail(n, batch_size) and len(bounds) > 2:
        del bounds[-2]
    for start, stop in zip(bounds, bounds[1:], strict=False):
        yield inputs[start:stop], labels[start:stop]


def infinite_batches(loader: Iterable[B]) -> Iterator[B]:
    """Yield batches forever, starting a new (reshuffled) pass of ``loader`` whenever one ends.

    Used for the architecture steps, which alternate with weight steps over a split of a different size.
    """
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise DataError(
                "infinite_batches: the loader yields no batches (expected at least one batch per pass)"
            )


def cutout(images: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """Cutout (DeVries & Taylor, 2017): zero one ``length`` x ``length`` square per image, in all channels.

    Centres are uniform over the image and squares are clipped at its borders, as in the DARTS evaluation.
    """
    if images.ndim != 4:
        raise ValueError(f"cutout expects images of shape (N, C, H, W), got {tuple(images.shape)}")
    if length < 0:
        raise ValueError(f"cutout length must be >= 0, got {length}")
    n, _, height, width = images.shape
    if length == 0 or n == 0:
        return images.clone()
    top = torch.randint(height, (n, 1), generator=generator) - length // 2  # (N, 1)
    left = torch.randint(width, (n, 1), generator=generator) - length // 2  # (N, 1)
    rows, cols = torch.arange(height).unsqueeze(0), torch.arange(width).unsqueeze(0)  # (1, H), (1, W)
    in_rows = (rows >= top) & (rows < top + length)  # (N, H)
    in_cols = (cols >= left) & (cols < left + length)  # (N, W)
    mask = (in_rows.unsqueeze(2) & in_cols.unsqueeze(1)).unsqueeze(1)  # (N, 1, H, W)
    return images.masked_fill(mask.to(images.device), 0.0)


def capped(batches: Iterable[B], limit: int | None) -> Iterator[B]:
    """The first ``limit`` items of ``batches`` (all when None): budget-scaled epochs."""
    for i, batch in enumerate(batches):
        if limit is not None and i >= limit:
            return
        yield batch


def _shuffled_indices(n: int, limit: int | None, seed: int) -> torch.Tensor:
    """A permutation of ``range(n)`` drawn with its own generator, cut to the first ``limit``."""
    if limit is not None and limit < 1:
        raise DataError(f"limit must be >= 1 or None, got {limit}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order if limit is None else order[:limit]


def _splits(
    arrays: DatasetArrays, test_idx: torch.Tensor, arch_idx: torch.Tensor, weight_idx: torch.Tensor
) -> Splits:
    def part(idx: torch.Tensor) -> TensorDataset:
        return TensorDataset(arrays.images[idx], arrays.labels[idx])

    channels, height, width = arrays.images.shape[1:]
    logger.info("split sizes: test %d, arch %d, weights %d", len(test_idx), len(arch_idx), len(weight_idx))
    return Splits(
        test=part(test_idx),
        arch=part(arch_idx),
        weights=part(weight_idx),
        num_classes=arrays.num_classes,
        input_shape=(int(channels), int(height), int(width)),
    )

