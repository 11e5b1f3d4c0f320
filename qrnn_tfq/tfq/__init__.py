"""The coherent QRNN (SPEC section 8) in TensorFlow Quantum: `TFQEngine`, the layers'
`engine="tfq"`, and the word observables it measures.

Importing this package imports TensorFlow Quantum (and TensorFlow); `import qrnn_tfq`
and the state-vector engine do not. The layers' engine registry
(`qrnn_tfq.layers.engines.get_engine("tfq", shots=..., noise=...)`) imports it on first use.
"""

from qrnn_tfq.tfq.engine import NOISE_TRAJECTORIES as NOISE_TRAJECTORIES
from qrnn_tfq.tfq.engine import TFQEngine as TFQEngine
from qrnn_tfq.tfq.engine import check_noise as check_noise
from qrnn_tfq.tfq.engine import check_shots as check_shots
from qrnn_tfq.tfq.engine import lanes_of as lanes_of
from qrnn_tfq.tfq.engine import noisy as noisy
from qrnn_tfq.tfq.observables import projector_signs as projector_signs
from qrnn_tfq.tfq.observables import word_projectors as word_projectors
from qrnn_tfq.tfq.observables import z_strings as z_strings

__all__ = [
    "NOISE_TRAJECTORIES",
    "TFQEngine",
    "check_noise",
    "check_shots",
    "lanes_of",
    "noisy",
    "projector_signs",
    "word_projectors",
    "z_strings",
]
