"""Tests for MNIST loading, preprocessing, the embedded file, sequences and splits."""

from __future__ import annotations

import gzip
import hashlib
import stat
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from data.mnist import (
    ENV_VAR,
    IDX_IMAGES_MAGIC,
    IDX_LABELS_MAGIC,
    load_mnist,
    parse_idx,
)
from data.mnist_preprocess import (
    EMBEDDED_PATH,
    OTSU_BLOCK_SUM_THRESHOLD,
    build_embedded,
    compute_threshold,
    load_embedded,
    otsu_threshold,
    preprocess,
)
from data.mnist_sequences import (
    decode_label_words,
    label_words,
    mnist_splits,
    num_label_words,
    pixel_sequences,
    split_indices,
)

RAW_DIR = (Path(__file__).parents[2] / ".." / "shared/data/mnist").resolve()
# From RAW_DIR/README.md.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
IDX_NAMES = {
    "train-images-idx3-ubyte": 0,
    "train-labels-idx1-ubyte": 1,
    "t10k-images-idx3-ubyte": 2,
    "t10k-labels-idx1-ubyte": 3,
}


@pytest.fixture(scope="module")
def raw():
    if not all((RAW_DIR / name).is_file() for name in SHA256):
        pytest.skip(f"raw MNIST IDX files not found in {RAW_DIR}")
    return load_mnist(RAW_DIR)


@pytest.fixture()
def small(raw):
    """A small slice of each split: 200 training and 100 test images."""
    return raw[0][:200], raw[1][:200], raw[2][:100], raw[3][:100]


def idx_bytes(array: np.ndarray) -> bytes:
    magic = IDX_IMAGES_MAGIC if array.ndim == 3 else IDX_LABELS_MAGIC
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_folder(folder: Path, arrays, gz: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, k in IDX_NAMES.items():
        data = idx_bytes(arrays[k])
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return folder


def write_keras_npz(path: Path, arrays) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **dict(zip(("x_train", "y_train", "x_test", "y_test"), arrays)))
    return path


def assert_same(a, b):
    assert len(a) == len(b) == 4
    for x, y in zip(a, b):
        assert x.dtype == y.dtype == np.uint8
        np.testing.assert_array_equal(x, y)


# ---------------------------------------------------------------- loading


def test_load_idx_folder_matches_readme(raw):
    for name, digest in SHA256.items():
        assert hashlib.sha256((RAW_DIR / name).read_bytes()).hexdigest() == digest
    x_train, y_train, x_test, y_test = raw
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert all(a.dtype == np.uint8 for a in raw)
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == TEST_COUNTS


def test_load_keras_npz(tmp_path, small):
    assert_same(load_mnist(write_keras_npz(tmp_path / "mnist.npz", small)), small)


def test_load_uncompressed_idx_folder(tmp_path, small):
    assert_same(load_mnist(write_idx_folder(tmp_path / "idx", small)), small)
    assert_same(load_mnist(str(write_idx_folder(tmp_path / "gz", small, gz=True))), small)


def test_load_from_env_var(tmp_path, small, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(write_keras_npz(tmp_path / "mnist.npz", small)))
    assert_same(load_mnist(), small)


def test_load_from_keras_cache(tmp_path, small, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    write_keras_npz(tmp_path / "datasets" / "mnist.npz", small)
    assert_same(load_mnist(), small)


def test_download_failure_is_clear(tmp_path, monkeypatch):
    """A failing download (faked: no network used) names the places looked at."""

    def load_data():
        raise OSError("no network")

    package = types.ModuleType("tf_keras")
    datasets = types.ModuleType("tf_keras.datasets")
    fake = types.ModuleType("tf_keras.datasets.mnist")
    fake.load_data = load_data
    package.datasets, datasets.mnist = datasets, fake
    for name, module in (("tf_keras", package), ("tf_keras.datasets", datasets),
                         ("tf_keras.datasets.mnist", fake)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    message = rf"(?s)Could not find or download MNIST.*{ENV_VAR}.*no network"
    with pytest.raises(RuntimeError, match=message):
        load_mnist()


def test_missing_path(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"MNIST path .*nowhere.* does not exist"):
        load_mnist(tmp_path / "nowhere")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "also_nowhere"))
    with pytest.raises(FileNotFoundError, match="also_nowhere"):
        load_mnist()


def test_missing_file_in_folder(tmp_path, small):
    folder = write_idx_folder(tmp_path / "idx", small)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match=r"no test labels file.*t10k-labels-idx1-ubyte"):
        load_mnist(folder)


@pytest.mark.parametrize(
    "name, corrupt, message",
    [
        ("train-labels-idx1-ubyte", lambda b: IDX_IMAGES_MAGIC.to_bytes(4, "big") + b[4:],
         r"train-labels-idx1-ubyte.* magic number 0x00000803, expected 0x00000801"),
        ("train-images-idx3-ubyte", lambda b: b[:-7], r"train-images-idx3-ubyte.* truncated"),
        ("t10k-images-idx3-ubyte", lambda b: b[:10], r"t10k-images-idx3-ubyte.* inside its IDX header"),
        ("t10k-labels-idx1-ubyte", lambda b: b[:2], r"t10k-labels-idx1-ubyte.* too short"),
        ("t10k-labels-idx1-ubyte", lambda b: b + b"\0", r"t10k-labels-idx1-ubyte.* truncated or corrupt"),
    ],
)
def test_corrupt_idx_file(tmp_path, small, name, corrupt, message):
    folder = write_idx_folder(tmp_path / "idx", small)
    path = folder / name
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(ValueError, match=message):
        load_mnist(folder)


def test_truncated_gzip(tmp_path, small):
    folder = write_idx_folder(tmp_path / "gz", small, gz=True)
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz.* not a valid gzip file"):
        load_mnist(folder)


def test_corrupt_npz(tmp_path, small):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match=r"garbage.npz.* corrupt or not an npz"):
        load_mnist(garbage)
    partial = tmp_path / "partial.npz"
    np.savez(partial, x_train=small[0], y_train=small[1])
    with pytest.raises(ValueError, match=r"lacks keys \['x_test', 'y_test'\]"):
        load_mnist(partial)


def test_parse_idx_mismatched_labels():
    with pytest.raises(ValueError, match="expected 0x00000801"):
        parse_idx(idx_bytes(np.zeros((2, 28, 28), np.uint8)), IDX_LABELS_MAGIC, "x")


# ---------------------------------------------------------------- preprocessing


def test_threshold_constant_is_otsu_of_training_set(raw):
    assert compute_threshold(raw[0]) == OTSU_BLOCK_SUM_THRESHOLD


def test_otsu_threshold_small_histograms():
    assert otsu_threshold(np.array([5, 5, 0, 0, 5, 5])) == 1  # ties: smallest level
    assert otsu_threshold(np.array([0, 10, 0, 0, 0, 0, 1])) == 1
    assert otsu_threshold(np.array([1, 1, 1, 1, 50, 50])) == 4
    rng = np.random.default_rng(0)
    for _ in range(20):  # against a floating-point reference
        histogram = rng.integers(0, 1000, 64)
        levels = np.arange(64)
        w0 = np.cumsum(histogram)[:-1].astype(float)
        m0 = np.cumsum(histogram * levels)[:-1]
        w1, m1 = w0[-1] + histogram[-1] - w0, (histogram * levels).sum() - m0
        score = w0 * w1 * (m0 / w0 - m1 / w1) ** 2
        assert otsu_threshold(histogram) == int(np.argmax(score))
    with pytest.raises(ValueError, match="at least two levels, got 1"):
        otsu_threshold(np.array([0, 7, 0]))


def test_preprocess_hand_made_image():
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, :4, :] = 255  # outside the crop: ignored
    image[0, 4:6, 6:8] = 255  # block (0, 1): ink
    image[0, 22:24, 22:24] = [[103, 103], [103, 103]]  # sum 412: background
    image[0, 20:22, 22:24] = [[103, 103], [103, 104]]  # sum 413: ink
    expected_ink = np.zeros((10, 10), np.uint8)
    expected_ink[0, 1] = expected_ink[8, 9] = 1
    np.testing.assert_array_equal(preprocess(image)[0], 1 - expected_ink)
    np.testing.assert_array_equal(preprocess(image, ink_bit=1)[0], expected_ink)
    assert preprocess(image).dtype == np.uint8


def test_preprocess_errors():
    with pytest.raises(TypeError, match="uint8 array, got dtype float64"):
        preprocess(np.zeros((1, 28, 28)))
    with pytest.raises(ValueError, match=r"shape \(N, 28, 28\), got \(28, 28\)"):
        preprocess(np.zeros((28, 28), np.uint8))
    with pytest.raises(ValueError, match="`ink_bit` must be 0 or 1, got 2"):
        preprocess(np.zeros((1, 28, 28), np.uint8), ink_bit=2)


def test_embedded_equals_preprocessed_raw(raw):
    x_train, y_train, x_test, y_test = raw
    embedded = load_embedded()
    assert_same(embedded, (preprocess(x_train), y_train, preprocess(x_test), y_test))
    assert embedded[0].mean() > 0.5  # background 1 dominates (paper polarity)
    flipped = load_embedded(ink_bit=1)
    np.testing.assert_array_equal(flipped[0], 1 - embedded[0])


def test_build_embedded_reproduces_shipped_file(tmp_path, raw):
    out = build_embedded(RAW_DIR, tmp_path / "sub" / "mnist10x10.npz")
    assert [p.name for p in out.parent.iterdir()] == ["mnist10x10.npz"]  # no temp left
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    with np.load(out) as new, np.load(EMBEDDED_PATH) as shipped:
        assert sorted(new.files) == sorted(shipped.files)
        for key in new.files:
            np.testing.assert_array_equal(new[key], shipped[key])
    assert EMBEDDED_PATH.stat().st_size < 1_500_000


def test_load_embedded_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing; regenerate it"):
        load_embedded(tmp_path / "absent.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="bad.npz.* is corrupt"):
        load_embedded(bad)


# ---------------------------------------------------------------- sequences


def test_scan_orders_on_hand_made_image():
    bits = np.zeros((1, 10, 10), np.uint8)
    bits[0, 0, 1] = 1  # row-major index 1, column-major index 10
    seq = pixel_sequences(bits, np.array([1]), (0, 1))
    expected = np.zeros((99, 2), np.uint8)
    expected[1, 0] = 1
    expected[10, 1] = 1
    np.testing.assert_array_equal(seq.inputs[0], expected)


def test_scan_orders_random_images():
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, (5, 10, 10), dtype=np.uint8)
    seq = pixel_sequences(bits, np.array([0, 1, 1, 0, 1]), [0, 1])
    for k in range(99):
        np.testing.assert_array_equal(seq.inputs[:, k, 0], bits[:, k // 10, k % 10])
        np.testing.assert_array_equal(seq.inputs[:, k, 1], bits[:, k % 10, k // 10])


def test_two_digit_sequences():
    bits = np.ones((3, 10, 10), np.uint8)
    seq = pixel_sequences(bits, np.array([3, 6, 3]), (3, 6))
    assert seq.inputs.shape == seq.targets.shape == (3, 99, 2)
    assert seq.scored.shape == (3, 99) and seq.scored.dtype == bool
    assert seq.inputs.dtype == seq.targets.dtype == np.uint8
    assert len(seq) == 3
    np.testing.assert_array_equal(seq.targets[:, -1], [[0, 0], [0, 1], [0, 0]])
    assert not seq.targets[:, :-1].any()
    assert seq.scored[:, -1].all() and not seq.scored[:, :-1].any()
    np.testing.assert_array_equal(seq.class_indices, [0, 1, 0])
    np.testing.assert_array_equal(seq.labels, [3, 6, 3])
    # Class index = position in `digits`.
    np.testing.assert_array_equal(
        pixel_sequences(bits, np.array([3, 6, 3]), (6, 3)).targets[:, -1, 1], [1, 0, 1]
    )


def test_to_batch_and_read_only():
    bits = np.zeros((4, 10, 10), np.uint8)
    seq = pixel_sequences(bits, np.array([0, 1, 1, 0]), (0, 1))
    batch = seq.to_batch([1, 2])
    np.testing.assert_array_equal(batch.inputs, seq.inputs[[1, 2]])
    np.testing.assert_array_equal(batch.targets, seq.targets[[1, 2]])
    np.testing.assert_array_equal(batch.scored, seq.scored[[1, 2]])
    assert seq.to_batch().inputs.shape == (4, 99, 2)
    with pytest.raises(ValueError, match="read-only"):
        seq.inputs[0, 0, 0] = 1


def test_ten_digit_sequences():
    bits = np.zeros((10, 10, 10), np.uint8)
    seq = pixel_sequences(bits, np.arange(10), range(10))
    np.testing.assert_array_equal(seq.targets[9, 97:], [[1, 0], [0, 1]])  # 9 = 1001
    np.testing.assert_array_equal(seq.targets[6, 97:], [[0, 1], [1, 0]])  # 6 = 0110
    assert not seq.targets[:, :97].any()
    assert seq.scored[:, 97:].all() and not seq.scored[:, :97].any()
    np.testing.assert_array_equal(decode_label_words(seq.targets[:, 97:]), np.arange(10))


@pytest.mark.parametrize("num_digits, words", [(2, 1), (3, 1), (4, 1), (5, 2), (10, 2)])
def test_label_words_round_trip(num_digits, words):
    assert num_label_words(num_digits) == words
    indices = np.arange(num_digits)
    encoded = label_words(indices, num_digits)
    assert encoded.shape == (num_digits, words, 2)
    np.testing.assert_array_equal(decode_label_words(encoded), indices)


@pytest.mark.parametrize(
    "digits, error, message",
    [
        ((0, 10), ValueError, r"unknown digits \[10\]"),
        ((-1, 3), ValueError, r"unknown digits \[-1\]"),
        ((3, 3), ValueError, r"must not repeat a digit, got \(3, 3\)"),
        ((4,), ValueError, r"at least 2 digits, got \(4,\)"),
        ((0, 1.5), TypeError, "must hold integers, got 1.5"),
    ],
)
def test_bad_digits(digits, error, message):
    with pytest.raises(error, match=message):
        pixel_sequences(np.zeros((1, 10, 10), np.uint8), np.array([0]), digits)
    with pytest.raises(error, match=message):
        mnist_splits(digits)


def test_bad_sequence_inputs():
    bits = np.zeros((2, 10, 10), np.uint8)
    with pytest.raises(ValueError, match=r"must all be in `digits` \(0, 1\), got \[7\]"):
        pixel_sequences(bits, np.array([0, 7]), (0, 1))
    with pytest.raises(ValueError, match="only 0 and 1"):
        pixel_sequences(bits + 2, np.array([0, 1]), (0, 1))
    with pytest.raises(ValueError, match=r"shape \(B, 10, 10\), got \(2, 100\)"):
        pixel_sequences(bits.reshape(2, 100), np.array([0, 1]), (0, 1))
    with pytest.raises(ValueError, match=r"`labels` must have shape \(2,\)"):
        pixel_sequences(bits, np.array([0]), (0, 1))


# ---------------------------------------------------------------- splits


@pytest.mark.parametrize("digits", [(0, 1), (3, 6), tuple(range(10))])
def test_split_sizes(digits):
    splits = mnist_splits(digits)
    n_train = sum(TRAIN_COUNTS[d] for d in digits)
    assert len(splits.validation) == 500 * len(digits)
    assert len(splits.train) == n_train - 500 * len(digits)
    assert len(splits.test) == sum(TEST_COUNTS[d] for d in digits)
    per_digit = np.bincount(splits.validation.labels, minlength=10)[list(digits)]
    assert per_digit.tolist() == [500] * len(digits)
    assert splits.digits == digits


def test_split_indices_seeded_disjoint_and_independent_of_other_digits():
    labels = load_embedded()[1]
    train, val = split_indices(labels, (0, 1), seed=0)
    assert np.intersect1d(train, val).size == 0
    assert train.size + val.size == TRAIN_COUNTS[0] + TRAIN_COUNTS[1]
    np.testing.assert_array_equal(val, split_indices(labels, (1, 0), seed=0)[1])
    assert not np.array_equal(val, split_indices(labels, (0, 1), seed=1)[1])
    val_06 = split_indices(labels, (0, 6), seed=0)[1]
    np.testing.assert_array_equal(val[labels[val] == 0], val_06[labels[val_06] == 0])
    with pytest.raises(ValueError, match="Digit 0 has 5923 training images"):
        split_indices(labels, (0, 1), validation_per_digit=6000)
    with pytest.raises(ValueError, match="`seed` must be a non-negative integer, got -1"):
        split_indices(labels, (0, 1), seed=-1)


def test_split_from_raw_source_equals_embedded(raw):
    from_raw = mnist_splits((3, 6), source=RAW_DIR, seed=2)
    embedded = mnist_splits((3, 6), seed=2)
    for name in ("train", "validation", "test"):
        a, b = getattr(from_raw, name), getattr(embedded, name)
        for field in ("inputs", "targets", "scored", "labels"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
