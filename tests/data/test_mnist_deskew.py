"""Tests for data/mnist_deskew.py: the moment-based deskewing of MNIST digits."""

from __future__ import annotations

import numpy as np
import pytest

from data.mnist_deskew import deskew, deskew_image


def slanted_bar(shear: float) -> np.ndarray:
    """A 28x28 image: a 3-pixel-wide bar centred on (14, 14), slanted by `shear` columns per row."""
    image = np.zeros((28, 28))
    for row in range(4, 25):
        col = int(round(14 + shear * (row - 14)))
        image[row, col - 1: col + 2] = 1.0
    return image


def column_spread(image: np.ndarray) -> float:
    """Covariance of row and column under the ink: 0 for an upright shape."""
    rows, cols = np.mgrid[:28, :28]
    total = image.sum()
    mean_r, mean_c = (rows * image).sum() / total, (cols * image).sum() / total
    return float(((rows - mean_r) * (cols - mean_c) * image).sum() / total)


@pytest.mark.parametrize("shear", [-0.4, 0.3])
def test_a_slanted_bar_is_made_upright_and_centred(shear):
    image = slanted_bar(shear)
    assert abs(column_spread(image)) > 5
    upright = deskew_image(image)
    assert abs(column_spread(upright)) < 0.1 * abs(column_spread(image))
    rows, cols = np.mgrid[:28, :28]
    assert (cols * upright).sum() / upright.sum() == pytest.approx(14.0, abs=0.6)


def test_an_upright_image_is_only_moved_to_the_centre():
    image = slanted_bar(0.0)
    np.testing.assert_allclose(deskew_image(image), image, atol=1e-9)


def test_batches_of_uint8_images_become_floats_in_unit_range():
    images = np.stack([slanted_bar(0.3), np.zeros((28, 28))]) * 255
    out = deskew(images.astype(np.uint8))
    assert out.dtype == np.float32 and out.shape == (2, 28, 28)
    assert 0.0 <= out.min() and out.max() <= 1.0
    np.testing.assert_array_equal(out[1], 0.0)  # a blank image stays blank
    np.testing.assert_allclose(out[0], deskew_image(slanted_bar(0.3)), atol=1e-6)


def test_wrong_shapes_are_named():
    with pytest.raises(ValueError, match=r"`images` must have shape \(N, height, width\), got \(28, 28\)"):
        deskew(np.zeros((28, 28)))
    with pytest.raises(ValueError, match=r"`image` must have shape \(height, width\), got \(1, 28, 28\)"):
        deskew_image(np.zeros((1, 28, 28)))
