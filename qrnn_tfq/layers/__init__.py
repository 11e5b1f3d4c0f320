"""Keras layers: `QRNNCell` (one step, for `tf.keras.layers.RNN`), `QRNN` (a sequence) and
`HardwareQRNN` (the hardware-native QRNN on a device's noisy channel, docs/HARDWARE.md).

Importing this package registers both with Keras (`tf.keras.models.load_model` finds them);
`engines` maps the layers' `engine` argument to an engine.
"""

from qrnn_tfq.layers.cell import QRNNCell as QRNNCell
from qrnn_tfq.layers.hardware import HardwareQRNN as HardwareQRNN
from qrnn_tfq.layers.qrnn import QRNN as QRNN
from qrnn_tfq.layers.words import bits_to_words as bits_to_words
from qrnn_tfq.layers.words import sequence_words as sequence_words

__all__ = ["HardwareQRNN", "QRNN", "QRNNCell", "bits_to_words", "sequence_words"]
