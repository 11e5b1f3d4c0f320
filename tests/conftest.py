"""Test session setup (pytest imports this before any test module)."""

import os

# TFQ needs tf-keras (SPEC section 7), and TensorFlow picks its Keras when first imported;
# `import qrnn_tfq` sets this itself, but a test module may import tensorflow first.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
