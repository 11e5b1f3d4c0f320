"""Tests for data/mnist_augment.py: quantisation, bit words, label words, sequence shapes,
and that the maps are fitted on the training images only."""

from __future__ import annotations

from pathlib import Path

import qrnn_tfq  # noqa: F401  (umap imports TensorFlow: select tf-keras first)

import numpy as np
import pytest

from data import mnist_augment
from data.mnist_augment import (
    CoordinateEncoder,
    augmented_sequences,
    coordinate_words,
    encode_splits,
    label_words,
    quantise,
)
from data.mnist_sequences import split_indices

RAW_DIR = (Path(__file__).parents[2] / ".." / "shared/data/mnist").resolve()


def fake_mnist(seed=0, train=6000, test=300):
    """Images with a digit-dependent blob, so that a reduction has something to find."""
    rng = np.random.default_rng(seed)

    def images(labels):
        base = rng.integers(0, 60, (labels.size, 28, 28))
        for digit in range(10):
            rows = labels == digit
            base[rows, 2 + 2 * digit : 6 + 2 * digit, 4:24] += 190
        return base.clip(0, 255).astype(np.uint8)

    y_train = np.repeat(np.arange(10, dtype=np.uint8), train // 10)
    y_test = np.repeat(np.arange(10, dtype=np.uint8), test // 10)
    return images(y_train), y_train, images(y_test), y_test


def test_quantise_maps_the_unit_interval_to_8_bits():
    np.testing.assert_array_equal(quantise([0.0, 1 / 256 - 1e-9, 1 / 256, 0.5, 0.999999, 1.0]), [0, 0, 1, 128, 255, 255])
    assert quantise([0.3]).dtype == np.uint8


def test_normal_cdf():
    z = np.array([-1.959963985, 0.0, 1.0])
    np.testing.assert_allclose(mnist_augment.normal_cdf(z), [0.025, 0.5, 0.8413447461], atol=1e-9)


def test_coordinate_words_feed_the_most_significant_bits_first():
    codes = np.array([[0b10110000, 0b01111111]], np.uint8)
    words = coordinate_words(codes, 4)
    assert words.shape == (1, 4, 2)  # (N, r, coordinates)
    assert words[0, :, 0].tolist() == [1, 0, 1, 1] and words[0, :, 1].tolist() == [0, 1, 1, 1]
    with pytest.raises(ValueError, match=r"`bits` must be between 1 and 8, got 9"):
        coordinate_words(codes, 9)


@pytest.mark.parametrize(
    "width, expected",
    [(2, [[1, 0], [0, 1]]), (3, [[0, 0, 1], [0, 0, 1]]), (4, [[1, 0, 0, 1]])],  # class 9 = 1001
)
def test_label_words_split_four_bits_into_words_of_the_input_width(width, expected):
    assert label_words(np.array([9]), 10, width)[0].tolist() == expected
    assert label_words(np.array([1]), 2, 3)[0].tolist() == [[0, 0, 1]]


@pytest.mark.parametrize("coordinates, label_steps", [(2, 2), (3, 2), (4, 1)])
def test_sequences_end_with_the_label_and_never_read_it(coordinates, label_steps):
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 256, (5, coordinates)).astype(np.uint8)
    labels = np.array([9, 0, 3, 7, 5])
    seqs = augmented_sequences(codes, labels, range(10), bits=5)
    steps = 5 + label_steps - 1
    assert seqs.inputs.shape == seqs.targets.shape == (5, steps, coordinates)
    assert seqs.scored.shape == (5, steps) and seqs.scored[:, -label_steps:].all() and not seqs.scored[:, :-label_steps].any()
    np.testing.assert_array_equal(seqs.inputs[:, :5], coordinate_words(codes, 5))  # the data words
    assert not seqs.inputs[:, 5:].any()  # blank words while the label is emitted
    assert not seqs.targets[:, : 5 - 1].any()
    np.testing.assert_array_equal(seqs.targets[:, -label_steps:], label_words(labels, 10, coordinates))
    np.testing.assert_array_equal(seqs.class_indices, labels)


def test_pca_encoder_is_fitted_on_training_images_only():
    x_train, y_train, x_test, y_test = fake_mnist()
    encoder = CoordinateEncoder("pca", 3, seed=0)
    splits = encode_splits(x_train, y_train, x_test, y_test, range(10), encoder)
    train_idx, validation_idx = split_indices(y_train, range(10), seed=0)
    # The fit saw exactly the training split: PCA's mean is its mean, not that of all images.
    features = mnist_augment.image_features(x_train[train_idx])
    np.testing.assert_allclose(encoder.pca.mean_, features.mean(axis=0), atol=1e-5)
    assert splits.train_codes.shape == (train_idx.size, 3) and splits.train_codes.dtype == np.uint8
    assert splits.validation_codes.shape == (validation_idx.size, 3)
    assert splits.test_codes.shape == (300, 3)
    # The normal CDF makes the training codes about uniform over 0..255.
    assert 100 < splits.train_codes.mean() < 155 and splits.train_codes.min() < 40 and splits.train_codes.max() > 215
    # Transforming test images changes nothing fitted and repeats exactly.
    state = (encoder.pca.components_.copy(), encoder.mean.copy(), encoder.std.copy())
    # A subset goes through BLAS in other blocks than the whole batch, so a coordinate on a
    # code boundary may land one code away; anything more would be a different map.
    subset = encoder.transform(x_test[y_test == 2]).astype(int) - splits.test_codes[y_test == 2]
    assert np.abs(subset).max() <= 1 and np.mean(subset != 0) < 0.02
    for before, after in zip(state, (encoder.pca.components_, encoder.mean, encoder.std), strict=True):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(encoder.transform(x_train[train_idx]), splits.train_codes)  # PCA: same map


def test_train_limit_and_errors():
    x_train, y_train, x_test, y_test = fake_mnist(train=6000, test=100)
    splits = encode_splits(x_train, y_train, x_test, y_test, (3, 6), CoordinateEncoder("pca", 2), train_limit=40)
    assert splits.train_codes.shape == (40, 2) and sorted(set(splits.train_labels)) == [3, 6]
    assert splits.test_codes.shape == (20, 2)
    with pytest.raises(ValueError, match=r"not fitted yet"):
        CoordinateEncoder("pca", 2).transform(x_test)
    with pytest.raises(ValueError, match=r"`method` must be one of \['pca', 'umap'\], got 'tsne'"):
        CoordinateEncoder("tsne", 2)
    with pytest.raises(ValueError, match=r"`coordinates` must be between 2 and 4, got 5"):
        CoordinateEncoder("pca", 5)
    with pytest.raises(ValueError, match=r"`supervised=True` needs method 'umap', got 'pca'"):
        CoordinateEncoder("pca", 2, supervised=True)
    with pytest.raises(ValueError, match=r"`labels` must all be in `digits`"):
        augmented_sequences(splits.test_codes, np.full(20, 4), (3, 6), bits=4)


@pytest.mark.slow  # numba compiles umap-learn on first use: about 40 s
@pytest.mark.filterwarnings("ignore:n_jobs value .* overridden:UserWarning")
def test_umap_encoder_transforms_new_points_without_refitting():
    pytest.importorskip("umap")
    x_train, y_train, x_test, _ = fake_mnist(train=400, test=40)
    encoder = CoordinateEncoder("umap", 2, seed=0)
    codes = encoder.fit_transform(x_train, y_train)
    embedding = encoder.umap.embedding_.copy()
    assert codes.shape == (400, 2) and codes.dtype == np.uint8
    test_codes = encoder.transform(x_test)
    assert test_codes.shape == (40, 2)
    np.testing.assert_array_equal(encoder.umap.embedding_, embedding)  # transform did not refit
    supervised = CoordinateEncoder("umap", 2, supervised=True, seed=0)
    with pytest.raises(ValueError, match=r"`labels` of shape \(400,\) are needed"):
        supervised.fit(x_train)


@pytest.mark.skipif(not RAW_DIR.is_dir(), reason="raw MNIST not in ../shared/data/mnist")
def test_pca_on_real_mnist_separates_zeros_from_ones():
    from data.mnist import load_mnist

    x_train, y_train, x_test, y_test = load_mnist(RAW_DIR)
    splits = encode_splits(x_train, y_train, x_test, y_test, (0, 1), CoordinateEncoder("pca", 2), train_limit=1000)
    # The first principal component alone nearly separates the two digits.
    first = splits.test_codes[:, 0].astype(int)
    zeros, ones = first[splits.test_labels == 0], first[splits.test_labels == 1]
    threshold = (np.median(zeros) + np.median(ones)) / 2
    accuracy = max(np.mean(np.r_[zeros > threshold, ones <= threshold]), np.mean(np.r_[zeros <= threshold, ones > threshold]))
    assert accuracy > 0.95
