"""Tests of hiernas.datasets and hiernas.splits: sources, FaDE and DARTS splits, loaders, cutout, one-line errors."""

from __future__ import annotations

import logging
import pickle
import struct
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch

from hiernas import datasets
from hiernas.config import DataConfig
from hiernas.datasets import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    DataError,
    DatasetArrays,
    load_arrays,
    make_synthetic,
    register_dataset,
)
from hiernas.splits import (
    cutout,
    darts_split,
    eval_batches,
    infinite_batches,
    make_loader,
    make_splits,
    training_batches,
)


def _indexed_loader(n: int):
    """A loader whose image i is filled with the value i, so a split's indices can be read back."""

    def load(cfg: DataConfig) -> DatasetArrays:
        images = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
        return DatasetArrays(images, torch.arange(n) % 3, num_classes=3)

    return load


def _indices(dataset: torch.utils.data.TensorDataset) -> list[int]:
    return dataset.tensors[0][:, 0, 0, 0].long().tolist()


@pytest.fixture
def indexed(monkeypatch: pytest.MonkeyPatch) -> DataConfig:
    """The synthetic name backed by 600 index-valued images."""
    monkeypatch.setitem(datasets._LOADERS, "synthetic", (_indexed_loader(600), datasets._LOADERS["synthetic"][1]))
    return DataConfig(dataset="synthetic")


def _write_batch(path: Path, pixels: np.ndarray, labels: list[int], protocol: int = 2) -> None:
    """A batch in the layout of the official python CIFAR-10 files."""
    batch = {
        b"batch_label": b"fake batch",
        b"data": pixels,
        b"labels": labels,
        b"filenames": [f"img{i}.png".encode() for i in range(len(labels))],
    }
    path.write_bytes(pickle.dumps(batch, protocol=protocol))


@pytest.fixture
def cifar_dir(tmp_path: Path) -> Path:
    """data_batch_1 (5 black images) and test_batch (3 white images) in ``cifar-10-batches-py/``."""
    batch_dir = tmp_path / "cifar-10-batches-py"
    batch_dir.mkdir()
    _write_batch(batch_dir / "data_batch_1", np.zeros((5, 3072), np.uint8), [0, 1, 2, 3, 4])
    _write_batch(batch_dir / "test_batch", np.full((3, 3072), 255, np.uint8), [7, 8, 9], protocol=4)
    return batch_dir


def _assert_one_line(exc: pytest.ExceptionInfo[DataError], *fragments: str) -> None:
    message = str(exc.value)
    assert "\n" not in message and "\r" not in message
    for fragment in fragments:
        assert fragment in message, message


# --- digits -------------------------------------------------------------------------------------------


def test_digits_loads_all_images_normalised() -> None:
    images, labels = load_arrays(DataConfig(dataset="digits"))
    assert images.shape == (1797, 1, 8, 8) and images.dtype == torch.float32
    assert labels.shape == (1797,) and labels.dtype == torch.int64
    assert set(labels.tolist()) == set(range(10))
    assert abs(float(images.mean())) < 1e-4 and abs(float(images.std()) - 1.0) < 1e-3


def test_digits_fade_split_is_1_1_4() -> None:
    splits = make_splits(DataConfig(dataset="digits"), seed=0)
    sizes = len(splits.test), len(splits.arch), len(splits.weights)
    assert sum(sizes) == 1797 and sizes == (299, 299, 1199)
    assert splits.num_classes == 10 and splits.input_shape == (1, 8, 8)


# --- FaDE and DARTS splits ------------------------------------------------------------------------------


def test_fade_split_parts_are_disjoint_and_cover_everything(indexed: DataConfig) -> None:
    splits = make_splits(indexed, seed=3)
    parts = [_indices(splits.test), _indices(splits.arch), _indices(splits.weights)]
    assert [len(p) for p in parts] == [100, 100, 400]
    assert sorted(sum(parts, [])) == list(range(600))


def test_fade_split_is_fixed_by_its_own_seed_not_the_trial_seed(indexed: DataConfig) -> None:
    first, again, other_trial = make_splits(indexed, 1), make_splits(indexed, 1), make_splits(indexed, 2)
    assert _indices(first.test) == _indices(again.test) and _indices(first.weights) == _indices(again.weights)
    assert _indices(first.test) == _indices(other_trial.test)  # seeds vary initialisation, not the test images
    other_split = make_splits(indexed.replace(split_seed=5), 1)
    assert _indices(first.test) != _indices(other_split.test)
    per_trial = indexed.replace(split_seed=None)  # the first version: one split per trial seed
    assert _indices(make_splits(per_trial, 1).test) != _indices(make_splits(per_trial, 2).test)
    assert _indices(darts_split(indexed, 1).test) == _indices(darts_split(indexed, 2).test)


def test_fade_split_follows_custom_proportions(indexed: DataConfig) -> None:
    splits = make_splits(indexed.replace(split=(1, 2, 3)), seed=0)
    assert (len(splits.test), len(splits.arch), len(splits.weights)) == (100, 200, 300)


def test_limit_applies_after_shuffling(indexed: DataConfig) -> None:
    splits = make_splits(indexed.replace(limit=60), seed=0)
    used = _indices(splits.test) + _indices(splits.arch) + _indices(splits.weights)
    assert (len(splits.test), len(splits.arch), len(splits.weights)) == (10, 10, 40)
    assert sorted(used) != list(range(60))  # a random subset, not the first 60 of the file


def test_split_with_too_few_samples_is_a_data_error(indexed: DataConfig) -> None:
    with pytest.raises(DataError) as exc:
        make_splits(indexed.replace(limit=5), seed=0)
    _assert_one_line(exc, "5 samples", "(1, 1, 4)")
    with pytest.raises(DataError, match="limit"):
        make_splits(indexed.replace(limit=0), seed=0)


def test_darts_split_halves_the_training_data(indexed: DataConfig) -> None:
    splits = darts_split(indexed, seed=0)
    parts = [_indices(splits.test), _indices(splits.arch), _indices(splits.weights)]
    assert [len(p) for p in parts] == [100, 250, 250]
    assert sorted(sum(parts, [])) == list(range(600))
    assert _indices(darts_split(indexed, seed=0).arch) == parts[1]


# --- synthetic ------------------------------------------------------------------------------------------


def test_synthetic_is_deterministic_and_shaped_by_the_config() -> None:
    cfg = DataConfig(dataset="synthetic", synthetic_size=50, synthetic_shape=(2, 4, 6), synthetic_classes=5)
    images, labels = load_arrays(cfg)
    images_again, labels_again = load_arrays(cfg)
    assert images.shape == (50, 2, 4, 6) and labels.shape == (50,)
    assert torch.equal(images, images_again) and torch.equal(labels, labels_again)
    assert torch.bincount(labels).tolist() == [10] * 5
    assert not torch.equal(make_synthetic(50, (2, 4, 6), 5, seed=1).images, images)


def test_synthetic_is_learnable_by_a_linear_model() -> None:
    arrays = make_synthetic(600, (3, 8, 8), 10)
    x, y = arrays.images.flatten(1), arrays.labels
    weight = torch.zeros(x.shape[1], 10, requires_grad=True)
    optimiser = torch.optim.Adam([weight], lr=0.05)
    for _ in range(60):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(x[:400] @ weight, y[:400]).backward()
        optimiser.step()
    accuracy = float(((x[400:] @ weight).argmax(1) == y[400:]).float().mean())
    assert accuracy > 0.5  # chance is 0.1


def test_synthetic_rejects_a_single_class() -> None:
    with pytest.raises(DataError, match="num_classes"):
        make_synthetic(10, (1, 2, 2), 1)


# --- CIFAR-10 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("use_parent", [False, True])
def test_cifar10_pools_the_batches_present(cifar_dir: Path, use_parent: bool) -> None:
    data_dir = cifar_dir.parent if use_parent else cifar_dir
    images, labels = load_arrays(DataConfig(dataset="cifar10", data_dir=str(data_dir)))
    assert images.shape == (8, 3, 32, 32) and images.dtype == torch.float32
    assert labels.tolist() == [0, 1, 2, 3, 4, 7, 8, 9]
    mean, std = torch.tensor(CIFAR10_MEAN).view(3, 1, 1), torch.tensor(CIFAR10_STD).view(3, 1, 1)
    assert torch.allclose(images[0], (0 - mean) / std * torch.ones(3, 32, 32))
    assert torch.allclose(images[-1], (1 - mean) / std * torch.ones(3, 32, 32))


def test_cifar10_partial_set_warns(cifar_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hiernas.datasets"):
        load_arrays(DataConfig(dataset="cifar10", data_dir=str(cifar_dir)))
    assert "data_batch_2" in caplog.text


def test_cifar10_darts_split_keeps_the_test_batch_apart(cifar_dir: Path) -> None:
    splits = darts_split(DataConfig(dataset="cifar10", data_dir=str(cifar_dir)), seed=0)
    assert sorted(splits.test.tensors[1].tolist()) == [7, 8, 9]
    assert len(splits.arch) == 2 and len(splits.weights) == 3
    assert splits.input_shape == (3, 32, 32) and splits.num_classes == 10


def test_cifar10_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError) as exc:
        load_arrays(DataConfig(dataset="cifar10", data_dir=str(tmp_path / "nowhere")))
    _assert_one_line(exc, "does not exist", "nowhere", "download")


def test_cifar10_without_data_dir() -> None:
    with pytest.raises(DataError) as exc:
        load_arrays(DataConfig(dataset="cifar10"))
    _assert_one_line(exc, "data_dir is not set")


def test_cifar10_empty_directory_mentions_download(tmp_path: Path) -> None:
    with pytest.raises(DataError) as exc:
        load_arrays(DataConfig(dataset="cifar10", data_dir=str(tmp_path), download=False))
    _assert_one_line(exc, "no batch files", str(tmp_path), "data_batch_1..5", "download")


def test_cifar10_corrupt_batch(tmp_path: Path) -> None:
    (tmp_path / "data_batch_1").write_bytes(b"\x00\xffthis is not a pickle\n\nat all")
    with pytest.raises(DataError) as exc:
        load_arrays(DataConfig(dataset="cifar10", data_dir=str(tmp_path)))
    _assert_one_line(exc, "cannot read batch", "data_batch_1")


@pytest.mark.parametrize(
    ("batch", "fragment"),
    [
        ({b"data": np.zeros((4, 1024), np.uint8), b"labels": [0] * 4}, "shape (4, 1024)"),
        ({b"data": np.zeros((4, 3072), np.uint8), b"labels": [0] * 3}, "labels of shape (3,)"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "labels in 0..10"),
        ({b"pixels": np.zeros((2, 3072), np.uint8)}, "keys"),
        ([1, 2, 3], "holds a list"),
    ],
)
def test_cifar10_malformed_batch(tmp_path: Path, batch: object, fragment: str) -> None:
    (tmp_path / "test_batch").write_bytes(pickle.dumps(batch))
    with pytest.raises(DataError) as exc:
        load_arrays(DataConfig(dataset="cifar10", data_dir=str(tmp_path)))
    _assert_one_line(exc, "test_batch", fragment)


class _Python2Pickler(pickle._Pickler):
    """Pickles as Python 2 did for the official batches: strings as BINSTRING, numpy.core globals."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_binstring(self, obj: str | bytes) -> None:
        raw = obj if isinstance(obj, bytes) else obj.encode("latin1")
        self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    def save_global(self, obj: object, name: str | None = None) -> None:
        module = obj.__module__.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)

    dispatch[bytes] = save_binstring
    dispatch[str] = save_binstring
    dispatch[type] = save_global


def test_cifar10_reads_python2_pickles(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (4, 3072), dtype=np.uint8)
    with (tmp_path / "data_batch_3").open("wb") as file:
        _Python2Pickler(file, protocol=2).dump(
            {"data": pixels, "labels": [1, 2, 3, 9], "filenames": ["a"] * 4}
        )
    images, labels = load_arrays(DataConfig(dataset="cifar10", data_dir=str(tmp_path)))
    assert labels.tolist() == [1, 2, 3, 9]
    expected = torch.from_numpy(pixels).float().div(255).view(4, 3, 32, 32)
    mean, std = torch.tensor(CIFAR10_MEAN).view(3, 1, 1), torch.tensor(CIFAR10_STD).view(3, 1, 1)
    assert torch.allclose(images, (expected - mean) / std, atol=1e-5)


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_cifar10_batch_cannot_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({b"data": _Payload(marker), b"labels": []}))
    with pytest.raises(DataError, match="not allowed"):
        load_arrays(DataConfig(dataset="cifar10", data_dir=str(tmp_path)))
    assert not marker.exists()


def test_cifar10_download_failure_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets

    def offline(*args: object, **kwargs: object) -> None:
        raise URLError("[Errno -3] Temporary failure\nin name resolution")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(DataError) as exc:
        load_arrays(DataConfig(dataset="cifar10", data_dir=str(tmp_path), download=True))
    _assert_one_line(exc, "download", "URLError", "name resolution")


def test_cifar10_download_is_read_with_our_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets

    calls = []

    def fake_cifar10(root: str, train: bool, download: bool) -> None:
        calls.append((root, download))
        batch_dir = Path(root) / "cifar-10-batches-py"
        batch_dir.mkdir(parents=True, exist_ok=True)
        _write_batch(batch_dir / "data_batch_1", np.zeros((2, 3072), np.uint8), [1, 2])

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", fake_cifar10)
    images, labels = load_arrays(DataConfig(dataset="cifar10", data_dir=str(tmp_path / "new"), download=True))
    assert calls == [(str(tmp_path / "new"), True)]
    assert images.shape == (2, 3, 32, 32) and labels.tolist() == [1, 2]


# --- names and registry ---------------------------------------------------------------------------------


def test_unknown_dataset(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="mnist"):
        DataConfig(dataset="mnist")
    monkeypatch.delitem(datasets._LOADERS, "synthetic")
    with pytest.raises(DataError) as exc:
        load_arrays(DataConfig(dataset="synthetic"))
    _assert_one_line(exc, "unknown dataset 'synthetic'", "digits")


def test_register_dataset_checks_names() -> None:
    with pytest.raises(ValueError, match="DATASETS"):
        register_dataset("mnist", _indexed_loader(10), datasets.input_spec)
    with pytest.raises(ValueError, match="already registered"):
        register_dataset("digits", _indexed_loader(10), datasets.input_spec)


# --- loaders and cutout ---------------------------------------------------------------------------------


def test_make_loader_is_seeded(indexed: DataConfig) -> None:
    dataset = make_splits(indexed, seed=0).weights

    def order(seed: int) -> list[int]:
        return [i for x, _ in make_loader(dataset, 64, seed) for i in x[:, 0, 0, 0].long().tolist()]

    assert order(5) == order(5) and order(5) != order(6)
    assert sorted(order(5)) == sorted(_indices(dataset))
    batches = list(make_loader(dataset, 64, 0, shuffle=False, drop_last=True))
    assert len(batches) == 400 // 64 and all(x.shape == (64, 1, 2, 2) for x, _ in batches)


@pytest.mark.parametrize(
    "n,batch,sizes",
    [(129, 64, [64, 64]), (130, 64, [64, 64, 2]), (128, 64, [64, 64]), (1, 64, [1]), (3, 2, [2])],
)
def test_training_loader_never_ends_in_a_single_sample(n: int, batch: int, sizes: list[int]) -> None:
    dataset = torch.utils.data.TensorDataset(torch.arange(n).float(), torch.arange(n))
    got = [len(y) for _, y in make_loader(dataset, batch, seed=0)]
    assert got == sizes and training_batches(n, batch) == len(sizes)


@pytest.mark.parametrize(
    "n,batch,sizes", [(129, 64, [64, 65]), (130, 64, [64, 64, 2]), (1, 64, [1]), (3, 2, [3]), (4, 2, [2, 2])]
)
def test_eval_batches_use_every_sample_in_order(n: int, batch: int, sizes: list[int]) -> None:
    dataset = torch.utils.data.TensorDataset(torch.arange(n).float() * 2, torch.arange(n))
    got = list(eval_batches(dataset, batch))
    assert [len(y) for _, y in got] == sizes
    assert torch.equal(torch.cat([y for _, y in got]), torch.arange(n))
    assert torch.equal(torch.cat([x for x, _ in got]), torch.arange(n).float() * 2)


def test_infinite_batches_reshuffles_each_pass(indexed: DataConfig) -> None:
    dataset = make_splits(indexed, seed=0).test
    stream = infinite_batches(make_loader(dataset, 100, seed=0))
    first, second = next(stream)[0][:, 0, 0, 0], next(stream)[0][:, 0, 0, 0]
    assert sorted(first.tolist()) == sorted(second.tolist()) and not torch.equal(first, second)


def test_infinite_batches_refuses_an_empty_loader(indexed: DataConfig) -> None:
    dataset = make_splits(indexed, seed=0).test
    with pytest.raises(DataError, match="no batches"):
        next(infinite_batches(make_loader(dataset, 1000, seed=0, drop_last=True)))


def test_cutout_zeroes_one_clipped_square_per_image() -> None:
    images = torch.ones(64, 3, 10, 10)
    out = cutout(images, 4, torch.Generator().manual_seed(0))
    assert torch.equal(images, torch.ones(64, 3, 10, 10))  # the input is left alone
    zeros = out == 0
    assert torch.equal(zeros[:, 0], zeros[:, 2])  # the same square in every channel
    counts = zeros[:, 0].flatten(1).sum(1)
    assert int(counts.min()) >= 4 and int(counts.max()) == 16
    rows, cols = zeros[:, 0].any(2).sum(1), zeros[:, 0].any(1).sum(1)
    assert torch.equal(rows * cols, counts)  # a rectangle, not scattered pixels
    assert torch.equal(out, cutout(images, 4, torch.Generator().manual_seed(0)))
    assert not torch.equal(out, cutout(images, 4, torch.Generator().manual_seed(1)))
    assert torch.equal(cutout(images, 0, torch.Generator()), images)
    with pytest.raises(ValueError, match="N, C, H, W"):
        cutout(images[0], 4, torch.Generator())
