"""qrnn-tfq: recurrent quantum neural networks (Bausch, NeurIPS 2020) on Cirq, TFQ and Keras.

Importing the package selects tf-keras (`TF_USE_LEGACY_KERAS=1`) before TensorFlow loads,
since TensorFlow Quantum needs Keras 2; it fails with a clear ImportError when TensorFlow
was already imported with Keras 3.

TensorFlow itself loads only when a name that needs it is first used (`QRNN`,
`QRNNCell`, the losses and metrics; PEP 562 module `__getattr__`), so that
`import qrnn_tfq.circuits` and `qrnn_tfq.QRNNConfig` stay free of TensorFlow. Nothing
else happens on import: a Keras class registers when the module that defines it is
imported (any of the names above imports the layers, losses and metrics), and
`load_model` reads a saved `.keras` model with all of the package's classes registered.
"""

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from qrnn_tfq._keras import load_model as load_model
from qrnn_tfq._keras import require_legacy_keras as _require_legacy_keras
from qrnn_tfq.config import QRNNConfig as QRNNConfig

_require_legacy_keras()

if _TYPE_CHECKING:  # the lazy names, for type checkers and readers
    from qrnn_tfq.layers import QRNN as QRNN
    from qrnn_tfq.layers import HardwareQRNN as HardwareQRNN
    from qrnn_tfq.layers import QRNNCell as QRNNCell
    from qrnn_tfq.losses import PaperShiftedLoss as PaperShiftedLoss
    from qrnn_tfq.losses import WordCrossEntropy as WordCrossEntropy
    from qrnn_tfq.metrics import MinPostselectionProbability as MinPostselectionProbability
    from qrnn_tfq.metrics import MinWordProbability as MinWordProbability
    from qrnn_tfq.metrics import TargetProbability as TargetProbability
    from qrnn_tfq.metrics import WordAccuracy as WordAccuracy

__version__ = "0.1.0"

# Public name -> the module that defines it; imported (with TensorFlow) on first use.
_LAZY_MODULES = {
    "HardwareQRNN": "qrnn_tfq.layers",
    "MinPostselectionProbability": "qrnn_tfq.metrics",
    "MinWordProbability": "qrnn_tfq.metrics",
    "PaperShiftedLoss": "qrnn_tfq.losses",
    "QRNN": "qrnn_tfq.layers",
    "QRNNCell": "qrnn_tfq.layers",
    "TargetProbability": "qrnn_tfq.metrics",
    "WordAccuracy": "qrnn_tfq.metrics",
    "WordCrossEntropy": "qrnn_tfq.losses",
}

__all__ = [
    "HardwareQRNN",
    "MinPostselectionProbability",
    "MinWordProbability",
    "PaperShiftedLoss",
    "QRNN",
    "QRNNCell",
    "QRNNConfig",
    "TargetProbability",
    "WordAccuracy",
    "WordCrossEntropy",
    "load_model",
]


def __getattr__(name: str) -> _Any:
    """Imports the TensorFlow-backed public names on first use (PEP 562).

    The first such name imports all their modules, so that every Keras class of the
    package is registered (as `tf.keras.models.load_model` needs) once any one is used.
    """
    if name not in _LAZY_MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for lazy_name, module in _LAZY_MODULES.items():
        globals()[lazy_name] = getattr(_importlib.import_module(module), lazy_name)  # later lookups skip this
    return globals()[name]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_MODULES))
