"""qrnn-tfq: recurrent quantum neural networks (Bausch, NeurIPS 2020) on Cirq, TFQ and Keras.

Importing the package selects tf-keras (`TF_USE_LEGACY_KERAS=1`) before TensorFlow loads,
since TensorFlow Quantum needs Keras 2; it fails with a clear ImportError when TensorFlow
was already imported with Keras 3.
"""

from qrnn_tfq._keras import require_legacy_keras

require_legacy_keras()

from qrnn_tfq.config import QRNNConfig as QRNNConfig  # noqa: E402
from qrnn_tfq.layers import QRNN as QRNN  # noqa: E402
from qrnn_tfq.layers import QRNNCell as QRNNCell  # noqa: E402
from qrnn_tfq.losses import PaperShiftedLoss as PaperShiftedLoss  # noqa: E402
from qrnn_tfq.losses import WordCrossEntropy as WordCrossEntropy  # noqa: E402
from qrnn_tfq.metrics import MinPostselectionProbability as MinPostselectionProbability  # noqa: E402
from qrnn_tfq.metrics import TargetProbability as TargetProbability  # noqa: E402
from qrnn_tfq.metrics import WordAccuracy as WordAccuracy  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "PaperShiftedLoss",
    "MinPostselectionProbability",
    "QRNN",
    "QRNNCell",
    "QRNNConfig",
    "TargetProbability",
    "WordAccuracy",
    "WordCrossEntropy",
]
