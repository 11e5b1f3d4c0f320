"""Keras layers: `QRNNCell` (one step, for `tf.keras.layers.RNN`) and `QRNN` (a sequence).

Importing this package registers both with Keras (`tf.keras.models.load_model` finds them);
`engines` maps the layers' `engine` argument to an engine.
"""

from qrnn_tfq.layers.cell import QRNNCell as QRNNCell
from qrnn_tfq.layers.qrnn import QRNN as QRNN
from qrnn_tfq.layers.words import bits_to_words as bits_to_words
from qrnn_tfq.layers.words import sequence_words as sequence_words

__all__ = ["QRNN", "QRNNCell", "bits_to_words", "sequence_words"]
