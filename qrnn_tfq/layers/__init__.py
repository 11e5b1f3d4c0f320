"""Keras layers: `QRNNCell` (one step, for `tf.keras.layers.RNN`), `QRNN` (a sequence) and
`HardwareQRNN` (the hardware-native QRNN on a device's noisy channel, docs/HARDWARE.md).

`HardwareQRNN` loads on first use (PEP 562): it brings cirq_google and the device models,
which `QRNN` does not need (1.7 s of every process's start-up otherwise).

Importing this package registers both with Keras (`tf.keras.models.load_model` finds them);
`engines` maps the layers' `engine` argument to an engine.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from qrnn_tfq.layers.cell import QRNNCell as QRNNCell
from qrnn_tfq.layers.qrnn import QRNN as QRNN
from qrnn_tfq.layers.words import bits_to_words as bits_to_words
from qrnn_tfq.layers.words import sequence_words as sequence_words

if _TYPE_CHECKING:
    from qrnn_tfq.layers.hardware import HardwareQRNN as HardwareQRNN


def __getattr__(name: str) -> _Any:
    if name == "HardwareQRNN":
        from qrnn_tfq.layers.hardware import HardwareQRNN  # pylint: disable=import-outside-toplevel

        return HardwareQRNN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["HardwareQRNN", "QRNN", "QRNNCell", "bits_to_words", "sequence_words"]
